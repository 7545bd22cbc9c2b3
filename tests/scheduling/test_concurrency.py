"""No double booking: many buyers racing for one slot, on PostgreSQL (several transactions at once)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from accorria_agent.conversations.models import Conversation
from accorria_agent.db.engine import transaction
from accorria_agent.scheduling import service
from accorria_agent.scheduling.models import Booking
from accorria_agent.settings import Settings
from tests.scheduling.conftest import PINNED_NOW, ready, seller_id
from tests.sim_harness import sim_harness

Make = Callable[..., Settings]
SATURDAY_10 = datetime(2026, 12, 12, 15, 0, tzinfo=UTC)
RACERS = 8


async def test_concurrent_bookings_of_one_slot_exactly_one_wins(
    database_url: str, make_settings: Make
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite runs one writer at a time: the race needs PostgreSQL's concurrent transactions")
    async with sim_harness(make_settings, database_url) as h:
        await ready(h)
        async with transaction(h.runtime.session_factory) as session:
            conversations = [
                Conversation(tenant_id=h.tenant_id, buyer_psid=f"race-{i}") for i in range(RACERS)
            ]
            session.add_all(conversations)
            await session.flush()
            ids = [c.id for c in conversations]
        seller = await seller_id(h)
        async with h.runtime.session_factory() as session:
            rules, _ = await service.availability_rules(session, seller)
        started = asyncio.Event()
        waiting = 0

        async def attempt(conversation_id: int) -> service.BookingResult:
            nonlocal waiting
            async with transaction(h.runtime.session_factory) as session:
                # Every racer has read the slot as free before any of them commits.
                waiting += 1
                if waiting == RACERS:
                    started.set()
                await started.wait()
                return await service.book(
                    session,
                    seller_id=seller,
                    tenant_id=h.tenant_id,
                    conversation_id=conversation_id,
                    listing_id=h.listing_id,
                    summary="Test drive: race",
                    location=None,
                    rules=rules,
                    wanted=SATURDAY_10,
                    now=PINNED_NOW,
                )

        results = await asyncio.gather(*(attempt(i) for i in ids))
        winners = [r for r in results if r.booking is not None]
        assert len(winners) == 1
        losers = [r for r in results if r.booking is None]
        assert all(r.taken and r.alternatives and SATURDAY_10 not in r.alternatives for r in losers)
        async with h.runtime.session_factory() as session:
            count = await session.scalar(
                select(func.count()).select_from(Booking).where(Booking.starts_at == SATURDAY_10)
            )
        assert count == 1


async def test_buyers_asking_at_once_for_one_slot_get_one_booking(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await ready(h)
        psids = [f"50{i}" for i in range(4)]
        await asyncio.gather(*(h.sim.send_buyer_message(p, "can I see it saturday at 10am?") for p in psids))
        await h.settle()
        replies = [h.sent_texts(p)[-1] for p in psids]
        assert sum("booked" in r for r in replies) == 1, replies
        assert sum("taken" in r for r in replies) == 3, replies
