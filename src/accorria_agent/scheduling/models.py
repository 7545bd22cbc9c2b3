"""Storage models of test drives: a seller's availability and the bookings that hold its slots.

No double booking is enforced by the database: slots lie on a fixed grid per seller (every slot starts
``slot_minutes + buffer_minutes`` after the previous one, from the opening time of each day), so two
overlapping bookings of one seller would have the same start. A unique index on
``(seller_id, starts_at)`` over the *booked* rows (partial on status) therefore refuses the second one
whatever the race; cancelled and finished bookings free nothing twice and block nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from accorria_agent.db.base import Base, JsonColumn, UTCDateTime, utcnow

# booked (holds the slot) | done | no_show | cancelled
BOOKING_STATUSES = ("booked", "done", "no_show", "cancelled")
_BOOKED = text("status = 'booked'")


class AvailabilitySpec:
    """The columns of an availability, shared by the seller's row and a Page's or listing's override."""

    # {"mon": [["09:00", "18:00"]], ...} in the seller's timezone; a missing day is closed.
    weekly_hours: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    # [{"date": "2026-12-24", "hours": []}] — empty hours = day off; hours replace the weekly ones.
    exceptions: Mapped[list[Any]] = mapped_column(JsonColumn, default=list)
    slot_minutes: Mapped[int] = mapped_column(Integer, default=45)
    buffer_minutes: Mapped[int] = mapped_column(Integer, default=15)
    min_notice_minutes: Mapped[int] = mapped_column(Integer, default=60)
    # Told to buyers before booking ("Dearborn, MI"); the exact address only in the confirmation.
    place_area: Mapped[str | None] = mapped_column(String(200))
    place_address: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Availability(AvailabilitySpec, Base):
    """When and where one seller shows cars (one row per seller; absent means the default hours)."""

    __tablename__ = "test_drive_availability"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"), unique=True)
    # sha256 of the calendar feed's secret (the secret itself is shown once, never stored).
    calendar_secret_hash: Mapped[str | None] = mapped_column(String(64), unique=True)


class Booking(Base):
    """One test drive: a buyer's conversation holding one slot of the seller's calendar."""

    __tablename__ = "test_drive_bookings"
    __table_args__ = (
        Index(
            "uq_test_drive_bookings_seller_slot",
            "seller_id",
            "starts_at",
            unique=True,
            postgresql_where=_BOOKED,
            sqlite_where=_BOOKED,
        ),
        # One live booking per conversation: a second time proposed is a reschedule, not a new slot.
        Index(
            "uq_test_drive_bookings_conversation",
            "conversation_id",
            unique=True,
            postgresql_where=_BOOKED,
            sqlite_where=_BOOKED,
        ),
        Index("ix_test_drive_bookings_seller_starts", "seller_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("messenger_tenants.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("messenger_conversations.id", ondelete="CASCADE"))
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id", ondelete="SET NULL"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="booked")
    # What the calendar shows: the car, and the place as it was when booked.
    summary: Mapped[str] = mapped_column(String(300), default="Test drive")
    location: Mapped[str | None] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(String(64), default="America/Detroit")
    # iCalendar SEQUENCE: bumped on every move or cancel so calendars replace the event.
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class AvailabilityOverride(AvailabilitySpec, Base):
    """A Page's or a listing's own availability, used instead of the seller's when booking for it.

    Exactly one of ``tenant_id`` (a Page) and ``listing_id`` is set; a listing's override wins over its
    Page's, which wins over the seller's row. Null place fields fall back to the seller's place. Bookings
    still share the seller's one calendar (one person shows the cars): a slot booked through any
    override is busy for all of them.
    """

    __tablename__ = "test_drive_overrides"
    __table_args__ = (
        Index("ix_test_drive_overrides_seller", "seller_id"),
        CheckConstraint("(tenant_id IS NULL) <> (listing_id IS NULL)", name="one_scope"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"))
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("messenger_tenants.id", ondelete="CASCADE"), unique=True
    )
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"), unique=True)
