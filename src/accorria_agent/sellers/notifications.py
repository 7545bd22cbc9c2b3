"""Seller notifications: what the dashboard shows the seller (handoffs, scams, refused sends, pauses).

Stored in the same transaction as the change they report, so a seller is told exactly once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from accorria_agent.db.base import Base, UTCDateTime, utcnow
from accorria_agent.live.bus import announce_for_tenant


class SellerNotification(Base):
    """One thing the seller should know about."""

    __tablename__ = "seller_notifications"
    __table_args__ = (
        Index("ix_seller_notifications_tenant_created", "tenant_id", "id"),
        # A conversation's notifications and its unread count (the inbox's "needs me") without reading
        # every notification of the Page.
        Index("ix_seller_notifications_conversation", "conversation_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("messenger_tenants.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("messenger_conversations.id", ondelete="CASCADE")
    )
    # handoff | scam | send_refused | send_failed | needs_reauth | restricted | paused | draft
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


async def notify_seller(
    session: AsyncSession, tenant_id: int, conversation_id: int | None, kind: str, text: str
) -> SellerNotification:
    """Record a notification in the caller's transaction."""
    notification = SellerNotification(
        tenant_id=tenant_id, conversation_id=conversation_id, kind=kind, text=text[:1000]
    )
    session.add(notification)
    await announce_for_tenant(session, tenant_id, "notification", conversation_id)
    return notification


async def mark_read(
    session: AsyncSession, tenant_id: int, conversation_id: int, kind: str, at: datetime
) -> None:
    """Mark a conversation's unread notifications of ``kind`` read (what they announced is over)."""
    await session.execute(
        update(SellerNotification)
        .where(
            SellerNotification.tenant_id == tenant_id,
            SellerNotification.conversation_id == conversation_id,
            SellerNotification.kind == kind,
            SellerNotification.read_at.is_(None),
        )
        .values(read_at=at)
    )
