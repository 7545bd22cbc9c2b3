"""Example tests for the negotiation strategy (``decide``)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from accorria_agent.negotiation.schemas import (
    ActionKind,
    Intent,
    NegotiationState,
    SellerRules,
    Understanding,
)
from accorria_agent.negotiation.strategy import curve_target, decide, escrow_fee, lowball_threshold

D = Decimal
RULES = SellerRules(asking_price=D(12500), price_floor=D(11000))


def said(intent: Intent, offer: int | None = None, *others: Intent, **kw: object) -> Understanding:
    """An ``Understanding`` as the parser would return it for one message."""
    return Understanding(
        intent=intent,
        intents=(intent, *others),
        offer=None if offer is None else D(offer),
        **kw,  # type: ignore[arg-type]
    )


def test_lowball_9k_on_12500_gets_a_counter_above_the_floor() -> None:
    decision, state = decide(RULES, NegotiationState(), said(Intent.OFFER, 9000))
    assert decision.action is ActionKind.COUNTER
    assert decision.amount is not None and D(11000) < decision.amount < D(12500)
    assert decision.amount % 100 == 0  # a human number
    assert state.our_counters == [decision.amount] and state.concessions_used == 1
    assert state.buyer_offers == [D(9000)] and state.best_offer == D(9000)
    # 9,000 is below the floor: never echoed, and the floor is not revealed.
    assert decision.allowed_amounts == frozenset({D(12500), decision.amount})


def test_offer_matching_our_counter_is_accepted_with_viewing_and_escrow() -> None:
    state = NegotiationState(
        buyer_offers=[D(9000)], our_counters=[D(11800)], concessions_used=1, best_offer=D(9000)
    )
    decision, after = decide(RULES, state, said(Intent.OFFER, 11800))
    assert decision.action is ActionKind.ACCEPT and decision.amount == D(11800)
    assert decision.next_steps == ("viewing", "escrow")
    assert decision.fee_amount == D("106.20")
    assert D(11800) in decision.allowed_amounts and decision.fee_amount not in decision.allowed_amounts
    assert after.agreed_price == D(11800)


def test_full_flow_9k_then_meeting_our_counter() -> None:
    first, state = decide(RULES, NegotiationState(), said(Intent.OFFER, 9000))
    assert first.amount is not None
    second, state = decide(RULES, state, said(Intent.ACCEPT, int(first.amount)))
    assert second.action is ActionKind.ACCEPT and second.amount == first.amount
    assert state.agreed_price == first.amount


def test_input_state_is_not_mutated() -> None:
    state = NegotiationState()
    decide(RULES, state, said(Intent.OFFER, 9000))
    assert state == NegotiationState()


def test_lowball_far_under_floor_is_declined_without_concession() -> None:
    assert lowball_threshold(RULES) == D(7700)
    decision, state = decide(RULES, NegotiationState(), said(Intent.OFFER, 5000))
    assert decision.action is ActionKind.DECLINE_LOWBALL and decision.amount == D(12500)
    assert state.concessions_used == 0 and state.our_counters == []
    assert D(5000) not in decision.allowed_amounts


def test_buyer_walked_down_to_floor_only_on_the_last_concession() -> None:
    state = NegotiationState()
    amounts: list[Decimal] = []
    for offer in (8000, 8500, 9000, 9500):
        decision, state = decide(RULES, state, said(Intent.OFFER, offer))
        assert decision.amount is not None
        amounts.append(decision.amount)
        if state.concessions_used < RULES.max_concessions:
            assert RULES.price_floor not in decision.allowed_amounts
    assert amounts[:3] == sorted(amounts[:3], reverse=True)
    assert amounts[2] == D(11000)  # third concession of three: the floor, stated once concessions are used up
    assert decision.action is ActionKind.HOLD and decision.amount == D(11000)  # no fourth concession


def test_repeated_lowest_price_asks_never_reach_the_floor() -> None:
    state = NegotiationState()
    actions = []
    for _ in range(12):
        decision, state = decide(RULES, state, said(Intent.PRICE_INQUIRY))
        actions.append(decision.action)
        assert decision.amount is not None and decision.amount > RULES.price_floor
        assert RULES.price_floor not in decision.allowed_amounts
    # A question alone earns nothing; repeated asking earns one step, once, and never the floor.
    ask, counter = ActionKind.ASK_OFFER, ActionKind.COUNTER
    assert actions[:4] == [ask, counter, ask, ask]
    assert actions.count(ActionKind.COUNTER) == 1
    assert state.concessions_used == 1
    assert state.lowest_price_asks == 12


def test_first_price_question_gets_the_standing_price_and_an_invitation() -> None:
    decision, state = decide(RULES, NegotiationState(), said(Intent.PRICE_INQUIRY))
    assert decision.action is ActionKind.ASK_OFFER and decision.amount == RULES.asking_price
    assert state.concessions_used == 0
    # After a counter, the question is answered with that counter (the standing price), not a new step.
    _, state = decide(RULES, NegotiationState(), said(Intent.OFFER, 10000))
    decision, state2 = decide(RULES, state, said(Intent.HAGGLE))
    assert decision.action is ActionKind.ASK_OFFER and decision.amount == state.our_counters[-1]
    assert state2.concessions_used == state.concessions_used


def test_counters_follow_the_tuned_curve() -> None:
    # β = 2 (tuned on the real-buyer replay): the first step is the biggest, later ones smaller.
    t1, t2, t3 = (curve_target(RULES, k) for k in (1, 2, 3))
    assert RULES.asking_price - t1 > t1 - t2 > 0 and t2 - t3 > 0
    assert RULES.price_floor < t3 + 1 and t2 > t3
    assert t3 == RULES.price_floor


def test_accept_without_amount_after_our_counter_accepts_last_counter() -> None:
    _, state = decide(RULES, NegotiationState(), said(Intent.OFFER, 10000))
    decision, state = decide(RULES, state, said(Intent.ACCEPT))
    assert decision.action is ActionKind.ACCEPT and decision.amount == state.our_counters[-1]


def test_offer_above_asking_is_accepted_at_asking() -> None:
    decision, state = decide(RULES, NegotiationState(), said(Intent.OFFER, 13000))
    assert decision.action is ActionKind.ACCEPT and decision.amount == D(12500)
    assert D(13000) in decision.allowed_amounts  # the buyer's own number may be quoted back


def test_auto_accept_threshold() -> None:
    rules = SellerRules(asking_price=D(12500), price_floor=D(11000), auto_accept_threshold=D(12000))
    decision, _ = decide(rules, NegotiationState(), said(Intent.OFFER, 12100))
    assert decision.action is ActionKind.ACCEPT and decision.amount == D(12100)


def test_escrow_disabled_offers_viewing_only() -> None:
    rules = SellerRules(asking_price=D(12500), price_floor=D(11000), escrow_enabled=False)
    decision, _ = decide(rules, NegotiationState(), said(Intent.OFFER, 12500))
    assert decision.next_steps == ("viewing",) and decision.fee_amount is None


def test_in_zone_offer_reaching_next_counter_is_accepted_at_buyers_amount() -> None:
    state = NegotiationState(
        our_counters=[D(12200)], concessions_used=1, buyer_offers=[D(10000)], best_offer=D(10000)
    )
    # Next counter (step 2 of 3) is about 11,700; an offer of 11,900 is already above it.
    decision, _ = decide(RULES, state, said(Intent.OFFER, 11900))
    assert decision.action is ActionKind.ACCEPT and decision.amount == D(11900)


def test_scam_warns_and_hands_off() -> None:
    decision, state = decide(
        RULES, NegotiationState(), said(Intent.PAYMENT, scam=True, scam_reasons=("overpayment",))
    )
    assert decision.action is ActionKind.WARN_SCAM and decision.handoff_reason == "scam"
    assert decision.scam_reasons == ("overpayment",) and state.handed_off
    again, _ = decide(RULES, state, said(Intent.OFFER, 12500))
    assert again.action is ActionKind.HANDOFF  # the seller has it now: no more deals by the agent


def test_human_request_hands_off() -> None:
    decision, state = decide(RULES, NegotiationState(), said(Intent.HUMAN_REQUEST))
    assert decision.action is ActionKind.HANDOFF and decision.handoff_reason == "human_request"
    assert state.handed_off


def test_offer_with_availability_question_keeps_the_question() -> None:
    decision, _ = decide(
        RULES, NegotiationState(), said(Intent.OFFER, 10000, Intent.AVAILABILITY, Intent.GREETING)
    )
    assert decision.action is ActionKind.COUNTER
    assert decision.also_answer == (Intent.AVAILABILITY, Intent.GREETING)


def test_non_price_question_is_answered() -> None:
    u = said(Intent.VEHICLE_QUESTION, None, Intent.LOCATION, vehicle_topics=("mileage",))
    decision, state = decide(RULES, NegotiationState(), u)
    # The question itself comes first in what to answer, then the others.
    assert decision.action is ActionKind.ANSWER
    assert decision.also_answer == (Intent.VEHICLE_QUESTION, Intent.LOCATION)
    assert decision.vehicle_topics == ("mileage",) and decision.allowed_amounts == frozenset({D(12500)})
    assert state.turns == 1


def test_schedule_proposes_viewing_at_the_time() -> None:
    when = datetime(2026, 11, 28, 15, tzinfo=UTC)
    decision, _ = decide(RULES, NegotiationState(), said(Intent.SCHEDULE, proposed_time=when))
    assert decision.action is ActionKind.PROPOSE_VIEWING and decision.proposed_time == when


def test_walk_away_gets_one_step_then_holds() -> None:
    _, state = decide(RULES, NegotiationState(), said(Intent.OFFER, 10000))
    first, state = decide(RULES, state, said(Intent.REJECT))
    assert first.action is ActionKind.COUNTER and state.concessions_used == 2
    second, state = decide(RULES, state, said(Intent.REJECT))
    assert second.action is ActionKind.HOLD and second.amount == first.amount


def test_reject_quoting_our_counter_is_not_an_offer() -> None:
    _, state = decide(RULES, NegotiationState(), said(Intent.OFFER, 10000))
    decision, after = decide(RULES, state, said(Intent.REJECT, 12300))
    assert after.buyer_offers == [D(10000)] and decision.action is not ActionKind.ACCEPT


def test_after_agreement_no_renegotiation() -> None:
    _, state = decide(RULES, NegotiationState(), said(Intent.OFFER, 12500))
    decision, state = decide(RULES, state, said(Intent.OFFER, 11000))
    assert decision.action is ActionKind.HOLD and decision.amount == D(12500)
    assert state.agreed_price == D(12500)


def test_no_concessions_allowed_holds_at_asking() -> None:
    rules = SellerRules(asking_price=D(12500), price_floor=D(11000), max_concessions=0)
    decision, state = decide(rules, NegotiationState(), said(Intent.OFFER, 11500))
    assert decision.action is ActionKind.HOLD and decision.amount == D(12500) and state.our_counters == []


@pytest.mark.parametrize(
    ("price", "fee"), [(D(11800), D("106.20")), (D(4321), D("38.89")), (D(999), D("8.99"))]
)
def test_escrow_fee_is_exact_to_the_cent(price: Decimal, fee: Decimal) -> None:
    assert escrow_fee(price) == fee


def test_state_json_round_trip_keeps_new_fields() -> None:
    _, state = decide(RULES, NegotiationState(), said(Intent.PRICE_INQUIRY))
    _, state = decide(RULES, state, said(Intent.PRICE_INQUIRY))
    assert NegotiationState.from_json(state.to_json()) == state
