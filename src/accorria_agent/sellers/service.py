"""Seller-side use cases: create a seller, connect a Page (encrypting its token), add a listing."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.crypto import TokenCipher
from accorria_agent.sellers.models import Listing, MessengerSettings, MessengerTenant, Seller
from accorria_agent.sellers.schemas import ListingSpec


async def create_seller(
    session: AsyncSession, name: str, email: str | None = None, timezone: str = "America/Detroit"
) -> Seller:
    seller = Seller(name=name, email=email, timezone=timezone)
    session.add(seller)
    await session.flush()
    return seller


async def connect_page(
    session: AsyncSession,
    cipher: TokenCipher,
    seller: Seller,
    *,
    page_id: str,
    page_name: str,
    page_access_token: str,
    human_like_delays: bool = True,
) -> MessengerTenant:
    """Register a Page for ``seller``; the access token is stored encrypted only."""
    tenant = MessengerTenant(
        seller_id=seller.id,
        page_id=page_id,
        page_name=page_name,
        page_access_token_encrypted=cipher.encrypt(page_access_token),
        status="active",
    )
    session.add(tenant)
    await session.flush()
    session.add(MessengerSettings(tenant_id=tenant.id, human_like_delays=human_like_delays))
    await session.flush()
    return tenant


async def add_listing(
    session: AsyncSession, seller: Seller, tenant: MessengerTenant | None, spec: ListingSpec
) -> Listing:
    listing = Listing(
        seller_id=seller.id,
        tenant_id=tenant.id if tenant else None,
        **spec.model_dump(),
    )
    session.add(listing)
    await session.flush()
    return listing
