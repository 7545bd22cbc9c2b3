"""``GET /webhook`` (Meta's subscription check) and ``POST /webhook`` (signed event deliveries).

The POST handler (:class:`WebhookEndpoint`, bare ASGI) knows nothing of conversations or negotiation: it
authenticates, parses, hands the events to the durable intake and answers. Replies are produced later by
the conversation job.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

import orjson
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.types import Message, Receive, Scope, Send

from accorria_agent.messenger.events import MalformedDelivery, parse_delivery
from accorria_agent.messenger.intake import IntakeUnavailable, WebhookIntake
from accorria_agent.messenger.signature import SIGNATURE_HEADER, is_valid_signature
from accorria_agent.metrics import Metrics
from accorria_agent.settings import Settings

log = structlog.get_logger(__name__)

router = APIRouter()


class WebhookRuntime(Protocol):
    """What the webhook reads of ``request.app.state.runtime`` (the edge never imports the runtime)."""

    settings: Settings
    metrics: Metrics
    intake: WebhookIntake
    clock: Callable[[], datetime]


def _runtime(request: Request) -> WebhookRuntime:
    runtime: WebhookRuntime = request.app.state.runtime
    return runtime


@router.get("/webhook", include_in_schema=False)
async def verify_subscription(request: Request) -> Response:
    """Answer Meta's verification request: echo ``hub.challenge`` when the verify token matches."""
    params = request.query_params
    expected = _runtime(request).settings.facebook_verify_token.get_secret_value()
    token = params.get("hub.verify_token", "")
    if (
        params.get("hub.mode") == "subscribe"
        and expected
        and hmac.compare_digest(token.encode(), expected.encode())
    ):
        return PlainTextResponse(params.get("hub.challenge", ""), status_code=200)
    log.warning("webhook_verification_refused", mode=params.get("hub.mode"))
    return PlainTextResponse("verification failed", status_code=403)


class WebhookEndpoint:
    """``POST /webhook`` as a bare ASGI handler: store a signed delivery durably, then answer 200 (503 if
    storage is down, so that Meta redelivers).

    The app calls it before FastAPI's routing and middleware (``app.AgentApp``): Meta's deliveries are the
    one path whose every microsecond counts (profiled: the framework's routing, its eight middleware layers
    and their wrapped ``send`` cost more of the web process's CPU than storing the delivery). It does what
    those layers did for this path itself, with the same answers: the body limit (a declared length over it
    is a 413 before a byte is read, a streamed body is cut the moment it passes it), NUL in the query
    string (422), the security headers, the status count, and a 500 for anything unexpected.
    """

    def __init__(
        self,
        runtime: Callable[[], WebhookRuntime],
        headers: Sequence[tuple[bytes, bytes]],
        refusal: Callable[[int, str, str], list[Message]],
    ) -> None:
        self._runtime = runtime
        self._headers = list(headers)
        self._refusal = refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime = self._runtime()
        status = 500
        try:
            status, messages = await self._answer(runtime, scope, receive)
        except Exception as error:  # never a crash of the server's connection, and never the body in logs
            log.exception("webhook_unhandled_error", error_type=type(error).__name__)
            messages = self._plain(500, b"Internal Server Error")
        if messages:
            runtime.metrics.webhook_responses.labels(status=str(status)).inc()
            for message in messages:
                await send(message)

    async def _answer(
        self, runtime: WebhookRuntime, scope: Scope, receive: Receive
    ) -> tuple[int, list[Message]]:
        if b"%00" in scope.get("query_string", b"").lower():
            return 422, self._refusal(422, "the URL must not contain NUL characters", "invalid_text")
        limit = runtime.settings.webhook_max_body_bytes
        signature: str | None = None
        declared: bytes | None = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                declared = value
            elif name == _SIGNATURE_HEADER_BYTES:
                signature = value.decode("latin-1")
        if declared is not None and not declared.isdigit():
            return 400, self._refusal(400, "bad Content-Length", "bad_request")
        if declared is not None and int(declared) > limit:
            # 413 before reading a byte of it: the status every client can read, whatever it does next.
            runtime.metrics.webhook_rejected.labels(reason="too_large").inc()
            return 413, self._refusal(413, f"request body is larger than {limit} bytes", "payload_too_large")
        # Read at most limit + 1 bytes (a chunked body has no declared length; a lying one is cut too).
        chunks = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return 0, []  # the client went away: nobody to answer
            chunks.extend(message.get("body", b""))
            if len(chunks) > limit:
                runtime.metrics.webhook_rejected.labels(reason="too_large").inc()
                return 413, self._refusal(
                    413, f"request body is larger than {limit} bytes", "payload_too_large"
                )
            if not message.get("more_body", False):
                break
        raw = bytes(chunks)
        secret = runtime.settings.facebook_app_secret.get_secret_value()
        if not is_valid_signature(raw, signature, secret):
            runtime.metrics.webhook_rejected.labels(reason="signature").inc()
            log.warning("webhook_signature_invalid", size=len(raw))
            return 403, self._json(403, "missing or invalid X-Hub-Signature-256")
        try:
            document = orjson.loads(raw)
            # Every timestamp is bounded by the moment of receipt (see events.py: poison input).
            obj, events = parse_delivery(document, int(runtime.clock().timestamp() * 1000))
        except (orjson.JSONDecodeError, MalformedDelivery) as error:
            runtime.metrics.webhook_rejected.labels(reason="malformed").inc()
            return 400, self._json(400, f"malformed delivery: {error}"[:200])
        try:
            await runtime.intake.store(obj, raw.decode("utf-8", errors="replace"), events)
        except IntakeUnavailable:
            runtime.metrics.webhook_rejected.labels(reason="storage").inc()
            return 503, self._json(503, "storage unavailable; retry later")
        runtime.metrics.record_webhook_events(event.kind for event in events)
        if obj != "page":
            log.info("webhook_object_ignored", object=obj[:40])
        return 200, self._plain(200, b"EVENT_RECEIVED")

    def _json(self, status: int, message: str) -> list[Message]:
        return self._response(status, orjson.dumps({"error": message}), b"application/json")

    def _plain(self, status: int, body: bytes) -> list[Message]:
        return self._response(status, body, b"text/plain; charset=utf-8")

    def _response(self, status: int, body: bytes, content_type: bytes) -> list[Message]:
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
            *self._headers,
        ]
        return [
            {"type": "http.response.start", "status": status, "headers": headers},
            {"type": "http.response.body", "body": body},
        ]


_SIGNATURE_HEADER_BYTES = SIGNATURE_HEADER.lower().encode("latin-1")
