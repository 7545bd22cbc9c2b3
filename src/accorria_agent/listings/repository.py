"""All SQL of the listings domain, every query scoped by the account (``seller_id``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.listings.models import ListingPhoto
from accorria_agent.sellers.models import Listing, MessengerTenant


async def listings_of(session: AsyncSession, seller_id: int, status: str | None) -> Sequence[Listing]:
    query = select(Listing).where(Listing.seller_id == seller_id)
    if status is not None:
        query = query.where(Listing.status == status)
    return (await session.execute(query.order_by(Listing.id.desc()))).scalars().all()


async def listing_of(session: AsyncSession, seller_id: int, listing_id: int) -> Listing | None:
    query = select(Listing).where(Listing.seller_id == seller_id, Listing.id == listing_id)
    return (await session.execute(query)).scalar_one_or_none()


async def page_of(session: AsyncSession, seller_id: int, page_id: str) -> MessengerTenant | None:
    query = select(MessengerTenant).where(
        MessengerTenant.seller_id == seller_id, MessengerTenant.page_id == page_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def page_ids_by_tenant(session: AsyncSession, seller_id: int) -> dict[int, str]:
    query = select(MessengerTenant.id, MessengerTenant.page_id).where(MessengerTenant.seller_id == seller_id)
    return {int(row[0]): str(row[1]) for row in (await session.execute(query)).all()}


async def photos_of(
    session: AsyncSession, seller_id: int, listing_ids: Sequence[int]
) -> dict[int, list[ListingPhoto]]:
    """Photos of several listings in one query (no N+1 on the list page), in display order."""
    if not listing_ids:
        return {}
    query = (
        select(ListingPhoto)
        .where(ListingPhoto.seller_id == seller_id, ListingPhoto.listing_id.in_(listing_ids))
        .order_by(ListingPhoto.listing_id, ListingPhoto.position, ListingPhoto.id)
    )
    grouped: dict[int, list[ListingPhoto]] = {}
    for photo in (await session.execute(query)).scalars():
        grouped.setdefault(photo.listing_id, []).append(photo)
    return grouped


async def photo_count(session: AsyncSession, listing_id: int) -> int:
    query = select(func.count()).select_from(ListingPhoto).where(ListingPhoto.listing_id == listing_id)
    return int((await session.execute(query)).scalar_one())


async def photo_of(
    session: AsyncSession, seller_id: int, listing_id: int, photo_id: int
) -> ListingPhoto | None:
    query = select(ListingPhoto).where(
        ListingPhoto.seller_id == seller_id,
        ListingPhoto.listing_id == listing_id,
        ListingPhoto.id == photo_id,
    )
    return (await session.execute(query)).scalar_one_or_none()


async def photo_exists(session: AsyncSession, key: str) -> bool:
    query = select(ListingPhoto.id).where(ListingPhoto.key == key)
    return (await session.execute(query)).scalar_one_or_none() is not None


async def delete_photo(session: AsyncSession, photo_id: int) -> None:
    await session.execute(delete(ListingPhoto).where(ListingPhoto.id == photo_id))
