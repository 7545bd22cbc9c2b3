"""The SQLite intake fast path writes rows the ORM reads back exactly as the SQLAlchemy path would."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from accorria_agent.jobs.models import Job
from accorria_agent.messenger.events import parse_delivery
from accorria_agent.messenger.intake_sqlite import SqliteIntakeWriter
from accorria_agent.messenger.models import EventLog, WebhookDelivery
from accorria_agent.runtime import build_runtime
from accorria_agent.settings import Settings
from tests.fakes.graph import FakeGraph
from tests.helpers import delivery, seed, text_event


async def test_fast_path_rows_round_trip_through_the_orm(
    sqlite_template: object, tmp_path: object, make_settings: Callable[..., Settings]
) -> None:
    import shutil
    from pathlib import Path

    path = Path(str(tmp_path)) / "fast.db"
    shutil.copy(str(sqlite_template), path)
    runtime = build_runtime(
        make_settings(DATABASE_URL=f"sqlite+aiosqlite:///{path}", REPLY_QUIET_PERIOD_SECONDS=2.5),
        graph_transport=FakeGraph().transport,
        run_jobs=False,
    )
    await runtime.start()
    try:
        assert runtime.intake._sqlite_writer is not None  # the fast path is the one under test
        body = delivery(
            text_event("7001", "héllo ✓ would you take 9k?", mid="m_fast_1", ts=1_795_000_000_123)
        )
        obj, events = parse_delivery(body)
        tenant_id, _ = await seed(runtime)  # the Page is served
        _, strangers = parse_delivery(delivery(text_event("7003", "private", mid="m_x"), page_id="555"))
        before = datetime.now(UTC)
        await runtime.intake.store(obj, "{}", events)
        await runtime.intake.store(obj, "{}", events)  # a redelivery: no second event, no second job
        await runtime.intake.store(obj, "{}", strangers)  # a Page we do not serve
        async with runtime.session_factory() as session:
            stored = (await session.execute(select(EventLog).order_by(EventLog.id))).scalars().all()
            jobs = (await session.execute(select(Job).order_by(Job.id))).scalars().all()
            deliveries = (
                (await session.execute(select(WebhookDelivery).order_by(WebhookDelivery.id))).scalars().all()
            )
        assert len(stored) == 2 and len(deliveries) == 3
        assert [e.delivery_id for e in stored] == [deliveries[0].id, deliveries[2].id]
        assert (stored[1].page_id, stored[1].tenant_id, stored[1].payload) == ("555", None, {})
        jobs = jobs[:1]
        event = stored[0]
        assert event.tenant_id == tenant_id
        assert event.payload == events[0].payload
        assert event.timestamp_ms == 1_795_000_000_123
        assert event.received_at.tzinfo is not None and event.received_at >= before - timedelta(seconds=1)
        assert event.processed_at is None
        assert len(jobs) == 1
        job = jobs[0]
        assert job.args == {"page_id": events[0].page_id, "buyer_psid": "7001"}
        assert job.status == "todo" and job.lock == job.queueing_lock
        assert timedelta(seconds=2) < job.scheduled_at - event.received_at < timedelta(seconds=3)
        assert deliveries[0].body == ""  # the event holds the payload; the raw body is not stored twice
    finally:
        await runtime.stop()


def test_a_busy_database_is_reported_not_waited_on(tmp_path: object) -> None:
    import sqlite3
    from pathlib import Path

    import pytest

    from accorria_agent.messenger.intake_sqlite import DatabaseBusy

    path = str(Path(str(tmp_path)) / "busy.db")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("CREATE TABLE x (a)")
    holder.execute("BEGIN IMMEDIATE")
    writer = SqliteIntakeWriter(path)
    with pytest.raises(DatabaseBusy):
        writer.commit_batch([("page", 0, "{}")], [], [], datetime.now(UTC))
    holder.execute("ROLLBACK")
    writer.close()
    holder.close()
