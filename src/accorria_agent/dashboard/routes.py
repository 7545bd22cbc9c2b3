"""The dashboard's HTTP surface: ``/api/...`` (JSON, session cookie or bearer JWT) and ``/dashboard/``.

Handlers are thin: authentication is ``Member``/``Owner`` (``accounts.context``), every query is scoped by the
service, and a :class:`~accorria_agent.dashboard.service.NotFound` (someone else's id included) is 404.
"""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from fastapi.responses import FileResponse, RedirectResponse, Response

from accorria_agent.accounts.context import Member, MemberContext, Owner
from accorria_agent.audit import service as audit
from accorria_agent.dashboard import service
from accorria_agent.dashboard.auth import current_seller
from accorria_agent.dashboard.schemas import (
    ConversationDetail,
    ConversationSummary,
    MessageOut,
    NotificationOut,
    ReplyIn,
    SettingsOut,
    SettingsPatch,
)
from accorria_agent.db.engine import transaction
from accorria_agent.runtime import Runtime

STATIC_DIR = FsPath(__file__).parent / "static"
# Served by suffix from this directory only (an allow-list of names, computed once: no traversal).
STATIC_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".md": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
}
STATIC_FILES = {
    path.relative_to(STATIC_DIR).as_posix(): STATIC_TYPES[path.suffix]
    for path in STATIC_DIR.rglob("*")
    if path.is_file() and path.suffix in STATIC_TYPES
}
# The page shows buyer-written text: even if an escaping bug slipped in, no inline or foreign script
# could run, and the page cannot be framed (clickjacking the Pause/Send buttons).
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
# Postgres ``integer`` ids: a larger number must be a 422, not a database overflow error (500).
MAX_ID = 2**31 - 1

Seller = Annotated[int, Depends(current_seller)]
SummaryT = TypeVar("SummaryT", bound=ConversationSummary)
ConversationId = Annotated[int, Path(ge=1, le=MAX_ID)]


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def _not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")


api = APIRouter(prefix="/api", tags=["dashboard"])


def _for_role(summary: SummaryT, member: MemberContext) -> SummaryT:
    """Staff never see the floor (only owners do), in the list and in a thread."""
    if member.role != "owner" and summary.listing is not None:
        summary.listing.price_floor = None
    return summary


@api.get("/conversations", response_model=list[ConversationSummary])
async def list_conversations(
    member: Member, runtime: RuntimeDep, limit: Annotated[int, Query(ge=1, le=500)] = 200
) -> list[ConversationSummary]:
    """The seller's conversations, most recently active first."""
    async with transaction(runtime.session_factory) as session:
        found = await service.list_conversations(session, member.seller_id, runtime.clock(), limit)
    return [_for_role(summary, member) for summary in found]


@api.get("/conversations/{conversation_id}", response_model=ConversationDetail)
async def get_conversation(
    conversation_id: ConversationId,
    member: Member,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> ConversationDetail:
    """One conversation with its messages (statuses and reasons) and notifications."""
    async with transaction(runtime.session_factory) as session:
        try:
            detail = await service.conversation_detail(
                session, member.seller_id, conversation_id, runtime.clock(), limit
            )
        except service.NotFound:
            raise _not_found("conversation") from None
    return _for_role(detail, member)


@api.post("/conversations/{conversation_id}/pause", response_model=ConversationSummary)
async def pause(conversation_id: ConversationId, member: Member, runtime: RuntimeDep) -> ConversationSummary:
    """The seller takes over this buyer; the thread is passed to the Page Inbox."""
    try:
        return await service.pause_conversation(
            runtime, member.seller_id, conversation_id, actor_id=member.member_id
        )
    except service.NotFound:
        raise _not_found("conversation") from None


@api.post("/conversations/{conversation_id}/resume", response_model=ConversationSummary)
async def resume(conversation_id: ConversationId, member: Member, runtime: RuntimeDep) -> ConversationSummary:
    """The bot takes this buyer back (and repeats the automation disclosure)."""
    try:
        return await service.resume_conversation(
            runtime, member.seller_id, conversation_id, actor_id=member.member_id
        )
    except service.NotFound:
        raise _not_found("conversation") from None


@api.post(
    "/conversations/{conversation_id}/messages",
    response_model=MessageOut,
    status_code=status.HTTP_201_CREATED,
)
async def send_message(
    conversation_id: ConversationId, body: ReplyIn, member: Member, runtime: RuntimeDep
) -> MessageOut:
    """The seller writes to the buyer. 201 with the stored message: ``sent``, or ``refused`` + reason."""
    try:
        return await service.send_seller_message(
            runtime, member.seller_id, conversation_id, body.text, actor_id=member.member_id
        )
    except service.NotFound:
        raise _not_found("conversation") from None


@api.get("/notifications", response_model=list[NotificationOut])
async def notifications(
    seller: Seller,
    runtime: RuntimeDep,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[NotificationOut]:
    """The seller's notifications, newest first (``?unread=true`` for the unread ones only)."""
    async with transaction(runtime.session_factory) as session:
        return await service.list_notifications(session, seller, unread_only=unread, limit=limit)


@api.post("/notifications/{notification_id}/read", response_model=NotificationOut)
async def read_notification(
    notification_id: Annotated[int, Path(ge=1, le=MAX_ID)], seller: Seller, runtime: RuntimeDep
) -> NotificationOut:
    async with transaction(runtime.session_factory) as session:
        try:
            return await service.mark_notification_read(session, seller, notification_id, runtime.clock())
        except service.NotFound:
            raise _not_found("notification") from None


@api.get("/settings", response_model=list[SettingsOut])
async def get_settings(seller: Seller, runtime: RuntimeDep) -> list[SettingsOut]:
    """The bot settings of each of the seller's Pages."""
    async with transaction(runtime.session_factory) as session:
        return await service.list_settings(session, seller)


@api.patch("/settings/{tenant_id}", response_model=SettingsOut)
async def patch_settings(
    tenant_id: Annotated[int, Path(ge=1, le=MAX_ID)], body: SettingsPatch, owner: Owner, runtime: RuntimeDep
) -> SettingsOut:
    """Change a Page's bot settings (owners only)."""
    async with transaction(runtime.session_factory) as session:
        try:
            out = await service.update_settings(session, owner.seller_id, tenant_id, body)
            await audit.by_member(
                session, owner.seller_id, owner.member_id, "settings.update", ("page", tenant_id)
            )
            return out
        except service.NotFound:
            raise _not_found("page") from None


# The optional APIs other domains add; the page asks which exist so a missing one is an empty state,
# never a failed request (a 404 would be a console error in the seller's browser).
OPTIONAL_APIS = {
    "deals": "/api/deals",
    "bookings": "/api/bookings",
    "analytics": "/api/analytics",
    "pages": "/api/pages",
    "questions": "/api/questions",
    "connect": "/connect/facebook",
    "preview": "/api/listings/{listing_id}/preview",
}


@api.get("/dashboard/features")
async def dashboard_features(request: Request, member: Member) -> dict[str, bool]:
    """Which optional APIs this server has (by route path), for the dashboard's empty states."""
    paths = {getattr(route, "path", None) for route in request.app.routes}
    return {name: path in paths for name, path in OPTIONAL_APIS.items()}


pages = APIRouter(include_in_schema=False)


@pages.get("/dashboard")
async def dashboard_redirect() -> Response:
    # The page uses relative URLs, which need the trailing slash.
    return RedirectResponse("/dashboard/", status_code=status.HTTP_308_PERMANENT_REDIRECT)


@pages.get("/dashboard/")
async def dashboard_page() -> Response:
    """The page itself needs no token: it holds no data until its API calls authenticate."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers=PAGE_HEADERS)


@pages.get("/dashboard/static/{name:path}")
async def dashboard_static(name: str) -> Response:
    if name not in STATIC_FILES:  # allow-list: no path traversal possible
        raise _not_found("file")
    return FileResponse(STATIC_DIR / name, media_type=STATIC_FILES[name], headers=PAGE_HEADERS)


router = APIRouter()
router.include_router(api)
router.include_router(pages)
