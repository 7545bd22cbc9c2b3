"""Setup endpoints of the fake Graph API: messenger_profile, subscribed_apps, OAuth, debug_token.

* ``GET|POST|DELETE /{version}/{node}/messenger_profile`` — stores ``get_started``,
  ``greeting``, ``persistent_menu``, ``ice_breakers``, ``whitelisted_domains`` with Meta's
  main rules (greeting ≤ 160 chars with a ``default`` locale, persistent menu needs a
  Get Started button, ≤ 4 ice breakers…). POST/DELETE → ``{"result": "success"}``,
  GET ``?fields=a,b`` → ``{"data": [{...}]}``.
* ``GET|POST|DELETE /{version}/{node}/subscribed_apps`` — ``subscribed_fields`` for our app.
* ``GET|POST /{version}/oauth/access_token`` — ``client_credentials``, ``fb_exchange_token``
  (long-lived token of the same kind; exchanging the Page token yields another Page
  token the Send API accepts) and ``code`` exchange.
* ``GET /{version}/debug_token?input_token=…`` — token introspection.

No fault injection here: these are called once at setup, and a flaky setup makes demos
fail for reasons that teach nothing.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from .errors import GraphError, invalid_token, param_error
from .graph_common import (
    check_node,
    check_version,
    graph_endpoint,
    read_params,
    request_token,
    require_page_token,
)
from .send_validation import decode_param
from .state import IssuedToken, SimulatorState

if TYPE_CHECKING:
    from .core import Simulator

PROFILE_KEYS = ("get_started", "greeting", "persistent_menu", "ice_breakers", "whitelisted_domains")
WEBHOOK_FIELDS = frozenset(
    {
        "messages",
        "messaging_postbacks",
        "messaging_optins",
        "message_deliveries",
        "message_reads",
        "messaging_referrals",
        "message_echoes",
        "standby",
        "messaging_handovers",
        "message_reactions",
        "message_edits",
        "messaging_policy_enforcement",
        "messaging_account_linking",
        "inbox_labels",
        "messaging_customer_information",
        "response_feedback",
        "messaging_feedback",
    }
)
PAGE_SCOPES = ["pages_messaging", "pages_show_list", "pages_manage_metadata", "pages_read_engagement"]
LONG_LIVED_SECONDS = 60 * 24 * 3600


def add_admin_routes(router: APIRouter, sim: Simulator) -> None:
    """Register the setup endpoints on the Graph router (before its catch-all routes)."""
    state = sim.state

    @router.api_route("/{version}/oauth/access_token", methods=["GET", "POST"])
    @graph_endpoint
    async def oauth_access_token(version: str, request: Request) -> Response:
        check_version(state, version)
        return JSONResponse(_exchange(state, await read_params(request)))

    @router.get("/{version}/debug_token")
    @graph_endpoint
    async def debug_token(version: str, request: Request) -> Response:
        check_version(state, version)
        params = await read_params(request)
        caller = request_token(request, params)
        if caller is None or state.token_kind(caller) is None:
            raise invalid_token()
        return JSONResponse({"data": _introspect(state, params.get("input_token"))})

    @router.api_route("/{version}/{node}/messenger_profile", methods=["GET", "POST", "DELETE"])
    @graph_endpoint
    async def messenger_profile(version: str, node: str, request: Request) -> Response:
        check_version(state, version)
        params = await read_params(request)
        page_id = require_page_token(state, request, params)
        check_node(state, node, page_id)
        profile = state.page(page_id).messenger_profile
        if request.method == "GET":
            wanted = _field_list(params.get("fields"), "fields")
            data = {k: profile[k] for k in wanted if k in profile}
            return JSONResponse({"data": [data] if data else []})
        if request.method == "DELETE":
            doomed = _field_list(params.get("fields"), "fields")
            if "get_started" in doomed and "persistent_menu" in profile and "persistent_menu" not in doomed:
                raise param_error("Cannot delete get_started while a persistent_menu is set")
            for key in doomed:
                profile.pop(key, None)
            return JSONResponse({"result": "success"})
        updates = _validate_profile(params, profile)
        profile.update(updates)
        return JSONResponse({"result": "success"})

    @router.api_route("/{version}/{node}/subscribed_apps", methods=["GET", "POST", "DELETE"])
    @graph_endpoint
    async def subscribed_apps(version: str, node: str, request: Request) -> Response:
        check_version(state, version)
        params = await read_params(request)
        page_id = require_page_token(state, request, params)
        check_node(state, node, page_id)
        app_id = sim.config.app_id
        subscriptions = state.page(page_id).subscriptions
        if request.method == "GET":
            data = [
                {"id": aid, "name": f"App {aid}", "subscribed_fields": fields}
                for aid, fields in subscriptions.items()
            ]
            return JSONResponse({"data": data})
        if request.method == "DELETE":
            subscriptions.pop(app_id, None)
            return JSONResponse({"success": True})
        wanted = _field_list(params.get("subscribed_fields"), "subscribed_fields")
        unknown = [f for f in wanted if f not in WEBHOOK_FIELDS]
        if unknown:
            raise param_error(f"Param subscribed_fields contains unknown field: {unknown[0][:40]}")
        subscriptions[app_id] = wanted
        return JSONResponse({"success": True})

    @router.get("/{version}/me/accounts")
    @graph_endpoint
    async def me_accounts(version: str, request: Request) -> Response:
        check_version(state, version)
        issued = _user_token(state, request, await read_params(request))
        return JSONResponse({"data": [_page_account(state, issued, pid) for pid in issued.page_ids]})

    @router.get("/{version}/me/permissions")
    @graph_endpoint
    async def me_permissions(version: str, request: Request) -> Response:
        check_version(state, version)
        issued = _user_token(state, request, await read_params(request))
        granted = set(issued.scopes or ())
        asked = list(dict.fromkeys(("public_profile", *issued.requested, *granted)))
        data = [
            {
                "permission": name,
                "status": "granted" if name in granted or name == "public_profile" else "declined",
            }
            for name in asked
        ]
        return JSONResponse({"data": data})


def _field_list(value: Any, param: str) -> list[str]:
    value = decode_param(value)
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",") if v.strip()]
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = [str(v) for v in value]
    else:
        items = []
    if not items:
        raise param_error(f"The parameter {param} is required")
    return items


# --- messenger_profile -----------------------------------------------------------------------------


def _validate_profile(params: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    # Auth parameters ride along on every Graph call; they are not profile properties.
    keys = [k for k in params if k not in ("access_token", "appsecret_proof")]
    unknown = [k for k in keys if k not in PROFILE_KEYS]
    if unknown:
        raise param_error(f'Invalid keys "{unknown[0][:40]}" were found in param "messenger_profile"')
    if not keys:
        raise param_error("At least one messenger_profile property must be set")
    updates = {k: decode_param(params[k]) for k in keys}
    if "get_started" in updates:
        gs = updates["get_started"]
        payload = gs.get("payload") if isinstance(gs, dict) else None
        if not isinstance(payload, str) or not payload or len(payload) > 1000:
            raise param_error(
                "param get_started[payload] must be a non-empty string of at most 1000 characters"
            )
    if "greeting" in updates:
        _validate_localized(
            updates["greeting"], "greeting", lambda g, p: _text(g.get("text"), f"{p}[text]", 160)
        )
    if "ice_breakers" in updates:
        _validate_ice_breakers(updates["ice_breakers"])
    if "persistent_menu" in updates:
        if "get_started" not in updates and "get_started" not in current:
            raise param_error("You must set a Get Started button if you also wish to use persistent menu")
        _validate_localized(updates["persistent_menu"], "persistent_menu", _validate_menu)
    if "whitelisted_domains" in updates:
        domains = updates["whitelisted_domains"]
        if (
            not isinstance(domains, list)
            or not 1 <= len(domains) <= 50
            or not all(isinstance(d, str) and d.startswith("https://") for d in domains)
        ):
            raise param_error("param whitelisted_domains must be 1-50 https URLs")
    return updates


def _text(value: Any, param: str, limit: int) -> None:
    if not isinstance(value, str) or not value:
        raise param_error(f"param {param} must be a non-empty string")
    if len(value) > limit:
        raise param_error(f"Length of param {param} must be less than or equal to {limit}")


def _validate_localized(value: Any, param: str, check: Any) -> None:
    if not isinstance(value, list) or not value:
        raise param_error(f"param {param} must be a non-empty array")
    locales = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise param_error(f"param {param}[{i}] must be an object")
        locales.append(item.get("locale"))
        check(item, f"{param}[{i}]")
    if "default" not in locales:
        raise param_error(f"param {param} must include the default locale")


def _validate_menu(menu: dict[str, Any], param: str) -> None:
    actions = menu.get("call_to_actions")
    if menu.get("composer_input_disabled") is True and not actions:
        return
    if not isinstance(actions, list) or not 1 <= len(actions) <= 20:
        raise param_error(f"param {param}[call_to_actions] must have 1-20 elements")
    for i, action in enumerate(actions):
        aparam = f"{param}[call_to_actions][{i}]"
        if not isinstance(action, dict) or action.get("type") not in ("postback", "web_url"):
            raise param_error(f"param {aparam}[type] must be postback or web_url")
        _text(action.get("title"), f"{aparam}[title]", 30)
        if action["type"] == "postback":
            _text(action.get("payload"), f"{aparam}[payload]", 1000)
        elif not str(action.get("url", "")).startswith(("http://", "https://")):
            raise param_error(f"param {aparam}[url] must be a valid URL")


def _validate_ice_breakers(value: Any) -> None:
    if not isinstance(value, list) or not value:
        raise param_error("param ice_breakers must be a non-empty array")
    if all(isinstance(v, dict) and "call_to_actions" in v for v in value):  # localized format
        _validate_localized(value, "ice_breakers", lambda v, p: _questions(v.get("call_to_actions"), p))
    else:
        _questions(value, "ice_breakers")


def _questions(value: Any, param: str) -> None:
    if not isinstance(value, list) or not 1 <= len(value) <= 4:
        raise param_error(f"param {param} must have 1-4 ice breakers")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise param_error(f"param {param}[{i}] must be an object")
        _text(item.get("question"), f"{param}[{i}][question]", 80)
        _text(item.get("payload"), f"{param}[{i}][payload]", 1000)


# --- OAuth ---------------------------------------------------------------------------------------

#: A code-exchanged user token lives about two hours, like Meta's short-lived tokens.
SHORT_LIVED_SECONDS = 2 * 3600
PAGE_TASKS = ["ANALYZE", "ADVERTISE", "MESSAGING", "MODERATE", "CREATE_CONTENT", "MANAGE"]


def _mint(
    state: SimulatorState,
    kind: str,
    *,
    like: IssuedToken | None = None,
    expires_in: int | None = LONG_LIVED_SECONDS,
    page_id: str | None = None,
) -> tuple[str, int | None]:
    now = state.now_ms()
    if kind in ("PAGE", "APP"):
        expires_in = None
    token = "EAA" + secrets.token_urlsafe(48)
    state.tokens[token] = IssuedToken(
        kind="PAGE" if kind == "PAGE" else "USER",
        issued_ms=now,
        expires_ms=None if expires_in is None else now + expires_in * 1000,
        scopes=like.scopes if like else None,
        page_ids=like.page_ids if like else (),
        page_id=page_id or (like.page_id if like else None),
        requested=like.requested if like else (),
    )
    return token, expires_in


def _user_token(state: SimulatorState, request: Request, params: dict[str, Any]) -> IssuedToken:
    token = request_token(request, params)
    if token is None or state.token_kind(token) != "USER":
        raise invalid_token("An active user access token must be used to query information about the user.")
    return state.tokens[token]


def _page_account(state: SimulatorState, user: IssuedToken, page_id: str) -> dict[str, Any]:
    """One ``me/accounts`` entry; the Page token minted from a long-lived user token never expires."""
    page = state.page(page_id)
    token, _ = _mint(state, "PAGE", like=user, page_id=page_id)
    return {
        "id": page.page_id,
        "name": page.name,
        "access_token": token,
        "category": "Car Dealership",
        "tasks": PAGE_TASKS,
    }


def _code_exchange(state: SimulatorState, params: dict[str, Any]) -> tuple[str, int | None]:
    """Meta's rules: the code exists, is unused, unexpired, and ``redirect_uri`` is the dialog's."""
    code = params.get("code")
    grant = state.oauth_codes.get(code) if isinstance(code, str) else None
    if grant is None or grant.expires_ms <= state.now_ms():
        raise GraphError("Invalid verification code format.", 100, subcode=36007, type_="OAuthException")
    if grant.used:
        raise GraphError("This authorization code has been used.", 100, subcode=36009, type_="OAuthException")
    if params.get("redirect_uri") != grant.redirect_uri:
        raise GraphError(
            "Error validating verification code. Please make sure your redirect_uri is identical to the one "
            "you used in the OAuth dialog request",
            100,
            subcode=36008,
            type_="OAuthException",
        )
    grant.used = True
    like = IssuedToken(
        kind="USER",
        issued_ms=0,
        expires_ms=None,
        scopes=grant.granted,
        page_ids=grant.page_ids,
        requested=grant.requested,
    )
    return _mint(state, "USER", like=like, expires_in=SHORT_LIVED_SECONDS)


def _exchange(state: SimulatorState, params: dict[str, Any]) -> dict[str, Any]:
    cfg = state.config
    if str(params.get("client_id", "")) != cfg.app_id:
        raise GraphError("Error validating application. Invalid application ID.", 101)
    secret = params.get("client_secret")
    if not isinstance(secret, str) or not secrets.compare_digest(secret, cfg.app_secret):
        raise GraphError("Error validating client secret.", 1)
    grant = params.get("grant_type")
    if grant == "client_credentials":
        return {"access_token": f"{cfg.app_id}|{cfg.app_secret}", "token_type": "bearer"}
    if grant == "fb_exchange_token":
        short = params.get("fb_exchange_token")
        kind = state.token_kind(short) if isinstance(short, str) and short else None
        if kind is None or kind == "APP":
            raise invalid_token()
        token, expires_in = _mint(state, kind, like=state.tokens.get(str(short)))
    elif isinstance(params.get("code"), str) and params["code"]:
        token, expires_in = _code_exchange(state, params)
    else:
        raise param_error("Missing grant_type=fb_exchange_token, grant_type=client_credentials or code")
    result: dict[str, Any] = {"access_token": token, "token_type": "bearer"}
    if expires_in is not None:
        result["expires_in"] = expires_in
    return result


def _introspect(state: SimulatorState, input_token: Any) -> dict[str, Any]:
    cfg = state.config
    kind = state.token_kind(input_token) if isinstance(input_token, str) and input_token else None
    if kind is None:
        return {
            "error": {"code": 190, "message": "Invalid OAuth access token."},
            "is_valid": False,
            "scopes": [],
        }
    issued = state.tokens.get(input_token) if isinstance(input_token, str) else None
    now_s = state.now_ms() // 1000
    data: dict[str, Any] = {
        "app_id": cfg.app_id,
        "type": kind,
        "application": f"App {cfg.app_id}",
        "data_access_expires_at": now_s + 90 * 24 * 3600,
        "expires_at": (issued.expires_ms // 1000) if issued and issued.expires_ms else 0,
        "is_valid": True,
        "issued_at": (issued.issued_ms // 1000) if issued else now_s,
        "scopes": []
        if kind == "APP"
        else list(issued.scopes)
        if issued and issued.scopes is not None
        else PAGE_SCOPES,
    }
    if kind == "PAGE":
        data["profile_id"] = state.token_page(str(input_token)) or cfg.page_id
    return data
