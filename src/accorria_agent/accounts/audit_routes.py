"""``GET /api/audit``: the account's audit trail, for owners.

Served by the accounts domain (it knows who may read it); the audit domain below it only records and
pages through events, so the two packages never import each other.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from accorria_agent.accounts.context import Owner
from accorria_agent.audit import service
from accorria_agent.audit.schemas import AuditPage
from accorria_agent.db.engine import transaction

router = APIRouter(prefix="/api", tags=["audit"])


@router.get("/audit", response_model=AuditPage)
async def audit_trail(
    request: Request,
    owner: Owner,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AuditPage:
    """Newest first, ``limit`` per page; ``?before=<next_before>`` continues."""
    async with transaction(request.app.state.runtime.session_factory) as session:
        return await service.page(session, owner.seller_id, before=before, limit=limit)
