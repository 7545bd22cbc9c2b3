"""Availability per Page or per listing: an override of the seller's weekly availability.

A dealership's second lot (its own Page) or a car parked elsewhere (one listing) can have its own hours,
slot length, notice and meeting place. When a buyer books, the listing's override wins, then its Page's,
then the seller's own (``service.availability_rules``); bookings of every scope share the seller's one
calendar. Owners set and remove overrides; any member may read what applies.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.errors import NotFound
from accorria_agent.scheduling import repository as repo
from accorria_agent.scheduling import service
from accorria_agent.scheduling.models import Availability, AvailabilityOverride, AvailabilitySpec
from accorria_agent.scheduling.schemas import AvailabilityIn, AvailabilityOverrideOut
from accorria_agent.scheduling.slots import (
    DEFAULT_WEEKLY,
)

Source = Literal["listing", "page", "seller", "default"]


class _Scope:
    """Which Page or listing an override is about, resolved within the seller's own account."""

    def __init__(self, timezone: str, *, tenant_id: int | None, page_id: str | None, listing_id: int | None):
        self.timezone = timezone
        self.tenant_id = tenant_id
        self.page_id = page_id
        self.listing_id = listing_id


async def _page_scope(session: AsyncSession, seller_id: int, page_id: str) -> _Scope:
    seller = await repo.seller(session, seller_id)
    page = await repo.page_of_seller(session, seller_id, page_id)
    if seller is None or page is None:
        raise NotFound("no such Page")
    return _Scope(seller.timezone, tenant_id=page.id, page_id=page.page_id, listing_id=None)


async def _listing_scope(session: AsyncSession, seller_id: int, listing_id: int) -> _Scope:
    seller = await repo.seller(session, seller_id)
    listing = await repo.listing(session, seller_id, listing_id)
    if seller is None or listing is None:
        raise NotFound("no such listing")
    page = await repo.tenant(session, listing.tenant_id) if listing.tenant_id is not None else None
    return _Scope(
        seller.timezone,
        tenant_id=listing.tenant_id,
        page_id=page.page_id if page is not None else None,
        listing_id=listing.id,
    )


async def _applying(session: AsyncSession, seller_id: int, scope: _Scope) -> AvailabilityOverrideOut:
    """What a booking in this scope uses, and whose it is."""
    row: AvailabilitySpec | None = None
    source: Source = "default"
    if scope.listing_id is not None:
        row = await repo.override(session, seller_id, listing_id=scope.listing_id)
        source = "listing"
    if row is None and scope.tenant_id is not None:
        row = await repo.override(session, seller_id, tenant_id=scope.tenant_id)
        source = "page"
    if row is None:
        row = await repo.availability(session, seller_id)
        source = "seller" if row is not None else "default"
    return AvailabilityOverrideOut.model_validate(
        {
            **service.spec_values(row),
            "timezone": scope.timezone,
            "source": source,
            "page_id": scope.page_id,
            "listing_id": scope.listing_id,
        }
    )


async def get_for_page(session: AsyncSession, seller_id: int, page_id: str) -> AvailabilityOverrideOut:
    """The availability bookings on this Page use (its override, else the seller's)."""
    return await _applying(session, seller_id, await _page_scope(session, seller_id, page_id))


async def get_for_listing(session: AsyncSession, seller_id: int, listing_id: int) -> AvailabilityOverrideOut:
    """The availability bookings for this listing use (its override, its Page's, else the seller's)."""
    return await _applying(session, seller_id, await _listing_scope(session, seller_id, listing_id))


async def _put(
    session: AsyncSession, seller_id: int, scope: _Scope, spec: AvailabilityIn, *, page_level: bool
) -> AvailabilityOverrideOut:
    key = {"tenant_id": scope.tenant_id} if page_level else {"listing_id": scope.listing_id}
    row = await repo.override(session, seller_id, **key)
    if row is None:
        row = AvailabilityOverride(seller_id=seller_id, **key)
        session.add(row)
    service.apply_spec(row, spec)
    # The calendar lock (repository.lock_calendar_if_overridden) needs the seller's own row.
    if await repo.availability(session, seller_id) is None:
        session.add(Availability(seller_id=seller_id, weekly_hours=DEFAULT_WEEKLY, exceptions=[]))
    await session.flush()
    if page_level:
        scope = _Scope(scope.timezone, tenant_id=scope.tenant_id, page_id=scope.page_id, listing_id=None)
    return await _applying(session, seller_id, scope)


async def put_for_page(
    session: AsyncSession, seller_id: int, page_id: str, spec: AvailabilityIn
) -> AvailabilityOverrideOut:
    """Set the Page's own availability (existing bookings stay where they are)."""
    return await _put(
        session, seller_id, await _page_scope(session, seller_id, page_id), spec, page_level=True
    )


async def put_for_listing(
    session: AsyncSession, seller_id: int, listing_id: int, spec: AvailabilityIn
) -> AvailabilityOverrideOut:
    """Set the listing's own availability (existing bookings stay where they are)."""
    scope = await _listing_scope(session, seller_id, listing_id)
    return await _put(session, seller_id, scope, spec, page_level=False)


async def _delete(session: AsyncSession, seller_id: int, **key: int | None) -> None:
    row = await repo.override(session, seller_id, **key)
    if row is not None:
        await session.delete(row)
        await session.flush()


async def delete_for_page(session: AsyncSession, seller_id: int, page_id: str) -> None:
    """Remove the Page's override: its bookings use the seller's availability again."""
    scope = await _page_scope(session, seller_id, page_id)
    await _delete(session, seller_id, tenant_id=scope.tenant_id)


async def delete_for_listing(session: AsyncSession, seller_id: int, listing_id: int) -> None:
    """Remove the listing's override: its Page's (or the seller's) availability applies again."""
    scope = await _listing_scope(session, seller_id, listing_id)
    await _delete(session, seller_id, listing_id=scope.listing_id)
