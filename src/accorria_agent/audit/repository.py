"""The audit trail's SQL (keyset pagination on the id, scoped by seller)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.audit.models import AuditEvent
from accorria_agent.db import tail


async def events(
    session: AsyncSession, seller_id: int, *, before: int | None, limit: int
) -> list[AuditEvent]:
    statement = select(AuditEvent).where(AuditEvent.seller_id == seller_id)
    if before is not None:
        statement = statement.where(AuditEvent.id < before)
    rows = await session.execute(statement.order_by(AuditEvent.id.desc()).limit(limit))
    return list(rows.scalars())


# Any number of rows in one INSERT with a constant text (arrays, not one VALUES tuple per row).
_INSERT_MANY = (
    "INSERT INTO audit_events "
    "(seller_id, actor_kind, actor_id, action, subject_type, subject_id, details, occurred_at) "
    "SELECT * FROM unnest(CAST(:audit_seller AS int[]), CAST(:audit_kind AS text[]), "
    "CAST(:audit_actor AS int[]), CAST(:audit_action AS text[]), CAST(:audit_subject_type AS text[]), "
    "CAST(:audit_subject_id AS text[]), CAST(:audit_details AS jsonb[]), "
    "CAST(:audit_at AS timestamptz[])) RETURNING id"
)


def insert_part(rows: list[dict[str, Any]]) -> tail.Part | None:
    """Deferred audit rows as a part of the transaction's tail statement (PostgreSQL), or None."""
    if not rows:
        return None
    return tail.Part(
        _INSERT_MANY,
        {
            "audit_seller": [row["seller_id"] for row in rows],
            "audit_kind": [row["actor_kind"] for row in rows],
            "audit_actor": [row["actor_id"] for row in rows],
            "audit_action": [row["action"] for row in rows],
            "audit_subject_type": [row["subject_type"] for row in rows],
            "audit_subject_id": [row["subject_id"] for row in rows],
            "audit_details": [json.dumps(row["details"], separators=(",", ":")) for row in rows],
            "audit_at": [row["occurred_at"] for row in rows],
        },
    )
