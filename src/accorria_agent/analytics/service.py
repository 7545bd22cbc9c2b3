"""Analytics use cases: validate the range, resolve the seller's scope, turn aggregates into a report."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.analytics import repository as repo
from accorria_agent.analytics.schemas import (
    FUNNEL_STEPS,
    AnalyticsReport,
    Funnel,
    TakeoverCauses,
    flatten,
)
from accorria_agent.errors import BadRequest, NotFound
from accorria_agent.sellers.models import Seller

# Longest range one report may cover (a year and a day, so a leap year fits).
MAX_RANGE_DAYS = 366


class InvalidRange(BadRequest):
    """The date range is unusable (from after to, or longer than MAX_RANGE_DAYS)."""

    status_code = 422
    code = "invalid_range"


@dataclass(frozen=True)
class ReportQuery:
    """What the seller asked for."""

    from_date: date
    to_date: date
    page_id: str | None = None
    listing_id: int | None = None


def utc_bounds(from_date: date, to_date: date, timezone: str) -> tuple[datetime, datetime]:
    """``[from 00:00, the day after to 00:00)`` in ``timezone``, as UTC instants."""
    if from_date > to_date:
        raise InvalidRange("from must not be after to")
    if (to_date - from_date).days + 1 > MAX_RANGE_DAYS:
        raise InvalidRange(f"a report covers at most {MAX_RANGE_DAYS} days")
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    start = datetime.combine(from_date, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(to_date + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


async def report(session: AsyncSession, seller_id: int, query: ReportQuery) -> AnalyticsReport:
    """The seller's analytics report; 404 for a Page or listing that is not theirs, 422 for a bad range."""
    seller = (await session.execute(select(Seller).where(Seller.id == seller_id))).scalar_one_or_none()
    if seller is None:
        raise NotFound("no such seller")
    start, end = utc_bounds(query.from_date, query.to_date, seller.timezone)
    tenant_ids = await repo.seller_tenant_ids(session, seller_id, query.page_id)
    if query.page_id is not None and not tenant_ids:
        raise NotFound("no such Page")
    if query.listing_id is not None and not await repo.listing_belongs_to(
        session, seller_id, query.listing_id
    ):
        raise NotFound("no such listing")
    figures = await repo.cohort_figures(
        session, tenant_ids=tenant_ids, start=start, end=end, listing_id=query.listing_id
    )
    funnel = Funnel(**{step: figures.reached.get(kind, 0) for step, kind in FUNNEL_STEPS})
    causes = TakeoverCauses(
        **{cause: figures.takeover_causes.get(cause, 0) for cause in TakeoverCauses.model_fields}
    )
    return AnalyticsReport(
        from_date=query.from_date,
        to_date=query.to_date,
        timezone=seller.timezone,
        page_id=query.page_id,
        listing_id=query.listing_id,
        total_conversations=figures.total,
        answered_conversations=figures.response.answered,
        average_response_time=figures.response.mean,
        median_response_time=figures.response.median,
        p90_response_time=figures.response.p90,
        funnel=funnel,
        conversion_rate=_rate(funnel.sold, figures.total),
        escrow_adoption_rate=_rate(funnel.escrow, funnel.agreed),
        human_takeover_rate=_rate(figures.takeovers, figures.total),
        human_takeovers=figures.takeovers,
        takeover_causes=causes,
        policy_refusals=figures.policy_refusals,
        average_agreed_to_asking=figures.agreed_to_asking,
    )


def report_csv(report_: AnalyticsReport) -> str:
    """The report as CSV: a ``metric,value`` header, then one row per figure (the JSON, flattened)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["metric", "value"])
    for metric, value in flatten(report_).items():
        writer.writerow([metric, value])
    return buffer.getvalue()
