"""``GET /webhook`` (Meta's subscription check) and ``POST /webhook`` (signed event deliveries).

The POST handler knows nothing of conversations or negotiation: it authenticates, parses, hands the
events to the durable intake and answers. Replies are produced later by the conversation job.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

import orjson
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from accorria_agent.messenger.events import MalformedDelivery, parse_delivery
from accorria_agent.messenger.intake import IntakeUnavailable, WebhookIntake
from accorria_agent.messenger.signature import SIGNATURE_HEADER, is_valid_signature
from accorria_agent.metrics import Metrics
from accorria_agent.settings import Settings

log = structlog.get_logger(__name__)

router = APIRouter()


def webhook_routes() -> list[Route]:
    """``POST /webhook`` as a plain Starlette route: the hot path needs no dependency injection."""
    return [Route("/webhook", receive_delivery, methods=["POST"], include_in_schema=False)]


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


async def receive_delivery(request: Request) -> Response:
    """Store a signed delivery durably, then answer 200 (503 if storage is down, so Meta redelivers)."""
    runtime = _runtime(request)
    limit = runtime.settings.webhook_max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and not declared.isdigit():
        return _error(400, "bad Content-Length")
    if declared is not None and int(declared) > limit:
        # 413 before reading a byte of it: the status every client can read, whatever it does next.
        runtime.metrics.webhook_rejected.labels(reason="too_large").inc()
        return _error(413, f"body larger than {limit} bytes")
    # Read at most limit + 1 bytes (a chunked body has no declared length; a lying one is cut too).
    chunks = bytearray()
    async for chunk in request.stream():
        chunks.extend(chunk)
        if len(chunks) > limit:
            runtime.metrics.webhook_rejected.labels(reason="too_large").inc()
            return _error(413, f"body larger than {limit} bytes")
    raw = bytes(chunks)
    secret = runtime.settings.facebook_app_secret.get_secret_value()
    if not is_valid_signature(raw, request.headers.get(SIGNATURE_HEADER), secret):
        runtime.metrics.webhook_rejected.labels(reason="signature").inc()
        log.warning("webhook_signature_invalid", size=len(raw))
        return _error(403, "missing or invalid X-Hub-Signature-256")
    try:
        document = orjson.loads(raw)
        # Every timestamp is bounded by the moment of receipt (see events.py: poison input).
        obj, events = parse_delivery(document, int(runtime.clock().timestamp() * 1000))
    except (orjson.JSONDecodeError, MalformedDelivery) as error:
        runtime.metrics.webhook_rejected.labels(reason="malformed").inc()
        return _error(400, f"malformed delivery: {error}"[:200])
    try:
        await runtime.intake.store(obj, raw.decode("utf-8", errors="replace"), events)
    except IntakeUnavailable:
        runtime.metrics.webhook_rejected.labels(reason="storage").inc()
        return _error(503, "storage unavailable; retry later")
    runtime.metrics.record_webhook_events(event.kind for event in events)
    if obj != "page":
        log.info("webhook_object_ignored", object=obj[:40])
    return PlainTextResponse("EVENT_RECEIVED", status_code=200)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
