"""Send API message builders: shapes, limits (named fields), splitting, and agreement with the simulator."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accorria_agent.messenger.send_api import (
    MAX_TEXT,
    GenericElement,
    PostbackButton,
    QuickReply,
    SendApiValidationError,
    UrlButton,
    button_template,
    generic_template,
    listing_card,
    split_text,
    text_message,
    text_messages,
)
from accorria_agent.negotiation.schemas import ListingFacts
from accorria_agent.simulator.errors import GraphError
from accorria_agent.simulator.send_validation import extract, validate

CIVIC = ListingFacts(
    listing_id=42,
    year=2018,
    make="Honda",
    model="Civic",
    trim="EX",
    mileage=72000,
    photos=("https://cdn.example.com/civic-front.jpg", "https://cdn.example.com/civic-back.jpg"),
)
LINK = "https://m.me/accorria.motors?ref=listing_42"


def simulator_accepts(message: dict[str, Any]) -> bool:
    """Whether the simulator's Send API validator (Meta's limits) accepts ``message``."""
    try:
        validate(extract({"recipient": {"id": "1001"}, "messaging_type": "RESPONSE", "message": message}))
    except GraphError:
        return False
    return True


def field_of(call: Any) -> str:
    with pytest.raises(SendApiValidationError) as info:
        call()
    assert isinstance(info.value, ValueError)
    return info.value.field


# --- text and quick replies ------------------------------------------------------------------------


def test_text_message_with_quick_replies_from_objects_and_reply_pairs() -> None:
    message = text_message(
        "Want to come see it?",
        [QuickReply("Book a test drive", "SCHEDULE_TEST_DRIVE"), ("MAKE_OFFER", "Make an offer")],
    )
    assert message == {
        "text": "Want to come see it?",
        "quick_replies": [
            {"content_type": "text", "title": "Book a test drive", "payload": "SCHEDULE_TEST_DRIVE"},
            {"content_type": "text", "title": "Make an offer", "payload": "MAKE_OFFER"},
        ],
    }
    assert simulator_accepts(message)
    assert "quick_replies" not in text_message("hi")


def test_text_limits_name_the_field() -> None:
    assert text_message("x" * MAX_TEXT)["text"] == "x" * MAX_TEXT
    assert field_of(lambda: text_message("x" * (MAX_TEXT + 1))) == "message.text"
    assert field_of(lambda: text_message("")) == "message.text"
    assert field_of(lambda: text_message(" \n\t ")) == "message.text"


def test_quick_reply_limits_name_the_field() -> None:
    thirteen = [QuickReply(f"Option {i}", f"P{i}") for i in range(13)]
    assert len(text_message("pick", thirteen)["quick_replies"]) == 13
    assert field_of(lambda: text_message("pick", [*thirteen, QuickReply("One more", "P13")])) == (
        "message.quick_replies"
    )
    assert field_of(lambda: text_message("pick", [QuickReply("x" * 21, "P")])) == (
        "message.quick_replies[0].title"
    )
    assert text_message("pick", [QuickReply("x" * 20, "P")])["quick_replies"][0]["title"] == "x" * 20
    long_payload = [QuickReply("ok", "P"), QuickReply("ok", "p" * 1001)]
    assert field_of(lambda: text_message("pick", long_payload)) == "message.quick_replies[1].payload"
    assert (
        field_of(lambda: text_message("pick", [QuickReply("ok", "")])) == "message.quick_replies[0].payload"
    )
    bad_image = [QuickReply("ok", "P", image_url="javascript:alert(1)")]
    assert field_of(lambda: text_message("pick", bad_image)) == "message.quick_replies[0].image_url"


def test_long_text_becomes_several_messages_with_quick_replies_only_on_the_last() -> None:
    sentence = "This Civic has a clean title and new tires. "
    text = sentence * 100  # 4,400 characters
    messages = text_messages(text, [("MAKE_OFFER", "Make an offer")])
    assert len(messages) == 3
    assert all(len(m["text"]) <= MAX_TEXT for m in messages)
    assert all("quick_replies" not in m for m in messages[:-1])
    assert messages[-1]["quick_replies"][0]["payload"] == "MAKE_OFFER"
    assert all(m["text"].endswith(".") for m in messages[:-1])  # cut at sentence ends
    assert all(simulator_accepts(m) for m in messages)
    assert field_of(lambda: text_messages("   ")) == "message.text"


# --- templates -------------------------------------------------------------------------------------


def test_button_template_shape_and_limits() -> None:
    message = button_template(
        "Ready when you are.",
        [PostbackButton("Make an offer", "MAKE_OFFER"), UrlButton("See photos", "https://example.com/c")],
    )
    assert message == {
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "button",
                "text": "Ready when you are.",
                "buttons": [
                    {"type": "postback", "title": "Make an offer", "payload": "MAKE_OFFER"},
                    {"type": "web_url", "title": "See photos", "url": "https://example.com/c"},
                ],
            },
        }
    }
    assert simulator_accepts(message)
    one = [PostbackButton("A", "A")]
    base = "message.attachment.payload"
    assert field_of(lambda: button_template("hi", [])) == f"{base}.buttons"
    assert field_of(lambda: button_template("hi", one * 4)) == f"{base}.buttons"
    assert field_of(lambda: button_template("x" * 641, one)) == f"{base}.text"
    assert button_template("x" * 640, one)["attachment"]["payload"]["text"] == "x" * 640
    assert (
        field_of(lambda: button_template("hi", [PostbackButton("x" * 21, "A")])) == f"{base}.buttons[0].title"
    )
    assert field_of(lambda: button_template("hi", [*one, PostbackButton("B", "b" * 1001)])) == (
        f"{base}.buttons[1].payload"
    )
    assert field_of(lambda: button_template("hi", [UrlButton("Site", "ftp://example.com")])) == (
        f"{base}.buttons[0].url"
    )
    assert (
        field_of(lambda: button_template("hi", [UrlButton("Site", "https://")])) == f"{base}.buttons[0].url"
    )


def test_generic_template_limits() -> None:
    card = GenericElement("Car", subtitle="Nice", buttons=(PostbackButton("Offer", "MAKE_OFFER"),))
    assert len(generic_template([card] * 10)["attachment"]["payload"]["elements"]) == 10
    base = "message.attachment.payload.elements"
    assert field_of(lambda: generic_template([card] * 11)) == base
    assert field_of(lambda: generic_template([])) == base
    assert field_of(lambda: generic_template([GenericElement("x" * 81, subtitle="s")])) == f"{base}[0].title"
    assert field_of(lambda: generic_template([card, GenericElement("t", subtitle="s" * 81)])) == (
        f"{base}[1].subtitle"
    )
    four = (PostbackButton("A", "A"),) * 4
    assert field_of(lambda: generic_template([GenericElement("t", buttons=four)])) == f"{base}[0].buttons"
    # Meta: at least one property besides the title.
    assert field_of(lambda: generic_template([GenericElement("Only a title")])) == f"{base}[0]"
    element = generic_template([GenericElement("t", subtitle="s")])["attachment"]["payload"]["elements"][0]
    assert "buttons" not in element  # an empty buttons array is an error at Meta


# --- the listing card ------------------------------------------------------------------------------


def test_listing_card_shows_the_car_its_asking_price_and_the_three_actions() -> None:
    message = listing_card(CIVIC, LINK, asking_price=Decimal("9500"))
    payload = message["attachment"]["payload"]
    assert payload["template_type"] == "generic"
    (element,) = payload["elements"]
    assert element["title"] == "2018 Honda Civic EX"
    assert element["subtitle"] == "72,000 miles · Asking $9,500"
    assert element["image_url"] == "https://cdn.example.com/civic-front.jpg"
    assert element["default_action"] == {"type": "web_url", "url": LINK}
    assert [(b["type"], b["payload"]) for b in element["buttons"]] == [
        ("postback", "MAKE_OFFER"),
        ("postback", "SCHEDULE_TEST_DRIVE"),
        ("postback", "TALK_TO_SELLER"),
    ]
    assert element["buttons"][0]["title"] == "Make an offer"
    assert element["buttons"][2]["title"] == "Talk to the seller"
    assert all(len(b["title"]) <= 20 for b in element["buttons"])
    assert simulator_accepts(message)


def test_listing_card_tolerates_missing_or_long_seller_data() -> None:
    bare = ListingFacts(listing_id=7, year=2009, make="Toyota", model="Corolla", photos=("photos/1.jpg",))
    (element,) = listing_card(bare, "https://m.me/123456")["attachment"]["payload"]["elements"]
    assert element["title"] == "2009 Toyota Corolla"
    assert "subtitle" not in element and "image_url" not in element  # no price, no mileage, no http photo
    long_trim = ListingFacts(
        listing_id=8, year=2020, make="Ford", model="F-150", trim="Lariat SuperCrew " * 8, mileage=1500
    )
    message = listing_card(long_trim, LINK, asking_price=31999)
    (element,) = message["attachment"]["payload"]["elements"]
    assert len(element["title"]) <= 80 and element["title"].endswith("…")
    assert element["title"].startswith("2020 Ford F-150 Lariat")
    assert element["subtitle"] == "1,500 miles · Asking $31,999"
    assert simulator_accepts(message)
    assert field_of(lambda: listing_card(CIVIC, "m.me/accorria")) == "m_me_link"


# --- split_text ------------------------------------------------------------------------------------


def test_split_text_prefers_sentences_then_words_then_hard_cuts() -> None:
    assert split_text("Short one.") == ["Short one."]
    assert split_text("  keep my spacing  ") == ["  keep my spacing  "]  # fits: returned unchanged
    assert split_text("") == [] and split_text(" \n ") == []
    assert split_text("One two. Three four five.", limit=12) == ["One two.", "Three four", "five."]
    assert split_text("Is it? Yes!\nOK then", limit=13) == ["Is it? Yes!", "OK then"]
    assert split_text('He said "sold." Then left', limit=17) == ['He said "sold."', "Then left"]
    assert split_text("abcdefghij", limit=4) == ["abcd", "efgh", "ij"]
    # A combining accent stays with its letter on a hard cut.
    assert split_text("abce\u0301fg", limit=4) == ["abc", "e\u0301fg"]
    with pytest.raises(ValueError):
        split_text("text", limit=0)


def test_split_text_at_the_real_limit() -> None:
    exact = "a" * MAX_TEXT
    assert split_text(exact) == [exact]
    parts = split_text("word " * 1000)
    assert [len(p) for p in parts] == [1999, 1999, 1000]  # the last part keeps its trailing space


def _rebuilds(text: str, parts: list[str]) -> bool:
    """``text`` is the parts in order with only whitespace between, before and after them."""
    pos = 0
    for part in parts:
        if not text.startswith(part, pos):
            while pos < len(text) and text[pos].isspace():
                pos += 1
        if not text.startswith(part, pos):
            return False
        pos += len(part)
    return text[pos:].strip() == ""


_CHARS = st.sampled_from(list("abcXYZ019 .!?,'\"\n\t\u00a0\u0301\u200dé😀…"))


@settings(max_examples=400, deadline=None)
@given(text=st.text(alphabet=_CHARS, max_size=300), limit=st.integers(min_value=1, max_value=60))
def test_split_text_properties(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    assert all(0 < len(p) <= limit for p in parts)
    assert all(p.strip() for p in parts)  # never a blank message
    assert _rebuilds(text, parts)
    assert "".join("".join(p.split()) for p in parts) == "".join(text.split())
    if len(text) <= limit and text.strip():
        assert parts == [text]


@settings(max_examples=50, deadline=None)
@given(text=st.text(alphabet=_CHARS, min_size=1500, max_size=6000))
def test_split_text_properties_at_the_default_limit(text: str) -> None:
    parts = split_text(text)
    assert all(0 < len(p) <= MAX_TEXT and p.strip() for p in parts)
    assert _rebuilds(text, parts)
    for message in text_messages(text, [("MAKE_OFFER", "Make an offer")]) if text.strip() else []:
        assert simulator_accepts(message)


# --- agreement with the simulator's validator ------------------------------------------------------

_WORD = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Z", "C")), min_size=1, max_size=24)
_URL = st.sampled_from(["https://example.com/a", "http://x.io", "https://m.me/p?ref=listing_1", "nope"])


def _around(limit: int) -> st.SearchStrategy[int]:
    return st.integers(min_value=1, max_value=limit + 3)


@settings(max_examples=300, deadline=None)
@given(
    text_len=_around(MAX_TEXT),
    titles=st.lists(_around(20), min_size=1, max_size=15),
    payload_len=_around(1000),
)
def test_text_message_validation_agrees_with_the_simulator(
    text_len: int, titles: list[int], payload_len: int
) -> None:
    quick = [QuickReply("t" * n, "p" * payload_len) for n in titles]
    raw = {
        "text": "x" * text_len,
        "quick_replies": [{"content_type": "text", "title": q.title, "payload": q.payload} for q in quick],
    }
    try:
        built = text_message("x" * text_len, quick)
    except SendApiValidationError:
        assert not simulator_accepts(raw)
    else:
        assert built == raw
        assert simulator_accepts(built)


_BUTTON = st.one_of(
    st.builds(PostbackButton, title=_WORD, payload=_WORD),
    st.builds(UrlButton, title=_WORD, url=_URL),
)


@settings(max_examples=300, deadline=None)
@given(text=_WORD, text_len=_around(640), buttons=st.lists(_BUTTON, max_size=4))
def test_anything_the_button_template_builds_passes_the_simulator(
    text: str, text_len: int, buttons: list[PostbackButton | UrlButton]
) -> None:
    body = (text * (text_len // len(text) + 1))[:text_len]
    try:
        built = button_template(body, buttons)
    except SendApiValidationError as error:
        assert error.field.startswith("message.attachment.payload")
        return
    assert simulator_accepts(built)


@settings(max_examples=150, deadline=None)
@given(
    elements=st.lists(
        st.builds(
            GenericElement,
            title=_WORD,
            subtitle=st.none() | _WORD,
            image_url=st.none() | st.just("https://cdn.example.com/x.jpg"),
            buttons=st.lists(_BUTTON, max_size=3).map(tuple)
            | st.lists(_BUTTON, min_size=4, max_size=4).map(tuple),
            default_action_url=st.none() | st.just(LINK),
        ),
        max_size=11,
    )
)
def test_anything_the_generic_template_builds_passes_the_simulator(elements: list[GenericElement]) -> None:
    try:
        built = generic_template(elements)
    except SendApiValidationError as error:
        assert error.field.startswith("message.attachment.payload.elements")
        return
    assert simulator_accepts(built)
