"""The dashboard with a cookie session: the demo-style sign-in link, CSRF, and the audit trail of
mode changes and outbound messages (member for the seller's reply, bot for the bot's)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from accorria_agent.dashboard.auth import dashboard_link
from accorria_agent.settings import Settings
from tests.accounts.conftest import csrf
from tests.helpers import PAGE_ID
from tests.sim_harness import sim_harness

Make = Callable[..., Settings]


async def test_sign_in_link_then_pause_reply_and_audit(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await h.say("4001", "hi, is it available?")
        link = await dashboard_link(h.runtime.settings, "http://agent.test", PAGE_ID, timedelta(minutes=5))
        assert link is not None and "/auth/link?token=" in link
        client = h.client
        opened = await client.get(link.removeprefix("http://agent.test"))
        assert opened.status_code == 303 and opened.headers["location"] == "/dashboard/"
        assert (await client.get(link.removeprefix("http://agent.test"))).status_code == 303  # spent
        conversations = (await client.get("/api/conversations")).json()
        (conversation,) = conversations
        cid = conversation["id"]

        refused = await client.post(f"/api/conversations/{cid}/pause")
        assert refused.status_code == 403  # no CSRF header
        assert (await client.post(f"/api/conversations/{cid}/pause", headers=csrf(client))).status_code == 200
        reply = await client.post(
            f"/api/conversations/{cid}/messages", json={"text": "Owner here, yes!"}, headers=csrf(client)
        )
        assert reply.status_code == 201

        me = (await client.get("/api/me")).json()
        events = (await client.get("/api/audit", params={"limit": 200})).json()["events"]
        by_action = {(e["action"], e["actor_kind"]): e for e in events}
        assert ("message.outbound", "bot") in by_action  # the bot's answer to "hi"
        assert by_action[("message.outbound", "bot")]["actor_id"] is None
        for action in ("conversation.pause", "message.outbound", "auth.sign_in"):
            event = by_action[(action, "member")]
            assert event["actor_id"] == me["member"]["id"]
        assert by_action[("conversation.pause", "member")]["subject_id"] == str(cid)
        # No buyer or seller message text in the trail.
        assert "Owner here" not in str(events) and "available" not in str(events)
