"""Shared test helpers: config, a recording fake agent (verifies signatures), Send API calls."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response

from accorria_agent.simulator import SimulatorConfig

APP_SECRET = "s3cret-app-secret"
PAGE_TOKEN = "EAAPageToken123"
PAGE_ID = "104000000000001"
APP_ID = "900000000000009"
CONFIG = SimulatorConfig(
    app_id=APP_ID,
    app_secret=APP_SECRET,
    page_id=PAGE_ID,
    page_name="Accorria Motors",
    page_access_token=PAGE_TOKEN,
    listing_id=42,
    webhook_url="http://agent.test/webhook",
)
V = CONFIG.graph_version


@dataclass
class Recorder:
    """What the fake agent received; it rejects bad signatures with 403 like a real agent."""

    payloads: list[dict[str, Any]] = field(default_factory=list)
    raw: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    status: int = 200
    bad_signatures: int = 0

    def events(self, key: str | None = None) -> list[dict[str, Any]]:
        """All messaging/standby events, optionally only those carrying ``key``."""
        found = []
        for payload in self.payloads:
            for entry in payload["entry"]:
                for event in entry.get("messaging", []) + entry.get("standby", []):
                    if key is None or key in event:
                        found.append(event)
        return found


def make_agent_app(recorder: Recorder) -> FastAPI:
    app = FastAPI()

    @app.post("/webhook")
    async def webhook(request: Request) -> Response:
        body = await request.body()
        recorder.raw.append((body, dict(request.headers)))
        expected = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("x-hub-signature-256", "")):
            recorder.bad_signatures += 1
            return Response(status_code=403)
        recorder.payloads.append(json.loads(body))
        return Response("EVENT_RECEIVED", status_code=recorder.status)

    return app


async def send_api(
    client: httpx.AsyncClient,
    psid: str = "1001",
    message: dict[str, Any] | None = None,
    *,
    messaging_type: str | None = "RESPONSE",
    token: str | None = PAGE_TOKEN,
    **extra: Any,
) -> httpx.Response:
    """POST a Send API request the way the agent does."""
    body: dict[str, Any] = {"recipient": {"id": psid}, **extra}
    if message is not None:
        body["message"] = message
    if messaging_type is not None:
        body["messaging_type"] = messaging_type
    params = {"access_token": token} if token is not None else {}
    return await client.post(f"/graph/{V}/me/messages", params=params, json=body)


def graph_error(response: httpx.Response) -> dict[str, Any]:
    """The ``error`` object of a Graph error response (asserting its shape)."""
    body = response.json()
    err: dict[str, Any] = body["error"]
    assert set(err) >= {"message", "type", "code", "fbtrace_id"}
    assert err["fbtrace_id"]
    return err
