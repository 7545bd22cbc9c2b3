"""The simulator's escrow stand-in on its own: idempotent creation, its refusals, an escaped checkout page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from accorria_agent.escrow.signature import SIGNATURE_HEADER, verify
from accorria_agent.simulator.escrow import EscrowStandIn

BASE = "http://escrow.test"
SECRET = "stand-in-secret"
BODY = {
    "reference": "deal-1",
    "amount": "12500.00",
    "fee": "112.50",
    "currency": "USD",
    "item": {"type": "vehicle", "listing_id": 1, "title": "<script>alert(1)</script> Civic"},
    "seller": {"id": 1, "name": "Bob & <b>Sons</b>"},
    "buyer": {"reference": "conversation-1"},
}


@pytest.fixture
async def stand_in() -> AsyncIterator[tuple[EscrowStandIn, httpx.AsyncClient, list[dict[str, Any]]]]:
    app = FastAPI()
    received: list[dict[str, Any]] = []

    @app.post("/escrow/webhook")
    async def agent_webhook(request: Request) -> dict[str, str]:
        raw = await request.body()
        verify(raw, request.headers.get(SIGNATURE_HEADER), SECRET, now=datetime.now(UTC).timestamp())
        received.append({"raw": raw})
        return {"status": "ok"}

    transport = httpx.ASGITransport(app=app)
    escrow = EscrowStandIn(
        public_base=BASE,
        webhook_url=f"{BASE}/escrow/webhook",
        webhook_secret=SECRET,
        deliver_client=httpx.AsyncClient(transport=transport),
        clock=lambda: datetime.now(UTC),
        api_key="k",
    )
    app.include_router(escrow.router, prefix="/simulator")
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield escrow, client, received
    await escrow.aclose()


API = "/simulator/escrow/v1/transactions"
AUTH = {"Authorization": "Bearer k"}


async def test_the_same_key_returns_the_same_transaction(stand_in: Any) -> None:
    escrow, client, _ = stand_in
    first = await client.post(API, json=BODY, headers={**AUTH, "Idempotency-Key": "a"})
    again = await client.post(API, json=BODY, headers={**AUTH, "Idempotency-Key": "a"})
    other = await client.post(API, json=BODY, headers={**AUTH, "Idempotency-Key": "b"})
    assert first.status_code == 201 and first.json() == again.json()
    assert other.json()["id"] != first.json()["id"]
    assert len((await client.get("/simulator/api/escrow")).json()) == 2


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (BODY, AUTH, 400),  # no Idempotency-Key
        (BODY, {"Idempotency-Key": "x"}, 401),  # no API key
        ({**BODY, "fee": "112.49"}, {**AUTH, "Idempotency-Key": "x"}, 422),
        ({**BODY, "amount": "-5", "fee": "0"}, {**AUTH, "Idempotency-Key": "x"}, 422),
        ({**BODY, "amount": "lots"}, {**AUTH, "Idempotency-Key": "x"}, 400),
    ],
)
async def test_bad_creates_are_refused(
    stand_in: Any, body: Any, headers: dict[str, str], status: int
) -> None:
    _, client, _ = stand_in
    response = await client.post(API, json=body, headers=headers)
    assert response.status_code == status and "message" in response.json()["error"]


async def test_the_checkout_page_escapes_and_paying_sends_a_signed_webhook(stand_in: Any) -> None:
    escrow, client, received = stand_in
    created = (await client.post(API, json=BODY, headers={**AUTH, "Idempotency-Key": "c"})).json()
    page = await client.get(created["checkout_url"].removeprefix(BASE))
    assert (
        "<script>" not in page.text and "&lt;script&gt;" in page.text and "Bob &amp; &lt;b&gt;" in page.text
    )
    assert (await client.post(created["checkout_url"].removeprefix(BASE) + "/pay")).status_code == 303
    assert len(received) == 1 and b'"status": "funded"' in received[0]["raw"]
    assert escrow.transactions[created["id"]].status == "funded"
    missing = await client.get("/simulator/escrow/checkout/nope")
    assert missing.status_code == 404


async def test_the_json_api_refuses_bad_input(stand_in: Any) -> None:
    _, client, _ = stand_in
    assert (
        await client.post("/simulator/api/escrow/esc_9/status", json={"status": "funded"})
    ).status_code == 404
    assert (
        await client.post("/simulator/api/escrow/esc_9/status", json={"status": "sold"})
    ).status_code == 400
    assert (await client.post("/simulator/api/escrow/faults", json={"error_rate": 2})).status_code == 400
    faults = await client.post("/simulator/api/escrow/faults", json={"error_rate": 1, "kinds": ["5xx"]})
    assert faults.json()["error_rate"] == 1
    refused = await client.post(API, json=BODY, headers={**AUTH, "Idempotency-Key": "d"})
    assert refused.status_code == 503
    assert (await client.delete("/simulator/api/escrow/faults")).json()["error_rate"] == 0
