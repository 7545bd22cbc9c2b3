"""Test-drive use cases: availability, booking a slot, moving and cancelling it, outcomes, the feed.

Services flush, never commit: the request or the conversation job owns the transaction. A booking is
inserted inside a SAVEPOINT so that losing the race for a slot (the unique index on booked slots, see
``models``) rolls back only the insert; the caller then offers the nearest free slots instead.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.deals.events import deal_for_conversation, record_deal_event
from accorria_agent.errors import BadRequest, Conflict, NotFound
from accorria_agent.scheduling import ics
from accorria_agent.scheduling import repository as repo
from accorria_agent.scheduling.models import Availability, AvailabilitySpec, Booking
from accorria_agent.scheduling.schemas import AvailabilityIn, AvailabilityOut, BookingOut
from accorria_agent.scheduling.slots import (
    DEFAULT_BUFFER_MINUTES,
    DEFAULT_MIN_NOTICE_MINUTES,
    DEFAULT_SLOT_MINUTES,
    DEFAULT_WEEKLY,
    AvailabilityRules,
    bookable,
    nearest_free,
)
from accorria_agent.scheduling.texts import when_text

log = structlog.get_logger(__name__)


def rules_from(row: AvailabilitySpec | None, timezone: str) -> AvailabilityRules:
    """The pure rules of a stored availability; the default hours when the seller set none."""
    if row is None:
        return AvailabilityRules.from_json(timezone, DEFAULT_WEEKLY)
    return AvailabilityRules.from_json(
        timezone,
        row.weekly_hours or {},
        row.exceptions or [],
        slot_minutes=row.slot_minutes,
        buffer_minutes=row.buffer_minutes,
        min_notice_minutes=row.min_notice_minutes,
    )


@dataclass(frozen=True)
class Place:
    """Where test drives happen: the area told before booking, the exact address in the confirmation."""

    area: str | None = None
    address: str | None = None


async def availability_rules(
    session: AsyncSession, seller_id: int, *, tenant_id: int | None = None, listing_id: int | None = None
) -> tuple[AvailabilityRules, Place]:
    """The rules (seller's timezone) and place that apply to a booking for this listing on this Page.

    The listing's override wins, then the Page's, then the seller's own availability (or the default
    hours); the place is the first one set in the same order.
    """
    seller = await repo.seller(session, seller_id)
    if seller is None:
        raise NotFound("no such seller")
    row = await repo.availability(session, seller_id)
    chain: list[AvailabilitySpec] = [
        *await repo.overrides_for_booking(session, seller_id, tenant_id, listing_id),
        *([row] if row is not None else []),
    ]
    place = Place(
        next((r.place_area for r in chain if r.place_area), None),
        next((r.place_address for r in chain if r.place_address), None),
    )
    return rules_from(chain[0] if chain else None, seller.timezone), place


def spec_values(row: AvailabilitySpec | None) -> dict[str, Any]:
    """An availability's fields as the API shows them (the default hours for no row)."""
    if row is None:
        return {
            "weekly_hours": DEFAULT_WEEKLY,
            "slot_minutes": DEFAULT_SLOT_MINUTES,
            "buffer_minutes": DEFAULT_BUFFER_MINUTES,
            "min_notice_minutes": DEFAULT_MIN_NOTICE_MINUTES,
        }
    return {
        "weekly_hours": row.weekly_hours,
        "exceptions": row.exceptions,
        "slot_minutes": row.slot_minutes,
        "buffer_minutes": row.buffer_minutes,
        "min_notice_minutes": row.min_notice_minutes,
        "place_area": row.place_area,
        "place_address": row.place_address,
    }


def _out(row: Availability | None, timezone: str) -> AvailabilityOut:
    return AvailabilityOut.model_validate(
        {
            **spec_values(row),
            "timezone": timezone,
            "is_default": row is None,
            "calendar_feed": row is not None and row.calendar_secret_hash is not None,
        }
    )


async def get_availability(session: AsyncSession, seller_id: int) -> AvailabilityOut:
    seller = await repo.seller(session, seller_id)
    if seller is None:
        raise NotFound("no such seller")
    return _out(await repo.availability(session, seller_id), seller.timezone)


async def _row(session: AsyncSession, seller_id: int) -> Availability:
    row = await repo.availability(session, seller_id)
    if row is None:
        row = Availability(
            seller_id=seller_id,
            weekly_hours=DEFAULT_WEEKLY,
            exceptions=[],
            slot_minutes=DEFAULT_SLOT_MINUTES,
            buffer_minutes=DEFAULT_BUFFER_MINUTES,
            min_notice_minutes=DEFAULT_MIN_NOTICE_MINUTES,
        )
        session.add(row)
    return row


async def put_availability(session: AsyncSession, seller_id: int, spec: AvailabilityIn) -> AvailabilityOut:
    """Replace the seller's availability (existing bookings stay where they are)."""
    seller = await repo.seller(session, seller_id)
    if seller is None:
        raise NotFound("no such seller")
    row = await _row(session, seller_id)
    apply_spec(row, spec)
    await session.flush()
    return _out(row, seller.timezone)


def apply_spec(row: AvailabilitySpec, spec: AvailabilityIn) -> None:
    """Write an availability as the API gave it onto a seller's row or an override."""
    data = spec.model_dump(mode="json")
    row.weekly_hours = {day: [list(pair) for pair in hours] for day, hours in data["weekly_hours"].items()}
    row.exceptions = data["exceptions"]
    row.slot_minutes = spec.slot_minutes
    row.buffer_minutes = spec.buffer_minutes
    row.min_notice_minutes = spec.min_notice_minutes
    row.place_area = spec.place_area.strip() if spec.place_area else None
    row.place_address = spec.place_address.strip() if spec.place_address else None


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def regenerate_calendar_secret(session: AsyncSession, seller_id: int) -> str:
    """A new random feed secret (the old URL stops working); only its hash is stored."""
    row = await _row(session, seller_id)
    secret = secrets.token_urlsafe(32)
    row.calendar_secret_hash = _secret_hash(secret)
    await session.flush()
    return secret


async def calendar_feed(session: AsyncSession, secret: str) -> bytes:
    """The iCalendar feed of the seller whose secret this is; NotFound for any other string."""
    if not 20 <= len(secret) <= 100:
        raise NotFound("no such calendar")
    digest = _secret_hash(secret)
    row = await repo.availability_by_secret_hash(session, digest)
    # The lookup is by hash (a 256-bit secret's hash leaks nothing by timing); compared again in
    # constant time so the check never rests on the database's string comparison alone.
    if (
        row is None
        or row.calendar_secret_hash is None
        or not hmac.compare_digest(row.calendar_secret_hash, digest)
    ):
        raise NotFound("no such calendar")
    seller = await repo.seller(session, row.seller_id)
    rows = await repo.bookings_for_seller(session, row.seller_id, limit=2000)
    name = f"Test drives — {seller.name}" if seller is not None else "Test drives"
    return ics.feed((calendar_entry(b) for b, _ in rows), name)


def calendar_entry(booking: Booking) -> ics.CalendarEntry:
    return ics.CalendarEntry(
        booking_id=booking.id,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        timezone=booking.timezone,
        summary=booking.summary,
        location=booking.location,
        status=booking.status,
        sequence=booking.sequence,
        stamp=booking.updated_at,
    )


def booking_out(booking: Booking, buyer_name: str | None = None) -> BookingOut:
    return BookingOut(
        id=booking.id,
        conversation_id=booking.conversation_id,
        listing_id=booking.listing_id,
        buyer_name=buyer_name,
        starts_at=booking.starts_at,
        ends_at=booking.ends_at,
        timezone=booking.timezone,
        when=when_text(booking.starts_at, booking.timezone),
        status=booking.status,
        summary=booking.summary,
        location=booking.location,
    )


@dataclass
class BookingResult:
    """What an attempt to take a slot did: ``booking`` when it holds the slot, else ``alternatives``."""

    booking: Booking | None
    alternatives: list[datetime] = field(default_factory=list)
    taken: bool = False


async def _alternatives(
    session: AsyncSession,
    seller_id: int,
    rules: AvailabilityRules,
    wanted: datetime,
    now: datetime,
    exclude_id: int | None = None,
) -> list[datetime]:
    busy = await repo.busy_intervals(
        session,
        seller_id,
        min(now, wanted) - timedelta(days=4),
        wanted + timedelta(days=30),
        exclude_id=exclude_id,
    )
    return nearest_free(rules, wanted, now, busy)


async def _deal_event(
    session: AsyncSession,
    booking: Booking,
    kind: str,
    actor_kind: str,
    actor_id: int | None = None,
    **details: Any,
) -> None:
    deal = await deal_for_conversation(
        session,
        seller_id=booking.seller_id,
        tenant_id=booking.tenant_id,
        conversation_id=booking.conversation_id,
        listing_id=booking.listing_id,
    )
    await record_deal_event(
        session,
        deal,
        kind,
        actor_kind=actor_kind,
        actor_id=actor_id,
        details={"booking_id": booking.id, "starts_at": booking.starts_at.isoformat(), **details},
    )


async def book(
    session: AsyncSession,
    *,
    seller_id: int,
    tenant_id: int,
    conversation_id: int,
    listing_id: int | None,
    summary: str,
    location: str | None,
    rules: AvailabilityRules,
    wanted: datetime,
    now: datetime,
) -> BookingResult:
    """Take the slot at ``wanted`` for the conversation, or say which free slots are nearest."""
    await repo.lock_calendar_if_overridden(session, seller_id)
    busy = await repo.busy_intervals(
        session, seller_id, wanted - timedelta(days=1), wanted + timedelta(days=1)
    )
    if not bookable(rules, wanted, now, busy):
        taken = bookable(rules, wanted, now)
        return BookingResult(None, await _alternatives(session, seller_id, rules, wanted, now), taken=taken)
    booking = Booking(
        seller_id=seller_id,
        tenant_id=tenant_id,
        conversation_id=conversation_id,
        listing_id=listing_id,
        starts_at=wanted,
        ends_at=wanted + rules.slot,
        status="booked",
        summary=summary[:300],
        location=location,
        timezone=rules.timezone,
        sequence=0,
    )
    try:
        async with session.begin_nested():
            session.add(booking)
            await session.flush()
    except IntegrityError:
        # Another buyer's booking of this slot committed first: the database refused the second one.
        log.info("test_drive_slot_lost_race", seller_id=seller_id)
        return BookingResult(None, await _alternatives(session, seller_id, rules, wanted, now), taken=True)
    await _deal_event(session, booking, "test_drive_booked", "buyer")
    return BookingResult(booking)


async def move(
    session: AsyncSession, booking: Booking, rules: AvailabilityRules, wanted: datetime, now: datetime
) -> BookingResult:
    """Move a booked test drive to ``wanted`` if free; otherwise it stays and alternatives are given."""
    if wanted == booking.starts_at:
        return BookingResult(booking)
    await repo.lock_calendar_if_overridden(session, booking.seller_id)
    busy = await repo.busy_intervals(
        session,
        booking.seller_id,
        wanted - timedelta(days=1),
        wanted + timedelta(days=1),
        exclude_id=booking.id,
    )
    if not bookable(rules, wanted, now, busy):
        alternatives = await _alternatives(
            session, booking.seller_id, rules, wanted, now, exclude_id=booking.id
        )
        return BookingResult(None, alternatives, taken=bookable(rules, wanted, now))
    previous = booking.starts_at
    try:
        async with session.begin_nested():
            booking.starts_at = wanted
            booking.ends_at = wanted + rules.slot
            booking.sequence += 1
            booking.reminded_at = None
            await session.flush()
    except IntegrityError:
        await session.refresh(booking)
        alternatives = await _alternatives(
            session, booking.seller_id, rules, wanted, now, exclude_id=booking.id
        )
        return BookingResult(None, alternatives, taken=True)
    await _deal_event(session, booking, "test_drive_rescheduled", "buyer", previous=previous.isoformat())
    return BookingResult(booking)


async def cancel(
    session: AsyncSession, booking: Booking, *, actor_kind: str, actor_id: int | None = None
) -> Booking:
    """Cancel a booked test drive (its slot is free again)."""
    if booking.status != "booked":
        raise Conflict(f"this test drive is already {booking.status.replace('_', '-')}")
    booking.status = "cancelled"
    booking.sequence += 1
    await session.flush()
    await _deal_event(session, booking, "test_drive_cancelled", actor_kind, actor_id)
    return booking


_OUTCOME_EVENTS = {"done": "test_drive_done", "no_show": "test_drive_no_show"}


async def set_outcome(
    session: AsyncSession, seller_id: int, booking_id: int, status: str, *, member_id: int, now: datetime
) -> Booking:
    """The seller marks a test drive ``done`` or ``no_show`` (only once it has started)."""
    if status not in _OUTCOME_EVENTS:
        raise BadRequest("status is done or no_show")
    booking = await repo.booking_for_seller(session, seller_id, booking_id, lock=True)
    if booking is None:
        raise NotFound("no such booking")
    if booking.status != "booked":
        raise Conflict(f"this test drive is already {booking.status.replace('_', '-')}")
    if booking.starts_at > now:
        raise Conflict("this test drive has not started yet")
    booking.status = status
    await session.flush()
    await _deal_event(session, booking, _OUTCOME_EVENTS[status], "member", member_id)
    return booking


async def list_bookings(
    session: AsyncSession,
    seller_id: int,
    *,
    status: str | None,
    start: datetime | None,
    end: datetime | None,
) -> list[BookingOut]:
    rows = await repo.bookings_for_seller(session, seller_id, status=status, start=start, end=end)
    return [booking_out(b, name) for b, name in rows]


async def booking_for_member(session: AsyncSession, seller_id: int, booking_id: int) -> Booking:
    booking = await repo.booking_for_seller(session, seller_id, booking_id, lock=True)
    if booking is None:
        raise NotFound("no such booking")
    return booking


async def ensure_availability(
    session: AsyncSession, seller_id: int, *, place_area: str | None, place_address: str | None
) -> Availability:
    """The seller's availability, created with the default hours and this place if there is none yet."""
    row = await repo.availability(session, seller_id)
    if row is not None:
        return row
    row = await _row(session, seller_id)
    row.place_area = place_area
    row.place_address = place_address
    await session.flush()
    return row
