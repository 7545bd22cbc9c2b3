"""The PostgreSQL job queue: procrastinate's tables and worker, deferred inside the caller's transaction.

How the interface's promises map onto procrastinate (3.x schema, ``procrastinate_*_v1`` functions):

* **Deferral in the caller's transaction.** :meth:`ProcrastinateJobQueue.defer_many` calls the SQL function
  ``procrastinate_defer_jobs_v1`` through the caller's SQLAlchemy connection (asyncpg), so a job exists if
  and only if the caller commits. procrastinate's insert trigger sends ``NOTIFY`` at commit, which wakes
  every worker; :meth:`notify` has nothing left to do.
* **Coalescing.** ``queueing_lock`` maps to procrastinate's column, whose partial unique index allows one
  ``todo`` row per key. A conflicting defer is a unique violation: the batch runs in a SAVEPOINT and, on a
  conflict, is replayed one request per SAVEPOINT so that only the conflicting ones are dropped (0) and
  the caller's transaction survives. A pre-read of the waiting keys keeps the common burst case free of
  exceptions.
* **Order per lock.** ``lock`` maps to procrastinate's column: its fetch function runs same-lock jobs one at
  a time in id (= defer) order.
* **Delays without the lock pitfall.** procrastinate's fetch treats *any* earlier ``todo`` row with the same
  lock as blocking, even one scheduled in the future (procrastinate issue #1599): a reminder deferred for
  tomorrow on ``conversation:…`` would silence that conversation until tomorrow. So a delayed job with a
  lock is stored *without* the lock (the lock travels in its arguments as ``deferred_lock``); when it falls
  due, the worker re-defers it as an immediate job carrying the lock ("promotion"), which then queues behind
  the lock's running job like any other. A delayed job therefore enters its lock's queue when it is due,
  not when it was deferred — documented deviation from the embedded adapter, which blocks the lock.
* **Retries.** Not procrastinate's ``RetryStrategy``: its in-place retry flips the row back to ``todo``,
  which violates the queueing-lock index when a newer job with the same key is already waiting
  (procrastinate #1432/#1446/#1543), and the worker then leaves the row ``doing`` forever — a dead
  conversation. Instead the task wrapper defers a fresh (delayed, hence promoted) copy with ``attempt + 1``
  and exponential backoff with jitter; if the key is taken the waiting job will do the same work, so the
  copy coalesces. The last failure propagates and procrastinate records the row ``failed``.
* **Stalled jobs.** Workers heartbeat (procrastinate ≥ 3.1). A periodic coroutine (and :meth:`start`) finds
  ``doing`` rows of workers whose heartbeat is older than ``stalled_worker_timeout`` and returns each to
  ``todo`` in place with ``procrastinate_retry_job_v2`` inside a SAVEPOINT (keeping its place in its lock's
  queue); if the queueing lock is taken meanwhile, the row is closed ``aborted`` because the waiting job
  covers it. A job that keeps killing its worker is failed after ``max_attempts`` recoveries.
* **Graceful stop.** :meth:`stop` lets running jobs finish for ``timeout`` seconds; procrastinate then
  cancels the rest, and the wrapper re-defers a copy of each before the row is closed ``aborted``.

The schema is installed by ``jobs/procrastinate_schema.py`` (from the CLI, tests, or an Alembic migration);
idempotent and safe to run from several processes at once.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import select
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import psycopg_pool
import structlog
from procrastinate import App, JobContext, PsycopgConnector
from procrastinate import exceptions as procrastinate_errors
from procrastinate import jobs as procrastinate_jobs
from procrastinate.worker import Worker
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from accorria_agent.jobs.coalescing import queueing_locks, to_add
from accorria_agent.jobs.interface import JobRequest, TaskRegistry
from accorria_agent.jobs.procrastinate_schema import libpq_url

log = structlog.get_logger(__name__)

QUEUEING_LOCK_INDEX = "procrastinate_jobs_queueing_lock_idx_v1"
_UNIQUE_VIOLATION = "23505"

_DEFER_SQL = text(
    """
    SELECT unnest(procrastinate_defer_jobs_v1(ARRAY(
        SELECT ROW(
                   j.queue_name, j.task_name, 0, j.lock, j.queueing_lock, CAST(j.args AS jsonb),
                   CASE WHEN j.delay > 0
                        THEN clock_timestamp() + j.delay * interval '1 second' END
               )::procrastinate_job_to_defer_v1
          FROM unnest(CAST(:queues AS varchar[]), CAST(:tasks AS varchar[]), CAST(:locks AS text[]),
                      CAST(:queueing_locks AS text[]), CAST(:args AS text[]), CAST(:delays AS float8[]))
               WITH ORDINALITY AS j(queue_name, task_name, lock, queueing_lock, args, delay, n)
         ORDER BY j.n
    ))) AS id
    """
)
_WAITING_SQL = text(
    "SELECT queueing_lock FROM procrastinate_jobs "
    "WHERE status = 'todo' AND queueing_lock = ANY(CAST(:keys AS text[])) "
    # Hold the waiting jobs until we commit: procrastinate's fetch skips locked rows, so a waiting job
    # cannot start (and miss the events we are storing) between this read and our commit.
    "FOR SHARE"
)


# ---------------------------------------------------------------------------------------------- queue


@dataclass(frozen=True)
class _Row:
    """One procrastinate row to insert, after mapping the interface's lock/delay onto procrastinate's."""

    task: str
    lock: str | None
    queueing_lock: str | None
    kwargs: dict[str, Any]
    delay: float


def _row(
    task: str, args: dict[str, Any], lock: str | None, queueing_lock: str | None, delay: float, attempt: int
) -> _Row:
    kwargs: dict[str, Any] = {"args": args, "attempt": attempt}
    if lock is not None and delay > 0:
        # See the module docstring: a future row must not hold the lock, it takes it when promoted.
        kwargs["deferred_lock"] = lock
        lock = None
    return _Row(task, lock, queueing_lock, kwargs, max(0.0, delay))


def _request_row(request: JobRequest) -> _Row:
    """A first attempt of ``request`` as a procrastinate row."""
    return _row(request.task, request.args, request.lock, request.queueing_lock, request.delay_seconds, 1)


async def _autocommit(connection: Any) -> None:
    """The job pool's connections run each query in its own implicit transaction (see ``__init__``)."""
    await connection.set_autocommit(True)


async def check_idle_connection(connection: psycopg.AsyncConnection[Any]) -> None:
    """The job pool's liveness check, without a round trip while the server has said nothing.

    procrastinate's own check (psycopg's ``check_connection``) sends an empty query before every query it
    makes: two of a job's four round trips. An idle connection has nothing to read unless the server
    closed it (a restart or a terminated backend: PostgreSQL sends its FATAL error, then closes) or sent
    something unasked; only then is psycopg's check run, which raises on a dead connection so that the
    pool replaces it before procrastinate's query meets it. A connection cut without a word from the
    server (a network partition) fails its query, as it would have failed the empty one.
    """
    if connection.closed or connection.broken:
        raise psycopg.OperationalError("the job pool's connection is closed")
    readable, _, _ = select.select([connection.fileno()], [], [], 0)
    if readable:
        await psycopg_pool.AsyncConnectionPool.check_connection(connection)


def _job_pool(**kwargs: Any) -> psycopg_pool.AsyncConnectionPool[Any]:
    """procrastinate's pool with :func:`check_idle_connection` instead of its round-trip check."""
    kwargs["check"] = check_idle_connection
    return psycopg_pool.AsyncConnectionPool(**kwargs)


# How long procrastinate's status writes (finish, retry) wait for an unreachable database: a job whose
# end cannot be written stays "doing" while its worker is alive, and nothing would ever run it again.
STATUS_WRITE_PATIENCE_SECONDS = 60.0
# A procrastinate worker that died (its listener or heartbeat lost the database) is replaced after this
# long, doubling while the database stays unreachable.
WORKER_RESTART_MIN_SECONDS = 1.0
WORKER_RESTART_MAX_SECONDS = 30.0


class _PatientConnector(PsycopgConnector):
    """procrastinate's connector whose result-less queries (a job's finish or retry) outlast a database
    restart instead of failing once and leaving the job "doing" for ever."""

    async def execute_query_async(self, query: Any, **arguments: Any) -> None:
        delay, waited = 0.2, 0.0
        while True:
            try:
                await super().execute_query_async(query, **arguments)
                return
            except procrastinate_errors.ConnectorException as error:
                if not isinstance(error.__cause__, psycopg.OperationalError):
                    raise
                if waited >= STATUS_WRITE_PATIENCE_SECONDS:
                    raise
                log.warning("job_status_write_retry", waited=round(waited, 1))
                await asyncio.sleep(delay)
                waited += delay
                delay = min(delay * 2, 5.0)


class ProcrastinateJobQueue:
    """:class:`~accorria_agent.jobs.interface.JobQueue` on PostgreSQL; procrastinate's worker in-process."""

    def __init__(
        self,
        database_url: str,
        registry: TaskRegistry,
        *,
        concurrency: int = 4,
        queue_name: str = "accorria",
        worker_name: str | None = None,
        poll_interval: float = 0.5,
        max_attempts: int = 8,
        retry_base_seconds: float = 1.0,
        heartbeat_interval: float = 10.0,
        stalled_worker_timeout: float = 30.0,
        stalled_check_interval: float = 15.0,
    ) -> None:
        self._conninfo = libpq_url(database_url)
        self._registry = registry
        self._concurrency = max(1, concurrency)
        self._queue_name = queue_name
        # Stable per process, visible in logs and procrastinate's job context.
        self._worker_name = worker_name or f"{socket.gethostname()}:{os.getpid()}"
        # procrastinate wakes on NOTIFY for new rows but only *polls* for rows whose scheduled_at passed;
        # this bounds how late a delayed job (the 2 s quiet period) may start.
        self._poll_interval = poll_interval
        self._max_attempts = max(1, max_attempts)
        self._retry_base = retry_base_seconds
        self._heartbeat_interval = heartbeat_interval
        self._stalled_timeout = stalled_worker_timeout
        self._stalled_check_interval = stalled_check_interval
        self._app = App(
            connector=_PatientConnector(
                conninfo=self._conninfo,
                min_size=1,
                max_size=self._concurrency + 4,
                # Every query procrastinate sends is one statement (its functions lock and update in one
                # call): in autocommit each costs one round trip instead of BEGIN, the query and COMMIT
                # (profiled: the pool's transactions were ~6 % of a worker's CPU per turn).
                configure=_autocommit,
                pool_factory=_job_pool,
            )
        )
        self._worker: Worker | None = None
        self._worker_task: asyncio.Task[None] | None = None
        self._recovery_task: asyncio.Task[None] | None = None
        self._restart_task: asyncio.Task[None] | None = None
        self.restarts = 0  # how many times a dead procrastinate worker was replaced (tests, logs)
        self._open = False
        self._stopping = False

    @property
    def queue_name(self) -> str:
        """The procrastinate queue this adapter defers to and works on."""
        return self._queue_name

    @property
    def app(self) -> App:
        """The procrastinate app (for the admin/CLI; tasks are bridged from the registry at start)."""
        return self._app

    # -------------------------------------------------------------------------------------- deferral

    async def defer_many(self, connection: AsyncConnection | AsyncSession, requests: list[JobRequest]) -> int:
        """Insert jobs in the caller's transaction; a waiting queueing lock coalesces the request (0)."""
        if not requests:
            return 0
        wanted = queueing_locks(requests)
        waiting: set[str] = set()
        if wanted:
            result = await connection.execute(_WAITING_SQL, {"keys": wanted})
            waiting = {row[0] for row in result}
        rows = [_request_row(request) for request in to_add(requests, waiting)]
        if not rows:
            return 0
        try:
            async with connection.begin_nested():
                await connection.execute(_DEFER_SQL, self._params(rows))
            return len(rows)
        except IntegrityError as error:
            if not _is_queueing_lock_conflict(error):
                raise
        # Another transaction took one of the keys after our read: replay one SAVEPOINT per row so that
        # only the conflicting rows are dropped.
        added = 0
        for row in rows:
            try:
                async with connection.begin_nested():
                    await connection.execute(_DEFER_SQL, self._params([row]))
                added += 1
            except IntegrityError as error:
                if not _is_queueing_lock_conflict(error):
                    raise
        return added

    def defer_arrays(self, requests: list[JobRequest]) -> dict[str, list[Any]]:
        """The requests as procrastinate rows, one array per column, for callers that insert them in SQL.

        Keys ``tasks``, ``locks``, ``queueing_locks``, ``args`` (JSON text), ``delays`` (seconds); the
        interface's lock/delay are mapped as :meth:`defer_many` maps them, and only the first request of
        each queueing lock is kept. The caller must still coalesce on a waiting key (and keep that job from
        starting before it commits) and tolerate the queueing-lock index, as :meth:`defer_many` does; the
        webhook intake's PostgreSQL fast path does both with one ``ON CONFLICT`` clause.
        """
        params = self._params(_request_row(request) for request in to_add(requests))
        del params["queues"]
        return params

    def _params(self, rows: Iterable[_Row]) -> dict[str, list[Any]]:
        rows = list(rows)
        return {
            "queues": [self._queue_name] * len(rows),
            "tasks": [r.task for r in rows],
            "locks": [r.lock for r in rows],
            "queueing_locks": [r.queueing_lock for r in rows],
            "args": [json.dumps(r.kwargs) for r in rows],
            "delays": [r.delay for r in rows],
        }

    def notify(self) -> None:
        """Nothing to do: procrastinate's insert trigger NOTIFYs listening workers at commit."""

    async def _defer_own(self, row: _Row) -> bool:
        """Defer from the worker side, riding out a short database hiccup; False when coalesced.

        Used for promotions, retries and shutdown re-queues: if it gave up at once, the job it replaces
        would be closed and the work lost, so it tries a few times before letting the error through.
        """
        for pause in (0.2, 1.0, 3.0):
            try:
                return await self._defer_own_once(row)
            except procrastinate_errors.ConnectorException:
                log.warning("job_requeue_retrying", task=row.task, pause=pause)
                await asyncio.sleep(pause)
        return await self._defer_own_once(row)

    async def _defer_own_once(self, row: _Row) -> bool:
        job = procrastinate_jobs.Job(
            queue=self._queue_name,
            task_name=row.task,
            lock=row.lock,
            queueing_lock=row.queueing_lock,
            task_kwargs=row.kwargs,
            scheduled_at=datetime.now(UTC) + timedelta(seconds=row.delay) if row.delay > 0 else None,
        )
        try:
            await self._app.job_manager.batch_defer_jobs_async([job])
        except procrastinate_errors.AlreadyEnqueued:
            return False
        return True

    # ----------------------------------------------------------------------------------------- worker

    async def start(self) -> None:
        """Bridge the registry's tasks, recover stalled jobs, then run a procrastinate worker in this loop."""
        for name in self._registry.names():
            if name not in self._app.tasks:
                self._app.task(name=name, pass_context=True)(self._run_job)
        if not self._open:
            await self._app.open_async()
            self._open = True
        await self.recover_stalled()
        self._stopping = False
        self._start_worker()
        self._recovery_task = asyncio.create_task(self._recover_forever(), name="procrastinate-stalled-jobs")

    def _start_worker(self) -> None:
        self._worker = Worker(
            self._app,
            queues=[self._queue_name],
            name=self._worker_name,
            concurrency=self._concurrency,
            fetch_job_polling_interval=self._poll_interval,
            listen_notify=True,
            delete_jobs="successful",  # the table stays small; failures stay visible
            install_signal_handlers=False,  # the web server owns SIGTERM and calls stop()
            update_heartbeat_interval=self._heartbeat_interval,
            stalled_worker_timeout=self._stalled_timeout,
        )
        run = self._worker.run()  # type: ignore[no-untyped-call]
        self._worker_task = asyncio.create_task(run, name=f"procrastinate-worker-{self._worker_name}")
        self._worker_task.add_done_callback(self._worker_ended)

    def _worker_ended(self, task: asyncio.Task[None]) -> None:
        # procrastinate stops its worker when a side task (listener, heartbeat) dies, e.g. the database
        # went away (it lets its running jobs finish first): the process would then sit idle for ever.
        if self._worker_task is not task or self._stopping:
            return
        if not task.cancelled() and task.exception() is not None:
            log.error("procrastinate_worker_died", error=repr(task.exception()))
        else:
            log.error("procrastinate_worker_stopped_unexpectedly")
        self._restart_task = asyncio.create_task(self._restart_worker(), name="procrastinate-worker-restart")

    async def _restart_worker(self) -> None:
        """Start a new procrastinate worker in this process once the database answers again (with backoff).

        Its jobs left ``doing`` by the dead one are re-queued by the stalled-job recovery, this process's
        or another's."""
        delay = WORKER_RESTART_MIN_SECONDS
        while not self._stopping:
            await asyncio.sleep(delay)
            if self._stopping:
                return
            try:
                pool = self._app.connector.pool  # type: ignore[attr-defined]
                async with pool.connection() as connection:
                    await connection.execute("SELECT 1")
            except Exception as error:  # still down: wait longer
                log.warning("procrastinate_worker_restart_waiting", error_type=type(error).__name__)
                delay = min(delay * 2, WORKER_RESTART_MAX_SECONDS)
                continue
            self._start_worker()
            self.restarts += 1
            log.warning("procrastinate_worker_restarted", restarts=self.restarts)
            return

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop fetching; give running jobs ``timeout`` seconds, then cancel and re-queue them."""
        if self._recovery_task is not None:
            self._recovery_task.cancel()
            await asyncio.gather(self._recovery_task, return_exceptions=True)
            self._recovery_task = None
        self._stopping = True
        if self._restart_task is not None:
            self._restart_task.cancel()
            await asyncio.gather(self._restart_task, return_exceptions=True)
            self._restart_task = None
        if self._worker is not None and self._worker_task is not None:
            self._worker.shutdown_graceful_timeout = timeout
            self._worker.stop()  # type: ignore[no-untyped-call]
            await asyncio.gather(self._worker_task, return_exceptions=True)
        self._worker = None
        self._worker_task = None
        if self._open:
            await self._app.close_async()
            self._open = False

    async def _run_job(
        self,
        context: JobContext,
        /,
        args: dict[str, Any],
        attempt: int = 1,
        deferred_lock: str | None = None,
        **_future: Any,
    ) -> None:
        """The one procrastinate task body, registered under every registry name."""
        job = context.job
        if deferred_lock is not None:
            # The delay is over: queue the real run behind the lock (coalesces if the key is waiting).
            await self._defer_own(_row(job.task_name, args, deferred_lock, job.queueing_lock, 0.0, attempt))
            return
        function = self._registry.get(job.task_name)
        try:
            await function(args)
        except asyncio.CancelledError:
            # Shutdown after the grace period: the row is about to be closed 'aborted'; queue it again.
            await asyncio.shield(
                self._defer_own(_row(job.task_name, args, job.lock, job.queueing_lock, 0.0, attempt))
            )
            raise
        except Exception as error:
            if attempt >= self._max_attempts:
                log.error("job_failed_permanently", job_id=job.id, task=job.task_name, attempt=attempt)
                raise  # procrastinate records the row 'failed'
            delay = self._retry_base * (2 ** (attempt - 1)) * (0.5 + random.random())  # jitter
            requeued = await self._defer_own(
                _row(job.task_name, args, job.lock, job.queueing_lock, delay, attempt + 1)
            )
            log.warning(
                "job_failed_will_retry",
                job_id=job.id,
                task=job.task_name,
                attempt=attempt,
                retry_in=round(delay, 3),
                coalesced=not requeued,
                error=repr(error)[:500],
            )

    # --------------------------------------------------------------------------------- stalled jobs

    async def recover_stalled(self) -> int:
        """Return to the queue the ``doing`` jobs of workers whose heartbeat stopped; returns how many."""
        stalled = await self._app.job_manager.get_stalled_jobs(
            queue=self._queue_name, seconds_since_heartbeat=self._stalled_timeout
        )
        recovered = 0
        pool = self._app.connector.pool  # type: ignore[attr-defined]
        for job in stalled:
            async with pool.connection() as connection, connection.transaction():
                # Several processes run this: the row lock + status re-check make each recovery happen once.
                row = await (
                    await connection.execute(
                        "SELECT attempts FROM procrastinate_jobs WHERE id = %s AND status = 'doing' "
                        "FOR UPDATE SKIP LOCKED",
                        (job.id,),
                    )
                ).fetchone()
                if row is None:
                    continue
                if row[0] + 1 >= self._max_attempts:
                    # It keeps killing its worker (OOM, segfault): stop feeding it to workers.
                    await connection.execute(
                        "SELECT procrastinate_finish_job_v1(%s, 'failed', false)", (job.id,)
                    )
                    log.error("stalled_job_failed", job_id=job.id, task=job.task_name)
                    continue
                try:
                    async with connection.transaction():  # SAVEPOINT: a key conflict must not abort this
                        await connection.execute(
                            "SELECT procrastinate_retry_job_v2(%s, now(), NULL, NULL, NULL)", (job.id,)
                        )
                except psycopg.errors.UniqueViolation:
                    # A newer job with the same queueing lock is waiting and will do the same work.
                    await connection.execute(
                        "SELECT procrastinate_finish_job_v1(%s, 'aborted', false)", (job.id,)
                    )
                    log.info("stalled_job_coalesced", job_id=job.id, task=job.task_name)
                    continue
                recovered += 1
                log.warning("stalled_job_requeued", job_id=job.id, task=job.task_name)
        return recovered

    async def _recover_forever(self) -> None:
        while True:
            await asyncio.sleep(self._stalled_check_interval)
            try:
                await self.recover_stalled()
            except Exception:  # a database hiccup must not end recovery for the life of the process
                log.exception("stalled_job_recovery_failed")

    async def wait_idle(self, timeout: float = 30.0, horizon_seconds: float = 5.0) -> None:
        """Wait until no job of this queue is running or due within ``horizon_seconds``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        pool = self._app.connector.pool  # type: ignore[attr-defined]
        while loop.time() < deadline:
            async with pool.connection() as connection:
                row = await (
                    await connection.execute(
                        "SELECT 1 FROM procrastinate_jobs WHERE queue_name = %s AND (status = 'doing' OR "
                        "(status = 'todo' AND (scheduled_at IS NULL OR "
                        "scheduled_at <= now() + make_interval(secs => %s)))) LIMIT 1",
                        (self._queue_name, horizon_seconds),
                    )
                ).fetchone()
            if row is None:
                return
            await asyncio.sleep(0.02)
        raise TimeoutError("jobs still pending after timeout")


def _is_queueing_lock_conflict(error: IntegrityError) -> bool:
    """Whether a SQLAlchemy IntegrityError is procrastinate's queueing-lock index (asyncpg or psycopg)."""
    candidates: list[BaseException | None] = [error.orig, getattr(error.orig, "__cause__", None)]
    for candidate in candidates:
        if candidate is None:
            continue
        name = getattr(candidate, "constraint_name", None)
        diag = getattr(candidate, "diag", None)
        if name is None and diag is not None:
            name = getattr(diag, "constraint_name", None)
        if name == QUEUEING_LOCK_INDEX:
            return True
    return False
