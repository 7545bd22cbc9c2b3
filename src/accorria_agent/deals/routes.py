"""The deals HTTP surface.

* ``GET  /api/deals`` (member) — the seller's deals with status, agreed price, escrow state and events;
  ``GET /api/deals/{id}``; ``POST /api/deals/{id}/lost`` ``{"reason"?}``.
* ``POST /api/listings/{id}/sold`` (owner) ``{"deal_id"?}`` — the listing is sold; its other buyers are told.
* ``POST /escrow/webhook`` — Accorria's signed status webhook (``X-Accorria-Signature``, docs/escrow.md).

Someone else's id is a 404; handlers are thin, the boundary owns the transaction.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import ValidationError

from accorria_agent.accounts.context import Member, Owner
from accorria_agent.db.engine import transaction
from accorria_agent.deals import service
from accorria_agent.deals.schemas import (
    MAX_ID,
    DealLostIn,
    DealOut,
    EscrowWebhookIn,
    ListingSoldIn,
    ListingSoldOut,
)
from accorria_agent.deals.tasks import DealsRuntime
from accorria_agent.errors import BadRequest, Conflict, PayloadTooLarge, Unauthorized
from accorria_agent.escrow.signature import SIGNATURE_HEADER, SignatureError, verify

MAX_WEBHOOK_BYTES = 64 * 1024
DealId = Annotated[int, Path(ge=1, le=MAX_ID)]
ListingId = Annotated[int, Path(ge=1, le=MAX_ID)]


def get_runtime(request: Request) -> DealsRuntime:
    runtime: DealsRuntime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[DealsRuntime, Depends(get_runtime)]
router = APIRouter(tags=["deals"])


@router.get("/api/deals", response_model=list[DealOut])
async def list_deals(
    member: Member,
    runtime: RuntimeDep,
    status: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[DealOut]:
    """The seller's deals, most recently changed first."""
    async with transaction(runtime.session_factory) as session:
        return await service.list_deals(session, member.seller_id, status=status, limit=limit, offset=offset)


@router.get("/api/deals/{deal_id}", response_model=DealOut)
async def get_deal(deal_id: DealId, member: Member, runtime: RuntimeDep) -> DealOut:
    async with transaction(runtime.session_factory) as session:
        return await service.get_deal(session, member.seller_id, deal_id)


@router.post("/api/deals/{deal_id}/lost", response_model=DealOut)
async def mark_lost(
    deal_id: DealId, member: Member, runtime: RuntimeDep, body: DealLostIn | None = None
) -> DealOut:
    """The buyer walked away: the deal is ``lost`` (409 if it is closed already)."""
    reason = (body or DealLostIn()).reason
    async with transaction(runtime.session_factory) as session:
        return await service.seller_marks_lost(
            session,
            seller_id=member.seller_id,
            member_id=member.member_id,
            deal_id=deal_id,
            reason=reason,
            now=runtime.clock(),
        )


@router.post("/api/listings/{listing_id}/sold", response_model=ListingSoldOut)
async def mark_sold(
    listing_id: ListingId, owner: Owner, runtime: RuntimeDep, body: ListingSoldIn | None = None
) -> ListingSoldOut:
    """The seller sold the car (to one of our deals, or elsewhere). Repeating it changes nothing."""
    async with transaction(runtime.session_factory) as session:
        result = await service.seller_marks_sold(
            session,
            runtime.queue,
            seller_id=owner.seller_id,
            member_id=owner.member_id,
            listing_id=listing_id,
            deal_id=(body or ListingSoldIn()).deal_id,
            now=runtime.clock(),
        )
    runtime.queue.notify()
    return result


@router.post("/escrow/webhook")
async def escrow_webhook(request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    """A status change from Accorria: authentic (HMAC), fresh (timestamp) and new (event id), or refused."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_WEBHOOK_BYTES:
        raise PayloadTooLarge("webhook body too large")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_WEBHOOK_BYTES:
            raise PayloadTooLarge("webhook body too large")
    settings = runtime.settings
    try:
        verify(
            raw,
            request.headers.get(SIGNATURE_HEADER),
            settings.accorria_webhook_secret.get_secret_value(),
            now=runtime.clock().timestamp(),
            tolerance_seconds=settings.escrow_webhook_tolerance_seconds,
        )
    except SignatureError as error:
        if error.stale:
            raise BadRequest(str(error), code="stale_webhook") from None
        raise Unauthorized(str(error), code="bad_signature") from None
    try:
        event = EscrowWebhookIn.model_validate_json(raw)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        raise BadRequest(f"invalid webhook body: {'.'.join(map(str, first['loc']))} {first['msg']}") from None
    async with transaction(runtime.session_factory) as session:
        outcome = await service.apply_escrow_webhook(
            session,
            runtime.queue,
            event_id=event.id,
            transaction_id=event.transaction_id,
            status=event.status,
            now=runtime.clock(),
        )
    if outcome == "duplicate":
        # Refused, not applied twice: this event id was accepted before (docs/escrow.md: do not retry).
        raise Conflict("this webhook event was already received", code="replayed")
    runtime.queue.notify()
    return {"status": "ok", "outcome": outcome}
