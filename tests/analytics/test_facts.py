"""``conversation_facts`` is kept by triggers in the writer's transaction and always equals a full recount.

Writes go every way the agent writes: ORM flushes (the dataset, the agent's turns), Core ``UPDATE``s of a
message's status, a conversation moved to another listing, a deal's price agreed later. The facts rows
are compared with what ``rebuild_facts`` recounts from the source tables, and the migration's backfill
is checked on rows written before it existed.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import select, text, update

from accorria_agent.analytics import facts_sql, service
from accorria_agent.analytics.models import ConversationFacts
from accorria_agent.analytics.repository import rebuild_facts
from accorria_agent.analytics.service import ReportQuery
from accorria_agent.conversations.models import Conversation, Message
from accorria_agent.db.engine import create_engine, create_session_factory, transaction
from accorria_agent.db.migrate import alembic_config, upgrade, upgrade_async
from accorria_agent.deals.events import deal_for_conversation, record_deal_event
from accorria_agent.sellers.models import Listing, MessengerTenant
from accorria_agent.settings import Settings
from tests.analytics.test_analytics import DATASET, FROM, TO, by_hand, local, seed_dataset
from tests.sim_harness import sim_harness

Make = Callable[..., Settings]
COLUMNS = [column.name for column in ConversationFacts.__table__.columns]


async def facts_rows(factory: Any) -> dict[int, dict[str, Any]]:
    async with factory() as session:
        rows = (await session.execute(select(ConversationFacts))).scalars().all()
        return {row.conversation_id: {name: _plain(getattr(row, name)) for name in COLUMNS} for row in rows}


def _plain(value: Any) -> Any:
    """Floats to 9 decimals (a recount may add the same ratios in another order)."""
    return round(value, 9) if isinstance(value, float) else value


async def test_triggers_keep_every_row_equal_to_a_recount(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url) as h:
        second_listing = await seed_dataset(h, DATASET)
        await h.say("3001", "hi")  # the agent's own writes: conversation, buyer message, reply, its status
        await h.say("3001", None, quick_reply="TALK_TO_SELLER")
        factory = h.runtime.session_factory
        async with transaction(factory) as session:
            ids = {c.buyer_psid: c.id for c in (await session.execute(select(Conversation))).scalars().all()}
            # A Core UPDATE (as the send path does): 2001's first reply is refused after all ...
            first = (
                (
                    await session.execute(
                        select(Message)
                        .where(Message.conversation_id == ids["2001"], Message.direction == "outbound")
                        .order_by(Message.sent_at)
                    )
                )
                .scalars()
                .first()
            )
            assert first is not None
            await session.execute(update(Message).where(Message.id == first.id).values(status="refused"))
            # ... 2003 moves to the other listing, and a new deal of 2004 is agreed later.
            await session.execute(
                update(Conversation).where(Conversation.id == ids["2003"]).values(listing_id=second_listing)
            )
            conversation = await session.get(Conversation, ids["2004"])
            assert conversation is not None
            deal = await deal_for_conversation(
                session,
                seller_id=(await session.get(Listing, second_listing)).seller_id,  # type: ignore[union-attr]
                tenant_id=h.tenant_id,
                conversation_id=conversation.id,
                listing_id=second_listing,
                asking_price=Decimal("6000.00"),
            )
            await session.flush()
            deal.agreed_price = Decimal("5400.00")
            await record_deal_event(session, deal, "price_agreed", actor_kind="bot", occurred_at=local(3, 10))

        kept = await facts_rows(factory)
        assert set(kept) == set(ids.values())
        row = kept[ids["2001"]]
        assert row["policy_refusals"] == 1 and row["first_reply_at"] == local(2, 10) + timedelta(seconds=90)
        assert row["sold"] and row["escrow_started"] and not row["test_drive_booked"]
        assert row["taken_over"] and row["takeover_buyer_asked"] and not row["takeover_scam"]
        assert kept[ids["2003"]]["listing_id"] == second_listing
        assert kept[ids["2004"]]["agreed_deals"] == 1 and kept[ids["2004"]]["price_agreed"]
        assert kept[ids["2004"]]["agreed_to_asking_sum"] == 0.54  # its one deal, asking 10,000
        agent = kept[ids["3001"]]
        assert agent["first_buyer_message_at"] is not None and agent["first_reply_at"] is not None
        assert agent["takeover_buyer_asked"]

        async with transaction(factory) as session:
            assert await rebuild_facts(session) == len(ids)
        assert await facts_rows(factory) == kept


def _before_facts() -> str:
    """The revision just before the one that creates ``conversation_facts`` (it must stay the head's
    ancestor with nothing after it that this test's code needs)."""
    scripts = ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite://"))
    for script in scripts.walk_revisions():
        if script.module.__name__.endswith("conversation_facts") or "conversation_facts" in script.path:
            down = script.down_revision
            assert isinstance(down, str)
            return down
    raise AssertionError("no conversation_facts migration")


async def test_every_facts_trigger_exists_after_migrating_to_head(
    database_url: str, make_settings: Make
) -> None:
    """A later migration that recreates a table (SQLite's batch mode) would drop its triggers silently."""
    async with sim_harness(make_settings, database_url) as h:
        dialect = "postgresql" if database_url.startswith("postgresql") else "sqlite"
        expected = {
            statement.split()[2]
            for statement in facts_sql.install_statements(dialect)
            if statement.startswith("CREATE TRIGGER")
        }
        query = (
            "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
            if dialect == "postgresql"
            else "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        )
        async with h.runtime.session_factory() as session:
            present = set((await session.execute(text(query))).scalars())
        assert expected and expected <= present, f"missing triggers: {sorted(expected - present)}"


# Columns a later migration added that today's code writes (it seeds the dataset on the schema just before
# the facts): added by hand for the seeding, dropped again before upgrading, so their migrations add them.
_LATER_COLUMNS = (
    ("messenger_messages", "claimed_at", {"postgresql": "TIMESTAMP WITH TIME ZONE"}),
    (
        "listings",
        "facts_revision",
        {"postgresql": "INTEGER NOT NULL DEFAULT 0", "sqlite": "INTEGER NOT NULL DEFAULT 0"},
    ),
)


async def _later_columns(database_url: str, *, add: bool) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            for table, column, types in _LATER_COLUMNS:
                kind = types.get(connection.dialect.name, "DATETIME")
                change = f"ADD COLUMN {column} {kind}" if add else f"DROP COLUMN {column}"
                await connection.execute(text(f"ALTER TABLE {table} {change}"))
    finally:
        await engine.dispose()


async def test_the_migration_counts_conversations_written_before_it(
    database_url: str, make_settings: Make
) -> None:
    # Alembic's env runs its own event loop: from a worker thread.
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), _before_facts())
    await _later_columns(database_url, add=True)
    try:
        async with sim_harness(make_settings, database_url) as h:
            await seed_dataset(h, DATASET)  # written while no facts table nor trigger exists
            async with h.runtime.session_factory() as session:
                tenant = await session.get(MessengerTenant, h.tenant_id)
                assert tenant is not None
                seller_id = tenant.seller_id
    finally:
        await _later_columns(database_url, add=False)
        await upgrade_async(database_url)
    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session:
            query = ReportQuery(date.fromisoformat(FROM), date.fromisoformat(TO))
            report = (await service.report(session, seller_id, query)).model_dump()
    finally:
        await engine.dispose()
    expected = by_hand(DATASET)
    assert report["total_conversations"] == expected["total_conversations"] == 4
    assert report["funnel"] == expected["funnel"]
    assert report["p90_response_time"] == expected["p90_response_time"]
    assert report["takeover_causes"] == expected["takeover_causes"]
    assert report["policy_refusals"] == expected["policy_refusals"]


def test_rebuild_command_recounts(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    upgrade(f"sqlite+aiosqlite:///{db}")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "accorria_agent.cli",
            "analytics",
            "rebuild",
            "--database-url",
            f"sqlite:///{db}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('{"conversations": 0')
