"""Record a deal's steps: find or open its deal, append an event, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.db.base import utcnow
from accorria_agent.deals.models import ACTOR_KINDS, DEAL_EVENT_KINDS, Deal, DealEvent


async def deal_for_conversation(
    session: AsyncSession,
    *,
    seller_id: int,
    tenant_id: int,
    conversation_id: int,
    listing_id: int | None,
    asking_price: Decimal | None = None,
) -> Deal:
    """The conversation's deal, opened (status ``negotiating``) if it has none yet."""
    deal = (
        await session.execute(
            select(Deal).where(Deal.conversation_id == conversation_id, Deal.tenant_id == tenant_id)
        )
    ).scalar_one_or_none()
    if deal is None:
        deal = Deal(
            seller_id=seller_id,
            tenant_id=tenant_id,
            conversation_id=conversation_id,
            listing_id=listing_id,
            asking_price=asking_price,
        )
        session.add(deal)
        await session.flush()
    return deal


async def record_deal_event(
    session: AsyncSession,
    deal: Deal,
    kind: str,
    *,
    actor_kind: str,
    actor_id: int | None = None,
    amount: Decimal | None = None,
    details: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> DealEvent:
    """Append one event to ``deal`` (flushes, never commits)."""
    if kind not in DEAL_EVENT_KINDS:
        raise ValueError(f"unknown deal event kind {kind!r}")
    if actor_kind not in ACTOR_KINDS:
        raise ValueError(f"unknown actor kind {actor_kind!r}")
    event = DealEvent(
        seller_id=deal.seller_id,
        tenant_id=deal.tenant_id,
        deal_id=deal.id,
        conversation_id=deal.conversation_id,
        listing_id=deal.listing_id,
        kind=kind,
        actor_kind=actor_kind,
        actor_id=actor_id,
        amount=amount,
        details=details or {},
        occurred_at=occurred_at or utcnow(),
    )
    session.add(event)
    await session.flush()
    return event
