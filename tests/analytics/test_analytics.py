"""Analytics over a small known dataset: every figure equals the one computed by hand here, CSV = JSON."""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from accorria_agent.analytics.schemas import FUNNEL_STEPS
from accorria_agent.conversations.mode_changes import ConversationModeChange
from accorria_agent.conversations.models import Conversation, Message
from accorria_agent.db.engine import transaction
from accorria_agent.deals.events import deal_for_conversation, record_deal_event
from accorria_agent.sellers.models import Listing, MessengerTenant
from accorria_agent.settings import Settings
from tests.dashboard.conftest import OTHER_PAGE_ID, auth_for_tenant, other_seller
from tests.sim_harness import SimHarness, sim_harness

Make = Callable[..., Settings]
DETROIT = ZoneInfo("America/Detroit")  # the seeded seller's timezone


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A November 2026 wall-clock time in Detroit (DST ended on Nov 1), as UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=DETROIT).astimezone(UTC)


@dataclass
class Seeded:
    """One conversation of the dataset: what happened, from which the test computes the figures."""

    psid: str
    created: datetime
    first_buyer: datetime | None = None
    # (seconds after the first buyer message, author, status) of each outbound message
    outbound: list[tuple[float, str, str]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    agreed: Decimal | None = None
    asking: Decimal = Decimal("10000.00")
    # (mode, paused_reason) changes, in order
    modes: list[tuple[str, str | None]] = field(default_factory=list)
    other_listing: bool = False


DATASET = [
    Seeded(
        "2001",
        local(2, 10),
        local(2, 10),
        [(30, "bot", "sent"), (90, "bot", "delivered")],
        ["offer_made", "price_agreed", "escrow_started", "sold"],
        agreed=Decimal("9000.00"),
        modes=[("handed_off", "human_request"), ("bot", None)],
    ),
    Seeded(
        "2002",
        local(2, 12),
        local(2, 12),
        [(120, "seller", "sent"), (200, "bot", "refused")],
        ["offer_made", "offer_made", "price_agreed"],
        agreed=Decimal("9500.00"),
        modes=[("paused", "seller replied from the Page Inbox")],
    ),
    # 23:30 local on the last day is 04:30 UTC the next day: in range (the seller's timezone).
    Seeded(
        "2003",
        local(3, 23, 30),
        local(3, 23, 30),
        [(10, "bot", "failed"), (60, "bot", "sent")],
        ["offer_made"],
        modes=[("handed_off", "scam")],
    ),
    Seeded("2004", local(3, 9), local(3, 9), [], ["test_drive_booked"], other_listing=True),
    # 23:30 local the day before is 04:30 UTC on the first day: out of range.
    Seeded("2005", local(1, 23, 30), local(1, 23, 30), [(5, "bot", "sent")], ["price_agreed", "sold"]),
    Seeded("2006", local(4, 0, 30), local(4, 0, 30), [(5, "bot", "sent")], ["sold"]),
]
FROM, TO = "2026-11-02", "2026-11-03"


def in_range(item: Seeded) -> bool:
    return local(2, 0) <= item.created < local(4, 0)


def by_hand(items: list[Seeded]) -> dict[str, Any]:
    """The report's figures computed from the dataset's description, not from the database."""
    cohort = [s for s in items if in_range(s)]
    times = []
    for s in cohort:
        replies = [after for after, author, status in s.outbound if status in ("sent", "delivered", "read")]
        if replies:
            times.append(float(min(replies)))
    reached = {step: sum(1 for s in cohort if kind in s.events) for step, kind in FUNNEL_STEPS}
    causes = {"buyer_asked": 0, "scam": 0, "seller_stepped_in": 0, "other": 0}
    for s in cohort:
        for mode, reason in s.modes:
            if mode == "paused":
                causes["seller_stepped_in"] += 1
            elif mode == "handed_off":
                causes["scam" if reason == "scam" else "buyer_asked"] += 1
    taken = sum(1 for s in cohort if any(mode != "bot" for mode, _ in s.modes))
    ratios = [float(s.agreed / s.asking) for s in cohort if s.agreed is not None]
    ordered = sorted(times)
    p90_position = 0.9 * (len(ordered) - 1)
    low = int(p90_position)
    p90 = ordered[low] + (ordered[min(low + 1, len(ordered) - 1)] - ordered[low]) * (p90_position - low)
    return {
        "total_conversations": len(cohort),
        "answered_conversations": len(times),
        "average_response_time": statistics.mean(times),
        "median_response_time": statistics.median(times),
        "p90_response_time": p90,
        "funnel": reached,
        "conversion_rate": reached["sold"] / len(cohort),
        "escrow_adoption_rate": reached["escrow"] / reached["agreed"],
        "human_takeover_rate": taken / len(cohort),
        "human_takeovers": taken,
        "takeover_causes": causes,
        "policy_refusals": sum(1 for s in cohort for _, _, status in s.outbound if status == "refused"),
        "average_agreed_to_asking": statistics.mean(ratios),
    }


async def seed_dataset(h: SimHarness, items: list[Seeded]) -> int:
    """Write the dataset as the agent would have; returns the second listing's id."""
    async with transaction(h.runtime.session_factory) as session:
        main = await session.get(Listing, h.listing_id)
        assert main is not None
        second = Listing(
            seller_id=main.seller_id,
            tenant_id=h.tenant_id,
            year=2015,
            make="Ford",
            model="Focus",
            asking_price=Decimal("6000.00"),
            price_floor=Decimal("5000.00"),
        )
        session.add(second)
        await session.flush()
        for s in items:
            listing_id = second.id if s.other_listing else h.listing_id
            conversation = Conversation(
                tenant_id=h.tenant_id, buyer_psid=s.psid, listing_id=listing_id, created_at=s.created
            )
            session.add(conversation)
            await session.flush()
            assert s.first_buyer is not None
            session.add(
                Message(
                    tenant_id=h.tenant_id,
                    conversation_id=conversation.id,
                    direction="inbound",
                    author="buyer",
                    mid=f"m_{s.psid}",
                    text="is it available?",
                    sent_at=s.first_buyer,
                )
            )
            for index, (after, author, status) in enumerate(s.outbound):
                session.add(
                    Message(
                        tenant_id=h.tenant_id,
                        conversation_id=conversation.id,
                        direction="outbound",
                        author=author,
                        outbound_key=f"k_{s.psid}_{index}",
                        text="yes",
                        status=status,
                        sent_at=s.first_buyer + timedelta(seconds=after),
                    )
                )
            deal = await deal_for_conversation(
                session,
                seller_id=main.seller_id,
                tenant_id=h.tenant_id,
                conversation_id=conversation.id,
                listing_id=listing_id,
                asking_price=s.asking,
            )
            deal.agreed_price = s.agreed
            for kind in s.events:
                await record_deal_event(session, deal, kind, actor_kind="bot", occurred_at=s.created)
            await session.flush()
            for mode, reason in s.modes:
                # Through the ORM, as the agent does: the mode-change hook records each one.
                conversation.mode = mode
                conversation.paused_reason = reason
                conversation.paused_at = s.created
                await session.flush()
        return second.id


async def get_report(h: SimHarness, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await h.client.get(
        "/api/analytics", params={"from": FROM, "to": TO, **params}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_matches(report: dict[str, Any], expected: dict[str, Any]) -> None:
    for key, value in expected.items():
        if isinstance(value, float):
            assert report[key] == pytest.approx(value, abs=1e-6), key
        else:
            assert report[key] == value, key


async def test_figures_equal_the_hand_computation_and_csv_equals_json(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        second_listing = await seed_dataset(h, DATASET)
        other = await other_seller(h)  # seller B's buyer wrote in range too: never counted for A
        async with transaction(h.runtime.session_factory) as session:
            b_conversation = await session.get(Conversation, other.conversation_id)
            assert b_conversation is not None
            b_conversation.created_at = local(2, 11)
        headers = await auth_for_tenant(h, h.tenant_id)

        report = await get_report(h, headers)
        expected = by_hand(DATASET)
        assert expected["total_conversations"] == 4 and expected["p90_response_time"] == 108.0
        assert_matches(report, expected)

        response = await h.client.get("/api/analytics.csv", params={"from": FROM, "to": TO}, headers=headers)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.text)))
        assert rows[0] == ["metric", "value"]
        from_csv = dict(rows[1:])
        flat: dict[str, str] = {}
        for key, value in report.items():
            if isinstance(value, dict):
                flat.update({f"{key}.{inner}": str(v) for inner, v in value.items()})
            else:
                flat[key] = "" if value is None else str(value)
        assert from_csv == flat
        assert float(from_csv["conversion_rate"]) == report["conversion_rate"]

        # One listing, one Page.
        only_second = await get_report(h, headers, listing_id=second_listing)
        assert_matches(only_second, {"total_conversations": 1, "answered_conversations": 0})
        assert only_second["funnel"]["test_drive"] == 1 and only_second["average_response_time"] is None
        by_page = await get_report(h, headers, page_id=h.sim.config.page_id)
        assert by_page["total_conversations"] == expected["total_conversations"]

        # Seller B sees only B's conversation, and none of A's Pages or listings.
        b_report = await get_report(h, other.headers)
        assert b_report["total_conversations"] == 1 and b_report["conversion_rate"] == 0.0
        assert (await get_report(h, other.headers, page_id=OTHER_PAGE_ID))["total_conversations"] == 1
        for params in ({"page_id": h.sim.config.page_id}, {"listing_id": h.listing_id}):
            refused = await h.client.get(
                "/api/analytics", params={"from": FROM, "to": TO, **params}, headers=other.headers
            )
            assert refused.status_code == 404


async def test_takeovers_through_the_agent_are_recorded_with_their_cause(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await h.say("3001", "hi")
        await h.say("3001", None, quick_reply="TALK_TO_SELLER")
        async with h.runtime.session_factory() as session:
            changes = (await session.execute(select(ConversationModeChange))).scalars().all()
            tenant = await session.get(MessengerTenant, h.tenant_id)
        assert [(c.to_mode, c.cause) for c in changes] == [("handed_off", "buyer_asked")]
        assert tenant is not None
        today = h.runtime.clock().astimezone(DETROIT).date().isoformat()
        headers = await auth_for_tenant(h, h.tenant_id)
        response = await h.client.get("/api/analytics", params={"from": today, "to": today}, headers=headers)
        body = response.json()
        assert body["total_conversations"] == 1 and body["human_takeover_rate"] == 1.0
        assert body["takeover_causes"]["buyer_asked"] == 1
        assert body["answered_conversations"] == 1 and body["average_response_time"] >= 0


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"from": "2026-11-05", "to": "2026-11-01"}, 422),
        ({"from": "2025-01-01", "to": "2026-11-01"}, 422),
        ({"from": "2026-13-01", "to": "2026-11-01"}, 422),
        ({"from": "yesterday", "to": "2026-11-01"}, 422),
        ({"to": "2026-11-01"}, 422),
        ({"from": "2026-11-01", "to": "2026-11-02", "listing_id": "abc"}, 422),
        ({"from": "2026-11-01", "to": "2026-11-02", "page_id": "x'; drop"}, 422),
        ({"from": "2026-11-01", "to": "2026-11-02", "listing_id": "999999"}, 404),
    ],
)
async def test_bad_queries_get_clear_errors(
    database_url: str, make_settings: Make, params: dict[str, str], status: int
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        headers = await auth_for_tenant(h, h.tenant_id)
        for path in ("/api/analytics", "/api/analytics.csv"):
            response = await h.client.get(path, params=params, headers=headers)
            assert response.status_code == status, (path, response.text)
            assert "detail" in response.json()
        assert (await h.client.get("/api/analytics", params=params)).status_code == 401
