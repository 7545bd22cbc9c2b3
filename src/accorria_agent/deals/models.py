"""Storage models of deals: one per conversation that reached a price, and the events of its life.

``deal_events`` is the record analytics reads (conversion, escrow adoption, funnel): every step of a deal
is a row with its actor, written in the same transaction as the change it reports.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from accorria_agent.db.base import Base, JsonColumn, Money, UTCDateTime, utcnow

# The kinds of deal event; the funnel reads them in this order.
DEAL_EVENT_KINDS = (
    "offer_made",
    "price_agreed",
    "test_drive_booked",
    "test_drive_rescheduled",
    "test_drive_cancelled",
    "test_drive_done",
    "test_drive_no_show",
    "escrow_started",
    "escrow_failed",
    "escrow_funded",
    "escrow_released",
    "escrow_cancelled",
    "escrow_disputed",
    "sold",
    "lost",
)
# Who caused an event.
ACTOR_KINDS = ("bot", "buyer", "member", "system", "escrow")


class Deal(Base):
    """One buyer's deal on one listing (one per conversation)."""

    __tablename__ = "deals"
    __table_args__ = (
        UniqueConstraint("conversation_id"),
        Index("uq_deals_escrow_transaction_id", "escrow_transaction_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("messenger_tenants.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("messenger_conversations.id", ondelete="CASCADE"))
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id", ondelete="SET NULL"), index=True)
    # negotiating | agreed | escrow_started | escrow_funded | sold | lost | cancelled
    status: Mapped[str] = mapped_column(String(32), default="negotiating")
    agreed_price: Mapped[Decimal | None] = mapped_column(Money())
    asking_price: Mapped[Decimal | None] = mapped_column(Money())
    agreed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Escrow (migration 0011). The transaction id is unique: one deal never holds two transactions, and
    # one transaction never belongs to two deals.
    # none | creating | retrying | failed | pending | funded | released | cancelled | disputed
    escrow_status: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    escrow_transaction_id: Mapped[str | None] = mapped_column(String(64))
    escrow_checkout_url: Mapped[str | None] = mapped_column(String(500))
    escrow_fee: Mapped[Decimal | None] = mapped_column(Money())
    escrow_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    escrow_error: Mapped[str | None] = mapped_column(String(300))


class EscrowWebhookEvent(Base):
    """An escrow status webhook we accepted, by the provider's event id (unique: a replay is refused)."""

    __tablename__ = "escrow_webhook_events"
    __table_args__ = (UniqueConstraint("event_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100))
    transaction_id: Mapped[str] = mapped_column(String(64))
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(200), default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DealEvent(Base):
    """One step of a deal, with who caused it. Never updated; deleted only with the seller's data."""

    __tablename__ = "deal_events"
    __table_args__ = (
        Index("ix_deal_events_seller_occurred", "seller_id", "occurred_at"),
        Index("ix_deal_events_deal", "deal_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("messenger_tenants.id", ondelete="CASCADE"))
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("messenger_conversations.id", ondelete="CASCADE"))
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    actor_kind: Mapped[str] = mapped_column(String(16))
    # The member's id when actor_kind == "member", else None.
    actor_id: Mapped[int | None] = mapped_column(Integer)
    amount: Mapped[Decimal | None] = mapped_column(Money())
    details: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
