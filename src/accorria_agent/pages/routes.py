"""HTTP of the pages domain: the Facebook Login round trip, the Page choice, and ``/api/pages``.

Only owners connect or disconnect Pages (``Owner``); members may list them. Every refusal of the
browser-facing flow (forged / replayed / expired / other member's state, cancelled dialog, declined
permissions) is a small escaped HTML page with one clear sentence and a way forward; the JSON API answers
``{"detail", "code"}`` like the rest of ``/api``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from accorria_agent.accounts.context import Member, MemberContext, Owner
from accorria_agent.db.engine import transaction
from accorria_agent.errors import BadRequest, DomainError, PayloadTooLarge, Unauthorized
from accorria_agent.pages import html, service
from accorria_agent.pages.oauth_state import consume_state, issue_state, session_fingerprint
from accorria_agent.pages.schemas import (
    AvailablePages,
    ConnectedPage,
    ConnectOutcome,
    ConnectRequest,
    ConnectResult,
)

SESSION_COOKIE = "accorria_session"
MAX_FORM_BYTES = 16 * 1024

browser = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["pages"])


def _runtime(request: Request) -> Any:
    return request.app.state.runtime


def _deps(request: Request) -> service.PagesDeps:
    runtime = _runtime(request)
    return service.PagesDeps(runtime.settings, runtime.graph, runtime.cipher, runtime.queue)


def _now(request: Request) -> datetime:
    now: datetime = _runtime(request).clock()
    return now


def _session_hash(request: Request) -> str:
    """Fingerprint of the credential that authenticated this request (cookie session or bearer)."""
    credential = request.cookies.get(SESSION_COOKIE) or request.headers.get("authorization", "")
    if not credential:
        raise Unauthorized("sign in first")
    return session_fingerprint(credential)


def _redirect_uri(request: Request) -> str:
    configured: str = _runtime(request).settings.facebook_oauth_redirect_url
    return configured or str(request.url_for("facebook_callback"))


def _refusal(error: DomainError) -> HTMLResponse:
    retry = "/connect/facebook"
    if isinstance(error, service.PermissionsDeclined):
        return html.message_page(
            "Permissions needed",
            error.detail,
            link=retry + "?rerequest=1",
            link_text="Connect again and allow them",
            status=400,
        )
    return html.message_page(
        "Facebook connection not completed",
        error.detail,
        link=retry,
        link_text="Start again",
        status=error.status_code,
    )


@browser.get("/connect/facebook")
async def connect_facebook(request: Request, member: Owner, rerequest: bool = False) -> Response:
    """302 to Facebook's Login dialog (the simulator's in the demo) with a fresh single-use state."""
    runtime = _runtime(request)
    async with transaction(runtime.session_factory) as session:
        state = await issue_state(session, runtime.settings, member, _session_hash(request), _now(request))
    url = service.login_dialog_url(runtime.settings, _redirect_uri(request), state, rerequest=rerequest)
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})


@browser.get("/connect/facebook/callback", name="facebook_callback")
async def facebook_callback(
    request: Request,
    member: Owner,
    code: str = "",
    state: str = "",
    error: str = "",
) -> Response:
    """The dialog's redirect: check the state, exchange the code, then show the Pages to choose from."""
    runtime = _runtime(request)
    deps = _deps(request)
    now = _now(request)
    try:
        async with transaction(runtime.session_factory) as session:
            await consume_state(session, runtime.settings, state, member, _session_hash(request), now)
        if error:
            raise service.DialogCancelled(
                "You cancelled connecting Facebook, so no Page was connected."
                if error == "access_denied"
                else "Facebook did not complete the sign-in."
            )
        scopes, pages, expires = await service.fetch_grant(deps, code, _redirect_uri(request), now)
        if not pages:
            raise BadRequest(
                "Facebook granted no Page. Connect again and choose at least one Page.", code="no_pages"
            )
        async with transaction(runtime.session_factory) as session:
            choice = await service.hold_grant(session, deps, member, scopes, pages, expires, now)
    except DomainError as refused:
        return _refusal(refused)
    return html.choice_page(
        choice.available,
        choice.form_token,
        str(request.url_for("facebook_choose")),
        csrf_token=request.cookies.get("accorria_csrf", ""),
    )


@browser.post("/connect/facebook/pages", name="facebook_choose")
async def facebook_choose(request: Request, member: Owner) -> Response:
    """The choice form: connect the checked Pages (the one-time form token is the form's CSRF token).

    The urlencoded body is bounded and parsed here (a few fields; no multipart dependency).
    """
    try:
        form = await _small_form(request)
        grant = form.get("grant_id", [""])[0]
        if not grant.isdigit() or len(grant) > 18:
            raise BadRequest("This form is not valid; connect with Facebook again.", code="csrf")
        outcomes = await _connect(
            request,
            member,
            form.get("page_id", []),
            grant_id=int(grant),
            form_token=form.get("form_token", [""])[0],
        )
    except DomainError as refused:
        return _refusal(refused)
    return html.outcome_page(outcomes)


async def _small_form(request: Request) -> dict[str, list[str]]:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise BadRequest("Send the form as application/x-www-form-urlencoded.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise PayloadTooLarge("The form is too large.")
    try:
        return parse_qs(body.decode("utf-8"), max_num_fields=200)
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("The form could not be read.") from None


async def _connect(
    request: Request,
    member: MemberContext,
    page_ids: list[str],
    *,
    grant_id: int | None = None,
    form_token: str | None = None,
) -> list[ConnectOutcome]:
    if not page_ids:
        raise BadRequest("Choose at least one Page.", code="no_pages")
    runtime = _runtime(request)
    deps = _deps(request)
    now = _now(request)
    async with runtime.session_factory() as session:
        grant, chosen = await service.chosen_pages(
            session, deps.cipher, member, page_ids, now, grant_id=grant_id, form_token=form_token
        )
        ready, outcomes = await service.set_up_pages(deps, session, member, chosen)
    async with transaction(runtime.session_factory) as session:
        outcomes += await service.store_pages(session, deps, member, grant, ready, now)
    order = {pid: i for i, pid in enumerate(page_ids)}
    return sorted(outcomes, key=lambda o: order.get(o.page_id, len(order)))


@api.get("/pages", response_model=list[ConnectedPage])
async def list_pages(request: Request, member: Member) -> list[ConnectedPage]:
    """The account's Pages with status, token expiry and granted scopes (never a token)."""
    async with _runtime(request).session_factory() as session:
        return await service.list_pages(session, member.seller_id)


@api.get("/pages/available", response_model=AvailablePages)
async def available_pages(request: Request, member: Owner) -> AvailablePages:
    """The Pages of the latest Facebook sign-in, waiting to be chosen (tokens stay on the server)."""
    runtime = _runtime(request)
    async with runtime.session_factory() as session:
        return await service.available_pages(session, runtime.cipher, member, _now(request))


@api.post("/pages", response_model=ConnectResult)
async def connect_pages(request: Request, member: Owner, body: ConnectRequest) -> ConnectResult:
    """Connect the chosen Pages of the latest grant: ``{"page_ids": [...]}``."""
    return ConnectResult(pages=await _connect(request, member, body.page_ids))


@api.delete("/pages/{page_id}", status_code=204)
async def disconnect_page(request: Request, member: Owner, page_id: str) -> Response:
    """Unsubscribe the Page from our webhooks and delete its token (the Page is marked disconnected)."""
    runtime = _runtime(request)
    deps = _deps(request)
    if len(page_id) > 64:
        raise BadRequest("page_id is too long")
    async with runtime.session_factory() as session:
        token = await service.page_token_for_disconnect(session, deps.cipher, member.seller_id, page_id)
    await service.unsubscribe(deps, page_id, token)
    async with transaction(runtime.session_factory) as session:
        await service.mark_disconnected(session, deps.queue, member.seller_id, page_id, _now(request))
    return Response(status_code=204)


router = APIRouter()
router.include_router(browser)
router.include_router(api)
