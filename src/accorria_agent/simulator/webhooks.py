"""Meta-shaped webhook payloads, their signature, and their delivery to the agent.

Payloads follow the Messenger Platform webhook reference::

    {"object": "page", "entry": [{"id": PAGE_ID, "time": ms, "messaging": [event]}]}

(``standby`` instead of ``messaging`` while another app owns the thread, per the
handover protocol). Bodies are encoded like Meta's: ASCII-only JSON with ``\\uXXXX``
escapes and ``\\/`` for slashes, so an agent that re-serialises the JSON before
checking ``X-Hub-Signature-256`` fails here exactly as it would in production.

Deliveries the buyer triggers are awaited (the caller wants the agent's status);
echoes and delivery receipts triggered by Send API calls go through an ordered
background queue, as Meta sends them asynchronously.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
from typing import Any, Literal

import httpx

from .config import SimulatorConfig
from .state import SimulatorState, WebhookRecord

logger = logging.getLogger(__name__)

Channel = Literal["messaging", "standby"]
#: Per-delivery timeout; Meta gives webhooks about 20 s before counting a failure.
DELIVERY_TIMEOUT = httpx.Timeout(20.0)


# --- encoding and signing ------------------------------------------------------------------------


def encode(payload: dict[str, Any]) -> bytes:
    """Serialise like Meta: ASCII-escaped JSON with escaped slashes, no spaces."""
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    # A "/" can only occur inside JSON strings, so escaping every one is safe.
    return text.replace("/", "\\/").encode("ascii")


def signature_headers(body: bytes, app_secret: str) -> dict[str, str]:
    """``X-Hub-Signature-256`` (and the legacy SHA-1 ``X-Hub-Signature``) for ``body``."""
    key = app_secret.encode("utf-8")
    return {
        "X-Hub-Signature-256": "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest(),
        "X-Hub-Signature": "sha1=" + hmac.new(key, body, hashlib.sha1).hexdigest(),
    }


# --- payload builders ----------------------------------------------------------------------------


def envelope(page_id: str, time_ms: int, events: list[dict[str, Any]], channel: Channel) -> dict[str, Any]:
    """Wrap messaging events in the ``{"object": "page", "entry": [...]}`` envelope."""
    return {"object": "page", "entry": [{"id": page_id, "time": time_ms, channel: events}]}


def from_buyer(psid: str, page_id: str, ts: int, **event: Any) -> dict[str, Any]:
    """An event sent by the buyer to the Page (message, postback, read, reaction…)."""
    return {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": ts, **event}


def echo_event(page_id: str, psid: str, ts: int, message: dict[str, Any]) -> dict[str, Any]:
    """A ``message_echoes`` event: the Page's own message, sent by ``message["app_id"]``."""
    return {"sender": {"id": page_id}, "recipient": {"id": psid}, "timestamp": ts, "message": message}


def delivery_event(psid: str, page_id: str, mids: list[str], watermark: int) -> dict[str, Any]:
    """A ``message_deliveries`` event (the reference payload carries no timestamp)."""
    return {
        "sender": {"id": psid},
        "recipient": {"id": page_id},
        "delivery": {"mids": mids, "watermark": watermark},
    }


def app_id_value(app_id: str) -> int | str:
    """Meta sends ``app_id`` as a number; keep non-numeric test ids as strings."""
    return int(app_id) if app_id.isdigit() else app_id


# --- delivery ------------------------------------------------------------------------------------


class WebhookDeliverer:
    """Signs and POSTs webhooks to the agent, recording every attempt in the state."""

    def __init__(self, config: SimulatorConfig, state: SimulatorState, client: httpx.AsyncClient) -> None:
        self._config = config
        self._state = state
        self._client = client
        self._queue: asyncio.Queue[tuple[str, str | None, dict[str, Any]]] | None = None
        self._worker: asyncio.Task[None] | None = None

    async def deliver(self, kind: str, psid: str | None, payload: dict[str, Any]) -> WebhookRecord:
        """POST one payload now and return the record (status ``None`` if no answer)."""
        record = WebhookRecord(
            id=self._state.next_id(), kind=kind, psid=psid, sent_ms=self._state.now_ms(), payload=payload
        )
        self._state.webhooks.append(record)
        body = encode(payload)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "facebookexternalua",
            **signature_headers(body, self._config.app_secret),
        }
        try:
            response = await self._client.post(
                self._config.webhook_url, content=body, headers=headers, timeout=DELIVERY_TIMEOUT
            )
        except httpx.HTTPError as exc:
            record.error = f"{type(exc).__name__}: {exc}"
            logger.warning("webhook %s delivery failed: %s", kind, type(exc).__name__)
            return record
        record.status = response.status_code
        if response.status_code >= 300:
            record.error = f"agent answered HTTP {response.status_code}"
        return record

    def enqueue(self, kind: str, psid: str | None, payload: dict[str, Any]) -> None:
        """Deliver in the background, after everything enqueued before (order is kept)."""
        if self._queue is None:
            self._queue = asyncio.Queue()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._run(self._queue))
        self._queue.put_nowait((kind, psid, payload))

    async def _run(self, queue: asyncio.Queue[tuple[str, str | None, dict[str, Any]]]) -> None:
        while True:
            kind, psid, payload = await queue.get()
            try:
                await self.deliver(kind, psid, payload)
            except Exception:  # a bug in one delivery must not stop later ones
                logger.exception("background webhook %s crashed", kind)
            finally:
                queue.task_done()

    async def drain(self) -> None:
        """Wait until every background webhook enqueued so far has been delivered."""
        if self._queue is not None:
            await self._queue.join()

    async def aclose(self, timeout: float = 5.0) -> None:
        """Give pending deliveries ``timeout`` seconds, then cancel the worker."""
        if self._queue is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), timeout)
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        self._queue = None
