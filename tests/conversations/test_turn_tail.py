"""A turn's last writes: its events marked, its audit row and its live event, in one statement on PostgreSQL.

The same outcome on both backends (SQLite writes them one by one); on PostgreSQL the audit row and the
``pg_notify`` ride on the statement that marks the turn's events (``db.tail``), and a rolled-back
transaction keeps none of what it deferred, nor leaks it into the next transaction of the same session.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, select

from accorria_agent.audit import service as audit
from accorria_agent.audit.models import AuditEvent
from accorria_agent.db.engine import transaction
from accorria_agent.live.bus import LiveEvent, Subscription, ensure_listening, publish_in_transaction
from accorria_agent.messenger.models import EventLog
from accorria_agent.sellers.models import MessengerTenant
from accorria_agent.settings import Settings
from tests.helpers import PAGE_ID
from tests.sim_harness import SimHarness, sim_harness

Make = Callable[..., Settings]


async def _seller_id(h: SimHarness) -> int:
    async with h.runtime.session_factory() as session:
        query = select(MessengerTenant.seller_id).where(MessengerTenant.page_id == PAGE_ID)
        seller_id = (await session.execute(query)).scalar_one()
    assert seller_id is not None
    return int(seller_id)


@asynccontextmanager
async def _watched(
    make_settings: Make, database_url: str
) -> AsyncIterator[tuple[SimHarness, int, Subscription]]:
    """A harness, its seller's id, and a dashboard subscribed to that seller's live events."""
    async with sim_harness(make_settings, database_url) as h:
        seller_id = await _seller_id(h)
        hub = await ensure_listening(h.runtime.engine)
        dashboard = hub.subscribe(seller_id)
        try:
            yield h, seller_id, dashboard
        finally:
            hub.unsubscribe(dashboard)


async def test_a_turn_records_its_audit_row_and_announces_its_reply(
    database_url: str, make_settings: Make
) -> None:
    async with _watched(make_settings, database_url) as (h, seller_id, dashboard):
        statements: list[str] = []

        def capture(*args: Any) -> None:
            statements.append(str(args[2]))

        event.listen(h.runtime.engine.sync_engine, "before_cursor_execute", capture)
        try:
            await h.say("2001", "hi, is it still available?")
        finally:
            event.remove(h.runtime.engine.sync_engine, "before_cursor_execute", capture)
        replies = [m for m in await h.messages("2001") if m.author == "bot"]
        assert len(replies) == 1 and len(h.sent_texts("2001")) == 1
        conversation = await h.conversation("2001")
        async with h.runtime.session_factory() as session:
            rows = (
                await session.execute(select(AuditEvent).where(AuditEvent.action == "message.outbound"))
            ).scalars()
            trail = [(row.seller_id, row.subject_id, row.details, row.actor_kind) for row in rows]
            events = (await session.execute(select(EventLog).where(EventLog.buyer_psid == "2001"))).scalars()
            outcomes = [(e.processed_at is not None, e.outcome) for e in events if e.kind == "message"]
        assert trail == [(seller_id, str(conversation.id), {"message_ids": [replies[0].id]}, "bot")]
        assert outcomes == [(True, outcomes[0][1])] and outcomes[0][1]
        assert await dashboard.next(3) == LiveEvent(seller_id, "message", conversation.id)
        if database_url.startswith("postgresql"):
            alone = [
                s
                for s in statements
                if s.lstrip().upper().startswith(("INSERT INTO AUDIT_EVENTS", "SELECT PG_NOTIFY"))
            ]
            assert alone == []  # no round trip of their own
            tails = [s for s in statements if s.startswith("WITH tail_lead AS (UPDATE messenger_events_log")]
            # The buyer's turn; the turn reconciling Meta's echo of the reply marks its event the same way.
            assert len(tails) == 2
            assert "INSERT INTO audit_events" in tails[0] and "pg_notify" in tails[0]


async def test_what_a_rolled_back_transaction_deferred_is_neither_kept_nor_sent_later(
    database_url: str, make_settings: Make
) -> None:
    async with _watched(make_settings, database_url) as (h, seller_id, dashboard):
        async with h.runtime.session_factory() as session:
            with contextlib.suppress(RuntimeError):
                async with session.begin():
                    await audit.record_bot_replies(session, seller_id, 901, [1])
                    await publish_in_transaction(session, LiveEvent(seller_id, "message", 901))
                    raise RuntimeError("the change fails")
            async with session.begin():  # the same session, the next transaction
                await audit.record_bot_replies(session, seller_id, 902, [2])
                await publish_in_transaction(session, LiveEvent(seller_id, "message", 902))
        async with h.runtime.session_factory() as session:
            subjects = (
                await session.execute(select(AuditEvent.subject_id).order_by(AuditEvent.id))
            ).scalars()
            assert [s for s in subjects if s in ("901", "902")] == ["902"]
        assert await dashboard.next(3) == LiveEvent(seller_id, "message", 902)
        assert await dashboard.next(0.5) is None


async def test_a_returning_buyers_turn_reads_no_unsent_replies_nor_loop_count_on_its_own(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await h.say("2101", "hi, is it still available?")
        statements: list[str] = []

        def capture(*args: Any) -> None:
            statements.append(" ".join(str(args[2]).split()))

        event.listen(h.runtime.engine.sync_engine, "before_cursor_execute", capture)
        try:
            await h.say("2101", "what's the mileage?")  # within a minute of the bot's first reply
        finally:
            event.remove(h.runtime.engine.sync_engine, "before_cursor_execute", capture)
        assert len(h.sent_texts("2101")) == 2
        orphan_check = (
            "SELECT messenger_messages.id, messenger_messages.status, messenger_messages.claimed_at "
        )
        loop_count = "SELECT count(messenger_messages.id) AS"
        # Both come with the turn's first statement now.
        assert not [s for s in statements if s.startswith((orphan_check, loop_count))]
        assert any(s.startswith("SELECT messenger_tenants.id") and loop_count[7:] in s for s in statements)


async def test_what_a_rolled_back_savepoint_deferred_is_rolled_back_with_it(
    database_url: str, make_settings: Make
) -> None:
    async with _watched(make_settings, database_url) as (h, seller_id, dashboard):
        async with transaction(h.runtime.session_factory) as session:
            await publish_in_transaction(session, LiveEvent(seller_id, "conversation", 910))
            with contextlib.suppress(RuntimeError):
                async with session.begin_nested():  # as a careful turn runs one event or composition
                    async with session.begin_nested():
                        await audit.record_bot_replies(session, seller_id, 911, [1])
                        await publish_in_transaction(session, LiveEvent(seller_id, "message", 911))
                    raise RuntimeError("this event fails")
            async with session.begin_nested():
                await audit.record_bot_replies(session, seller_id, 912, [2])
                await publish_in_transaction(session, LiveEvent(seller_id, "message", 912))
            assert await dashboard.next(0.3) is None  # a savepoint's release is not the commit
        async with h.runtime.session_factory() as session:
            subjects = (
                await session.execute(select(AuditEvent.subject_id).order_by(AuditEvent.id))
            ).scalars()
            assert [s for s in subjects if s in ("911", "912")] == ["912"]
        heard = [await dashboard.next(3), await dashboard.next(3)]
        assert sorted(heard, key=str) == [
            LiveEvent(seller_id, "conversation", 910),  # published before the savepoint that failed
            LiveEvent(seller_id, "message", 912),
        ]
        assert await dashboard.next(0.5) is None


async def test_a_session_closed_with_its_transaction_open_leaves_nothing_for_the_next(
    database_url: str, make_settings: Make
) -> None:
    async with _watched(make_settings, database_url) as (h, seller_id, dashboard):
        session = h.runtime.session_factory()
        await publish_in_transaction(session, LiveEvent(seller_id, "message", 920))  # nothing begun yet
        await audit.record_bot_replies(session, seller_id, 921, [1])
        await publish_in_transaction(session, LiveEvent(seller_id, "message", 921))
        await session.close()  # never committed
        async with session.begin():  # the same session object, reused
            await audit.record_bot_replies(session, seller_id, 922, [2])
            await publish_in_transaction(session, LiveEvent(seller_id, "message", 922))
        await session.close()
        async with h.runtime.session_factory() as check:
            subjects = (await check.execute(select(AuditEvent.subject_id).order_by(AuditEvent.id))).scalars()
            assert [s for s in subjects if s in ("920", "921", "922")] == ["922"]
        assert await dashboard.next(3) == LiveEvent(seller_id, "message", 922)
        assert await dashboard.next(0.5) is None
