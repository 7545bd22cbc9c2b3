"""All SQL of the pages domain (tenant rows are read by seller id: a Page of another account is absent)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.pages.models import PageConnection, PendingPageGrant
from accorria_agent.sellers.models import MessengerTenant


async def tenant_by_page(
    session: AsyncSession, page_id: str, *, lock: bool = False
) -> MessengerTenant | None:
    """The tenant of ``page_id`` whatever its account (to refuse a takeover), optionally locked."""
    query = select(MessengerTenant).where(MessengerTenant.page_id == page_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def owners_of(session: AsyncSession, page_ids: list[str]) -> dict[str, int]:
    """``{page_id: seller_id}`` for the Pages already connected to some account."""
    if not page_ids:
        return {}
    rows = await session.execute(
        select(MessengerTenant.page_id, MessengerTenant.seller_id).where(
            MessengerTenant.page_id.in_(page_ids)
        )
    )
    return {str(page_id): int(seller_id) for page_id, seller_id in rows.all()}


async def seller_tenant(session: AsyncSession, seller_id: int, page_id: str) -> MessengerTenant | None:
    """The Page ``page_id`` if it belongs to ``seller_id`` (locked for the change)."""
    return (
        await session.execute(
            select(MessengerTenant)
            .where(MessengerTenant.seller_id == seller_id, MessengerTenant.page_id == page_id)
            .with_for_update()
        )
    ).scalar_one_or_none()


async def seller_pages(
    session: AsyncSession, seller_id: int
) -> list[tuple[MessengerTenant, PageConnection | None]]:
    """Every Page of ``seller_id`` with its connection record, by name."""
    rows = await session.execute(
        select(MessengerTenant, PageConnection)
        .outerjoin(PageConnection, PageConnection.tenant_id == MessengerTenant.id)
        .where(MessengerTenant.seller_id == seller_id)
        .order_by(MessengerTenant.page_name, MessengerTenant.page_id)
    )
    return [(tenant, connection) for tenant, connection in rows.all()]


async def connection(session: AsyncSession, tenant_id: int) -> PageConnection:
    """The connection record of a tenant, created when missing (Pages connected before this domain)."""
    row = await session.get(PageConnection, tenant_id)
    if row is None:
        row = PageConnection(tenant_id=tenant_id, granted_scopes=[])
        session.add(row)
        await session.flush()
    return row


async def latest_grant(
    session: AsyncSession, seller_id: int, member_id: int, now: datetime, grant_id: int | None = None
) -> PendingPageGrant | None:
    """The member's newest unconsumed, unexpired grant (or that one grant)."""
    query = select(PendingPageGrant).where(
        PendingPageGrant.seller_id == seller_id,
        PendingPageGrant.member_id == member_id,
        PendingPageGrant.consumed_at.is_(None),
        PendingPageGrant.expires_at > now,
    )
    if grant_id is not None:
        query = query.where(PendingPageGrant.id == grant_id)
    return (await session.execute(query.order_by(PendingPageGrant.id.desc()).limit(1))).scalar_one_or_none()


async def consume_grant(session: AsyncSession, grant_id: int, now: datetime) -> bool:
    """Mark a grant used (and wipe its tokens); ``False`` when another request consumed it first."""
    result = await session.execute(
        update(PendingPageGrant)
        .where(PendingPageGrant.id == grant_id, PendingPageGrant.consumed_at.is_(None))
        .values(consumed_at=now, payload_encrypted="")
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def tenants_to_check(session: AsyncSession) -> list[MessengerTenant]:
    """Every Page with a stored token that is serving or held (token health looks at these)."""
    return list(
        (
            await session.execute(
                select(MessengerTenant)
                .where(
                    MessengerTenant.page_access_token_encrypted != "",
                    MessengerTenant.status != "disconnected",
                )
                .order_by(MessengerTenant.id)
            )
        )
        .scalars()
        .all()
    )
