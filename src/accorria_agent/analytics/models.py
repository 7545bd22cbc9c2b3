"""``conversation_facts``: one row per conversation holding what the analytics report counts.

The report used to read every message, deal event and mode change of its cohort (25 s at 100,000
conversations). This row is written by database triggers (migration ``0018``) in the very transaction
that writes the underlying fact — a conversation created or moved to another listing, a message stored
or its status changed, a deal's agreed price, a deal event, a mode change — so every writer is covered
(ORM flushes, Core ``UPDATE``s, bulk seeds) without any of them knowing about analytics. Each trigger
updates one row by its primary key, recomputed from that conversation's own rows (a few index
probes), so the row is always what a full recount would give; ``accorria-agent analytics rebuild``
recounts everything from the source tables anyway (``repository.rebuild_facts``).

The report is then one indexed scan of ``(tenant_id, started_at)`` over the cohort's rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, false
from sqlalchemy.orm import Mapped, mapped_column

from accorria_agent.db.base import Base, UTCDateTime

# What the report reads of each row (besides the cohort's tenant_id, started_at and listing_id).
REPORT_COLUMNS = (
    "listing_id",
    "response_seconds",
    "offer_made",
    "price_agreed",
    "test_drive_booked",
    "escrow_started",
    "sold",
    "taken_over",
    "takeover_buyer_asked",
    "takeover_scam",
    "takeover_seller_stepped_in",
    "takeover_other",
    "policy_refusals",
    "agreed_deals",
    "agreed_to_asking_sum",
)


def _flag() -> Mapped[bool]:
    return mapped_column(Boolean, nullable=False, default=False, server_default=false())


class ConversationFacts(Base):
    """What one conversation contributed to the report. Written only by triggers and the rebuild."""

    __tablename__ = "conversation_facts"
    __table_args__ = (
        # On PostgreSQL the index carries every column the report reads: an index-only scan of the cohort.
        Index(
            "ix_conversation_facts_tenant_started",
            "tenant_id",
            "started_at",
            postgresql_include=list(REPORT_COLUMNS),
        ),
    )

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("messenger_conversations.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[int] = mapped_column(ForeignKey("messenger_tenants.id", ondelete="CASCADE"))
    # Not a foreign key: the conversation's own listing_id follows the listing (SET NULL), and so this.
    listing_id: Mapped[int | None] = mapped_column(Integer)
    # The conversation's created_at: the cohort a report covers.
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_buyer_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Our first accepted reply (bot or seller; sent, delivered or read) at or after the first buyer message.
    first_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # first_reply_at - first_buyer_message_at in seconds, kept so the report sorts plain doubles.
    response_seconds: Mapped[float | None] = mapped_column(Float)
    # The funnel: a deal event of that kind was recorded for the conversation (at any time).
    offer_made: Mapped[bool] = _flag()
    price_agreed: Mapped[bool] = _flag()
    test_drive_booked: Mapped[bool] = _flag()
    escrow_started: Mapped[bool] = _flag()
    sold: Mapped[bool] = _flag()
    # A change to a mode other than the bot, overall and by cause.
    taken_over: Mapped[bool] = _flag()
    takeover_buyer_asked: Mapped[bool] = _flag()
    takeover_scam: Mapped[bool] = _flag()
    takeover_seller_stepped_in: Mapped[bool] = _flag()
    takeover_other: Mapped[bool] = _flag()
    # Outbound messages whose status is "refused" (the send-time policy said no).
    policy_refusals: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    # Deals with an agreed price and a positive asking price, and the sum of agreed ÷ asking over them.
    agreed_deals: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    agreed_to_asking_sum: Mapped[float] = mapped_column(
        Float, nullable=False, default=0.0, server_default="0"
    )


# Deal event kind → the funnel column it sets.
FUNNEL_COLUMNS: dict[str, str] = {
    "offer_made": "offer_made",
    "price_agreed": "price_agreed",
    "test_drive_booked": "test_drive_booked",
    "escrow_started": "escrow_started",
    "sold": "sold",
}
# Takeover cause → its column.
CAUSE_COLUMNS: dict[str, str] = {
    "buyer_asked": "takeover_buyer_asked",
    "scam": "takeover_scam",
    "seller_stepped_in": "takeover_seller_stepped_in",
    "other": "takeover_other",
}
