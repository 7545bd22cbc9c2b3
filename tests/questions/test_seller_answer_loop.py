"""The seller-answer loop end to end, through the simulator and the questions API.

Buyer asks what the listing does not say → the bot says it is asking, the seller is notified and sees
the question → the seller answers via the API → the buyer receives the answer → a second buyer asking
the same is answered at once, with no new question. Plus scoping, fact editing and refusals.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from accorria_agent.dashboard.auth import issue_seller_token
from accorria_agent.db.engine import transaction
from accorria_agent.sellers.notifications import SellerNotification
from accorria_agent.sellers.service import create_seller
from accorria_agent.settings import Settings
from tests.sim_harness import SimHarness, sim_harness

Make = Callable[..., Settings]
LISTING: dict[str, Any] = {
    "year": 2018,
    "make": "Honda",
    "model": "Civic",
    "trim": "EX",
    "mileage": 64000,
    "location": "Dearborn, MI",
    "asking_price": 12500,
    "price_floor": 11000,
}


async def _auth(h: SimHarness) -> dict[str, str]:
    from accorria_agent.sellers.models import MessengerTenant

    async with transaction(h.runtime.session_factory) as session:
        tenant = (await session.execute(select(MessengerTenant))).scalar_one()
        seller_id = tenant.seller_id
    token = issue_seller_token(h.runtime.settings, seller_id, timedelta(minutes=10))
    return {"Authorization": f"Bearer {token}"}


async def test_buyer_question_goes_to_the_seller_and_the_answer_comes_back(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url, listing=LISTING) as h:
        auth = await _auth(h)
        await h.say("7001", "any rust on it?")
        (first,) = h.sent_texts("7001")
        assert "ask the seller" in first and "rust" in first, first
        # Asking again before the seller answered does not open a second question.
        await h.say("7001", "is there rust?")

        response = await h.client.get("/api/questions", headers=auth)
        assert response.status_code == 200, response.text
        (question,) = response.json()
        assert question["topic"] == "rust" and question["status"] == "open"
        assert "rust" in question["question"] and question["listing_id"] == h.listing_id
        async with transaction(h.runtime.session_factory) as session:
            kinds = [n.kind for n in (await session.execute(select(SellerNotification))).scalars()]
        assert kinds.count("question") == 1

        answered = await h.client.post(
            f"/api/questions/{question['id']}/answer",
            json={"answer": "No rust at all, garage kept."},
            headers=auth,
        )
        assert answered.status_code == 200, answered.text
        body = answered.json()
        assert body["question"]["status"] == "answered"
        assert body["fact"]["topic"] == "rust" and body["fact"]["answer"] == "No rust at all, garage kept."
        assert [d["status"] for d in body["deliveries"]] == ["sent"]
        await h.settle()
        relayed = h.sent_texts("7001")[-1]
        assert "No rust at all, garage kept." in relayed and "seller" in relayed, relayed

        # The next buyer is answered at once, without the seller.
        await h.say("7002", "does it have any rust?")
        (reply,) = h.sent_texts("7002")
        assert "No rust at all, garage kept." in reply and "ask the seller" not in reply, reply
        assert (await h.client.get("/api/questions", headers=auth)).json() == []

        # The seller rewords the fact, then removes it: the next buyer is referred to the seller again.
        facts = (await h.client.get(f"/api/listings/{h.listing_id}/facts", headers=auth)).json()
        (fact,) = facts
        put = await h.client.put(
            f"/api/listings/{h.listing_id}/facts/{fact['id']}",
            json={"answer": "None, always garaged."},
            headers=auth,
        )
        assert put.status_code == 200 and put.json()["answer"] == "None, always garaged."
        await h.say("7003", "any rust?")
        assert "None, always garaged." in h.sent_texts("7003")[0]
        gone = await h.client.delete(f"/api/listings/{h.listing_id}/facts/{fact['id']}", headers=auth)
        assert gone.status_code == 204
        await h.say("7004", "any rust?")
        assert "ask the seller" in h.sent_texts("7004")[0]


async def test_spanish_buyer_gets_the_answer_in_spanish(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url, listing=LISTING) as h:
        auth = await _auth(h)
        await h.say("7101", "hola, tiene óxido?")
        assert "vendedor" in h.sent_texts("7101")[0], h.sent_texts("7101")
        (question,) = (await h.client.get("/api/questions", headers=auth)).json()
        assert question["language"] == "es"
        await h.client.post(
            f"/api/questions/{question['id']}/answer", json={"answer": "No, ninguno."}, headers=auth
        )
        await h.settle()
        relayed = h.sent_texts("7101")[-1]
        assert relayed.startswith("El vendedor respondió") and "No, ninguno." in relayed, relayed


async def test_answers_are_refused_when_unusable_and_scoped_to_the_seller(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url, listing=LISTING) as h:
        auth = await _auth(h)
        await h.say("7201", "has the timing belt been replaced?")
        (question,) = (await h.client.get("/api/questions", headers=auth)).json()
        url = f"/api/questions/{question['id']}/answer"
        # A price at or below the floor must never reach a buyer, even in the seller's own answer.
        low = await h.client.post(url, json={"answer": "yes, and I'd take 10,500 for it"}, headers=auth)
        assert low.status_code == 400 and low.json()["code"] == "bad_request", low.text
        assert (await h.client.post(url, json={"answer": "   "}, headers=auth)).status_code == 422
        assert (await h.client.post(url, json={"answer": "ok", "x": 1}, headers=auth)).status_code == 422
        assert (await h.client.post(url, json={"answer": "ok"})).status_code == 401
        # Another seller sees nothing and cannot answer.
        async with transaction(h.runtime.session_factory) as session:
            stranger = (await create_seller(session, "Another Seller", "another@example.com")).id
        token = issue_seller_token(h.runtime.settings, stranger, timedelta(minutes=5))
        other = {"Authorization": f"Bearer {token}"}
        assert (await h.client.get("/api/questions", headers=other)).json() == []
        assert (await h.client.post(url, json={"answer": "yes"}, headers=other)).status_code == 404
        assert (await h.client.get(f"/api/listings/{h.listing_id}/facts", headers=other)).status_code == 404
        assert (
            await h.client.post("/api/questions/99999999999/answer", json={"answer": "x"}, headers=auth)
        ).status_code == 422
        # Nothing was sent to the buyer by the refused attempts.
        assert len(h.sent_texts("7201")) == 1
