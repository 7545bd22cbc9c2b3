"""HTTP hardening in one ASGI middleware: body limits, auth before body, refused text, security headers.

Applied to every request before any handler or FastAPI parses anything:

* **Body limit**: a ``Content-Length`` over the path's limit is a 413 at once (nothing read); a body without
  one is counted as it streams and refused the moment it passes the limit.
* **Authentication before the body** on ``/api`` (public ``/api/auth/`` aside): a request with a body and
  no session credential at all (bearer token or session cookie) is a 401 before one byte is read. The real
  check stays in the route's ``Member``/``Owner`` dependency; this one is only cheap.
* **Text PostgreSQL cannot store and JSON that cannot be echoed**: a JSON body on ``/api`` whose strings hold
  NUL or lone surrogates, or whose numbers overflow (``1e400``), and a query string or path with NUL, are a
  422 with a plain message (before, they reached the database or FastAPI's error handler and became 500s).
* **Security headers** on every response (a route's own, stricter values win).

The module is a leaf: it knows paths and bytes, not the app's domains.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from accorria_agent.errors import PayloadTooLarge

# Public endpoints under /api that carry a body before anyone is signed in (sign-up, sign-in, reset …).
PUBLIC_API_PREFIXES: tuple[str, ...] = ("/api/auth/",)
SESSION_COOKIE = "accorria_session"

# Pages are served from our own origin only; buyer-written text can never run as script, and nothing of
# ours can be framed (clickjacking the dashboard's buttons).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: https:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_BASE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
_NO_STORE = (b"cache-control", b"no-store")
_HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
# FastAPI's interactive docs load their script from a CDN: no CSP there (they are off in production).
_DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})


@dataclass(frozen=True)
class HardeningPolicy:
    """The limits and switches of :class:`HardeningMiddleware`."""

    webhook_max_body_bytes: int
    api_max_body_bytes: int
    max_body_bytes: int
    production: bool = False
    # Listing photo uploads (multipart): the photo limit plus room for the form's own framing.
    upload_max_body_bytes: int = 0

    def body_limit(self, path: str) -> int:
        if path == "/webhook":
            return self.webhook_max_body_bytes
        if self.upload_max_body_bytes and path.startswith("/api/listings/") and path.endswith("/photos"):
            return self.upload_max_body_bytes
        if path.startswith(("/api/", "/facebook/")) or path == "/api":
            return self.api_max_body_bytes
        return self.max_body_bytes


def json_refusal(raw: bytes) -> str | None:
    """Why a JSON body must be refused (NUL, lone surrogate, overflowing number), or None.

    Malformed JSON is not judged here: FastAPI answers it with its own 422.
    """
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    pending: list[Any] = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            reason = text_refusal(value)
            if reason:
                return reason
        elif isinstance(value, float):
            if not math.isfinite(value):
                return "numbers must be finite (a value such as 1e400 is out of range)"
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return None


def text_refusal(value: str) -> str | None:
    """Why this text cannot be stored (NUL, lone surrogate), or None."""
    if "\x00" in value:
        return "text must not contain NUL characters (\\u0000)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "text must be valid Unicode (a lone surrogate such as \\ud800 is refused)"
    return None


def _json_response(
    status: int, detail: str, code: str, extra: Iterable[tuple[bytes, bytes]] = ()
) -> list[Message]:
    body = json.dumps({"detail": detail, "code": code}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *extra,
    ]
    return [
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": body},
    ]


def security_headers(path: str, *, production: bool) -> tuple[tuple[bytes, bytes], ...]:
    """The security headers every response on ``path`` carries (a route's own, stricter values win)."""
    common = (*_BASE_HEADERS, *((_HSTS,) if production else ()))
    if path in _DOCS_PATHS:
        return common
    csp = (b"content-security-policy", CONTENT_SECURITY_POLICY.encode())
    if path.startswith(("/api", "/facebook/")):
        return (*common, csp, _NO_STORE)
    return (*common, csp)


def refusal(status: int, detail: str, code: str, extra: Iterable[tuple[bytes, bytes]] = ()) -> list[Message]:
    """The ASGI messages of a refusal: ``{"detail", "code"}`` with ``status`` and ``extra`` headers."""
    return _json_response(status, detail, code, extra)


class HardeningMiddleware:
    """See the module docstring. Pure ASGI, so a request pays a few header look-ups."""

    def __init__(self, app: ASGIApp, policy: HardeningPolicy) -> None:
        self.app = app
        self.policy = policy
        # Built once: a request only picks a tuple.
        self._page_headers = security_headers("/", production=policy.production)
        self._api_headers = security_headers("/api", production=policy.production)
        self._docs_headers = security_headers("/docs", production=policy.production)

    def _response_headers(self, path: str) -> tuple[tuple[bytes, bytes], ...]:
        if path.startswith(("/api", "/facebook/")):
            return self._api_headers
        if path in _DOCS_PATHS:
            return self._docs_headers
        return self._page_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        extra = self._response_headers(path)
        state = {"too_large": False, "started": False}
        limit = self.policy.body_limit(path)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                if state["too_large"]:
                    # The handler noticed the cut-off body its own way (a 400, a disconnect): the real
                    # answer is 413, whatever it was about to say.
                    for replacement in _json_response(
                        413, f"request body is larger than {limit} bytes", "payload_too_large", extra
                    ):
                        await send(replacement)
                    state["started"] = True
                    return
                own = message.get("headers", [])
                present = {name.lower() for name, _ in own}
                message["headers"] = [*own, *(header for header in extra if header[0] not in present)]
                state["started"] = True
            elif state["too_large"]:
                return  # the body of the replaced response
            await send(message)

        async def refuse(
            status: int, detail: str, code: str, more: Iterable[tuple[bytes, bytes]] = ()
        ) -> None:
            for message in _json_response(status, detail, code, [*extra, *more]):
                await send(message)

        if "\x00" in path or b"%00" in scope.get("query_string", b"").lower() or "%00" in path:
            await refuse(422, "the URL must not contain NUL characters", "invalid_text")
            return
        headers = _headers(scope)
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await refuse(400, "bad Content-Length", "bad_request")
                return
            if int(declared) > limit:
                await refuse(413, f"request body is larger than {limit} bytes", "payload_too_large")
                return
        has_body = (declared is not None and declared != b"0") or b"transfer-encoding" in headers
        is_api = path.startswith("/api/") and not path.startswith(PUBLIC_API_PREFIXES)
        if is_api and has_body and not _has_credential(headers):
            await refuse(401, "sign in first", "unauthorized", [(b"www-authenticate", b"Bearer")])
            return

        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    state["too_large"] = True
                    raise PayloadTooLarge(f"request body is larger than {limit} bytes")
            return message

        downstream_receive: Receive = counted_receive
        if is_api and has_body and b"json" in headers.get(b"content-type", b""):
            # /api bodies are small (API_MAX_BODY_BYTES): read them whole here, check them, replay them.
            try:
                body = await _read_all(counted_receive)
            except PayloadTooLarge:
                await refuse(413, f"request body is larger than {limit} bytes", "payload_too_large")
                return
            reason = json_refusal(body)
            if reason is not None:
                await refuse(422, reason, "invalid_text")
                return
            downstream_receive = _replay(body, receive)
        try:
            await self.app(scope, downstream_receive, send_with_headers)
        except PayloadTooLarge:
            if state["started"]:
                return  # the 413 went out already (see send_with_headers)
            state["too_large"] = False
            await refuse(413, f"request body is larger than {limit} bytes", "payload_too_large")


_WANTED_HEADERS = frozenset(
    {b"content-length", b"transfer-encoding", b"authorization", b"cookie", b"content-type"}
)


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The few request headers the middleware reads (ASGI servers send names in lower case)."""
    return {name: value for name, value in scope.get("headers", ()) if name in _WANTED_HEADERS}


def _has_credential(headers: dict[bytes, bytes]) -> bool:
    authorization = headers.get(b"authorization", b"")
    if authorization[:7].lower() == b"bearer " and authorization[7:].strip():
        return True
    return SESSION_COOKIE.encode() + b"=" in headers.get(b"cookie", b"")


async def _read_all(receive: Callable[[], Any]) -> bytes:
    chunks = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.extend(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return bytes(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _printable(value: object) -> str | int:
    """A location or message part that always serialises (lone surrogates replaced, never echoed raw)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return str(value).encode("utf-8", errors="replace").decode("utf-8")[:200]


async def validation_error_handler(_request: Request, error: Exception) -> Response:
    """FastAPI's 422 minus the ``input`` it echoes, which may not serialise (``1e400``, a lone surrogate)."""
    assert isinstance(error, RequestValidationError)
    errors = [
        {
            "loc": [_printable(part) for part in item.get("loc", ())],
            "msg": _printable(item.get("msg", "invalid")),
            "type": _printable(item.get("type", "value_error")),
        }
        for item in error.errors()[:20]
    ]
    return JSONResponse({"detail": errors, "code": "validation_error"}, status_code=422)
