"""``accorria-agent bench analytics``: the analytics report for a seller with 100,000 conversations.

Seeds a scratch PostgreSQL database (multi-row INSERTs with explicit ids) with two sellers: a large one
(``conversations`` conversations over 90 days, two to four messages each, deals and their events, some
takeovers) and a baseline one with 1 % of that, shaped the same. Then times the full report (the same
code as ``GET /api/analytics``) over the whole 90 days for each, and prints median/p95 and the ratio,
then what the triggers that keep ``conversation_facts`` add to a buyer turn's writes.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import insert, text, update

from accorria_agent.analytics.service import ReportQuery, report
from accorria_agent.bench.harness import finish_bulk_load
from accorria_agent.bench.scale import sibling_database
from accorria_agent.conversations.mode_changes import ConversationModeChange
from accorria_agent.conversations.models import Conversation, Message
from accorria_agent.db.base import utcnow
from accorria_agent.db.engine import create_engine, create_session_factory
from accorria_agent.db.migrate import upgrade
from accorria_agent.deals.models import Deal, DealEvent
from accorria_agent.sellers.models import Listing, MessengerTenant, Seller

GOAL_MS = 200.0
DAYS = 90
CHUNK = 5_000
_TABLES = (
    "sellers",
    "messenger_tenants",
    "listings",
    "messenger_conversations",
    "messenger_messages",
    "deals",
    "deal_events",
    "conversation_mode_changes",
)


class _Ids:
    """Explicit ids per table, so child rows point at parents without reading them back."""

    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    def take(self, table: str) -> int:
        value = self.next.get(table, 1)
        self.next[table] = value + 1
        return value


def _conversation_rows(
    ids: _Ids, rng: random.Random, seller_id: int, tenant_id: int, listing_id: int, count: int
) -> dict[Any, list[dict[str, Any]]]:
    """``count`` conversations of one seller and everything that hangs off them."""
    now = utcnow()
    rows: dict[Any, list[dict[str, Any]]] = {
        Conversation: [],
        Message: [],
        Deal: [],
        DealEvent: [],
        ConversationModeChange: [],
    }
    for _ in range(count):
        conversation_id = ids.take("messenger_conversations")
        started = now - timedelta(seconds=rng.uniform(3600, DAYS * 86400 - 3600))
        rows[Conversation].append(
            {
                "id": conversation_id,
                "tenant_id": tenant_id,
                "buyer_psid": f"b{conversation_id}",
                "listing_id": listing_id,
                "mode": "bot",
                "negotiation_state": {},
                "created_at": started,
                "updated_at": started,
                "last_buyer_message_at": started,
            }
        )
        at = started
        for turn in range(rng.randint(1, 2)):
            for direction, author in (("inbound", "buyer"), ("outbound", "bot")):
                message_id = ids.take("messenger_messages")
                rows[Message].append(
                    {
                        "id": message_id,
                        "tenant_id": tenant_id,
                        "conversation_id": conversation_id,
                        "direction": direction,
                        "author": author,
                        "mid": f"m{message_id}" if direction == "inbound" else None,
                        "outbound_key": f"k{message_id}" if direction == "outbound" else None,
                        "text": "is it still available?" if direction == "inbound" else "Yes it is!",
                        "payload": {},
                        "status": "received" if direction == "inbound" else "sent",
                        "sent_at": at,
                        "created_at": at,
                        "updated_at": at,
                    }
                )
                at += timedelta(seconds=rng.uniform(2, 120) if direction == "inbound" else 600 * (turn + 1))
        roll = rng.random()
        if roll < 0.4:
            kinds = ["offer_made"]
            agreed = roll < 0.2
            if agreed:
                kinds.append("price_agreed")
            if roll < 0.1:
                kinds.append("test_drive_booked")
            if roll < 0.12:
                kinds.append("escrow_started")
            if roll < 0.06:
                kinds.append("sold")
            deal_id = ids.take("deals")
            rows[Deal].append(
                {
                    "id": deal_id,
                    "seller_id": seller_id,
                    "tenant_id": tenant_id,
                    "conversation_id": conversation_id,
                    "listing_id": listing_id,
                    "status": "agreed" if agreed else "negotiating",
                    "agreed_price": Decimal(rng.randrange(15000, 18500)) if agreed else None,
                    "asking_price": Decimal("18500.00"),
                    "created_at": started,
                    "updated_at": started,
                }
            )
            for kind in kinds:
                rows[DealEvent].append(
                    {
                        "id": ids.take("deal_events"),
                        "seller_id": seller_id,
                        "tenant_id": tenant_id,
                        "deal_id": deal_id,
                        "conversation_id": conversation_id,
                        "listing_id": listing_id,
                        "kind": kind,
                        "actor_kind": "bot",
                        "details": {},
                        "occurred_at": at,
                    }
                )
        if rng.random() < 0.1:
            rows[ConversationModeChange].append(
                {
                    "id": ids.take("conversation_mode_changes"),
                    "tenant_id": tenant_id,
                    "conversation_id": conversation_id,
                    "from_mode": "bot",
                    "to_mode": "handed_off",
                    "cause": rng.choice(("buyer_asked", "scam", "seller_stepped_in")),
                    "changed_at": at,
                }
            )
    return rows


async def _seed(url: str, sizes: list[int], console: Console) -> list[int]:
    """One seller per size; returns their ids."""
    engine = create_engine(url)
    ids = _Ids()
    rng = random.Random(13)
    seller_ids: list[int] = []
    now = utcnow()
    try:
        for index, size in enumerate(sizes):
            seller_id, tenant_id, listing_id = (
                ids.take("sellers"),
                ids.take("messenger_tenants"),
                ids.take("listings"),
            )
            async with engine.begin() as connection:
                await connection.execute(
                    insert(Seller), [{"id": seller_id, "name": f"Seller {index}", "timezone": "UTC"}]
                )
                await connection.execute(
                    insert(MessengerTenant),
                    [
                        {
                            "id": tenant_id,
                            "seller_id": seller_id,
                            "page_id": f"9{index:08d}",
                            "page_access_token_encrypted": "x",
                            "created_at": now,
                            "updated_at": now,
                        }
                    ],
                )
                await connection.execute(
                    insert(Listing),
                    [
                        {
                            "id": listing_id,
                            "seller_id": seller_id,
                            "tenant_id": tenant_id,
                            "year": 2019,
                            "make": "Honda",
                            "model": "Civic",
                            "features": [],
                            "photos": [],
                            "details": {},
                            "asking_price": Decimal("18500.00"),
                            "price_floor": Decimal("16000.00"),
                        }
                    ],
                )
            for start in range(0, size, CHUNK):
                rows = _conversation_rows(
                    ids, rng, seller_id, tenant_id, listing_id, min(CHUNK, size - start)
                )
                async with engine.begin() as connection:
                    for model, values in rows.items():
                        if values:
                            await connection.execute(insert(model), values)
            console.print(f"seeded seller {seller_id}: {size} conversations")
            seller_ids.append(seller_id)
        await finish_bulk_load(engine, _TABLES)
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            # The facts table has no id sequence, so it is not one of _TABLES: analysed on its own.
            await connection.execute(text("VACUUM (ANALYZE) conversation_facts"))
    finally:
        await engine.dispose()
    return seller_ids


async def _time_reports(url: str, seller_id: int, runs: int) -> list[float]:
    engine = create_engine(url)
    factory = create_session_factory(engine)
    today = utcnow().date()
    query = ReportQuery(today - timedelta(days=DAYS), today)
    timings: list[float] = []
    try:
        for index in range(runs + 3):
            started = time.perf_counter()
            async with factory() as session:
                figures = await report(session, seller_id, query)
            elapsed = (time.perf_counter() - started) * 1000
            if index >= 3:  # the first runs warm the caches and the connection pool
                timings.append(elapsed)
        assert figures.total_conversations > 0
    finally:
        await engine.dispose()
    return timings


_TRIGGER_TABLES = ("messenger_conversations", "messenger_messages", "deals", "deal_events")


async def _write_cost(url: str, conversations: int, writes: int) -> dict[str, float]:
    """Median ms of one buyer turn's writes (buyer message, reply, reply sent) with the triggers and without.

    Alternating blocks of ``writes // 10`` turns, each its own transaction, into random conversations of
    the large seller, so a change of the machine's load hits both sides alike.
    """
    engine = create_engine(url)
    rng = random.Random(7)
    timings: dict[bool, list[float]] = {True: [], False: []}
    try:
        async with engine.connect() as connection:
            for block in range(20):
                triggers = block % 2 == 0
                verb = "ENABLE" if triggers else "DISABLE"
                for table in _TRIGGER_TABLES:
                    await connection.execute(text(f"ALTER TABLE {table} {verb} TRIGGER USER"))
                await connection.commit()
                for _ in range(max(1, writes // 10)):
                    conversation_id = rng.randint(1, conversations)
                    now = utcnow()
                    started = time.perf_counter()
                    async with connection.begin():
                        inbound = {"direction": "inbound", "author": "buyer", "status": "received"}
                        outbound = {"direction": "outbound", "author": "bot", "status": "pending"}
                        for values in (inbound, outbound):
                            result = await connection.execute(
                                insert(Message).returning(Message.id),
                                {
                                    **values,
                                    "tenant_id": 1,
                                    "conversation_id": conversation_id,
                                    "payload": {},
                                    "sent_at": now,
                                    "created_at": now,
                                    "updated_at": now,
                                },
                            )
                        reply_id = result.scalar_one()
                        await connection.execute(
                            update(Message).where(Message.id == reply_id).values(status="sent")
                        )
                    timings[triggers].append((time.perf_counter() - started) * 1000)
            for table in _TRIGGER_TABLES:
                await connection.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
            await connection.commit()
    finally:
        await engine.dispose()
    return {
        "write_with_triggers_ms": statistics.median(timings[True]),
        "write_without_triggers_ms": statistics.median(timings[False]),
    }


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def run_analytics(database_url: str, conversations: int, runs: int) -> dict[str, float]:
    """Seed, time, print; returns the figures (milliseconds)."""
    console = Console()
    baseline = max(1, conversations // 100)
    with sibling_database(database_url, "bench_analytics") as url:
        upgrade(url)
        started = time.perf_counter()
        large, small = asyncio.run(_seed(url, [conversations, baseline], console))
        console.print(f"seeded in {time.perf_counter() - started:.1f} s")
        large_ms = asyncio.run(_time_reports(url, large, runs))
        small_ms = asyncio.run(_time_reports(url, small, runs))
        writes = asyncio.run(_write_cost(url, conversations, 400))
    figures = {
        "large_median_ms": statistics.median(large_ms),
        "large_p95_ms": _p95(large_ms),
        "baseline_median_ms": statistics.median(small_ms),
        "baseline_p95_ms": _p95(small_ms),
    }
    figures["ratio_median"] = figures["large_median_ms"] / figures["baseline_median_ms"]
    figures.update(writes)
    table = Table(title=f"analytics report over {DAYS} days ({runs} runs each)")
    for column in ("seller", "conversations", "median ms", "p95 ms"):
        table.add_column(column)
    table.add_row(
        "large", str(conversations), f"{figures['large_median_ms']:.1f}", f"{figures['large_p95_ms']:.1f}"
    )
    table.add_row(
        "baseline", str(baseline), f"{figures['baseline_median_ms']:.1f}", f"{figures['baseline_p95_ms']:.1f}"
    )
    console.print(table)
    verdict = "met" if figures["large_p95_ms"] < GOAL_MS else "NOT met"
    console.print(
        f"ratio large/baseline (median) {figures['ratio_median']:.1f}x;"
        f" goal p95 < {GOAL_MS:.0f} ms: {verdict}"
    )
    console.print(
        "one buyer turn's writes (buyer message, reply, reply sent; one transaction), median:"
        f" {writes['write_with_triggers_ms']:.2f} ms with the analytics triggers,"
        f" {writes['write_without_triggers_ms']:.2f} ms without"
    )
    return figures
