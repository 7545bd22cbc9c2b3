"""Storage models of the seller side: who sells, what, through which Page, under which rules."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from accorria_agent.db.base import Base, JsonColumn, Money, UTCDateTime, utcnow


class Seller(Base):
    """A private seller or a dealership: the owner of tenants and listings."""

    __tablename__ = "sellers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="America/Detroit")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MessengerTenant(Base):
    """One connected Facebook Page. Every conversation and message belongs to exactly one tenant."""

    __tablename__ = "messenger_tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"), index=True)
    page_id: Mapped[str] = mapped_column(String(64), unique=True)
    page_name: Mapped[str] = mapped_column(String(200), default="")
    # Fernet token of the Page access token; decrypt only through accorria_agent.crypto.
    page_access_token_encrypted: Mapped[str] = mapped_column(Text)
    # active | needs_reauth | restricted | paused
    status: Mapped[str] = mapped_column(String(32), default="active")
    status_reason: Mapped[str | None] = mapped_column(String(500))
    # The app-scoped id of the Facebook user who connected the Page (Meta's deauthorize and data-deletion
    # callbacks name that user); None for Pages connected before it was recorded.
    facebook_user_id: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class MessengerSettings(Base):
    """How the bot behaves on one Page (one row per tenant)."""

    __tablename__ = "messenger_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("messenger_tenants.id", ondelete="CASCADE"), unique=True
    )
    bot_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # bot (the assistant answers) | copilot (it drafts, the seller sends) | off; kept in step with
    # ``bot_enabled`` (off exactly when the bot is disabled). A listing's own ``reply_mode`` wins.
    reply_mode: Mapped[str] = mapped_column(String(16), default="bot", server_default="bot")
    # A human-written reply may use the HUMAN_AGENT tag between 24 h and 7 days; the bot never tags.
    human_agent_tag_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Minutes of seller silence after which a paused bot resumes by itself; None = never.
    auto_resume_minutes: Mapped[int | None] = mapped_column(Integer)
    disclosure_text: Mapped[str] = mapped_column(
        Text,
        default="Hi! I'm the seller's automated assistant. Ask me anything, or tap 'Talk to the seller'.",
    )
    # The disclosure per buyer language ({"es": "..."}); a language without one uses the locale's default
    # when ``disclosure_text`` is the default, else ``disclosure_text`` itself.
    disclosure_texts: Mapped[dict[str, str] | None] = mapped_column(JsonColumn)
    human_like_delays: Mapped[bool] = mapped_column(Boolean, default=True)
    # Defaults sized from Meta's 300 Send API calls/s per Page (messenger/rate_limit.py); the seed's
    # 20/min, 200/h, 1,000/day (rate_limit.CONSERVATIVE) remain available per Page.
    rate_limit_per_minute: Mapped[int] = mapped_column(Integer, default=18_000)
    rate_limit_per_hour: Mapped[int] = mapped_column(Integer, default=1_080_000)
    rate_limit_per_day: Mapped[int] = mapped_column(Integer, default=25_920_000)


class Listing(Base):
    """A car for sale and the seller's negotiation rules for it. ``price_floor`` is never shown to buyers."""

    __tablename__ = "listings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("sellers.id", ondelete="CASCADE"), index=True)
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("messenger_tenants.id", ondelete="SET NULL"), index=True
    )
    year: Mapped[int] = mapped_column(Integer)
    make: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(64))
    trim: Mapped[str | None] = mapped_column(String(64))
    mileage: Mapped[int | None] = mapped_column(Integer)
    vin: Mapped[str | None] = mapped_column(String(17))
    features: Mapped[list[str]] = mapped_column(JsonColumn, default=list)
    photos: Mapped[list[str]] = mapped_column(JsonColumn, default=list)
    description: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    asking_price: Mapped[Decimal] = mapped_column(Money())
    price_floor: Mapped[Decimal] = mapped_column(Money())
    auto_accept_threshold: Mapped[Decimal | None] = mapped_column(Money())
    max_concessions: Mapped[int] = mapped_column(Integer, default=3)
    response_tone: Mapped[str] = mapped_column(String(32), default="friendly")
    escrow_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # bot | copilot | off for this car; None = as its Page's settings say.
    reply_mode: Mapped[str | None] = mapped_column(String(16))
    # active | paused | sold | archived
    status: Mapped[str] = mapped_column(String(32), default="active")
    # Raised (in SQL, so concurrent writers each count) whenever the seller's stated facts of this listing
    # change (questions domain): a turn reads it with the listing and serves the facts from a cache while it
    # is the same, and reads none while it is 0 (no fact ever stated).
    facts_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
