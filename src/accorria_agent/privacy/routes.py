"""Privacy over HTTP: Meta's signed callbacks (public, signature-checked) and the seller's own requests.

* ``POST /facebook/data-deletion`` (form ``signed_request``) → ``{"url", "confirmation_code"}``;
  ``GET /facebook/data-deletion/status?code=…`` shows that request (JSON, or a small page for browsers).
* ``POST /facebook/deauthorize`` (form ``signed_request``): the user removed the app.
* ``DELETE /api/conversations/{conversation_id}/buyer-data``, ``POST /api/privacy/buyers/delete``,
  ``DELETE /api/account``, ``GET /api/export``: owners only, scoped by ``member.seller_id``.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Protocol
from urllib.parse import parse_qs, quote

import structlog
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from accorria_agent.accounts.context import Owner
from accorria_agent.db.engine import transaction
from accorria_agent.messenger.signed_request import (
    InvalidSignedRequest,
    parse_signed_request,
    signed_request_user_id,
)
from accorria_agent.privacy import service
from accorria_agent.privacy.models import PrivacyRequest
from accorria_agent.privacy.schemas import (
    AccountDeletionIn,
    BuyerDeletionIn,
    DataDeletionAnswer,
    DataDeletionStatus,
    PrivacyRequestOut,
)
from accorria_agent.settings import Settings


class PrivacyRuntime(Protocol):
    """What privacy routes read of ``request.app.state.runtime`` (a domain never imports the runtime)."""

    settings: Settings
    session_factory: async_sessionmaker[AsyncSession]
    clock: Callable[[], datetime]

log = structlog.get_logger(__name__)

# Postgres ``integer`` ids: a larger number is a 422, not a database overflow error.
MAX_ID = 2**31 - 1

router = APIRouter()


def _runtime(request: Request) -> PrivacyRuntime:
    runtime: PrivacyRuntime = request.app.state.runtime
    return runtime


async def _verified_user_id(request: Request, callback: str) -> str:
    """The ``user_id`` of the form's verified ``signed_request``; InvalidSignedRequest (400) otherwise."""
    runtime = _runtime(request)
    body = await request.body()  # bounded by the hardening middleware (API_MAX_BODY_BYTES)
    try:
        fields = parse_qs(body.decode("ascii"), max_num_fields=10, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        fields = {}
    values = fields.get("signed_request", [])
    try:
        if len(values) != 1:
            raise InvalidSignedRequest("send exactly one form field signed_request")
        payload = parse_signed_request(values[0], runtime.settings.facebook_app_secret.get_secret_value())
        return signed_request_user_id(payload)
    except InvalidSignedRequest as error:
        # Recorded for the operator (who may be looking at a misconfigured app secret or a probe).
        log.warning("signed_request_refused", callback=callback, reason=error.detail)
        raise


def _status_url(request: Request, code: str) -> str:
    base = _runtime(request).settings.public_base_url or str(request.base_url)
    return f"{base.rstrip('/')}/facebook/data-deletion/status?code={quote(code)}"


@router.post("/facebook/data-deletion", include_in_schema=False)
async def data_deletion_callback(request: Request) -> DataDeletionAnswer:
    """Meta's Data Deletion Request Callback: delete what we hold because of that Facebook user."""
    user_id = await _verified_user_id(request, "data_deletion")
    runtime = _runtime(request)
    async with transaction(runtime.session_factory) as session:
        record = await service.facebook_data_deletion(session, user_id, runtime.clock())
        code = record.confirmation_code or ""
    return DataDeletionAnswer(url=_status_url(request, code), confirmation_code=code)


@router.get("/facebook/data-deletion/status", include_in_schema=False, response_model=None)
async def data_deletion_status(
    request: Request, code: Annotated[str, Query(min_length=1, max_length=64)]
) -> Response:
    """A deletion request's status: JSON, or a small escaped page when a browser asks for HTML."""
    runtime = _runtime(request)
    async with transaction(runtime.session_factory) as session:
        record = await service.deletion_status(session, code)
    status = DataDeletionStatus(
        confirmation_code=record.confirmation_code or "",
        status=record.status,
        requested_at=record.requested_at,
        completed_at=record.completed_at,
    )
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(_status_page(status))
    return JSONResponse(status.model_dump(mode="json"))


def _status_page(status: DataDeletionStatus) -> str:
    done = status.completed_at.isoformat() if status.completed_at else "not yet"
    rows = [
        ("Confirmation code", status.confirmation_code),
        ("Status", status.status),
        ("Requested", status.requested_at.isoformat()),
        ("Completed", done),
    ]
    cells = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Data deletion request</title>'
        f"</head><body><h1>Data deletion request</h1><table>{cells}</table></body></html>"
    )


@router.post("/facebook/deauthorize", include_in_schema=False)
async def deauthorize_callback(request: Request) -> dict[str, str]:
    """Meta's Deauthorize Callback: the user removed the app; their Pages need reconnecting."""
    user_id = await _verified_user_id(request, "deauthorize")
    runtime = _runtime(request)
    async with transaction(runtime.session_factory) as session:
        await service.facebook_deauthorize(session, user_id, runtime.clock())
    return {"status": "ok"}


def _out(record: PrivacyRequest) -> PrivacyRequestOut:
    return PrivacyRequestOut(
        id=record.id,
        kind=record.kind,
        status=record.status,
        page_id=record.page_id,
        counts=record.counts,
        requested_at=record.requested_at,
        completed_at=record.completed_at,
    )


api = APIRouter(prefix="/api", tags=["privacy"])


@api.delete("/conversations/{conversation_id}/buyer-data", response_model=PrivacyRequestOut)
async def delete_buyer_of_conversation(
    conversation_id: Annotated[int, Path(ge=1, le=MAX_ID)], member: Owner, request: Request
) -> PrivacyRequestOut:
    """Erase this conversation's buyer: texts, payloads, name and PSID; counts stay."""
    runtime = _runtime(request)
    async with transaction(runtime.session_factory) as session:
        record = await service.delete_buyer_of_conversation(
            session, member.seller_id, conversation_id, runtime.clock(), actor_id=member.member_id
        )
        return _out(record)


@api.post("/privacy/buyers/delete", response_model=PrivacyRequestOut)
async def delete_buyer(body: BuyerDeletionIn, member: Owner, request: Request) -> PrivacyRequestOut:
    """Erase buyer ``psid`` on the seller's Page ``page_id``."""
    runtime = _runtime(request)
    async with transaction(runtime.session_factory) as session:
        record = await service.delete_buyer(
            session, member.seller_id, body.page_id, body.psid, runtime.clock(), actor_id=member.member_id
        )
        return _out(record)


@api.delete("/account", response_model=PrivacyRequestOut)
async def delete_account(body: AccountDeletionIn, member: Owner, request: Request) -> PrivacyRequestOut:
    """Delete the whole account and all of its data; ``{"confirm": "DELETE MY ACCOUNT"}`` is required."""
    runtime = _runtime(request)
    async with transaction(runtime.session_factory) as session:
        record = await service.delete_account(
            session, member.seller_id, member.member_id, body.confirm, runtime.clock()
        )
        return _out(record)


@api.get("/export")
async def export(member: Owner, request: Request) -> Response:
    """Everything of the account as one JSON document (Page tokens excluded), as a download."""
    runtime = _runtime(request)
    async with transaction(runtime.session_factory) as session:
        data: dict[str, Any] = await service.export_account(session, member.seller_id, runtime.clock())
    return JSONResponse(data, headers={"Content-Disposition": 'attachment; filename="accorria-export.json"'})


router.include_router(api)
