"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, settings built explicitly, runtimes.

Server tests (PostgreSQL, Redis, the browser) skip with a clear message when the server is missing,
unless ``ACCORRIA_REQUIRE_SERVICES=1`` (set by ``.ci/run``) turns those skips into failures.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from hypothesis import settings as hypothesis_settings

from accorria_agent.db.migrate import upgrade
from accorria_agent.settings import Settings

REQUIRE_SERVICES = os.environ.get("ACCORRIA_REQUIRE_SERVICES") == "1"
# Property tests check properties, not speed: a busy machine (2 shared cores in CI) must not fail one on
# Hypothesis's per-example deadline. Speed is measured by `accorria-agent bench`.
hypothesis_settings.register_profile("accorria", deadline=None)
hypothesis_settings.load_profile("accorria")
POSTGRES_ADMIN_URL = os.environ.get(
    "ACCORRIA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
APP_SECRET = "test-app-secret-0123456789abcdef"
APP_ID = "1234567890"
VERIFY_TOKEN = "test-verify-token"


def skip_or_fail(reason: str) -> None:
    """Skip a server test, or fail it when the CI requires every service."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (ACCORRIA_REQUIRE_SERVICES=1 forbids skipping)")
    pytest.skip(f"{reason}; start it or run without it (set ACCORRIA_REQUIRE_SERVICES=1 to make this fail)")


async def _pg_execute(url: str, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url, timeout=3)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@contextmanager
def migrated_postgres_database(prefix: str) -> Iterator[str]:
    """Create a uniquely named PostgreSQL database, migrate it, yield its URL, drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_pg_execute(POSTGRES_ADMIN_URL, f'CREATE DATABASE "{name}"'))
    except Exception as error:  # any connection problem means: no server here
        skip_or_fail(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {type(error).__name__}")
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    url = f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(_pg_execute(POSTGRES_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session (dropped afterwards)."""
    with migrated_postgres_database("accorria_test") as url:
        yield url


async def _truncate_all(url: str) -> None:
    """Empty every table of the public schema but Alembic's (new domains' tables included)."""
    import asyncpg

    connection = await asyncpg.connect(url, timeout=3)
    try:
        names = [
            row["tablename"]
            for row in await connection.fetch(
                "SELECT tablename FROM pg_tables"
                " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            )
        ]
        if names:
            quoted = ", ".join(f'"{name}"' for name in names)
            await connection.execute(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
    finally:
        await connection.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """Each test using this runs twice: on the embedded SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "accorria.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    url: str = request.getfixturevalue("postgres_database")
    yield url
    plain = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    asyncio.run(_truncate_all(plain))


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings built explicitly (never from the process environment)."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "ACCORRIA_ENV": "test",
            "FACEBOOK_APP_ID": APP_ID,
            "FACEBOOK_APP_SECRET": APP_SECRET,
            "FACEBOOK_VERIFY_TOKEN": VERIFY_TOKEN,
            "FACEBOOK_GRAPH_URL": "http://graph.test",
            "ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "JWT_SECRET": "x" * 40,
            "ACCORRIA_DATA_DIR": str(tmp_path),
            "REPLY_QUIET_PERIOD_SECONDS": 0.0,
            "HUMAN_LIKE_DELAYS": False,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return build
