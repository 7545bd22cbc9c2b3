"""The webhook edge: Meta's verification call, signatures, bad bodies, idempotent storage."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from accorria_agent.conversations.models import Message
from accorria_agent.messenger.models import EventLog, WebhookDelivery
from accorria_agent.settings import Settings
from tests.conftest import VERIFY_TOKEN
from tests.fakes.graph import FakeGraph
from tests.helpers import delivery, harness, text_event


async def _count(h, model) -> int:  # type: ignore[no-untyped-def]
    async with h.runtime.session_factory() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_meta_verification_call_returns_the_challenge(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    async with harness(make_settings(DATABASE_URL=database_url), FakeGraph().transport) as h:
        ok = await h.client.get(
            "/webhook",
            params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
        )
        assert ok.status_code == 200
        assert ok.text == "1158201444"
        assert ok.headers["content-type"].startswith("text/plain")
        wrong = await h.client.get(
            "/webhook", params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"}
        )
        assert wrong.status_code == 403
        missing = await h.client.get("/webhook")
        assert missing.status_code == 403


async def test_bad_deliveries_are_refused_and_store_nothing(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    graph = FakeGraph()
    async with harness(make_settings(DATABASE_URL=database_url), graph.transport) as h:
        body = delivery(text_event("buyer-1", "hello"))
        unsigned = await h.client.post("/webhook", json=body)
        assert unsigned.status_code == 403
        wrong = await h.post_signed(body, secret="another-secret")
        assert wrong.status_code == 403
        forged = await h.client.post(
            "/webhook", json=body, headers={"X-Hub-Signature-256": "sha256=" + "0" * 64}
        )
        assert forged.status_code == 403
        sha1 = await h.client.post("/webhook", json=body, headers={"X-Hub-Signature-256": "sha1=abc"})
        assert sha1.status_code == 403
        malformed = await h.post_signed(b"{not json")
        assert malformed.status_code == 400
        not_object = await h.post_signed(b"[1, 2, 3]")
        assert not_object.status_code == 400
        oversized = await h.post_signed(b'{"object": "page", "x": "' + b"a" * 300_000 + b'"}')
        assert oversized.status_code == 413  # refused by the body limit before it is read
        await h.idle()
        assert await _count(h, WebhookDelivery) == 0
        assert await _count(h, EventLog) == 0
        assert graph.messages() == []


async def test_other_objects_are_acknowledged_and_ignored(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    graph = FakeGraph()
    async with harness(make_settings(DATABASE_URL=database_url), graph.transport) as h:
        response = await h.post_signed({"object": "instagram", "entry": []})
        assert response.status_code == 200
        await h.idle()
        assert await _count(h, WebhookDelivery) == 1
        assert await _count(h, EventLog) == 0
        assert graph.messages() == []


async def test_the_same_delivery_twice_gives_one_message_and_one_reply(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    graph = FakeGraph()
    async with harness(make_settings(DATABASE_URL=database_url), graph.transport) as h:
        body = delivery(text_event("buyer-7", "Is this still available?", mid="m_dup_1"))
        first = await h.post_signed(body)
        await h.idle()
        second = await h.post_signed(body)
        await h.idle()
        assert first.status_code == second.status_code == 200
        async with h.runtime.session_factory() as session:
            inbound = (
                await session.execute(
                    select(func.count()).select_from(Message).where(Message.direction == "inbound")
                )
            ).scalar_one()
        assert inbound == 1
        assert len(graph.messages("buyer-7")) == 1
        assert await _count(h, WebhookDelivery) == 2


async def test_a_buyer_message_gets_a_reply_naming_the_listing(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    graph = FakeGraph()
    async with harness(make_settings(DATABASE_URL=database_url), graph.transport) as h:
        response = await h.post_signed(delivery(text_event("buyer-2", "hi")))
        assert response.status_code == 200
        assert response.text == "EVENT_RECEIVED"
        await h.idle()
        sent = graph.messages("buyer-2")
        assert len(sent) == 1
        assert sent[0]["messaging_type"] == "RESPONSE"
        assert "tag" not in sent[0]
        assert "Honda Civic" in sent[0]["message"]["text"]
        assert "automated" in sent[0]["message"]["text"].lower()
        call = next(c for c in graph.calls if "message" in c.body)
        assert call.path == "/v23.0/me/messages"
        # The token rides in the Authorization header, never in the (logged) URL.
        assert "access_token" not in call.params
        assert call.authorization == "Bearer page-token-abc"
        assert len(call.params["appsecret_proof"]) == 64
        async with h.runtime.session_factory() as session:
            outbound = (
                (await session.execute(select(Message).where(Message.direction == "outbound")))
                .scalars()
                .all()
            )
        assert [m.status for m in outbound] == ["sent"]
        assert outbound[0].mid is not None
        assert sent[0]["message"]["metadata"] == outbound[0].outbound_key
