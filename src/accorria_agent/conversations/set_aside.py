"""Events set aside: handling that fails for a reason a retry would not change (poison input, a bug).

The conversation job sets such an event aside instead of failing (and retrying, and failing) the whole
turn: the buyer's later messages are answered, the seller is told once, and the operator lists the events
with ``accorria-agent jobs failed`` and hands one back with ``accorria-agent jobs retry ID``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.conversations.models import Conversation, SetAsideEvent
from accorria_agent.db.errors import describe
from accorria_agent.errors import Conflict, NotFound
from accorria_agent.jobs.interface import JobQueue, JobRequest
from accorria_agent.messenger.intake import PROCESS_CONVERSATION_TASK, conversation_lock
from accorria_agent.messenger.models import EventLog
from accorria_agent.sellers.models import MessengerTenant
from accorria_agent.sellers.notifications import notify_seller

log = structlog.get_logger(__name__)

NOTIFICATION_KIND = "event_set_aside"


async def set_aside(
    session: AsyncSession,
    tenant: MessengerTenant,
    conversation: Conversation,
    events: Sequence[EventLog],
    error: BaseException,
    now: datetime,
) -> None:
    """Mark ``events`` processed as set aside, record them with the error and tell the seller (once)."""
    text = describe(error)
    for event in events:
        # The savepoint that failed may have expired the row; read it back before using it.
        await session.refresh(event)
        event.processed_at = now
        event.outcome = f"set aside: {type(error).__name__}"[:200]
        session.add(
            SetAsideEvent(
                event_id=event.id,
                tenant_id=conversation.tenant_id,
                page_id=event.page_id,
                buyer_psid=event.buyer_psid,
                error=text,
                set_aside_at=now,
            )
        )
    await notify_seller(
        session,
        conversation.tenant_id,
        conversation.id,
        NOTIFICATION_KIND,
        "The assistant could not handle a message in this conversation and set it aside; it keeps answering "
        "the buyer's next messages. Please read the conversation.",
    )
    await session.flush()
    log.warning(
        "event_set_aside",
        conversation_id=conversation.id,
        events=len(events),
        error_type=type(error).__name__,
    )
    del tenant  # the caller's tenant row may be expired by the failed savepoint: only ids are used


@dataclass(frozen=True)
class SetAsideView:
    """One set-aside event as ``jobs failed`` lists it."""

    id: int
    event_id: int
    page_id: str
    buyer_psid: str
    error: str
    set_aside_at: datetime


async def open_set_asides(session: AsyncSession, limit: int = 100) -> list[SetAsideView]:
    """Set-aside events not retried yet, oldest first (an operator's view: every Page)."""
    rows = await session.execute(
        select(SetAsideEvent)
        .where(SetAsideEvent.retried_at.is_(None))
        .order_by(SetAsideEvent.id)
        .limit(limit)
    )
    return [
        SetAsideView(row.id, row.event_id, row.page_id, row.buyer_psid, row.error, row.set_aside_at)
        for row in rows.scalars()
    ]


async def retry(session: AsyncSession, queue: JobQueue, set_aside_id: int, now: datetime) -> SetAsideView:
    """Hand a set-aside event back to its conversation's job (in the caller's transaction)."""
    row = await session.get(SetAsideEvent, set_aside_id)
    if row is None:
        raise NotFound(f"no set-aside event {set_aside_id}")
    if row.retried_at is not None:
        raise Conflict(f"set-aside event {set_aside_id} was retried already")
    event = await session.get(EventLog, row.event_id)
    if event is None:  # pragma: no cover - the foreign key cascades
        raise NotFound(f"event {row.event_id} is gone")
    event.processed_at = None
    event.outcome = None
    row.retried_at = now
    lock = conversation_lock(row.page_id, row.buyer_psid)
    await queue.defer_many(
        session,
        [
            JobRequest(
                task=PROCESS_CONVERSATION_TASK,
                args={"page_id": row.page_id, "buyer_psid": row.buyer_psid},
                lock=lock,
                queueing_lock=lock,
            )
        ],
    )
    await session.flush()
    return SetAsideView(row.id, row.event_id, row.page_id, row.buyer_psid, row.error, row.set_aside_at)
