"""The job pool's liveness check: no round trip on a healthy idle connection, a dead one is refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest

from accorria_agent.jobs.procrastinate_queue import check_idle_connection
from tests.conftest import POSTGRES_ADMIN_URL, _pg_execute

pytestmark = pytest.mark.postgres


@pytest.fixture
async def connection() -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    try:
        conn = await psycopg.AsyncConnection.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        from tests.conftest import skip_or_fail

        skip_or_fail(f"PostgreSQL unreachable: {error}")
        raise
    try:
        yield conn
    finally:
        await conn.close()


async def test_a_healthy_idle_connection_passes_without_a_query(
    connection: psycopg.AsyncConnection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[object] = []
    original = psycopg.AsyncConnection.execute

    async def counting(self: psycopg.AsyncConnection[Any], *args: Any, **kwargs: Any) -> Any:
        sent.append(args[0] if args else None)
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(psycopg.AsyncConnection, "execute", counting)
    for _ in range(3):
        await check_idle_connection(connection)
    assert sent == []  # nothing to read on the socket: no empty query was sent


async def test_a_connection_the_server_closed_is_refused(connection: psycopg.AsyncConnection[Any]) -> None:
    cursor = await connection.execute("SELECT pg_backend_pid()")
    row = await cursor.fetchone()
    assert row is not None
    await _pg_execute(POSTGRES_ADMIN_URL, f"SELECT pg_terminate_backend({int(row[0])})")
    await asyncio.sleep(0.2)  # the server's FATAL and close reach the socket
    with pytest.raises(psycopg.OperationalError):
        await check_idle_connection(connection)


async def test_a_closed_connection_is_refused(connection: psycopg.AsyncConnection[Any]) -> None:
    await connection.close()
    with pytest.raises(psycopg.OperationalError):
        await check_idle_connection(connection)
