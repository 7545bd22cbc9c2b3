"""A PostgreSQL database with the app's migrations *and* procrastinate's schema, for the queue contract."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from accorria_agent.db.migrate import upgrade
from accorria_agent.jobs.procrastinate_queue import apply_schema
from tests.conftest import POSTGRES_ADMIN_URL, _pg_execute, skip_or_fail

PROCRASTINATE_TABLES = (
    "procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs, procrastinate_workers"
)


@pytest.fixture(scope="session")
def procrastinate_database() -> Iterator[str]:
    """A fresh database (dropped afterwards), migrated; procrastinate's schema comes with the migrations."""
    name = f"accorria_jobs_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_pg_execute(POSTGRES_ADMIN_URL, f'CREATE DATABASE "{name}"'))
    except Exception as error:  # any connection problem means: no server here
        skip_or_fail(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {type(error).__name__}")
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    url = f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
    upgrade(url)  # migration 0003 installs procrastinate's schema
    assert apply_schema(url) is False  # a second run (another replica's `migrate`) changes nothing
    yield url
    asyncio.run(_pg_execute(POSTGRES_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def truncate_procrastinate(url: str) -> None:
    """Empty the queue between tests (the database itself lives for the session)."""
    plain = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    asyncio.run(_pg_execute(plain, f"TRUNCATE {PROCRASTINATE_TABLES}, jobs RESTART IDENTITY CASCADE"))
