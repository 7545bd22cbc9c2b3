"""HTTP hardening, on SQLite and PostgreSQL: body limits before reading, authentication before the body,
no 500 from hostile input, security headers everywhere, docs and metrics closed in production."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accorria_agent.app import create_app
from accorria_agent.dashboard.auth import issue_seller_token
from accorria_agent.http_hardening import HardeningMiddleware, HardeningPolicy, json_refusal
from accorria_agent.runtime import build_runtime
from accorria_agent.settings import Settings
from tests.fakes.graph import FakeGraph
from tests.helpers import Harness, delivery, harness, text_event
from tests.privacy.support import buyer_writes, headers_for

Make = Callable[..., Settings]


async def _seller_headers(h: Harness) -> dict[str, str]:
    return await headers_for(h, h.tenant_id)


class RecordingApp:
    """An inner ASGI app that records whether it ran and how much body it read."""

    def __init__(self) -> None:
        self.called = False
        self.read = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.called = True
        while True:
            message = await receive()
            self.read += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def _call(
    app: Any, path: str, headers: list[tuple[bytes, bytes]], chunks: list[bytes]
) -> tuple[int, bytes, int]:
    """Drive ``app`` with a streamed body; returns (status, body, chunks the app pulled)."""
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled < len(chunks):
            pulled += 1
            return {"type": "http.request", "body": chunks[pulled - 1], "more_body": pulled < len(chunks)}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "query_string": b"", "headers": headers}
    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body, pulled


POLICY = HardeningPolicy(
    webhook_max_body_bytes=256 * 1024, api_max_body_bytes=64 * 1024, max_body_bytes=1 << 20
)


async def test_a_huge_unauthenticated_post_is_refused_before_one_byte_is_read() -> None:
    inner = RecordingApp()
    app = HardeningMiddleware(inner, POLICY)
    megabyte = b"x" * (1 << 20)
    # 200 MB declared: refused on the header alone.
    status, body, pulled = await _call(
        app, "/api/conversations/1/messages", [(b"content-length", b"209715200")], [megabyte]
    )
    assert (status, pulled, inner.called) == (413, 0, False)
    assert json.loads(body)["code"] == "payload_too_large"
    # Within the limit but without any session credential: 401 before the body is read.
    status, body, pulled = await _call(
        app,
        "/api/conversations/1/messages",
        [(b"content-length", b"100"), (b"content-type", b"application/json")],
        [b"{}"],
    )
    assert (status, pulled, inner.called) == (401, 0, False)
    # Streamed without Content-Length (chunked): cut off at the limit, long before 200 chunks of 1 MB.
    status, _body, pulled = await _call(
        app, "/simulator/api/anything", [(b"transfer-encoding", b"chunked")], [megabyte] * 200
    )
    assert status == 413 and pulled <= 2
    # The limit of the webhook is its own, and a body within it reaches the app whole.
    fresh = RecordingApp()
    status, _body, _pulled = await _call(
        HardeningMiddleware(fresh, POLICY), "/webhook", [(b"content-length", b"10")], [b"0123456789"]
    )
    assert status == 200 and fresh.read == 10


def test_json_refusals() -> None:
    assert json_refusal(b'{"text": "a\\u0000b"}') and "NUL" in str(json_refusal(b'{"text": "a\\u0000b"}'))
    assert "surrogate" in str(json_refusal(b'{"text": "\\ud800"}'))
    assert "surrogate" in str(json_refusal(b'{"\\udfff": 1}'))
    assert "finite" in str(json_refusal(b'{"n": 1e400}'))
    assert json_refusal(b'{"text": "\\ud83d\\ude00 fine", "n": 1.5, "ok": [null, true]}') is None
    assert json_refusal(b"{not json") is None  # FastAPI answers that one itself


HOSTILE_BODIES = [
    b'{"text": "\\ud800"}',
    b'{"text": "hello\\u0000world"}',
    b'{"text": 1e400}',
    b'{"text": "' + b"9" * 5000 + b'"}',
    b'{"text": ' + b"9" * 5000 + b"}",
    b'{"text": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"\\ud800": "x"}',
    b"[1e400]",
    b"\xff\xfe",
    b'{"text": "ok"',
]


async def test_hostile_bodies_get_a_clear_4xx_never_a_500(database_url: str, make_settings: Make) -> None:
    async with harness(make_settings(DATABASE_URL=database_url), FakeGraph().transport) as h:
        await buyer_writes(h, "7001", "Hi, is it available?")
        headers = {**await _seller_headers(h), "Content-Type": "application/json"}
        conversations = (await h.client.get("/api/conversations", headers=headers)).json()
        target = f"/api/conversations/{conversations[0]['id']}/messages"
        for raw in HOSTILE_BODIES:
            response = await h.client.post(target, content=raw, headers=headers)
            assert 400 <= response.status_code < 500, (raw[:40], response.status_code, response.text[:200])
            assert response.json()["detail"]  # a JSON answer that serialised
        nul = await h.client.post(target, content=b'{"text": "a\\u0000b"}', headers=headers)
        assert nul.status_code == 422 and "NUL" in nul.json()["detail"]
        patch = await h.client.patch(
            f"/api/settings/{h.tenant_id}", content=b'{"disclosure_text": "hi\\u0000"}', headers=headers
        )
        assert patch.status_code == 422
        query = await h.client.get("/api/conversations?limit=%00", headers=headers)
        assert query.status_code == 422
        huge_id = await h.client.get("/api/conversations/" + "9" * 40, headers=headers)
        assert huge_id.status_code == 422


@given(
    body=st.recursive(
        st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
        ),
        max_leaves=12,
    )
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_json_value_is_judged_without_an_exception(body: object) -> None:
    try:
        raw = json.dumps(body).encode("utf-8", errors="surrogatepass")
    except (ValueError, TypeError):
        return
    reason = json_refusal(raw)
    assert reason is None or isinstance(reason, str)


async def test_every_response_carries_the_security_headers(database_url: str, make_settings: Make) -> None:
    async with harness(make_settings(DATABASE_URL=database_url), FakeGraph().transport) as h:
        headers = await _seller_headers(h)
        for path, extra in (
            ("/healthz", {}),
            ("/api/conversations", headers),
            ("/api/nothing", headers),
            ("/dashboard/", {}),
            ("/webhook", {}),
        ):
            response = await h.client.get(path, headers=extra)
            assert response.headers["x-content-type-options"] == "nosniff", path
            assert response.headers["x-frame-options"] == "DENY", path
            assert response.headers["referrer-policy"] == "no-referrer", path
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path
        api = await h.client.get("/api/conversations", headers=headers)
        assert api.headers["cache-control"] == "no-store"
        # The dashboard's own, stricter policy is kept rather than replaced.
        page = await h.client.get("/dashboard/")
        assert page.headers["content-security-policy"].startswith("default-src 'none'")
        signed = await h.post_signed(delivery(text_event("7001", "hi")))
        assert signed.headers["x-content-type-options"] == "nosniff"


async def _app_client(settings: Settings) -> httpx.AsyncClient:
    runtime = build_runtime(settings, graph_transport=FakeGraph().transport, run_jobs=False)
    app = create_app(runtime, manage_runtime=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://agent.test")


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
async def test_api_docs_are_off_in_production_and_on_in_development(path: str, make_settings: Make) -> None:
    async with await _app_client(make_settings(ACCORRIA_ENV="production")) as client:
        assert (await client.get(path)).status_code == 404
    async with await _app_client(make_settings(ACCORRIA_ENV="development")) as client:
        assert (await client.get(path)).status_code == 200


async def test_metrics_need_their_token_in_production(make_settings: Make) -> None:
    token = "mT-4kP9qX2vL7sW3nR8zB5cY1hF6dJ0gA"
    async with await _app_client(make_settings(ACCORRIA_ENV="production", METRICS_TOKEN=token)) as client:
        assert (await client.get("/metrics")).status_code == 404
        assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 404
        ok = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and "webhook" in ok.text
    async with await _app_client(make_settings(ACCORRIA_ENV="production")) as client:
        assert (await client.get("/metrics", headers={"Authorization": "Bearer "})).status_code == 404
    async with await _app_client(make_settings(ACCORRIA_ENV="development")) as client:
        assert (await client.get("/metrics")).status_code == 200


async def test_an_expired_session_with_a_body_is_401_not_a_read(make_settings: Make) -> None:
    settings_ = make_settings()
    expired = issue_seller_token(settings_, 1, timedelta(seconds=-10))
    async with await _app_client(settings_) as client:
        response = await client.post(
            "/api/conversations/1/messages",
            json={"text": "x"},
            headers={"Authorization": f"Bearer {expired}"},
        )
        assert response.status_code == 401
        anonymous = await client.post("/api/conversations/1/messages", content=b"x" * 100_000)
        assert anonymous.status_code == 413
        small = await client.post("/api/conversations/1/messages", json={"text": "x"})
        assert small.status_code == 401 and small.json()["code"] == "unauthorized"
