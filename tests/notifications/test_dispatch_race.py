"""Two workers' first notification passes on a new database: one records the deliveries, the other waits
for it and records nothing again; neither fails on the watermark row both would create."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from accorria_agent.crypto import TokenCipher
from accorria_agent.db.engine import create_engine, create_session_factory, transaction
from accorria_agent.mail.interface import InMemoryMailer
from accorria_agent.notifications import service
from accorria_agent.notifications.models import NotificationDelivery, NotificationDispatchState
from accorria_agent.notifications.tasks import run_once
from accorria_agent.sellers import service as sellers
from accorria_agent.sellers.notifications import notify_seller
from tests.conftest import migrated_postgres_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def new_database() -> Iterator[str]:
    """A migrated database no notification pass has run on yet (no watermark row)."""
    with migrated_postgres_database("accorria_notif_race") as url:
        yield url


async def _seed(factory: async_sessionmaker[AsyncSession], cipher: TokenCipher) -> list[int]:
    """One seller (no members: mail goes to the seller's address) with two notifications it wants."""
    async with transaction(factory) as session:
        seller = await sellers.create_seller(session, "Race Seller", "race@example.com")
        tenant = await sellers.connect_page(
            session, cipher, seller, page_id="555000111", page_name="Race Cars", page_access_token="token"
        )
        first = await notify_seller(session, tenant.id, None, "handoff", "A buyer asked for you.")
        second = await notify_seller(session, tenant.id, None, "scam", "A buyer looks like a scammer.")
        await session.flush()
        return [first.id, second.id]


async def _wait_until_a_backend_waits_for_a_lock(engine: AsyncEngine, pass_b: asyncio.Task[object]) -> None:
    async with engine.connect() as connection:
        for _ in range(200):
            waiting = await connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            await connection.commit()  # pg_stat_activity is read once per transaction
            if waiting or pass_b.done():
                return
            await asyncio.sleep(0.05)
    pytest.fail("the second pass neither waited for the first nor finished within 10 s")


@pytest.mark.parametrize("first_pass_ends", ["commit", "rollback"])
async def test_two_first_passes_at_once_record_and_send_each_notification_once(
    new_database: str, first_pass_ends: str
) -> None:
    engine = create_engine(new_database)
    factory = create_session_factory(engine)
    cipher = TokenCipher(Fernet.generate_key().decode())
    mailer = InMemoryMailer()
    now = datetime.now(UTC)
    try:
        ids = await _seed(factory, cipher)
        async with httpx.AsyncClient() as http:
            # Worker A's pass has found no watermark row, created it and recorded the deliveries, and has
            # not committed yet when worker B's pass starts (two workers started on a new database).
            async with factory() as session_a:
                await session_a.begin()
                assert await service.dispatch(session_a, now) == 2
                pass_b = asyncio.create_task(
                    run_once(factory, mailer=mailer, http=http, cipher=cipher, now=now)
                )
                await _wait_until_a_backend_waits_for_a_lock(engine, pass_b)
                if first_pass_ends == "commit":
                    await session_a.commit()
                else:
                    await session_a.rollback()
            # Before the fix B inserted the same watermark row: IntegrityError (notification_pass_failed).
            result_b = await pass_b
            again = await run_once(factory, mailer=mailer, http=http, cipher=cipher, now=now)

        assert result_b == {
            "recorded": 0 if first_pass_ends == "commit" else 2,
            "sent": 2,
            "digests": 0,
            "digests_held": 0,
        }
        assert again == {"recorded": 0, "sent": 0, "digests": 0, "digests_held": 0}
        expected = [f"email:{ids[0]}:0", f"email:{ids[1]}:0"]
        assert sorted(m.idempotency_key for m in mailer.sent) == expected
        async with transaction(factory) as session:
            keys = (await session.scalars(select(NotificationDelivery.idempotency_key))).all()
            states = (await session.scalars(select(NotificationDispatchState))).all()
        assert sorted(keys) == expected
        assert [(s.id, s.last_notification_id) for s in states] == [(1, ids[1])]
    finally:
        await engine.dispose()
