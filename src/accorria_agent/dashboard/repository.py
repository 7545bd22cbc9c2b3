"""All SQL of the dashboard: a seller's Pages, and per Page (always through ``tenant_select``) the rows
its lists and summaries show."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.conversations.models import Conversation, Message
from accorria_agent.db.tenancy import tenant_select
from accorria_agent.sellers.models import Listing, MessengerTenant, Seller
from accorria_agent.sellers.notifications import SellerNotification


async def tenants_of_seller(session: AsyncSession, seller_id: int) -> list[MessengerTenant]:
    """The seller's Pages, by id: the only tenant ids any dashboard query may use."""
    result = await session.execute(
        select(MessengerTenant).where(MessengerTenant.seller_id == seller_id).order_by(MessengerTenant.id)
    )
    return list(result.scalars().all())


async def seller_timezone(session: AsyncSession, seller_id: int) -> str | None:
    """The seller's timezone (IANA name), or ``None``."""
    return (await session.execute(select(Seller.timezone).where(Seller.id == seller_id))).scalar_one_or_none()


async def listings_by_id(
    session: AsyncSession, tenant_id: int, listing_ids: Collection[int]
) -> dict[int, Listing]:
    """These listings of one Page, by id."""
    if not listing_ids:
        return {}
    rows = await session.execute(tenant_select(Listing, tenant_id).where(Listing.id.in_(listing_ids)))
    return {row.id: row for row in rows.scalars()}


async def last_messages(
    session: AsyncSession, tenant_id: int, conversation_ids: list[int]
) -> dict[int, Message]:
    """The newest message of each of these conversations of one Page."""
    newest = (
        tenant_select(Message, tenant_id)
        .with_only_columns(func.max(Message.id))
        .where(Message.conversation_id.in_(conversation_ids))
        .group_by(Message.conversation_id)
    )
    last_rows = await session.execute(tenant_select(Message, tenant_id).where(Message.id.in_(newest)))
    return {m.conversation_id: m for m in last_rows.scalars()}


async def unread_counts(session: AsyncSession, tenant_id: int, conversation_ids: list[int]) -> dict[int, int]:
    """Unread notifications per conversation of one Page."""
    unread_rows = await session.execute(
        tenant_select(SellerNotification, tenant_id)
        .with_only_columns(SellerNotification.conversation_id, func.count())
        .where(SellerNotification.read_at.is_(None), SellerNotification.conversation_id.in_(conversation_ids))
        .group_by(SellerNotification.conversation_id)
    )
    return {int(cid): int(count) for cid, count in unread_rows.all() if cid is not None}


async def recent_conversations(session: AsyncSession, tenant_id: int, limit: int) -> list[Conversation]:
    """One Page's conversations, most recently active first."""
    rows = await session.execute(
        tenant_select(Conversation, tenant_id)
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
        .limit(limit)
    )
    return list(rows.scalars())


async def notifications(
    session: AsyncSession, tenant_id: int, *, conversation_id: int | None, unread_only: bool, limit: int
) -> list[SellerNotification]:
    """One Page's notifications, newest first (of one conversation, unread only, when asked)."""
    statement = tenant_select(SellerNotification, tenant_id)
    if conversation_id is not None:
        statement = statement.where(SellerNotification.conversation_id == conversation_id)
    if unread_only:
        statement = statement.where(SellerNotification.read_at.is_(None))
    rows = await session.execute(statement.order_by(SellerNotification.id.desc()).limit(limit))
    return list(rows.scalars())


async def notification(
    session: AsyncSession, tenant_id: int, notification_id: int
) -> SellerNotification | None:
    """One notification of one Page, or ``None``."""
    row = await session.execute(
        tenant_select(SellerNotification, tenant_id).where(SellerNotification.id == notification_id)
    )
    return row.scalar_one_or_none()
