"""The HTTP surface of test drives: availability, bookings, the seller's calendar feed.

``/api/availability`` and ``/api/bookings`` serve the signed-in member's own account only (another
seller's booking id is a 404); ``/calendar/{secret}.ics`` is public but answers only to the secret.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from accorria_agent.accounts.context import Member, Owner
from accorria_agent.db.engine import transaction
from accorria_agent.errors import BadRequest, NotFound
from accorria_agent.scheduling import ics, overrides, service, tasks, texts
from accorria_agent.scheduling import repository as repo
from accorria_agent.scheduling.schemas import (
    AvailabilityIn,
    AvailabilityOut,
    AvailabilityOverrideOut,
    BookingActionOut,
    BookingOut,
    CalendarSecretOut,
)
from accorria_agent.sellers.notifications import notify_seller

router = APIRouter(tags=["test drives"])
BookingId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ICS = "text/calendar; charset=utf-8"


def _runtime(request: Request) -> Any:
    # The process's runtime (session factory, queue, clock); typed loosely: routes never import it.
    return request.app.state.runtime


@router.get("/api/availability", response_model=AvailabilityOut)
async def get_availability(request: Request, member: Member) -> AvailabilityOut:
    """The account's test-drive availability (the default hours until the owner sets them)."""
    async with transaction(_runtime(request).session_factory) as session:
        return await service.get_availability(session, member.seller_id)


@router.put("/api/availability", response_model=AvailabilityOut)
async def put_availability(request: Request, owner: Owner, body: AvailabilityIn) -> AvailabilityOut:
    """Replace the availability (owner only); booked test drives stay where they are."""
    async with transaction(_runtime(request).session_factory) as session:
        return await service.put_availability(session, owner.seller_id, body)


PageId = Annotated[str, Path(max_length=64, pattern=r"^[0-9]+$")]
ListingId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/api/availability/pages/{page_id}", response_model=AvailabilityOverrideOut)
async def get_page_availability(request: Request, member: Member, page_id: PageId) -> AvailabilityOverrideOut:
    """What bookings on this Page use: its own availability, else the seller's (``source`` says)."""
    async with transaction(_runtime(request).session_factory) as session:
        return await overrides.get_for_page(session, member.seller_id, page_id)


@router.put("/api/availability/pages/{page_id}", response_model=AvailabilityOverrideOut)
async def put_page_availability(
    request: Request, owner: Owner, page_id: PageId, body: AvailabilityIn
) -> AvailabilityOverrideOut:
    """Give this Page its own availability (owner only); booked test drives stay where they are."""
    async with transaction(_runtime(request).session_factory) as session:
        return await overrides.put_for_page(session, owner.seller_id, page_id, body)


@router.delete("/api/availability/pages/{page_id}", status_code=204)
async def delete_page_availability(request: Request, owner: Owner, page_id: PageId) -> Response:
    """The Page uses the seller's availability again (owner only)."""
    async with transaction(_runtime(request).session_factory) as session:
        await overrides.delete_for_page(session, owner.seller_id, page_id)
    return Response(status_code=204)


@router.get("/api/availability/listings/{listing_id}", response_model=AvailabilityOverrideOut)
async def get_listing_availability(
    request: Request, member: Member, listing_id: ListingId
) -> AvailabilityOverrideOut:
    """What bookings for this listing use: its own, its Page's, else the seller's (``source`` says)."""
    async with transaction(_runtime(request).session_factory) as session:
        return await overrides.get_for_listing(session, member.seller_id, listing_id)


@router.put("/api/availability/listings/{listing_id}", response_model=AvailabilityOverrideOut)
async def put_listing_availability(
    request: Request, owner: Owner, listing_id: ListingId, body: AvailabilityIn
) -> AvailabilityOverrideOut:
    """Give this listing its own availability (owner only); booked test drives stay where they are."""
    async with transaction(_runtime(request).session_factory) as session:
        return await overrides.put_for_listing(session, owner.seller_id, listing_id, body)


@router.delete("/api/availability/listings/{listing_id}", status_code=204)
async def delete_listing_availability(request: Request, owner: Owner, listing_id: ListingId) -> Response:
    """The listing uses its Page's (or the seller's) availability again (owner only)."""
    async with transaction(_runtime(request).session_factory) as session:
        await overrides.delete_for_listing(session, owner.seller_id, listing_id)
    return Response(status_code=204)


@router.post("/api/availability/calendar-secret", response_model=CalendarSecretOut)
async def new_calendar_secret(request: Request, owner: Owner) -> CalendarSecretOut:
    """A new secret calendar URL (the previous one stops working). Shown once."""
    async with transaction(_runtime(request).session_factory) as session:
        secret = await service.regenerate_calendar_secret(session, owner.seller_id)
    return CalendarSecretOut(secret=secret, url=f"{str(request.base_url).rstrip('/')}/calendar/{secret}.ics")


@router.get("/calendar/{secret}.ics", include_in_schema=False)
async def calendar_feed(request: Request, secret: str) -> Response:
    """Every booking of the seller whose secret this is, as an iCalendar feed."""
    async with _runtime(request).session_factory() as session:
        body = await service.calendar_feed(session, secret)
    return Response(body, media_type=ICS, headers={"Cache-Control": "no-store"})


def _day_start(day: date | None, tz: str) -> datetime | None:
    from accorria_agent.scheduling.slots import zone

    return None if day is None else datetime.combine(day, time(0), zone(tz)).astimezone(UTC)


@router.get("/api/bookings", response_model=list[BookingOut])
async def list_bookings(
    request: Request,
    member: Member,
    status: Annotated[Literal["booked", "done", "no_show", "cancelled"] | None, Query()] = None,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: Annotated[date | None, Query()] = None,
) -> list[BookingOut]:
    """The account's test drives, soonest first; ``from``/``to`` are dates in the seller's timezone."""
    if from_ is not None and to is not None and to < from_:
        raise BadRequest("'to' is before 'from'")
    async with transaction(_runtime(request).session_factory) as session:
        seller = await repo.seller(session, member.seller_id)
        tz = seller.timezone if seller is not None else "UTC"
        end = _day_start(to + timedelta(days=1), tz) if to is not None else None
        return await service.list_bookings(
            session, member.seller_id, status=status, start=_day_start(from_, tz), end=end
        )


@router.get("/api/bookings/{booking_id}/invite.ics", include_in_schema=False)
async def booking_invitation(request: Request, member: Member, booking_id: BookingId) -> Response:
    """The booking's calendar invitation (METHOD REQUEST, or CANCEL once cancelled)."""
    async with _runtime(request).session_factory() as session:
        booking = await repo.booking_for_seller(session, member.seller_id, booking_id)
        if booking is None:
            raise NotFound("no such booking")
        method = "CANCEL" if booking.status == "cancelled" else "REQUEST"
        body = ics.invitation(service.calendar_entry(booking), method)
    return Response(
        body,
        media_type=f"text/calendar; method={method}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="test-drive-{booking_id}.ics"'},
    )


async def _outcome(request: Request, member: Member, booking_id: int, status: str) -> BookingActionOut:
    runtime = _runtime(request)
    async with transaction(runtime.session_factory) as session:
        booking = await service.set_outcome(
            session, member.seller_id, booking_id, status, member_id=member.member_id, now=runtime.clock()
        )
        return BookingActionOut(booking=service.booking_out(booking))


@router.post("/api/bookings/{booking_id}/done", response_model=BookingActionOut)
async def mark_done(request: Request, member: Member, booking_id: BookingId) -> BookingActionOut:
    """The test drive happened."""
    return await _outcome(request, member, booking_id, "done")


@router.post("/api/bookings/{booking_id}/no-show", response_model=BookingActionOut)
async def mark_no_show(request: Request, member: Member, booking_id: BookingId) -> BookingActionOut:
    """The buyer did not come."""
    return await _outcome(request, member, booking_id, "no_show")


@router.post("/api/bookings/{booking_id}/cancel", response_model=BookingActionOut)
async def cancel_booking(request: Request, member: Member, booking_id: BookingId) -> BookingActionOut:
    """The seller cancels; the buyer is told on Messenger if the 24-hour window allows, else not."""
    runtime = _runtime(request)
    now = runtime.clock()
    async with transaction(runtime.session_factory) as session:
        booking = await service.booking_for_member(session, member.seller_id, booking_id)
        when = texts.when_text(booking.starts_at, booking.timezone)
        await service.cancel(session, booking, actor_kind="member", actor_id=member.member_id)
        await tasks.after_change(
            session,
            runtime.queue,
            booking,
            method="CANCEL",
            now=now,
            lead_minutes=runtime.settings.test_drive_reminder_minutes,
        )
        tenant = await repo.tenant(session, booking.tenant_id)
        conversation = await repo.conversation(session, booking.tenant_id, booking.conversation_id)
        told: bool = False
        reason: str | None = "the conversation is gone"
        if tenant is not None and conversation is not None:
            language = (conversation.negotiation_state or {}).get("language")
            buyer_when = texts.when_text(booking.starts_at, booking.timezone, language)
            text = texts.guarded(
                texts.cancelled_by_seller(buyer_when, language), None, None, language=language
            )
            permission = await tasks.tell_buyer(session, runtime.queue, tenant, conversation, text, now)
            told, reason = permission.allowed, permission.reason
            await notify_seller(
                session,
                tenant.id,
                conversation.id,
                "test_drive",
                f"You cancelled the test drive {when}."
                + ("" if told else f" The buyer could not be told on Messenger: {reason}."),
            )
        out = BookingActionOut(
            booking=service.booking_out(booking),
            buyer_told=told,
            buyer_not_told_reason=None if told else reason,
        )
    runtime.queue.notify()
    return out
