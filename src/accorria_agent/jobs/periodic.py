"""Periodic jobs: a small ticker that defers a named job every N seconds, for either queue.

Neither queue adapter schedules by itself, so each process that runs jobs also runs this ticker. Every
tick defers the job with a ``queueing_lock`` equal to the task name, so however many processes tick, at
most one such job waits at a time (the queues coalesce it), and it runs on whichever worker is free —
embedded queue and procrastinate alike. The first tick comes one interval after start.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from accorria_agent.db.engine import transaction
from accorria_agent.jobs.interface import JobQueue, JobRequest

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    """Defer ``task`` every ``interval_seconds`` (0 disables it)."""

    task: str
    interval_seconds: float


class PeriodicScheduler:
    """Runs one asyncio task per periodic job while started."""

    def __init__(
        self, queue: JobQueue, factory: async_sessionmaker[AsyncSession], jobs: list[PeriodicJob]
    ) -> None:
        self._queue = queue
        self._factory = factory
        self._jobs = [job for job in jobs if job.interval_seconds > 0]
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._tick_forever(job)) for job in self._jobs]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def tick(self, job: PeriodicJob) -> None:
        """Defer ``job`` once (coalesced with any waiting one)."""
        async with transaction(self._factory) as session:
            await self._queue.defer_many(
                session, [JobRequest(task=job.task, args={}, queueing_lock=f"periodic:{job.task}")]
            )
        self._queue.notify()

    async def _tick_forever(self, job: PeriodicJob) -> None:
        while True:
            await asyncio.sleep(job.interval_seconds)
            try:
                await self.tick(job)
            except Exception as error:  # a database blip must not end the schedule
                log.warning("periodic_defer_failed", task=job.task, error=type(error).__name__)
