"""The "try the bot" preview: the real engine, the listing's real rules, and nothing sent or stored."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from accorria_agent.audit.models import AuditEvent
from accorria_agent.conversations.models import Conversation, Message
from accorria_agent.conversations.negotiation_composer import NegotiationComposer
from accorria_agent.dashboard.preview import preview_chat
from tests.listings.test_listings_api import Make, api

FLOOR = Decimal("11000")  # the seeded demo listing: asking 12,500, floor 11,000


async def _counts(a: object) -> tuple[int, int, int]:
    async with a.runtime.session_factory() as session:  # type: ignore[attr-defined]
        return (
            int((await session.execute(select(func.count()).select_from(Conversation))).scalar_one()),
            int((await session.execute(select(func.count()).select_from(Message))).scalar_one()),
            int((await session.execute(select(func.count()).select_from(AuditEvent))).scalar_one()),
        )


async def test_the_preview_answers_like_the_bot_and_writes_nothing(
    database_url: str, make_settings: Make
) -> None:
    async with api(make_settings, database_url) as a:
        before = await _counts(a)
        answer = await a.client.post(
            f"/api/listings/{a.listing_id}/preview",
            headers=a.owner,
            json={"messages": ["Is it still available?", "Would you take 9000?"]},
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["sent"] is False and len(body["replies"]) == 2
        # The same decisions the live bot makes: an answer, then a counter to a lowball (never an accept).
        assert [t["action"] for t in body["turns"]] == ["answer", "counter"]
        assert "Honda Civic" in body["replies"][0]
        # The floor is never stated, and no price below it is offered.
        for reply in body["replies"]:
            assert "11,000" not in reply and "11000" not in reply
        assert await _counts(a) == before  # no conversation, message or audit row


async def test_the_preview_refuses_bad_input_and_other_accounts(
    database_url: str, make_settings: Make
) -> None:
    async with api(make_settings, database_url) as a:
        url = f"/api/listings/{a.listing_id}/preview"
        assert (await a.client.post(url, json={"messages": ["hi"]})).status_code == 401
        for bad in [
            {},
            {"messages": []},
            {"messages": ["  "]},
            {"messages": ["x" * 2001]},
            {"messages": ["hi"] * 21},
            {"messages": "hi"},
            {"messages": ["hi"], "extra": 1},
        ]:
            response = await a.client.post(url, headers=a.owner, json=bad)
            assert response.status_code == 422, (bad, response.status_code)
        other = await a.client.post(url, headers=a.other, json={"messages": ["hi"]})
        assert other.status_code == 404
        assert (
            await a.client.post(
                "/api/listings/2147483648/preview", headers=a.owner, json={"messages": ["hi"]}
            )
        ).status_code == 422
        lowest = await a.client.post(url, headers=a.owner, json={"messages": ["What's your lowest price?"]})
        assert lowest.status_code == 200, lowest.text
        assert "11,000" not in lowest.text and "11000" not in lowest.text  # the floor stays in the engine


LISTING = SimpleNamespace(
    id=1,
    year=2018,
    make="Honda",
    model="Civic",
    trim="EX",
    mileage=62000,
    features=[],
    photos=[],
    description=None,
    location=None,
    details={},
    asking_price=Decimal("12500"),
    price_floor=FLOOR,
    auto_accept_threshold=None,
    status="active",
    max_concessions=3,
    response_tone="friendly",
    escrow_enabled=True,
)
PRICE = re.compile(r"\$\s?(\d{1,3}(?:,\d{3})+|\d{4,6})(?:\.\d{2})?")


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=1000, max_value=20000), min_size=1, max_size=5))
async def test_no_preview_reply_offers_a_price_below_the_floor(offers: list[int]) -> None:
    """Whatever the buyer bids, every price the assistant names is at or above the floor."""
    out = await preview_chat(
        NegotiationComposer(),
        LISTING,
        [f"Would you take {o}?" for o in offers],
        datetime(2026, 12, 1, 12, tzinfo=UTC),
        "America/Detroit",
    )
    for reply in out.replies:
        for amount in PRICE.findall(reply):
            named = Decimal(amount.replace(",", ""))
            # The escrow fee ($112.50) is a fee, not a price; anything car-priced is ≥ the floor.
            assert named >= FLOOR or named < 1000, (offers, reply)
