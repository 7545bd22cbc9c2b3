"""The PostgreSQL intake fast path: rows read back through the ORM as the SQLAlchemy path writes them,
jobs coalesce on their queueing lock (also against concurrent transactions), and failures become 503s."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy import select, text

from accorria_agent.jobs.interface import JobRequest
from accorria_agent.messenger.events import InboundEvent, parse_delivery
from accorria_agent.messenger.intake import (
    PROCESS_CONVERSATION_TASK,
    IntakeUnavailable,
    WebhookIntake,
    conversation_lock,
)
from accorria_agent.messenger.models import EventLog, WebhookDelivery
from accorria_agent.runtime import Runtime, build_runtime
from accorria_agent.settings import Settings
from tests.conftest import _pg_execute, _truncate_all
from tests.fakes.graph import FakeGraph
from tests.helpers import PAGE_ID, delivery, seed, text_event

_JOB_COLUMNS = "queue_name, task_name, priority, lock, queueing_lock, args, status, scheduled_at, attempts"


@pytest.fixture
def pg_url(postgres_database: str) -> Iterator[str]:
    """The session's PostgreSQL database, emptied after the test."""
    yield postgres_database
    plain = postgres_database.replace("postgresql+asyncpg://", "postgresql://", 1)
    asyncio.run(_truncate_all(plain))


@pytest.fixture
async def runtime(pg_url: str, make_settings: Callable[..., Settings]) -> AsyncIterator[Runtime]:
    runtime = build_runtime(
        make_settings(DATABASE_URL=pg_url, REPLY_QUIET_PERIOD_SECONDS=2.5),
        graph_transport=FakeGraph().transport,
        run_jobs=False,
    )
    await runtime.start()
    assert uses_fast_path(runtime.intake)  # the fast path is the one under test
    try:
        yield runtime
    finally:
        await runtime.stop()


def uses_fast_path(intake: WebhookIntake) -> bool:
    return intake._postgres_writer is not None


def libpq(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def jobs(runtime: Runtime) -> list[dict[str, Any]]:
    async with runtime.engine.connect() as connection:
        result = await connection.execute(text(f"SELECT {_JOB_COLUMNS} FROM procrastinate_jobs ORDER BY id"))
        return [dict(row._mapping) for row in result]


@pytest.mark.postgres
async def test_fast_path_rows_round_trip_through_the_orm(runtime: Runtime) -> None:
    body = delivery(text_event("7001", "héllo ✓ would you take 9k?", mid="m_fast_1", ts=1_795_000_000_123))
    obj, events = parse_delivery(body)
    ignored = InboundEvent(
        PAGE_ID, "7002", "policy:1", "policy_enforcement", "messaging", 5, {"a": [1, None]}
    )
    tenant_id, _ = await seed(runtime)  # PAGE_ID is served; "555" is not
    stranger = InboundEvent("555", "7003", "m_stranger", "message", "messaging", 6, {"text": "private"})
    before = datetime.now(UTC)
    await runtime.intake.store(obj, "{}", events)
    await runtime.intake.store(obj, "{}", events)  # a redelivery: no second event, no second job
    await runtime.intake.store(obj, '{"raw": true}', [ignored])
    await runtime.intake.store("user", '{"object": "user"}', [])
    await runtime.intake.store(obj, '{"raw": true}', [stranger])
    async with runtime.session_factory() as session:
        stored = (await session.execute(select(EventLog).order_by(EventLog.id))).scalars().all()
        deliveries = (
            (await session.execute(select(WebhookDelivery).order_by(WebhookDelivery.id))).scalars().all()
        )
    assert len(stored) == 3 and len(deliveries) == 5
    # Each event names the delivery that carried it (the first, the third, the fifth).
    assert [e.delivery_id for e in stored] == [deliveries[0].id, deliveries[2].id, deliveries[4].id]
    # A Page we do not serve: the event is kept (its job settles it) without its payload or a tenant.
    assert (stored[2].page_id, stored[2].tenant_id, stored[2].payload) == ("555", None, {})
    assert deliveries.pop().body == ""
    stored = stored[:2]
    assert [row.tenant_id for row in stored] == [tenant_id, tenant_id]
    event = stored[0]
    assert (event.page_id, event.buyer_psid, event.event_key, event.kind, event.channel) == (
        events[0].page_id,
        "7001",
        events[0].event_key,
        "message",
        "messaging",
    )
    assert event.payload == events[0].payload
    assert event.timestamp_ms == 1_795_000_000_123
    assert event.received_at.tzinfo is not None and event.received_at >= before - timedelta(seconds=1)
    assert event.processed_at is None and event.outcome is None
    settled = stored[1]
    assert settled.payload == {"a": [1, None]}
    assert settled.processed_at == settled.received_at and settled.outcome == "ignored: policy_enforcement"
    assert [(d.object, d.event_count, d.body) for d in deliveries] == [
        ("page", 1, ""),  # the event holds the payload; the raw body is not stored twice
        ("page", 1, ""),
        ("page", 1, ""),
        ("user", 0, '{"object": "user"}'),
    ]
    assert deliveries[0].received_at == event.received_at

    # The job is the one procrastinate_defer_jobs_v1 writes for the same request (SQLAlchemy path).
    request = JobRequest(
        PROCESS_CONVERSATION_TASK,
        {"page_id": PAGE_ID, "buyer_psid": "7009"},
        lock=conversation_lock(PAGE_ID, "7009"),
        queueing_lock=conversation_lock(PAGE_ID, "7009"),
        delay_seconds=2.5,
    )
    async with runtime.engine.begin() as connection:
        assert await runtime.queue.defer_many(connection, [request]) == 1
    fast, _stranger, reference = await jobs(runtime)
    assert fast["args"] == {
        "args": {"page_id": PAGE_ID, "buyer_psid": "7001"},
        "attempt": 1,
        "deferred_lock": conversation_lock(PAGE_ID, "7001"),
    }
    assert fast["queueing_lock"] == conversation_lock(PAGE_ID, "7001")
    assert timedelta(seconds=2) < fast["scheduled_at"] - event.received_at < timedelta(seconds=3)
    for row in (fast, reference):
        row.pop("scheduled_at")
        row["args"]["args"].pop("buyer_psid")
        row["args"].pop("deferred_lock")
        row.pop("queueing_lock")
    assert fast == reference


@pytest.mark.postgres
async def test_a_waiting_job_coalesces_and_a_started_one_does_not(runtime: Runtime) -> None:
    obj, first = parse_delivery(delivery(text_event("7101", "hi")))
    await runtime.intake.store(obj, "{}", first)
    obj, second = parse_delivery(delivery(text_event("7101", "still there?"), text_event("7102", "hello")))
    await runtime.intake.store(obj, "{}", second)
    assert [j["queueing_lock"] for j in await jobs(runtime)] == [
        conversation_lock(PAGE_ID, "7101"),
        conversation_lock(PAGE_ID, "7102"),
    ]
    async with runtime.engine.begin() as connection:  # a worker took 7101's job
        await connection.execute(text("UPDATE procrastinate_jobs SET status = 'doing' WHERE id = 1"))
    obj, third = parse_delivery(delivery(text_event("7101", "and now?")))
    await runtime.intake.store(obj, "{}", third)
    assert [(j["queueing_lock"], j["status"]) for j in await jobs(runtime)] == [
        (conversation_lock(PAGE_ID, "7101"), "doing"),
        (conversation_lock(PAGE_ID, "7102"), "todo"),
        (conversation_lock(PAGE_ID, "7101"), "todo"),  # the running job may have missed the new event
    ]


@pytest.mark.postgres
async def test_a_key_deferred_by_a_concurrent_transaction_coalesces(runtime: Runtime, pg_url: str) -> None:
    """Another process defers the same key after our snapshot: we wait for it, then skip our job."""
    key = conversation_lock(PAGE_ID, "7201")
    other = await asyncpg.connect(libpq(pg_url))
    try:
        transaction = other.transaction()
        await transaction.start()
        await other.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, lock, queueing_lock, args) "
            "VALUES ('accorria', $1, $2, $2, '{}')",
            PROCESS_CONVERSATION_TASK,
            key,
        )
        obj, events = parse_delivery(delivery(text_event("7201", "hi"), text_event("7202", "yo")))
        store = asyncio.create_task(runtime.intake.store(obj, "{}", events))
        await asyncio.sleep(0.3)
        assert not store.done()  # blocked on the unique index until the other transaction ends
        await transaction.commit()
        await asyncio.wait_for(store, 5)
    finally:
        await other.close()
    waiting = [(j["queueing_lock"], j["args"]) for j in await jobs(runtime)]
    assert waiting[0] == (key, {})  # theirs, not ours
    assert [k for k, _ in waiting] == [key, conversation_lock(PAGE_ID, "7202")]
    async with runtime.session_factory() as session:
        assert len((await session.execute(select(EventLog))).scalars().all()) == 2


@pytest.mark.postgres
async def test_a_waiting_job_cannot_start_before_our_commit(runtime: Runtime, pg_url: str) -> None:
    """A worker that is fetching the waiting job makes us wait; once it runs, we defer a new job."""
    obj, events = parse_delivery(delivery(text_event("7301", "hi")))
    await runtime.intake.store(obj, "{}", events)
    worker = await asyncpg.connect(libpq(pg_url))
    try:
        transaction = worker.transaction()
        await transaction.start()
        await worker.execute("SELECT id FROM procrastinate_jobs WHERE status = 'todo' FOR UPDATE SKIP LOCKED")
        obj, more = parse_delivery(delivery(text_event("7301", "there?")))
        store = asyncio.create_task(runtime.intake.store(obj, "{}", more))
        await asyncio.sleep(0.3)
        assert not store.done()  # FOR SHARE waits for the worker's fetch
        await worker.execute("UPDATE procrastinate_jobs SET status = 'doing'")
        await transaction.commit()
        await asyncio.wait_for(store, 5)
    finally:
        await worker.close()
    assert [j["status"] for j in await jobs(runtime)] == ["doing", "todo"]


@pytest.mark.postgres
async def test_a_coalesced_waiting_job_stays_locked_until_we_commit(runtime: Runtime, pg_url: str) -> None:
    """What procrastinate's fetch sees while our statement is still running: the waiting job is taken."""
    obj, events = parse_delivery(delivery(text_event("7601", "hi")))
    await runtime.intake.store(obj, "{}", events)  # 7601's job now waits
    blocker = await asyncpg.connect(libpq(pg_url))
    fetcher = await asyncpg.connect(libpq(pg_url))
    try:
        transaction = blocker.transaction()
        await transaction.start()
        # Keys are locked in order: 7601 (coalesced, locked) first, then 7602, where we block on this insert.
        await blocker.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, queueing_lock, args) "
            "VALUES ('accorria', $1, $2, '{}')",
            PROCESS_CONVERSATION_TASK,
            conversation_lock(PAGE_ID, "7602"),
        )
        obj, more = parse_delivery(delivery(text_event("7601", "there?"), text_event("7602", "hello")))
        store = asyncio.create_task(runtime.intake.store(obj, "{}", more))
        await asyncio.sleep(0.3)
        assert not store.done()
        fetchable = await fetcher.fetch(
            "SELECT queueing_lock FROM procrastinate_jobs WHERE status = 'todo' FOR UPDATE SKIP LOCKED"
        )
        assert [r["queueing_lock"] for r in fetchable] == []  # 7601's job is ours until we commit
        await transaction.rollback()  # 7602's insert goes away: ours goes in
        await asyncio.wait_for(store, 5)
    finally:
        await blocker.close()
        await fetcher.close()
    assert [j["queueing_lock"] for j in await jobs(runtime)] == [
        conversation_lock(PAGE_ID, "7601"),
        conversation_lock(PAGE_ID, "7602"),
    ]


@pytest.mark.postgres
async def test_a_dropped_connection_is_replaced(runtime: Runtime, pg_url: str) -> None:
    obj, events = parse_delivery(delivery(text_event("7401", "hi")))
    await runtime.intake.store(obj, "{}", events)
    await _pg_execute(
        libpq(pg_url),
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    await asyncio.sleep(0.1)
    outcomes = []
    for index in range(3):  # at most the batch on the dead connection fails (503, Meta redelivers)
        obj, events = parse_delivery(delivery(text_event("7401", f"again {index}")))
        try:
            await runtime.intake.store(obj, "{}", events)
            outcomes.append("ok")
        except IntakeUnavailable:
            outcomes.append("503")
    assert outcomes[-2:] == ["ok", "ok"]


async def test_the_fast_path_answers_unavailable_when_the_database_is_down(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(DATABASE_URL="postgresql://postgres@127.0.0.1:1/unreachable")
    runtime = build_runtime(settings, graph_transport=FakeGraph().transport, run_jobs=False)
    await runtime.intake.start()
    try:
        assert uses_fast_path(runtime.intake)
        obj, events = parse_delivery(delivery(text_event("7501", "hi")))
        with pytest.raises(IntakeUnavailable):
            await runtime.intake.store(obj, "{}", events)
    finally:
        await runtime.intake.stop()
        await runtime.http.aclose()
        await runtime.engine.dispose()


def test_connect_arguments_follow_the_engine_url() -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from accorria_agent.messenger.intake_postgres import asyncpg_connect_kwargs

    engine = create_async_engine(
        "postgresql+asyncpg://u:p@db.internal:6432/app?prepared_statement_cache_size=0&ssl=require"
    )
    kwargs = asyncpg_connect_kwargs(engine)
    assert kwargs["host"] == "db.internal" and kwargs["port"] == 6432 and kwargs["ssl"] == "require"
    assert kwargs["user"] == "u" and kwargs["password"] == "p" and kwargs["database"] == "app"
    assert kwargs["statement_cache_size"] == 0  # PgBouncer-style URLs keep working on the fast path
    assert "prepared_statement_cache_size" not in kwargs  # SQLAlchemy's, not asyncpg's
    assert kwargs["server_settings"]["plan_cache_mode"] == "force_generic_plan"
