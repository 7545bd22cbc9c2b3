"""All SQL of the deals domain. Seller-facing reads are scoped by ``seller_id`` (account data) or start
from ``tenant_select`` (Page data); the job and webhook paths read a deal by its id or its transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.conversations.models import Conversation, Message
from accorria_agent.db.base import utcnow
from accorria_agent.db.tenancy import tenant_select
from accorria_agent.deals.models import Deal, DealEvent, EscrowWebhookEvent
from accorria_agent.sellers.models import Listing, MessengerTenant, Seller

# A deal in one of these states is finished: nothing moves it any more.
CLOSED_STATUSES = ("sold", "lost", "cancelled")


async def deal_for_seller(session: AsyncSession, seller_id: int, deal_id: int) -> Deal | None:
    """The seller's deal, or ``None`` (someone else's id included)."""
    result = await session.execute(select(Deal).where(Deal.id == deal_id, Deal.seller_id == seller_id))
    return result.scalar_one_or_none()


async def deals_for_seller(
    session: AsyncSession, seller_id: int, *, status: str | None, limit: int, offset: int
) -> Sequence[Deal]:
    """The seller's deals, most recently changed first."""
    query = select(Deal).where(Deal.seller_id == seller_id)
    if status is not None:
        query = query.where(Deal.status == status)
    result = await session.execute(
        query.order_by(Deal.updated_at.desc(), Deal.id.desc()).limit(limit).offset(offset)
    )
    return result.scalars().all()


async def events_of(session: AsyncSession, seller_id: int, deal_ids: Sequence[int]) -> Sequence[DealEvent]:
    """The events of the seller's deals ``deal_ids``, oldest first (one query for a page of deals)."""
    if not deal_ids:
        return []
    result = await session.execute(
        select(DealEvent)
        .where(DealEvent.seller_id == seller_id, DealEvent.deal_id.in_(deal_ids))
        .order_by(DealEvent.deal_id, DealEvent.id)
    )
    return result.scalars().all()


async def deal_for_update(session: AsyncSession, deal_id: int) -> Deal | None:
    """The deal, row-locked on PostgreSQL (SQLite transactions are serialised already)."""
    result = await session.execute(
        select(Deal).where(Deal.id == deal_id).with_for_update().execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def deal_by_transaction(session: AsyncSession, transaction_id: str) -> Deal | None:
    result = await session.execute(
        select(Deal).where(Deal.escrow_transaction_id == transaction_id).with_for_update()
    )
    return result.scalar_one_or_none()


async def open_deals_of_listing(session: AsyncSession, listing_id: int, seller_id: int) -> Sequence[Deal]:
    result = await session.execute(
        select(Deal).where(
            Deal.listing_id == listing_id, Deal.seller_id == seller_id, Deal.status.not_in(CLOSED_STATUSES)
        )
    )
    return result.scalars().all()


async def listing_for_seller(session: AsyncSession, seller_id: int, listing_id: int) -> Listing | None:
    result = await session.execute(
        select(Listing).where(Listing.id == listing_id, Listing.seller_id == seller_id).with_for_update()
    )
    return result.scalar_one_or_none()


async def other_active_listings(
    session: AsyncSession, seller_id: int, exclude_listing_id: int, limit: int = 3
) -> Sequence[Listing]:
    """The seller's other active listings, newest first (offered to buyers of a sold car)."""
    result = await session.execute(
        select(Listing)
        .where(Listing.seller_id == seller_id, Listing.status == "active", Listing.id != exclude_listing_id)
        .order_by(Listing.id.desc())
        .limit(limit)
    )
    return result.scalars().all()


async def seller_and_tenant(session: AsyncSession, deal: Deal) -> tuple[Seller, MessengerTenant] | None:
    row = (
        await session.execute(
            select(Seller, MessengerTenant)
            .join(MessengerTenant, MessengerTenant.seller_id == Seller.id)
            .where(Seller.id == deal.seller_id, MessengerTenant.id == deal.tenant_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def conversation_of(session: AsyncSession, tenant_id: int, conversation_id: int) -> Conversation | None:
    result = await session.execute(
        tenant_select(Conversation, tenant_id).where(Conversation.id == conversation_id)
    )
    return result.scalar_one_or_none()


async def listing_of(session: AsyncSession, deal: Deal) -> Listing | None:
    if deal.listing_id is None:
        return None
    result = await session.execute(
        select(Listing).where(Listing.id == deal.listing_id, Listing.seller_id == deal.seller_id)
    )
    return result.scalar_one_or_none()


async def conversations_to_tell(
    session: AsyncSession, tenant_id: int, listing_id: int, *, exclude_ids: Sequence[int], since: datetime
) -> Sequence[Conversation]:
    """The listing's conversations the bot may still write to: bot mode, buyer wrote since ``since``."""
    query = tenant_select(Conversation, tenant_id).where(
        Conversation.listing_id == listing_id,
        Conversation.mode == "bot",
        Conversation.last_buyer_message_at >= since,
    )
    if exclude_ids:
        query = query.where(Conversation.id.not_in(exclude_ids))
    result = await session.execute(query.order_by(Conversation.id))
    return result.scalars().all()


async def outbound_key_taken(session: AsyncSession, tenant_id: int, key: str) -> bool:
    """Whether a message with our deterministic ``outbound_key`` exists (a notice is sent once)."""
    query = tenant_select(Message, tenant_id).where(Message.outbound_key == key)
    return bool(await session.scalar(select(exists(query.subquery()))))


async def store_webhook_event(
    session: AsyncSession, *, event_id: str, transaction_id: str, status: str, deal_id: int | None
) -> bool:
    """Insert the accepted webhook's id; ``False`` when it was stored before (a replay)."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(EscrowWebhookEvent)
        .values(
            event_id=event_id,
            transaction_id=transaction_id,
            status=status,
            deal_id=deal_id,
            outcome="",
            received_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(EscrowWebhookEvent.id)
    )
    return (await session.execute(statement)).scalar_one_or_none() is not None


async def deal_for_conversation_id(session: AsyncSession, conversation_id: int) -> Deal | None:
    result = await session.execute(select(Deal).where(Deal.conversation_id == conversation_id))
    return result.scalar_one_or_none()
