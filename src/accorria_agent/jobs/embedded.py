"""The embedded job queue: jobs in the application's own database, run by tasks in this process.

Built for one process (the laptop / ``demo`` deployment): a job left ``doing`` by a process that died is
returned to ``todo`` at start, and jobs that fell due while the process was down run as soon as it starts.
Several processes must use the PostgreSQL adapter instead.
"""

from __future__ import annotations

import asyncio
import random
import weakref
from collections.abc import Callable
from datetime import timedelta

import structlog
from sqlalchemy import Select, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from accorria_agent.db.base import utcnow
from accorria_agent.jobs.coalescing import queueing_locks, to_add
from accorria_agent.jobs.interface import JobRequest, TaskRegistry
from accorria_agent.jobs.models import Job

log = structlog.get_logger(__name__)

# Every queue of this process, for :func:`wake_all` (a job child process is woken by a signal).
_QUEUES: weakref.WeakSet[EmbeddedJobQueue] = weakref.WeakSet()


def wake_all() -> None:
    """Wake every embedded queue of this process (jobs were committed by another process)."""
    for queue in list(_QUEUES):
        queue.notify()


class EmbeddedJobQueue:
    """In-process worker pool over the ``jobs`` table."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        registry: TaskRegistry,
        *,
        concurrency: int = 4,
        poll_interval: float = 1.0,
        max_attempts: int = 8,
        retry_base_seconds: float = 1.0,
    ) -> None:
        self._factory = session_factory
        self._registry = registry
        self._concurrency = max(1, concurrency)
        self._poll_interval = poll_interval
        self._max_attempts = max_attempts
        self._retry_base = retry_base_seconds
        self._wakeup = asyncio.Event()
        self._running: dict[int, asyncio.Task[None]] = {}
        self._running_locks: set[str] = set()
        self._dispatcher: asyncio.Task[None] | None = None
        self._stopping = False
        self._idle = asyncio.Event()
        self._idle.set()
        # Where the jobs run in another process (the web server's job child), ``notify`` wakes it too.
        self.wake_elsewhere: Callable[[], None] | None = None
        _QUEUES.add(self)

    async def defer_many(self, connection: AsyncConnection | AsyncSession, requests: list[JobRequest]) -> int:
        """Insert jobs in the caller's transaction, skipping those whose queueing lock is already waiting."""
        if not requests:
            return 0
        locks = queueing_locks(requests)
        waiting: set[str] = set()
        if locks:
            rows = await connection.execute(_waiting_locks_query(locks))
            waiting = {str(row[0]) for row in rows}
        new_rows = _job_rows(requests, waiting)
        if new_rows:
            # Core insert: the intake defers hundreds of jobs per commit and the ORM unit of work is slow.
            await connection.execute(insert(Job), new_rows)
        return len(new_rows)

    def notify(self) -> None:
        self._wakeup.set()
        if self.wake_elsewhere is not None:
            self.wake_elsewhere()

    async def start(self) -> None:
        """Return jobs a dead process left ``doing`` to the queue, then start dispatching."""
        async with self._factory() as session, session.begin():
            await session.execute(update(Job).where(Job.status == "doing").values(status="todo"))
        self._stopping = False
        self._dispatcher = asyncio.create_task(self._dispatch_forever(), name="embedded-job-dispatcher")

    async def stop(self, timeout: float = 10.0) -> None:
        self._stopping = True
        self._wakeup.set()
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            await asyncio.gather(self._dispatcher, return_exceptions=True)
            self._dispatcher = None
        running = list(self._running.values())
        if running:
            _done, pending = await asyncio.wait(running, timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def wait_idle(self, timeout: float = 30.0, horizon_seconds: float = 5.0) -> None:
        """Wait until no job is running or due within ``horizon_seconds`` (tests, benchmarks, the CLI).

        Retries scheduled a moment ahead count as pending; jobs deferred far into the future do not.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if not self._running and not await self._has_due_jobs(horizon_seconds):
                return
            self._wakeup.set()
            await asyncio.sleep(0.02)
        raise TimeoutError("jobs still pending after timeout")

    async def _has_due_jobs(self, horizon_seconds: float = 0.0) -> bool:
        async with self._factory() as session:
            row = await session.execute(
                select(Job.id)
                .where(
                    Job.status.in_(("todo", "doing")),
                    Job.scheduled_at <= utcnow() + timedelta(seconds=horizon_seconds),
                )
                .limit(1)
            )
            return row.first() is not None

    async def _dispatch_forever(self) -> None:
        while not self._stopping:
            self._wakeup.clear()
            try:
                next_due = await self._claim_and_start()
            except Exception:  # a database hiccup must not kill the dispatcher
                log.exception("job_dispatch_failed")
                next_due = self._poll_interval
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout=next_due)
            except TimeoutError:
                pass

    async def _claim_and_start(self) -> float:
        """Start every runnable job there is room for; return seconds until the next check."""
        free = self._concurrency - len(self._running)
        if free <= 0:
            return self._poll_interval
        now = utcnow()
        async with self._factory() as session, session.begin():
            doing_locks = {
                row[0]
                for row in await session.execute(
                    select(Job.lock).where(Job.status == "doing", Job.lock.is_not(None))
                )
            }
            candidates = (
                await session.execute(
                    select(Job).where(Job.status == "todo").order_by(Job.id).limit(200 + free * 4)
                )
            ).scalars()
            claimed: list[Job] = []
            blocked = set(doing_locks) | self._running_locks
            next_due: float = self._poll_interval
            for job in candidates:
                if job.lock is not None and job.lock in blocked:
                    continue
                if job.scheduled_at > now:
                    # A later job with the same lock must wait for this one (order per lock).
                    if job.lock is not None:
                        blocked.add(job.lock)
                    next_due = min(next_due, (job.scheduled_at - now).total_seconds())
                    continue
                if job.lock is not None:
                    blocked.add(job.lock)
                job.status = "doing"
                job.attempts += 1
                claimed.append(job)
                if len(claimed) >= free:
                    break
        for job in claimed:
            if job.lock is not None:
                self._running_locks.add(job.lock)
            self._running[job.id] = asyncio.create_task(self._run(job), name=f"job-{job.id}-{job.task}")
        return 0.0 if len(claimed) >= free and claimed else max(0.005, next_due)

    async def _run(self, job: Job) -> None:
        try:
            function = self._registry.get(job.task)
            await function(job.args)
        except asyncio.CancelledError:
            await self._finish(job, status="todo", error="cancelled at shutdown", retry=False)
            raise
        except Exception as error:  # the job failed: retry with backoff, then give up visibly
            log.warning("job_failed", job_id=job.id, task=job.task, attempt=job.attempts, error=repr(error))
            await self._finish(job, status="todo", error=repr(error)[:2000], retry=True)
        else:
            await self._finish(job, status="succeeded", error=None, retry=False)
        finally:
            self._running.pop(job.id, None)
            if job.lock is not None:
                self._running_locks.discard(job.lock)
            self._wakeup.set()

    async def _finish(self, job: Job, *, status: str, error: str | None, retry: bool) -> None:
        async with self._factory() as session, session.begin():
            if status == "succeeded":
                # Keep the table small: a finished job carries no information the data doesn't.
                await session.execute(delete(Job).where(Job.id == job.id))
                return
            values: dict[str, object] = {"status": status, "last_error": error}
            if retry:
                if job.attempts >= self._max_attempts:
                    values["status"] = "failed"
                else:
                    backoff = self._retry_base * (2 ** (job.attempts - 1))
                    delay = backoff * (0.5 + random.random())  # jitter spreads retries
                    values["scheduled_at"] = utcnow() + timedelta(seconds=delay)
            await session.execute(update(Job).where(Job.id == job.id).values(**values))


def _waiting_locks_query(locks: list[str]) -> Select[str | None]:
    # FOR SHARE (PostgreSQL; SQLite serialises writers anyway) keeps a waiting job from being claimed
    # between this read and the caller's commit, which would leave the caller's events without a job.
    return (
        select(Job.queueing_lock)
        .where(Job.status == "todo", Job.queueing_lock.in_(locks))
        .with_for_update(read=True)
    )


def _job_rows(requests: list[JobRequest], waiting: set[str]) -> list[dict[str, object]]:
    """Rows for the jobs to add: one per request, except a queueing lock that already has a waiting job."""
    now = utcnow()
    rows: list[dict[str, object]] = []
    for request in to_add(requests, waiting):
        rows.append(
            {
                "task": request.task,
                "args": request.args,
                "lock": request.lock,
                "queueing_lock": request.queueing_lock,
                "status": "todo",
                "scheduled_at": now + timedelta(seconds=request.delay_seconds),
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows
