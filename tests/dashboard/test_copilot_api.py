"""Co-pilot mode end to end through the API: agent + simulator in one process, on SQLite and PostgreSQL.

The demo listing asks 12,500 with a floor of 11,000 (auto-accept from 12,200).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from accorria_agent.audit.models import AuditEvent
from accorria_agent.conversations.models import ConversationDraft
from accorria_agent.dashboard import drafts
from accorria_agent.dashboard.schemas import DraftSendIn
from accorria_agent.db.engine import transaction
from accorria_agent.deals.models import Deal
from accorria_agent.errors import Forbidden
from accorria_agent.settings import Settings
from tests.dashboard.conftest import auth_for_tenant, other_seller
from tests.sim_harness import SimHarness, sim_harness

Make = Callable[..., Settings]


async def _copilot(h: SimHarness) -> dict[str, str]:
    headers = await auth_for_tenant(h, h.tenant_id)
    response = await h.client.patch(
        f"/api/settings/{h.tenant_id}", headers=headers, json={"reply_mode": "copilot"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["reply_mode"] == "copilot" and response.json()["bot_enabled"] is True
    return headers


@asynccontextmanager
async def drafted(
    make_settings: Make, database_url: str, psid: str, text: str
) -> AsyncIterator[tuple[SimHarness, dict[str, str], int]]:
    """Co-pilot on, the buyer ``psid`` writes ``text``: the harness, the owner's headers, the conversation."""
    async with sim_harness(make_settings, database_url) as h:
        headers = await _copilot(h)
        await h.say(psid, text)
        yield h, headers, (await h.conversation(psid)).id


async def _detail(h: SimHarness, headers: dict[str, str], cid: int) -> dict[str, Any]:
    response = await h.client.get(f"/api/conversations/{cid}", headers=headers)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def _drafts(h: SimHarness) -> list[ConversationDraft]:
    async with h.runtime.session_factory() as session:
        rows = await session.execute(select(ConversationDraft).order_by(ConversationDraft.id))
        return list(rows.scalars())


async def test_in_copilot_mode_the_reply_is_a_draft_and_nothing_is_sent(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        headers = await _copilot(h)
        await h.say("5001", "hi, would you take 9000?")
        assert h.sent_texts("5001") == []  # drafts never go out on their own
        conversation = await h.conversation("5001")
        # The counter is not made until it is sent: the state the buyer knows has no counter of ours.
        assert not (conversation.negotiation_state or {}).get("our_counters")
        detail = await _detail(h, headers, conversation.id)
        draft = detail["draft"]
        assert draft is not None and draft["text"] and draft["action"] == "counter"
        price = Decimal(draft["decided_price"])
        assert Decimal(11000) <= price <= Decimal(12500)
        assert detail["reply_mode"] == "copilot" and detail["has_draft"] is True
        # The buyer's offer was said; our counter waits for the seller.
        assert Decimal(detail["negotiation"]["best_offer"]) == Decimal(9000)
        assert detail["negotiation"]["last_counter"] is None
        assert [m["author"] for m in detail["messages"]] == ["buyer"]
        assert "draft" in [n["kind"] for n in detail["notifications"]]
        (summary,) = (await h.client.get("/api/conversations", headers=headers)).json()
        assert summary["has_draft"] is True and summary["reply_mode"] == "copilot"


async def test_the_seller_sends_the_draft_as_is_and_the_counter_counts(
    database_url: str, make_settings: Make
) -> None:
    async with drafted(make_settings, database_url, "5002", "would you take 9000?") as (h, headers, cid):
        draft = (await _detail(h, headers, cid))["draft"]
        response = await h.client.post(f"/api/conversations/{cid}/draft/send", headers=headers)
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["author"], body["status"], body["text"]) == ("seller", "sent", draft["text"])
        await h.settle()
        assert h.sent_texts("5002") == [draft["text"]]
        conversation = await h.conversation("5002")
        counters = [Decimal(c) for c in conversation.negotiation_state["our_counters"]]
        assert counters == [Decimal(draft["decided_price"])]
        assert conversation.mode == "bot"  # co-pilot goes on: the next buyer message is drafted again
        detail = await _detail(h, headers, cid)
        assert detail["draft"] is None and detail["has_draft"] is False
        assert detail["unread_notifications"] == 0  # the "draft waits" notification is read
        async with h.runtime.session_factory() as session:
            event = (
                (
                    await session.execute(
                        select(AuditEvent)
                        .where(AuditEvent.action == "message.outbound")
                        .order_by(AuditEvent.id.desc())
                    )
                )
                .scalars()
                .first()
            )
        assert event is not None and event.actor_kind == "member" and event.details["draft"] == draft["id"]
        # Sent once: a second send finds no draft.
        again = await h.client.post(f"/api/conversations/{cid}/draft/send", headers=headers)
        assert again.status_code == 404
        await h.say("5002", "how about 10000?")
        assert len(h.sent_texts("5002")) == 1
        assert (await _detail(h, headers, cid))["draft"] is not None


async def test_an_edited_draft_goes_out_as_edited(database_url: str, make_settings: Make) -> None:
    async with drafted(make_settings, database_url, "5003", "would you take 9000?") as (h, headers, cid):
        response = await h.client.post(
            f"/api/conversations/{cid}/draft/send",
            headers=headers,
            json={"text": "Thanks! I could do $11,800 for you."},
        )
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "sent"
        await h.settle()
        assert h.sent_texts("5003") == ["Thanks! I could do $11,800 for you."]
        messages = await h.messages("5003")
        assert messages[-1].payload["edited"] is True and messages[-1].author == "seller"
        # The counter made is the seller's own price, not the one the bot had drafted.
        state = (await h.conversation("5003")).negotiation_state
        assert [Decimal(c) for c in state["our_counters"]] == [Decimal(11800)]


async def test_an_edit_below_the_floor_is_refused_until_confirmed(
    database_url: str, make_settings: Make
) -> None:
    async with drafted(make_settings, database_url, "5004", "would you take 9000?") as (h, headers, cid):
        url = f"/api/conversations/{cid}/draft/send"
        for text, code in (
            ("OK, 10,500 and it's yours", "below_floor"),
            ("Deal!", "below_floor"),  # accepts the buyer's 9,000 without naming a price
            ("My floor is $11,000, sorry", "below_floor"),  # reveals it
        ):
            refused = await h.client.post(url, headers=headers, json={"text": text})
            assert refused.status_code == 422, (text, refused.text)
            assert refused.json()["code"] == code and "floor" in refused.json()["detail"]
        assert h.sent_texts("5004") == []
        assert (await _detail(h, headers, cid))["draft"] is not None  # the draft still waits
        confirmed = await h.client.post(
            url, headers=headers, json={"text": "OK, 10,500 and it's yours", "confirm_below_floor": True}
        )
        assert confirmed.status_code == 201 and confirmed.json()["status"] == "sent"
        await h.settle()
        assert h.sent_texts("5004") == ["OK, 10,500 and it's yours"]
        # The bot could not honour that price: the seller has the conversation now.
        assert (await h.conversation("5004")).mode == "paused"
        await h.say("5004", "great, deal at 10500!")
        assert len(h.sent_texts("5004")) == 1
        async with h.runtime.session_factory() as session:
            event = (
                (await session.execute(select(AuditEvent).where(AuditEvent.action == "message.outbound")))
                .scalars()
                .one()
            )
        assert event.details["confirmed_below_floor"] is True


async def test_a_newer_buyer_message_replaces_the_stale_draft(database_url: str, make_settings: Make) -> None:
    async with drafted(make_settings, database_url, "5005", "would you take 9000?") as (h, headers, cid):
        first = (await _detail(h, headers, cid))["draft"]
        await h.say("5005", "ok what about 11900?")
        second = (await _detail(h, headers, cid))["draft"]
        assert second["id"] != first["id"]
        rows = await _drafts(h)
        assert [d.status for d in rows] == ["superseded", "pending"]
        # Only the waiting draft's notification is unread: the replaced one's is over.
        notes = (await _detail(h, headers, cid))["notifications"]
        assert [n["read_at"] is None for n in notes if n["kind"] == "draft"] == [True, False]
        # One turn answering both messages, decided from the state the buyer knows.
        assert len(rows[1].inputs) == 2
        assert rows[1].decision["base_turns"] == rows[0].decision["base_turns"]
        assert h.sent_texts("5005") == []
        response = await h.client.post(f"/api/conversations/{cid}/draft/send", headers=headers)
        assert response.status_code == 201 and response.json()["text"] == second["text"]


async def test_draft_sends_pass_the_24_hour_gate(database_url: str, make_settings: Make) -> None:
    async with drafted(make_settings, database_url, "5006", "is it still available?") as (h, headers, cid):
        h.sim.state.advance(30 * 3600)
        refused = await h.client.post(f"/api/conversations/{cid}/draft/send", headers=headers)
        assert refused.status_code == 409 and refused.json()["code"] == "window_closed"
        assert "HUMAN_AGENT" in refused.json()["detail"]
        assert h.sent_texts("5006") == []
        assert (await _detail(h, headers, cid))["draft"] is not None
        patched = await h.client.patch(
            f"/api/settings/{h.tenant_id}", headers=headers, json={"human_agent_tag_enabled": True}
        )
        assert patched.status_code == 200
        sent = await h.client.post(f"/api/conversations/{cid}/draft/send", headers=headers)
        assert sent.status_code == 201
        assert (sent.json()["status"], sent.json()["tag"]) == ("sent", "HUMAN_AGENT")
        h.sim.state.advance(7 * 86400)
        await h.say("5006", "hello again")
        h.sim.state.advance(8 * 86400)
        late = await h.client.post(f"/api/conversations/{cid}/draft/send", headers=headers)
        assert late.status_code == 409 and late.json()["code"] == "window_closed"


async def test_another_seller_cannot_see_send_or_discard_a_draft(
    database_url: str, make_settings: Make
) -> None:
    async with drafted(make_settings, database_url, "5007", "would you take 9000?") as (h, headers, cid):
        other = await other_seller(h)
        for method, path, body in (
            ("POST", f"/api/conversations/{cid}/draft/send", {"text": "hi"}),
            ("POST", f"/api/conversations/{cid}/draft/send", None),
            ("DELETE", f"/api/conversations/{cid}/draft", None),
            ("GET", f"/api/conversations/{cid}", None),
        ):
            response = await h.client.request(method, path, headers=other.headers, json=body)
            assert response.status_code == 404, (method, path, response.text)
        # B's own conversation has no draft: 404 too, and A's draft is untouched.
        own = await h.client.delete(
            f"/api/conversations/{other.conversation_id}/draft", headers=other.headers
        )
        assert own.status_code == 404
        assert [d.status for d in await _drafts(h)] == ["pending"]
        assert h.sent_texts("5007") == []
        deleted = await h.client.delete(f"/api/conversations/{cid}/draft", headers=headers)
        assert deleted.status_code == 204
        assert [d.status for d in await _drafts(h)] == ["discarded"]
        assert (await _detail(h, headers, cid))["draft"] is None
        assert not (await h.conversation("5007")).negotiation_state.get("our_counters")


async def test_the_seller_writing_their_own_reply_discards_the_draft(
    database_url: str, make_settings: Make
) -> None:
    async with drafted(make_settings, database_url, "5008", "would you take 9000?") as (h, headers, cid):
        response = await h.client.post(
            f"/api/conversations/{cid}/messages", headers=headers, json={"text": "Let me call you."}
        )
        assert response.status_code == 201
        assert [d.status for d in await _drafts(h)] == ["discarded"]
        await h.settle()
        assert h.sent_texts("5008") == ["Let me call you."]


async def test_a_listing_mode_overrides_its_page(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url) as h:
        headers = await auth_for_tenant(h, h.tenant_id)
        patched = await h.client.patch(
            f"/api/listings/{h.listing_id}", headers=headers, json={"reply_mode": "copilot"}
        )
        assert patched.status_code == 200 and patched.json()["reply_mode"] == "copilot"
        await h.say("5009", "is it available?")
        assert h.sent_texts("5009") == []
        assert len(await _drafts(h)) == 1
        # The Page in co-pilot, the listing back to the bot: the bot answers this car's buyers.
        await _copilot(h)
        back = await h.client.patch(
            f"/api/listings/{h.listing_id}", headers=headers, json={"reply_mode": "bot"}
        )
        assert back.status_code == 200 and back.json()["reply_mode"] == "bot"
        await h.say("5010", "is it available?")
        assert len(h.sent_texts("5010")) == 1
        follow = await h.client.patch(
            f"/api/listings/{h.listing_id}", headers=headers, json={"reply_mode": None}
        )
        assert follow.json()["reply_mode"] is None
        await h.say("5011", "is it available?")
        assert h.sent_texts("5011") == []
        off = await h.client.patch(
            f"/api/settings/{h.tenant_id}", headers=headers, json={"reply_mode": "off"}
        )
        assert off.json()["bot_enabled"] is False and off.json()["reply_mode"] == "off"
        await h.say("5012", "is it available?")
        assert h.sent_texts("5012") == [] and len(await _drafts(h)) == 2
        on = await h.client.patch(f"/api/settings/{h.tenant_id}", headers=headers, json={"bot_enabled": True})
        assert on.json()["reply_mode"] == "bot"
        bad = await h.client.patch(
            f"/api/settings/{h.tenant_id}", headers=headers, json={"reply_mode": "auto"}
        )
        assert bad.status_code == 422


async def test_an_accepted_offer_opens_the_deal_only_when_the_draft_is_sent(
    database_url: str, make_settings: Make
) -> None:
    async with drafted(make_settings, database_url, "5013", "I'll pay 12300 today") as (h, headers, cid):
        draft = (await _detail(h, headers, cid))["draft"]
        assert draft["action"] == "accept"
        async with h.runtime.session_factory() as session:
            assert (await session.execute(select(Deal).where(Deal.status == "agreed"))).first() is None
        response = await h.client.post(f"/api/conversations/{cid}/draft/send", headers=headers)
        assert response.status_code == 201
        await h.settle()
        async with h.runtime.session_factory() as session:
            deal = (await session.execute(select(Deal))).scalars().one()
        assert Decimal((await h.conversation("5013")).negotiation_state["agreed_price"]) == deal.agreed_price
        assert deal.status in {"agreed", "escrow_started"} and deal.agreed_price == Decimal(
            draft["decided_price"]
        )


async def test_a_send_of_a_replaced_draft_is_refused(database_url: str, make_settings: Make) -> None:
    async with drafted(make_settings, database_url, "5014", "would you take 9000?") as (h, headers, cid):
        seen = (await _detail(h, headers, cid))["draft"]["id"]
        await h.say("5014", "hello? 9500 then")
        url = f"/api/conversations/{cid}/draft/send"
        stale = await h.client.post(url, headers=headers, json={"draft_id": seen})
        assert stale.status_code == 409 and stale.json()["code"] == "draft_stale"
        assert h.sent_texts("5014") == []
        current = (await _detail(h, headers, cid))["draft"]["id"]
        sent = await h.client.post(url, headers=headers, json={"draft_id": current})
        assert sent.status_code == 201 and sent.json()["status"] == "sent"


async def test_only_an_owner_may_confirm_going_below_the_floor(
    database_url: str, make_settings: Make
) -> None:
    async with drafted(make_settings, database_url, "5015", "would you take 9000?") as (h, owner, cid):
        seller_id = (await h.client.get("/api/me", headers=owner)).json()["account"]["id"]
        below = DraftSendIn(text="OK, 10,000 is fine", confirm_below_floor=True)
        with pytest.raises(Forbidden):
            async with transaction(h.runtime.session_factory) as session:
                await drafts.send_draft(
                    session, seller_id, cid, below, h.runtime.clock(), actor_id=7, is_owner=False
                )
        with pytest.raises(drafts.BelowFloor):
            async with transaction(h.runtime.session_factory) as session:
                unconfirmed = DraftSendIn(text="OK, 10,000 is fine")
                await drafts.send_draft(
                    session, seller_id, cid, unconfirmed, h.runtime.clock(), actor_id=7, is_owner=False
                )
        async with transaction(h.runtime.session_factory) as session:
            fine = DraftSendIn(text="I could do 11,900.")
            await drafts.send_draft(
                session, seller_id, cid, fine, h.runtime.clock(), actor_id=7, is_owner=False
            )
        assert [d.status for d in await _drafts(h)] == ["sent"]


async def test_a_handoff_in_copilot_mode_is_drafted_too(database_url: str, make_settings: Make) -> None:
    async with drafted(make_settings, database_url, "5016", "can I talk to a real person please?") as (
        h,
        headers,
        cid,
    ):
        assert h.sent_texts("5016") == []  # not even the handoff notice goes out on its own
        detail = await _detail(h, headers, cid)
        assert detail["mode"] == "handed_off" and detail["draft"]["action"] == "handoff"
        assert {"handoff", "draft"} <= {n["kind"] for n in detail["notifications"]}
        sent = await h.client.post(f"/api/conversations/{cid}/draft/send", headers=headers)
        assert sent.status_code == 201 and sent.json()["status"] == "sent"
        await h.settle()
        assert h.sent_texts("5016") == [detail["draft"]["text"]]


async def test_a_buyer_message_during_a_send_is_decided_after_it(
    database_url: str, make_settings: Make
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite runs one writer at a time: the race needs PostgreSQL's concurrent transactions")
    async with drafted(make_settings, database_url, "5017", "would you take 9000?") as (h, owner, cid):
        seller_id = (await h.client.get("/api/me", headers=owner)).json()["account"]["id"]
        async with transaction(h.runtime.session_factory) as session:
            await drafts.send_draft(session, seller_id, cid, DraftSendIn(), h.runtime.clock(), actor_id=1)
            # The send holds the conversation until it commits: the buyer's next message waits for it.
            racing = asyncio.create_task(h.say("5017", "how about 10000?"))
            await asyncio.sleep(1.0)
            assert not racing.done()
        await racing
        conversation = await h.conversation("5017")
        rows = await _drafts(h)
        assert [d.status for d in rows] == ["sent", "pending"]
        # Decided from the state the sent draft left (its counter made), so it is the current draft.
        assert rows[1].decision["base_turns"] == conversation.negotiation_state["turns"]
        assert len(rows[1].inputs) == 1
        assert (await _detail(h, owner, cid))["draft"]["id"] == rows[1].id


async def test_an_edited_acceptance_without_its_price_is_no_agreement(
    database_url: str, make_settings: Make
) -> None:
    async with drafted(make_settings, database_url, "5018", "I'll pay 12300 today") as (h, headers, cid):
        assert (await _detail(h, headers, cid))["draft"]["action"] == "accept"
        response = await h.client.post(
            f"/api/conversations/{cid}/draft/send",
            headers=headers,
            json={"text": "Let me think about it overnight, I'll be in touch."},
        )
        assert response.status_code == 201
        await h.settle()
        assert (await h.conversation("5018")).negotiation_state.get("agreed_price") is None
        async with h.runtime.session_factory() as session:
            assert (await session.execute(select(Deal).where(Deal.status == "agreed"))).first() is None
