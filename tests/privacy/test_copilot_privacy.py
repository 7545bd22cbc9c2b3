"""Co-pilot drafts copy the buyer's words: erased with the buyer, purged with old text, exported."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select

from accorria_agent.conversations.models import ConversationDraft
from accorria_agent.db.engine import transaction
from accorria_agent.privacy import service
from accorria_agent.settings import Settings
from tests.dashboard.conftest import auth_for_tenant
from tests.sim_harness import SimHarness, sim_harness

Make = Callable[..., Settings]


async def _drafts(h: SimHarness) -> int:
    async with h.runtime.session_factory() as session:
        return int((await session.execute(select(func.count()).select_from(ConversationDraft))).scalar_one())


async def test_drafts_are_exported_erased_with_the_buyer_and_purged(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        headers = await auth_for_tenant(h, h.tenant_id)
        patched = await h.client.patch(
            f"/api/settings/{h.tenant_id}", headers=headers, json={"reply_mode": "copilot"}
        )
        assert patched.status_code == 200
        await h.say("6001", "Hi, I'm Jane Roe, would you take 9000?")
        await h.say("6002", "would you take 9500?")
        assert await _drafts(h) == 2
        exported = await h.client.get("/api/export", headers=headers)
        assert exported.status_code == 200
        assert [len(d["inputs"]) for d in exported.json()["drafts"]] == [1, 1]

        erased = await h.client.post(
            "/api/privacy/buyers/delete",
            json={"page_id": h.sim.config.page_id, "psid": "6001"},
            headers=headers,
        )
        assert erased.status_code == 200 and erased.json()["counts"]["drafts"] == 1
        assert await _drafts(h) == 1
        again = await h.client.get("/api/export", headers=headers)
        assert "Jane Roe" not in again.text

        async with transaction(h.runtime.session_factory) as session:
            await service.purge_expired(session, h.runtime.clock() + timedelta(days=31), 30)
        assert await _drafts(h) == 0
