"""The simulated Facebook Login dialog, and the simulated user's Pages (mounted under ``/simulator``).

* ``GET /oauth/dialog?client_id&redirect_uri&state&scope&response_type=code[&auth_type=rerequest]`` —
  an HTML page where the person plays Facebook: ticks which of the simulated user's Pages to grant, grants
  or declines each requested permission, then Continue or Cancel. The form posts back to the same path,
  which redirects (303) to ``redirect_uri`` with ``code`` and ``state`` — or, on Cancel, with Meta's
  ``error=access_denied&error_reason=user_denied&error_description=Permissions+error&state``.
* ``POST /api/oauth/authorize`` ``{"state", "redirect_uri", "pages": [page ids], "granted_scopes":
  [...], "cancel"?: false}`` → ``{"redirect": URL}``: the same decision without the page (tests).
* ``GET /api/pages`` → the simulated user's Pages (``page_id``, ``name``, ``subscriptions``; no token);
  ``POST /api/pages`` ``{"name", "page_id"?}`` → a new Page; ``POST /api/pages/{page_id}/revoke`` →
  every token of that Page becomes invalid (``{"revoked": n}``), as when the person removes the app.

A code is single-use, valid 10 minutes and bound to its ``redirect_uri``, like Meta's; exchanging it at
``oauth/access_token`` gives a user token whose ``me/permissions`` and ``me/accounts`` reflect the choice.
"""

from __future__ import annotations

import secrets
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import Field

from .schemas import _Body
from .state import OAuthCode

if TYPE_CHECKING:
    from .core import Simulator

CODE_TTL_MS = 10 * 60 * 1000
DIALOG_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self' http: https:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class AuthorizeIn(_Body):
    """``POST /api/oauth/authorize``."""

    state: str = Field(max_length=4096)
    redirect_uri: str = Field(max_length=2048)
    pages: list[str] = Field(default_factory=list, max_length=100)
    granted_scopes: list[str] = Field(default_factory=list, max_length=50)
    requested_scopes: list[str] | None = Field(default=None, max_length=50)
    cancel: bool = False


class PageIn(_Body):
    """``POST /api/pages``."""

    name: str = Field(min_length=1, max_length=100)
    page_id: str | None = Field(default=None, pattern=r"^[0-9]{1,20}$")


class DialogError(ValueError):
    """A dialog request Meta would refuse (unknown app, bad redirect URI, unknown Page)."""


def authorize(
    sim: Simulator,
    *,
    state: str,
    redirect_uri: str,
    pages: list[str],
    granted_scopes: list[str],
    requested_scopes: list[str] | None = None,
    cancel: bool = False,
) -> str:
    """The URL the dialog sends the browser to: ``redirect_uri`` with a fresh code, or the cancel error."""
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        raise DialogError("redirect_uri must be an absolute http(s) URL without a fragment")
    separator = "&" if parts.query else "?"
    if cancel:
        query = {
            "error": "access_denied",
            "error_code": "200",
            "error_description": "Permissions error",
            "error_reason": "user_denied",
            "state": state,
        }
        return f"{redirect_uri}{separator}{urlencode(query)}"
    unknown = [p for p in pages if p not in sim.state.pages]
    if unknown:
        raise DialogError(f"unknown Page {unknown[0][:40]}")
    requested = tuple(dict.fromkeys(requested_scopes if requested_scopes is not None else granted_scopes))
    code = secrets.token_urlsafe(32)
    sim.state.oauth_codes[code] = OAuthCode(
        redirect_uri=redirect_uri,
        page_ids=tuple(dict.fromkeys(pages)),
        granted=tuple(dict.fromkeys(s for s in granted_scopes if s)),
        requested=tuple(dict.fromkeys((*requested, *granted_scopes))),
        expires_ms=sim.state.now_ms() + CODE_TTL_MS,
    )
    return f"{redirect_uri}{separator}{urlencode({'code': code, 'state': state})}"


def build_oauth_router(sim: Simulator) -> APIRouter:
    """The dialog page, its form, the JSON automation and the Pages of the simulated user."""
    router = APIRouter()

    @router.get("/oauth/dialog", include_in_schema=False)
    async def dialog(request: Request) -> Response:
        params = request.query_params
        problem = _dialog_problem(sim, params.get("client_id", ""), params.get("redirect_uri", ""))
        if problem:
            return _error_page(problem)
        scopes = [s.strip() for s in params.get("scope", "").split(",") if s.strip()][:20]
        return _dialog_page(sim, params.get("redirect_uri", ""), params.get("state", ""), scopes)

    @router.post("/oauth/dialog", include_in_schema=False)
    async def dialog_submit(request: Request) -> Response:
        body = await request.body()
        if len(body) > 64 * 1024:
            return _error_page("request too large")
        try:
            form = parse_qs(body.decode("utf-8"), max_num_fields=200)
        except (UnicodeDecodeError, ValueError):
            return _error_page("unreadable form")
        first = {k: v[0] for k, v in form.items() if v}
        redirect_uri = first.get("redirect_uri", "")
        problem = _dialog_problem(sim, sim.config.app_id, redirect_uri)
        if problem:
            return _error_page(problem)
        try:
            url = authorize(
                sim,
                state=first.get("state", ""),
                redirect_uri=redirect_uri,
                pages=form.get("page", []),
                granted_scopes=form.get("scope", []),
                requested_scopes=form.get("requested", []),
                cancel=first.get("action") == "cancel",
            )
        except DialogError as error:
            return _error_page(str(error))
        return RedirectResponse(url, status_code=303)

    @router.post("/api/oauth/authorize")
    async def authorize_api(request: Request) -> Response:
        from .ui_common import UiError, parse

        try:
            body = await parse(request, AuthorizeIn)
            url = authorize(
                sim,
                state=body.state,
                redirect_uri=body.redirect_uri,
                pages=body.pages,
                granted_scopes=body.granted_scopes,
                requested_scopes=body.requested_scopes,
                cancel=body.cancel,
            )
        except UiError as error:
            return error.response()
        except DialogError as error:
            return UiError(str(error)).response()
        return JSONResponse({"redirect": url})

    @router.get("/api/pages")
    async def list_pages() -> Response:
        return JSONResponse([page.to_json() for page in sim.state.pages.values()])

    @router.post("/api/pages")
    async def add_page(request: Request) -> Response:
        from .ui_common import UiError, parse

        try:
            body = await parse(request, PageIn)
        except UiError as error:
            return error.response()
        return JSONResponse(sim.state.add_page(body.name, body.page_id).to_json())

    @router.post("/api/pages/{page_id}/revoke")
    async def revoke(page_id: str) -> Response:
        if page_id not in sim.state.pages:
            return JSONResponse({"error": {"message": "unknown Page"}}, status_code=404)
        return JSONResponse({"revoked": sim.state.revoke_page_tokens(page_id)})

    return router


def _dialog_problem(sim: Simulator, client_id: str, redirect_uri: str) -> str | None:
    if client_id != sim.config.app_id:
        return "Invalid App ID: the client_id is not this app's."
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "URL blocked: redirect_uri must be an absolute http(s) URL."
    return None


def _error_page(message: str) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><meta charset=utf-8><title>Facebook (simulated)</title>"
        f"<p id=error>{escape(message)}</p>",
        status_code=400,
        headers=DIALOG_HEADERS,
    )


def _dialog_page(sim: Simulator, redirect_uri: str, state: str, scopes: list[str]) -> HTMLResponse:
    pages = "".join(
        f"<label><input type=checkbox name=page value='{escape(p.page_id, quote=True)}' checked> "
        f"{escape(p.name)}</label>"
        for p in sim.state.pages.values()
    )
    perms = "".join(
        f"<input type=hidden name=requested value='{escape(s, quote=True)}'>"
        f"<label><input type=checkbox name=scope value='{escape(s, quote=True)}' checked> {escape(s)}</label>"
        for s in scopes
    )
    hidden: dict[str, Any] = {"redirect_uri": redirect_uri, "state": state}
    fields = "".join(
        f"<input type=hidden name={name} value='{escape(str(value), quote=True)}'>"
        for name, value in hidden.items()
    )
    html = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        "<title>Log in with Facebook (simulated)</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:30rem;margin:2rem auto;padding:0 1rem}"
        "label{display:block;padding:.3rem 0}button{padding:.6rem 1rem;margin-right:.5rem;font-size:1rem}"
        "</style></head><body>"
        f"<h1>App {escape(sim.config.app_id)} wants to connect to your Facebook account</h1>"
        "<p>You are the simulated Facebook user. Choose what to share.</p>"
        "<form method=post action='dialog'>"
        f"{fields}<fieldset><legend>Pages</legend>{pages}</fieldset>"
        f"<fieldset><legend>Permissions</legend>{perms}</fieldset>"
        "<p><button type=submit name=action value=allow id=continue>Continue</button>"
        "<button type=submit name=action value=cancel id=cancel>Cancel</button></p></form></body></html>"
    )
    return HTMLResponse(html, headers=DIALOG_HEADERS)
