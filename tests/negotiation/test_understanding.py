"""Behaviour of ``understand``: intents and their boundaries, scams, proposed times, topics, hostile input."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accorria_agent.negotiation.lexicon import VEHICLE_TOPICS
from accorria_agent.negotiation.schemas import INTENT_PRIORITY, Intent
from accorria_agent.negotiation.understanding import understand

DETROIT = ZoneInfo("America/Detroit")
# Wednesday 15 May 2024, noon in Detroit.
SENT = datetime(2024, 5, 15, 12, 0, tzinfo=DETROIT)
ASK = Decimal(8500)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Is this still available?", Intent.AVAILABILITY),
        ("is it still availible", Intent.AVAILABILITY),
        ("can you go lower?", Intent.HAGGLE),
        ("meet me in the middle?", Intent.HAGGLE),
        ("that's too much", Intent.HAGGLE),
        ("what's your lowest?", Intent.PRICE_INQUIRY),
        ("best price?", Intent.PRICE_INQUIRY),
        ("is the price negotiable?", Intent.PRICE_INQUIRY),
        ("Deal!", Intent.ACCEPT),
        ("sounds good, I'll take it", Intent.ACCEPT),
        ("no thanks, I'll pass", Intent.REJECT),
        ("Can I see it tomorrow?", Intent.SCHEDULE),
        ("Can I pay with cashier's check?", Intent.PAYMENT),
        ("do you take zelle", Intent.PAYMENT),
        ("would you take a trade?", Intent.TRADE_IN),
        ("what's the millage", Intent.VEHICLE_QUESTION),
        ("Where are you located?", Intent.LOCATION),
        ("are you a bot?", Intent.HUMAN_REQUEST),
        ("hello", Intent.GREETING),
        ("thank you!", Intent.THANKS),
        ("ok", Intent.OTHER),
        ("👍", Intent.OTHER),
        ("hola, sigue disponible?", Intent.AVAILABILITY),
        ("¿Cuál es su último precio?", Intent.PRICE_INQUIRY),
        ("¿Acepta Zelle?", Intent.PAYMENT),
        ("¿Dónde está ubicado?", Intent.LOCATION),
        ("me hace un descuento?", Intent.HAGGLE),
        ("trato hecho", Intent.ACCEPT),
        ("I'm intrested", Intent.OTHER),
    ],
)
def test_primary_intent(text: str, intent: Intent) -> None:
    assert understand(text, ASK, SENT).intent is intent


def test_intents_are_in_priority_order_and_primary_is_first() -> None:
    result = understand("Hi! Is this still available? Would you take 7000? Where are you located?", ASK)
    assert result.intent is Intent.OFFER
    assert result.intents == (Intent.OFFER, Intent.LOCATION, Intent.AVAILABILITY, Intent.GREETING)
    assert list(result.intents) == sorted(result.intents, key=INTENT_PRIORITY.index)


def test_ok_with_amount_is_offer_and_accept() -> None:
    result = understand("ok 11.8k", Decimal(12500))
    assert result.offer == Decimal(11800)
    assert result.intent is Intent.OFFER
    assert Intent.ACCEPT in result.intents


def test_haggle_is_dropped_when_a_number_is_named() -> None:
    result = understand("that's too much, would you take 7000?", ASK)
    assert result.intents == (Intent.OFFER,)


def test_cash_as_offer_attribute_is_not_a_payment_question() -> None:
    assert Intent.PAYMENT not in understand("7500 cash today", ASK).intents
    assert Intent.PAYMENT in understand("I'd pay cash, is that ok?", ASK).intents


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("send me the 6 digit code google sent you", "verification_code"),
        ("I sent you a code via text, tell me the code", "verification_code"),
        ("I'll send a check for more than the price, refund the difference to my shipper", "overpayment"),
        ("I'll mail a cashier's check and my shipper will pick it up", "check_and_shipper"),
        ("Can I pay with Apple gift cards?", "gift_card"),
        ("Zelle says you need to upgrade to a business account to receive it", "payment_app_upgrade"),
        ("pay the $50 refundable deposit here: www.secure-carpay.com/deposit", "deposit_link"),
        ("you need to pay the transfer fee of $75 before the funds are released", "advance_fee"),
        ("get a vehicle history report from vinreportcheck.com first", "history_report"),
        ("I need your SSN and date of birth", "personal_data"),
        ("send me a copy of your ID first", "personal_data"),
        ("mándame el código de verificación que te llegó", "verification_code"),
    ],
)
def test_scams(text: str, reason: str) -> None:
    result = understand(text, ASK)
    assert result.scam
    assert reason in result.scam_reasons


@pytest.mark.parametrize(
    "text",
    [
        "Can I pay with cashier's check?",
        "Can we do the sale at my bank? They'll cut a cashier's check",
        "do you take zelle or cash app",
        "What's the zip code there?",
        "text me at 313-555-0147",
        "I'll have my mechanic check it out, is that ok?",
        "Do you have the title in hand? I'll bring my ID to sign",
    ],
)
def test_ordinary_messages_are_not_scams(text: str) -> None:
    result = understand(text, ASK)
    assert not result.scam
    assert result.scam_reasons == ()


def test_off_platform_contact_only_supports_another_reason() -> None:
    assert not understand("email me at joe@example.com", ASK).scam
    result = understand("I'll mail a check, my mover picks it up. email me at joe@example.com", ASK)
    assert result.scam_reasons == ("check_and_shipper", "off_platform_contact")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Can I see it tomorrow at 5?", datetime(2024, 5, 16, 17, 0)),
        ("Saturday morning work for you?", datetime(2024, 5, 18, 10, 0)),
        ("can I come look at it this evening?", datetime(2024, 5, 15, 18, 0)),
        ("¿Puedo ir a verlo mañana a las 5?", datetime(2024, 5, 16, 17, 0)),
        ("I can be there in 2 hours", datetime(2024, 5, 15, 14, 0)),
        ("Could I look at it Saturday at 11am?", datetime(2024, 5, 18, 11, 0)),
        ("tonight at 8 work?", datetime(2024, 5, 15, 20, 0)),
        ("June 3 at 2pm?", datetime(2024, 6, 3, 14, 0)),
        ("Can I see it at 9 tomorrow morning", datetime(2024, 5, 16, 9, 0)),
    ],
)
def test_proposed_time(text: str, expected: datetime) -> None:
    result = understand(text, ASK, SENT)
    assert result.intent is Intent.SCHEDULE
    assert result.proposed_time == expected.replace(tzinfo=DETROIT)
    assert result.proposed_time is not None and result.proposed_time.utcoffset() is not None


def test_bare_time_already_past_means_tomorrow() -> None:
    evening = datetime(2024, 5, 18, 19, 0, tzinfo=DETROIT)
    assert understand("can i come at 5", ASK, evening).proposed_time == datetime(
        2024, 5, 19, 17, 0, tzinfo=DETROIT
    )


def test_time_is_resolved_in_the_seller_timezone_from_utc() -> None:
    sent_utc = datetime(2024, 5, 15, 16, 0, tzinfo=UTC)  # noon in Detroit, 9am in Los Angeles
    la = understand("tomorrow at 5", ASK, sent_utc, timezone="America/Los_Angeles").proposed_time
    assert la == datetime(2024, 5, 16, 17, 0, tzinfo=ZoneInfo("America/Los_Angeles"))


def test_no_sent_at_means_no_proposed_time() -> None:
    result = understand("Can I see it tomorrow at 5?", ASK)
    assert result.intent is Intent.SCHEDULE
    assert result.proposed_time is None


def test_unknown_timezone_falls_back_instead_of_crashing() -> None:
    result = understand("tomorrow at 5?", ASK, SENT, timezone="Not/AZone")
    assert result.proposed_time == datetime(2024, 5, 16, 17, 0, tzinfo=DETROIT)


@pytest.mark.parametrize(
    ("text", "topics"),
    [
        ("How many miles and is the title clean?", {"mileage", "title"}),
        ("Any accidents? Do you have the carfax?", {"accidents", "history"}),
        ("whats the gas mileage like", {"mpg"}),
        ("Does the AC blow cold?", {"climate"}),
        ("¿Cuántas millas tiene?", {"mileage"}),
    ],
)
def test_vehicle_topics(text: str, topics: set[str]) -> None:
    result = understand(text, ASK)
    assert result.intent is Intent.VEHICLE_QUESTION
    assert set(result.vehicle_topics) == topics
    assert set(result.vehicle_topics) <= set(VEHICLE_TOPICS)


def test_to_json_shape() -> None:
    data = understand("would you take 7k tomorrow at 5?", ASK, SENT).to_json()
    assert data["intent"] == "offer"
    assert data["offer"] == 7000
    assert data["proposed_time"] == "2024-05-16T17:00:00-04:00"


def test_deterministic() -> None:
    text = "Hi, wuld u take 7.9? I can come tmrw at 5. KBB says 8500"
    assert understand(text, ASK, SENT) == understand(text, ASK, SENT)


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(max_size=400),
    asking=st.one_of(st.none(), st.integers(min_value=1, max_value=500_000)),
)
def test_never_raises_and_invariants_hold(text: str, asking: int | None) -> None:
    result = understand(text, None if asking is None else Decimal(asking), SENT)
    assert result.intent in result.intents
    assert result.intent is result.intents[0]
    assert result.offer is None or result.offer > 0
    assert result.scam == bool(result.scam_reasons)
    assert result.proposed_time is None or result.proposed_time.tzinfo is not None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "would",
                "you",
                "take",
                "7k",
                "8",
                "$",
                "1,000",
                "-",
                "at",
                "5",
                "pm",
                "tomorrow",
                "code",
                "check",
                "shipper",
                "2015",
                "miles",
                "k",
                "mil",
                "te doy",
                "?",
                "ok",
                "deal",
                "no",
                "off",
                "😀",
                "\x00",
                ".",
            ]
        ),
        max_size=60,
    ),
    st.one_of(st.none(), st.sampled_from([800, 2500, 8500, 25000])),
)
def test_message_like_noise(words: list[str], asking: int | None) -> None:
    result = understand(" ".join(words), None if asking is None else Decimal(asking), SENT)
    assert result.intent in result.intents
    assert result.offer is None or result.offer > 0


@pytest.mark.parametrize(
    "text",
    [
        "a" * 10_000,
        "1 " * 5_000,
        "$" * 10_000,
        "1," * 5_000,
        "at 5 " * 2_000,
        "\x00\u200b😀" * 3_000,
        "x@" * 5_000,
    ],
)
def test_hostile_input_is_bounded(text: str) -> None:
    from accorria_agent.negotiation import lexicon

    result = understand(text, ASK, SENT)
    # Only the first lexicon.MAX_CHARS characters are read, so cost is bounded by that prefix
    # (speed itself is measured by `bench negotiate`, not by a timed test).
    assert result == understand(text[: lexicon.MAX_CHARS], ASK, SENT)
    assert result.intent in result.intents


def test_non_string_input_is_treated_as_empty() -> None:
    result = understand(None, ASK)  # type: ignore[arg-type]
    assert result.intent is Intent.OTHER
