"""Connecting Pages through the simulator's Login dialog, end to end (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from accorria_agent.conversations.models import Conversation
from accorria_agent.sellers.models import MessengerTenant
from accorria_agent.settings import Settings
from tests.helpers import PAGE_ID, PAGE_TOKEN
from tests.pages.helpers import (
    LOGIN_URL,
    LOT_A,
    LOT_B,
    add_lots,
    authorize,
    callback,
    connect,
    new_seller,
    start,
)
from tests.sim_harness import sim_harness

Settings_ = Callable[..., Settings]


async def test_two_pages_one_permission_declined_then_granted(
    make_settings: Settings_, database_url: str
) -> None:
    async with sim_harness(make_settings, database_url, FACEBOOK_LOGIN_URL=LOGIN_URL) as h:
        add_lots(h)
        seller_id, headers = await new_seller(h, "Dana Dealer")

        dialog = await start(h, headers)
        assert dialog["client_id"] == h.runtime.settings.facebook_app_id
        assert dialog["scope"] == "pages_messaging,pages_manage_metadata,pages_read_engagement"
        assert dialog["response_type"] == "code"
        assert dialog["redirect_uri"].endswith("/connect/facebook/callback")

        # First trip: pages_read_engagement declined → a clear message and a re-ask link.
        declined = await authorize(h, dialog, [LOT_A, LOT_B], ["pages_messaging", "pages_manage_metadata"])
        response = await callback(h, declined, headers)
        assert response.status_code == 400
        assert "pages_read_engagement" in response.text
        assert "/connect/facebook?rerequest=1" in response.text
        again = await start(h, headers, rerequest="1")
        assert again["auth_type"] == "rerequest"

        # Second trip: everything granted → the choice page lists both Pages, escaped, no token.
        response = await callback(h, await authorize(h, again, [LOT_A, LOT_B]), headers)
        assert response.status_code == 200
        assert "Lot A Cars" in response.text and "Lot B Motors" in response.text
        assert "EAA" not in response.text
        available = (await h.client.get("/api/pages/available", headers=headers)).json()
        assert {p["page_id"] for p in available["pages"]} == {LOT_A, LOT_B}
        assert "EAA" not in str(available)

        chosen = await h.client.post("/api/pages", json={"page_ids": [LOT_A, LOT_B]}, headers=headers)
        assert chosen.status_code == 200, chosen.text
        assert [p["result"] for p in chosen.json()["pages"]] == ["connected", "connected"]

        listed = await h.client.get("/api/pages", headers=headers)
        assert listed.status_code == 200
        pages = {p["page_id"]: p for p in listed.json()}
        assert set(pages) == {LOT_A, LOT_B}
        assert all(p["status"] == "active" for p in pages.values())
        assert set(pages[LOT_A]["granted_scopes"]) >= {"pages_messaging", "pages_read_engagement"}
        assert "EAA" not in listed.text and 'token"' not in listed.text.replace("token_", "")

        # Each Page is subscribed to the agent's webhook fields and set up (Get Started, menu, greeting).
        app_id = h.runtime.settings.facebook_app_id
        for page_id in (LOT_A, LOT_B):
            sim_page = h.sim.state.pages[page_id]
            assert "messages" in sim_page.subscriptions[app_id]
            assert "messaging_postbacks" in sim_page.subscriptions[app_id]
            assert sim_page.messenger_profile["get_started"] == {"payload": "GET_STARTED"}
            assert "greeting" in sim_page.messenger_profile

        # A buyer writes to each Page: both conversations are this seller's, none the other seller's.
        await h.sim.send_buyer_message("7001", "Hi, is the car still available?", page_id=LOT_A)
        await h.sim.send_buyer_message("7002", "Hello! Still for sale?", page_id=LOT_B)
        await h.settle()
        async with h.runtime.session_factory() as session:
            rows = await session.execute(
                select(Conversation.buyer_psid, MessengerTenant.seller_id, MessengerTenant.page_id).join(
                    MessengerTenant, MessengerTenant.id == Conversation.tenant_id
                )
            )
            owners = {psid: (seller, page) for psid, seller, page in rows.all()}
        assert owners["7001"] == (seller_id, LOT_A)
        assert owners["7002"] == (seller_id, LOT_B)
        mine = (await h.client.get("/api/conversations", headers=headers)).json()
        assert sorted((c["buyer_psid"], c["page_id"]) for c in mine) == [("7001", LOT_A), ("7002", LOT_B)]
        # The harness's seeded seller (who owns the configured Page) sees neither conversation.
        from tests.dashboard.conftest import auth_for_tenant

        theirs = (
            await h.client.get("/api/conversations", headers=await auth_for_tenant(h, h.tenant_id))
        ).json()
        assert theirs == []


async def test_choice_form_connects_checked_pages(make_settings: Settings_, database_url: str) -> None:
    async with sim_harness(make_settings, database_url, FACEBOOK_LOGIN_URL=LOGIN_URL) as h:
        add_lots(h)
        _, headers = await new_seller(h, "Form User")
        page = await callback(h, await authorize(h, await start(h, headers), [LOT_A, LOT_B]), headers)
        assert page.headers["content-security-policy"].startswith("default-src 'none'")
        token = page.text.split("name=form_token value='")[1].split("'")[0]
        grant = page.text.split("name=grant_id value='")[1].split("'")[0]
        form = {"grant_id": grant, "form_token": "forged", "page_id": LOT_A}
        ct = {"Content-Type": "application/x-www-form-urlencoded", **headers}
        forged = await h.client.post("/connect/facebook/pages", data=form, headers=ct)
        assert forged.status_code == 400 and "not valid" in forged.text
        done = await h.client.post("/connect/facebook/pages", data={**form, "form_token": token}, headers=ct)
        assert done.status_code == 200
        assert f"data-page='{LOT_A}' data-result='connected'" in done.text
        replay = await h.client.post(
            "/connect/facebook/pages", data={**form, "form_token": token}, headers=ct
        )
        assert replay.status_code == 404


async def test_cancelled_dialog_is_a_clear_message(make_settings: Settings_, database_url: str) -> None:
    async with sim_harness(make_settings, database_url, FACEBOOK_LOGIN_URL=LOGIN_URL) as h:
        _, headers = await new_seller(h, "Canceller")
        redirect = await authorize(h, await start(h, headers), [], cancel=True)
        assert parse_qs(urlsplit(redirect).query)["error"] == ["access_denied"]
        response = await callback(h, redirect, headers)
        assert response.status_code == 400
        assert "cancelled" in response.text
        assert (await h.client.get("/api/pages", headers=headers)).json() == []


async def test_state_forged_replayed_expired_or_of_another_member_is_refused(
    make_settings: Settings_, database_url: str
) -> None:
    async with sim_harness(make_settings, database_url, FACEBOOK_LOGIN_URL=LOGIN_URL) as h:
        add_lots(h)
        _, headers = await new_seller(h, "Victim")
        _, attacker = await new_seller(h, "Attacker")

        # Forged: the seed's pattern (raw seller id as state), and a tampered signature.
        dialog = await start(h, headers)
        for forged_state in ("1", dialog["state"][:-3] + "abc"):
            redirect = await authorize(h, {**dialog, "state": forged_state}, [LOT_A])
            response = await callback(h, redirect, headers)
            assert response.status_code == 400 and "not issued by us" in response.text

        # Another member's session cannot finish this member's flow (login CSRF) — and does not burn it.
        redirect = await authorize(h, dialog, [LOT_A])
        stolen = await callback(h, redirect, attacker)
        assert stolen.status_code == 400 and "someone else" in stolen.text
        assert (await h.client.get("/api/pages/available", headers=attacker)).status_code == 404
        ok = await callback(h, redirect, headers)
        assert ok.status_code == 200

        # Replayed: the same callback a second time.
        replayed = await callback(h, redirect, headers)
        assert replayed.status_code == 400 and "already used" in replayed.text

        # Expired: the state outlives its ten minutes.
        late = await start(h, headers)
        redirect = await authorize(h, late, [LOT_A])
        h.sim.state.advance(11 * 60)
        expired = await callback(h, redirect, headers)
        assert expired.status_code == 400 and "expired" in expired.text

        # Not signed in at all.
        assert (await h.client.get("/connect/facebook")).status_code == 401


async def test_page_of_another_account_cannot_be_taken_over(
    make_settings: Settings_, database_url: str
) -> None:
    async with sim_harness(make_settings, database_url, FACEBOOK_LOGIN_URL=LOGIN_URL) as h:
        add_lots(h)
        _, headers = await new_seller(h, "Newcomer")
        result = await connect(h, headers, [PAGE_ID, LOT_A])
        outcomes = {p["page_id"]: p for p in result["pages"]}
        assert outcomes[PAGE_ID]["result"] == "refused"
        assert "another Accorria account" in outcomes[PAGE_ID]["detail"]
        assert outcomes[LOT_A]["result"] == "connected"
        async with h.runtime.session_factory() as session:
            tenant = (
                await session.execute(select(MessengerTenant).where(MessengerTenant.page_id == PAGE_ID))
            ).scalar_one()
        assert tenant.id == h.tenant_id
        assert h.runtime.cipher.decrypt(tenant.page_access_token_encrypted) == PAGE_TOKEN
        assert {p["page_id"] for p in (await h.client.get("/api/pages", headers=headers)).json()} == {LOT_A}


async def test_disconnect_unsubscribes_and_deletes_the_token(
    make_settings: Settings_, database_url: str
) -> None:
    async with sim_harness(make_settings, database_url, FACEBOOK_LOGIN_URL=LOGIN_URL) as h:
        add_lots(h)
        _, headers = await new_seller(h, "Leaver")
        _, other = await new_seller(h, "Bystander")
        await connect(h, headers, [LOT_A])
        app_id = h.runtime.settings.facebook_app_id
        assert app_id in h.sim.state.pages[LOT_A].subscriptions

        assert (await h.client.delete(f"/api/pages/{LOT_A}", headers=other)).status_code == 404
        assert app_id in h.sim.state.pages[LOT_A].subscriptions
        response = await h.client.delete(f"/api/pages/{LOT_A}", headers=headers)
        assert response.status_code == 204
        assert app_id not in h.sim.state.pages[LOT_A].subscriptions
        async with h.runtime.session_factory() as session:
            tenant = (
                await session.execute(select(MessengerTenant).where(MessengerTenant.page_id == LOT_A))
            ).scalar_one()
        assert tenant.page_access_token_encrypted == ""
        assert tenant.status == "disconnected"
        listed: list[dict[str, Any]] = (await h.client.get("/api/pages", headers=headers)).json()
        assert [(p["page_id"], p["status"]) for p in listed] == [(LOT_A, "disconnected")]
        # Connecting it again (same account) brings it back.
        again = await connect(h, headers, [LOT_A])
        assert again["pages"][0]["result"] == "reconnected"
        assert app_id in h.sim.state.pages[LOT_A].subscriptions
