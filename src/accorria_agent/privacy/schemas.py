"""Request and response bodies of the privacy endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# What ``DELETE /api/account`` must carry: deleting an account cannot be undone, so it is never implied.
ACCOUNT_DELETION_CONFIRMATION = "DELETE MY ACCOUNT"
# Meta's Page ids and PSIDs are digits; the simulator's too. Anything else cannot be one.
IDENTIFIER_PATTERN = r"^[0-9A-Za-z_.:-]{1,64}$"


class BuyerDeletionIn(BaseModel):
    """``POST /api/privacy/buyers/delete``: the buyer is named by the Page and their PSID on it."""

    model_config = ConfigDict(extra="forbid")

    page_id: str = Field(pattern=IDENTIFIER_PATTERN)
    psid: str = Field(pattern=IDENTIFIER_PATTERN)


class AccountDeletionIn(BaseModel):
    """``DELETE /api/account``: ``confirm`` must be exactly ``"DELETE MY ACCOUNT"``."""

    model_config = ConfigDict(extra="forbid")

    confirm: str = Field(max_length=100)


class PrivacyRequestOut(BaseModel):
    """A privacy request's record: what it did, never whom it was about."""

    id: int
    kind: str
    status: str
    page_id: str | None
    counts: dict[str, Any]
    requested_at: datetime
    completed_at: datetime | None


class DataDeletionAnswer(BaseModel):
    """What Meta's Data Deletion Request Callback must answer."""

    url: str
    confirmation_code: str


class DataDeletionStatus(BaseModel):
    """``GET /facebook/data-deletion/status?code=…`` (JSON)."""

    confirmation_code: str
    status: Literal["received", "completed"] | str
    requested_at: datetime
    completed_at: datetime | None
