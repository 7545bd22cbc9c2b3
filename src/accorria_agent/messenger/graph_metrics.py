"""An httpx transport that times every Graph API call and counts its error answers by Meta's code.

Wrapping the transport (not the client's methods) sees every call the Graph client makes, retries
included, without touching the client or the Send API code.
"""

from __future__ import annotations

import time

import httpx
import orjson

from accorria_agent.metrics import Metrics

# Graph paths end in an operation name (``/v21.0/me/messages``); anything else is one label, so that
# ids in paths never become label values.
KNOWN_OPERATIONS = frozenset(
    {
        "messages",
        "pass_thread_control",
        "take_thread_control",
        "request_thread_control",
        "subscribed_apps",
        "messenger_profile",
        "accounts",
        "debug_token",
        "access_token",
        "me",
    }
)
# Error bodies are small JSON; never read more than this to find the code.
MAX_ERROR_BODY = 64 * 1024
_BODY_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def operation_of(url: httpx.URL) -> str:
    """The label for a Graph URL: its last path segment when it is a known operation, else ``other``."""
    last = url.path.rstrip("/").rsplit("/", 1)[-1]
    return last if last in KNOWN_OPERATIONS else "other"


def error_code(status: int, body: bytes) -> str:
    """Meta's ``error.code`` of an error answer, else its HTTP status."""
    try:
        document = orjson.loads(body[:MAX_ERROR_BODY])
    except orjson.JSONDecodeError:
        return str(status)
    error = document.get("error") if isinstance(document, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return str(code) if isinstance(code, int) and not isinstance(code, bool) else str(status)


class MeteredTransport(httpx.AsyncBaseTransport):
    """Forwards to ``inner``; records latency and errors of calls under ``graph_base_url``."""

    def __init__(self, inner: httpx.AsyncBaseTransport, metrics: Metrics, graph_base_url: str) -> None:
        self._inner = inner
        self._metrics = metrics
        self._prefix = graph_base_url.rstrip("/")

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not str(request.url).startswith(self._prefix):
            return await self._inner.handle_async_request(request)
        operation = operation_of(request.url)
        started = time.perf_counter()
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.TransportError:
            self._metrics.graph_latency.labels(operation=operation).observe(time.perf_counter() - started)
            self._metrics.graph_errors.labels(code="network").inc()
            self._metrics.errors.labels(type="graph_api").inc()
            raise
        if response.status_code >= 400:
            body = await response.aread()
            await response.aclose()
            self._metrics.graph_errors.labels(code=error_code(response.status_code, body)).inc()
            self._metrics.errors.labels(type="graph_api").inc()
            # aread() decoded the body: the rebuilt response must not claim an encoding or length.
            headers = [
                (name, value)
                for name, value in response.headers.multi_items()
                if name.lower() not in _BODY_HEADERS
            ]
            response = httpx.Response(response.status_code, headers=headers, content=body, request=request)
        self._metrics.graph_latency.labels(operation=operation).observe(time.perf_counter() - started)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
