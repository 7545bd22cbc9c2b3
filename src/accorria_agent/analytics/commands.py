"""``accorria-agent analytics rebuild``: recount every ``conversation_facts`` row from the source tables.

The triggers keep the rows true as facts are written; this is for a database restored from a dump taken
without them, or after a change to what is counted. One transaction: a report sees the old rows or the
new ones, never a half-rebuilt table.
"""

from __future__ import annotations

import asyncio
import json
import time

from accorria_agent.analytics import repository
from accorria_agent.db.engine import create_engine, create_session_factory, transaction


def rebuild(database_url: str) -> str:
    """Recount the facts of every conversation; one JSON line with the row count and the seconds taken."""

    async def run() -> str:
        engine = create_engine(database_url)
        started = time.perf_counter()
        try:
            async with transaction(create_session_factory(engine)) as session:
                rows = await repository.rebuild_facts(session)
        finally:
            await engine.dispose()
        return json.dumps({"conversations": rows, "seconds": round(time.perf_counter() - started, 2)})

    return asyncio.run(run())
