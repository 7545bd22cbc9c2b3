"""The Page's Messenger profile (Get Started, menu, greeting, ice breakers) and m.me listing links.

Pure builders of the ``POST /me/messenger_profile`` body, validated here against Meta's documented
limits so a bad greeting is refused by us with a named field rather than by Graph at connect time:

* Messenger Profile API — https://developers.facebook.com/docs/messenger-platform/reference/messenger-profile-api/
  (at most 10 calls per 10 minutes per Page, so :func:`configure_page` sets everything in one call);
* greeting: ``default`` locale required, at most 160 characters, may use ``{{user_first_name}}``,
  ``{{user_last_name}}``, ``{{user_full_name}}`` —
  https://developers.facebook.com/docs/messenger-platform/reference/messenger-profile-api/greeting;
* persistent menu: needs a Get Started button, ``default`` locale, at most 20 buttons, titles at most 30
  characters — https://developers.facebook.com/docs/messenger-platform/send-messages/persistent-menu/;
* ice breakers: at most 4 questions, localized format with a ``default`` locale —
  https://developers.facebook.com/docs/messenger-platform/reference/messenger-profile-api/ice-breakers/;
* m.me links: ``ref`` comes back in the ``referral`` of the Get Started postback (new thread) or of a
  ``messaging_referrals`` event (existing thread) —
  https://developers.facebook.com/documentation/business-messaging/messenger-platform/discovery/m-me-links.

Note Meta's precedence rule: when ice breakers are set they are shown on the welcome screen instead of
the Get Started button. Get Started is still set because the persistent menu requires it.
"""

from __future__ import annotations

import re
from typing import Any, Final
from urllib.parse import quote

from accorria_agent.messenger.graph_client import GraphClient
from accorria_agent.messenger.send_api import SendApiValidationError

GET_STARTED_PAYLOAD: Final = "GET_STARTED"
MAX_GREETING = 160
MAX_MENU_TITLE = 30
MAX_ICE_BREAKERS = 4
MAX_ICE_BREAKER_QUESTION = 80
MAX_REF = 2083
GREETING_PLACEHOLDERS: Final = frozenset({"user_first_name", "user_last_name", "user_full_name"})

#: Persistent menu: (title, postback payload). Payloads are the ones the composer already routes.
MENU_ITEMS: Final[tuple[tuple[str, str], ...]] = (
    ("View car details", "VIEW_DETAILS"),
    ("Schedule a test drive", "SCHEDULE_TEST_DRIVE"),
    ("Talk to the seller", "TALK_TO_SELLER"),
)

#: Ice breakers: (question, postback payload). A tap posts the question into the thread and sends a
#: postback with the payload.
ICE_BREAKERS: Final[tuple[tuple[str, str], ...]] = (
    ("Is it still available?", "ICE_AVAILABILITY"),
    ("What's the mileage?", "ICE_MILEAGE"),
    ("Can I see it this week?", "ICE_TEST_DRIVE"),
    ("What's your best price?", "ICE_BEST_PRICE"),
)

_PLACEHOLDER_RE: Final = re.compile(r"\{\{(.*?)\}\}")
# Page usernames are letters, digits and periods; Page ids are digits. Anything else would not resolve on
# m.me and could smuggle a path or query into the link.
_PAGE_RE: Final = re.compile(r"[A-Za-z0-9.]+", re.ASCII)
_LISTING_REF_RE: Final = re.compile(r"listing_([1-9][0-9]{0,18})", re.ASCII)
_MAX_LISTING_ID = 2**63 - 1  # a BIGINT primary key


def get_started() -> dict[str, str]:
    """``get_started``: the postback payload sent when a new buyer taps Get Started."""
    return {"payload": GET_STARTED_PAYLOAD}


def persistent_menu() -> list[dict[str, Any]]:
    """``persistent_menu`` for the default locale; the composer stays enabled so buyers can type."""
    actions = []
    for i, (title, payload) in enumerate(MENU_ITEMS):
        _check(title, f"persistent_menu[0].call_to_actions[{i}].title", MAX_MENU_TITLE)
        actions.append({"type": "postback", "title": title, "payload": payload})
    return [{"locale": "default", "composer_input_disabled": False, "call_to_actions": actions}]


def greeting(text: str) -> list[dict[str, str]]:
    """``greeting`` for the default locale: at most 160 characters, Meta's name placeholders allowed.

    The limit is checked on the text as sent (placeholders unexpanded), which is what Graph checks.
    Unknown ``{{...}}`` placeholders are refused: Messenger would show them literally to buyers.
    """
    _check(text, "greeting[0].text", MAX_GREETING)
    for name in _PLACEHOLDER_RE.findall(text):
        if name not in GREETING_PLACEHOLDERS:
            raise SendApiValidationError(
                "greeting[0].text", f"unknown placeholder {{{{{name[:40]}}}}}; use {_placeholder_list()}"
            )
    return [{"locale": "default", "text": text}]


def ice_breakers() -> list[dict[str, Any]]:
    """``ice_breakers`` in the localized format (a ``default`` locale with up to 4 questions)."""
    if len(ICE_BREAKERS) > MAX_ICE_BREAKERS:
        raise SendApiValidationError("ice_breakers[0].call_to_actions", "at most 4 ice breakers")
    actions = []
    for i, (question, payload) in enumerate(ICE_BREAKERS):
        _check(question, f"ice_breakers[0].call_to_actions[{i}].question", MAX_ICE_BREAKER_QUESTION)
        actions.append({"question": question, "payload": payload})
    return [{"locale": "default", "call_to_actions": actions}]


def messenger_profile(greeting_text: str) -> dict[str, Any]:
    """The whole ``POST me/messenger_profile`` body: Get Started, menu, greeting and ice breakers."""
    return {
        "get_started": get_started(),
        "persistent_menu": persistent_menu(),
        "greeting": greeting(greeting_text),
        "ice_breakers": ice_breakers(),
    }


async def configure_page(graph: GraphClient, page_token: str, greeting_text: str) -> dict[str, Any]:
    """Set the Page's Messenger profile in one call; returns the profile that was posted.

    The profile is validated before the call, so a bad greeting raises :class:`SendApiValidationError`
    without touching Graph. Graph errors propagate as :class:`GraphApiError` (no retry here: this runs
    when a seller connects a Page, and they should see the failure).
    """
    profile = messenger_profile(greeting_text)
    await graph.set_messenger_profile(page_token, profile)
    return profile


def listing_ref(listing_id: int) -> str:
    """The ``ref`` that identifies a listing: ``listing_<id>``."""
    if (
        isinstance(listing_id, bool)
        or not isinstance(listing_id, int)
        or not 0 < listing_id <= _MAX_LISTING_ID
    ):
        raise SendApiValidationError("listing_id", "must be a positive integer")
    return f"listing_{listing_id}"


def m_me_link(page_username_or_id: str, listing_id: int) -> str:
    """``https://m.me/<page>?ref=listing_<id>`` — opens the Page's thread with the listing's referral."""
    if not isinstance(page_username_or_id, str) or not _PAGE_RE.fullmatch(page_username_or_id):
        raise SendApiValidationError("page", "must be a Page username (letters, digits, periods) or id")
    ref = quote(listing_ref(listing_id), safe="")
    if len(ref) > MAX_REF:  # cannot happen for listing_<id>; kept so a future ref format stays checked
        raise SendApiValidationError("ref", f"is {len(ref)} characters; the limit is {MAX_REF}")
    return f"https://m.me/{page_username_or_id}?ref={ref}"


def parse_listing_ref(ref: str) -> int | None:
    """The listing id in a referral ``ref`` (``listing_<id>``), or ``None`` for any other ref.

    Strict on purpose: refs arrive from links anyone can craft, so only the canonical form we issue is
    accepted (ASCII digits, no sign, no leading zero, no padding, fits a BIGINT). Unknown refs are the
    caller's to record.
    """
    if not isinstance(ref, str) or len(ref) > MAX_REF:
        return None
    match = _LISTING_REF_RE.fullmatch(ref)
    if match is None:
        return None
    value = int(match.group(1))
    return value if value <= _MAX_LISTING_ID else None


def _check(value: str, field: str, limit: int) -> None:
    if not isinstance(value, str) or not value.strip():
        raise SendApiValidationError(field, "must not be empty")
    if len(value) > limit:
        raise SendApiValidationError(field, f"is {len(value)} characters; the limit is {limit}")


def _placeholder_list() -> str:
    return ", ".join("{{" + name + "}}" for name in sorted(GREETING_PLACEHOLDERS))
