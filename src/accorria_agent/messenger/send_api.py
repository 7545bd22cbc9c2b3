"""Pure builders of Send API ``message`` objects, validated before anything is sent.

Every builder returns the JSON-ready ``message`` object for ``POST /me/messages`` (the part that
:meth:`GraphClient.send_message` wraps with ``recipient`` and ``messaging_type``), or raises
:class:`SendApiValidationError` naming the offending field. We validate here, not by letting Meta reject
the call: a rejected send costs a round trip, shows up as an error on the seller's dashboard, and — for
content errors — would be retried by nobody, so the buyer would simply get no answer.

Limits, from Meta's Messenger Platform reference:

* text: non-empty, at most 2,000 characters (Send API reference);
* quick replies: at most 13, ``content_type`` ``text``, title at most 20 characters, payload at most
  1,000 (https://developers.facebook.com/docs/messenger-platform/send-messages/quick-replies/);
* button template: text at most 640 characters, 1–3 buttons
  (https://developers.facebook.com/documentation/business-messaging/messenger-platform/send-messages/template/button);
* generic template: at most 10 elements; title and subtitle at most 80 characters; at most 3 buttons;
  at least one property besides the title
  (https://developers.facebook.com/documentation/business-messaging/messenger-platform/send-messages/template/generic).

Lengths are counted in Unicode code points (``len(str)``), as the simulator's validator does.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from accorria_agent.negotiation.replies import QUICK_REPLIES, format_money
from accorria_agent.negotiation.schemas import ListingFacts

MAX_TEXT = 2000
MAX_QUICK_REPLIES = 13
MAX_QUICK_REPLY_TITLE = 20
MAX_PAYLOAD = 1000
MAX_BUTTON_TEMPLATE_TEXT = 640
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_ELEMENT_TEXT = 80
MAX_ELEMENTS = 10

#: Punctuation that ends a sentence, and closers that may follow it (``He said "yes."``).
_SENTENCE_END = frozenset(".!?…。！？")
_CLOSERS = frozenset("\"')]}»”’")
#: Characters that attach to the previous one; a hard cut must not separate them from it.
_JOINERS = frozenset("\u200d\ufe0e\ufe0f")

Message = dict[str, Any]


class SendApiValidationError(ValueError):
    """A message Meta would refuse; ``field`` is its Send API path (``message.quick_replies[2].title``)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class QuickReply:
    """A text quick reply: the ``title`` is posted to the thread as the buyer's message when tapped."""

    title: str
    payload: str
    image_url: str | None = None


@dataclass(frozen=True)
class PostbackButton:
    """A button that sends a ``messaging_postbacks`` event carrying ``payload``."""

    title: str
    payload: str


@dataclass(frozen=True)
class UrlButton:
    """A button that opens ``url`` in the Messenger webview."""

    title: str
    url: str


Button = PostbackButton | UrlButton


@dataclass(frozen=True)
class GenericElement:
    """One card of a generic template; ``default_action_url`` opens when the card itself is tapped."""

    title: str
    subtitle: str | None = None
    image_url: str | None = None
    buttons: tuple[Button, ...] = ()
    default_action_url: str | None = None


# --- validation helpers ------------------------------------------------------------------------------


def _check_text(value: object, field: str, limit: int) -> str:
    if not isinstance(value, str):
        raise SendApiValidationError(field, "must be a string")
    # Meta refuses blank text ("Message cannot be empty"); whitespace-only counts as blank.
    if not value.strip():
        raise SendApiValidationError(field, "must not be empty")
    if len(value) > limit:
        raise SendApiValidationError(field, f"is {len(value)} characters; the limit is {limit}")
    return value


def _check_url(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise SendApiValidationError(field, "must be a string")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        raise SendApiValidationError(field, "must be an absolute http(s) URL")
    return value


def _check_count(items: Sequence[object], field: str, low: int, high: int) -> None:
    if not low <= len(items) <= high:
        raise SendApiValidationError(field, f"has {len(items)} items; allowed {low}–{high}")


def _quick_reply_json(item: QuickReply | tuple[str, str], field: str) -> dict[str, str]:
    # ``(payload, title)`` pairs are accepted because that is how ``negotiation.Reply`` carries them.
    qr = QuickReply(title=item[1], payload=item[0]) if isinstance(item, tuple) else item
    out = {
        "content_type": "text",
        "title": _check_text(qr.title, f"{field}.title", MAX_QUICK_REPLY_TITLE),
        "payload": _check_text(qr.payload, f"{field}.payload", MAX_PAYLOAD),
    }
    if qr.image_url is not None:
        out["image_url"] = _check_url(qr.image_url, f"{field}.image_url")
    return out


def _button_json(button: object, field: str) -> dict[str, str]:
    if isinstance(button, PostbackButton):
        return {
            "type": "postback",
            "title": _check_text(button.title, f"{field}.title", MAX_BUTTON_TITLE),
            "payload": _check_text(button.payload, f"{field}.payload", MAX_PAYLOAD),
        }
    if isinstance(button, UrlButton):
        return {
            "type": "web_url",
            "title": _check_text(button.title, f"{field}.title", MAX_BUTTON_TITLE),
            "url": _check_url(button.url, f"{field}.url"),
        }
    raise SendApiValidationError(f"{field}.type", "must be a postback or web_url button")


# --- builders ----------------------------------------------------------------------------------------


def text_message(text: str, quick_replies: Sequence[QuickReply | tuple[str, str]] = ()) -> Message:
    """A text message (≤ 2,000 characters) with up to 13 quick replies.

    ``quick_replies`` items are :class:`QuickReply` or ``(payload, title)`` pairs. Longer texts must go
    through :func:`text_messages`, which splits them.
    """
    message: Message = {"text": _check_text(text, "message.text", MAX_TEXT)}
    if quick_replies:
        _check_count(quick_replies, "message.quick_replies", 1, MAX_QUICK_REPLIES)
        message["quick_replies"] = [
            _quick_reply_json(item, f"message.quick_replies[{i}]") for i, item in enumerate(quick_replies)
        ]
    return message


def text_messages(
    text: str, quick_replies: Sequence[QuickReply | tuple[str, str]] = (), *, limit: int = MAX_TEXT
) -> list[Message]:
    """``text`` as one or more text messages (see :func:`split_text`); quick replies only on the last.

    Quick replies go on the last part because Messenger shows them under the newest message only and
    dismisses them as soon as another message arrives.
    """
    parts = split_text(text, limit)
    if not parts:
        raise SendApiValidationError("message.text", "must not be empty")
    messages = [text_message(part) for part in parts[:-1]]
    messages.append(text_message(parts[-1], quick_replies))
    return messages


def button_template(text: str, buttons: Sequence[Button]) -> Message:
    """A button template: text (≤ 640 characters) above 1–3 postback or web_url buttons."""
    _check_count(buttons, "message.attachment.payload.buttons", 1, MAX_BUTTONS)
    payload = {
        "template_type": "button",
        "text": _check_text(text, "message.attachment.payload.text", MAX_BUTTON_TEMPLATE_TEXT),
        "buttons": [
            _button_json(b, f"message.attachment.payload.buttons[{i}]") for i, b in enumerate(buttons)
        ],
    }
    return {"attachment": {"type": "template", "payload": payload}}


def generic_template(elements: Sequence[GenericElement]) -> Message:
    """A generic template (a card, or a carousel of up to 10 cards)."""
    base = "message.attachment.payload.elements"
    _check_count(elements, base, 1, MAX_ELEMENTS)
    return {
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "generic",
                "elements": [_element_json(e, f"{base}[{i}]") for i, e in enumerate(elements)],
            },
        }
    }


def _element_json(element: GenericElement, field: str) -> dict[str, Any]:
    out: dict[str, Any] = {"title": _check_text(element.title, f"{field}.title", MAX_ELEMENT_TEXT)}
    if element.subtitle is not None:
        out["subtitle"] = _check_text(element.subtitle, f"{field}.subtitle", MAX_ELEMENT_TEXT)
    if element.image_url is not None:
        out["image_url"] = _check_url(element.image_url, f"{field}.image_url")
    if element.default_action_url is not None:
        url = _check_url(element.default_action_url, f"{field}.default_action.url")
        out["default_action"] = {"type": "web_url", "url": url}
    if element.buttons:
        # An empty ``buttons`` array is itself an error at Meta; omit the key instead.
        _check_count(element.buttons, f"{field}.buttons", 1, MAX_BUTTONS)
        out["buttons"] = [_button_json(b, f"{field}.buttons[{i}]") for i, b in enumerate(element.buttons)]
    if len(out) == 1:
        # Meta: "At least one property must be set in addition to title."
        raise SendApiValidationError(
            field, "needs a subtitle, image, default action or button besides the title"
        )
    return out


# --- the listing card --------------------------------------------------------------------------------


def listing_card(
    listing: ListingFacts, m_me_link: str, *, asking_price: Decimal | int | None = None
) -> Message:
    """The car as a generic-template card: name, mileage and asking price, first photo, three buttons.

    ``ListingFacts`` carries no price (the price lives in the seller's rules), so the asking price is
    passed in. Only the asking price is ever shown here — never the floor. The card's default action is
    ``m_me_link`` (``https://m.me/<page>?ref=listing_<id>``): tapping the card, or a forwarded copy of it,
    re-enters the Page's thread with the listing's referral, so the conversation is attached to this car.

    Seller-entered text that would exceed Messenger's 80-character title is shortened with an ellipsis
    rather than refused, so one long trim name cannot stop the card; a first photo that is not an http(s)
    URL (e.g. a local demo path) is left out rather than sent for Meta to refuse.
    """
    _check_url(m_me_link, "m_me_link")
    subtitle_parts: list[str] = []
    if listing.mileage is not None:
        subtitle_parts.append(f"{listing.mileage:,} miles")
    if asking_price is not None:
        subtitle_parts.append(f"Asking {format_money(Decimal(asking_price))}")
    image = listing.photos[0] if listing.photos and _is_http_url(listing.photos[0]) else None
    element = GenericElement(
        title=shorten(listing.name, MAX_ELEMENT_TEXT),
        subtitle=shorten(" · ".join(subtitle_parts), MAX_ELEMENT_TEXT) if subtitle_parts else None,
        image_url=image,
        default_action_url=m_me_link,
        buttons=(
            PostbackButton(QUICK_REPLIES["MAKE_OFFER"], "MAKE_OFFER"),
            # "Schedule a test drive" is 21 characters, one over the button-title limit.
            PostbackButton(QUICK_REPLIES["SCHEDULE_TEST_DRIVE"], "SCHEDULE_TEST_DRIVE"),
            PostbackButton(QUICK_REPLIES["TALK_TO_SELLER"], "TALK_TO_SELLER"),
        ),
    )
    return generic_template([element])


def _is_http_url(value: str) -> bool:
    try:
        _check_url(value, "url")
    except SendApiValidationError:
        return False
    return True


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, ending with ``…`` when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space > limit // 2:
        head = head[:space]
    return head.rstrip(" ,;:·-") + "…"


# --- splitting long texts ----------------------------------------------------------------------------


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split ``text`` into parts of at most ``limit`` characters, in order, none blank.

    Cuts at the last sentence boundary (or line break) that fits, else at the last whitespace, else hard
    at ``limit`` (backing off so a combining mark or emoji joiner stays with its base character). Only the
    whitespace at each cut is dropped: joining the parts with the dropped whitespace restores ``text``.
    A text that fits is returned unchanged as a single part; a blank text gives ``[]``.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if not text.strip():
        return []
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = _find_cut(rest, limit)
        head = rest[:cut].rstrip()
        if head:  # empty only when the text starts with more than ``limit`` whitespace characters
            parts.append(head)
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def _find_cut(rest: str, limit: int) -> int:
    """Index ``c`` (1 ≤ c ≤ limit) where ``rest`` is cut: the part is ``rest[:c]``."""
    first = len(rest) - len(rest.lstrip())  # a cut inside leading whitespace would give an empty part
    # Sentence boundary: whitespace right after sentence-ending punctuation (and optional closers), or a
    # line break. ``rest[c]`` exists because len(rest) > limit ≥ c.
    for c in range(limit, first, -1):
        if rest[c] == "\n" or (rest[c].isspace() and _ends_sentence(rest, c)):
            return c
    for c in range(limit, first, -1):
        if rest[c].isspace():
            return c
    c = limit
    while c > first + 1 and _attaches(rest[c - 1], rest[c]):
        c -= 1
    # A "character" longer than the whole window cannot be kept together: cut it at the limit.
    return limit if _attaches(rest[c - 1], rest[c]) else c


def _ends_sentence(text: str, end: int) -> bool:
    i = end - 1
    while i >= 0 and text[i] in _CLOSERS:
        i -= 1
    return i >= 0 and text[i] in _SENTENCE_END


def _attaches(before: str, after: str) -> bool:
    """Whether ``after`` belongs to the same user-perceived character as ``before``."""
    return bool(unicodedata.combining(after)) or after in _JOINERS or before == "\u200d"
