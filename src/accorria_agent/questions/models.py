"""Storage of seller questions (what buyers asked that the listing does not say) and listing facts.

A :class:`SellerQuestion` is opened when the agent tells a buyer it is asking the seller; the seller's
answer closes it and becomes a :class:`ListingFact` of the listing (one per topic), which the agent
then uses like any listing field, so the next buyer who asks is answered at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from accorria_agent.db.base import Base, UTCDateTime, utcnow


class ListingFact(Base):
    """One fact the seller stated about a listing (usually by answering a buyer's question)."""

    __tablename__ = "listing_facts"
    __table_args__ = (UniqueConstraint("listing_id", "topic"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"), index=True)
    # A canonical topic code of the parser ("rust", "trade in", "location" …).
    topic: Mapped[str] = mapped_column(String(64))
    answer: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class SellerQuestion(Base):
    """A buyer's question the agent passed to the seller."""

    __tablename__ = "seller_questions"
    __table_args__ = (
        Index("ix_seller_questions_tenant_status", "tenant_id", "status"),
        Index("ix_seller_questions_listing_topic", "listing_id", "topic"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("messenger_tenants.id", ondelete="CASCADE"))
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("messenger_conversations.id", ondelete="CASCADE"), index=True
    )
    topic: Mapped[str] = mapped_column(String(64))
    # The buyer's words (shortened), shown to the seller only, never logged.
    buyer_text: Mapped[str] = mapped_column(Text, default="")
    # The buyer's language: the answer is relayed in it.
    language: Mapped[str] = mapped_column(String(8), default="en")
    # open | answered
    status: Mapped[str] = mapped_column(String(16), default="open")
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[int | None] = mapped_column(Integer)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
