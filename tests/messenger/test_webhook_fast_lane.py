"""``POST /webhook`` is served ahead of FastAPI's routing and middleware (``app.AgentApp``): what those
layers did for it still holds — a crash is a counted 500 and the next delivery is stored, a client that
leaves mid-body gets nothing and nothing is stored, a NUL in the query string is refused, and every answer
carries the security headers and is counted by status."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from accorria_agent.app import create_app
from accorria_agent.messenger.models import EventLog
from accorria_agent.messenger.signature import sign
from accorria_agent.settings import Settings
from tests.fakes.graph import FakeGraph
from tests.helpers import Harness, delivery, harness, text_event

Make = Callable[..., Settings]


def _status_count(h: Harness, status: str) -> float:
    value = h.runtime.metrics.registry.get_sample_value(
        "messenger_webhook_responses_total", {"status": status}
    )
    return value or 0.0


async def _stored_events(h: Harness) -> int:
    async with h.runtime.session_factory() as session:
        return int((await session.execute(select(func.count(EventLog.id)))).scalar_one())


@asynccontextmanager
async def _app_with_delivery(
    make_settings: Make, database_url: str, psid: str
) -> AsyncIterator[tuple[Harness, Any, bytes, str]]:
    """A harness, a second app on its runtime (driven by hand), and one signed delivery with its signature."""
    settings = make_settings(DATABASE_URL=database_url)
    async with harness(settings, FakeGraph().transport) as h:
        raw = json.dumps(delivery(text_event(psid, "hello"))).encode()
        signature = sign(raw, settings.facebook_app_secret.get_secret_value())
        yield h, create_app(h.runtime, manage_runtime=False), raw, signature


async def test_a_crash_is_a_counted_500_and_the_next_delivery_is_stored(
    database_url: str, make_settings: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with harness(make_settings(DATABASE_URL=database_url), FakeGraph().transport) as h:
        original = h.runtime.intake.store

        async def broken(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("a bug, not the database")

        monkeypatch.setattr(h.runtime.intake, "store", broken)
        crashed = await h.post_signed(delivery(text_event("c1", "hi")))
        assert crashed.status_code == 500 and crashed.text == "Internal Server Error"
        assert crashed.headers["x-content-type-options"] == "nosniff"
        assert _status_count(h, "500") == 1
        monkeypatch.setattr(h.runtime.intake, "store", original)
        stored = await h.post_signed(delivery(text_event("c1", "hi again")))
        assert stored.status_code == 200 and stored.text == "EVENT_RECEIVED"
        assert stored.headers["content-type"].startswith("text/plain")
        assert "frame-ancestors 'none'" in stored.headers["content-security-policy"]
        assert _status_count(h, "200") == 1
        assert await _stored_events(h) == 1


async def test_a_client_gone_mid_body_gets_nothing_and_nothing_is_stored(
    database_url: str, make_settings: Make
) -> None:
    async with _app_with_delivery(make_settings, database_url, "g1") as (h, app, raw, signature):
        incoming = [
            {"type": "http.request", "body": raw[:10], "more_body": True},
            {"type": "http.disconnect"},
        ]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return incoming.pop(0)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/webhook",
            "query_string": b"",
            "headers": [(b"x-hub-signature-256", signature.encode()), (b"content-type", b"application/json")],
        }
        await app(scope, receive, send)
        assert sent == []
        assert await _stored_events(h) == 0


async def test_a_nul_in_the_query_string_is_refused(database_url: str, make_settings: Make) -> None:
    async with _app_with_delivery(make_settings, database_url, "n1") as (h, _app, raw, signature):
        refused = await h.client.post(
            "/webhook?x=%00", content=raw, headers={"X-Hub-Signature-256": signature}
        )
        assert refused.status_code == 422 and refused.json()["code"] == "invalid_text"
        assert _status_count(h, "422") == 1
        assert await _stored_events(h) == 0


async def test_behind_a_path_prefix_the_webhook_is_still_served(
    database_url: str, make_settings: Make
) -> None:
    async with _app_with_delivery(make_settings, database_url, "p1") as (h, app, raw, signature):
        transport = httpx.ASGITransport(app=app, root_path="/agent")
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answered = await client.post(
                "/agent/webhook", content=raw, headers={"X-Hub-Signature-256": signature}
            )
        assert answered.status_code == 200 and answered.text == "EVENT_RECEIVED"
        assert await _stored_events(h) == 1
