"""The audit trail's SQL (keyset pagination on the id, scoped by seller)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.audit.models import AuditEvent


async def events(
    session: AsyncSession, seller_id: int, *, before: int | None, limit: int
) -> list[AuditEvent]:
    statement = select(AuditEvent).where(AuditEvent.seller_id == seller_id)
    if before is not None:
        statement = statement.where(AuditEvent.id < before)
    rows = await session.execute(statement.order_by(AuditEvent.id.desc()).limit(limit))
    return list(rows.scalars())
