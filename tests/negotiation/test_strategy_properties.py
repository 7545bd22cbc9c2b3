"""Property tests: whatever the buyer says, in any order, the strategy stays inside the seller's rules."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from accorria_agent.negotiation.schemas import (
    ActionKind,
    Intent,
    NegotiationState,
    SellerRules,
    Understanding,
)
from accorria_agent.negotiation.strategy import decide, standing_price

D = Decimal
_PRICE_ACTIONS = {
    ActionKind.COUNTER,
    ActionKind.ACCEPT,
    ActionKind.HOLD,
    ActionKind.DECLINE_LOWBALL,
    ActionKind.ASK_OFFER,
}
_OFFER_INTENTS = {Intent.OFFER, Intent.ACCEPT, Intent.HAGGLE, Intent.PRICE_INQUIRY}
# Price talk is what the strategy is about, so it is drawn more often than the other intents.
_INTENTS = (
    [Intent.OFFER] * 6
    + [Intent.HAGGLE, Intent.PRICE_INQUIRY, Intent.ACCEPT, Intent.REJECT] * 2
    + list(Intent)
)


@st.composite
def seller_rules(draw: st.DrawFn) -> SellerRules:
    asking = draw(st.integers(500, 80_000))
    floor = draw(st.integers(max(1, asking // 2), asking))
    threshold = draw(st.one_of(st.none(), st.integers(floor, asking + asking // 10)))
    return SellerRules(
        asking_price=D(asking),
        price_floor=D(floor),
        auto_accept_threshold=None if threshold is None else D(threshold),
        max_concessions=draw(st.integers(0, 6)),
        escrow_enabled=draw(st.booleans()),
    )


@st.composite
def messages(draw: st.DrawFn, rules: SellerRules) -> list[Understanding]:
    asking = int(rules.asking_price)
    offers = st.one_of(
        st.none(),
        st.integers(0, 2 * asking),  # anything, including zero, lowballs and above asking
        st.integers(int(rules.price_floor) - 100, int(rules.price_floor) + 100),  # around the floor
        st.sampled_from([asking, int(rules.price_floor)]),
    )
    result = []
    for _ in range(draw(st.integers(1, 14))):
        intent = draw(st.sampled_from(_INTENTS))
        others = draw(st.lists(st.sampled_from(list(Intent)), max_size=3))
        offer = draw(offers)
        scam = draw(st.integers(0, 40)) == 0
        result.append(
            Understanding(
                intent=intent,
                intents=(intent, *others),
                offer=None if offer is None else D(offer),
                scam=scam,
            )
        )
    return result


@dataclass
class Step:
    rules: SellerRules
    before: NegotiationState
    said: Understanding
    action: ActionKind
    amount: Decimal | None
    allowed: frozenset[Decimal]
    after: NegotiationState


@st.composite
def conversations(draw: st.DrawFn) -> list[Step]:
    rules = draw(seller_rules())
    state = NegotiationState()
    steps = []
    for said in draw(messages(rules)):
        snapshot = NegotiationState.from_json(state.to_json())
        decision, new_state = decide(rules, state, said)
        assert state == snapshot, "decide must not mutate its input state"
        steps.append(
            Step(rules, state, said, decision.action, decision.amount, decision.allowed_amounts, new_state)
        )
        state = new_state
    return steps


def _offer(step: Step) -> Decimal | None:
    said = step.said
    return said.offer if said.intent in _OFFER_INTENTS and said.offer is not None and said.offer > 0 else None


def _live(step: Step) -> bool:
    """The agent is negotiating (not handed off, no scam, no human request, no deal yet)."""
    return not (
        step.before.handed_off
        or step.said.scam
        or step.said.intent is Intent.HUMAN_REQUEST
        or step.before.agreed_price is not None
    )


@settings(max_examples=250, deadline=None)
@given(conversations())
def test_no_amount_below_the_floor(steps: list[Step]) -> None:
    for s in steps:
        floor = s.rules.price_floor
        if s.action in _PRICE_ACTIONS:
            assert s.amount is not None and s.amount >= floor
        assert all(a >= floor for a in s.allowed)
        assert all(c >= floor for c in s.after.our_counters)
        assert s.after.agreed_price is None or s.after.agreed_price >= floor


@settings(max_examples=250, deadline=None)
@given(conversations())
def test_counters_only_go_down_and_never_below_the_buyers_best_offer(steps: list[Step]) -> None:
    for s in steps:
        counters = s.after.our_counters
        assert all(a > b for a, b in zip(counters, counters[1:], strict=False))
        assert all(c <= s.rules.asking_price for c in counters)
        assert s.after.concessions_used == len(counters) <= s.rules.max_concessions
        if s.action is ActionKind.COUNTER:
            assert s.amount == counters[-1]
            assert s.after.best_offer is None or s.amount >= s.after.best_offer
            assert s.amount < standing_price(s.rules, s.before)


@settings(max_examples=250, deadline=None)
@given(conversations())
def test_accept_iff_justified(steps: list[Step]) -> None:
    for s in steps:
        standing = standing_price(s.rules, s.before)
        offer = _offer(s)
        threshold = s.rules.auto_accept_threshold
        if s.action is ActionKind.ACCEPT:
            assert s.amount is not None and s.amount <= standing  # never more than we quoted
            assert s.after.agreed_price == s.amount
            if s.before.agreed_price is not None:
                assert s.amount == s.before.agreed_price  # confirming the deal, not a new one
            elif offer is None:
                assert s.said.intent is Intent.ACCEPT and s.amount == standing
            else:
                # At/above our price or threshold (at min(offer, standing)), or their number once it
                # reached the counter we would make next.
                assert s.amount == min(offer, standing)
                assert offer >= s.rules.price_floor
        elif _live(s) and offer is not None:
            assert offer < standing and (threshold is None or offer < threshold)
        if (
            _live(s)
            and offer is not None
            and (offer >= standing or (threshold is not None and offer >= threshold))
        ):
            assert s.action is ActionKind.ACCEPT


@settings(max_examples=250, deadline=None)
@given(conversations())
def test_floor_is_stated_only_once_concessions_are_exhausted(steps: list[Step]) -> None:
    for s in steps:
        rules = s.rules
        if rules.price_floor in s.allowed:
            assert (
                rules.price_floor == rules.asking_price
                or s.after.concessions_used >= rules.max_concessions
                or s.after.agreed_price == rules.price_floor  # the buyer's own offer of exactly the floor
            )
        if s.action is ActionKind.COUNTER and _offer(s) is None and s.said.intent is not Intent.REJECT:
            # "What's your lowest?" never gets the floor.
            assert s.amount is not None and s.amount > rules.price_floor


@settings(max_examples=300, deadline=None)
@given(conversations())
def test_handoff_is_sticky_and_scams_are_flagged(steps: list[Step]) -> None:
    for s in steps:
        if s.before.handed_off:
            assert s.action is ActionKind.HANDOFF and s.after.handed_off
        elif s.said.scam:
            assert s.action is ActionKind.WARN_SCAM and s.after.handed_off
        elif s.said.intent is Intent.HUMAN_REQUEST:
            assert s.action is ActionKind.HANDOFF and s.after.handed_off
        assert s.after.turns == s.before.turns + 1


@settings(max_examples=200, deadline=None)
@given(conversations())
def test_number_less_asks_are_no_faster_than_one_step_per_two_asks(steps: list[Step]) -> None:
    # Only number-less asks (no offers, no walk-aways) in a row: concessions ≤ ceil(asks / 2), not
    # counting the closing step that meets the buyer's own earlier offer.
    run = 0
    conceded = 0
    for s in steps:
        if s.said.intent in (Intent.HAGGLE, Intent.PRICE_INQUIRY) and _offer(s) is None and _live(s):
            run += 1
            conceded += s.action is ActionKind.COUNTER and s.amount != s.after.best_offer
            assert conceded <= (run + 1) // 2
        else:
            run = conceded = 0
