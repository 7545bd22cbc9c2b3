"""What the listings API accepts and returns. The floor fields appear only in the owners' view."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from accorria_agent.sellers.schemas import ListingSpec

# 17 characters, no I, O or Q (ISO 3779); checked loosely, as sellers type them.
VIN_PATTERN = r"^[A-HJ-NPR-Z0-9]{17}$"
PAGE_ID_PATTERN = r"^[0-9]{1,64}$"
ListingStatus = Literal["active", "paused", "sold", "archived"]


class ListingCreate(ListingSpec):
    """A new listing: the car, the seller's rules, and optionally the Page it is sold through."""

    page_id: str | None = Field(default=None, pattern=PAGE_ID_PATTERN)
    vin: str | None = Field(default=None, pattern=VIN_PATTERN)


class ListingPatch(BaseModel):
    """A partial update; any field left out keeps its value. Rules fields need an owner."""

    model_config = ConfigDict(extra="forbid")

    year: int | None = Field(default=None, ge=1900, le=2100)
    make: str | None = Field(default=None, min_length=1, max_length=64)
    model: str | None = Field(default=None, min_length=1, max_length=64)
    trim: str | None = Field(default=None, max_length=64)
    mileage: int | None = Field(default=None, ge=0, le=2_000_000)
    vin: str | None = Field(default=None, pattern=VIN_PATTERN)
    features: list[str] | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=5000)
    location: str | None = Field(default=None, max_length=200)
    details: dict[str, str] | None = None
    page_id: str | None = Field(default=None, pattern=PAGE_ID_PATTERN)
    asking_price: Decimal | None = Field(default=None, gt=0, le=10_000_000)
    price_floor: Decimal | None = Field(default=None, gt=0, le=10_000_000)
    auto_accept_threshold: Decimal | None = Field(default=None, gt=0)
    max_concessions: int | None = Field(default=None, ge=0, le=10)
    response_tone: Literal["professional", "friendly", "casual"] | None = None
    escrow_enabled: bool | None = None
    status: Literal["active", "paused"] | None = None
    # Who answers this car's buyers: bot | copilot | off; null = as its Page's settings say.
    reply_mode: Literal["bot", "copilot", "off"] | None = None


# Who answers buyers is a Page setting's business too: owners only.
OWNER_FIELDS = frozenset({"reply_mode"})
# Changing these changes what the bot may concede: owners only.
RULE_FIELDS = frozenset(
    {"asking_price", "price_floor", "auto_accept_threshold", "max_concessions", "escrow_enabled"}
)


class PhotoOut(BaseModel):
    """A stored photo's URLs (public, unguessable) by size."""

    id: int
    position: int
    width: int
    height: int
    thumb_url: str
    medium_url: str
    original_url: str


class ListingOut(BaseModel):
    """A listing as every member sees it (no floor, no auto-accept threshold)."""

    id: int
    status: str
    page_id: str | None
    year: int
    make: str
    model: str
    trim: str | None
    mileage: int | None
    vin: str | None
    features: list[str]
    description: str | None
    location: str | None
    details: dict[str, str]
    asking_price: Decimal
    response_tone: str
    escrow_enabled: bool
    # None: the Page's reply mode applies.
    reply_mode: str | None = None
    photos: list[PhotoOut]
    m_me_url: str | None
    created_at: datetime


class ListingOwnerOut(ListingOut):
    """The owners' view: the negotiation rules too."""

    price_floor: Decimal
    auto_accept_threshold: Decimal | None
    max_concessions: int
