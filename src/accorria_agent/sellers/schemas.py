"""Validated input for creating a listing with its seller settings (``demo --listing FILE``, the API)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ListingSpec(BaseModel):
    """A car and the seller's rules for it, under the seed's names."""

    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=1900, le=2100)
    make: str = Field(min_length=1, max_length=64)
    model: str = Field(min_length=1, max_length=64)
    trim: str | None = Field(default=None, max_length=64)
    mileage: int | None = Field(default=None, ge=0, le=2_000_000)
    features: list[str] = Field(default_factory=list, max_length=100)
    photos: list[str] = Field(default_factory=list, max_length=50)
    description: str | None = Field(default=None, max_length=5000)
    location: str | None = Field(default=None, max_length=200)
    details: dict[str, str] = Field(default_factory=dict)
    asking_price: Decimal = Field(gt=0, le=10_000_000)
    price_floor: Decimal = Field(gt=0, le=10_000_000)
    auto_accept_threshold: Decimal | None = Field(default=None, gt=0)
    max_concessions: int = Field(default=3, ge=0, le=10)
    response_tone: Literal["professional", "friendly", "casual"] = "friendly"
    escrow_enabled: bool = True

    @model_validator(mode="after")
    def _prices_consistent(self) -> ListingSpec:
        if self.price_floor > self.asking_price:
            raise ValueError("price_floor must not be above asking_price")
        if self.auto_accept_threshold is not None and not (
            self.price_floor <= self.auto_accept_threshold <= self.asking_price
        ):
            raise ValueError("auto_accept_threshold must be between price_floor and asking_price")
        return self


DEMO_LISTING: dict[str, Any] = {
    "year": 2018,
    "make": "Honda",
    "model": "Civic",
    "trim": "EX",
    "mileage": 62000,
    "features": ["backup camera", "Apple CarPlay", "heated seats", "sunroof"],
    "photos": [],
    "description": "One owner, clean title, regular oil changes.",
    "location": "Detroit, MI",
    "details": {"title": "clean", "accidents": "none reported", "owners": "1", "color": "silver"},
    "asking_price": 12500,
    "price_floor": 11000,
    "auto_accept_threshold": 12200,
    "max_concessions": 3,
    "response_tone": "friendly",
    "escrow_enabled": True,
}
