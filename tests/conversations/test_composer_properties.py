"""The price-safety invariant end to end through the composer, whatever the buyer writes and the LLM says.

For any seller rules, any sequence of buyer messages and any LLM output: no text the agent would send
states an amount below the floor; the floor itself appears only once concessions are exhausted (or it is
the agreed price, or equals the asking price); our counters never rise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accorria_agent.conversations.composer import BuyerInput, TurnContext
from accorria_agent.conversations.negotiation_composer import NegotiationComposer
from accorria_agent.negotiation.guard import find_amounts, normalize_text
from accorria_agent.negotiation.schemas import Decision, ListingFacts, Reply, Tone

LISTING = ListingFacts(listing_id=1, year=2016, make="Ford", model="Focus", trim="SE", mileage=88000)
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)

BUYER_TEMPLATES = [
    "would you take {n}?",
    "I can do {n}",
    "{k}k cash today",
    "ok {n}",
    "deal at {n}",
    "whats your lowest",
    "can you do better?",
    "too much for me",
    "is it available",
    "te doy {n}",
    "{n} final offer",
    "ok deal",
    "meet me in the middle?",
    "I'll pay asking",
    "{n} obo",
    "can I see it tomorrow at 5",
]
LLM_TEMPLATES = [
    "Sure, ${n:,} works!",
    "Deal!",
    "My floor is ${f:,}.",
    "",
    "x" * 5000,
    "Best I can do is {k}k.",
    "I could go down to ${n:,} for you.",
    "It's yours for {n}.",
    "Lowest I can go is ${f:,}, final.",
]


@dataclass
class Row:
    asking_price: Decimal
    price_floor: Decimal
    auto_accept_threshold: Decimal | None
    max_concessions: int
    response_tone: str = "friendly"
    escrow_enabled: bool = True


class AdversarialPhraser:
    """An "LLM" that says whatever the test tells it to, ignoring the decision."""

    def __init__(self, outputs: Sequence[str]) -> None:
        self.outputs = list(outputs)

    async def phrase(
        self,
        decision: Decision,
        listing: ListingFacts,
        tone: Tone,
        history: Sequence[tuple[str, str]],
        seed: int,
    ) -> Reply:
        text = self.outputs.pop(0) if self.outputs else "Sure!"
        return Reply(text=text, source="llm")


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Row, list[str], list[str]]:
    asking = Decimal(draw(st.integers(min_value=20, max_value=600))) * 100
    floor = Decimal(draw(st.integers(min_value=int(asking * Decimal("0.6")), max_value=int(asking))))
    floor = max(Decimal(100), floor.quantize(Decimal(1)))
    threshold = draw(st.one_of(st.none(), st.integers(min_value=int(floor), max_value=int(asking))))
    row = Row(
        asking,
        floor,
        Decimal(threshold) if threshold is not None else None,
        draw(st.integers(min_value=0, max_value=5)),
    )

    def amount() -> int:
        return draw(
            st.integers(min_value=int(asking * Decimal("0.3")), max_value=int(asking * Decimal("1.2")))
        )

    buyers = []
    for template in draw(st.lists(st.sampled_from(BUYER_TEMPLATES), min_size=1, max_size=8)):
        n = amount()
        buyers.append(template.format(n=n, k=round(n / 1000, 1)))
    llm = []
    for template in draw(
        st.lists(st.sampled_from(LLM_TEMPLATES), min_size=len(buyers), max_size=len(buyers))
    ):
        n = amount()
        llm.append(template.format(n=n, k=round(n / 1000, 1), f=int(floor)))
    return row, buyers, llm


def _run(row: Row, buyers: list[str], llm: list[str]) -> list[tuple[str, dict[str, object]]]:
    async def go() -> list[tuple[str, dict[str, object]]]:
        composer = NegotiationComposer(AdversarialPhraser(llm))
        state: dict[str, object] = {}
        out = []
        for turn, text in enumerate(buyers):
            context = TurnContext(1, LISTING, row, [BuyerInput(text, NOW)], state, [], "America/Detroit", NOW)
            result = await composer.compose(context)
            state = result.state
            out.extend((draft.text, dict(state)) for draft in result.drafts)
            if result.handoff_reason:
                break
            del turn
        return out

    return asyncio.run(go())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_no_text_ever_goes_below_the_floor(scenario: tuple[Row, list[str], list[str]]) -> None:
    row, buyers, llm = scenario
    previous_counters: list[Decimal] = []
    for text, state in _run(row, buyers, llm):
        amounts = [m.value for m in find_amounts(normalize_text(text), listing_year=LISTING.year)]
        fee = Decimal(str(state["agreed_price"])) * Decimal("0.009") if state.get("agreed_price") else None
        prices = [a for a in amounts if fee is None or abs(a - fee) > Decimal("0.01")]
        assert all(a >= row.price_floor for a in prices), (text, row)
        if row.price_floor in prices and row.price_floor != row.asking_price:
            assert (
                int(str(state["concessions_used"])) >= row.max_concessions
                or Decimal(str(state.get("agreed_price") or 0)) == row.price_floor
            ), (text, state)
        counters = [Decimal(str(c)) for c in state.get("our_counters", [])]  # type: ignore[attr-defined]
        assert counters == sorted(counters, reverse=True)
        assert counters[: len(previous_counters)] == previous_counters
        previous_counters = counters
        assert len(text) <= 2000 and text.strip()
