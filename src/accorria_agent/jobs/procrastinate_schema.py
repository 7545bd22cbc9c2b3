"""procrastinate's schema: installed by a migration (0003) or from the CLI and tests, once, from any number
of processes at once (an advisory lock serialises them; the presence of ``procrastinate_jobs`` means done).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import psycopg
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

# Serialises concurrent schema installs (two replicas running `migrate` at once).
_SCHEMA_ADVISORY_KEY = 0x616363_6A6F6273  # "acc" "jobs"

# The job fetch plans without sorting, so that it walks procrastinate's priority index and stops at the first
# job it can take even while the table's statistics predate a burst (migration 0021 says why and what it
# saves). A setting of the function, not of the session: nothing else is planned differently.
# Only where that function exists: a procrastinate release that replaces it must not make a fresh install's
# migrations fail (tests/jobs/test_fetch_plan.py fails instead, so that the new function gets the setting).
_FETCH_FUNCTION = "procrastinate_fetch_job_v2(character varying[], bigint)"
_IF_PRESENT = (
    "DO $$ BEGIN IF to_regprocedure('{function}') IS NOT NULL THEN ALTER FUNCTION {function} {change}; "
    "END IF; END $$"
)
FETCH_PLAN_SQL = _IF_PRESENT.format(function=_FETCH_FUNCTION, change="SET enable_sort = off")
FETCH_PLAN_RESET_SQL = _IF_PRESENT.format(function=_FETCH_FUNCTION, change="RESET enable_sort")


def schema_sql() -> str:
    """procrastinate's full schema for the installed version (plain SQL, several statements)."""
    return (resources.files("procrastinate.sql") / "schema.sql").read_text(encoding="utf-8")


def libpq_url(database_url: str) -> str:
    """``postgresql+asyncpg://…`` (SQLAlchemy) → ``postgresql://…`` (libpq / psycopg)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError("the procrastinate job queue needs a PostgreSQL database")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def apply_schema(database_url: str) -> bool:
    """Install procrastinate's schema unless present; returns whether it was installed now.

    Synchronous and loop-free (psycopg), so it works from the CLI, from tests and from inside Alembic.
    Idempotent: an advisory lock serialises concurrent callers and the presence of ``procrastinate_jobs``
    means "done". It does not *upgrade* an older procrastinate schema (see the module report).
    """
    with psycopg.connect(libpq_url(database_url)) as connection, connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_ADVISORY_KEY,))
        row = connection.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()
        if row is not None and row[0]:
            return False
        # No parameters: psycopg sends the script as a simple query, several statements allowed.
        connection.execute(schema_sql())
        return True


def apply_schema_to_connection(connection: Connection) -> bool:
    """Install the schema on an open SQLAlchemy connection, in its transaction (Alembic's ``op.get_bind()``).

    A no-op returning False on a non-PostgreSQL connection, so one migration serves SQLite and PostgreSQL.
    """
    if connection.dialect.name != "postgresql":
        return False
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_ADVISORY_KEY})
    if connection.execute(text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")).scalar():
        return False
    driver = connection.connection.driver_connection
    assert driver is not None, "a live connection has a driver connection"
    if connection.dialect.driver == "asyncpg":
        # SQLAlchemy's asyncpg adapter prepares every statement and a prepared statement holds one command;
        # asyncpg's own execute() without arguments uses the simple protocol. Alembic runs migrations in
        # SQLAlchemy's greenlet bridge, where awaiting through it is allowed.
        _await_in_greenlet(driver.execute(schema_sql()))
    else:
        connection.exec_driver_sql(schema_sql().replace("%", "%%"))
    return True


def _await_in_greenlet(awaitable: Any) -> Any:
    try:
        from sqlalchemy.util import await_ as bridge  # SQLAlchemy 2.1
    except ImportError:  # pragma: no cover - SQLAlchemy 2.0
        from sqlalchemy.util import await_only as bridge
    return bridge(awaitable)
