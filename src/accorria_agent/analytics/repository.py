"""All SQL of analytics: the report's figures over the cohort's ``conversation_facts`` rows.

The cohort is the conversations of the given Pages (tenants) created in ``[start, end)``, optionally
about one listing. The facts rows are kept by triggers (``facts_sql``) in the transaction of each write,
so the report is one aggregate over an index range — no per-message or per-event scan. Only percentiles
on SQLite (which has no ``percentile_cont``) are finished in Python over the per-conversation times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement

from accorria_agent.analytics import facts_sql
from accorria_agent.analytics.models import CAUSE_COLUMNS, FUNNEL_COLUMNS, ConversationFacts
from accorria_agent.sellers.models import Listing, MessengerTenant


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


def _flag_count(column: QueryableAttribute[bool]) -> ColumnElement[int]:
    return func.count().filter(column.is_(True))


async def cohort_figures(
    session: AsyncSession,
    *,
    tenant_ids: list[int],
    start: datetime,
    end: datetime,
    listing_id: int | None,
) -> CohortFigures:
    """Every figure of the report from the cohort's facts rows: one indexed scan (two on SQLite)."""
    figures = CohortFigures()
    if not tenant_ids:
        return figures
    facts = ConversationFacts
    scope = [facts.tenant_id.in_(tenant_ids), facts.started_at >= start, facts.started_at < end]
    if listing_id is not None:
        scope.append(facts.listing_id == listing_id)
    dialect = session.get_bind().dialect.name
    seconds = facts.response_seconds
    funnel = [_flag_count(getattr(facts, column)) for column in FUNNEL_COLUMNS.values()]
    causes = [_flag_count(getattr(facts, column)) for column in CAUSE_COLUMNS.values()]
    columns: list[ColumnElement[Any]] = [
        func.count(),
        *funnel,
        _flag_count(facts.taken_over),
        *causes,
        func.coalesce(func.sum(facts.policy_refusals), 0),
        func.coalesce(func.sum(facts.agreed_deals), 0),
        func.sum(facts.agreed_to_asking_sum),
        func.count(seconds),
        func.avg(seconds),
    ]
    if dialect == "postgresql":
        # Both percentiles from one sort of the cohort's times.
        columns.append(func.percentile_cont(literal_column("ARRAY[0.5, 0.9]")).within_group(seconds))
    row = list((await session.execute(select(*columns).where(*scope))).one())
    figures.total = int(row.pop(0))
    if figures.total == 0:
        return figures
    figures.reached = {kind: int(row.pop(0)) for kind in FUNNEL_COLUMNS}
    figures.takeovers = int(row.pop(0))
    figures.takeover_causes = {cause: int(row.pop(0)) for cause in CAUSE_COLUMNS}
    figures.policy_refusals = int(row.pop(0))
    figures.agreed_deals = int(row.pop(0))
    ratio_sum = row.pop(0)
    if figures.agreed_deals:
        figures.agreed_to_asking = float(ratio_sum) / figures.agreed_deals
    answered, mean = int(row.pop(0)), row.pop(0)
    if not answered:
        return figures
    if dialect == "postgresql":
        median, p90 = row[0]
        figures.response = ResponseTimes(answered, _ms(mean), _ms(median), _ms(p90))
        return figures
    # SQLite has no percentile_cont; julianday() is exact to a few microseconds only: round each time to
    # the millisecond first, then interpolate as PostgreSQL does.
    values = sorted(
        round(float(v), 3)
        for v in (await session.execute(select(seconds).where(*scope, seconds.is_not(None)))).scalars()
        if v is not None
    )
    figures.response = ResponseTimes(
        len(values),
        _ms(sum(values) / len(values)),
        _ms(percentile(values, 0.5)),
        _ms(percentile(values, 0.9)),
    )
    return figures


async def rebuild_facts(session: AsyncSession) -> int:
    """Recount every facts row from the source tables (what the migration's backfill did); the row count."""
    for statement in facts_sql.recount_statements(session.get_bind().dialect.name):
        await session.execute(text(statement))
    return int((await session.execute(select(func.count()).select_from(ConversationFacts))).scalar_one())


def _ms(seconds: Any) -> float:
    """Seconds to the millisecond (both backends report the same figure)."""
    return round(float(seconds), 3)


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (PostgreSQL's ``percentile_cont``)."""
    position = fraction * (len(sorted_values) - 1)
    lower = int(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * (position - lower)
