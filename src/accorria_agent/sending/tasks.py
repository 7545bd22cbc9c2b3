"""The sending domain's jobs: ``deliver_outbound`` (a conversation's stored replies, in order),
``release_rate_limited`` (a Page's replies its rate limit held, oldest buyer message first) and the periodic
``sweep_stale_claims`` (replies whose sender died after claiming them, wherever nothing else looks again)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from accorria_agent.db.engine import transaction
from accorria_agent.jobs.interface import JobQueue, TaskRegistry
from accorria_agent.sending import repository as repo
from accorria_agent.sending.delivery import (
    DELIVER_OUTBOUND_TASK,
    RELEASE_RATE_LIMITED_TASK,
    OutboundDelivery,
)
from accorria_agent.sending.jobs import delivery_job

__all__ = [
    "DELIVER_OUTBOUND_TASK",
    "RELEASE_RATE_LIMITED_TASK",
    "SWEEP_STALE_CLAIMS_INTERVAL_SECONDS",
    "SWEEP_STALE_CLAIMS_TASK",
    "register",
    "sweep_stale_claims",
]

log = structlog.get_logger(__name__)

SWEEP_STALE_CLAIMS_TASK = "sweep_stale_claims"
SWEEP_STALE_CLAIMS_INTERVAL_SECONDS = 60.0


def register(registry: TaskRegistry, delivery: OutboundDelivery) -> None:
    """Register ``deliver_outbound`` with the delivery that runs it."""

    async def _deliver(args: dict[str, Any]) -> None:
        await delivery.deliver(int(args["tenant_id"]), [int(m) for m in args["message_ids"]])

    async def _release(args: dict[str, Any]) -> None:
        await delivery.release_rate_limited(int(args["tenant_id"]))

    registry.register(DELIVER_OUTBOUND_TASK, _deliver)
    registry.register(RELEASE_RATE_LIMITED_TASK, _release)


async def sweep_stale_claims(
    factory: async_sessionmaker[AsyncSession], queue: JobQueue, clock: Callable[[], datetime]
) -> int:
    """Hand every reply whose claim went stale to a delivery job of its conversation; returns how many.

    The conversation's orphan scan already defers such a job when the buyer writes again, and a failed
    send defers one for when its claim is stale; this periodic sweep is for the claim nothing will look at
    again (a worker killed while the database was down too, and a buyer who does not write again), so that
    no answer is lost. The delivery claims each reply again (``sending.repository.claim``): a reply its
    echo or its sender resolved meanwhile is not sent, two sweeps never send one reply twice.
    """
    now = clock()
    async with transaction(factory) as session:
        rows = await repo.stale_claims(session, now)
        by_conversation: dict[tuple[int, str, str], list[int]] = {}
        for tenant_id, page_id, psid, message_id in rows:
            by_conversation.setdefault((tenant_id, page_id, psid), []).append(message_id)
        if by_conversation:
            await queue.defer_many(
                session,
                [delivery_job(t, page, psid, ids) for (t, page, psid), ids in by_conversation.items()],
            )
    if rows:
        queue.notify()
        log.warning("stale_claims_requeued", replies=len(rows), conversations=len(by_conversation))
    return len(rows)
