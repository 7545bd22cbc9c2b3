"""Privacy use cases: Meta's callbacks, buyer erasure, account deletion, retention and export.

Each use case flushes in the caller's transaction and records a :class:`PrivacyRequest` without personal
data; the request or job boundary commits.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.errors import BadRequest, NotFound
from accorria_agent.privacy import repository as repo
from accorria_agent.privacy.models import PrivacyRequest
from accorria_agent.privacy.schemas import ACCOUNT_DELETION_CONFIRMATION
from accorria_agent.sellers.notifications import notify_seller

log = structlog.get_logger(__name__)

DEAUTHORIZED_REASON = "the Facebook user who connected this Page removed the app; reconnect it"


def _record(
    kind: str,
    *,
    now: datetime,
    counts: dict[str, int],
    actor_kind: str,
    actor_id: int | None = None,
    seller_id: int | None = None,
    page_id: str | None = None,
    with_code: bool = False,
) -> PrivacyRequest:
    return PrivacyRequest(
        kind=kind,
        status="completed",
        confirmation_code=secrets.token_hex(12) if with_code else None,
        seller_id=seller_id,
        page_id=page_id,
        actor_kind=actor_kind,
        actor_id=actor_id,
        counts=counts,
        requested_at=now,
        completed_at=now,
    )


async def facebook_data_deletion(
    session: AsyncSession, facebook_user_id: str, now: datetime
) -> PrivacyRequest:
    """Meta's Data Deletion Request: delete the Pages that user connected, with all their data.

    The person is a Facebook user who connected Pages through our app: what we hold because of them is
    those Pages (tokens, conversations, messages, events). The seller account they may also have with us
    is deleted by ``DELETE /api/account``. An unknown user gets a completed request with zero counts.
    """
    tenants = await repo.tenants_of_facebook_user(session, facebook_user_id)
    counts = await repo.delete_tenants(session, tenants)
    request = _record("data_deletion", now=now, counts=counts, actor_kind="meta", with_code=True)
    await repo.add_request(session, request)
    log.info("privacy_facebook_data_deletion", pages=counts["pages"], request_id=request.id)
    return request


async def facebook_deauthorize(session: AsyncSession, facebook_user_id: str, now: datetime) -> PrivacyRequest:
    """Meta's Deauthorize callback: the user removed the app, so their Page tokens are void.

    Their Pages stay with the seller's conversations, marked ``needs_reauth`` (the bot stops sending) with
    the token deleted; the seller is told, and reconnecting the Page brings it back.
    """
    tenants = await repo.tenants_of_facebook_user(session, facebook_user_id)
    for tenant in tenants:
        tenant.status = "needs_reauth"
        tenant.status_reason = DEAUTHORIZED_REASON
        tenant.page_access_token_encrypted = ""
        await notify_seller(
            session, tenant.id, None, "needs_reauth", f"{tenant.page_name}: {DEAUTHORIZED_REASON}"
        )
    request = _record("deauthorize", now=now, counts={"pages": len(tenants)}, actor_kind="meta")
    await repo.add_request(session, request)
    await session.flush()
    log.info("privacy_facebook_deauthorize", pages=len(tenants), request_id=request.id)
    return request


async def deletion_status(session: AsyncSession, code: str) -> PrivacyRequest:
    """The data-deletion request behind a confirmation code, or NotFound."""
    request = await repo.request_by_code(session, code) if code.isalnum() and len(code) <= 64 else None
    if request is None or request.kind != "data_deletion":
        raise NotFound("no data-deletion request has this confirmation code")
    return request


async def delete_buyer(
    session: AsyncSession,
    seller_id: int,
    page_id: str,
    psid: str,
    now: datetime,
    *,
    actor_kind: str = "member",
    actor_id: int | None = None,
) -> PrivacyRequest:
    """Erase buyer ``psid`` on the seller's Page ``page_id``; someone else's Page is NotFound."""
    tenant = await repo.seller_tenant_by_page(session, seller_id, page_id)
    if tenant is None:
        raise NotFound("page not found")
    counts = await repo.erase_buyer(session, tenant, psid, now)
    request = _record(
        "buyer_deletion",
        now=now,
        counts=counts,
        actor_kind=actor_kind,
        actor_id=actor_id,
        seller_id=seller_id,
        page_id=page_id,
    )
    return await repo.add_request(session, request)


async def delete_buyer_of_conversation(
    session: AsyncSession, seller_id: int, conversation_id: int, now: datetime, *, actor_id: int | None
) -> PrivacyRequest:
    """Erase the buyer of one of the seller's conversations."""
    found = await repo.seller_conversation(session, seller_id, conversation_id)
    if found is None:
        raise NotFound("conversation not found")
    tenant, conversation = found
    if conversation.buyer_psid.startswith("erased"):
        raise NotFound("this buyer's data is already erased")
    return await delete_buyer(
        session, seller_id, tenant.page_id, conversation.buyer_psid, now, actor_id=actor_id
    )


async def delete_buyer_anywhere(
    session: AsyncSession, page_id: str, psid: str, now: datetime
) -> PrivacyRequest:
    """The operator's erasure (CLI): the Page's owner is looked up, not given."""
    seller_id = await repo.page_owner(session, page_id)
    if seller_id is None:
        raise NotFound(f"no connected Page has id {page_id}")
    return await delete_buyer(session, seller_id, page_id, psid, now, actor_kind="operator")


async def delete_account(
    session: AsyncSession, seller_id: int, member_id: int, confirm: str, now: datetime
) -> PrivacyRequest:
    """Delete the seller's whole account (cascades to all of its data), once explicitly confirmed."""
    if confirm != ACCOUNT_DELETION_CONFIRMATION:
        raise BadRequest(
            f'deleting an account cannot be undone: send {{"confirm": "{ACCOUNT_DELETION_CONFIRMATION}"}}',
            code="confirmation_required",
        )
    counts = await repo.delete_seller(session, seller_id)
    if not counts.get("accounts"):
        raise NotFound("account not found")
    request = _record(
        "account_deletion",
        now=now,
        counts=counts,
        actor_kind="member",
        actor_id=member_id,
        seller_id=seller_id,
    )
    return await repo.add_request(session, request)


async def purge_expired(session: AsyncSession, now: datetime, retention_days: int) -> PrivacyRequest:
    """Retention: clear buyer text and raw payloads older than ``retention_days``; counts stay."""
    if retention_days < 1:
        raise BadRequest("RETENTION_DAYS must be at least 1")
    counts = await repo.purge_older_than(session, now - timedelta(days=retention_days))
    request = _record("retention_purge", now=now, counts=counts, actor_kind="system")
    return await repo.add_request(session, request)


async def export_account(session: AsyncSession, seller_id: int, now: datetime) -> dict[str, Any]:
    """All of the account's data as JSON values (no tokens)."""
    data = await repo.export_seller(session, seller_id)
    if data["account"] is None:
        raise NotFound("account not found")
    return {"exported_at": now.isoformat(), **data}
