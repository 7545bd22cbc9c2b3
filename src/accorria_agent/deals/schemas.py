"""The deals API's JSON shapes (``GET /api/deals``, ``POST /api/deals/{id}/lost``, ``POST
/api/listings/{id}/sold``, ``POST /escrow/webhook``). Money is a decimal string ("11800.00")."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_ID = 2**31 - 1


class DealEventOut(BaseModel):
    kind: str
    actor_kind: str
    actor_id: int | None
    amount: Decimal | None
    details: dict[str, Any]
    occurred_at: datetime


class EscrowOut(BaseModel):
    """The deal's escrow: ``status`` none | creating | retrying | failed | pending | funded | released |
    cancelled | disputed."""

    status: str
    transaction_id: str | None
    checkout_url: str | None
    fee: Decimal | None
    attempts: int
    error: str | None


class DealOut(BaseModel):
    id: int
    status: str
    listing_id: int | None
    conversation_id: int
    asking_price: Decimal | None
    agreed_price: Decimal | None
    agreed_at: datetime | None
    closed_at: datetime | None
    updated_at: datetime
    escrow: EscrowOut
    events: list[DealEventOut]


class ListingSoldIn(BaseModel):
    """Optional body of ``POST /api/listings/{id}/sold``: the deal that bought it, if it was ours."""

    model_config = ConfigDict(extra="forbid")

    deal_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class ListingSoldOut(BaseModel):
    listing_id: int
    status: str
    buyers_told: int
    deals_lost: int


class DealLostIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="buyer_walked", min_length=1, max_length=200)


class EscrowWebhookIn(BaseModel):
    """The status webhook's body (assumed contract, docs/escrow.md)."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=100)
    type: str = Field(default="transaction.updated", max_length=100)
    transaction_id: str = Field(min_length=1, max_length=64)
    status: Literal["pending", "funded", "released", "cancelled", "disputed"]
    reference: str | None = Field(default=None, max_length=64)
