"""One row per audited action of a seller account."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from accorria_agent.db.base import Base, JsonColumn, UTCDateTime, utcnow

AUDIT_ACTOR_KINDS = ("bot", "member", "system")


class AuditEvent(Base):
    """Who did what to which subject of ``seller_id``'s account, and when."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_seller_id_id", "seller_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"))
    actor_kind: Mapped[str] = mapped_column(String(16))  # bot | member | system
    actor_id: Mapped[int | None] = mapped_column(Integer)  # the member's id when actor_kind is member
    action: Mapped[str] = mapped_column(String(64))  # e.g. "auth.sign_in", "settings.update"
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
