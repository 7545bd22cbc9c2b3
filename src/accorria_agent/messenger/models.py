"""Storage of what Meta sent us: every webhook delivery and every event in it (the durable inbox)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from accorria_agent.db.base import Base, JsonColumn, UTCDateTime, utcnow


class WebhookDelivery(Base):
    """One signed POST /webhook that we accepted (the raw body is kept for audit and replay)."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    object: Mapped[str] = mapped_column(String(32))
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    body: Mapped[str] = mapped_column(Text)


class WebhookRefusal(Base):
    """A signed delivery the database refused to store (poison input), kept with the error and answered 200.

    Answering 5xx would make Meta redeliver it for ever and fail every batch it joins; here an operator
    can read what was refused and why. The body is cut at ``intake.REFUSED_BODY_LIMIT`` characters.
    """

    __tablename__ = "webhook_refusals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    object: Mapped[str] = mapped_column(String(32))
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(String(500))
    body_sha256: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)


class EventLog(Base):
    """One webhook event, stored before we answer 200; processed later, in order, by the conversation job.

    ``event_key`` makes storage idempotent: Meta redelivers, and the same ``mid`` must become one
    message and one reply.
    """

    __tablename__ = "messenger_events_log"
    __table_args__ = (
        UniqueConstraint("page_id", "event_key"),
        Index("ix_messenger_events_log_pending", "page_id", "buyer_psid", "processed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="SET NULL"))
    page_id: Mapped[str] = mapped_column(String(64))
    # The Page's tenant when we serve it (filled at intake), so the log is deleted with its seller.
    # No foreign key: the intake must never fail on a Page disconnected mid-delivery.
    tenant_id: Mapped[int | None] = mapped_column(Integer, index=True)
    buyer_psid: Mapped[str] = mapped_column(String(64))
    event_key: Mapped[str] = mapped_column(String(300))
    # message | echo | postback | delivery | read | reaction | message_edit | referral | optin | handover | …
    kind: Mapped[str] = mapped_column(String(32))
    # messaging | standby
    channel: Mapped[str] = mapped_column(String(16), default="messaging")
    timestamp_ms: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonColumn)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(200))


# The one scope of SendingControl today; per-region or per-app switches would be other rows.
GLOBAL_SENDING_SCOPE = "global"


class SendingControl(Base):
    """The operator's global kill switch (one row, ``scope = 'global'``), read by every process at send time.

    It lives in the system of record rather than in process memory so that one command stops every web and
    worker process at once, and a restarted process comes back still stopped.
    """

    __tablename__ = "sending_controls"

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    halted: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(String(500))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
