"""All SQL of the conversation domain. Tenant data is read only through ``tenant_select``."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import BindParameter

from accorria_agent.conversations.models import SENDING, Conversation, ConversationDraft, Message
from accorria_agent.db import tail
from accorria_agent.db.tenancy import tenant_select
from accorria_agent.messenger.models import GLOBAL_SENDING_SCOPE, EventLog, SendingControl
from accorria_agent.sellers.models import Listing, MessengerSettings, MessengerTenant
from accorria_agent.sellers.service import settings_for


async def tenant_by_page(session: AsyncSession, page_id: str) -> MessengerTenant | None:
    """The tenant serving ``page_id`` (the entry point from a webhook: the page id *is* the tenant key)."""
    result = await session.execute(select(MessengerTenant).where(MessengerTenant.page_id == page_id))
    return result.scalar_one_or_none()


@dataclass(frozen=True)
class PageContext:
    """A Page's tenant row, its settings and the kill switch, read together at the start of a turn (with
    the buyer's conversation when asked for one)."""

    tenant: MessengerTenant
    settings: MessengerSettings
    halt_reason: str | None
    conversation: Conversation | None = None


async def page_context(
    session: AsyncSession, page_id: str, buyer_psid: str | None = None
) -> PageContext | None:
    """Tenant, settings and kill switch of ``page_id`` in one query (one round trip on the hot path) and,
    with ``buyer_psid``, that buyer's conversation with this Page: scoped by the tenant the same row
    resolves from the Page (the Page id is the tenant key)."""
    statement = (
        select(MessengerTenant, MessengerSettings, SendingControl)
        .outerjoin(MessengerSettings, MessengerSettings.tenant_id == MessengerTenant.id)
        .outerjoin(SendingControl, SendingControl.scope == GLOBAL_SENDING_SCOPE)
        .where(MessengerTenant.page_id == page_id)
    )
    if buyer_psid is not None:
        statement = statement.add_columns(Conversation).outerjoin(
            Conversation,
            and_(Conversation.tenant_id == MessengerTenant.id, Conversation.buyer_psid == buyer_psid),
        )
    row: Any = (await session.execute(statement)).first()
    if row is None:
        return None
    tenant, settings, control = row[0], row[1], row[2]
    conversation = row[3] if buyer_psid is not None else None
    if settings is None:
        settings = await settings_for(session, tenant.id)
    return PageContext(tenant, settings, halt_reason_of(control), conversation)


@dataclass(frozen=True)
class TurnStart:
    """What a conversation turn reads first, in one round trip (see :func:`turn_start`)."""

    page: PageContext | None
    events: Sequence[EventLog]
    # The listing :func:`listing_for` gives for the conversation's ``listing_id`` as it was read (a new
    # conversation: ``None``). A turn that changes the ``listing_id`` (a referral) reads the listing again.
    listing: Listing | None = None
    listing_for_id: int | None = None
    # Whether the conversation has bot replies still pending or claimed (``orphaned_outbound`` reads them
    # only then), and how many bot replies it drew since ``loop_since`` (the loop breaker's count).
    has_unsent_replies: bool = False
    bot_replies_since: int = 0


def _turn_start_statement() -> Any:
    own, latest = aliased(Listing), aliased(Listing)
    buyer_psid: BindParameter[str] = bindparam("buyer_psid")
    # listing_for's choice as correlated subqueries (SQLite has no LATERAL, nor outer columns in a
    # subquery's ORDER BY): the conversation's listing, else the Page's most recent active one.
    listing_id = func.coalesce(
        select(own.id)
        .where(own.tenant_id == MessengerTenant.id, own.id == Conversation.listing_id)
        .correlate(MessengerTenant, Conversation)
        .scalar_subquery(),
        select(func.max(latest.id))
        .where(latest.tenant_id == MessengerTenant.id, latest.status == "active")
        .correlate(MessengerTenant)
        .scalar_subquery(),
    )
    own_replies = and_(
        Message.tenant_id == MessengerTenant.id,
        Message.conversation_id == Conversation.id,
        Message.author == "bot",
    )
    unsent = (
        select(Message.id)
        .where(own_replies, Message.direction == "outbound", Message.status.in_(("pending", SENDING)))
        .correlate(MessengerTenant, Conversation)
        .exists()
    )
    recent = (
        select(func.count(Message.id))
        .where(own_replies, Message.created_at >= bindparam("loop_since"))
        .correlate(MessengerTenant, Conversation)
        .scalar_subquery()
    )
    return (
        select(
            MessengerTenant,
            MessengerSettings,
            SendingControl,
            Conversation,
            Listing,
            EventLog,
            unsent,
            recent,
        )
        .outerjoin(MessengerSettings, MessengerSettings.tenant_id == MessengerTenant.id)
        .outerjoin(SendingControl, SendingControl.scope == GLOBAL_SENDING_SCOPE)
        .outerjoin(
            Conversation,
            and_(Conversation.tenant_id == MessengerTenant.id, Conversation.buyer_psid == buyer_psid),
        )
        .outerjoin(Listing, Listing.id == listing_id)
        .outerjoin(
            EventLog,
            and_(
                EventLog.page_id == MessengerTenant.page_id,
                EventLog.buyer_psid == buyer_psid,
                EventLog.processed_at.is_(None),
            ),
        )
        .where(MessengerTenant.page_id == bindparam("page_id"))
        .order_by(EventLog.timestamp_ms, EventLog.id)
    )


# Built once: building it (two aliases, their column proxies, the joins) cost more of the worker's CPU
# than running it (profiled); SQLAlchemy's compiled cache then serves every turn.
_TURN_START = _turn_start_statement()


async def turn_start(session: AsyncSession, page_id: str, buyer_psid: str, loop_since: datetime) -> TurnStart:
    """The Page's context with the buyer's conversation, its unprocessed events (in order) and its listing,
    in one statement: one row per event (or one row without), each carrying the same Page, conversation
    and listing columns. A Page that is not served has no row: its events are then read alone.

    Tenant-scoped like :func:`page_context`: the conversation, events and listing are joined on the tenant
    (and Page) the same row resolves from ``page_id``. With them, whether the conversation has unsent bot
    replies and how many it drew since ``loop_since``, so that a turn reads neither separately.
    """
    params = {"page_id": page_id, "buyer_psid": buyer_psid, "loop_since": loop_since}
    result = await session.execute(_TURN_START, params)
    rows: list[Any] = list(result.all())
    if not rows:
        return TurnStart(None, await pending_events(session, page_id, buyer_psid))
    tenant, settings, control, conversation, listing = rows[0][:5]
    if settings is None:
        settings = await settings_for(session, tenant.id)
    events = [row[5] for row in rows if row[5] is not None]
    page = PageContext(tenant, settings, halt_reason_of(control), conversation)
    listing_for_id = conversation.listing_id if conversation is not None else None
    return TurnStart(page, events, listing, listing_for_id, bool(rows[0][6]), int(rows[0][7] or 0))


class EventsTakenError(Exception):
    """Another run of the conversation's job processed some of these events first (this run must roll back).

    Not a database failure and not poison: the events were handled, once, by the other run."""


async def mark_events_processed(session: AsyncSession, outcomes: dict[int, str], now: datetime) -> None:
    """Mark the turn's events processed, each with its outcome, **only if no other run did**.

    One conditional ``UPDATE`` (it replaces the unit of work's per-event update, so the turn pays no extra
    round trip). Two runs of one conversation's job can overlap: the stalled-job recovery re-queues the
    job of a worker whose heartbeat stopped, and after a database outage every heartbeat looks stale while
    the worker is alive. Both runs read the same unprocessed events; on PostgreSQL the later ``UPDATE``
    waits for the earlier run's commit and then matches fewer rows, SQLite serialises writers. Raises
    :class:`EventsTakenError` then, so that its transaction (its reply too) rolls back: each buyer message
    is answered once.
    """
    if not outcomes:
        return
    ids = list(outcomes)
    if tail.defers(session):
        # The turn's deferred writes (its audit row, its live events) go out in the same statement.
        lead = tail.Part(
            _MARK_PROCESSED,
            {"mark_now": now, "mark_ids": ids, "mark_outcomes": [text[:200] for text in outcomes.values()]},
        )
        marked = await tail.send_with(session, lead)
        if marked != len(ids):
            raise EventsTakenError(f"{len(ids) - marked} of {len(ids)} events were processed by another run")
        return
    outcome = case({event_id: text[:200] for event_id, text in outcomes.items()}, value=EventLog.id)
    result = await session.execute(
        update(EventLog)
        .where(EventLog.id.in_(ids), EventLog.processed_at.is_(None))
        .values(processed_at=now, outcome=outcome)
        .execution_options(synchronize_session=False)
    )
    marked = int(getattr(result, "rowcount", 0) or 0)
    if marked != len(ids):
        raise EventsTakenError(f"{len(ids) - marked} of {len(ids)} events were processed by another run")


# mark_events_processed on PostgreSQL: one constant text for any number of events (arrays, not a CASE).
_MARK_PROCESSED = (
    "UPDATE messenger_events_log AS e SET processed_at = :mark_now, outcome = v.outcome "
    "FROM unnest(CAST(:mark_ids AS int[]), CAST(:mark_outcomes AS text[])) AS v(id, outcome) "
    "WHERE e.id = v.id AND e.processed_at IS NULL RETURNING e.id"
)


def halt_reason_of(control: SendingControl | None) -> str | None:
    """The kill switch's reason when it is thrown, else ``None``."""
    if control is None or not control.halted:
        return None
    return control.reason or "by the operator"


async def pending_events(session: AsyncSession, page_id: str, buyer_psid: str) -> Sequence[EventLog]:
    """Unprocessed events of one conversation, in the order the buyer produced them."""
    result = await session.execute(
        select(EventLog)
        .where(
            EventLog.page_id == page_id,
            EventLog.buyer_psid == buyer_psid,
            EventLog.processed_at.is_(None),
        )
        .order_by(EventLog.timestamp_ms, EventLog.id)
    )
    return result.scalars().all()


async def conversation_for(session: AsyncSession, tenant_id: int, buyer_psid: str) -> Conversation | None:
    result = await session.execute(
        tenant_select(Conversation, tenant_id).where(Conversation.buyer_psid == buyer_psid)
    )
    return result.scalar_one_or_none()


async def get_or_create_conversation(session: AsyncSession, tenant_id: int, buyer_psid: str) -> Conversation:
    """The conversation of this buyer with this Page (callers hold the conversation's job lock)."""
    conversation, _created = await conversation_or_new(session, tenant_id, buyer_psid)
    return conversation


async def conversation_or_new(
    session: AsyncSession, tenant_id: int, buyer_psid: str
) -> tuple[Conversation, bool]:
    """The conversation of this buyer with this Page, and whether it was created just now."""
    conversation = await conversation_for(session, tenant_id, buyer_psid)
    if conversation is not None:
        return conversation, False
    return await new_conversation(session, tenant_id, buyer_psid), True


async def new_conversation(session: AsyncSession, tenant_id: int, buyer_psid: str) -> Conversation:
    """Start this buyer's conversation with this Page (the caller knows there is none: it holds the
    conversation's job lock and looked)."""
    conversation = Conversation(tenant_id=tenant_id, buyer_psid=buyer_psid, negotiation_state={})
    session.add(conversation)
    await session.flush()
    return conversation


async def add_inbound_message(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Store a buyer's message unless its ``mid`` is stored already; False for such a duplicate.

    One ``INSERT … ON CONFLICT DO NOTHING`` instead of a look-up and an insert: the same ``mid`` can come
    twice (on the ``messaging`` and the ``standby`` channel, or redelivered under another event key).
    """
    dialect = session.get_bind().dialect.name
    insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert_(Message)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["tenant_id", "mid"])
        .returning(Message.id)
    )
    return (await session.execute(statement)).first() is not None


async def conversation_by_id(
    session: AsyncSession, tenant_id: int, conversation_id: int
) -> Conversation | None:
    result = await session.execute(
        tenant_select(Conversation, tenant_id).where(Conversation.id == conversation_id)
    )
    return result.scalar_one_or_none()


async def listing_for(session: AsyncSession, tenant_id: int, listing_id: int | None) -> Listing | None:
    """The conversation's listing, or else the Page's only/most recent active listing."""
    if listing_id is not None:
        result = await session.execute(tenant_select(Listing, tenant_id).where(Listing.id == listing_id))
        listing = result.scalar_one_or_none()
        if listing is not None:
            return listing
    result = await session.execute(
        tenant_select(Listing, tenant_id)
        .where(Listing.status == "active")
        .order_by(Listing.id.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def message_by_mid(session: AsyncSession, tenant_id: int, mid: str) -> Message | None:
    result = await session.execute(tenant_select(Message, tenant_id).where(Message.mid == mid))
    return result.scalar_one_or_none()


async def message_by_outbound_key(session: AsyncSession, tenant_id: int, key: str) -> Message | None:
    result = await session.execute(tenant_select(Message, tenant_id).where(Message.outbound_key == key))
    return result.scalar_one_or_none()


async def outbound_message(session: AsyncSession, tenant_id: int, message_id: int) -> Message | None:
    """One outbound message of this tenant, or ``None``."""
    result = await session.execute(
        tenant_select(Message, tenant_id).where(Message.id == message_id, Message.direction == "outbound")
    )
    return result.scalar_one_or_none()


async def orphaned_outbound(
    session: AsyncSession, tenant_id: int, conversation_id: int
) -> list[tuple[int, datetime | None]]:
    """Bot replies still ``pending`` or ``sending`` when the conversation's job starts: (id, claimed_at).

    A ``pending`` reply's sender ran under this same conversation lock, so it is gone (a killed worker):
    nothing else will send it (``claimed_at`` is ``None``). A ``sending`` one was claimed by a sender that
    may still be alive (see ``sending.repository.claim``). Deferred deliveries are ``queued``, excluded.
    """
    result = await session.execute(
        tenant_select(Message, tenant_id)
        .with_only_columns(Message.id, Message.status, Message.claimed_at)
        .where(
            Message.conversation_id == conversation_id,
            Message.direction == "outbound",
            Message.author == "bot",
            Message.status.in_(("pending", SENDING)),
        )
        .order_by(Message.id)
    )
    return [(row.id, row.claimed_at if row.status == SENDING else None) for row in result]


async def recent_messages(
    session: AsyncSession, tenant_id: int, conversation_id: int, limit: int = 12
) -> list[Message]:
    """The last ``limit`` messages of a conversation, oldest first."""
    result = await session.execute(
        tenant_select(Message, tenant_id)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.id.desc())
        .limit(limit)
    )
    return list(reversed(result.scalars().all()))


def new_outbound(
    conversation: Conversation,
    *,
    author: str,
    text: str | None,
    payload: dict[str, object],
    now: datetime,
    claimed: bool = False,
) -> Message:
    """An outbound message *intent*: stored (status ``pending``) before the Send API is called.

    ``claimed``: inserted already claimed for its send (``sending``, see ``sending.repository.claim``) by
    a transaction that gates it before it commits, so that no other sender can ever see it unclaimed.
    """
    return Message(
        tenant_id=conversation.tenant_id,
        conversation_id=conversation.id,
        direction="outbound",
        author=author,
        text=text,
        payload=payload,
        sent_at=now,
        status=SENDING if claimed else "pending",
        claimed_at=now if claimed else None,
        outbound_key=uuid.uuid4().hex,
        messaging_type="RESPONSE",
        tag=None,  # set, not left unloaded: the gate's re-assignment then writes nothing
    )


async def mark_delivered(
    session: AsyncSession,
    tenant_id: int,
    conversation_id: int,
    mids: Sequence[str],
    watermark: datetime | None,
    status: str,
) -> int:
    """Raise outbound messages to ``delivered``/``read`` by mid list or watermark; returns rows changed."""
    order = {"pending": 0, "queued": 0, SENDING: 0, "sent": 1, "delivered": 2, "read": 3}
    lower = [s for s, rank in order.items() if 0 < rank < order[status]]
    statement = update(Message).where(
        Message.tenant_id == tenant_id,
        Message.conversation_id == conversation_id,
        Message.direction == "outbound",
        Message.status.in_(lower),
    )
    if mids:
        statement = statement.where(Message.mid.in_(list(mids)))
    elif watermark is not None:
        statement = statement.where(Message.sent_at <= watermark)
    else:
        return 0
    result = await session.execute(statement.values(status=status))
    return int(getattr(result, "rowcount", 0) or 0)


async def pending_draft(
    session: AsyncSession, tenant_id: int, conversation_id: int, *, for_update: bool = False
) -> ConversationDraft | None:
    """The co-pilot draft waiting on this conversation (at most one), locked when ``for_update``."""
    query = tenant_select(ConversationDraft, tenant_id).where(
        ConversationDraft.conversation_id == conversation_id, ConversationDraft.status == "pending"
    )
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def pending_drafts(
    session: AsyncSession, tenant_id: int, conversation_ids: Collection[int]
) -> dict[int, ConversationDraft]:
    """The pending drafts of these conversations of one tenant, by conversation id (one query)."""
    if not conversation_ids:
        return {}
    result = await session.execute(
        tenant_select(ConversationDraft, tenant_id).where(
            ConversationDraft.conversation_id.in_(list(conversation_ids)),
            ConversationDraft.status == "pending",
        )
    )
    return {draft.conversation_id: draft for draft in result.scalars()}
