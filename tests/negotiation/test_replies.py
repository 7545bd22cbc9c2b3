"""Template replies: content per action, no invented facts, variation; every template passes the guard."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accorria_agent.negotiation import templates as t
from accorria_agent.negotiation.guard import MAX_REPLY_CHARS, check_reply, escrow_fee, find_amounts
from accorria_agent.negotiation.replies import QUICK_REPLIES, format_money, format_time, render_template
from accorria_agent.negotiation.schemas import (
    ActionKind,
    Decision,
    Intent,
    ListingFacts,
    SellerRules,
    Tone,
)

D = Decimal
RULES = SellerRules(asking_price=D(12500), price_floor=D(11000))
ALLOWED = frozenset({D(12500), D(11800)})
LISTING = ListingFacts(
    listing_id=7,
    year=2018,
    make="Honda",
    model="Civic",
    trim="EX",
    mileage=45000,
    features=("Apple CarPlay", "backup camera", "All-weather floor mats", "360 camera"),
    photos=("https://cdn.example/1.jpg", "https://cdn.example/2.jpg"),
    location="Detroit, MI 48201",
    details={"title": "clean", "accidents": "none", "owners": "2", "recent_work": "brakes, $600"},
)
BARE = ListingFacts(listing_id=8, year=2012, make="Ford", model="Focus")
EMOJI_RE = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]")


def render(
    decision: Decision, listing: ListingFacts = LISTING, tone: Tone = Tone.FRIENDLY, seed: int = 0
) -> str:
    return render_template(decision, listing, tone, seed).text


def stated(text: str, listing: ListingFacts = LISTING) -> set[Decimal]:
    names = (listing.model, listing.trim or "")
    return {m.value for m in find_amounts(text, listing_year=listing.year, names=names)}


def test_quick_replies_fit_messenger() -> None:
    assert set(QUICK_REPLIES) == {
        "MAKE_OFFER",
        "SCHEDULE_TEST_DRIVE",
        "TALK_TO_SELLER",
        "VIEW_DETAILS",
        "START_ESCROW",
    }
    assert all(0 < len(title) <= 20 for title in QUICK_REPLIES.values())


def test_money_and_time_formats() -> None:
    assert format_money(D(11800)) == "$11,800"
    assert format_money(D("106.20")) == "$106.20"
    assert format_time(datetime(2025, 5, 3, 14, 30)) == "Saturday, May 3 at 2:30 PM"
    assert format_time(datetime(2025, 5, 3, 10, 0)) == "Saturday, May 3 at 10 AM"


@pytest.mark.parametrize("tone", list(Tone))
def test_counter_states_the_counter_and_names_the_car(tone: Tone) -> None:
    for seed in range(12):
        text = render(
            Decision(ActionKind.COUNTER, amount=D(11800), allowed_amounts=ALLOWED), tone=tone, seed=seed
        )
        assert "$11,800" in text
        assert "Civic" in text
        assert stated(text) == {D(11800)}


def test_accept_confirms_price_next_steps_and_escrow_fee() -> None:
    decision = Decision(
        ActionKind.ACCEPT, amount=D(11800), allowed_amounts=ALLOWED, next_steps=("viewing", "escrow"),
        fee_amount=escrow_fee(D(11800)), proposed_time=datetime(2025, 5, 3, 14, 0),
    )  # fmt: skip
    for tone in Tone:
        reply = render_template(decision, LISTING, tone, 3)
        assert "$11,800" in reply.text and "$106.20" in reply.text and "0.9 %" in reply.text
        assert "Accorria escrow" in reply.text and "Saturday, May 3 at 2 PM" in reply.text
        assert ("START_ESCROW", "Use Accorria escrow") in reply.quick_replies
        assert len(reply.text) <= 200


def test_accept_without_escrow_does_not_mention_it() -> None:
    decision = Decision(ActionKind.ACCEPT, amount=D(11800), allowed_amounts=ALLOWED, next_steps=("viewing",))
    reply = render_template(decision, LISTING, Tone.PROFESSIONAL, 1)
    assert "escrow" not in reply.text.lower()
    assert "test drive" in reply.text
    assert all(p != "START_ESCROW" for p, _ in reply.quick_replies)


def test_decline_restates_the_allowed_amount() -> None:
    decision = Decision(ActionKind.DECLINE_LOWBALL, amount=D(12500), allowed_amounts=ALLOWED)
    for seed in range(8):
        text = render(decision, seed=seed)
        assert stated(text) == {D(12500)}
    # No amount given: the highest allowed amount is restated (never one that hints at concessions).
    no_amount = Decision(ActionKind.DECLINE_LOWBALL, allowed_amounts=ALLOWED)
    assert stated(render(no_amount)) == {D(12500)}


def test_an_amount_outside_allowed_amounts_is_never_rendered() -> None:
    for action in (
        ActionKind.COUNTER,
        ActionKind.ACCEPT,
        ActionKind.HOLD,
        ActionKind.ASK_OFFER,
        ActionKind.ANSWER,
    ):
        decision = Decision(action, amount=D(9000), allowed_amounts=ALLOWED)
        for tone in Tone:
            assert D(9000) not in stated(render(decision, tone=tone))


def test_ask_offer_invites_an_offer() -> None:
    reply = render_template(Decision(ActionKind.ASK_OFFER), LISTING, Tone.CASUAL, 0)
    assert "offer" in reply.text.lower() or "number" in reply.text.lower() or "thinking" in reply.text.lower()
    assert ("MAKE_OFFER", "Make an offer") in reply.quick_replies


def test_handoff_says_a_person_will_reply() -> None:
    decision = Decision(ActionKind.HANDOFF, also_answer=(Intent.LOCATION,))
    for tone in Tone:
        for seed in range(6):
            text = render(decision, tone=tone, seed=seed)
            assert "seller" in text and "soon" in text
            assert "Detroit" not in text


def test_scam_warning_is_polite_and_gives_nothing_away() -> None:
    decision = Decision(
        ActionKind.WARN_SCAM,
        scam_reasons=("verification_code",),
        also_answer=(Intent.LOCATION, Intent.AVAILABILITY),
    )
    for tone in Tone:
        for seed in range(6):
            text = render(decision, tone=tone, seed=seed).lower()
            assert "seller" in text and "follow up" in text
            assert not re.search(r"scam|fraud|suspicious|lying|fake", text)
            assert "detroit" not in text and not re.search(r"\d", text)


def test_availability_location_and_known_facts() -> None:
    decision = Decision(
        ActionKind.ANSWER,
        also_answer=(Intent.AVAILABILITY, Intent.LOCATION, Intent.VEHICLE_QUESTION),
        vehicle_topics=("mileage", "features", "title", "accidents", "owners", "trim", "photos"),
    )
    text = render(decision, tone=Tone.PROFESSIONAL)
    assert "still available" in text
    assert "Detroit, MI" in text and "48201" not in text  # zip codes dropped: they read like prices
    assert "45,000 miles" in text
    assert "Apple CarPlay" in text and "backup camera" in text
    assert "floor mats" not in text and "360" not in text  # facts the guard would trip on are left out
    assert "The title is clean." in text and "Accident history: none." in text and "Owners: 2." in text
    assert "EX trim" in text and "2 photos" in text
    assert check_reply(text, decision, RULES, listing=LISTING).ok


def test_unknown_facts_are_referred_to_the_seller_not_invented() -> None:
    decision = Decision(
        ActionKind.ANSWER,
        also_answer=(Intent.VEHICLE_QUESTION, Intent.LOCATION),
        vehicle_topics=("mileage", "rust", "recent_work"),
    )
    text = render(decision, listing=BARE)
    assert "ask the seller" in text and "rust" in text
    assert "mileage" in text  # BARE has no mileage: asked, not made up
    assert "miles." not in text
    assert "ask the seller to share the exact location" in text
    # A detail containing a price is not repeated (it could contradict the decision).
    assert "$600" not in render(decision)


def test_no_amount_answer_and_greeting() -> None:
    text = render(Decision(ActionKind.ANSWER, also_answer=(Intent.GREETING,)), tone=Tone.CASUAL)
    assert text.startswith("Hey")
    assert "know" in text


def test_variation_is_deterministic_and_real() -> None:
    decision = Decision(ActionKind.COUNTER, amount=D(11800), allowed_amounts=ALLOWED)
    assert render(decision, seed=42) == render(decision, seed=42)
    texts = {render(decision, seed=s) for s in range(30)}
    assert len(texts) >= 3
    with_emoji = [x for x in texts if EMOJI_RE.search(x)]
    assert 0 < len(with_emoji) < len(texts)  # emojis sometimes, not always


def test_professional_never_uses_emojis_and_others_at_most_one() -> None:
    for action in ActionKind:
        decision = _decision_for(action, also=(Intent.GREETING, Intent.AVAILABILITY))
        for tone in Tone:
            for seed in range(20):
                count = len(EMOJI_RE.findall(render(decision, tone=tone, seed=seed)))
                assert count <= (0 if tone is Tone.PROFESSIONAL else 1)


# --------------------------------------------------------------------------- every template passes the guard

KEY_ACTION = {
    "counter": ActionKind.COUNTER, "accept": ActionKind.ACCEPT, "accept_no_amount": ActionKind.ACCEPT,
    "hold": ActionKind.HOLD, "hold_no_amount": ActionKind.HOLD, "decline": ActionKind.DECLINE_LOWBALL,
    "decline_no_amount": ActionKind.DECLINE_LOWBALL, "ask_offer": ActionKind.ASK_OFFER,
    "ask_offer_priced": ActionKind.ASK_OFFER, "ask_offer_standing": ActionKind.ASK_OFFER,
    "price": ActionKind.ANSWER, "answer": ActionKind.ANSWER,
    "answer_empty": ActionKind.ANSWER, "viewing_time": ActionKind.PROPOSE_VIEWING,
    "viewing": ActionKind.PROPOSE_VIEWING, "handoff": ActionKind.HANDOFF, "scam": ActionKind.WARN_SCAM,
}  # fmt: skip
VALUES = {
    "name": "2018 Honda Civic EX", "short": "Honda Civic", "amount": "$11,800", "fee": "$106.20",
    "time": "Saturday, May 3 at 2 PM", "location": "Detroit, MI", "topics": "rust and tires",
}  # fmt: skip


def test_template_table_is_complete() -> None:
    assert set(t.ACTION) == set(KEY_ACTION)
    for table in (t.ACTION, t.EXTRA):
        for key, by_tone in table.items():
            assert set(by_tone) == set(Tone), key
            assert all(len(v) >= 1 for v in by_tone.values())
    for action in ActionKind:
        assert action in KEY_ACTION.values()
    # Several variants for the main actions in every tone.
    for key in ("counter", "accept", "hold", "decline", "ask_offer", "handoff", "scam"):
        assert all(len(t.ACTION[key][tone]) >= 2 for tone in Tone), key


@pytest.mark.parametrize("key", sorted(KEY_ACTION))
@pytest.mark.parametrize("tone", list(Tone))
def test_every_action_variant_passes_the_guard(key: str, tone: Tone) -> None:
    action = KEY_ACTION[key]
    amount = D(11800) if "{amount}" in "".join(t.ACTION[key][tone]) else None
    decision = Decision(action, amount=amount, allowed_amounts=ALLOWED)
    for variant in t.ACTION[key][tone]:
        text = variant.format(**VALUES)
        verdict = check_reply(text, decision, RULES, listing=LISTING)
        assert verdict.ok, (key, tone, text, verdict.reasons)
        assert len(text) <= 200
        if tone is Tone.PROFESSIONAL:
            assert not EMOJI_RE.search(text)


@pytest.mark.parametrize("key", sorted(t.EXTRA))
def test_every_extra_sentence_is_action_neutral(key: str) -> None:
    # Extras are appended to any action, so they may neither accept nor reject, nor state prices.
    fee_only = Decision(ActionKind.ACCEPT, next_steps=("escrow",), fee_amount=D("106.20"))
    for tone in Tone:
        for variant in t.EXTRA[key][tone]:
            text = variant.format(**VALUES)
            assert not EMOJI_RE.search(text), text
            for decision in (Decision(ActionKind.COUNTER, fee_amount=D("106.20")), fee_only):
                verdict = check_reply(text, decision, RULES, listing=LISTING)
                assert verdict.ok, (key, text, verdict.reasons)


def _decision_for(
    action: ActionKind,
    also: tuple[Intent, ...] = (),
    topics: tuple[str, ...] = (),
    when: datetime | None = None,
) -> Decision:
    amount = {ActionKind.COUNTER: D(11800), ActionKind.ACCEPT: D(11800), ActionKind.HOLD: D(11800),
              ActionKind.DECLINE_LOWBALL: D(12500), ActionKind.ASK_OFFER: D(12500)}.get(action)  # fmt: skip
    escrow = action is ActionKind.ACCEPT
    return Decision(
        action, amount=amount, allowed_amounts=ALLOWED, also_answer=also, vehicle_topics=topics,
        next_steps=("viewing", "escrow") if escrow else (), proposed_time=when,
        fee_amount=escrow_fee(D(11800)) if escrow else None,
    )  # fmt: skip


@pytest.mark.parametrize("action", list(ActionKind))
@pytest.mark.parametrize("tone", list(Tone))
def test_every_rendered_reply_passes_the_guard(action: ActionKind, tone: Tone) -> None:
    alsos: list[tuple[Intent, ...]] = [(), (Intent.GREETING,), (Intent.THANKS, Intent.AVAILABILITY),
                                       tuple(Intent)]  # fmt: skip
    for seed in range(24):
        for also in alsos:
            for when in (None, datetime(2025, 5, 3, 18, 15)):
                decision = _decision_for(action, also, ("mileage", "rust", "title", "general"), when)
                for listing in (LISTING, BARE):
                    text = render(decision, listing, tone, seed)
                    verdict = check_reply(text, decision, RULES, listing=listing)
                    assert verdict.ok, (text, verdict.reasons)
                    assert 0 < len(text) <= MAX_REPLY_CHARS


_topics = st.sampled_from(
    "mileage features trim year photos title accidents owners color rust vin general warning_lights "
    "warranty tires".split()
)
_fact_text = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "Zs", "So")), max_size=40
)


DETAIL_KEYS = ["title", "accidents", "owners", "color", "tires", "warranty"]


@st.composite
def random_case(draw: st.DrawFn) -> tuple[Decision, ListingFacts, SellerRules]:
    floor = draw(st.integers(min_value=1000, max_value=80000))
    asking = floor + draw(st.integers(min_value=0, max_value=30000))
    rules = SellerRules(asking_price=D(asking), price_floor=D(floor))
    allowed = {asking, *draw(st.lists(st.integers(min_value=floor, max_value=asking), max_size=3))}
    action = draw(st.sampled_from(list(ActionKind)))
    amount = draw(st.sampled_from([None, *sorted(allowed)]))
    escrow = action is ActionKind.ACCEPT and amount is not None and draw(st.booleans())
    decision = Decision(
        action, amount=None if amount is None else D(amount), allowed_amounts=frozenset(map(D, allowed)),
        also_answer=tuple(draw(st.lists(st.sampled_from(list(Intent)), max_size=5))),
        vehicle_topics=tuple(draw(st.lists(_topics, max_size=5))),
        next_steps=("viewing", "escrow") if escrow else draw(st.sampled_from([(), ("viewing",)])),
        fee_amount=escrow_fee(D(amount)) if escrow and amount is not None else None,
        proposed_time=draw(st.none() | st.datetimes(datetime(2024, 1, 1), datetime(2030, 1, 1))),
        quick_replies=tuple(draw(st.lists(st.sampled_from([*QUICK_REPLIES, "BOGUS"]), max_size=3))),
    )  # fmt: skip
    listing = ListingFacts(
        listing_id=1, year=draw(st.integers(1950, 2030)),
        make=draw(st.sampled_from(["Honda", "Toyota", "BMW"])),
        model=draw(st.sampled_from(["Civic", "Camry", "X5", "F-150", "Silverado 1500", "CX-5", "Model 3"])),
        trim=draw(st.none() | st.sampled_from(["EX", "LE", "xDrive40i", "2500 HD", "300"])),
        mileage=draw(st.none() | st.integers(0, 400000)),
        features=tuple(draw(st.lists(_fact_text, max_size=4))),
        photos=tuple(draw(st.lists(st.just("https://cdn.example/p.jpg"), max_size=3))),
        location=draw(st.none() | _fact_text),
        details=draw(st.dictionaries(st.sampled_from(DETAIL_KEYS), _fact_text, max_size=4)),
        description=draw(st.none() | _fact_text),
    )  # fmt: skip
    return decision, listing, rules


@settings(max_examples=400, deadline=None)
@given(case=random_case(), tone=st.sampled_from(list(Tone)), seed=st.integers())
def test_random_decisions_and_listings_always_pass_the_guard(
    case: tuple[Decision, ListingFacts, SellerRules], tone: Tone, seed: int
) -> None:
    decision, listing, rules = case
    reply = render_template(decision, listing, tone, seed)
    verdict = check_reply(reply.text, decision, rules, listing=listing)
    assert verdict.ok, (reply.text, verdict.reasons)
    assert 0 < len(reply.text) <= MAX_REPLY_CHARS
    assert all(p in QUICK_REPLIES and QUICK_REPLIES[p] == title for p, title in reply.quick_replies)
    assert stated(reply.text, listing) <= set(decision.allowed_amounts) | {decision.fee_amount}
