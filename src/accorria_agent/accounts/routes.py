"""The accounts HTTP surface: ``/api/auth/*``, ``/api/me``, ``/api/members*`` and the link pages
``/auth/verify``, ``/auth/link``, ``/auth/reset``, ``/auth/invitation`` (see docs/security-accounts.md).

Handlers own the transaction; after it commits they wake the job queue so that queued mail goes out.
"""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response

from accorria_agent.accounts import members, service
from accorria_agent.accounts.context import SESSION_COOKIE, Member, Owner, session_id_of
from accorria_agent.accounts.csrf import CSRF_COOKIE, check_origin
from accorria_agent.accounts.schemas import (
    AcceptInvitationIn,
    AccountMemberOut,
    EmailIn,
    InvitationIn,
    InvitationOut,
    LoginIn,
    MeOut,
    PasswordChangeIn,
    ResetConfirmIn,
    RoleIn,
    SignupIn,
)
from accorria_agent.accounts.secrets import new_token
from accorria_agent.db.engine import transaction
from accorria_agent.errors import DomainError

STATIC_DIR = FsPath(__file__).parent / "static"
MAX_ID = 2**31 - 1
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    # The page's URL holds a one-time token: never send it to another site.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}

api = APIRouter(prefix="/api", tags=["accounts"])
pages = APIRouter(include_in_schema=False)


def _runtime(request: Request) -> Any:
    return request.app.state.runtime


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def set_session_cookies(response: Response, request: Request, new: service.NewSession) -> None:
    """The HttpOnly session cookie and the script-readable CSRF cookie, with the same lifetime."""
    settings = _runtime(request).settings
    max_age = settings.session_max_age_hours * 3600
    secure = settings.cookies_secure
    response.set_cookie(
        SESSION_COOKIE, new.token, max_age=max_age, httponly=True, secure=secure, samesite="lax", path="/"
    )
    response.set_cookie(
        CSRF_COOKIE, new_token(), max_age=max_age, httponly=False, secure=secure, samesite="lax", path="/"
    )


def clear_session_cookies(response: Response, request: Request) -> None:
    secure = _runtime(request).settings.cookies_secure
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/", secure=secure, httponly=name == SESSION_COOKIE, samesite="lax")


async def _me_response(request: Request, new: service.NewSession, status_code: int) -> JSONResponse:
    runtime = _runtime(request)
    async with transaction(runtime.session_factory) as session:
        me = await service.me(session, new.context)
    response = JSONResponse(me.model_dump(mode="json"), status_code=status_code)
    set_session_cookies(response, request, new)
    return response


@api.post("/auth/signup", response_model=MeOut, status_code=status.HTTP_201_CREATED)
async def signup(body: SignupIn, request: Request) -> Response:
    """Create a seller account and its owner, sign them in, and mail the verification link."""
    runtime = _runtime(request)
    check_origin(request, runtime.settings)
    async with transaction(runtime.session_factory) as session:
        new = await service.signup(
            session,
            runtime.queue,
            runtime.settings,
            name=body.name,
            email=body.email,
            password=body.password,
            now=runtime.clock(),
        )
    runtime.queue.notify()
    return await _me_response(request, new, status.HTTP_201_CREATED)


@api.post("/auth/login", response_model=MeOut)
async def login(body: LoginIn, request: Request) -> Response:
    """Sign in (throttled per account and per client address: 429 with Retry-After)."""
    runtime = _runtime(request)
    check_origin(request, runtime.settings)
    async with transaction(runtime.session_factory) as session:
        outcome = await service.login(
            session,
            runtime.settings,
            email=body.email,
            password=body.password,
            address=_address(request),
            now=runtime.clock(),
        )
    if outcome.refusal is not None:  # raised after the failed attempt was committed
        raise outcome.refusal
    assert outcome.new is not None
    return await _me_response(request, outcome.new, status.HTTP_200_OK)


@api.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(member: Member, request: Request) -> Response:
    """End this session and clear the cookies."""
    runtime = _runtime(request)
    async with transaction(runtime.session_factory) as session:
        await service.logout(session, member, session_id_of(request), runtime.clock())
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookies(response, request)
    return response


@api.post("/auth/logout-all")
async def logout_all(member: Member, request: Request) -> Response:
    """Sign out everywhere: every session of this member ends, this one included."""
    runtime = _runtime(request)
    async with transaction(runtime.session_factory) as session:
        ended = await service.logout_everywhere(session, member, runtime.clock())
    response = JSONResponse({"sessions_ended": ended})
    clear_session_cookies(response, request)
    return response


@api.post("/auth/password")
async def change_password(body: PasswordChangeIn, member: Member, request: Request) -> dict[str, int]:
    """Change the password (the current one is required); every other session ends."""
    runtime = _runtime(request)
    async with transaction(runtime.session_factory) as session:
        ended = await service.change_password(
            session,
            member,
            session_id_of(request),
            current=body.current_password,
            new=body.new_password,
            now=runtime.clock(),
        )
    return {"sessions_ended": ended}


@api.post("/auth/password-reset", status_code=status.HTTP_202_ACCEPTED)
async def password_reset(body: EmailIn, request: Request) -> dict[str, str]:
    """Always 202: a reset link is mailed if (and only if) the email has an account."""
    runtime = _runtime(request)
    check_origin(request, runtime.settings)
    async with transaction(runtime.session_factory) as session:
        await service.request_reset(session, runtime.queue, runtime.settings, body.email, runtime.clock())
    runtime.queue.notify()
    return {"status": "if this email has an account, a reset link is on its way"}


@api.post("/auth/password-reset/confirm")
async def password_reset_confirm(body: ResetConfirmIn, request: Request) -> dict[str, str]:
    """Set a new password with the mailed token; every session of the member ends."""
    runtime = _runtime(request)
    check_origin(request, runtime.settings)
    async with transaction(runtime.session_factory) as session:
        await service.confirm_reset(session, body.token, body.password, runtime.clock())
    return {"status": "password changed; sign in with it"}


@api.post("/auth/accept-invitation", response_model=MeOut)
async def accept_invitation(body: AcceptInvitationIn, request: Request) -> Response:
    """Join the inviting account (creating the member if new) and sign in."""
    runtime = _runtime(request)
    check_origin(request, runtime.settings)
    async with transaction(runtime.session_factory) as session:
        new = await members.accept(
            session,
            runtime.settings,
            token=body.token,
            name=body.name,
            password=body.password,
            now=runtime.clock(),
        )
    return await _me_response(request, new, status.HTTP_200_OK)


@api.get("/me", response_model=MeOut)
async def me(member: Member, request: Request) -> MeOut:
    """The signed-in member, their account, role and whether the email is verified."""
    async with transaction(_runtime(request).session_factory) as session:
        return await service.me(session, member)


@api.get("/members", response_model=list[AccountMemberOut])
async def list_members(member: Member, request: Request) -> list[AccountMemberOut]:
    """The account's members (every member may see who else is on the team)."""
    async with transaction(_runtime(request).session_factory) as session:
        return await members.list_members(session, member)


@api.post("/members/invitations", response_model=InvitationOut, status_code=status.HTTP_201_CREATED)
async def invite(body: InvitationIn, owner: Owner, request: Request) -> InvitationOut:
    """Mail an invitation link (owners only)."""
    runtime = _runtime(request)
    async with transaction(runtime.session_factory) as session:
        out = await members.invite(
            session,
            runtime.queue,
            runtime.settings,
            owner,
            email=body.email,
            role=body.role,
            now=runtime.clock(),
        )
    runtime.queue.notify()
    return out


MemberId = Annotated[int, Path(ge=1, le=MAX_ID)]


@api.patch("/members/{member_id}", response_model=AccountMemberOut)
async def change_role(member_id: MemberId, body: RoleIn, owner: Owner, request: Request) -> AccountMemberOut:
    """Make a member owner or staff (owners only; the last owner stays owner)."""
    async with transaction(_runtime(request).session_factory) as session:
        return await members.change_role(session, owner, member_id, body.role)


@api.delete("/members/{member_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(member_id: MemberId, owner: Owner, request: Request) -> Response:
    """Remove a member (owners only; never the last owner)."""
    runtime = _runtime(request)
    async with transaction(runtime.session_factory) as session:
        await members.remove(session, owner, member_id, runtime.clock())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _link_refused(error: DomainError) -> Response:
    return RedirectResponse(f"/auth/?error={error.code}", status_code=status.HTTP_303_SEE_OTHER)


@pages.get("/auth/verify")
async def verify(request: Request, token: Annotated[str, Query(max_length=200)] = "") -> Response:
    """The verification mail's link: marks the email verified, then on to the dashboard."""
    runtime = _runtime(request)
    try:
        async with transaction(runtime.session_factory) as session:
            await service.verify_email(session, token, runtime.clock())
    except DomainError as error:
        return _link_refused(error)
    return RedirectResponse("/dashboard/?verified=1", status_code=status.HTTP_303_SEE_OTHER)


@pages.get("/auth/link")
async def sign_in_link(request: Request, token: Annotated[str, Query(max_length=200)] = "") -> Response:
    """The demo's one-time sign-in link: sets the session cookie and opens the dashboard."""
    runtime = _runtime(request)
    try:
        async with transaction(runtime.session_factory) as session:
            new = await service.use_sign_in_link(session, runtime.settings, token, runtime.clock())
    except DomainError as error:
        return _link_refused(error)
    response = RedirectResponse("/dashboard/", status_code=status.HTTP_303_SEE_OTHER)
    set_session_cookies(response, request, new)
    return response


@pages.get("/auth/")
@pages.get("/auth/reset")
@pages.get("/auth/invitation")
async def auth_page() -> Response:
    """Sign in, sign up, reset and invitation forms (one static page; the token stays in the URL)."""
    return FileResponse(STATIC_DIR / "auth.html", media_type="text/html", headers=PAGE_HEADERS)


@pages.get("/auth/static/auth.js")
async def auth_script() -> Response:
    return FileResponse(STATIC_DIR / "auth.js", media_type="text/javascript", headers=PAGE_HEADERS)


@pages.get("/auth/static/auth.css")
async def auth_stylesheet() -> Response:
    return FileResponse(STATIC_DIR / "auth.css", media_type="text/css", headers=PAGE_HEADERS)


router = APIRouter()
router.include_router(api)
router.include_router(pages)
