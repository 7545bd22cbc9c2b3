"""Storage models of notification delivery: member preferences, the account's webhook, each delivery."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from accorria_agent.db.base import Base, JsonColumn, UTCDateTime, utcnow

# Every kind a SellerNotification may have; booking, deal and escrow are written by the deals work.
NOTIFICATION_KINDS = (
    "handoff",
    "scam",
    "send_refused",
    "send_failed",
    "needs_reauth",
    "restricted",
    "paused",
    "booking",
    "deal",
    "escrow",
)
# What a member gets by email when they never chose: what needs a person now.
DEFAULT_EMAIL_KINDS = ("handoff", "scam", "needs_reauth", "restricted", "booking", "deal", "escrow")
EMAIL_MODES = ("immediate", "digest", "off")


class NotificationPreference(Base):
    """What one member of an account wants by email, and when (one row per member)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("seller_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"))
    # MemberContext.member_id (until the members table exists, the seller's owner has the seller's id).
    member_id: Mapped[int] = mapped_column(Integer)
    email_kinds: Mapped[list[str]] = mapped_column(JsonColumn, default=list)
    # immediate | digest (one mail a day) | off
    email_mode: Mapped[str] = mapped_column(String(16), default="immediate")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class NotificationWebhook(Base):
    """The account's optional outgoing webhook: every notification is POSTed there, HMAC-signed."""

    __tablename__ = "notification_webhooks"
    __table_args__ = (UniqueConstraint("seller_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2000))
    # Fernet token of the signing secret (accorria_agent.crypto), never stored or logged in clear.
    secret_encrypted: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class NotificationDelivery(Base):
    """One notification (or one digest) on one channel to one recipient: sent at most once.

    ``idempotency_key`` is unique: ``email:<notification id>:<member id>``,
    ``webhook:<notification id>``, ``digest:<seller>:<member>:<local date>``.
    """

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        Index("ix_notification_deliveries_status_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"))
    notification_id: Mapped[int | None] = mapped_column(
        ForeignKey("seller_notifications.id", ondelete="CASCADE")
    )
    # email | webhook | digest
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(2000))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    # pending | digest (waits for the daily digest) | sending (a digest claimed until next_attempt_at)
    # | sent | digested | failed (gave up)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class NotificationDispatchState(Base):
    """The id of the last seller_notifications row turned into deliveries (one row, id 1)."""

    __tablename__ = "notification_dispatch_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_notification_id: Mapped[int] = mapped_column(Integer, default=0)
