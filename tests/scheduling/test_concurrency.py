"""No double booking: many buyers racing for one slot, on PostgreSQL (several transactions at once)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from accorria_agent.conversations.models import Conversation
from accorria_agent.db.engine import transaction
from accorria_agent.scheduling import service
from accorria_agent.scheduling.models import Booking
from accorria_agent.sellers.models import Listing
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


async def test_overrides_on_offset_grids_still_never_overlap(database_url: str, make_settings: Make) -> None:
    """Listing A's slots start on the hour, listing B's on the half hour: 10:00 and 10:30 overlap.

    The unique index cannot see that (two different starts); the calendar lock taken when overrides
    exist makes the second booking wait for the first one's commit, then see it and refuse.
    """
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite runs one writer at a time: the race needs PostgreSQL's concurrent transactions")
    async with sim_harness(make_settings, database_url) as h:
        headers, _ = await ready(h)
        seller = await seller_id(h)
        async with transaction(h.runtime.session_factory) as session:
            main = await session.get(Listing, h.listing_id)
            assert main is not None
            second = Listing(
                seller_id=seller, tenant_id=h.tenant_id, year=2015, make="Ford", model="Focus",
                asking_price=Decimal("6000.00"), price_floor=Decimal("5000.00"),
            )  # fmt: skip
            session.add(second)
            conversations = [
                Conversation(tenant_id=h.tenant_id, buyer_psid=f"grid-{i}") for i in range(RACERS)
            ]
            session.add_all(conversations)
            await session.flush()
            ids, second_id = [c.id for c in conversations], second.id
        for listing_id, opens in ((h.listing_id, "10:00"), (second_id, "10:30")):
            spec = {"weekly_hours": {"sat": [[opens, "16:00"]]}, "slot_minutes": 60, "buffer_minutes": 0}
            response = await h.client.put(
                f"/api/availability/listings/{listing_id}", json=spec, headers=headers
            )
            assert response.status_code == 200, response.text
        plans = {}
        async with h.runtime.session_factory() as session:
            for listing_id, start in (
                (h.listing_id, SATURDAY_10),
                (second_id, SATURDAY_10 + timedelta(minutes=30)),
            ):
                rules, _ = await service.availability_rules(
                    session, seller, tenant_id=h.tenant_id, listing_id=listing_id
                )
                plans[listing_id] = (rules, start)

        async def book(session: Any, index: int) -> service.BookingResult:
            listing_id = h.listing_id if index == 0 else second_id
            rules, wanted = plans[listing_id]
            return await service.book(
                session,
                seller_id=seller,
                tenant_id=h.tenant_id,
                conversation_id=ids[index],
                listing_id=listing_id,
                summary="Test drive: grid race",
                location=None,
                rules=rules,
                wanted=wanted,
                now=PINNED_NOW,
            )

        async def second_buyer() -> service.BookingResult:
            async with transaction(h.runtime.session_factory) as session:
                return await book(session, 1)

        # Buyer A books 10:00 and has not committed yet; buyer B asks for 10:30 meanwhile.
        async with transaction(h.runtime.session_factory) as session:
            first = await book(session, 0)
            assert first.booking is not None
            racer = asyncio.create_task(second_buyer())
            await asyncio.sleep(0.5)
            assert not racer.done(), "B waits for A's calendar lock instead of reading a stale calendar"
        second_result = await racer
        assert second_result.booking is None and second_result.taken and second_result.alternatives
        async with h.runtime.session_factory() as session:
            booked = (
                (await session.execute(select(Booking).where(Booking.status == "booked"))).scalars().all()
            )
        assert [b.starts_at for b in booked] == [SATURDAY_10]
