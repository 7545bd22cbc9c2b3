"""The deals domain's job: create a deal's escrow transaction, retried with backoff, never twice.

    start_escrow(deal)
      ─▶ read the agreed deal (skip if it holds a transaction or is no longer agreed)
      ─▶ escrow API: create, with the deal's Idempotency-Key          (outside any transaction)
      ─▶ store the transaction + escrow_started + queue the buyer's checkout button   (one transaction)
         or: count the failure, tell seller/buyer once, defer a retry (base × 2^attempt) or give up

Two copies of this job (a retry racing a recovered one) send the same key, so the provider answers the
same transaction; the unique index on ``deals.escrow_transaction_id`` and the re-check under the row
lock keep one per deal in our records too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from accorria_agent.db.engine import transaction
from accorria_agent.deals import repository as repo
from accorria_agent.deals import service
from accorria_agent.escrow.interface import EscrowError, EscrowProvider
from accorria_agent.jobs.interface import JobQueue
from accorria_agent.settings import Settings

log = structlog.get_logger(__name__)


class DealsRuntime(Protocol):
    """What the deals job and routes need from the process (the runtime provides it)."""

    settings: Settings
    session_factory: async_sessionmaker[AsyncSession]
    queue: JobQueue
    escrow: EscrowProvider

    @property
    def clock(self) -> Callable[[], datetime]: ...


async def start_escrow(runtime: DealsRuntime, args: dict[str, Any]) -> str:
    """The ``start_escrow`` task; returns what it did (for logs and tests)."""
    deal_id = int(args["deal_id"])
    async with transaction(runtime.session_factory) as session:
        deal = await repo.deal_for_update(session, deal_id)
        if deal is None or deal.status != "agreed" or deal.escrow_transaction_id is not None:
            return "skipped"
        listing = await repo.listing_of(session, deal)
        pair = await repo.seller_and_tenant(session, deal)
        if listing is None or pair is None or deal.agreed_price is None:
            return "skipped: listing or seller gone"
        request = service.escrow_request(deal, listing, pair[0])
        key = service.idempotency_key(deal)
    try:
        created = await runtime.escrow.create_transaction(request, idempotency_key=key)
    except EscrowError as error:
        async with transaction(runtime.session_factory) as session:
            deal = await repo.deal_for_update(session, deal_id)
            if deal is None or deal.escrow_transaction_id is not None:
                return "skipped"
            delay = await service.escrow_attempt_failed(
                session,
                runtime.queue,
                deal,
                str(error),
                transient=error.transient,
                max_attempts=runtime.settings.escrow_max_attempts,
                retry_base_seconds=runtime.settings.escrow_retry_base_seconds,
                now=runtime.clock(),
            )
        log.warning("escrow_create_failed", deal_id=deal_id, transient=error.transient, retry_in=delay)
        runtime.queue.notify()
        return "retrying" if delay is not None else "failed"
    async with transaction(runtime.session_factory) as session:
        deal = await repo.deal_for_update(session, deal_id)
        if deal is None:
            return "skipped"
        stored = await service.escrow_created(session, runtime.queue, deal, created, runtime.clock())
        closed = deal.status in repo.CLOSED_STATUSES
    if closed:
        # Lost or sold elsewhere while the transaction was being made: nobody will pay into it.
        try:
            await runtime.escrow.cancel_transaction(created.id)
        except EscrowError as error:
            log.warning("escrow_cancel_failed", deal_id=deal_id, transient=error.transient)
        return "cancelled: deal closed"
    runtime.queue.notify()
    log.info("escrow_started", deal_id=deal_id, stored=stored)
    return "started" if stored else "skipped"
