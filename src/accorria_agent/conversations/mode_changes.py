"""Every change of a conversation's mode (bot ↔ paused/handed_off), with its cause, for analytics.

``Conversation.paused_reason`` is overwritten when the bot resumes, so it cannot tell how many
takeovers happened or why. Rather than touching each place that changes a mode (the pipeline, the
Page Inbox handover events, the dashboard, auto-resume), one SQLAlchemy ``before_flush`` hook sees
every ORM change of ``Conversation.mode`` and appends a row here, in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, event, inspect
from sqlalchemy.orm import Mapped, Session, UOWTransaction, mapped_column

from accorria_agent.conversations.models import Conversation
from accorria_agent.db.base import Base, UTCDateTime, utcnow

# Why a human took a conversation over (the analytics "human takeover" causes).
TAKEOVER_CAUSES = ("buyer_asked", "scam", "seller_stepped_in", "other")


class ConversationModeChange(Base):
    """One mode change of one conversation. Never updated."""

    __tablename__ = "conversation_mode_changes"
    __table_args__ = (Index("ix_conversation_mode_changes_conversation", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("messenger_tenants.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("messenger_conversations.id", ondelete="CASCADE"))
    from_mode: Mapped[str | None] = mapped_column(String(32))
    to_mode: Mapped[str] = mapped_column(String(32))
    # One of TAKEOVER_CAUSES when to_mode is paused/handed_off; "resumed" when back to the bot.
    cause: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def takeover_cause(to_mode: str, reason: str | None) -> str:
    """The analytics cause of a change to ``to_mode`` whose recorded reason is ``reason``."""
    if to_mode == "bot":
        return "resumed"
    if to_mode == "paused":
        # Paused is always a person on the seller's side (Page Inbox reply, handover, dashboard).
        return "seller_stepped_in"
    if reason == "scam":
        return "scam"
    if reason == "human_request":
        return "buyer_asked"
    return "other"


def _record_mode_changes(session: Session, _flush_context: UOWTransaction, _instances: Any) -> None:
    for obj in list(session.dirty):
        if not isinstance(obj, Conversation):
            continue
        history = inspect(obj).attrs.mode.history
        if not history.added:
            continue
        new_mode = str(history.added[0])
        old_mode = str(history.deleted[0]) if history.deleted else None
        if new_mode == old_mode:
            continue
        session.add(
            ConversationModeChange(
                tenant_id=obj.tenant_id,
                conversation_id=obj.id,
                from_mode=old_mode,
                to_mode=new_mode,
                cause=takeover_cause(new_mode, obj.paused_reason),
                reason=(obj.paused_reason or None) and str(obj.paused_reason)[:200],
                changed_at=_changed_at(obj, new_mode),
            )
        )


def _changed_at(conversation: Conversation, new_mode: str) -> datetime:
    """``paused_at`` when this very change set it (it carries Meta's or the job's clock), else now."""
    paused_at = inspect(conversation).attrs.paused_at.history.added
    if new_mode != "bot" and paused_at and isinstance(paused_at[0], datetime):
        return paused_at[0]
    return utcnow()


def install_mode_change_hook() -> None:
    """Record mode changes from every ORM session of this process (idempotent)."""
    if not event.contains(Session, "before_flush", _record_mode_changes):
        event.listen(Session, "before_flush", _record_mode_changes)
