"""Operations gauges read from the database when ``/metrics`` is scraped (web and worker processes).

Counting from the database, not in memory, makes every process report the same truth (how many
conversations are active, how deep the queue is) whichever process did the work. Each figure is one
indexed query; a scrape costs a few milliseconds even with a large store.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.conversations.models import Conversation, Message
from accorria_agent.jobs.models import Job
from accorria_agent.messenger.models import GLOBAL_SENDING_SCOPE, SendingControl
from accorria_agent.metrics import Metrics
from accorria_agent.sellers.models import MessengerTenant

PAGE_STATUSES = ("active", "needs_reauth", "restricted", "paused")
# The embedded queue's table and procrastinate's: depth = every job not started; age = the oldest due.
_PROCRASTINATE_QUEUE = text(
    "SELECT count(*), min(CASE WHEN j.scheduled_at IS NULL OR j.scheduled_at <= :now THEN"
    " COALESCE(j.scheduled_at, (SELECT min(e.at) FROM procrastinate_events e WHERE e.job_id = j.id))"
    " END) FROM procrastinate_jobs j WHERE j.status = 'todo'"
)


async def refresh_gauges(
    session: AsyncSession, metrics: Metrics, now: datetime, *, procrastinate: bool
) -> None:
    """Set every database-backed gauge of ``metrics`` (read-only; the caller's transaction)."""
    active = await session.execute(
        select(func.count()).where(Conversation.last_buyer_message_at > now - timedelta(hours=24))
    )
    metrics.active_conversations.set(int(active.scalar_one()))
    held = await session.execute(select(func.count()).where(Message.status == "held"))
    metrics.held_replies.set(int(held.scalar_one()))
    control = await session.get(SendingControl, GLOBAL_SENDING_SCOPE)
    metrics.sending_halted.set(1 if control is not None and control.halted else 0)
    by_status = dict(
        (
            await session.execute(
                select(MessengerTenant.status, func.count()).group_by(MessengerTenant.status)
            )
        ).all()
    )
    for status in {*PAGE_STATUSES, *by_status}:
        metrics.pages.labels(status=str(status)).set(int(by_status.get(status, 0)))
    if procrastinate:
        row = (await session.execute(_PROCRASTINATE_QUEUE, {"now": now})).one()
    else:
        due = case((Job.scheduled_at <= now, Job.scheduled_at))
        row = (await session.execute(select(func.count(), func.min(due)).where(Job.status == "todo"))).one()
    metrics.queue_depth.set(int(row[0]))
    oldest = row[1]
    if isinstance(oldest, str):  # SQLite: min() over a CASE loses the column type, gives ISO text
        oldest = datetime.fromisoformat(oldest)
    if isinstance(oldest, datetime):
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=now.tzinfo)
        metrics.queue_oldest_age.set(max(0.0, (now - oldest).total_seconds()))
    else:
        metrics.queue_oldest_age.set(0.0)
