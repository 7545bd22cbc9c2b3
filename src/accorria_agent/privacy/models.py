"""The record of privacy requests: what was asked, by whom, when it finished, how many rows it touched.

It is kept after the data it describes is gone, so it holds no personal data: no PSID, no name, no text,
and ``seller_id`` is a plain number without a foreign key (the account may be deleted by the request).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from accorria_agent.db.base import Base, JsonColumn, UTCDateTime, utcnow

# data_deletion | deauthorize (Meta's callbacks) | buyer_deletion | account_deletion | retention_purge
PRIVACY_REQUEST_KINDS = (
    "data_deletion",
    "deauthorize",
    "buyer_deletion",
    "account_deletion",
    "retention_purge",
)


class PrivacyRequest(Base):
    """One privacy request and its outcome (``counts``: rows deleted or cleared, per kind of data)."""

    __tablename__ = "privacy_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    # received | completed
    status: Mapped[str] = mapped_column(String(16), default="received")
    # Meta's data-deletion callback answers with it; the status URL looks it up.
    confirmation_code: Mapped[str | None] = mapped_column(String(64), unique=True)
    seller_id: Mapped[int | None] = mapped_column(Integer)
    page_id: Mapped[str | None] = mapped_column(String(64))
    # meta | member | operator | system
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    counts: Mapped[dict[str, Any]] = mapped_column(JsonColumn, default=dict)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
