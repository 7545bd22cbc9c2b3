"""What the buyer reads about test drives (pure), and the guard every such text passes.

Texts name the slot in the seller's timezone in the house format (``Saturday, December 5 at 10 AM``: no
year, so no four-digit number that reads as a price), in the buyer's language: the wording is the
``TEST_DRIVE`` table of ``negotiation/locales/<code>.py`` (English where a locale has none), as the
questions domain does for its relayed answers. The exact address appears only in a confirmation.
Every text is checked by the negotiation guard with no price allowed at all; the seller's own address is
masked first (a street number is not a price), everything else is checked as any reply.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from accorria_agent.negotiation import locales
from accorria_agent.negotiation.guard import check_reply
from accorria_agent.negotiation.schemas import ActionKind, Decision, ListingFacts, SellerRules
from accorria_agent.scheduling.slots import zone

#: Quick-reply payload of a slot: ``BOOK_SLOT:<UTC ISO start>``; the next turn books exactly that slot.
SLOT_PAYLOAD_PREFIX = "BOOK_SLOT:"
SAFE_FALLBACK = str(locales.entry(None, "TEST_DRIVE", "fallback"))
_NO_PRICE = Decimal(1)


def _say(language: str | None, key: str, **values: str) -> str:
    return str(locales.entry(language, "TEST_DRIVE", key)).format(**values)


def _clock(local: datetime, language: str | None, meridiem: str = "MERIDIEM") -> str:
    hour = local.hour % 12 or 12
    clock = f"{hour}" if local.minute == 0 else f"{hour}:{local.minute:02d}"
    return f"{clock} {locales.value(language, meridiem)[0 if local.hour < 12 else 1]}"


def _format(when: datetime, timezone: str, language: str | None, *, short: bool) -> str:
    local = when.astimezone(zone(timezone))
    suffix = "_SHORT" if short else ""
    return str(locales.value(language, "SLOT_TITLE" if short else "SLOT_TIME")).format(
        weekday=locales.value(language, f"WEEKDAYS{suffix}")[local.weekday()],
        month=locales.value(language, f"MONTHS{suffix}")[local.month - 1],
        day=local.day,
        clock=_clock(local, language, f"MERIDIEM{suffix}"),
    )


def when_text(when: datetime, timezone: str, language: str | None = None) -> str:
    """``Saturday, December 5 at 10 AM`` (``sábado 5 de diciembre a las 10 de la mañana``), seller's zone."""
    return _format(when, timezone, language, short=False)


def slot_title(when: datetime, timezone: str, language: str | None = None) -> str:
    """A quick-reply title within Messenger's 20 characters: ``Sat Dec 5, 10 AM``, ``sáb 5 dic 10 am``."""
    return _format(when, timezone, language, short=True)[:20]


def slot_payload(when: datetime) -> str:
    return SLOT_PAYLOAD_PREFIX + when.astimezone(zone("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_slot_payload(payload: str | None) -> datetime | None:
    """The slot a ``BOOK_SLOT:`` payload names (aware UTC), or None for any other payload."""
    if not payload or not payload.startswith(SLOT_PAYLOAD_PREFIX):
        return None
    try:
        value = datetime.fromisoformat(payload[len(SLOT_PAYLOAD_PREFIX) :].replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def slot_quick_replies(
    slots: list[datetime], timezone: str, language: str | None = None
) -> tuple[tuple[str, str], ...]:
    return tuple((slot_payload(s), slot_title(s, timezone, language)) for s in slots)


def _place(address: str | None, language: str | None) -> str:
    return _say(language, "place", address=address) if address else _say(language, "no_place")


def booked(car: str, when: str, address: str | None, language: str | None = None) -> str:
    return _say(language, "booked", car=car, when=when, place=_place(address, language))


def already_booked(car: str, when: str, address: str | None, language: str | None = None) -> str:
    return _say(language, "already_booked", car=car, when=when, place=_place(address, language))


def moved(when: str, address: str | None, language: str | None = None) -> str:
    return _say(language, "moved", when=when, place=_place(address, language))


def offer(
    wanted: str | None,
    slots: list[str],
    area: str | None,
    *,
    taken: bool,
    keeping: str | None = None,
    language: str | None = None,
) -> str:
    """The nearest free slots; ``keeping`` names the booking that stays while the buyer picks."""
    if keeping is not None:
        return offer(wanted, slots, area, taken=taken, language=language) + _say(
            language, "keeping", keeping=keeping
        )
    if not slots:
        return _say(language, "no_slots")
    near = _say(language, "near", area=area) if area else ""
    either = _say(language, "or")
    listed = ", ".join(slots[:-1]) + (f"{either}{slots[-1]}" if len(slots) > 1 else slots[-1])
    if wanted is None:
        return _say(language, "free", near=near, listed=listed)
    reason = _say(language, "taken" if taken else "closed")
    return _say(language, "not_free", wanted=wanted, reason=reason, near=near, listed=listed)


def cancelled(when: str, has_slots: bool, language: str | None = None) -> str:
    tail = _say(language, "cancelled_tail") if has_slots else ""
    return _say(language, "cancelled", when=when, tail=tail)


def cancelled_by_seller(when: str, language: str | None = None) -> str:
    return _say(language, "cancelled_by_seller", when=when)


def reminder(car: str, when: str, address: str | None, language: str | None = None) -> str:
    return _say(language, "reminder", car=car, when=when, place=_place(address, language))


def guarded(
    text: str,
    rules: SellerRules | None,
    listing: ListingFacts | None,
    *places: str | None,
    language: str | None = None,
) -> str:
    """``text`` if the guard passes it (no price at all; the seller's places masked), else a safe line."""
    masked = text
    for place in places:
        if place:
            masked = masked.replace(place, "the meeting place")
    decision = Decision(action=ActionKind.PROPOSE_VIEWING)
    verdict = check_reply(masked, decision, rules or SellerRules(_NO_PRICE, _NO_PRICE), listing=listing)
    return text if verdict.ok else _say(language, "fallback")
