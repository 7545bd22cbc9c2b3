"""``/api/deals`` and ``/api/listings/{id}/sold``: scoped to the signed-in seller, outcomes recorded once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from accorria_agent.dashboard.auth import issue_seller_token
from accorria_agent.db.engine import transaction
from accorria_agent.deals.models import Deal, DealEvent
from accorria_agent.sellers import service as sellers
from accorria_agent.sellers.models import MessengerTenant, Seller
from accorria_agent.sellers.schemas import ListingSpec
from accorria_agent.settings import Settings
from tests.deals.test_escrow_e2e import LISTING, SOLD, auth_headers
from tests.sim_harness import SimHarness, sim_harness

Make = Callable[..., Settings]
OTHER_CAR = {**LISTING, "make": "Honda", "model": "Accord", "trim": "LX", "asking_price": 15900}


async def add_listing(h: SimHarness, spec: dict[str, object]) -> int:
    async with transaction(h.runtime.session_factory) as session:
        tenant = await session.get(MessengerTenant, h.tenant_id)
        assert tenant is not None
        seller = await session.get(Seller, tenant.seller_id)
        assert seller is not None
        row = await sellers.add_listing(session, seller, tenant, ListingSpec.model_validate(spec))
        return row.id


async def other_seller_headers(h: SimHarness) -> dict[str, str]:
    async with transaction(h.runtime.session_factory) as session:
        other = await sellers.create_seller(session, "Someone Else", "else@example.com")
        other_id = other.id
    token = issue_seller_token(h.runtime.settings, other_id, timedelta(minutes=5))
    return {"Authorization": f"Bearer {token}"}


async def test_another_seller_sees_none_of_the_deals(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url, listing=LISTING) as h:
        await h.say("5001", "I'll take it for $12,500, deal")
        mine = (await h.client.get("/api/deals", headers=await auth_headers(h))).json()
        assert len(mine) == 1
        deal_id = mine[0]["id"]
        assert (await h.client.get(f"/api/deals/{deal_id}", headers=await auth_headers(h))).status_code == 200

        theirs = await other_seller_headers(h)
        assert (await h.client.get("/api/deals", headers=theirs)).json() == []
        for method, path in [
            ("GET", f"/api/deals/{deal_id}"),
            ("POST", f"/api/deals/{deal_id}/lost"),
            ("POST", f"/api/listings/{h.listing_id}/sold"),
        ]:
            response = await h.client.request(method, path, headers=theirs)
            assert response.status_code == 404, (path, response.text)
            assert response.json()["code"] == "not_found"
        assert (await h.client.get("/api/deals")).status_code == 401
        assert (await h.client.get("/api/deals/0", headers=theirs)).status_code == 422
        async with h.runtime.session_factory() as session:
            deal = await session.get(Deal, deal_id)
            assert deal is not None and deal.status == "escrow_started"


async def test_the_seller_marks_a_listing_sold_and_a_deal_lost(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url, listing=LISTING) as h:
        headers = await auth_headers(h)
        await h.say("5101", "I'll take it for $12,500, deal")
        await h.say("5102", "is it available?")
        await h.say("5103", "would you take 11.5k?")
        other_listing = await add_listing(h, OTHER_CAR)

        (deal,) = (await h.client.get("/api/deals", headers=headers)).json()
        sold = await h.client.post(
            f"/api/listings/{h.listing_id}/sold", json={"deal_id": deal["id"]}, headers=headers
        )
        assert sold.status_code == 200, sold.text
        assert sold.json() == {
            "listing_id": h.listing_id,
            "status": "sold",
            "buyers_told": 2,
            "deals_lost": 0,
        }
        await h.settle()
        for psid in ("5102", "5103"):
            (notice,) = [t for t in h.sent_texts(psid) if SOLD in t]
            assert "Honda Accord LX ($15,900)" in notice
        assert not [t for t in h.sent_texts("5101") if SOLD in t]
        again = await h.client.post(f"/api/listings/{h.listing_id}/sold", headers=headers)
        assert again.json()["buyers_told"] == 0
        await h.settle()
        assert len([t for t in h.sent_texts("5102") if SOLD in t]) == 1

        (deal,) = (await h.client.get("/api/deals", headers=headers)).json()
        assert deal["status"] == "sold" and deal["events"][-1]["actor_kind"] == "member"
        lost = await h.client.post(f"/api/deals/{deal['id']}/lost", headers=headers)
        assert (lost.status_code, lost.json()["code"]) == (409, "conflict")
        bad = await h.client.post(
            f"/api/listings/{other_listing}/sold", json={"deal_id": deal["id"]}, headers=headers
        )
        assert bad.status_code == 404
        junk = await h.client.post(f"/api/listings/{other_listing}/sold", json={"deal": 1}, headers=headers)
        assert junk.status_code == 422


async def test_a_lost_deal_and_a_listing_without_escrow(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url, listing={**LISTING, "escrow_enabled": False}) as h:
        headers = await auth_headers(h)
        await h.say("5201", "I'll take it for $12,500, deal")
        assert (await h.client.get("/simulator/api/escrow")).json() == []
        (deal,) = (await h.client.get("/api/deals", headers=headers)).json()
        assert deal["status"] == "agreed" and deal["escrow"]["status"] == "none"
        lost = await h.client.post(
            f"/api/deals/{deal['id']}/lost", json={"reason": "buyer walked"}, headers=headers
        )
        assert lost.status_code == 200 and lost.json()["status"] == "lost"
        async with h.runtime.session_factory() as session:
            event = (await session.execute(select(DealEvent).where(DealEvent.kind == "lost"))).scalar_one()
        assert event.actor_kind == "member" and event.details == {"reason": "buyer walked"}
