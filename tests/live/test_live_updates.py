"""Live updates: published in a transaction, delivered after commit only, to the right account's pages.

The SSE endpoint is exercised through a real uvicorn server (httpx's ASGI transport buffers responses);
on PostgreSQL the publisher is a separate connection, as a worker process would be.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

import asyncpg
import httpx
import pytest
import uvicorn
from hypothesis import given
from hypothesis import strategies as st

from accorria_agent.app import create_app
from accorria_agent.dashboard.auth import issue_seller_token
from accorria_agent.db.engine import transaction
from accorria_agent.live.bus import (
    CHANNEL,
    SUBSCRIBER_QUEUE_SIZE,
    LiveEvent,
    LiveHub,
    ensure_listening,
    hub_for,
    publish_in_transaction,
)
from accorria_agent.runtime import Runtime, build_runtime
from accorria_agent.sellers.models import Seller
from accorria_agent.sellers.service import create_seller
from accorria_agent.settings import Settings
from tests.fakes.graph import FakeGraph

Make = Callable[..., Settings]


@given(st.text())
def test_malformed_payloads_are_ignored_never_raised(raw: str) -> None:
    parsed = LiveEvent.from_json(raw)
    assert parsed is None or parsed.kind in {"message", "conversation", "notification", "resync"}


@pytest.mark.parametrize(
    "raw",
    [
        '{"seller_id": true, "kind": "message"}',
        '{"seller_id": 1, "kind": "drop table"}',
        '{"seller_id": 1, "kind": "message", "conversation_id": "7"}',
        '{"kind": "message"}',
        "[]",
        "null",
    ],
)
def test_payloads_with_wrong_types_are_rejected(raw: str) -> None:
    assert LiveEvent.from_json(raw) is None


async def test_a_slow_page_gets_one_resync_instead_of_an_unbounded_backlog() -> None:
    hub = LiveHub()
    slow = hub.subscribe(1)
    other = hub.subscribe(2)
    for n in range(SUBSCRIBER_QUEUE_SIZE + 50):
        hub.publish(LiveEvent(1, "message", 1, n))
    assert slow.queue.qsize() == 1
    first = await slow.next(0.1)
    assert first is not None and first.kind == "resync"
    hub.publish(LiveEvent(1, "message", 1, 999))
    after = await slow.next(0.1)
    assert after is not None and after.message_id == 999  # back to normal after the resync
    assert other.queue.empty()  # account 2 heard nothing of account 1
    hub.unsubscribe(slow)
    hub.unsubscribe(other)
    assert hub.subscriber_count == 0


@asynccontextmanager
async def started_runtime(make_settings: Make, database_url: str) -> AsyncIterator[Runtime]:
    runtime = build_runtime(make_settings(DATABASE_URL=database_url), graph_transport=FakeGraph().transport)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


async def test_events_arrive_after_commit_and_never_after_rollback(
    database_url: str, make_settings: Make
) -> None:
    async with started_runtime(make_settings, database_url) as runtime:
        hub = await ensure_listening(runtime.engine)
        page = hub.subscribe(41)
        async with transaction(runtime.session_factory) as session:
            await publish_in_transaction(session, LiveEvent(41, "message", 5, 6))
            assert await page.next(0.3) is None  # not before the commit
        received = await page.next(3)
        assert received == LiveEvent(41, "message", 5, 6)
        with contextlib.suppress(RuntimeError):
            async with transaction(runtime.session_factory) as session:
                await publish_in_transaction(session, LiveEvent(41, "message", 5, 7))
                raise RuntimeError("the change fails")
        assert await page.next(0.5) is None
        hub.unsubscribe(page)


@pytest.mark.postgres
async def test_a_notify_from_another_connection_reaches_this_process(
    postgres_database: str, make_settings: Make
) -> None:
    async with started_runtime(make_settings, postgres_database) as runtime:
        hub = await ensure_listening(runtime.engine)
        page = hub.subscribe(7)
        worker = await asyncpg.connect(postgres_database.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            payload = LiveEvent(7, "conversation", 3).to_json()
            async with worker.transaction():
                await worker.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
            assert await page.next(3) == LiveEvent(7, "conversation", 3)
            await worker.execute("SELECT pg_notify($1, $2)", CHANNEL, "not json")
            await worker.execute("SELECT pg_notify($1, $2)", CHANNEL, LiveEvent(8, "message").to_json())
            assert await page.next(0.5) is None  # garbage ignored; account 8's event not ours
        finally:
            await worker.close()
            hub.unsubscribe(page)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _read_events(response: httpx.Response, count: int) -> list[tuple[str, dict[str, object]]]:
    events: list[tuple[str, dict[str, object]]] = []
    kind = ""
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            events.append((kind, json.loads(line.removeprefix("data: "))))
            if len(events) == count:
                break
    return events


@asynccontextmanager
async def served(make_settings: Make, database_url: str) -> AsyncIterator[tuple[Runtime, str]]:
    """The app on a real socket (SSE needs one), heartbeat 0.2 s: ``(runtime, base URL)``."""
    async with started_runtime(make_settings, database_url) as runtime:
        app = create_app(runtime, manage_runtime=False)
        app.state.live_heartbeat_seconds = 0.2
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        serving = asyncio.create_task(server.serve())
        try:
            while not server.started:
                await asyncio.sleep(0.02)
            yield runtime, f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            await serving


async def test_the_sse_stream_delivers_only_this_accounts_events(
    database_url: str, make_settings: Make
) -> None:
    async with served(make_settings, database_url) as (runtime, base):
        async with transaction(runtime.session_factory) as session:
            seller = await create_seller(session, "Live Seller", "live@example.com")
            other = await create_seller(session, "Other Seller", "other@example.com")
            mine, theirs = seller.id, other.id
        token = issue_seller_token(runtime.settings, mine, timedelta(minutes=5))
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            assert (await client.get("/api/live")).status_code == 401
            headers = {"Authorization": f"Bearer {token}"}
            async with client.stream("GET", "/api/live", headers=headers) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                hub = hub_for(runtime.engine)
                async with transaction(runtime.session_factory) as session:
                    await publish_in_transaction(session, LiveEvent(theirs, "message", 1, 1))  # not ours
                    await publish_in_transaction(session, LiveEvent(mine, "message", 2, 3))
                events = await asyncio.wait_for(_read_events(response, 2), timeout=5)
                assert events == [
                    ("ready", {}),
                    (
                        "message",
                        {"seller_id": mine, "kind": "message", "conversation_id": 2, "message_id": 3},
                    ),
                ]
                assert hub.subscriber_count == 1
        for _ in range(50):  # the browser went away: its subscription is dropped
            if hub.subscriber_count == 0:
                break
            await asyncio.sleep(0.1)
        assert hub.subscriber_count == 0


async def test_the_sse_stream_ends_when_the_session_does(database_url: str, make_settings: Make) -> None:
    """A deleted seller's open stream ends within a heartbeat, and reconnecting is 401."""
    async with served(make_settings, database_url) as (runtime, base):
        async with transaction(runtime.session_factory) as session:
            seller = await create_seller(session, "Leaving Seller", "leaving@example.com")
            seller_id = seller.id
        token = issue_seller_token(runtime.settings, seller_id, timedelta(minutes=5))
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            async with client.stream("GET", "/api/live", headers=headers) as response:
                lines = response.aiter_lines()

                async def until_ready() -> None:
                    async for line in lines:
                        if line == "event: ready":
                            return

                await asyncio.wait_for(until_ready(), timeout=5)
                async with transaction(runtime.session_factory) as session:
                    gone = await session.get(Seller, seller_id)
                    assert gone is not None
                    await session.delete(gone)

                async def drain() -> None:
                    async for _ in lines:
                        pass

                await asyncio.wait_for(drain(), timeout=5)  # the server ended the stream
            assert (await client.get("/api/live", headers=headers)).status_code == 401
