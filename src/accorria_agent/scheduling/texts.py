"""What the buyer reads about test drives (pure), and the guard every such text passes.

Texts name the slot in the seller's timezone in the house format (``Saturday, December 5 at 10 AM``: no
year, so no four-digit number that reads as a price). The exact address appears only in a confirmation.
Every text is checked by the negotiation guard with no price allowed at all; the seller's own address is
masked first (a street number is not a price), everything else is checked as any reply.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from accorria_agent.negotiation.guard import check_reply
from accorria_agent.negotiation.replies import format_time
from accorria_agent.negotiation.schemas import ActionKind, Decision, ListingFacts, SellerRules
from accorria_agent.scheduling.slots import zone

#: Quick-reply payload of a slot: ``BOOK_SLOT:<UTC ISO start>``; the next turn books exactly that slot.
SLOT_PAYLOAD_PREFIX = "BOOK_SLOT:"
SAFE_FALLBACK = "Thanks! The seller will confirm the test drive time with you here shortly."
_NO_PRICE = Decimal(1)


def when_text(when: datetime, timezone: str) -> str:
    """``Saturday, December 5 at 10 AM`` in the seller's timezone."""
    return format_time(when.astimezone(zone(timezone)))


def slot_title(when: datetime, timezone: str) -> str:
    """A quick-reply title within Messenger's 20 characters: ``Sat Dec 5, 10 AM``."""
    local = when.astimezone(zone(timezone))
    hour = local.hour % 12 or 12
    clock = f"{hour}" if local.minute == 0 else f"{hour}:{local.minute:02d}"
    return f"{local:%a %b} {local.day}, {clock} {'AM' if local.hour < 12 else 'PM'}"[:20]


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


def slot_quick_replies(slots: list[datetime], timezone: str) -> tuple[tuple[str, str], ...]:
    return tuple((slot_payload(s), slot_title(s, timezone)) for s in slots)


def _place(address: str | None) -> str:
    return f" Meet at: {address}." if address else " The seller will send you the exact address here."


def booked(car: str, when: str, address: str | None) -> str:
    return (
        f"You're booked for a test drive of the {car} on {when}.{_place(address)}"
        " Need to change it? Just tell me here."
    )


def already_booked(car: str, when: str, address: str | None) -> str:
    return f"You're all set: your test drive of the {car} is on {when}.{_place(address)}"


def moved(when: str, address: str | None) -> str:
    return f"Done, your test drive is moved to {when}.{_place(address)}"


def offer(
    wanted: str | None, slots: list[str], area: str | None, *, taken: bool, keeping: str | None = None
) -> str:
    """The nearest free slots; ``keeping`` names the booking that stays while the buyer picks."""
    near = f" in {area}" if area else ""
    if keeping is not None:
        return offer(wanted, slots, area, taken=taken) + f" Your test drive stays on {keeping} until then."
    if not slots:
        return (
            "I don't have a free test-drive time in the next few weeks."
            " The seller will reach out to set one up."
        )
    listed = ", ".join(slots[:-1]) + (f" or {slots[-1]}" if len(slots) > 1 else slots[-1])
    if wanted is None:
        return f"Happy to set up a test drive{near}! The next free times are {listed}. Tap one to book it."
    reason = "is already taken" if taken else "isn't one of the seller's open times"
    return f"Sorry, {wanted} {reason}. The nearest free times{near} are {listed}. Tap one to book it."


def cancelled(when: str, has_slots: bool) -> str:
    tail = " If you'd like another time, tap one below or tell me a day." if has_slots else ""
    return f"No problem, I've cancelled your test drive on {when}.{tail}"


def cancelled_by_seller(when: str) -> str:
    return (
        f"Sorry, the seller had to cancel your test drive on {when}. "
        "Tell me another day or time you'd like and I'll book it."
    )


def reminder(car: str, when: str, address: str | None) -> str:
    return (
        f"Reminder: your test drive of the {car} is {when}.{_place(address)} Reply here if anything changes."
    )


def guarded(text: str, rules: SellerRules | None, listing: ListingFacts | None, *places: str | None) -> str:
    """``text`` if the guard passes it (no price at all; the seller's places masked), else a safe line."""
    masked = text
    for place in places:
        if place:
            masked = masked.replace(place, "the meeting place")
    decision = Decision(action=ActionKind.PROPOSE_VIEWING)
    verdict = check_reply(masked, decision, rules or SellerRules(_NO_PRICE, _NO_PRICE), listing=listing)
    return text if verdict.ok else SAFE_FALLBACK
