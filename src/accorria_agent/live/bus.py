"""The live-update bus: events published in a transaction reach every dashboard once it commits.

On PostgreSQL an event is a ``pg_notify`` issued inside the writer's transaction: the server delivers it
only if that transaction commits, to every process LISTENing on the same database — so a message
handled by any worker reaches a dashboard served by any web process, and a rolled-back change is never
announced. On SQLite (one process) the event waits in the session until commit and is then handed to
this process's hub.

Events carry ids only (Meta's 8 kB NOTIFY limit, and nothing personal in the database's notification
channel): a dashboard that hears "conversation 12 changed" fetches it through the scoped API.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import structlog
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from accorria_agent.db import tail

log = structlog.get_logger(__name__)

CHANNEL = "accorria_live"
KINDS = frozenset({"message", "conversation", "notification", "resync"})
# A dashboard that falls this far behind gets one "resync" instead of an unbounded backlog.
SUBSCRIBER_QUEUE_SIZE = 200
_PENDING = "live_pending_events"
_HUB = "live_pending_hub"  # the hub (database) the pending events are for


@dataclass(frozen=True)
class LiveEvent:
    """Something of ``seller_id``'s changed: a message, a conversation (mode, window …), a notification."""

    seller_id: int
    kind: str
    conversation_id: int | None = None
    message_id: int | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> LiveEvent | None:
        """The event in ``raw``, or None for anything malformed (never raises)."""
        try:
            data = json.loads(raw)
            seller_id = data["seller_id"]
            kind = data["kind"]
            conversation_id = data.get("conversation_id")
            message_id = data.get("message_id")
        except (ValueError, TypeError, KeyError):
            return None
        ids_ok = all(
            v is None or (isinstance(v, int) and not isinstance(v, bool))
            for v in (conversation_id, message_id)
        )
        if not isinstance(seller_id, int) or isinstance(seller_id, bool) or kind not in KINDS or not ids_ok:
            return None
        return cls(seller_id, kind, conversation_id, message_id)


def _is_id(value: object) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


class Subscription:
    """One open dashboard: a bounded queue of events for one account."""

    def __init__(self, seller_id: int) -> None:
        self.seller_id = seller_id
        self.queue: asyncio.Queue[LiveEvent] = asyncio.Queue(maxsize=SUBSCRIBER_QUEUE_SIZE)
        self.overflowed = False

    def offer(self, live_event: LiveEvent) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(live_event)
        except asyncio.QueueFull:
            # Too far behind: drop the backlog and tell the page to reload its data once.
            self.overflowed = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(LiveEvent(self.seller_id, "resync"))

    async def next(self, timeout: float) -> LiveEvent | None:
        """The next event, or None after ``timeout`` seconds (time for a heartbeat)."""
        try:
            live_event = await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None
        if live_event.kind == "resync":
            self.overflowed = False
        return live_event


class LiveHub:
    """This process's fan-out from published events to the subscriptions of their account."""

    def __init__(self) -> None:
        self._subscriptions: dict[int, set[Subscription]] = {}

    def subscribe(self, seller_id: int) -> Subscription:
        subscription = Subscription(seller_id)
        self._subscriptions.setdefault(seller_id, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        group = self._subscriptions.get(subscription.seller_id)
        if group is not None:
            group.discard(subscription)
            if not group:
                del self._subscriptions[subscription.seller_id]

    def publish(self, live_event: LiveEvent) -> None:
        for subscription in list(self._subscriptions.get(live_event.seller_id, ())):
            subscription.offer(live_event)

    def resync_all(self) -> None:
        """Every dashboard reloads (after a lost database connection: events may have been missed)."""
        for seller_id, group in list(self._subscriptions.items()):
            for subscription in list(group):
                subscription.offer(LiveEvent(seller_id, "resync"))

    @property
    def subscriber_count(self) -> int:
        return sum(len(group) for group in self._subscriptions.values())


_hubs: dict[str, LiveHub] = {}


def _engine_key(url: Any) -> str:
    return str(url.render_as_string(hide_password=True))


def hub_for(engine: AsyncEngine) -> LiveHub:
    """The hub of this process for ``engine``'s database (one per database, so tests stay apart)."""
    return _hubs.setdefault(_engine_key(engine.url), LiveHub())


def _pending(session: AsyncSession) -> list[Any]:
    """This transaction's events waiting for its commit, SQLite (listeners registered with the first)."""
    sync_session = session.sync_session
    if sync_session.get_transaction() is None:
        sync_session.begin()  # the events belong to a transaction (see db.tail.add)
    pending: list[Any] | None = sync_session.info.get(_PENDING)
    if pending is None:
        pending = sync_session.info[_PENDING] = []
        sync_session.info[_HUB] = _engine_key(session.get_bind().engine.url)
    return pending


async def publish_in_transaction(session: AsyncSession, live_event: LiveEvent) -> None:
    """Announce ``live_event`` to the account's dashboards if, and when, the caller's transaction commits.

    The events of a transaction wait in the session and go out together: on PostgreSQL in one
    ``pg_notify`` part of the transaction's tail statement (``db.tail``: with a turn's last statement, or
    alone right before the commit; an event repeated within the transaction once), on SQLite to this
    process's hub after the commit.
    """
    if tail.defers(session):
        # Sent with the transaction's last statement (a turn's), or alone right before its commit.
        tail.add(session, "live", live_event, _notify_part)
        return
    pending = _pending(session)
    if all(live_event != published for published, _savepoint in pending):
        # With the savepoint it was published in: if that rolls back, the event is not announced.
        pending.append((live_event, session.sync_session.get_nested_transaction()))


@dataclass(frozen=True)
class _TenantEvent:
    """An event whose account is the Page's seller, looked up when the events go out (PostgreSQL)."""

    tenant_id: int
    kind: str
    conversation_id: int | None
    message_id: int | None


# One statement for all of a transaction's events; those known by their Page get its seller here (a Page
# without a seller announces nothing). The JSON has LiveEvent's keys.
_NOTIFY_MANY = (
    "SELECT pg_notify(:live_channel, payload) FROM unnest(CAST(:live_payloads AS text[])) AS payload "
    "UNION ALL "
    "SELECT pg_notify(:live_channel, json_build_object('seller_id', t.seller_id, 'kind', e.kind, "
    "'conversation_id', e.conversation_id, 'message_id', e.message_id)::text) "
    "FROM unnest(CAST(:live_tenants AS int[]), CAST(:live_kinds AS text[]), "
    "CAST(:live_conversations AS int[]), CAST(:live_messages AS int[])) "
    "AS e(tenant_id, kind, conversation_id, message_id) "
    "JOIN messenger_tenants t ON t.id = e.tenant_id WHERE t.seller_id IS NOT NULL"
)


def _notify_part(published: list[Any]) -> tail.Part | None:
    """The ``pg_notify`` of the transaction's events (each once): a part of its tail statement."""
    pending = list(dict.fromkeys(published))
    if not pending:
        return None
    events = [e for e in pending if isinstance(e, LiveEvent)]
    by_tenant = [e for e in pending if isinstance(e, _TenantEvent)]
    return tail.Part(
        _NOTIFY_MANY,
        {
            "live_channel": CHANNEL,
            "live_payloads": [e.to_json() for e in events],
            "live_tenants": [e.tenant_id for e in by_tenant],
            "live_kinds": [e.kind for e in by_tenant],
            "live_conversations": [e.conversation_id for e in by_tenant],
            "live_messages": [e.message_id for e in by_tenant],
        },
    )


async def announce(
    session: AsyncSession,
    seller_id: int | None,
    kind: str,
    conversation_id: int | None = None,
    message_id: int | None = None,
) -> None:
    """One-line hook for writers: publish ``kind`` for the account, if the Page has one."""
    if seller_id is not None:
        await publish_in_transaction(session, LiveEvent(seller_id, kind, conversation_id, message_id))


async def announce_for_tenant(
    session: AsyncSession,
    tenant_id: int,
    kind: str,
    conversation_id: int | None = None,
    message_id: int | None = None,
) -> None:
    """Like :func:`announce` for writers that know only the Page (tenant): its seller is looked up (on
    PostgreSQL inside the statement that sends the transaction's events; elsewhere by primary key)."""
    if tail.defers(session):
        tail.add(session, "live", _TenantEvent(tenant_id, kind, conversation_id, message_id), _notify_part)
        return
    query = text("SELECT seller_id FROM messenger_tenants WHERE id = :id")
    seller_id = (await session.execute(query, {"id": tenant_id})).scalar_one_or_none()
    await announce(session, seller_id, kind, conversation_id, message_id)


_forward: Callable[[LiveEvent], None] | None = None


def forward_published(sink: Callable[[LiveEvent], None]) -> None:
    """Hand this process's committed SQLite events to ``sink`` instead of its hub.

    For a job child process on SQLite: its dashboards are served by the parent (which publishes what the
    sink sends it into its own hub); PostgreSQL needs none of this (``pg_notify`` reaches every process).
    """
    global _forward
    _forward = sink


@event.listens_for(Session, "after_commit")
def _after_commit(sync_session: Session) -> None:
    # SQLite: hand the committed transaction's events to this process's hub. SQLAlchemy calls this for a
    # savepoint's release too: its events wait for the real commit (the transaction may still roll back).
    if _PENDING not in sync_session.info or sync_session.in_nested_transaction():
        return
    events = [live_event for live_event, _savepoint in sync_session.info.pop(_PENDING, [])]
    key = sync_session.info.pop(_HUB, "")
    if _forward is not None:
        for live_event in events:
            _forward(live_event)
        return
    hub = _hubs.get(key)
    if hub is not None:
        for live_event in events:
            hub.publish(live_event)


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(sync_session: Session, previous: SessionTransaction) -> None:
    # SQLite: what the rolled-back transaction, or savepoint, published is not announced.
    pending: list[tuple[LiveEvent, SessionTransaction | None]] | None = sync_session.info.get(_PENDING)
    if pending is None:
        return
    if not previous.nested:
        sync_session.info.pop(_PENDING, None)
        sync_session.info.pop(_HUB, None)
        return
    pending[:] = [(e, savepoint) for e, savepoint in pending if not tail.within(savepoint, previous)]


@event.listens_for(Session, "after_transaction_end")
def _forget_at_transaction_end(sync_session: Session, transaction: SessionTransaction) -> None:
    # SQLite: a transaction that ends uncommitted (a session closed with it open) announces nothing later.
    if transaction.parent is None:
        sync_session.info.pop(_PENDING, None)
        sync_session.info.pop(_HUB, None)


class PostgresLiveListener:
    """LISTENs on one asyncpg connection and feeds the hub; reconnects (and resyncs pages) when it breaks."""

    def __init__(self, connect_kwargs: dict[str, Any], hub: LiveHub, *, retry_seconds: float = 1.0) -> None:
        self._connect_kwargs = connect_kwargs
        self._hub = hub
        self._retry_seconds = retry_seconds
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="live-listener")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        import asyncpg

        first = True
        while True:
            try:
                connection = await asyncpg.connect(**self._connect_kwargs)
            except (OSError, asyncpg.PostgresError) as error:
                log.warning("live_listener_connect_failed", error=type(error).__name__)
                await asyncio.sleep(self._retry_seconds)
                continue
            lost = asyncio.Event()
            try:
                connection.add_termination_listener(lambda _c, lost=lost: lost.set())
                await connection.add_listener(CHANNEL, self._on_notify)
                if not first:
                    self._hub.resync_all()
                first = False
                self.listening.set()
                await lost.wait()
            except (OSError, asyncpg.PostgresError) as error:
                log.warning("live_listener_lost", error=type(error).__name__)
            finally:
                self.listening.clear()
                if not connection.is_closed():
                    connection.terminate()
            await asyncio.sleep(self._retry_seconds)

    def _on_notify(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        live_event = LiveEvent.from_json(payload)
        if live_event is not None:
            self._hub.publish(live_event)


_listeners: dict[str, PostgresLiveListener] = {}


async def ensure_listening(engine: AsyncEngine) -> LiveHub:
    """The hub for ``engine``; on PostgreSQL also this process's listener, started on first use."""
    hub = hub_for(engine)
    if engine.dialect.name != "postgresql":
        return hub
    key = _engine_key(engine.url)
    listener = _listeners.get(key)
    if listener is None:
        from accorria_agent.messenger.intake_postgres import asyncpg_connect_kwargs

        listener = _listeners[key] = PostgresLiveListener(asyncpg_connect_kwargs(engine), hub)
        listener.start()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(listener.listening.wait(), timeout=5)
    return hub


async def close(engine: AsyncEngine) -> None:
    """Stop this process's listener for ``engine`` (the runtime calls it when it stops)."""
    listener = _listeners.pop(_engine_key(engine.url), None)
    if listener is not None:
        await listener.stop()
