"""``GET /api/analytics`` (JSON) and ``GET /api/analytics.csv``: the signed-in member's seller only."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from accorria_agent.accounts.context import Member, MemberContext
from accorria_agent.analytics import service
from accorria_agent.analytics.schemas import AnalyticsReport
from accorria_agent.db.engine import transaction

router = APIRouter(prefix="/api", tags=["analytics"])

FromDate = Annotated[date, Query(alias="from", description="First day (YYYY-MM-DD), seller's timezone.")]
ToDate = Annotated[date, Query(alias="to", description="Last day (YYYY-MM-DD), included.")]
PageId = Annotated[str | None, Query(max_length=64, pattern=r"^[0-9]+$")]
ListingId = Annotated[int | None, Query(ge=1)]


def report_query(
    from_date: FromDate, to_date: ToDate, page_id: PageId = None, listing_id: ListingId = None
) -> service.ReportQuery:
    """The query string of both endpoints (FastAPI answers 422 to a malformed one)."""
    return service.ReportQuery(from_date, to_date, page_id, listing_id)


Query_ = Annotated[service.ReportQuery, Depends(report_query)]


async def _report(request: Request, member: MemberContext, query: service.ReportQuery) -> AnalyticsReport:
    async with transaction(request.app.state.runtime.session_factory) as session:
        return await service.report(session, member.seller_id, query)


@router.get("/analytics", response_model=AnalyticsReport)
async def analytics(request: Request, member: Member, query: Query_) -> AnalyticsReport:
    """The report over conversations started from ``from`` to ``to`` (both included)."""
    return await _report(request, member, query)


@router.get("/analytics.csv", response_class=Response)
async def analytics_csv(request: Request, member: Member, query: Query_) -> Response:
    """The same report as CSV (``metric,value`` rows)."""
    report = await _report(request, member, query)
    filename = f"analytics-{query.from_date.isoformat()}-{query.to_date.isoformat()}.csv"
    return Response(
        service.report_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
