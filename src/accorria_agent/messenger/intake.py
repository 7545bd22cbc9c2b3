"""Durable webhook intake with group commit.

``POST /webhook`` hands its parsed events to :meth:`WebhookIntake.store` and answers 200 only when that
returns, i.e. after the events *and* the jobs that will process them are committed. One writer task
commits everything that arrived while the previous commit was running in a single transaction, which is
how a durable store keeps up with a bare endpoint (one fsync serves many requests).

Each event row records its Page's tenant (``tenant_id``, so the log is deleted with its seller). An event
for a Page we do not serve is still stored, so that its job settles it, but without its payload: a
stranger's buyers' messages are not ours to keep. All three writers (SQLAlchemy, SQLite, PostgreSQL)
apply the same rule.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import column, insert, select, table, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from accorria_agent.db.base import utcnow
from accorria_agent.db.errors import describe, is_poison, is_transient
from accorria_agent.jobs.interface import JobQueue, JobRequest
from accorria_agent.messenger.events import InboundEvent
from accorria_agent.messenger.intake_postgres import (
    INTAKE_STATEMENT_TIMEOUT_MS,
    PostgresIntakeWriter,
    asyncpg_connect_kwargs,
)
from accorria_agent.messenger.intake_sqlite import DatabaseBusy, SqliteIntakeWriter
from accorria_agent.messenger.models import EventLog, WebhookDelivery, WebhookRefusal

log = structlog.get_logger(__name__)

PROCESS_CONVERSATION_TASK = "process_conversation"
# The two columns of the sellers' Page table the intake reads (named, not imported: an edge knows no domain).
_TENANTS = table("messenger_tenants", column("id"), column("page_id"))
# Events that never lead to work for a conversation job.
_NO_JOB_KINDS = frozenset({"invalid", "app_roles", "policy_enforcement"})


def conversation_lock(page_id: str, buyer_psid: str) -> str:
    """The per-conversation lock: one worker at a time, in order."""
    return f"conversation:{page_id}:{buyer_psid}"


@dataclass
class _Pending:
    obj: str
    body: str
    events: list[InboundEvent]
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


# How much of a refused delivery's body is kept (Meta's limit per delivery is far larger; the rest is cut).
REFUSED_BODY_LIMIT = 65_536


class IntakeUnavailable(RuntimeError):
    """The events could not be made durable (the webhook answers 503 so that Meta redelivers)."""


@dataclass(frozen=True)
class JobTables:
    """Which job table the intake's fast paths may write in the webhook's own statement.

    Default: none (every job goes through ``queue.defer_many``). The runtime, which built the queue, says
    ``embedded=True`` for the embedded queue's ``jobs`` table (SQLite fast path), or names procrastinate's
    queue and gives its ``defer_arrays`` (PostgreSQL fast path). Both rows follow ``jobs.coalescing``.
    """

    embedded: bool = False
    procrastinate_queue: str | None = None
    job_arrays: Callable[[list[JobRequest]], dict[str, list[Any]]] | None = None


class WebhookIntake:
    """Batches deliveries into one transaction each round; resolves every caller after the commit."""

    def __init__(
        self,
        engine: AsyncEngine,
        queue: JobQueue,
        *,
        quiet_period_seconds: float = 0.0,
        max_batch: int = 512,
        job_tables: JobTables | None = None,
    ) -> None:
        self._engine = engine
        self._queue = queue
        self._quiet = quiet_period_seconds
        self._max_batch = max_batch
        self._inbox: asyncio.Queue[_Pending] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._dialect = ""
        self._sqlite_writer: SqliteIntakeWriter | None = None
        self._postgres_writer: PostgresIntakeWriter | None = None
        self._job_arrays: Callable[[list[JobRequest]], dict[str, list[Any]]] | None = None
        # Which queue table a fast path may write itself: told by the runtime, which built the queue.
        self._tables = job_tables or JobTables()
        self._busy = False  # a batch is being committed (stop() waits for it)

    async def start(self) -> None:
        """Pick the fastest writer for the database and queue, and start the writer task."""
        self._dialect = self._engine.dialect.name
        database = self._engine.url.database
        if self._dialect == "sqlite" and self._tables.embedded and database and database != ":memory:":
            # aiosqlite costs a thread hop per driver call and SQLAlchemy's row processing is slow;
            # a batch is committed in one call with plain sqlite3 instead (see intake_sqlite).
            self._sqlite_writer = SqliteIntakeWriter(database)
        elif (
            self._dialect == "postgresql"
            and self._engine.dialect.driver == "asyncpg"
            and self._tables.procrastinate_queue is not None
            and self._tables.job_arrays is not None
        ):
            # SQLAlchemy Core took a third of the web process's CPU and ~9 round trips per batch; one
            # raw statement on a connection of our own does the same work (see intake_postgres).
            self._postgres_writer = PostgresIntakeWriter(
                asyncpg_connect_kwargs(self._engine), self._tables.procrastinate_queue
            )
            self._job_arrays = self._tables.job_arrays
        self._writer = asyncio.create_task(self._write_forever(), name="webhook-intake-writer")

    async def stop(self) -> None:
        """Commit what is queued, then stop the writer task and close the fast path's connection."""
        if self._writer is not None:
            # Let queued deliveries commit before we go, including the batch being committed right now
            # (the inbox is already empty then): their callers are waiting for the answer.
            while not self._inbox.empty() or self._busy:
                await asyncio.sleep(0.01)
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
            self._writer = None
        if self._sqlite_writer is not None:
            self._sqlite_writer.close()
            self._sqlite_writer = None
        if self._postgres_writer is not None:
            await self._postgres_writer.close()
            self._postgres_writer = None

    async def store(self, obj: str, body: str, events: list[InboundEvent]) -> None:
        """Return once the delivery and its events are committed; raise :class:`IntakeUnavailable` if not."""
        if self._writer is None:
            raise IntakeUnavailable("intake is not running")
        pending = _Pending(obj=obj, body=body, events=events)
        await self._inbox.put(pending)
        await pending.done

    async def _write_forever(self) -> None:
        while True:
            first = await self._inbox.get()
            batch = [first]
            while len(batch) < self._max_batch and not self._inbox.empty():
                batch.append(self._inbox.get_nowait())
            self._busy = True
            try:
                try:
                    await self._commit(batch)
                    stored = batch
                except Exception as error:
                    log.error(
                        "webhook_intake_commit_failed", batch=len(batch), error_type=type(error).__name__
                    )
                    stored = await self._one_by_one(batch, error)
            finally:
                self._busy = False
            if stored:
                self._queue.notify()
            for pending in stored:
                if not pending.done.done():
                    pending.done.set_result(None)

    async def _one_by_one(self, batch: list[_Pending], error: Exception) -> list[_Pending]:
        """After a failed batch: store each delivery alone, so one bad delivery fails only itself.

        Returns the deliveries answered 200 (stored, or recorded as refused); the others are answered 503.
        """
        stored: list[_Pending] = []
        # The database failed (down, busy, a statement timeout), not one delivery's data: storing each
        # alone would only fail again, one timeout after the other, while every caller waits.
        alone = len(batch) > 1 and not (is_transient(error) and not is_poison(error))
        for pending in batch:
            if alone:
                try:
                    await self._commit([pending])
                    stored.append(pending)
                    continue
                except Exception as own_error:
                    error = own_error
            if is_poison(error) and await self._record_refused(pending, error):
                stored.append(pending)  # it can never be stored; a 5xx would make Meta redeliver it for ever
            elif not pending.done.done():
                pending.done.set_exception(IntakeUnavailable(type(error).__name__))
        return stored

    async def _record_refused(self, pending: _Pending, error: Exception) -> bool:
        """Keep a refused delivery with its error in ``webhook_refusals``; False if even that fails."""
        body = pending.body.replace("\x00", "")
        try:
            async with self._engine.begin() as connection:
                await connection.execute(
                    insert(WebhookRefusal),
                    {
                        "received_at": utcnow(),
                        "object": pending.obj[:32],
                        "event_count": len(pending.events),
                        "error": describe(error),
                        "body_sha256": hashlib.sha256(pending.body.encode("utf-8", "replace")).hexdigest(),
                        "body": body[:REFUSED_BODY_LIMIT],
                    },
                )
        except Exception as record_error:  # the database itself is unwell: 503, Meta redelivers later
            log.error("webhook_refusal_not_recorded", error_type=type(record_error).__name__)
            return False
        # The error's text may quote the buyer's message: only its type goes to the log.
        log.warning("webhook_delivery_refused", error_type=type(error).__name__, events=len(pending.events))
        return True

    async def _commit(self, batch: list[_Pending]) -> None:
        now = utcnow()
        delivery_rows, event_rows, requests = self._rows(batch, now)
        deliveries = [(row["object"], row["event_count"], row["body"]) for row in delivery_rows]
        if self._postgres_writer is not None and self._job_arrays is not None:
            arguments = self._postgres_writer.arguments(
                deliveries, event_rows, self._job_arrays(requests), now
            )
            await self._postgres_writer.execute(arguments)
            return
        if self._sqlite_writer is not None:
            # Committed on the event loop's thread, blocking it for the ~2 ms a batch takes: measured
            # faster than a worker thread, whose GIL hand-offs under load stretched commits to ~10 ms.
            # When a job holds the write lock we yield to the loop (so it can finish) and retry. The
            # retries stay a millisecond apart at most: a job in another process (the one-process
            # deployment's job child) waits for the lock in SQLite's busy handler, which sleeps 1, 2, 5,
            # 10 … ms between tries, so the webhook, trying more often, gets the lock first.
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10.0
            delay = 0.0002
            while True:
                try:
                    self._sqlite_writer.commit_batch(deliveries, event_rows, requests, now)
                    return
                except DatabaseBusy:
                    if loop.time() > deadline:
                        raise
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 0.001)
        async with self._engine.begin() as connection:
            if self._dialect == "postgresql":
                # As on the fast path (intake_postgres): the webhook caller must not wait on a stuck lock.
                await connection.execute(
                    text(f"SET LOCAL statement_timeout = {INTAKE_STATEMENT_TIMEOUT_MS}")
                )
            delivery_ids = (
                await connection.execute(
                    insert(WebhookDelivery).returning(WebhookDelivery.id, sort_by_parameter_order=True),
                    delivery_rows,
                )
            ).scalars().all()
            for row in event_rows:
                row["delivery_id"] = delivery_ids[row.pop("delivery_n") - 1]
            if event_rows:
                page_ids = sorted({row["page_id"] for row in event_rows})
                found = await connection.execute(
                    select(_TENANTS.c.page_id, _TENANTS.c.id).where(_TENANTS.c.page_id.in_(page_ids))
                )
                # A list, not the result: SQLAlchemy 2.1's results have keys(), so dict() took one for
                # a mapping and failed (this path's every batch with events did).
                tenants = dict(found.tuples().all())
                for row in event_rows:
                    row["tenant_id"] = tenants.get(row["page_id"])
                    if row["tenant_id"] is None:
                        row["payload"] = {}  # a Page we do not serve (see the module docstring)
                await connection.execute(self._insert_ignoring_duplicates(), event_rows)
            await self._queue.defer_many(connection, requests)

    def _rows(
        self, batch: list[_Pending], now: datetime
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[JobRequest]]:
        """The batch's delivery rows, event rows and one job request per conversation with work."""
        delivery_rows: list[dict[str, Any]] = []
        event_rows: list[dict[str, Any]] = []
        conversations: dict[tuple[str, str], None] = {}
        for position, pending in enumerate(batch, start=1):
            delivery_rows.append(
                {
                    "received_at": now,
                    "object": pending.obj,
                    "event_count": len(pending.events),
                    # Each event's payload is stored whole below; the raw body is kept only when no event
                    # carries it (other objects, empty or odd deliveries), so nothing is written twice.
                    "body": "" if pending.events else pending.body,
                }
            )
            for event in pending.events:
                event_rows.append(
                    {
                        "page_id": event.page_id,
                        "buyer_psid": event.buyer_psid,
                        "event_key": event.event_key,
                        "kind": event.kind,
                        "channel": event.channel,
                        "timestamp_ms": event.timestamp_ms,
                        "payload": event.payload,
                        "received_at": now,
                        "processed_at": now if event.kind in _NO_JOB_KINDS else None,
                        "outcome": "ignored: " + event.kind if event.kind in _NO_JOB_KINDS else None,
                        # Which of the batch's deliveries carried it: each writer turns this into
                        # ``delivery_id`` once the delivery rows have their ids.
                        "delivery_n": position,
                    }
                )
                if event.kind not in _NO_JOB_KINDS:
                    conversations[(event.page_id, event.buyer_psid)] = None
        requests = [
            JobRequest(
                task=PROCESS_CONVERSATION_TASK,
                args={"page_id": page_id, "buyer_psid": psid},
                lock=conversation_lock(page_id, psid),
                queueing_lock=conversation_lock(page_id, psid),
                delay_seconds=self._quiet,
            )
            for page_id, psid in conversations
        ]
        return delivery_rows, event_rows, requests

    def _insert_ignoring_duplicates(self) -> Any:
        # Meta redelivers: an event whose (page_id, event_key) is stored already is skipped, not an error.
        if self._dialect == "postgresql":
            return pg_insert(EventLog).on_conflict_do_nothing(index_elements=["page_id", "event_key"])
        return sqlite_insert(EventLog).on_conflict_do_nothing(index_elements=["page_id", "event_key"])
