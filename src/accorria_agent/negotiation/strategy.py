"""The negotiation strategy: what to do with one understood buyer message, inside the seller's rules.

``decide(rules, state, understood) -> (decision, new_state)`` is pure and deterministic: no I/O, no
clock, no randomness; the input state is never mutated.

Concession curve
----------------
The seller's room is the spread ``S = asking − floor``. Our *k*-th concession (``k = 1 … N`` with
``N = max_concessions``) is the first counter at or above

    target(k) = asking − S · (k / N) ** (1 / β)          with β = ``CURVE_BETA``

β = 2.0 was tuned on the CraigslistBargain replay (docs/negotiation.md). Once number-less questions
stopped earning concessions (issue 14), the old Boulware β = 0.7 closed only 88 % of the real buyers
willing to pay the floor, who mostly make one to three offers and walk; β = 2.0 (with N = 3 the counters
sit at 42 %, 18 % and 0 % of the spread above the floor) closes ≥ 95 % of them and still keeps about
90 % of the zone there (72 % on the synthetic buyers), while questions alone get nothing.

The "time" of the curve is the negotiation round in which we concede, not the wall clock: the strategy
has no clock, and a buyer who answers in a minute and one who answers in a day have negotiated equally
long. Why not split the difference: splitting hands half of every buyer move back, so lowballers (who
move most) win most; the curve is fixed in advance and does not reward an extreme opening.

Pace rules, so that the curve cannot be walked down faster than one step per real buyer move:

* a counter-offer below the floor earns a step only when it is a new best offer (the buyer moved);
* a number-less "can you do better / what's your lowest" earns nothing on the first ask (the standing
  price and an invitation to offer) and at most one step, once, for repeated asking; never the last
  step: the floor is never the answer to a question;
* a buyer offer inside the zone (at or above the floor) earns a step even when repeated: a firm buyer is
  walked to their own number, which is then accepted;
* a walk-away ("no thanks") earns one step per buyer move, the last one (the floor) only when the buyer
  has made a credible (non-lowball) offer;
* the last step (``k = N``) is the floor itself (or the buyer's best offer, if higher) — the only way the
  floor is ever stated.

Counters are rounded *up* to a human step ($50 under $5k, $100 under $20k, …) and then clamped: never
below ``target(k)``, the floor or the buyer's best offer; never at or above our previous counter (a
counter that cannot go down is a hold). An offer that reaches the next counter we would make is
accepted at the buyer's amount; an offer at or above our standing price (last counter, or asking) or
the auto-accept threshold is accepted at ``min(offer, standing price)``: we never charge more than we
quoted, and a number above our quote is far more often a misread than generosity.

Lowballs — offers below 70 % of the floor (for a floor at 80 % of asking: below 56 % of asking) — get
``decline_lowball`` restating the standing price and no concession: conceding to them rewards the
anchor. Offers between that line and the floor are a normal opening and earn curve steps.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from accorria_agent.negotiation.schemas import (
    ActionKind,
    Decision,
    Intent,
    NegotiationState,
    SellerRules,
    Understanding,
)

#: Curve exponent: above 1 concedes more early and less late (1 is linear in rounds, < 1 Boulware).
CURVE_BETA = Decimal("2.0")
#: Escrow fee quoted with an agreement: 0.9 % of the agreed price.
ESCROW_FEE_RATE = Decimal("0.009")
#: Offers below this share of the floor are lowballs (declined, never conceded to).
LOWBALL_FLOOR_RATIO = Decimal("0.70")

_CENT = Decimal("0.01")
# Intents whose number (if the parser found one) is the buyer's price proposal. A number in a
# "reject" message is usually our own counter quoted back ("11,800 is too much"), so it is not one.
_OFFER_INTENTS = frozenset({Intent.OFFER, Intent.ACCEPT, Intent.HAGGLE, Intent.PRICE_INQUIRY})
_PRICE_INTENTS = _OFFER_INTENTS | {Intent.REJECT}
_NOT_ANSWERABLE = _PRICE_INTENTS | {Intent.HUMAN_REQUEST, Intent.OTHER}


def human_step(price: Decimal) -> Decimal:
    """The rounding step a person would use when quoting ``price`` (e.g. $100 for a $12,500 car)."""
    if price < 1000:
        return Decimal(10)
    if price < 5000:
        return Decimal(50)
    if price < 20000:
        return Decimal(100)
    if price < 50000:
        return Decimal(250)
    return Decimal(500)


def curve_target(rules: SellerRules, k: int) -> Decimal:
    """The unrounded price after ``k`` concessions: ``asking − S·(k/N)^(1/β)``; the floor at ``k ≥ N``."""
    n = rules.max_concessions
    if k <= 0 or n == 0:
        return rules.asking_price
    if k >= n:
        return rules.price_floor
    spread = rules.asking_price - rules.price_floor
    fraction = (Decimal(k) / Decimal(n)) ** (Decimal(1) / CURVE_BETA)
    return rules.asking_price - spread * fraction


def lowball_threshold(rules: SellerRules) -> Decimal:
    """Offers strictly below this (70 % of the floor) are lowballs: declined politely, never conceded to."""
    return rules.price_floor * LOWBALL_FLOOR_RATIO


def escrow_fee(price: Decimal) -> Decimal:
    """The escrow fee for an agreed ``price``, exact to the cent (half-up)."""
    return (price * ESCROW_FEE_RATE).quantize(_CENT, rounding=ROUND_HALF_UP)


def standing_price(rules: SellerRules, state: NegotiationState) -> Decimal:
    """The price we currently stand at: the agreed price, else our last counter, else the asking price."""
    if state.agreed_price is not None:
        return state.agreed_price
    return state.last_counter if state.last_counter is not None else rules.asking_price


def next_counter(rules: SellerRules, state: NegotiationState, *, allow_last: bool) -> Decimal | None:
    """The counter our next concession would make, or None when no concession is possible or allowed.

    ``allow_last=False`` refuses the final step when it would state the floor.
    """
    k = state.concessions_used + 1
    n = rules.max_concessions
    floor = rules.price_floor
    best = state.best_offer if state.best_offer is not None else floor
    # The last step is max(floor, best offer): when the buyer's own number is above the floor, it states
    # the buyer's number, not the floor, so it is allowed even where the floor is not.
    if k > n or (k == n and not allow_last and best <= floor):
        return None
    bound = max(curve_target(rules, k), floor, best)
    standing = standing_price(rules, state)
    candidate = bound
    # Round up to a human number, except the exact floor or the buyer's own number: those are quoted
    # as they are. Rounding up keeps us on the seller's side of the curve.
    if k < n and bound != best:
        step = human_step(bound)
        candidate = (bound / step).to_integral_value(rounding=ROUND_CEILING) * step
        if candidate >= standing:  # the round number would not be a concession: quote the exact one
            candidate = bound
    return candidate if candidate < standing else None


def decide(
    rules: SellerRules, state: NegotiationState, understood: Understanding
) -> tuple[Decision, NegotiationState]:
    """Decide the agent's next action for one understood buyer message; return it with the new state."""
    st = replace(state, buyer_offers=list(state.buyer_offers), our_counters=list(state.our_counters))
    st.turns += 1
    also = _also_answer(understood)
    intent = understood.intent

    if st.handed_off:
        return _decision(rules, st, ActionKind.HANDOFF, handoff_reason="already_handed_off"), st
    if understood.scam:
        st.handed_off = True
        return (
            _decision(
                rules,
                st,
                ActionKind.WARN_SCAM,
                handoff_reason="scam",
                scam_reasons=understood.scam_reasons,
            ),
            st,
        )
    if intent is Intent.HUMAN_REQUEST:
        st.handed_off = True
        return _decision(rules, st, ActionKind.HANDOFF, handoff_reason="human_request", also=also), st

    offer = understood.offer if intent in _OFFER_INTENTS and understood.offer is not None else None
    if offer is not None and offer <= 0:
        offer = None  # a zero or negative "price" is a misread, not a proposal
    if st.agreed_price is not None:
        return _after_agreement(rules, st, understood, offer, also), st
    if offer is not None:
        return _on_offer(rules, st, offer, also), st
    if intent is Intent.ACCEPT:
        return _accept(rules, st, standing_price(rules, st), also), st
    if intent in (Intent.HAGGLE, Intent.PRICE_INQUIRY):
        return _on_price_ask(rules, st, also), st
    if intent is Intent.REJECT:
        return _on_reject(rules, st, also), st
    if intent is Intent.SCHEDULE:
        return (
            _decision(
                rules, st, ActionKind.PROPOSE_VIEWING, also=also, proposed_time=understood.proposed_time
            ),
            st,
        )
    return _decision(
        rules, st, ActionKind.ANSWER, also=_with_primary(understood, also), topics=understood.vehicle_topics
    ), st


def _with_primary(understood: Understanding, also: tuple[Intent, ...]) -> tuple[Intent, ...]:
    """For a plain answer the primary intent is the question itself: answer it first, then the others."""
    if understood.intent in _NOT_ANSWERABLE:
        return also
    return (understood.intent, *(i for i in also if i is not understood.intent))


def _on_offer(rules: SellerRules, st: NegotiationState, offer: Decimal, also: tuple[Intent, ...]) -> Decision:
    previous_best = st.best_offer
    standing = standing_price(rules, st)
    st.buyer_offers.append(offer)
    st.best_offer = offer if previous_best is None else max(previous_best, offer)
    moved = previous_best is None or offer > previous_best
    if moved:
        st.walk_away_step_used = False
    threshold = rules.auto_accept_threshold

    if offer >= standing or (threshold is not None and offer >= threshold):
        return _accept(rules, st, min(offer, standing), also, echo=offer)
    if offer < lowball_threshold(rules):
        return _decision(rules, st, ActionKind.DECLINE_LOWBALL, amount=standing, also=also)
    counter = next_counter(rules, st, allow_last=True)
    if counter is not None and offer >= rules.price_floor and offer >= counter:
        # The buyer already reached what we would concede to next: take their number.
        return _accept(rules, st, offer, also, echo=offer)
    if counter is not None and (moved or offer >= rules.price_floor):
        # Below the floor a buyer must move to earn a step; inside the zone a firm buyer is met one curve
        # step per message, which ends at their own number (accepted above) rather than a lost deal.
        return _concede(rules, st, counter, also, echo=offer)
    return _decision(rules, st, ActionKind.HOLD, amount=standing, also=also, echo=offer)


def _on_price_ask(rules: SellerRules, st: NegotiationState, also: tuple[Intent, ...]) -> Decision:
    # A question is not a bargaining move: "what's your lowest?" / "best price?" / "can you go lower?"
    # with no number gets the standing price and an invitation to offer. Only a buyer who keeps asking
    # earns one step (the next one on the curve), once per negotiation; the floor is never the answer.
    st.lowest_price_asks += 1
    st.asks_since_concession += 1
    counter = next_counter(rules, st, allow_last=False)
    # Meeting the buyer's own (in-zone) best offer ends the haggling without telling them anything new,
    # so it does not count as the one step.
    closing = counter is not None and counter == st.best_offer
    repeated = st.asks_since_concession >= 2 and st.ask_steps_used == 0
    if counter is not None and (closing or repeated):
        if not closing:
            st.ask_steps_used += 1
        return _concede(rules, st, counter, also)
    return _decision(rules, st, ActionKind.ASK_OFFER, amount=standing_price(rules, st), also=also)


def _on_reject(rules: SellerRules, st: NegotiationState, also: tuple[Intent, ...]) -> Decision:
    # One step along the curve per buyer move, so that a walk-away is met the way a person would ("I
    # could do X"). It may be the last step (the floor or the buyer's best offer) only for a buyer who
    # made a credible offer: a number-less "no thanks" is never answered with the floor.
    credible = st.best_offer is not None and st.best_offer >= lowball_threshold(rules)
    if not st.walk_away_step_used:
        counter = next_counter(rules, st, allow_last=credible)
        if counter is not None:
            st.walk_away_step_used = True
            return _concede(rules, st, counter, also)
    return _decision(rules, st, ActionKind.HOLD, amount=standing_price(rules, st), also=also)


def _after_agreement(
    rules: SellerRules,
    st: NegotiationState,
    understood: Understanding,
    offer: Decimal | None,
    also: tuple[Intent, ...],
) -> Decision:
    agreed = st.agreed_price
    assert agreed is not None
    if understood.intent is Intent.ACCEPT and (offer is None or offer >= agreed):
        return _accept(rules, st, agreed, also)
    if understood.intent in _PRICE_INTENTS:
        # A deal is a deal: no renegotiation downwards, and no new concession.
        return _decision(rules, st, ActionKind.HOLD, amount=agreed, also=also)
    if understood.intent is Intent.SCHEDULE:
        return _decision(
            rules,
            st,
            ActionKind.PROPOSE_VIEWING,
            also=also,
            proposed_time=understood.proposed_time,
            next_steps=_next_steps(rules),
            fee=escrow_fee(agreed) if rules.escrow_enabled else None,
        )
    return _decision(
        rules, st, ActionKind.ANSWER, also=_with_primary(understood, also), topics=understood.vehicle_topics
    )


def _concede(
    rules: SellerRules,
    st: NegotiationState,
    counter: Decimal,
    also: tuple[Intent, ...],
    echo: Decimal | None = None,
) -> Decision:
    st.our_counters.append(counter)
    st.concessions_used += 1
    st.asks_since_concession = 0
    return _decision(rules, st, ActionKind.COUNTER, amount=counter, also=also, echo=echo)


def _accept(
    rules: SellerRules,
    st: NegotiationState,
    price: Decimal,
    also: tuple[Intent, ...],
    echo: Decimal | None = None,
) -> Decision:
    st.agreed_price = price
    return _decision(
        rules,
        st,
        ActionKind.ACCEPT,
        amount=price,
        also=also,
        echo=echo,
        next_steps=_next_steps(rules),
        fee=escrow_fee(price) if rules.escrow_enabled else None,
    )


def _next_steps(rules: SellerRules) -> tuple[str, ...]:
    return ("viewing", "escrow") if rules.escrow_enabled else ("viewing",)


def _also_answer(understood: Understanding) -> tuple[Intent, ...]:
    """The secondary intents the reply should also address, in reply-priority order."""
    return tuple(
        i
        for i in dict.fromkeys(understood.intents)
        if i is not understood.intent and i not in _NOT_ANSWERABLE
    )


def _decision(
    rules: SellerRules,
    st: NegotiationState,
    action: ActionKind,
    *,
    amount: Decimal | None = None,
    also: tuple[Intent, ...] = (),
    echo: Decimal | None = None,
    handoff_reason: str | None = None,
    scam_reasons: tuple[str, ...] = (),
    topics: tuple[str, ...] = (),
    proposed_time: datetime | None = None,
    next_steps: tuple[str, ...] = (),
    fee: Decimal | None = None,
) -> Decision:
    return Decision(
        action=action,
        amount=amount,
        allowed_amounts=allowed_amounts(rules, st, amount, echo),
        also_answer=also,
        vehicle_topics=topics,
        handoff_reason=handoff_reason,
        scam_reasons=scam_reasons,
        next_steps=next_steps,
        proposed_time=proposed_time,
        fee_amount=fee,
    )


def allowed_amounts(
    rules: SellerRules, st: NegotiationState, amount: Decimal | None, echo: Decimal | None = None
) -> frozenset[Decimal]:
    """The prices a reply may state after this decision (see ``Decision``).

    The buyer's own number is echoed only when strictly above the floor: a lowball is never repeated
    back (it would anchor the conversation on it), and echoing a buyer's "11,000" when that happens to
    be the floor would confirm the floor. The floor is admitted only as the final counter, as an
    accepted price, or when it is the asking price; everything below it is dropped unconditionally, as
    a last line of defence for the guard.
    """
    floor = rules.price_floor
    candidates = {rules.asking_price, st.last_counter, st.agreed_price, amount}
    if echo is not None and echo > floor:
        candidates.add(echo)
    floor_ok = (
        floor == rules.asking_price
        or st.agreed_price == floor
        or (st.last_counter == floor and st.concessions_used >= rules.max_concessions)
    )
    return frozenset(x for x in candidates if x is not None and (x > floor or (x == floor and floor_ok)))
