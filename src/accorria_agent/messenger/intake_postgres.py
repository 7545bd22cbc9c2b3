"""The PostgreSQL fast path of the webhook intake: one batch, one statement, plain ``asyncpg``.

Profiling the web process under the webhook benchmark showed a third of its CPU in committing batches
through SQLAlchemy Core: pool checkout with a ping, ``BEGIN``, compiling and type-processing three
``executemany`` calls, the FOR SHARE pre-read, a SAVEPOINT around procrastinate's defer function, and
``COMMIT`` — seven or more round trips, each waking the event loop. Here the whole batch is a single
parameterised statement (deliveries, events and jobs as arrays, unnested server-side) sent on a connection
owned by the intake's writer task. A single statement is its own transaction, so the delivery rows, the
event rows and the jobs still commit together or not at all, in one round trip and one fsync.

What the statement keeps from the SQLAlchemy path (``WebhookIntake._commit`` + ``defer_many``):

* events are deduplicated on ``(page_id, event_key)`` with ``ON CONFLICT DO NOTHING`` (Meta redelivers);
* a job is not deferred when a ``todo`` job with the same queueing lock exists, and that waiting job cannot
  start before we commit — it would miss the events we are storing. Here both come from
  ``ON CONFLICT (queueing_lock) WHERE status = 'todo' DO UPDATE … WHERE false`` on procrastinate's partial
  unique index: an existing ``todo`` row makes PostgreSQL skip our row and *lock theirs* until we commit
  (the docs guarantee the lock even when the ``WHERE`` is false), so procrastinate's fetch
  (``FOR UPDATE SKIP LOCKED``) passes it by. If a worker is fetching that row right now, PostgreSQL waits
  for it and, once the row is ``doing``, inserts our job after all. A row another transaction is inserting
  makes us wait for that transaction, then coalesce (or insert, if it rolled back) — the race the
  SQLAlchemy path handles by replaying per-row SAVEPOINTs, leaving the winner unlocked.

  The differences from the SQLAlchemy path's ``SELECT … FOR SHARE`` pre-read: the lock is ``FOR NO KEY
  UPDATE`` strength, so two intake transactions coalescing on the same waiting job queue behind each other
  for one commit instead of sharing it (keys are locked in sorted order, so they cannot deadlock on jobs);
  and there is no read to plan. That mattered: a cached plan made while the job table was empty looked the
  keys up by scanning every waiting job, and re-planning every batch cost ~40 % more database CPU.

Each event learns its tenant from ``messenger_tenants`` in the same statement; an event for a Page we do
not serve keeps no payload (``{}``), as on the other paths (``WebhookIntake`` documents the rule).

Rows are inserted with the same column values the SQLAlchemy path writes (timestamps as ``timestamptz``,
JSON as ``jsonb``, procrastinate's columns as ``procrastinate_defer_jobs_v1`` would set them), so they read
back identically through the ORM and procrastinate; a test checks the round trip.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import asyncpg
import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

log = structlog.get_logger(__name__)

# One statement per batch. CTEs that modify data always run to completion, whether or not the final
# SELECT reads them; the final SELECT counts the jobs inserted (a coalesced one is neither inserted nor
# updated, so RETURNING skips it). Jobs go in queueing-lock order — every intake locks waiting jobs in the
# same order, so two of them cannot deadlock on jobs — and events in arrival order (their ids break ties
# between equal timestamps when a conversation's events are processed).
_BATCH_SQL = """
WITH d AS MATERIALIZED (
    -- The deliveries' ids are drawn first, so that each event row can name its delivery.
    SELECT nextval('webhook_deliveries_id_seq'::regclass) AS id, d.object, d.event_count, d.body, d.n
      FROM unnest($2::text[], $3::int4[], $4::text[]) WITH ORDINALITY AS d(object, event_count, body, n)
),
delivery AS (
    INSERT INTO webhook_deliveries (id, received_at, object, event_count, body)
    SELECT d.id, $1, d.object, d.event_count, d.body FROM d ORDER BY d.n
),
event AS (
    INSERT INTO messenger_events_log (page_id, tenant_id, buyer_psid, event_key, kind, channel, timestamp_ms,
                                      payload, received_at, processed_at, outcome, delivery_id)
    SELECT e.page_id, t.id, e.buyer_psid, e.event_key, e.kind, e.channel, e.timestamp_ms,
           CASE WHEN t.id IS NULL THEN '{}'::jsonb ELSE e.payload::jsonb END,
           $1, CASE WHEN e.settled THEN $1 END, e.outcome, d.id
      FROM unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::int8[], $11::text[],
                  $12::bool[], $13::text[], $20::int8[])
           WITH ORDINALITY AS e(page_id, buyer_psid, event_key, kind, channel, timestamp_ms, payload,
                                settled, outcome, delivery_n, n)
      LEFT JOIN messenger_tenants t ON t.page_id = e.page_id
      LEFT JOIN d ON d.n = e.delivery_n
     ORDER BY e.n
        ON CONFLICT (page_id, event_key) DO NOTHING
),
job AS (
    INSERT INTO procrastinate_jobs (queue_name, task_name, priority, lock, queueing_lock, args, scheduled_at)
    SELECT $14, j.task_name, 0, j.lock, j.queueing_lock, j.args::jsonb,
           CASE WHEN j.delay > 0 THEN clock_timestamp() + j.delay * interval '1 second' END
      FROM unnest($15::text[], $16::text[], $17::text[], $18::text[], $19::float8[])
           WITH ORDINALITY AS j(task_name, lock, queueing_lock, args, delay, n)
     ORDER BY j.queueing_lock, j.n
        ON CONFLICT (queueing_lock) WHERE status = 'todo'
        DO UPDATE SET priority = EXCLUDED.priority WHERE false
    RETURNING 1
)
SELECT count(*) FROM job
"""

# The connection runs nothing but _BATCH_SQL, whose plan does not depend on table statistics (it scans
# nothing but its parameters): plan it once instead of for every batch.
_SESSION = {"plan_cache_mode": "force_generic_plan"}
# A webhook caller is waiting: a batch that cannot commit within this long (a lock held by a stuck
# transaction, a database in trouble) is cancelled by PostgreSQL and answered 503, so Meta redelivers.
INTAKE_STATEMENT_TIMEOUT_MS = 5_000
# Two intake processes inserting overlapping events or keys in different orders can deadlock; PostgreSQL
# aborts one statement, which committed nothing and can simply run again.
_RETRYABLE = (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError)
_ATTEMPTS = 3
# SQLAlchemy's own connect arguments, not asyncpg's.
_SQLALCHEMY_ONLY = ("prepared_statement_cache_size", "prepared_statement_name_func", "async_creator_fn")


def asyncpg_connect_kwargs(engine: AsyncEngine) -> dict[str, Any]:
    """``asyncpg.connect`` keyword arguments: what the engine's asyncpg dialect would pass it."""
    _args, connect_args = engine.dialect.create_connect_args(engine.url)
    kwargs = {k: v for k, v in connect_args.items() if k not in _SQLALCHEMY_ONLY}
    if connect_args.get("prepared_statement_cache_size") == 0:
        # The URL asks for no named prepared statements (PgBouncer in transaction mode): honour it here too.
        kwargs.setdefault("statement_cache_size", 0)
    # asyncpg waits 60 s by default; a webhook caller is waiting, and Meta redelivers after a 503.
    kwargs.setdefault("timeout", 10)
    kwargs["server_settings"] = {
        **_SESSION,
        "statement_timeout": str(INTAKE_STATEMENT_TIMEOUT_MS),
        **kwargs.get("server_settings", {}),
    }
    return kwargs


class PostgresIntakeWriter:
    """Owns one ``asyncpg`` connection, used only by the intake's writer task; reconnects when it breaks."""

    def __init__(self, connect_kwargs: dict[str, Any], queue_name: str) -> None:
        self._connect_kwargs = connect_kwargs
        self._queue_name = queue_name
        self._connection: asyncpg.Connection | None = None

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            try:
                await asyncio.wait_for(connection.close(), timeout=5)
            except Exception:  # already broken: nothing to tell the server
                connection.terminate()

    def arguments(
        self,
        deliveries: list[tuple[str, int, str]],
        events: list[dict[str, Any]],
        jobs: dict[str, list[Any]],
        now: datetime,
    ) -> tuple[Any, ...]:
        """The statement's arguments for deliveries (object, event_count, body), event rows and jobs.

        ``events`` are the intake's event rows (the columns of ``messenger_events_log``, and
        ``delivery_n``: the 1-based position of the event's delivery in ``deliveries``); ``jobs`` holds
        the arrays :meth:`ProcrastinateJobQueue.defer_arrays` returns.
        """
        return (
            now,
            [d[0] for d in deliveries],
            [d[1] for d in deliveries],
            [d[2] for d in deliveries],
            [e["page_id"] for e in events],
            [e["buyer_psid"] for e in events],
            [e["event_key"] for e in events],
            [e["kind"] for e in events],
            [e["channel"] for e in events],
            [e["timestamp_ms"] for e in events],
            [orjson.dumps(e["payload"]).decode() for e in events],
            [e["processed_at"] is not None for e in events],
            [e["outcome"] for e in events],
            self._queue_name,
            jobs["tasks"],
            jobs["locks"],
            jobs["queueing_locks"],
            jobs["args"],
            jobs["delays"],
            [e["delivery_n"] for e in events],
        )

    async def execute(self, arguments: tuple[Any, ...]) -> int:
        """Store one batch (see :meth:`arguments`) in one transaction; returns how many jobs were added.

        A job whose queueing lock already waits is coalesced (not added). Raises on any failure, in which
        case nothing was stored.
        """
        for attempt in range(1, _ATTEMPTS + 1):
            connection = await self._connect()
            try:
                added = await connection.fetchval(_BATCH_SQL, *arguments)
                return int(added)
            except _RETRYABLE as error:
                if attempt == _ATTEMPTS:
                    raise
                log.warning("webhook_intake_batch_retried", attempt=attempt, error=repr(error))
            except asyncpg.PostgresError:
                raise  # the server refused the statement, which rolled back; the connection is fine
            except BaseException:
                # Network trouble or cancellation mid-statement: the connection's state is unknown.
                self._connection = None
                connection.terminate()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _connect(self) -> asyncpg.Connection:
        if self._connection is None or self._connection.is_closed():
            self._connection = None
            # JSON goes over the wire as text and is cast server-side, so no type codecs are needed.
            self._connection = await asyncpg.connect(**self._connect_kwargs)
        return self._connection
