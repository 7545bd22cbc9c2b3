"""The escrow edge without a database: the fee rule, the webhook signature, the HTTP client's contract."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from accorria_agent.escrow.client import AccorriaEscrowClient
from accorria_agent.escrow.fees import transaction_fee
from accorria_agent.escrow.interface import EscrowError, InMemoryEscrowProvider, NewTransaction
from accorria_agent.escrow.signature import SignatureError, sign, verify

SECRET = "whsec-test"


@given(cents=st.integers(min_value=1, max_value=10**10))
def test_the_fee_is_0_9_percent_rounded_half_up_to_the_cent(cents: int) -> None:
    price = Decimal(cents) / 100
    fee = transaction_fee(price)
    # Oracle in integer cents: round_half_up(cents × 9 / 1000).
    assert fee == Decimal((cents * 9 + 500) // 1000) / 100
    assert fee >= 0 and fee <= price
    assert fee == fee.quantize(Decimal("0.01"))


@pytest.mark.parametrize(
    ("price", "fee"),
    [("12500", "112.50"), ("11111.11", "100.00"), ("50", "0.45"), ("5.00", "0.05"), ("0.50", "0.00")],
)
def test_fee_examples(price: str, fee: str) -> None:
    assert transaction_fee(Decimal(price)) == Decimal(fee)


@pytest.mark.parametrize("price", ["0", "-1", "NaN", "Infinity"])
def test_a_price_that_is_not_positive_is_refused(price: str) -> None:
    with pytest.raises(ValueError, match="positive"):
        transaction_fee(Decimal(price))


def test_a_signed_body_verifies_and_any_change_is_refused() -> None:
    body = b'{"id":"evt_1","status":"funded"}'
    header = sign(body, SECRET, 1_000_000)
    assert verify(body, header, SECRET, now=1_000_010) == 1_000_000
    with pytest.raises(SignatureError, match="does not match"):
        verify(body + b" ", header, SECRET, now=1_000_010)
    with pytest.raises(SignatureError, match="does not match"):
        verify(body, header, "other-secret", now=1_000_010)
    forged_time = header.replace("t=1000000", "t=1000005")
    with pytest.raises(SignatureError, match="does not match"):
        verify(body, forged_time, SECRET, now=1_000_010)


def test_an_old_or_future_signature_is_stale() -> None:
    body = b"{}"
    with pytest.raises(SignatureError) as old:
        verify(body, sign(body, SECRET, 1_000_000), SECRET, now=1_000_000 + 301)
    assert old.value.stale
    with pytest.raises(SignatureError) as future:
        verify(body, sign(body, SECRET, 1_000_000), SECRET, now=1_000_000 - 301)
    assert future.value.stale


@pytest.mark.parametrize("header", [None, "", "v1=abc", "t=abc,v1=00", "t=1,t=2,v1=00", "garbage"])
def test_malformed_headers_are_refused(header: str | None) -> None:
    with pytest.raises(SignatureError) as error:
        verify(b"{}", header, SECRET, now=1)
    assert not error.value.stale


def test_no_secret_configured_refuses_everything() -> None:
    with pytest.raises(SignatureError, match="not configured"):
        verify(b"{}", sign(b"{}", "", 1), "", now=1)


REQUEST = NewTransaction(
    reference="deal-7",
    listing_id=3,
    listing_title="2017 Toyota Camry SE",
    amount=Decimal("12500"),
    fee=Decimal("112.50"),
    currency="USD",
    seller_id=1,
    seller_name="Sam",
    seller_email="sam@example.com",
    buyer_reference="conversation-9",
)
ANSWER = {
    "id": "esc_1",
    "status": "pending",
    "checkout_url": "https://escrow.example/c/esc_1",
    "amount": "12500.00",
    "fee": "112.50",
    "currency": "USD",
    "reference": "deal-7",
}


async def test_the_client_sends_the_idempotency_key_the_api_key_and_exact_amounts() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json=ANSWER)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        client = AccorriaEscrowClient("https://api.accorria.test/", "key-1", http)
        created = await client.create_transaction(REQUEST, idempotency_key="deal-7-key")
    (request,) = seen
    assert request.url == "https://api.accorria.test/v1/transactions"
    assert request.headers["Idempotency-Key"] == "deal-7-key"
    assert request.headers["Authorization"] == "Bearer key-1"
    body = json.loads(request.content)
    assert body["amount"] == "12500" and body["fee"] == "112.50"
    assert body["buyer"] == {"reference": "conversation-9"}
    assert created.id == "esc_1" and created.fee == Decimal("112.50")


@pytest.mark.parametrize(
    ("response", "transient"),
    [
        (httpx.Response(503, json={}), True),
        (httpx.Response(429, json={}), True),
        (httpx.Response(422, json={"error": {"message": "bad fee"}}), False),
        (httpx.Response(201, content=b"not json"), False),
        (httpx.Response(201, json={"id": "x"}), False),
        (httpx.Response(201, json={**ANSWER, "status": "weird"}), False),
    ],
)
async def test_client_errors_are_classified(response: httpx.Response, transient: bool) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda _r: response)) as http:
        client = AccorriaEscrowClient("https://api.accorria.test", "k", http)
        with pytest.raises(EscrowError) as error:
            await client.create_transaction(REQUEST, idempotency_key="k1")
    assert error.value.transient is transient


async def test_timeouts_and_connection_errors_are_transient() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    for handler in (timeout, refused):
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            with pytest.raises(EscrowError) as error:
                await AccorriaEscrowClient("https://a.test", "k", http).get_transaction("esc_1")
        assert error.value.transient


async def test_the_in_memory_double_is_idempotent_by_key() -> None:
    provider = InMemoryEscrowProvider(fail_next=[EscrowError("down", transient=True)])
    with pytest.raises(EscrowError):
        await provider.create_transaction(REQUEST, idempotency_key="a")
    first = await provider.create_transaction(REQUEST, idempotency_key="a")
    again = await provider.create_transaction(REQUEST, idempotency_key="a")
    other = await provider.create_transaction(REQUEST, idempotency_key="b")
    assert first == again and first.id != other.id
    assert (await provider.cancel_transaction(first.id)).status == "cancelled"
    with pytest.raises(EscrowError) as missing:
        await provider.get_transaction("nope")
    assert missing.value.status_code == 404 and not missing.value.transient
