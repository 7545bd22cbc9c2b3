"""The periodic retention purge: a job that purges, then defers its next run in the same transaction.

One waiting purge at most (its queueing lock), whichever process scheduled it; ``serve`` and ``worker``
schedule it at start-up, and each run schedules the next one ``PURGE_INTERVAL_SECONDS`` later.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from accorria_agent.db.engine import transaction
from accorria_agent.jobs.interface import JobQueue, JobRequest
from accorria_agent.privacy import service
from accorria_agent.privacy.models import PrivacyRequest

log = structlog.get_logger(__name__)

PURGE_TASK = "privacy_purge"
PURGE_INTERVAL_SECONDS = 24 * 3600
# The first run after start-up waits a little: a restart loop must not purge in a loop.
FIRST_PURGE_DELAY_SECONDS = 300.0


def purge_request(delay_seconds: float) -> JobRequest:
    """The purge job (one waiting at most)."""
    return JobRequest(
        task=PURGE_TASK, args={}, lock=PURGE_TASK, queueing_lock=PURGE_TASK, delay_seconds=delay_seconds
    )


async def schedule_purge(factory: async_sessionmaker[AsyncSession], queue: JobQueue) -> None:
    """Make sure a purge is waiting (coalesced with one already scheduled)."""
    async with transaction(factory) as session:
        await queue.defer_many(session, [purge_request(FIRST_PURGE_DELAY_SECONDS)])
    queue.notify()


async def purge_and_reschedule(
    factory: async_sessionmaker[AsyncSession],
    queue: JobQueue,
    clock: Callable[[], datetime],
    retention_days: int,
) -> PrivacyRequest:
    """The task body: purge what is older than ``retention_days`` and defer the next run."""
    async with transaction(factory) as session:
        record = await service.purge_expired(session, clock(), retention_days)
        await queue.defer_many(session, [purge_request(PURGE_INTERVAL_SECONDS)])
    log.info("privacy_retention_purge", **record.counts)
    return record
