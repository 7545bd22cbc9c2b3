"""Start-up checks of ``serve`` and ``worker``: one line naming the first problem, or None.

Run before anything else is built, so that an operator sees ``error: <one line>`` and exit code 2 instead
of a traceback: missing, placeholder or weak secrets (``Settings.problems_for_production``), a malformed
``ENCRYPTION_KEY``, an unreachable database, or a database not migrated to this code's Alembic head.
"""

from __future__ import annotations

import asyncio

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from accorria_agent.crypto import TokenCipher, TokenCipherError
from accorria_agent.db.engine import create_engine
from accorria_agent.db.migrate import alembic_config
from accorria_agent.settings import Settings


def startup_problem(settings: Settings) -> str | None:
    """The first reason this process must not start, as one line; None when all is well."""
    problems = settings.problems_for_production()
    if problems:
        return problems[0]
    try:
        TokenCipher(settings.encryption_key.get_secret_value())
    except TokenCipherError as error:
        return f"ENCRYPTION_KEY is malformed: {error}"
    return schema_problem(settings.effective_database_url)


def schema_problem(database_url: str) -> str | None:
    """Whether the database answers and is at the code's migration head (one line), else None."""
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    try:
        current = asyncio.run(_current_revision(database_url))
    except Exception as error:  # any failure to connect means the same thing to the operator
        # The URL may hold a password: only the kind of failure is shown.
        return f"the database is unreachable ({type(error).__name__}); check DATABASE_URL"
    if current != head:
        return (
            f"the database is not migrated (it is at {current or 'no revision'}, this code needs {head}); "
            "run 'accorria-agent migrate'"
        )
    return None


async def _current_revision(database_url: str) -> str | None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:

            def read(sync_connection: Connection) -> str | None:
                return MigrationContext.configure(sync_connection).get_current_revision()

            return await connection.run_sync(read)
    finally:
        await engine.dispose()
