"""Storage models of conversations and their messages (both directions)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from accorria_agent.db.base import Base, JsonColumn, Money, UTCDateTime, utcnow

# An outbound message a sender has claimed (see ``sending.repository.claim``): that sender alone may call
# the Send API for it. ``claimed_at`` says since when.
SENDING = "sending"
# How long a claim protects its sender. A live sender is done with its claim well within it: the Send API
# call with its inline retries (4 attempts of at most 10 s, ~5 s of backoff, ~2 s of rate limiting) and
# then at most ``sending.delivery.RECORD_SENT_DEADLINE_SECONDS`` (90 s) after the claim to record the
# result. Past it the sender is gone (killed, or it gave up on an unreachable database), and the reply is
# handled as ``sending.delivery`` says: re-sent unless Meta's echo reconciled it first.
SENDING_CLAIM_TIMEOUT_SECONDS = 120.0


class Conversation(Base):
    """One buyer (PSID) talking to one Page (tenant), optionally about one listing."""

    __tablename__ = "messenger_conversations"
    __table_args__ = (
        UniqueConstraint("tenant_id", "buyer_psid"),
        # The inbox pages a Page's conversations by last activity (keyset on updated_at, id).
        Index("ix_messenger_conversations_tenant_updated", "tenant_id", "updated_at", "id"),
        # "Assigned to me" pages only the member's conversations, in the same order.
        Index(
            "ix_messenger_conversations_tenant_assigned",
            "tenant_id",
            "assigned_member_id",
            "updated_at",
            "id",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("messenger_tenants.id", ondelete="CASCADE"), index=True)
    buyer_psid: Mapped[str] = mapped_column(String(64))
    buyer_name: Mapped[str | None] = mapped_column(String(200))
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id", ondelete="SET NULL"))
    # bot | paused (seller took over) | handed_off (bot asked the seller to take over)
    mode: Mapped[str] = mapped_column(String(32), default="bot")
    paused_reason: Mapped[str | None] = mapped_column(String(200))
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    negotiation_state: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    # The 24-hour window opens at the buyer's last message (reads, deliveries and echoes don't count).
    last_buyer_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_bot_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_seller_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disclosed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The member of the seller's account who looks after this buyer (None: anyone). Only the dashboard's
    # assign use case writes it, after checking the member belongs to the conversation's account.
    assigned_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Message(Base):
    """A message in a conversation. Inbound ones are unique per Page by Meta's ``mid``."""

    __tablename__ = "messenger_messages"
    __table_args__ = (
        UniqueConstraint("tenant_id", "mid"),
        UniqueConstraint("outbound_key"),
        Index("ix_messenger_messages_conversation_created", "conversation_id", "id"),
        # The periodic sweep finds claims whose sender is gone without scanning every message.
        Index(
            "ix_messenger_messages_sending_claimed",
            "claimed_at",
            postgresql_where=sql_text("status = 'sending'"),
            sqlite_where=sql_text("status = 'sending'"),
        ),
        # Held replies are found on resume without scanning every message ever sent.
        Index(
            "ix_messenger_messages_held",
            "tenant_id",
            "id",
            postgresql_where=sql_text("status = 'held'"),
            sqlite_where=sql_text("status = 'held'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("messenger_tenants.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("messenger_conversations.id", ondelete="CASCADE"))
    # inbound | outbound
    direction: Mapped[str] = mapped_column(String(16))
    # buyer | bot | seller
    author: Mapped[str] = mapped_column(String(16))
    mid: Mapped[str | None] = mapped_column(String(255))
    text: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    # Meta's timestamp of the event (inbound) or when we created the intent (outbound).
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Outbound: pending | queued | sending | held | sent | delivered | read | failed | refused | dropped
    # (held: kept while sending is halted or the Page is paused, released on resume; sending: claimed by
    # the one sender that may call the Send API for it, since ``claimed_at``)
    status: Mapped[str] = mapped_column(String(16), default="received")
    status_reason: Mapped[str | None] = mapped_column(String(500))
    # Our id for an outbound message, carried in the Send API ``metadata`` and echoed back by Meta.
    outbound_key: Mapped[str | None] = mapped_column(String(64))
    messaging_type: Mapped[str | None] = mapped_column(String(32))
    tag: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class ConversationDraft(Base):
    """A reply the bot decided and phrased in co-pilot mode, waiting for the seller (never sent on its own).

    ``state_after`` is the negotiation state the decision leads to: it becomes the conversation's only when
    the draft is sent, so a counter the buyer never saw is never "used". ``inputs`` are the buyer messages
    it answers: a newer buyer message supersedes the draft and the next one answers them all together.
    At most one draft per conversation is ``pending`` (a partial unique index).
    """

    __tablename__ = "conversation_drafts"
    __table_args__ = (
        Index(
            "ux_conversation_drafts_pending",
            "conversation_id",
            unique=True,
            postgresql_where=sql_text("status = 'pending'"),
            sqlite_where=sql_text("status = 'pending'"),
        ),
        Index("ix_conversation_drafts_tenant_conversation", "tenant_id", "conversation_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("messenger_tenants.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("messenger_conversations.id", ondelete="CASCADE"))
    # pending | sent | discarded | superseded
    status: Mapped[str] = mapped_column(String(16), default="pending")
    text: Mapped[str] = mapped_column(Text)
    quick_replies: Mapped[list[Any]] = mapped_column(JsonColumn, default=list)
    source: Mapped[str] = mapped_column(String(32), default="template")
    decision: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    decided_price: Mapped[Decimal | None] = mapped_column(Money())
    state_after: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    inputs: Mapped[list[Any]] = mapped_column(JsonColumn, default=list)
    handoff_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The member who sent or discarded it, and the message it became (when sent).
    resolved_by: Mapped[int | None] = mapped_column(Integer)
    message_id: Mapped[int | None] = mapped_column(Integer)


class SetAsideEvent(Base):
    """A stored event whose handling failed for a reason a retry would not change: set aside, not retried.

    The conversation's later messages are answered meanwhile; ``accorria-agent jobs failed`` lists these and
    ``accorria-agent jobs retry ID`` hands the event back to the conversation job (``retried_at`` set).
    """

    __tablename__ = "set_aside_events"
    __table_args__ = (Index("ix_set_aside_events_open", "retried_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("messenger_events_log.id", ondelete="CASCADE"), index=True
    )
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("messenger_tenants.id", ondelete="CASCADE"))
    page_id: Mapped[str] = mapped_column(String(64))
    buyer_psid: Mapped[str] = mapped_column(String(64))
    error: Mapped[str] = mapped_column(String(500))
    set_aside_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retried_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
