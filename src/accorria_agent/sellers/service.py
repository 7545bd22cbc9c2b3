"""Seller-side use cases: create a seller, connect a Page (encrypting its token), add a listing."""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from accorria_agent.crypto import TokenCipher
from accorria_agent.sellers import repository
from accorria_agent.sellers.models import Listing, MessengerSettings, MessengerTenant, Seller
from accorria_agent.sellers.schemas import ListingSpec

if TYPE_CHECKING:
    from accorria_agent.messenger.graph_client import GraphClient

log = structlog.get_logger(__name__)


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
    rate_limits: tuple[int, int, int] | None = None,
    facebook_user_id: str | None = None,
) -> MessengerTenant:
    """Register a Page for ``seller``; the access token is stored encrypted only.

    ``facebook_user_id`` is the app-scoped id of the Facebook user who granted the Page (Meta's
    deauthorize and data-deletion callbacks name that user).
    """
    tenant = MessengerTenant(
        seller_id=seller.id,
        page_id=page_id,
        page_name=page_name,
        page_access_token_encrypted=cipher.encrypt(page_access_token),
        status="active",
        facebook_user_id=facebook_user_id,
    )
    session.add(tenant)
    await session.flush()
    settings = MessengerSettings(tenant_id=tenant.id, human_like_delays=human_like_delays)
    if rate_limits is not None:
        settings.rate_limit_per_minute, settings.rate_limit_per_hour, settings.rate_limit_per_day = (
            rate_limits
        )
    session.add(settings)
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


async def settings_for(session: AsyncSession, tenant_id: int) -> MessengerSettings:
    """The tenant's Messenger settings, created with defaults on first use (in the caller's transaction)."""
    return await repository.settings_for(session, tenant_id)


async def configure_active_pages(
    session_factory: async_sessionmaker[AsyncSession], cipher: TokenCipher, graph: GraphClient
) -> int:
    """Set Get Started, the persistent menu, greeting and ice breakers on every active Page.

    Meta allows about ten profile calls per ten minutes per Page: run it when a Page is connected or its
    greeting changes, not on every start. Returns how many Pages were configured.
    """
    from accorria_agent.messenger.errors import GraphApiError
    from accorria_agent.messenger.page_setup import configure_page

    async with session_factory() as session:
        tenants = await repository.active_tenants(session)
        work = [(t.page_id, cipher.decrypt(t.page_access_token_encrypted), t.page_name) for t in tenants]
    done = 0
    for page_id, token, page_name in work:
        greeting_text = (
            f"Hi {{{{user_first_name}}}}! Ask us about our cars — {page_name}'s assistant replies 24/7."
        )
        try:
            await configure_page(graph, token, greeting_text[:160])
            done += 1
        except GraphApiError as error:
            log.warning("page_setup_failed", page_id=page_id, error=error.summary())
    return done
