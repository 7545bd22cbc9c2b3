"""The turn's first read (one statement): the Page, the buyer's conversation, its unprocessed events in
order and its listing, chosen as ``listing_for`` chooses it and never another seller's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from accorria_agent.conversations import repository as repo
from accorria_agent.conversations.models import Conversation
from accorria_agent.db.engine import transaction
from accorria_agent.messenger.models import EventLog
from accorria_agent.sellers.models import Listing
from accorria_agent.settings import Settings
from tests.fakes.graph import FakeGraph
from tests.helpers import PAGE_ID, harness, seed

SINCE = datetime(2026, 1, 1, tzinfo=UTC)


def _event(page_id: str, psid: str, key: str, ts: int) -> EventLog:
    return EventLog(
        page_id=page_id, buyer_psid=psid, event_key=key, kind="message", timestamp_ms=ts, payload={}
    )


async def test_turn_start_reads_what_the_separate_reads_did(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    graph = FakeGraph()
    async with harness(make_settings(DATABASE_URL=database_url), graph.transport) as h:
        factory = h.runtime.session_factory
        _other_tenant, other_listing = await seed(h.runtime, page_id="999888777")
        async with transaction(factory) as session:
            first = await session.get(Listing, h.listing_id)
            assert first is not None
            newer = Listing(
                seller_id=first.seller_id,
                tenant_id=h.tenant_id,
                year=2020,
                make="Honda",
                model="Civic",
                asking_price=first.asking_price,
                price_floor=first.price_floor,
                status="active",
            )
            session.add(newer)
            session.add_all(
                [
                    _event(PAGE_ID, "b1", "k2", 2000),
                    _event(PAGE_ID, "b1", "k1", 1000),
                    _event(PAGE_ID, "b2", "k3", 1500),  # another buyer's
                    _event("404404", "b1", "k4", 1000),  # a Page nobody serves
                ]
            )
        async with transaction(factory) as session:
            start = await repo.turn_start(session, PAGE_ID, "b1", SINCE)
            assert start.page is not None and start.page.tenant.id == h.tenant_id
            assert start.page.conversation is None and start.listing_for_id is None
            assert [e.event_key for e in start.events] == ["k1", "k2"]  # this buyer's, in order
            assert start.listing is not None and start.listing.id == newer.id  # the latest active
            assert start.listing.id == (await repo.listing_for(session, h.tenant_id, None) or first).id
            unserved = await repo.turn_start(session, "404404", "b1", SINCE)  # its events are read alone
            assert unserved.page is None and [e.event_key for e in unserved.events] == ["k4"]
            conversation = await repo.new_conversation(session, h.tenant_id, "b1")
            conversation.listing_id = h.listing_id
        async with transaction(factory) as session:
            start = await repo.turn_start(session, PAGE_ID, "b1", SINCE)
            assert start.page is not None and start.page.conversation is not None
            assert start.listing is not None and start.listing.id == h.listing_id  # the conversation's
            assert start.listing_for_id == h.listing_id
            # Another seller's listing is never this conversation's, whatever its listing_id says.
            await session.execute(
                update(Conversation).where(Conversation.buyer_psid == "b1").values(listing_id=other_listing)
            )
        async with transaction(factory) as session:
            start = await repo.turn_start(session, PAGE_ID, "b1", SINCE)
            assert start.listing is not None and start.listing.id == newer.id
            # Events all processed: the Page and conversation still come back (the orphan check needs them).
            await session.execute(update(EventLog).values(processed_at=newer.created_at))
        async with transaction(factory) as session:
            start = await repo.turn_start(session, PAGE_ID, "b1", SINCE)
            assert start.page is not None and start.page.conversation is not None and start.events == []
            assert start.has_unsent_replies is False and start.bot_replies_since == 0
            conversation = start.page.conversation
            now = datetime.now(UTC)
            for status, age in (("sent", 120), ("sent", 30), ("pending", 10)):
                reply = repo.new_outbound(conversation, author="bot", text="hi", payload={}, now=now)
                reply.status, reply.created_at = status, now - timedelta(seconds=age)
                session.add(reply)
        async with transaction(factory) as session:
            start = await repo.turn_start(session, PAGE_ID, "b1", now - timedelta(seconds=60))
            assert start.has_unsent_replies is True  # the pending one
            assert start.bot_replies_since == 2  # drawn in the last minute: 30 s and 10 s ago
            other = await repo.turn_start(session, PAGE_ID, "b2", now - timedelta(seconds=60))
            assert other.has_unsent_replies is False and other.bot_replies_since == 0  # not another buyer's
