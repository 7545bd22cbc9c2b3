"""All SQL of the sellers domain that other code needs: a Page's Messenger settings, its active Pages."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.db.tenancy import tenant_select
from accorria_agent.sellers.models import MessengerSettings, MessengerTenant


async def settings_for(session: AsyncSession, tenant_id: int) -> MessengerSettings:
    """The tenant's Messenger settings, created with defaults on first use."""
    result = await session.execute(tenant_select(MessengerSettings, tenant_id))
    settings = result.scalar_one_or_none()
    if settings is None:
        settings = MessengerSettings(tenant_id=tenant_id)
        session.add(settings)
        await session.flush()
    return settings


async def active_tenants(session: AsyncSession) -> Sequence[MessengerTenant]:
    """Every connected Page that is active (operator-wide: used to configure Pages, not to read content)."""
    result = await session.execute(select(MessengerTenant).where(MessengerTenant.status == "active"))
    return result.scalars().all()
