"""All SQL of the dashboard: a seller's Pages, and per Page (always through ``tenant_select``) the rows
its lists and summaries show."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, Integer, Select, func, literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.conversations.models import Conversation, Message
from accorria_agent.dashboard.schemas import InboxFilter
from accorria_agent.db.base import UTCDateTime
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


def like_pattern(text: str) -> str:
    """``%text%`` with LIKE's own wildcards (and the escape character) taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(tenant_id: int, wanted: InboxFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if wanted.text:
        pattern = like_pattern(wanted.text)
        in_messages = (
            tenant_select(Message, tenant_id)
            .with_only_columns(literal(1))
            .where(Message.conversation_id == Conversation.id, Message.text.ilike(pattern, escape="\\"))
            .exists()
        )
        in_listing = (
            tenant_select(Listing, tenant_id)
            .with_only_columns(literal(1))
            .where(
                Listing.id == Conversation.listing_id,
                or_(Listing.make.ilike(pattern, escape="\\"), Listing.model.ilike(pattern, escape="\\")),
            )
            .exists()
        )
        conditions.append(or_(Conversation.buyer_name.ilike(pattern, escape="\\"), in_messages, in_listing))
    if wanted.needs_me:
        unread = (
            tenant_select(SellerNotification, tenant_id)
            .with_only_columns(literal(1))
            .where(
                SellerNotification.conversation_id == Conversation.id, SellerNotification.read_at.is_(None)
            )
            .exists()
        )
        conditions.append(or_(Conversation.mode != "bot", unread))
    if wanted.handed_off:
        conditions.append(Conversation.mode == "handed_off")
    if wanted.deals:
        conditions.append(Conversation.negotiation_state["agreed_price"].as_string().is_not(None))
    if wanted.listing_id is not None:
        conditions.append(Conversation.listing_id == wanted.listing_id)
    if wanted.assigned_to is not None:
        conditions.append(Conversation.assigned_member_id == wanted.assigned_to)
    if wanted.unassigned:
        conditions.append(Conversation.assigned_member_id.is_(None))
    return conditions


def _inbox_select(tenant_id: int, wanted: InboxFilter) -> Select[Conversation]:
    return tenant_select(Conversation, tenant_id).where(*_conditions(tenant_id, wanted))


async def conversations_page(
    session: AsyncSession,
    tenant_id: int,
    wanted: InboxFilter,
    *,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[Conversation]:
    """One Page's conversations matching ``wanted``, most recently active first, after a keyset cursor.

    Keyset on ``(updated_at, id)`` (index ``ix_messenger_conversations_tenant_updated``): a page costs
    the same at the end of 10,000 conversations as at the start, and a conversation that becomes active
    while the seller pages moves above the cursor instead of shifting every later page (no duplicates).
    """
    statement = _inbox_select(tenant_id, wanted)
    if after is not None:
        # Typed binds: the timestamp is stored exactly as the column stores it (UTC; SQLite text).
        position = tuple_(literal(after[0], UTCDateTime()), literal(after[1], Integer()))
        statement = statement.where(tuple_(Conversation.updated_at, Conversation.id) < position)
    rows = await session.execute(
        statement.order_by(Conversation.updated_at.desc(), Conversation.id.desc()).limit(limit)
    )
    return list(rows.scalars())


async def messages_before(
    session: AsyncSession, tenant_id: int, conversation_id: int, *, before: int | None, limit: int
) -> list[Message]:
    """A conversation's newest ``limit`` messages older than message ``before``, newest first."""
    statement = tenant_select(Message, tenant_id).where(Message.conversation_id == conversation_id)
    if before is not None:
        statement = statement.where(Message.id < before)
    rows = await session.execute(statement.order_by(Message.id.desc()).limit(limit))
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
