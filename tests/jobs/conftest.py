"""A PostgreSQL database with the app's migrations *and* procrastinate's schema, for the queue contract."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from accorria_agent.jobs.procrastinate_schema import apply_schema
from tests.conftest import _pg_execute, migrated_postgres_database

PROCRASTINATE_TABLES = (
    "procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs, procrastinate_workers"
)


@pytest.fixture(scope="session")
def procrastinate_database() -> Iterator[str]:
    """A fresh database (dropped afterwards), migrated; procrastinate's schema comes with the migrations."""
    with migrated_postgres_database("accorria_jobs") as url:  # migration 0003 installs procrastinate
        assert apply_schema(url) is False  # a second run (another replica's `migrate`) changes nothing
        yield url


def truncate_procrastinate(url: str) -> None:
    """Empty the queue between tests (the database itself lives for the session)."""
    plain = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    asyncio.run(_pg_execute(plain, f"TRUNCATE {PROCRASTINATE_TABLES}, jobs RESTART IDENTITY CASCADE"))
