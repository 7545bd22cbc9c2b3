"""``bench scale`` at a tiny size, its traffic plan, and the query plans that keep a big store flat."""

from __future__ import annotations

import io
import math
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import event

from accorria_agent.bench.scale import page_id_of, plan_targets, run_scale, seed_store, seeded_psid
from accorria_agent.conversations.pipeline import process_conversation
from accorria_agent.messenger.events import parse_delivery
from accorria_agent.runtime import build_runtime
from accorria_agent.settings import Settings
from tests.conftest import migrated_postgres_database
from tests.fakes.graph import FakeGraph
from tests.helpers import delivery, text_event


def test_plan_is_the_same_sequence_for_both_sizes_and_spreads_over_tenants() -> None:
    small = plan_targets(tenants=10, conversations=1000, count=300)
    large = plan_targets(tenants=10_000, conversations=100_000, count=300)
    assert [(t.existing, t.text) for t in small] == [(t.existing, t.text) for t in large]
    existing = [t for t in large if t.existing]
    assert 0.6 < len(existing) / len(large) < 0.95
    # Each message to an existing conversation goes to a different one, with its own tenant's page id.
    assert len({t.psid for t in existing}) == len(existing)
    for target in existing:
        index = int(target.psid) - int(seeded_psid(0))
        assert target.page_id == page_id_of(index % 10_000)
    assert len({t.page_id for t in large}) > 250
    # A store smaller than the run repeats conversations instead of failing.
    tiny = plan_targets(tenants=2, conversations=5, count=50)
    assert len(tiny) == 50 and len({t.psid for t in tiny if t.existing}) == 5


def test_tiny_run_answers_every_message_and_reports_finite_ratios() -> None:
    output = io.StringIO()
    result = run_scale(
        tenants=20,
        conversations=200,
        rate=10,
        seconds=2,
        small_tenants=5,
        small_conversations=50,
        warmup_seconds=1,
        rounds=2,
        console=Console(file=output, width=160),
    )
    assert result["backend"] == "sqlite"
    for name, tenants, conversations in (("small", 5, 50), ("large", 20, 200)):
        store: dict[str, Any] = result[name]
        assert (store["tenants"], store["conversations"]) == (tenants, conversations)
        assert store["seeded_rows"]["messenger_tenants"] == tenants
        assert store["seeded_rows"]["messenger_conversations"] == conversations
        assert store["seeded_rows"]["messenger_messages"] == 4 * conversations
        assert store["messages"] == 20 and store["replies"] == 20 and store["non_200"] == 0
        assert store["to_existing"] > 0
        assert 0 < store["answer_p50_ms"] <= store["answer_p99_ms"] < 10_000
        assert 0 < store["send_p50_ms"] <= store["send_p95_ms"] < 60_000
        assert store["web_rss_warm_mb"] > 10 and store["web_rss_end_mb"] > 10
        assert store["worker_rss_warm_mb"] is None  # all-in-one on SQLite
        assert len(store["send_p95_ms_by_round"]) == 2
    assert set(result["ratios"]) >= {"answer_p99_ms", "send_p95_ms", "web_rss_end_mb"}
    assert all(math.isfinite(r) and r > 0 for r in result["ratios"].values())
    assert "large / small" in output.getvalue()


@pytest.mark.postgres
def test_tiny_run_on_postgresql_with_a_worker_per_store() -> None:
    with migrated_postgres_database("accorria_scale") as url:
        result = run_scale(
            tenants=20,
            conversations=200,
            rate=10,
            seconds=2,
            database_url=url,
            small_tenants=5,
            small_conversations=50,
            warmup_seconds=1,
            rounds=2,
            console=Console(file=io.StringIO(), width=160),
        )
    assert result["backend"] == "postgresql"
    for name in ("small", "large"):
        store: dict[str, Any] = result[name]
        assert store["replies"] == store["messages"] == 20 and store["non_200"] == 0
        assert store["worker_rss_warm_mb"] > 10 and store["worker_rss_end_mb"] > 10
    assert all(math.isfinite(r) and r > 0 for r in result["ratios"].values())


async def test_a_turn_on_a_seeded_store_reads_through_indexes_only(
    sqlite_template: Path, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    """Every statement of a conversation turn is an index or rowid lookup (SQLite's plan, no ANALYZE).

    A full scan of a tenant-data table is what would make latency grow with the store; ``bench scale``
    measures it, this catches it cheaply.
    """
    path = tmp_path / "store.db"
    shutil.copy(sqlite_template, path)
    settings = make_settings(DATABASE_URL=f"sqlite+aiosqlite:///{path}")
    key = settings.encryption_key.get_secret_value()
    await seed_store(settings.effective_database_url, key, 20, 200, Console(file=io.StringIO()))
    runtime = build_runtime(settings, graph_transport=FakeGraph().transport, run_jobs=False)
    statements: list[tuple[str, Any]] = []

    @event.listens_for(runtime.engine.sync_engine, "before_cursor_execute")
    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
        statements.append((statement, parameters[0] if many else parameters))

    await runtime.start()
    try:
        for psid, page_id in ((seeded_psid(123), page_id_of(123 % 20)), ("7999000000000001", page_id_of(7))):
            obj, events = parse_delivery(delivery(text_event(psid, "would you take 9k?"), page_id=page_id))
            for inbound in events:
                assert inbound.page_id == page_id
            await runtime.intake.store(obj, "{}", events)
            outcome = await process_conversation(
                runtime.conversation_deps, {"page_id": page_id, "buyer_psid": psid}
            )
            assert outcome.outbound_ids
    finally:
        await runtime.stop()
    reads = [(s, p) for s, p in statements if s.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE"))]
    assert len(reads) > 10
    with sqlite3.connect(path) as connection:
        for statement, parameters in reads:
            plan = [row[3] for row in connection.execute("EXPLAIN QUERY PLAN " + statement, parameters)]
            scans = [step for step in plan if step.startswith("SCAN ")]
            assert not scans, f"{' '.join(statement.split())[:160]} → {plan}"
