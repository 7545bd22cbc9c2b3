"""Intake leftovers of the scale-out issue: every event names its delivery (``delivery_id``) on each of the
three write paths, and on PostgreSQL a batch that cannot commit in time is cancelled and answered 503."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import asyncpg
import pytest
from sqlalchemy import select

from accorria_agent.messenger import intake as intake_module
from accorria_agent.messenger import intake_postgres
from accorria_agent.messenger.events import parse_delivery
from accorria_agent.messenger.intake import IntakeUnavailable, WebhookIntake
from accorria_agent.messenger.models import EventLog, WebhookDelivery
from accorria_agent.runtime import Runtime, build_runtime
from accorria_agent.settings import Settings
from tests.conftest import _truncate_all
from tests.fakes.graph import FakeGraph
from tests.helpers import delivery, seed, text_event

Make = Callable[..., Settings]


@pytest.fixture
def pg_url(postgres_database: str) -> Iterator[str]:
    """The session's PostgreSQL database, emptied after the test."""
    yield postgres_database
    asyncio.run(_truncate_all(postgres_database.replace("postgresql+asyncpg://", "postgresql://", 1)))


async def _store_three(intake: WebhookIntake, prefix: str) -> None:
    """Three deliveries at the same moment (one batch): two with an event each, one with two events."""
    one = parse_delivery(delivery(text_event(f"{prefix}1", "hi", mid=f"{prefix}m1")))
    two = parse_delivery(delivery(text_event(f"{prefix}2", "hello", mid=f"{prefix}m2")))
    both = parse_delivery(
        {
            "object": "page",
            "entry": [
                *delivery(text_event(f"{prefix}3", "a", mid=f"{prefix}m3"))["entry"],
                *delivery(text_event(f"{prefix}3", "b", mid=f"{prefix}m4"))["entry"],
            ],
        }
    )
    await asyncio.gather(*(intake.store(obj, "{}", events) for obj, events in (one, two, both)))


async def _delivery_of_each_event(runtime: Runtime) -> dict[str, int]:
    async with runtime.session_factory() as session:
        events = (await session.execute(select(EventLog).order_by(EventLog.id))).scalars().all()
        deliveries = {
            d.id: d for d in (await session.execute(select(WebhookDelivery))).scalars().all()
        }
    out = {}
    for event in events:
        assert event.delivery_id in deliveries, event.event_key
        out[event.buyer_psid] = event.delivery_id
    return out


async def _check_delivery_ids(runtime: Runtime, intake: WebhookIntake, prefix: str) -> None:
    await _store_three(intake, prefix)
    owners = await _delivery_of_each_event(runtime)
    assert len({owners[f"{prefix}1"], owners[f"{prefix}2"], owners[f"{prefix}3"]}) == 3
    async with runtime.session_factory() as session:
        counts = {
            d.id: d.event_count for d in (await session.execute(select(WebhookDelivery))).scalars().all()
        }
        rows = (await session.execute(select(EventLog.delivery_id))).scalars().all()
    for delivery_id, count in counts.items():
        assert rows.count(delivery_id) == count  # each delivery owns exactly its events


@pytest.mark.parametrize("path", ["fast", "sqlalchemy"])
async def test_every_event_names_its_delivery(database_url: str, make_settings: Make, path: str) -> None:
    runtime = build_runtime(
        make_settings(DATABASE_URL=database_url), graph_transport=FakeGraph().transport, run_jobs=False
    )
    await runtime.start()
    intake = runtime.intake if path == "fast" else WebhookIntake(runtime.engine, runtime.queue)
    if path != "fast":
        await intake.start()
    try:
        # The fast path of this backend, or the SQLAlchemy one (no job table named to the intake).
        fast = intake._sqlite_writer or intake._postgres_writer
        assert (fast is not None) == (path == "fast")
        await seed(runtime)
        await _check_delivery_ids(runtime, intake, path[0])
    finally:
        if path != "fast":
            await intake.stop()
        await runtime.stop()


@pytest.mark.postgres
@pytest.mark.parametrize("path", ["fast", "sqlalchemy"])
async def test_a_batch_stuck_on_a_lock_is_cancelled_and_answered_503(
    pg_url: str, make_settings: Make, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    monkeypatch.setattr(intake_postgres, "INTAKE_STATEMENT_TIMEOUT_MS", 300)
    monkeypatch.setattr(intake_module, "INTAKE_STATEMENT_TIMEOUT_MS", 300)
    runtime = build_runtime(
        make_settings(DATABASE_URL=pg_url), graph_transport=FakeGraph().transport, run_jobs=False
    )
    await runtime.start()
    intake = runtime.intake if path == "fast" else WebhookIntake(runtime.engine, runtime.queue)
    if path != "fast":
        await intake.start()
    locker = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        assert (intake._postgres_writer is not None) == (path == "fast")
        obj, events = parse_delivery(delivery(text_event("t1", "hi", mid=f"t_{path}_1")))
        transaction = locker.transaction()
        await transaction.start()
        await locker.execute("LOCK TABLE webhook_deliveries IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        with pytest.raises(IntakeUnavailable):
            await intake.store(obj, "{}", events)
        assert time.monotonic() - started < 3  # cancelled by the timeout, not left waiting on the lock
        await transaction.rollback()
        obj, events = parse_delivery(delivery(text_event("t1", "again", mid=f"t_{path}_2")))
        await intake.store(obj, "{}", events)  # the lock is gone: stored
    finally:
        await locker.close()
        if path != "fast":
            await intake.stop()
        await runtime.stop()
