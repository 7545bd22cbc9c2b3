"""All SQL of test drives. Every query is scoped by ``seller_id`` (bookings also carry their tenant)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.conversations.models import Conversation
from accorria_agent.db.tenancy import tenant_select
from accorria_agent.scheduling.models import Availability, AvailabilityOverride, Booking
from accorria_agent.sellers.models import Listing, MessengerTenant, Seller


async def availability(session: AsyncSession, seller_id: int) -> Availability | None:
    return (
        await session.execute(select(Availability).where(Availability.seller_id == seller_id))
    ).scalar_one_or_none()


async def availability_by_secret_hash(session: AsyncSession, secret_hash: str) -> Availability | None:
    return (
        await session.execute(select(Availability).where(Availability.calendar_secret_hash == secret_hash))
    ).scalar_one_or_none()


async def seller(session: AsyncSession, seller_id: int) -> Seller | None:
    return await session.get(Seller, seller_id)


async def busy_intervals(
    session: AsyncSession, seller_id: int, start: datetime, end: datetime, *, exclude_id: int | None = None
) -> list[tuple[datetime, datetime]]:
    """The seller's booked intervals that touch [start, end] (optionally without one booking)."""
    query = select(Booking.starts_at, Booking.ends_at).where(
        Booking.seller_id == seller_id,
        Booking.status == "booked",
        Booking.starts_at <= end,
        Booking.ends_at >= start,
    )
    if exclude_id is not None:
        query = query.where(Booking.id != exclude_id)
    return [(row.starts_at, row.ends_at) for row in await session.execute(query)]


async def active_booking(session: AsyncSession, tenant_id: int, conversation_id: int) -> Booking | None:
    return (
        await session.execute(
            select(Booking).where(
                Booking.tenant_id == tenant_id,
                Booking.conversation_id == conversation_id,
                Booking.status == "booked",
            )
        )
    ).scalar_one_or_none()


async def booking_for_seller(
    session: AsyncSession, seller_id: int, booking_id: int, *, lock: bool = False
) -> Booking | None:
    query = select(Booking).where(Booking.id == booking_id, Booking.seller_id == seller_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def bookings_for_seller(
    session: AsyncSession,
    seller_id: int,
    *,
    status: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 500,
) -> list[tuple[Booking, str | None]]:
    """The seller's bookings (with the buyer's name), soonest first."""
    query = (
        select(Booking, Conversation.buyer_name)
        .join(Conversation, Conversation.id == Booking.conversation_id)
        .where(Booking.seller_id == seller_id)
        .order_by(Booking.starts_at, Booking.id)
        .limit(limit)
    )
    if status is not None:
        query = query.where(Booking.status == status)
    if start is not None:
        query = query.where(Booking.starts_at >= start)
    if end is not None:
        query = query.where(Booking.starts_at < end)
    return [(row[0], row[1]) for row in await session.execute(query)]


async def booking_by_id(session: AsyncSession, booking_id: int) -> Booking | None:
    """A booking by id, for jobs (which carry the id they were deferred with)."""
    return await session.get(Booking, booking_id)


async def conversation(session: AsyncSession, tenant_id: int, conversation_id: int) -> Conversation | None:
    return (
        await session.execute(
            tenant_select(Conversation, tenant_id).where(Conversation.id == conversation_id)
        )
    ).scalar_one_or_none()


async def tenant(session: AsyncSession, tenant_id: int) -> MessengerTenant | None:
    return await session.get(MessengerTenant, tenant_id)


async def listing(session: AsyncSession, seller_id: int, listing_id: int | None) -> Listing | None:
    if listing_id is None:
        return None
    return (
        await session.execute(select(Listing).where(Listing.id == listing_id, Listing.seller_id == seller_id))
    ).scalar_one_or_none()


async def page_of_seller(session: AsyncSession, seller_id: int, page_id: str) -> MessengerTenant | None:
    """The seller's Page (tenant) with Facebook id ``page_id``."""
    return (
        await session.execute(
            select(MessengerTenant).where(
                MessengerTenant.seller_id == seller_id, MessengerTenant.page_id == page_id
            )
        )
    ).scalar_one_or_none()


async def override(
    session: AsyncSession, seller_id: int, *, tenant_id: int | None = None, listing_id: int | None = None
) -> AvailabilityOverride | None:
    """The seller's override for exactly this Page or this listing (one of the two is given)."""
    query = select(AvailabilityOverride).where(AvailabilityOverride.seller_id == seller_id)
    if listing_id is not None:
        query = query.where(AvailabilityOverride.listing_id == listing_id)
    else:
        query = query.where(AvailabilityOverride.tenant_id == tenant_id)
    return (await session.execute(query)).scalar_one_or_none()


async def overrides_for_booking(
    session: AsyncSession, seller_id: int, tenant_id: int | None, listing_id: int | None
) -> list[AvailabilityOverride]:
    """The overrides a booking for this listing on this Page may use: the listing's first, then the Page's."""
    scopes = []
    if listing_id is not None:
        scopes.append(AvailabilityOverride.listing_id == listing_id)
    if tenant_id is not None:
        scopes.append(AvailabilityOverride.tenant_id == tenant_id)
    if not scopes:
        return []
    query = (
        select(AvailabilityOverride)
        .where(AvailabilityOverride.seller_id == seller_id, or_(*scopes))
        # The listing's override first (its tenant_id is NULL, its listing_id is not).
        .order_by(AvailabilityOverride.listing_id.is_(None))
    )
    return list((await session.execute(query)).scalars())


async def lock_calendar_if_overridden(session: AsyncSession, seller_id: int) -> None:
    """Serialise the seller's bookings when overrides exist (their slot grids may differ).

    The unique index on booked slots refuses two bookings of one start; overrides with other opening
    times or slot lengths put slots at other starts, so two of them could overlap without sharing a
    start. Locking the seller's availability row first makes the overlap check and the insert one step
    per seller (PostgreSQL; SQLite runs one writer at a time anyway). No override, no lock.
    """
    has_override = select(AvailabilityOverride.id).where(AvailabilityOverride.seller_id == seller_id).exists()
    await session.execute(
        select(Availability.id).where(Availability.seller_id == seller_id, has_override).with_for_update()
    )
