"""The negotiation through the simulator: what a buyer actually receives on Messenger."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import update

from accorria_agent.conversations.models import Conversation
from accorria_agent.db.engine import transaction
from accorria_agent.negotiation.guard import find_amounts, normalize_text
from accorria_agent.settings import Settings
from tests.sim_harness import sim_harness

Make = Callable[..., Settings]
LISTING = {
    "year": 2017,
    "make": "Toyota",
    "model": "Camry",
    "trim": "SE",
    "mileage": 71000,
    "asking_price": 12500,
    "price_floor": 11000,
    "max_concessions": 3,
    "escrow_enabled": True,
}


def amounts(text: str) -> list[Decimal]:
    return [m.value for m in find_amounts(normalize_text(text), listing_year=2017)]


async def test_a_lowball_question_gets_a_counter_above_the_floor(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url, listing=LISTING) as h:
        await h.say("2001", "would you take 9k?")
        (reply,) = h.sent_texts("2001")
        quoted = amounts(reply)
        assert quoted, reply
        assert all(Decimal(11000) < amount <= Decimal(12500) for amount in quoted), reply
        assert "Camry" in reply
        state = (await h.conversation("2001")).negotiation_state
        assert Decimal(state["our_counters"][-1]) > Decimal(11000)


async def test_ok_at_our_counter_is_accepted_with_the_next_step(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url, listing=LISTING) as h:
        await h.say("2002", "would you take 9k?")
        # Our standing counter is $11,800 (as after two concessions).
        async with transaction(h.runtime.session_factory) as session:
            conversation = await h.conversation("2002")
            state = dict(conversation.negotiation_state)
            state.update(our_counters=["12200", "11800"], concessions_used=2, best_offer="9000")
            await session.execute(
                update(Conversation).where(Conversation.id == conversation.id).values(negotiation_state=state)
            )
        await h.say("2002", "ok 11.8k")
        reply = h.sent_texts("2002")[-1]
        assert Decimal(11800) in amounts(reply), reply
        assert re.search(r"deal|agreed|works|yours", reply, re.IGNORECASE), reply
        assert re.search(r"test drive|see it|look", reply, re.IGNORECASE), reply
        assert "escrow" in reply.lower()
        state = (await h.conversation("2002")).negotiation_state
        assert Decimal(state["agreed_price"]) == Decimal(11800)


async def test_a_stubborn_haggler_never_hears_the_floor_early(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url, listing=LISTING) as h:
        script = [
            "hi",
            "whats your lowest",
            "can you do better?",
            "7000 cash today",
            "lowest?",
            "come on, lower",
            "8k final",
            "what's the bottom line?",
        ]
        for text in script:
            await h.say("2003", text)
        replies = h.sent_texts("2003")
        assert len(replies) == len(script)
        for reply in replies:
            assert all(amount >= Decimal(11000) for amount in amounts(reply)), reply
            assert "floor" not in reply.lower()
        state = (await h.conversation("2003")).negotiation_state
        counters = [Decimal(c) for c in state["our_counters"]]
        assert counters == sorted(counters, reverse=True)  # never rises
        assert state["concessions_used"] <= 3


async def test_a_long_reply_is_split_and_sent_in_order(database_url: str, make_settings: Make) -> None:
    from sqlalchemy import update as sql_update

    from accorria_agent.sellers.models import MessengerSettings

    async with sim_harness(make_settings, database_url, listing=LISTING) as h:
        disclosure = " ".join(f"Sentence number {n} of a long automated-assistant notice." for n in range(60))
        async with transaction(h.runtime.session_factory) as session:
            await session.execute(sql_update(MessengerSettings).values(disclosure_text=disclosure))
        await h.say("2004", "hi")
        texts = h.sent_texts("2004")
        assert len(texts) >= 2
        assert all(len(t) <= 2000 for t in texts)
        assert " ".join(texts).startswith("Sentence number 0 ")
        assert "Camry" in texts[-1]
        entries = [e for e in h.sent_entries("2004") if e.message and "text" in e.message]
        assert "quick_replies" not in entries[0].message
