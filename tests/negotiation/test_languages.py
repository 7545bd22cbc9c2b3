"""Languages: detection per message, locale files with English fallback, one guard for Spanish too."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accorria_agent.negotiation import locales
from accorria_agent.negotiation.guard import check_reply
from accorria_agent.negotiation.language import detect_language, turn_language
from accorria_agent.negotiation.replies import render_template, unanswered_topics
from accorria_agent.negotiation.schemas import (
    ActionKind,
    Decision,
    Intent,
    ListingFacts,
    NegotiationState,
    SellerRules,
    Tone,
)
from accorria_agent.negotiation.strategy import decide
from accorria_agent.negotiation.understanding import understand

D = Decimal
RULES = SellerRules(asking_price=D(12500), price_floor=D(11000))
LISTING = ListingFacts(listing_id=1, year=2018, make="Honda", model="Civic", trim="EX", mileage=64000,
                       location="Dearborn, MI", details={"title": "clean"})  # fmt: skip
VALUES = {
    "name": "2018 Honda Civic EX", "short": "Honda Civic", "amount": "$11,800", "fee": "$106.20",
    "time": "Saturday, May 3 at 2 PM", "location": "Dearborn, MI", "topics": "el óxido",
}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("hola, todavía está disponible?", "es"),
        ("te doy 9 mil", "es"),
        ("¿cuánto es lo menos?", "es"),
        ("trato hecho", "es"),
        ("bonjour, est-ce que la voiture est toujours disponible ?", "fr"),
        ("Does the A/C work?", "en"),
        ("Is this still available?", "en"),
        ("would you take 9k?", "en"),
        ("9000?", None),
        ("ok", None),
        ("👍", None),
        ("", None),
    ],
)
def test_language_is_detected_per_message(text: str, code: str | None) -> None:
    assert detect_language(text) == code


def test_a_message_without_signal_keeps_the_conversation_language() -> None:
    assert turn_language(["ok"], "es") == "es"
    assert turn_language(["9000?"], None) == "en"
    assert turn_language(["hola", "is it available?"], "es") == "en"  # the latest clear signal wins
    assert turn_language(["x"], "xx") == "en"  # an unknown stored code falls back to English


@given(st.text(max_size=300))
def test_detection_never_fails(text: str) -> None:
    assert detect_language(text) in (None, *locales.available())


def test_locales_are_files_with_english_fallback() -> None:
    assert locales.available()[0] == "en" and {"es", "fr"} <= set(locales.available())
    # French is only a file: a reply in French, with what it does not translate in English.
    french = render_template(Decision(ActionKind.ANSWER, also_answer=(Intent.AVAILABILITY,), language="fr"),
                             LISTING, Tone.CASUAL, 0).text  # fmt: skip
    assert "toujours disponible" in french
    # Spanish has no professional variant of "hold_no_amount": the friendly one is used, never English.
    assert (
        "prisa"
        in render_template(Decision(ActionKind.HOLD, language="es"), LISTING, Tone.PROFESSIONAL, 1).text
    )
    assert locales.lookup("es", "TOPIC_LABELS", "rust") == "el óxido"
    assert locales.lookup("es", "TOPIC_LABELS", "no such topic", "x") == "x"
    assert locales.value("zz", "SELLER_ANSWER") == locales.value("en", "SELLER_ANSWER")


@pytest.mark.parametrize("code", [c for c in locales.available() if c != "en"])
def test_every_translated_variant_passes_the_guard(code: str) -> None:
    allowed = frozenset({D(12500), D(11800)})
    for table in ("ACTION", "EXTRA"):
        entries: dict[str, dict[Tone, tuple[str, ...]]] = locales.value(code, table)
        for key, by_tone in entries.items():
            accept = table == "ACTION" and key.startswith("accept")
            action = ActionKind.ACCEPT if accept else ActionKind.COUNTER
            for variants in by_tone.values():
                for variant in variants:
                    text = variant.format(**VALUES)
                    decision = Decision(
                        action, amount=D(11800) if "{amount}" in variant else None,
                        allowed_amounts=allowed, fee_amount=D("106.20"),
                        next_steps=("escrow",) if accept else (),
                    )  # fmt: skip
                    verdict = check_reply(text, decision, RULES, listing=LISTING)
                    assert verdict.ok, (code, key, text, verdict.reasons)


def test_spanish_buyers_get_the_same_decisions() -> None:
    pairs = [("te doy 9 mil", "I'll give you 9k"), ("cuánto es lo menos?", "what's your lowest?"),
             ("trato hecho", "deal"), ("¿sigue disponible?", "is it still available?")]  # fmt: skip
    for spanish, english in pairs:
        state = NegotiationState()
        if spanish == "trato hecho":
            _, state = decide(RULES, state, understand("I'll give you 9k", RULES.asking_price))
        es, _ = decide(RULES, state, understand(spanish, RULES.asking_price))
        en, _ = decide(RULES, state, understand(english, RULES.asking_price))
        assert (es.action, es.amount) == (en.action, en.amount), (spanish, es, en)


def test_spanish_reply_passes_the_guard_and_the_guard_reads_spanish() -> None:
    state = NegotiationState()
    decision, state = decide(RULES, state, understand("te doy 9 mil", RULES.asking_price))
    from dataclasses import replace

    spanish = replace(decision, language="es")
    reply = render_template(spanish, LISTING, Tone.FRIENDLY, 3)
    assert check_reply(reply.text, spanish, RULES, listing=LISTING).ok, reply.text
    assert any(title == "Hacer una oferta" for _, title in reply.quick_replies) or not reply.quick_replies
    # Spanish amounts and acceptance words are caught like English ones.
    assert not check_reply("Te lo dejo en 9 mil.", spanish, RULES, listing=LISTING).ok
    assert "acceptance_language" in check_reply("¡Trato hecho!", spanish, RULES, listing=LISTING).reasons
    assert not check_reply("Mi precio mínimo es alto.", spanish, RULES, listing=LISTING).ok


def test_unanswered_topics_are_what_the_listing_does_not_say() -> None:
    decision = Decision(
        ActionKind.ANSWER,
        also_answer=(Intent.VEHICLE_QUESTION, Intent.TRADE_IN, Intent.LOCATION),
        vehicle_topics=("title", "rust", "miles"),
    )
    assert unanswered_topics(decision, LISTING) == ("rust", "trade in")
    bare = ListingFacts(listing_id=2, year=2018, make="Honda", model="Civic")
    assert unanswered_topics(decision, bare) == ("title", "rust", "mileage", "trade in", "location")
    assert unanswered_topics(Decision(ActionKind.HANDOFF, vehicle_topics=("rust",)), bare) == ()


def test_a_price_question_gets_the_standing_price_and_never_the_floor() -> None:
    for text in ("just tell me your floor price", "what's the lowest you'll take?", "cuánto es lo menos?"):
        understood = understand(text, RULES.asking_price)
        assert understood.intent is Intent.PRICE_INQUIRY, text
        decision, state = decide(RULES, NegotiationState(), understood)
        assert decision.action is ActionKind.ASK_OFFER and decision.amount == RULES.asking_price
        assert state.concessions_used == 0
        reply = render_template(decision, LISTING, Tone.FRIENDLY, 0).text
        assert "$12,500" in reply and "11,000" not in reply
