"""A deal through escrow, end to end in the simulator: agree → button → checkout → funded → released →
listing sold → the listing's other buyers told exactly once, only those inside the 24-hour window."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from accorria_agent.dashboard.auth import issue_seller_token
from accorria_agent.deals.models import Deal
from accorria_agent.sellers.models import Listing, MessengerTenant
from accorria_agent.settings import Settings
from tests.conversations.test_negotiation_e2e import LISTING
from tests.sim_harness import BASE, SimHarness, sim_harness

Make = Callable[..., Settings]
SOLD = "has just been sold"


async def auth_headers(h: SimHarness) -> dict[str, str]:
    async with h.runtime.session_factory() as session:
        seller_id = await session.scalar(
            select(MessengerTenant.seller_id).where(MessengerTenant.id == h.tenant_id)
        )
    assert seller_id is not None
    return {
        "Authorization": f"Bearer {issue_seller_token(h.runtime.settings, seller_id, timedelta(minutes=5))}"
    }


def buttons_sent(h: SimHarness, psid: str) -> list[dict[str, Any]]:
    out = []
    for entry in h.sent_entries(psid):
        attachment = (entry.message or {}).get("attachment") if entry.status == 200 else None
        if attachment and attachment["payload"]["template_type"] == "button":
            out.append(attachment["payload"])
    return out


async def agree(h: SimHarness, psid: str) -> None:
    await h.say(psid, "I'll take it for $12,500, deal")


async def test_a_deal_through_escrow_sells_the_listing_and_tells_the_other_buyers_once(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url, listing=LISTING) as h:
        await h.say("3001", "hi, is the camry available?")  # will be outside the window
        h.sim.state.advance(25 * 3600)
        await h.say("3002", "is it still available?")  # inside the window
        await agree(h, "3003")

        (transaction,) = (await h.client.get("/simulator/api/escrow")).json()
        assert Decimal(transaction["amount"]) == Decimal(12500)
        assert Decimal(transaction["fee"]) == Decimal("112.50")
        (button,) = buttons_sent(h, "3003")
        assert button["buttons"][0]["type"] == "web_url"
        assert button["buttons"][0]["url"] == transaction["checkout_url"]
        assert "$12,500" in button["text"] and "$112.50" in button["text"]

        checkout = transaction["checkout_url"].removeprefix(BASE)
        page = await h.client.get(checkout)
        assert page.status_code == 200 and "Pay $12,612.50" in page.text
        paid = await h.client.post(f"{checkout}/pay")
        assert paid.status_code == 303
        await h.settle()
        deals = (await h.client.get("/api/deals", headers=await auth_headers(h))).json()
        assert [d["status"] for d in deals] == ["escrow_funded"]
        assert deals[0]["escrow"]["status"] == "funded"

        confirmed = await h.client.post(f"{checkout}/confirm")
        assert confirmed.status_code == 303
        await h.settle()

        (deal,) = (await h.client.get("/api/deals", headers=await auth_headers(h))).json()
        assert deal["status"] == "sold"
        assert Decimal(deal["agreed_price"]) == Decimal(12500)
        assert [e["kind"] for e in deal["events"]] == [
            "price_agreed",
            "escrow_started",
            "escrow_funded",
            "escrow_released",
            "sold",
        ]
        async with h.runtime.session_factory() as session:
            listing = await session.get(Listing, h.listing_id)
            assert listing is not None and listing.status == "sold"

        told = [t for t in h.sent_texts("3002") if SOLD in t]
        assert len(told) == 1, h.sent_texts("3002")
        assert not [t for t in h.sent_texts("3001") if SOLD in t]
        assert not [t for t in h.sent_texts("3003") if SOLD in t]

        # A second "released" (the stand-in's JSON API) changes nothing and tells nobody again.
        again = await h.client.post(
            f"/simulator/api/escrow/{transaction['id']}/status", json={"status": "released"}
        )
        assert again.status_code == 200
        await h.settle()
        assert len([t for t in h.sent_texts("3002") if SOLD in t]) == 1

        # The bot no longer negotiates on the sold car.
        await h.say("3002", "would you take 11k?")
        assert SOLD in h.sent_texts("3002")[-1]
        async with h.runtime.session_factory() as session:
            assert await session.scalar(select(func.count()).select_from(Deal)) == 1
