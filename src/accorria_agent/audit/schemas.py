"""What ``GET /api/audit`` returns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEventOut(BaseModel):
    """One audited action."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    actor_kind: str
    actor_id: int | None
    action: str
    subject_type: str | None
    subject_id: str | None
    details: dict[str, Any]
    occurred_at: datetime


class AuditPage(BaseModel):
    """A page of events, newest first; pass ``next_before`` as ``?before=`` for the next one."""

    events: list[AuditEventOut]
    next_before: int | None
