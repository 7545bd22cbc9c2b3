"""The writers announce their changes: a buyer's message, the bot's reply and its delivery, the
seller's take over / reply / resume, and every notification reach the account's live subscription
(and never another account's), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from accorria_agent.live.bus import LiveEvent, Subscription, ensure_listening
from accorria_agent.settings import Settings
from tests.dashboard.conftest import auth_for_tenant, seller_of
from tests.sim_harness import sim_harness

Make = Callable[..., Settings]


async def _drain(subscription: Subscription, seconds: float = 1.0) -> list[LiveEvent]:
    events: list[LiveEvent] = []
    deadline = asyncio.get_running_loop().time() + seconds
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        event = await subscription.next(left)
        if event is None:
            break
        events.append(event)
    return events


async def test_every_writer_announces_to_its_own_account_only(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url) as h:
        seller_id = await seller_of(h, h.tenant_id)
        hub = await ensure_listening(h.runtime.engine)
        mine, other = hub.subscribe(seller_id), hub.subscribe(seller_id + 1000)
        try:
            await h.say("7101", "Is the Civic still available?")
            events = await _drain(mine)
            assert events and all(e.seller_id == seller_id for e in events)
            conversation_ids = {e.conversation_id for e in events if e.conversation_id is not None}
            assert len(conversation_ids) == 1
            (cid,) = conversation_ids
            assert {e.kind for e in events} >= {"message"}
            assert any(e.message_id is not None for e in events)  # the bot's reply was sent

            headers = await auth_for_tenant(h, h.tenant_id)
            paused = await h.client.post(f"/api/conversations/{cid}/pause", headers=headers)
            assert paused.status_code == 200
            assert LiveEvent(seller_id, "conversation", cid) in await _drain(mine)
            reply = await h.client.post(
                f"/api/conversations/{cid}/messages", headers=headers, json={"text": "Owner here."}
            )
            assert reply.status_code == 201
            kinds = [(e.kind, e.conversation_id) for e in await _drain(mine)]
            assert ("message", cid) in kinds
            resumed = await h.client.post(f"/api/conversations/{cid}/resume", headers=headers)
            assert resumed.status_code == 200
            assert LiveEvent(seller_id, "conversation", cid) in await _drain(mine)

            await h.say("7101", "Talk to the seller please")  # a handoff: a notification for the seller
            assert "notification" in {e.kind for e in await _drain(mine)}
            assert await _drain(other, 0.3) == []  # another account hears nothing
        finally:
            hub.unsubscribe(mine)
            hub.unsubscribe(other)
