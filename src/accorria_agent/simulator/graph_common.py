"""Helpers shared by the fake Graph API endpoints: parameters, auth, versions, faults."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec
from urllib.parse import parse_qsl

from fastapi import Request, Response

from .errors import GraphError, invalid_token, param_error
from .state import SimulatorState

P = ParamSpec("P")

#: Graph refuses bodies far larger than any valid Send API call; so do we.
MAX_BODY_BYTES = 1_000_000
#: Minutes announced in ``X-Business-Use-Case-Usage`` when a 613 fault is injected.
REGAIN_ACCESS_MINUTES = 1


def graph_endpoint(fn: Callable[P, Awaitable[Response]]) -> Callable[P, Awaitable[Response]]:
    """Render any :class:`GraphError` raised by an endpoint in Meta's error format."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
        try:
            return await fn(*args, **kwargs)
        except GraphError as exc:
            return exc.response()

    return wrapper


def check_version(state: SimulatorState, version: str) -> None:
    """Only the configured Graph version exists in the simulator."""
    if version != state.config.graph_version:
        raise GraphError(f"Unknown path components: /{version[:40]}", 2500)


async def read_params(request: Request) -> dict[str, Any]:
    """Merge query parameters and the body (JSON object or form) like Graph does.

    Body values win over query values. Malformed bodies are a ``(#100)`` error, never a 500.
    """
    params: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise param_error(f"Request body too large (maximum {MAX_BODY_BYTES} bytes)")
    if not body.strip():
        return params
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/x-www-form-urlencoded":
        try:
            params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError as exc:
            raise param_error("Request body is not valid UTF-8") from exc
        return params
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly nested JSON
        raise param_error("Unable to parse request body as JSON") from exc
    if not isinstance(parsed, dict):
        raise param_error("Request body must be a JSON object")
    params.update(parsed)
    return params


def request_token(request: Request, params: dict[str, Any]) -> str | None:
    """The access token from ``access_token`` or an ``Authorization: Bearer|OAuth`` header."""
    token = params.get("access_token")
    if isinstance(token, str) and token:
        return token
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    return None


def require_page_token(state: SimulatorState, request: Request, params: dict[str, Any]) -> str:
    """The Page the request's Page token acts for; code 190 unless it carries a valid Page token."""
    token = request_token(request, params)
    if token is None:
        raise invalid_token("An access token is required to request this resource.")
    page_id = state.token_page(token)
    if page_id is None:
        raise invalid_token()
    return page_id


def check_node(state: SimulatorState, node: str, page_id: str | None = None) -> None:
    """``me`` and the token's Page id are the only Page nodes a Page token can act on."""
    if node not in ("me", page_id or state.config.page_id):
        raise GraphError(
            f"(#100) Object with ID '{node[:64]}' does not exist, cannot be loaded due to missing "
            "permissions, or does not support this operation",
            100,
            subcode=33,
            type_="GraphMethodException",
        )


async def inject_fault(state: SimulatorState) -> None:
    """Maybe fail the current request according to the configured faults."""
    kind = state.draw_fault()
    if kind is None:
        return
    if kind == "5xx":
        raise GraphError(
            "An unexpected error has occurred. Please retry your request later.",
            2,
            status=500,
            is_transient=True,
        )
    if kind == "timeout":
        # Hang like an overloaded Graph edge, then give up the way a gateway does.
        await asyncio.sleep(state.faults.timeout_seconds)
        raise GraphError(
            "(#2) Service temporarily unavailable: request timed out", 2, status=504, is_transient=True
        )
    if kind == "613":
        usage = {
            state.config.page_id: [
                {
                    "type": "messenger",
                    "call_count": 100,
                    "total_cputime": 100,
                    "total_time": 100,
                    "estimated_time_to_regain_access": REGAIN_ACCESS_MINUTES,
                }
            ]
        }
        raise GraphError(
            "(#613) Calls to this api have exceeded the rate limit.",
            613,
            headers={"X-Business-Use-Case-Usage": json.dumps(usage, separators=(",", ":"))},
        )
    raise GraphError(
        "Error validating access token: The session has been invalidated because the user changed "
        "their password or Facebook has changed the session for security reasons.",
        190,
        subcode=460,
    )
