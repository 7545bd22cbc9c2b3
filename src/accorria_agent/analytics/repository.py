"""All SQL of analytics: a cohort of conversations and, over it, the figures of the report.

The cohort is the conversations of the given Pages (tenants) created in ``[start, end)``, optionally
about one listing. Every figure is an aggregate the database computes; only percentiles on SQLite
(which has no ``percentile_cont``) are finished in Python over the per-conversation times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Float, Select, and_, cast, distinct, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from accorria_agent.conversations.mode_changes import ConversationModeChange
from accorria_agent.conversations.models import Conversation, Message
from accorria_agent.deals.models import Deal, DealEvent
from accorria_agent.sellers.models import Listing, MessengerTenant

# The messages that count as "our reply": written by the bot or the seller, and accepted by Meta.
REPLY_AUTHORS = ("bot", "seller")
REPLY_STATUSES = ("sent", "delivered", "read")


@dataclass
class ResponseTimes:
    """First-response times of the cohort's answered conversations, in seconds."""

    answered: int = 0
    mean: float | None = None
    median: float | None = None
    p90: float | None = None


@dataclass
class CohortFigures:
    """The raw aggregates the service turns into a report."""

    total: int = 0
    reached: dict[str, int] = field(default_factory=dict)
    takeovers: int = 0
    takeover_causes: dict[str, int] = field(default_factory=dict)
    policy_refusals: int = 0
    agreed_deals: int = 0
    agreed_to_asking: float | None = None
    response: ResponseTimes = field(default_factory=ResponseTimes)


async def seller_tenant_ids(session: AsyncSession, seller_id: int, page_id: str | None) -> list[int]:
    """The seller's Pages (all of them, or the one with ``page_id``)."""
    query = select(MessengerTenant.id).where(MessengerTenant.seller_id == seller_id)
    if page_id is not None:
        query = query.where(MessengerTenant.page_id == page_id)
    return [int(row) for row in (await session.execute(query)).scalars()]


async def listing_belongs_to(session: AsyncSession, seller_id: int, listing_id: int) -> bool:
    """Whether ``listing_id`` is one of the seller's listings."""
    found = await session.execute(
        select(Listing.id).where(Listing.id == listing_id, Listing.seller_id == seller_id)
    )
    return found.first() is not None


def _cohort(tenant_ids: list[int], start: datetime, end: datetime, listing_id: int | None) -> Select[Any]:
    query = select(Conversation.id).where(
        Conversation.tenant_id.in_(tenant_ids),
        Conversation.created_at >= start,
        Conversation.created_at < end,
    )
    if listing_id is not None:
        query = query.where(Conversation.listing_id == listing_id)
    return query


def _seconds_between(
    dialect: str, later: ColumnElement[datetime], earlier: ColumnElement[datetime]
) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return func.extract("epoch", later - earlier)
    # SQLite stores ISO text: julianday() reads it, in days.
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


async def cohort_figures(
    session: AsyncSession,
    *,
    seller_id: int,
    tenant_ids: list[int],
    start: datetime,
    end: datetime,
    listing_id: int | None,
    funnel_kinds: tuple[str, ...],
) -> CohortFigures:
    """Every aggregate of the report over the cohort (a handful of statements, none per conversation)."""
    figures = CohortFigures()
    if not tenant_ids:
        return figures
    cohort = _cohort(tenant_ids, start, end, listing_id)
    figures.total = int(
        (await session.execute(select(func.count()).select_from(cohort.subquery()))).scalar_one()
    )
    if figures.total == 0:
        return figures
    cohort_ids = cohort  # used as IN (SELECT id ...), which every backend plans as a semi-join

    reached = await session.execute(
        select(DealEvent.kind, func.count(distinct(DealEvent.conversation_id)))
        .where(
            DealEvent.seller_id == seller_id,
            DealEvent.conversation_id.in_(cohort_ids),
            DealEvent.kind.in_(funnel_kinds),
        )
        .group_by(DealEvent.kind)
    )
    figures.reached = {str(kind): int(count) for kind, count in reached.all()}

    takeover = and_(
        ConversationModeChange.conversation_id.in_(cohort_ids),
        ConversationModeChange.tenant_id.in_(tenant_ids),
        ConversationModeChange.to_mode != "bot",
    )
    figures.takeovers = int(
        (
            await session.execute(
                select(func.count(distinct(ConversationModeChange.conversation_id))).where(takeover)
            )
        ).scalar_one()
    )
    causes = await session.execute(
        select(ConversationModeChange.cause, func.count(distinct(ConversationModeChange.conversation_id)))
        .where(takeover)
        .group_by(ConversationModeChange.cause)
    )
    figures.takeover_causes = {str(cause): int(count) for cause, count in causes.all()}

    figures.policy_refusals = int(
        (
            await session.execute(
                select(func.count()).where(
                    Message.conversation_id.in_(cohort_ids),
                    Message.tenant_id.in_(tenant_ids),
                    Message.direction == "outbound",
                    Message.status == "refused",
                )
            )
        ).scalar_one()
    )

    asking = func.coalesce(Deal.asking_price, Listing.asking_price)
    ratio = cast(Deal.agreed_price, Float) / cast(asking, Float)
    agreed = (
        await session.execute(
            select(func.count(), func.avg(ratio))
            .select_from(Deal)
            .outerjoin(Listing, Listing.id == Deal.listing_id)
            .where(
                Deal.seller_id == seller_id,
                Deal.conversation_id.in_(cohort_ids),
                Deal.agreed_price.is_not(None),
                cast(asking, Float) > 0,
            )
        )
    ).one()
    figures.agreed_deals = int(agreed[0])
    figures.agreed_to_asking = float(agreed[1]) if agreed[1] is not None else None

    figures.response = await _response_times(session, cohort, tenant_ids)
    return figures


async def _response_times(session: AsyncSession, cohort: Select[Any], tenant_ids: list[int]) -> ResponseTimes:
    """Per conversation: first buyer message, then our first reply at or after it; two grouped joins.

    Grouped hash joins over the cohort's messages, not per-conversation index probes: measured 2× faster
    at 20,000 conversations on PostgreSQL, and the gap grows with the cohort.
    """
    dialect = session.get_bind().dialect.name
    conversations = cohort.cte("cohort")
    firsts = (
        select(Message.conversation_id.label("conversation_id"), func.min(Message.sent_at).label("first_in"))
        .join(conversations, conversations.c.id == Message.conversation_id)
        .where(Message.tenant_id.in_(tenant_ids), Message.direction == "inbound", Message.author == "buyer")
        .group_by(Message.conversation_id)
        .cte("first_in")
    )
    replies = (
        select(_seconds_between(dialect, func.min(Message.sent_at), firsts.c.first_in).label("seconds"))
        .select_from(firsts)
        .join(
            Message,
            and_(
                Message.conversation_id == firsts.c.conversation_id,
                Message.tenant_id.in_(tenant_ids),
                Message.direction == "outbound",
                Message.sent_at >= firsts.c.first_in,
                Message.author.in_(REPLY_AUTHORS),
                Message.status.in_(REPLY_STATUSES),
            ),
        )
        .group_by(firsts.c.conversation_id, firsts.c.first_in)
        .cte("first_reply")
    )
    seconds = replies.c.seconds
    if dialect == "postgresql":
        row = (
            await session.execute(
                select(
                    func.count(),
                    func.avg(seconds),
                    func.percentile_cont(literal_column("0.5")).within_group(seconds),
                    func.percentile_cont(literal_column("0.9")).within_group(seconds),
                )
            )
        ).one()
        if not row[0]:
            return ResponseTimes()
        return ResponseTimes(int(row[0]), _ms(row[1]), _ms(row[2]), _ms(row[3]))
    # julianday() is exact to a few microseconds only: round each time to the millisecond first.
    values = sorted(round(float(v), 3) for v in (await session.execute(select(seconds))).scalars())
    if not values:
        return ResponseTimes()
    return ResponseTimes(
        len(values),
        _ms(sum(values) / len(values)),
        _ms(percentile(values, 0.5)),
        _ms(percentile(values, 0.9)),
    )


def _ms(seconds: Any) -> float:
    """Seconds to the millisecond (both backends report the same figure)."""
    return round(float(seconds), 3)


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (PostgreSQL's ``percentile_cont``)."""
    position = fraction * (len(sorted_values) - 1)
    lower = int(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * (position - lower)
