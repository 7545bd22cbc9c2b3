"""The seller's stated facts in a turn: read only when they changed since this process last read them.

A listing without facts costs a turn no query; a listing's facts are read once per revision (the revision
comes with the listing, which the turn reads anyway); a change made anywhere (another process, the API)
raises the revision in the same transaction, so the next turn reads the new facts. And the migration
marks listings that had facts before it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from alembic import command
from sqlalchemy import event, select, text

from accorria_agent.db.engine import transaction
from accorria_agent.db.migrate import alembic_config, upgrade_async
from accorria_agent.questions import service
from accorria_agent.questions.models import ListingFact
from accorria_agent.sellers.models import Listing, MessengerTenant
from accorria_agent.settings import Settings
from tests.questions.test_seller_answer_loop import LISTING
from tests.sim_harness import SimHarness, sim_harness

Make = Callable[..., Settings]


async def _say_counting_fact_reads(h: SimHarness, psid: str, text_: str) -> int:
    reads: list[str] = []

    def capture(*args: Any) -> None:
        if "FROM listing_facts" in str(args[2]):
            reads.append(str(args[2]))

    event.listen(h.runtime.engine.sync_engine, "before_cursor_execute", capture)
    try:
        await h.say(psid, text_)
    finally:
        event.remove(h.runtime.engine.sync_engine, "before_cursor_execute", capture)
    return len(reads)


async def _seller_id(h: SimHarness) -> int:
    async with h.runtime.session_factory() as session:
        tenant = (await session.execute(select(MessengerTenant))).scalar_one()
    assert tenant.seller_id is not None
    return tenant.seller_id


async def test_facts_are_read_once_per_change_and_every_change_is_seen(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url, listing=LISTING) as h:
        seller_id = await _seller_id(h)
        assert await _say_counting_fact_reads(h, "7101", "is it still available?") == 0  # none ever stated

        # The seller states a fact (as another process would: its own transaction, straight to the database).
        async with transaction(h.runtime.session_factory) as session:
            session.add(ListingFact(listing_id=h.listing_id, topic="rust", answer="No rust, garage kept."))
            listing = await session.get_one(Listing, h.listing_id)
            listing.facts_revision = Listing.facts_revision + 1
        assert await _say_counting_fact_reads(h, "7102", "any rust on it?") == 1
        assert "No rust, garage kept." in h.sent_texts("7102")[0]
        assert await _say_counting_fact_reads(h, "7103", "any rust?") == 0  # same revision: from the cache
        assert "No rust, garage kept." in h.sent_texts("7103")[0]

        # Reworded and then removed through the questions service: each change is seen at the next turn.
        async with transaction(h.runtime.session_factory) as session:
            (fact,) = await service.facts(session, seller_id, h.listing_id)
            await service.update_fact(
                session, seller_id, h.listing_id, fact.id, "None at all.", h.sim.state.now()
            )
        assert await _say_counting_fact_reads(h, "7104", "any rust?") == 1
        assert "None at all." in h.sent_texts("7104")[0]
        async with transaction(h.runtime.session_factory) as session:
            await service.delete_fact(session, seller_id, h.listing_id, fact.id)
        await h.say("7105", "any rust?")
        assert "ask the seller" in h.sent_texts("7105")[0]
        async with h.runtime.session_factory() as session:
            revision = (await session.get_one(Listing, h.listing_id)).facts_revision
        assert revision == 3  # stated, reworded, removed: each raised it once


async def test_two_changes_at_once_both_raise_the_revision(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url, listing=LISTING) as h:
        seller_id = await _seller_id(h)
        async with transaction(h.runtime.session_factory) as session:
            for topic in ("rust", "tires"):
                session.add(ListingFact(listing_id=h.listing_id, topic=topic, answer="Fine."))
        async with h.runtime.session_factory() as session:
            facts = await service.facts(session, seller_id, h.listing_id)

        async def reword(fact_id: int) -> None:
            async with transaction(h.runtime.session_factory) as session:
                await service.update_fact(
                    session, seller_id, h.listing_id, fact_id, "Good.", h.sim.state.now()
                )

        await asyncio.gather(*(reword(fact.id) for fact in facts))
        async with h.runtime.session_factory() as session:
            assert (await session.get_one(Listing, h.listing_id)).facts_revision == 2


async def test_the_migration_marks_listings_that_had_facts(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url, listing=LISTING) as h:
        async with transaction(h.runtime.session_factory) as session:
            session.add(ListingFact(listing_id=h.listing_id, topic="rust", answer="None."))
        await h.runtime.engine.dispose()
        await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0021")
        await upgrade_async(database_url)
        async with h.runtime.session_factory() as session:
            rows = (await session.execute(text("SELECT id, facts_revision FROM listings"))).all()
        assert [(row[0], row[1]) for row in rows] == [(h.listing_id, 1)]
