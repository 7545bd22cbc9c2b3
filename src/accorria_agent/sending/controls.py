"""Stopping and resuming all sending: the global kill switch and the per-Page pause.

Both are rows in the system of record, read by the send-time gate of every process on every send, so one
command stops every web and worker process at once and a restarted process comes back still stopped.

While sending is stopped nothing else stops: webhooks are stored, events applied, buyers' messages
recorded and replies composed. A reply that reaches the gate is **held** (status ``held``), not refused;
on resume the held replies are handed to delivery jobs again, in order, and the gate re-checks everything
(24-hour window, seller takeover, rate limits) when they run. ``discard_held`` drops them instead: the
operator who stopped a misbehaving bot may not want its replies sent afterwards.

A Page whose token Meta rejected (code 190, ``needs_reauth``) holds its replies the same way, and they are
released when the Page is reconnected (:func:`reconnect_page`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import structlog

from accorria_agent.db.base import utcnow
from accorria_agent.jobs.interface import JobQueue
from accorria_agent.messenger.models import GLOBAL_SENDING_SCOPE
from accorria_agent.sellers.models import MessengerTenant
from accorria_agent.sellers.notifications import notify_seller
from accorria_agent.sending import repository as repo
from accorria_agent.sending.delivery import delivery_job

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from accorria_agent.crypto import TokenCipher

log = structlog.get_logger(__name__)


class UnknownPage(LookupError):
    """No connected Page has this id."""


@dataclass(frozen=True)
class SendingStatus:
    """What an operator sees: the kill switch, paused Pages, and how many replies wait."""

    halted: bool
    reason: str | None
    changed_at: datetime | None
    paused_pages: list[tuple[str, str, str | None]]
    held_messages: int


async def global_halt_reason(session: AsyncSession) -> str | None:
    """The kill switch's reason when sending is halted everywhere, else ``None`` (one primary-key read)."""
    control = await repo.sending_control(session)
    if control is None or not control.halted:
        return None
    return control.reason or "halted by the operator"


async def halt_all(session: AsyncSession, reason: str) -> None:
    """Throw the kill switch: from the next send on, no process sends anything."""
    control = await repo.sending_control(session, for_update=True)
    if control is None:
        control = repo.new_sending_control(session)
    control.halted = True
    control.reason = (reason or "halted by the operator")[:500]
    control.changed_at = utcnow()
    log.warning("sending_halted", scope=GLOBAL_SENDING_SCOPE, reason=control.reason)


async def resume_all(session: AsyncSession, queue: JobQueue, *, discard_held: bool = False) -> int:
    """Release the kill switch and the replies it held (of Pages that are active); returns how many."""
    control = await repo.sending_control(session, for_update=True)
    if control is not None:
        control.halted = False
        control.reason = None
        control.changed_at = utcnow()
    # Only the Pages that hold something (the partial index answers this): one query per such Page,
    # not per connected Page. Operator-wide ids only; each Page's rows are then read tenant-scoped.
    released = 0
    for tenant_id in await repo.tenants_holding_replies(session):
        released += await release_held(session, queue, tenant_id, discard=discard_held)
    log.warning("sending_resumed", scope=GLOBAL_SENDING_SCOPE, released=released, discarded=discard_held)
    return released


async def pause_page(session: AsyncSession, page_id: str, reason: str) -> MessengerTenant:
    """Stop all sending for one Page (its seller is told); other Pages are not affected."""
    tenant = await _tenant_by_page(session, page_id)
    tenant.status = "paused"
    tenant.status_reason = (reason or "paused by the operator")[:500]
    await notify_seller(
        session, tenant.id, None, "paused", f"Sending on this Page is paused: {tenant.status_reason}"
    )
    log.warning("page_paused", tenant_id=tenant.id)
    return tenant


async def resume_page(
    session: AsyncSession, queue: JobQueue, page_id: str, *, discard_held: bool = False
) -> int:
    """Resume a paused Page and release (or discard) its held replies; returns how many."""
    tenant = await _tenant_by_page(session, page_id)
    tenant.status = "active"
    tenant.status_reason = None
    released = await release_held(session, queue, tenant.id, discard=discard_held)
    log.warning("page_resumed", tenant_id=tenant.id, released=released, discarded=discard_held)
    return released


async def reconnect_page(
    session: AsyncSession, queue: JobQueue, cipher: TokenCipher, page_id: str, page_access_token: str
) -> int:
    """Store a new Page token (after ``needs_reauth``), make the Page active and release its held replies."""
    tenant = await _tenant_by_page(session, page_id)
    tenant.page_access_token_encrypted = cipher.encrypt(page_access_token)
    tenant.status = "active"
    tenant.status_reason = None
    return await release_held(session, queue, tenant.id)


async def release_held(
    session: AsyncSession, queue: JobQueue, tenant_id: int, *, discard: bool = False
) -> int:
    """Hand one Page's held replies to delivery jobs (one per conversation, in order), or drop them.

    Runs in the caller's transaction: the jobs exist exactly when the status change is committed.
    """
    rows = await repo.held_replies(session, tenant_id)
    if not rows:
        return 0
    ids = [row.id for row in rows]
    if discard:
        await repo.set_status(session, tenant_id, ids, "dropped", "discarded when sending resumed")
        return len(ids)
    page_id = await repo.page_id_of(session, tenant_id)
    by_conversation: dict[str, list[int]] = {}
    for row in rows:
        by_conversation.setdefault(row.buyer_psid, []).append(row.id)
    await repo.set_status(session, tenant_id, ids, "queued", "released after a pause")
    await queue.defer_many(
        session,
        [
            delivery_job(tenant_id, page_id, psid, message_ids)
            for psid, message_ids in by_conversation.items()
        ],
    )
    return len(ids)


async def sending_status(session: AsyncSession) -> SendingStatus:
    """The kill switch, the Pages that are not sending, and the number of held replies."""
    control = await repo.sending_control(session)
    paused = await repo.pages_not_sending(session)
    held = await repo.held_count(session)
    return SendingStatus(
        halted=bool(control and control.halted),
        reason=control.reason if control and control.halted else None,
        changed_at=control.changed_at if control else None,
        paused_pages=paused,
        held_messages=held,
    )


async def _tenant_by_page(session: AsyncSession, page_id: str) -> MessengerTenant:
    tenant = await repo.tenant_by_page_for_update(session, page_id)
    if tenant is None:
        raise UnknownPage(page_id)
    return tenant
