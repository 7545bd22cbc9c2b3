"""Escrow under failure, and the status webhook's defences (bad, stale, replayed, malformed)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from accorria_agent.conversations.models import Conversation
from accorria_agent.db.engine import transaction
from accorria_agent.deals import service as deals
from accorria_agent.deals.models import Deal, DealEvent
from accorria_agent.escrow.interface import EscrowTransaction, InMemoryEscrowProvider, NewTransaction
from accorria_agent.escrow.signature import SIGNATURE_HEADER, sign
from accorria_agent.sellers.notifications import SellerNotification
from accorria_agent.settings import Settings
from tests.deals.test_escrow_e2e import LISTING, buttons_sent
from tests.sim_harness import ESCROW_SECRET, SimHarness, sim_harness

Make = Callable[..., Settings]
BUYERS = ("4001", "4002", "4003", "4004")


async def test_with_half_the_calls_failing_each_deal_still_gets_exactly_one_transaction(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(
        make_settings, database_url, listing=LISTING, ACCORRIA_API_TIMEOUT_SECONDS=0.2, ESCROW_MAX_ATTEMPTS=30
    ) as h:
        faults = {"error_rate": 0.5, "kinds": ["5xx", "timeout"], "timeout_seconds": 0.5, "seed": 7}
        assert (await h.client.post("/simulator/api/escrow/faults", json=faults)).status_code == 200
        for psid in BUYERS:
            await h.say(psid, "I'll take it for $12,500, deal")
        await h.settle()
        transactions = (await h.client.get("/simulator/api/escrow")).json()
        stats = (await h.client.get("/simulator/api/escrow/faults")).json()
        assert stats["injected"] >= 1  # the seed makes failures happen, timeouts after creation included
        assert h.escrow.create_calls > len(transactions)
        assert len(transactions) == len(BUYERS)
        assert len({t["reference"] for t in transactions}) == len(BUYERS)
        async with h.runtime.session_factory() as session:
            deals = list((await session.execute(select(Deal))).scalars())
            started = await session.scalar(
                select(func.count()).select_from(DealEvent).where(DealEvent.kind == "escrow_started")
            )
        assert len(deals) == len(BUYERS) and started == len(BUYERS)
        assert {d.escrow_transaction_id for d in deals} == {t["id"] for t in transactions}
        retried = [d for d in deals if d.escrow_attempts > 0]
        assert retried, "the seed must make at least one deal retry"
        for psid in BUYERS:
            assert len(buttons_sent(h, psid)) == 1
        async with h.runtime.session_factory() as session:
            psid_of = dict((await session.execute(select(Conversation.id, Conversation.buyer_psid))).all())
        for deal in deals:
            waits = [t for t in h.sent_texts(psid_of[deal.conversation_id]) if "as soon as it's ready" in t]
            assert len(waits) == (1 if deal.escrow_attempts else 0)
        async with h.runtime.session_factory() as session:
            escrow_notes = await session.scalar(
                select(func.count())
                .select_from(SellerNotification)
                .where(SellerNotification.kind == "escrow")
            )
        assert escrow_notes == len(retried)  # the seller is told once per deal that had to retry


async def test_a_permanent_refusal_gives_up_and_tells_seller_and_buyer(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url, listing=LISTING) as h:
        h.escrow.api_key = "a-key-the-agent-does-not-have"  # every create is a 401
        await h.say("4101", "I'll take it for $12,500, deal")
        assert (await h.client.get("/simulator/api/escrow")).json() == []
        async with h.runtime.session_factory() as session:
            deal = (await session.execute(select(Deal))).scalar_one()
            kinds = list((await session.execute(select(DealEvent.kind).order_by(DealEvent.id))).scalars())
        assert deal.escrow_status == "failed" and "401" in (deal.escrow_error or "")
        assert kinds == ["price_agreed", "escrow_failed"]
        assert any("seller will follow up" in t for t in h.sent_texts("4101"))


async def started_deal(h: SimHarness, psid: str) -> str:
    await h.say(psid, "I'll take it for $12,500, deal")
    (transaction,) = (await h.client.get("/simulator/api/escrow")).json()
    return str(transaction["id"])


def webhook(transaction_id: str, status: str, event_id: str = "evt_x") -> bytes:
    return json.dumps({"id": event_id, "transaction_id": transaction_id, "status": status}).encode()


async def post(h: SimHarness, body: bytes, header: str | None) -> tuple[int, dict[str, object]]:
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers[SIGNATURE_HEADER] = header
    response = await h.client.post("/escrow/webhook", content=body, headers=headers)
    return response.status_code, response.json()


async def escrow_kinds(h: SimHarness) -> list[str]:
    async with h.runtime.session_factory() as session:
        rows = await session.execute(
            select(DealEvent.kind).where(DealEvent.kind.like("escrow_%")).order_by(DealEvent.id)
        )
        return list(rows.scalars())


async def test_the_webhook_refuses_bad_stale_replayed_and_malformed_deliveries(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url, listing=LISTING) as h:
        transaction_id = await started_deal(h, "4201")
        now = int(h.runtime.clock().timestamp())
        body = webhook(transaction_id, "funded", "evt_funded_1")

        assert (await post(h, body, None))[0] == 401
        status, answer = await post(h, body, sign(body, "not-the-secret", now))
        assert (status, answer["code"]) == (401, "bad_signature")
        status, answer = await post(h, body, sign(body, ESCROW_SECRET, now - 3600))
        assert (status, answer["code"]) == (400, "stale_webhook")
        assert await escrow_kinds(h) == ["escrow_started"]

        header = sign(body, ESCROW_SECRET, now)
        status, answer = await post(h, body, header)
        assert (status, answer["outcome"]) == (200, "funded")
        status, answer = await post(h, body, header)  # the same delivery again
        assert (status, answer["code"]) == (409, "replayed")
        assert await escrow_kinds(h) == ["escrow_started", "escrow_funded"]

        malformed = b'{"id": "evt_2", "transaction_id": "x", "status": "teleported"}'
        status, answer = await post(h, malformed, sign(malformed, ESCROW_SECRET, now))
        assert status == 400 and "status" in str(answer["detail"])
        not_json = b"{nope"
        assert (await post(h, not_json, sign(not_json, ESCROW_SECRET, now)))[0] == 400
        unknown = webhook("esc_unknown", "funded", "evt_3")
        status, answer = await post(h, unknown, sign(unknown, ESCROW_SECRET, now))
        assert (status, answer["outcome"]) == (200, "ignored: unknown transaction")
        huge = b"{" + b" " * 70_000 + b"}"
        assert (await post(h, huge, sign(huge, ESCROW_SECRET, now)))[0] == 413

        # Cancelled: the deal is off and later statuses do not revive it.
        cancel = webhook(transaction_id, "cancelled", "evt_4")
        assert (await post(h, cancel, sign(cancel, ESCROW_SECRET, now)))[1]["outcome"] == "cancelled"
        late = webhook(transaction_id, "released", "evt_5")
        outcome = (await post(h, late, sign(late, ESCROW_SECRET, now)))[1]["outcome"]
        assert str(outcome).startswith("ignored")
        async with h.runtime.session_factory() as session:
            deal = (await session.execute(select(Deal))).scalar_one()
        assert deal.status == "cancelled"
        assert await escrow_kinds(h) == ["escrow_started", "escrow_funded", "escrow_cancelled"]


class _LosesTheDealMidCall(InMemoryEscrowProvider):
    """Creates the transaction, but the seller marks the deal lost while the call is in flight."""

    factory: Any = None

    async def create_transaction(self, request: NewTransaction, *, idempotency_key: str) -> EscrowTransaction:
        async with transaction(self.factory) as session:
            deal = (await session.execute(select(Deal))).scalar_one()
            await deals.seller_marks_lost(
                session,
                seller_id=deal.seller_id,
                member_id=deal.seller_id,
                deal_id=deal.id,
                reason="walked",
                now=deal.created_at,
            )
        return await super().create_transaction(request, idempotency_key=idempotency_key)


async def test_a_deal_lost_while_its_transaction_is_made_cancels_it(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url, listing=LISTING) as h:
        provider = _LosesTheDealMidCall()
        provider.factory = h.runtime.session_factory
        h.runtime.escrow = provider
        await h.say("4301", "I'll take it for $12,500, deal")
        (made,) = provider.transactions.values()
        assert made.status == "cancelled" and f"cancel:{made.id}" in provider.calls
        assert buttons_sent(h, "4301") == []
        async with h.runtime.session_factory() as session:
            deal = (await session.execute(select(Deal))).scalar_one()
        assert deal.status == "lost" and deal.escrow_transaction_id == made.id
