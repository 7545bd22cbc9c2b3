"""Storage models of listing photos (the listing itself is ``sellers.models.Listing``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from accorria_agent.db.base import Base, UTCDateTime, utcnow


class ListingPhoto(Base):
    """One uploaded photo of a listing, stored re-encoded (metadata stripped) in several sizes.

    ``key`` is random and unguessable: photo URLs are public (Messenger fetches image attachments by URL),
    so the key is what keeps a seller's unpublished photos from being enumerated.
    """

    __tablename__ = "listing_photos"
    __table_args__ = (Index("ix_listing_photos_listing_position", "listing_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"), index=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64), unique=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
