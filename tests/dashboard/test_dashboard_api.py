"""The seller dashboard API end to end: agent + simulator in one process, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import jwt
import pytest
from sqlalchemy import select

from accorria_agent.conversations import repository as repo
from accorria_agent.conversations.models import Conversation, Message
from accorria_agent.dashboard.auth import issue_seller_token
from accorria_agent.db.engine import transaction
from accorria_agent.sellers.models import MessengerSettings
from accorria_agent.sellers.notifications import SellerNotification
from accorria_agent.settings import Settings
from tests.dashboard.conftest import auth_for_tenant, other_seller, seller_of
from tests.sim_harness import SimHarness, sim_harness

Make = Callable[..., Settings]
DISCLOSURE = "automated assistant"


def handovers(h: SimHarness, psid: str) -> list[str]:
    return [entry["action"] for entry in h.sim.state.handover_log if entry["psid"] == psid]


def thread_texts(h: SimHarness, psid: str) -> list[str]:
    thread = h.sim.state.thread(psid)
    assert thread is not None
    return [m.text or "" for m in thread.messages if m.sender == "page"]


async def conversation_id(h: SimHarness, psid: str) -> int:
    return (await h.conversation(psid)).id


# --- authentication -----------------------------------------------------------------------------------


async def test_requests_without_a_valid_token_get_401(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await h.say("3001", "hi")
        cid = await conversation_id(h, "3001")
        seller_id = await seller_of(h, h.tenant_id)
        settings = h.runtime.settings
        secret = settings.jwt_secret.get_secret_value()
        now = int(time.time())
        forged = jwt.encode({"sub": str(seller_id), "exp": now + 600}, "y" * 40, algorithm="HS256")
        expired = issue_seller_token(settings, seller_id, timedelta(seconds=-5))
        unsigned = jwt.encode({"sub": str(seller_id), "exp": now + 600}, None, algorithm="none")
        no_exp = jwt.encode({"sub": str(seller_id)}, secret, algorithm="HS256")
        bad_sub = jwt.encode({"sub": "admin", "exp": now + 600}, secret, algorithm="HS256")
        headers: list[dict[str, str]] = [
            {},
            {"Authorization": "Bearer"},
            {"Authorization": "Bearer not-a-jwt"},
            {"Authorization": f"Basic {issue_seller_token(settings, seller_id, 600)}"},
            {"Authorization": f"Bearer {forged}"},
            {"Authorization": f"Bearer {expired}"},
            {"Authorization": f"Bearer {unsigned}"},
            {"Authorization": f"Bearer {no_exp}"},
            {"Authorization": f"Bearer {bad_sub}"},
        ]
        calls = [
            ("GET", "/api/conversations", None),
            ("GET", f"/api/conversations/{cid}", None),
            ("POST", f"/api/conversations/{cid}/pause", None),
            ("POST", f"/api/conversations/{cid}/messages", {"text": "hello"}),
            ("GET", "/api/notifications", None),
            ("PATCH", f"/api/settings/{h.tenant_id}", {"bot_enabled": False}),
        ]
        for header in headers:
            for method, path, body in calls:
                response = await h.client.request(method, path, headers=header, json=body)
                assert response.status_code == 401, (header, path, response.text)
                assert response.headers["www-authenticate"].startswith("Bearer")
        # Nothing happened: still the bot's conversation, no seller message, nothing more sent.
        assert (await h.conversation("3001")).mode == "bot"
        assert [m.author for m in await h.messages("3001")] == ["buyer", "bot"]
        good = await auth_for_tenant(h, h.tenant_id)
        assert (await h.client.get("/api/conversations", headers=good)).status_code == 200


# --- tenant isolation ---------------------------------------------------------------------------------


async def test_a_seller_never_sees_or_touches_another_sellers_conversation(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await h.say("3002", "hi is it available?")
        mine = await auth_for_tenant(h, h.tenant_id)
        other = await other_seller(h)
        sent_before = len(h.sim.state.sent)

        listed = (await h.client.get("/api/conversations", headers=mine)).json()
        assert [c["buyer_psid"] for c in listed] == ["3002"]
        theirs = (await h.client.get("/api/conversations", headers=other.headers)).json()
        assert [c["id"] for c in theirs] == [other.conversation_id]

        cid = other.conversation_id
        missing = await h.client.get("/api/conversations/999999", headers=mine)
        for method, path, body in [
            ("GET", f"/api/conversations/{cid}", None),
            ("POST", f"/api/conversations/{cid}/pause", None),
            ("POST", f"/api/conversations/{cid}/resume", None),
            ("POST", f"/api/conversations/{cid}/messages", {"text": "psst"}),
            ("POST", f"/api/notifications/{other.notification_id}/read", None),
            ("PATCH", f"/api/settings/{other.tenant_id}", {"human_agent_tag_enabled": True}),
        ]:
            response = await h.client.request(method, path, headers=mine, json=body)
            assert response.status_code == 404, (path, response.text)
            assert "B's" not in response.text
        # Same answer as for an id that exists nowhere: existence is not leaked.
        assert missing.status_code == 404
        assert (await h.client.get(f"/api/conversations/{cid}", headers=mine)).json() == missing.json()

        notes = (await h.client.get("/api/notifications", headers=mine)).json()
        assert all(n["tenant_id"] == h.tenant_id for n in notes)
        pages = (await h.client.get("/api/settings", headers=mine)).json()
        assert [p["tenant_id"] for p in pages] == [h.tenant_id]

        # B's data is untouched.
        async with h.runtime.session_factory() as session:
            conversation = await session.get(Conversation, cid)
            messages = (
                (await session.execute(select(Message).where(Message.conversation_id == cid))).scalars().all()
            )
            note = await session.get(SellerNotification, other.notification_id)
            settings = (
                await session.execute(
                    select(MessengerSettings).where(MessengerSettings.tenant_id == other.tenant_id)
                )
            ).scalar_one()
        assert conversation is not None and conversation.mode == "bot"
        assert [m.id for m in messages] == [other.message_id]
        assert note is not None and note.read_at is None
        assert settings.human_agent_tag_enabled is False
        assert len(h.sim.state.sent) == sent_before
        assert handovers(h, "7007") == []


# --- reading ------------------------------------------------------------------------------------------


async def test_the_list_shows_mode_window_negotiation_and_preview(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        headers = await auth_for_tenant(h, h.tenant_id)
        await h.say("3003", "hi, would you take 9000?")
        h.sim.state.advance(3 * 3600)
        (item,) = (await h.client.get("/api/conversations", headers=headers)).json()
        assert item["buyer_psid"] == "3003"
        assert item["mode"] == "bot"
        assert item["page_id"] == h.sim.config.page_id
        assert item["listing"]["id"] == h.listing_id and "Civic" in item["listing"]["title"]
        # 21 hours left in the 24-hour window (give a few seconds for the test's own run time).
        assert 21 * 3600 - 30 <= item["expires_in"] <= 21 * 3600
        assert item["human_agent_expires_in"] > 6 * 86400
        assert float(item["negotiation"]["best_offer"]) == 9000
        assert item["negotiation"]["offers"] == 1
        assert item["last_message"]["author"] == "bot"
        assert len(item["last_message"]["text"]) <= 120
        assert item["unread_notifications"] == 0

        h.sim.state.advance(22 * 3600)
        (item,) = (await h.client.get("/api/conversations", headers=headers)).json()
        assert item["expires_in"] == 0

        detail = (await h.client.get(f"/api/conversations/{item['id']}", headers=headers)).json()
        assert [(m["author"], m["status"]) for m in detail["messages"]][0] == ("buyer", "received")
        assert detail["messages"][1]["author"] == "bot"
        assert detail["messages"][1]["status"] in ("sent", "delivered", "read")
        assert detail["messages"][1]["messaging_type"] == "RESPONSE"


# --- pause and resume ---------------------------------------------------------------------------------


async def test_pause_silences_the_bot_and_passes_the_thread_to_the_inbox(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        headers = await auth_for_tenant(h, h.tenant_id)
        await h.say("3004", "hi is it available?")
        assert len(h.sent_texts("3004")) == 1
        cid = await conversation_id(h, "3004")
        response = await h.client.post(f"/api/conversations/{cid}/pause", headers=headers)
        assert response.status_code == 200
        assert response.json()["mode"] == "paused"
        assert handovers(h, "3004") == ["pass_thread_control"]
        await h.say("3004", "would you take 9k?")
        assert len(h.sent_texts("3004")) == 1  # no bot reply while paused
        assert [m.author for m in await h.messages("3004")] == ["buyer", "bot", "buyer"]
        assert (await h.conversation("3004")).mode == "paused"


async def test_resume_gives_the_buyer_back_to_the_bot_with_the_disclosure(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        headers = await auth_for_tenant(h, h.tenant_id)
        await h.say("3005", "hi is it available?")
        assert DISCLOSURE in h.sent_texts("3005")[0]
        cid = await conversation_id(h, "3005")
        await h.client.post(f"/api/conversations/{cid}/pause", headers=headers)
        await h.say("3005", "hello?")
        response = await h.client.post(f"/api/conversations/{cid}/resume", headers=headers)
        assert response.status_code == 200 and response.json()["mode"] == "bot"
        assert handovers(h, "3005") == ["pass_thread_control", "take_thread_control"]
        await h.say("3005", "what's the mileage?")
        texts = h.sent_texts("3005")
        assert len(texts) == 2
        assert DISCLOSURE in texts[1]  # the buyer is told again that this is an assistant


async def test_resume_after_a_handoff_lets_the_bot_answer_again(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        headers = await auth_for_tenant(h, h.tenant_id)
        await h.say("3006", "hi")
        await h.say("3006", None, quick_reply="TALK_TO_SELLER")
        assert (await h.conversation("3006")).mode == "handed_off"
        cid = await conversation_id(h, "3006")
        (item,) = (await h.client.get("/api/conversations", headers=headers)).json()
        assert item["mode"] == "handed_off" and item["unread_notifications"] == 1
        await h.client.post(f"/api/conversations/{cid}/resume", headers=headers)
        await h.say("3006", "is it still available?")
        texts = h.sent_texts("3006")
        assert len(texts) == 3
        assert DISCLOSURE in texts[2]
        assert (await h.conversation("3006")).mode == "bot"  # not handed straight back


# --- the seller writes --------------------------------------------------------------------------------


async def test_a_seller_message_inside_the_window_is_a_plain_response_and_pauses_the_bot(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        headers = await auth_for_tenant(h, h.tenant_id)
        await h.say("3007", "hi is it available?")
        cid = await conversation_id(h, "3007")
        response = await h.client.post(
            f"/api/conversations/{cid}/messages", headers=headers, json={"text": "  Owner here, yes!  "}
        )
        assert response.status_code == 201
        body = response.json()
        assert body["author"] == "seller" and body["text"] == "Owner here, yes!"
        assert body["status"] == "sent" and body["messaging_type"] == "RESPONSE" and body["tag"] is None
        await h.settle()
        (entry,) = [
            e for e in h.sent_entries("3007") if e.message and e.message.get("text") == "Owner here, yes!"
        ]
        assert entry.status == 200 and entry.messaging_type == "RESPONSE" and entry.tag is None
        assert thread_texts(h, "3007")[-1] == "Owner here, yes!"
        # The echo of our own send is reconciled, not stored as a second seller message.
        assert [m.author for m in await h.messages("3007")] == ["buyer", "bot", "seller"]
        assert (await h.conversation("3007")).mode == "paused"
        await h.say("3007", "great, when can I see it?")
        assert len(h.sent_texts("3007")) == 2  # the bot keeps quiet: the seller is talking


async def test_after_30_hours_a_seller_message_is_refused_without_the_tag(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        headers = await auth_for_tenant(h, h.tenant_id)
        await h.say("3008", "hi is it available?")
        cid = await conversation_id(h, "3008")
        h.sim.state.advance(30 * 3600)
        sent_before = len(h.sim.state.sent)
        response = await h.client.post(
            f"/api/conversations/{cid}/messages", headers=headers, json={"text": "Still interested?"}
        )
        assert response.status_code == 201
        body = response.json()
        assert body["status"] == "refused"
        assert "HUMAN_AGENT" in body["status_reason"]
        assert body["messaging_type"] is None and body["tag"] is None
        assert len(h.sim.state.sent) == sent_before  # never attempted
        detail = (await h.client.get(f"/api/conversations/{cid}", headers=headers)).json()
        refused = detail["messages"][-1]
        assert (refused["author"], refused["status"]) == ("seller", "refused")
        assert refused["status_reason"] == body["status_reason"]
        assert [n["kind"] for n in detail["notifications"]] == ["send_refused"]


async def test_after_30_hours_a_seller_message_goes_out_with_the_human_agent_tag_when_enabled(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        headers = await auth_for_tenant(h, h.tenant_id)
        await h.say("3009", "hi is it available?")
        cid = await conversation_id(h, "3009")
        patched = await h.client.patch(
            f"/api/settings/{h.tenant_id}", headers=headers, json={"human_agent_tag_enabled": True}
        )
        assert patched.status_code == 200 and patched.json()["human_agent_tag_enabled"] is True
        h.sim.state.advance(30 * 3600)
        response = await h.client.post(
            f"/api/conversations/{cid}/messages", headers=headers, json={"text": "Sorry for the delay!"}
        )
        body = response.json()
        assert response.status_code == 201
        assert body["status"] == "sent"
        assert (body["messaging_type"], body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")
        (entry,) = [
            e for e in h.sent_entries("3009") if e.message and e.message.get("text") == "Sorry for the delay!"
        ]
        assert (entry.status, entry.messaging_type, entry.tag) == (200, "MESSAGE_TAG", "HUMAN_AGENT")
        assert thread_texts(h, "3009")[-1] == "Sorry for the delay!"


async def test_after_8_days_a_seller_message_is_refused_even_with_the_tag(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        headers = await auth_for_tenant(h, h.tenant_id)
        await h.say("3010", "hi is it available?")
        cid = await conversation_id(h, "3010")
        await h.client.patch(
            f"/api/settings/{h.tenant_id}", headers=headers, json={"human_agent_tag_enabled": True}
        )
        h.sim.state.advance(8 * 86400)
        sent_before = len(h.sim.state.sent)
        response = await h.client.post(
            f"/api/conversations/{cid}/messages", headers=headers, json={"text": "Are you still there?"}
        )
        body = response.json()
        assert response.status_code == 201 and body["status"] == "refused"
        assert "24 hours" in body["status_reason"]
        assert len(h.sim.state.sent) == sent_before


async def test_the_bot_never_tags_even_when_the_page_allows_human_agent(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        headers = await auth_for_tenant(h, h.tenant_id)
        await h.client.patch(
            f"/api/settings/{h.tenant_id}", headers=headers, json={"human_agent_tag_enabled": True}
        )
        await h.say("3011", "hi is it available?")
        h.sim.state.advance(30 * 3600)
        async with transaction(h.runtime.session_factory) as session:
            conversation = await repo.conversation_for(session, h.tenant_id, "3011")
            assert conversation is not None
            late = repo.new_outbound(
                conversation, author="bot", text="Still keen?", payload={}, now=h.runtime.clock()
            )
            session.add(late)
            await session.flush()
            late_id = late.id
        await h.runtime.delivery.deliver(h.tenant_id, [late_id])
        async with h.runtime.session_factory() as session:
            stored = await session.get(Message, late_id)
        assert stored is not None and stored.status == "refused" and stored.tag is None
        bot_sends = [e for e in h.sim.state.sent if e.message is not None]
        assert bot_sends and all(e.tag is None and e.messaging_type == "RESPONSE" for e in bot_sends)


@pytest.mark.parametrize(
    "body",
    [
        {"text": ""},
        {"text": "   \n "},
        {"text": "x" * 2001},
        {},
        {"text": None},
        {"text": "hi", "tag": "HUMAN_AGENT"},
    ],
)
async def test_a_seller_message_must_be_1_to_2000_characters(
    database_url: str, make_settings: Make, body: dict[str, object]
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        headers = await auth_for_tenant(h, h.tenant_id)
        await h.say("3012", "hi")
        cid = await conversation_id(h, "3012")
        response = await h.client.post(f"/api/conversations/{cid}/messages", headers=headers, json=body)
        assert response.status_code == 422
        assert [m.author for m in await h.messages("3012")] == ["buyer", "bot"]
        assert (await h.conversation("3012")).mode == "bot"


async def test_a_2000_character_seller_message_is_sent_whole(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url) as h:
        headers = await auth_for_tenant(h, h.tenant_id)
        await h.say("3013", "hi")
        cid = await conversation_id(h, "3013")
        text = ("word " * 400).strip() + "!"  # 2,000 characters
        assert len(text) == 2000
        response = await h.client.post(
            f"/api/conversations/{cid}/messages", headers=headers, json={"text": text}
        )
        assert response.status_code == 201 and response.json()["status"] == "sent"
        assert thread_texts(h, "3013")[-1] == text


# --- notifications and settings -----------------------------------------------------------------------


async def test_notifications_can_be_listed_and_marked_read(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url) as h:
        headers = await auth_for_tenant(h, h.tenant_id)
        await h.say("3014", "hi")
        await h.say("3014", None, quick_reply="TALK_TO_SELLER")
        (note,) = (await h.client.get("/api/notifications", headers=headers)).json()
        assert note["kind"] == "handoff" and note["read_at"] is None
        cid = note["conversation_id"]
        detail = (await h.client.get(f"/api/conversations/{cid}", headers=headers)).json()
        assert detail["unread_notifications"] == 1 and detail["notifications"][0]["id"] == note["id"]
        read = await h.client.post(f"/api/notifications/{note['id']}/read", headers=headers)
        assert read.status_code == 200 and read.json()["read_at"] is not None
        again = await h.client.post(f"/api/notifications/{note['id']}/read", headers=headers)
        assert again.json()["read_at"] == read.json()["read_at"]  # idempotent
        unread = await h.client.get("/api/notifications", headers=headers, params={"unread": "true"})
        assert unread.json() == []
        (item,) = (await h.client.get("/api/conversations", headers=headers)).json()
        assert item["unread_notifications"] == 0
        assert (await h.client.post("/api/notifications/424242/read", headers=headers)).status_code == 404


async def test_settings_are_validated_and_applied(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url) as h:
        headers = await auth_for_tenant(h, h.tenant_id)
        url = f"/api/settings/{h.tenant_id}"
        for bad in [
            {"disclosure_text": "x" * 501},
            {"disclosure_text": "   "},
            {"disclosure_text": None},
            {"auto_resume_minutes": 0},
            {"auto_resume_minutes": 7 * 24 * 60 + 1},
            {"auto_resume_minutes": "30"},
            {"bot_enabled": "yes"},
            {"bot_enabled": None},
            {"rate_limit_per_minute": 10_000},
        ]:
            response = await h.client.patch(url, headers=headers, json=bad)
            assert response.status_code == 422, bad
        response = await h.client.patch(
            url,
            headers=headers,
            json={
                "disclosure_text": " I'm an assistant bot. ",
                "auto_resume_minutes": 30,
                "bot_enabled": False,
            },
        )
        assert response.status_code == 200
        body = response.json()
        assert body["disclosure_text"] == "I'm an assistant bot."
        assert (body["auto_resume_minutes"], body["bot_enabled"], body["human_agent_tag_enabled"]) == (
            30,
            False,
            False,
        )
        cleared = await h.client.patch(url, headers=headers, json={"auto_resume_minutes": None})
        assert cleared.json()["auto_resume_minutes"] is None and cleared.json()["bot_enabled"] is False
        (page,) = (await h.client.get("/api/settings", headers=headers)).json()
        assert page["disclosure_text"] == "I'm an assistant bot."
        # The Page's send limits are shown, read-only: the PATCH refuses them.
        limits = [page[f"rate_limit_per_{unit}"] for unit in ("minute", "hour", "day")]
        assert all(isinstance(n, int) and n > 0 for n in limits) and limits == sorted(limits)
        refused = await h.client.patch(url, headers=headers, json={"rate_limit_per_minute": 5})
        assert refused.status_code == 422
        # The bot obeys: disabled, it does not answer.
        await h.say("3015", "hi")
        assert h.sent_texts("3015") == []
        assert (await h.client.patch("/api/settings/2147483648", headers=headers, json={})).status_code == 422


async def test_huge_ids_are_422_not_500(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url) as h:
        headers = await auth_for_tenant(h, h.tenant_id)
        for path in [
            "/api/conversations/99999999999999999999",
            "/api/conversations/0",
            "/api/conversations/x",
        ]:
            assert (await h.client.get(path, headers=headers)).status_code == 422


# --- the page -----------------------------------------------------------------------------------------


async def test_the_page_and_its_assets_are_served_with_a_strict_policy(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        page = await h.client.get("/dashboard/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert 'type="module" src="static/app.js"' in page.text and 'id="view"' in page.text
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        modules = ["app", "api", "dom", "live", "inbox", "listings", "settings", "analytics", "start"]
        for name in modules:
            script = await h.client.get(f"/dashboard/static/{name}.js")
            assert script.status_code == 200, name
            assert script.headers["content-type"].startswith("text/javascript")
            # Buyer text is data, never markup.
            assert "innerHTML" not in script.text and "insertAdjacentHTML" not in script.text, name
            assert "eval(" not in script.text and "document.write" not in script.text, name
        chart = await h.client.get("/dashboard/static/vendor/chart.umd.min.js")
        assert chart.status_code == 200 and "Chart.js v4" in chart.text[:200]
        assert (await h.client.get("/dashboard/static/dashboard.css")).status_code == 200
        for sneaky in ["..%2Fservice.py", "../routes.py", "vendor/../../service.py", "%2e%2e/auth.py"]:
            assert (await h.client.get(f"/dashboard/static/{sneaky}")).status_code == 404, sneaky
        assert (await h.client.get("/dashboard/static/index.html")).status_code == 404
        redirect = await h.client.get("/dashboard")
        assert redirect.status_code == 308 and redirect.headers["location"] == "/dashboard/"
