"""The dashboard's HTTP surface: ``/api/...`` (JSON, session cookie or bearer JWT) and ``/dashboard/``.

Handlers are thin: authentication is ``Member``/``Owner`` (``accounts.context``; ``Seller`` is the
member's account id), every query is scoped by the service, and :class:`accorria_agent.errors.NotFound`
(someone else's id included) is 404 (app.py's error handler). The request owns the transaction:
the ``DbSession`` dependency commits before the response is sent; the three actions that call Meta
commit first and call it afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path as FsPath
from typing import Annotated, Literal, Protocol, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from accorria_agent.accounts.context import Member, MemberContext, Owner
from accorria_agent.audit import service as audit
from accorria_agent.conversations.context import Sender
from accorria_agent.dashboard import service
from accorria_agent.dashboard.auth import current_seller
from accorria_agent.dashboard.preview import router as preview_router
from accorria_agent.dashboard.schemas import (
    AssignIn,
    ConversationDetail,
    ConversationSummary,
    InboxFilter,
    MessageOut,
    MessagePage,
    NotificationOut,
    ReplyIn,
    SettingsOut,
    SettingsPatch,
)
from accorria_agent.db.engine import transaction

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


class DashboardRuntime(Protocol):
    """What the dashboard reads of ``request.app.state.runtime`` (a domain never imports the runtime)."""

    session_factory: async_sessionmaker[AsyncSession]
    delivery: Sender
    clock: Callable[[], datetime]


def get_runtime(request: Request) -> DashboardRuntime:
    runtime: DashboardRuntime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[DashboardRuntime, Depends(get_runtime)]


async def db_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """The request's transaction: committed when the handler returns, before the response is sent."""
    async with transaction(runtime.session_factory) as session:
        yield session


DbSession = Annotated[AsyncSession, Depends(db_session, scope="function")]


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
    request: Request,
    response: Response,
    member: Member,
    runtime: RuntimeDep,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
    cursor: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    needs_me: bool = False,
    handed_off: bool = False,
    deals: bool = False,
    listing_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    assigned: Literal["me", "none"] | None = None,
) -> list[ConversationSummary]:
    """One page of the seller's conversations, most recently active first, searched and filtered.

    The body stays the list it always was; the next page's opaque cursor is in the ``X-Next-Cursor``
    header (and a ``Link: <…>; rel="next"``), absent on the last page.
    """
    text = q.strip() if q is not None else ""
    wanted = InboxFilter(
        text=text or None,
        needs_me=needs_me,
        handed_off=handed_off,
        deals=deals,
        listing_id=listing_id,
        assigned_to=member.member_id if assigned == "me" else None,
        unassigned=assigned == "none",
    )
    found = await service.list_conversations(
        session, member.seller_id, runtime.clock(), limit, wanted=wanted, cursor=cursor
    )
    if found.next_cursor is not None:
        following = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
        response.headers["X-Next-Cursor"] = found.next_cursor
        next_url = request.url.path + "?" + urlencode([*following, ("cursor", found.next_cursor)])
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return [_for_role(summary, member) for summary in found.conversations]


@api.post("/conversations/{conversation_id}/assign", response_model=ConversationSummary)
async def assign(
    conversation_id: ConversationId, body: AssignIn, member: Member, runtime: RuntimeDep, session: DbSession
) -> ConversationSummary:
    """Assign the conversation to a member of this account (``null``: to nobody). Audited, live."""
    await service.assign_conversation(
        session, member.seller_id, conversation_id, body.member_id, actor_id=member.member_id
    )
    summary = await service.conversation_summary(session, member.seller_id, conversation_id, runtime.clock())
    return _for_role(summary, member)


@api.get("/conversations/{conversation_id}/messages", response_model=MessagePage)
async def list_messages(
    conversation_id: ConversationId,
    member: Member,
    session: DbSession,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> MessagePage:
    """A thread's latest ``limit`` messages (older than message ``before``), oldest first, with
    ``next_before`` to page further back."""
    return await service.message_page(session, member.seller_id, conversation_id, before=before, limit=limit)


@api.get("/conversations/{conversation_id}", response_model=ConversationDetail)
async def get_conversation(
    conversation_id: ConversationId,
    member: Member,
    runtime: RuntimeDep,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> ConversationDetail:
    """One conversation with its messages (statuses and reasons) and notifications."""
    detail = await service.conversation_detail(
        session, member.seller_id, conversation_id, runtime.clock(), limit
    )
    return _for_role(detail, member)


@api.post("/conversations/{conversation_id}/pause", response_model=ConversationSummary)
async def pause(conversation_id: ConversationId, member: Member, runtime: RuntimeDep) -> ConversationSummary:
    """The seller takes over this buyer; the thread is passed to the Page Inbox."""
    seller = member.seller_id
    async with transaction(runtime.session_factory) as session:
        target = await service.pause_conversation(
            session, seller, conversation_id, runtime.clock(), actor_id=member.member_id
        )
    await service.hand_over(runtime.delivery, target, "pass_thread_control")
    async with transaction(runtime.session_factory) as session:
        return await service.conversation_summary(session, seller, conversation_id, runtime.clock())


@api.post("/conversations/{conversation_id}/resume", response_model=ConversationSummary)
async def resume(conversation_id: ConversationId, member: Member, runtime: RuntimeDep) -> ConversationSummary:
    """The bot takes this buyer back (and repeats the automation disclosure)."""
    seller = member.seller_id
    async with transaction(runtime.session_factory) as session:
        target = await service.resume_conversation(
            session, seller, conversation_id, runtime.clock(), actor_id=member.member_id
        )
    await service.hand_over(runtime.delivery, target, "take_thread_control")
    async with transaction(runtime.session_factory) as session:
        return await service.conversation_summary(session, seller, conversation_id, runtime.clock())


@api.post(
    "/conversations/{conversation_id}/messages",
    response_model=MessageOut,
    status_code=status.HTTP_201_CREATED,
)
async def send_message(
    conversation_id: ConversationId, body: ReplyIn, member: Member, runtime: RuntimeDep
) -> MessageOut:
    """The seller writes to the buyer. 201 with the stored message: ``sent``, or ``refused`` + reason."""
    async with transaction(runtime.session_factory) as session:
        tenant_id, message_id = await service.record_seller_message(
            session, member.seller_id, conversation_id, body.text, runtime.clock(), actor_id=member.member_id
        )
    await runtime.delivery.deliver(tenant_id, [message_id])
    async with transaction(runtime.session_factory) as session:
        return await service.stored_message(session, tenant_id, message_id, member.seller_id)


@api.get("/notifications", response_model=list[NotificationOut])
async def notifications(
    seller: Seller,
    session: DbSession,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[NotificationOut]:
    """The seller's notifications, newest first (``?unread=true`` for the unread ones only)."""
    return await service.list_notifications(session, seller, unread_only=unread, limit=limit)


@api.post("/notifications/{notification_id}/read", response_model=NotificationOut)
async def read_notification(
    notification_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    seller: Seller,
    runtime: RuntimeDep,
    session: DbSession,
) -> NotificationOut:
    return await service.mark_notification_read(session, seller, notification_id, runtime.clock())


@api.get("/settings", response_model=list[SettingsOut])
async def get_settings(seller: Seller, session: DbSession) -> list[SettingsOut]:
    """The bot settings of each of the seller's Pages."""
    return await service.list_settings(session, seller)


@api.patch("/settings/{tenant_id}", response_model=SettingsOut)
async def patch_settings(
    tenant_id: Annotated[int, Path(ge=1, le=MAX_ID)], body: SettingsPatch, owner: Owner, session: DbSession
) -> SettingsOut:
    """Change a Page's bot settings (owners only)."""
    out = await service.update_settings(session, owner.seller_id, tenant_id, body)
    await audit.by_member(session, owner.seller_id, owner.member_id, "settings.update", ("page", tenant_id))
    return out


# The optional APIs other domains add; the page asks which exist so a missing one is an empty state,
# never a failed request (a 404 would be a console error in the seller's browser).
OPTIONAL_APIS = {
    "deals": "/api/deals",
    "bookings": "/api/bookings",
    "analytics": "/api/analytics",
    "pages": "/api/pages",
    "questions": "/api/questions",
    "preview": "/api/listings/{listing_id}/preview",
}


@api.get("/dashboard/features")
async def dashboard_features(request: Request, member: Member) -> dict[str, bool]:
    """Which optional APIs this server has, for the dashboard's empty states.

    Read from the application's OpenAPI map (FastAPI's public view of its routes, built once and cached
    by FastAPI); the Page-connection flow comes with the Pages API.
    """
    paths = set(request.app.openapi().get("paths", {}))
    found = {name: path in paths for name, path in OPTIONAL_APIS.items()}
    found["connect"] = found["pages"]
    return found


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
router.include_router(preview_router)
router.include_router(pages)
