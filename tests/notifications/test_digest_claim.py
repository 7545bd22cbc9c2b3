"""The daily digest is claimed (its row committed as ``sending``) before its mail goes: a second worker's
pass, or the pass after one whose transaction failed, never mails a member the same digest again; a claim
whose worker died is taken over once stale."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from accorria_agent.crypto import TokenCipher
from accorria_agent.db.engine import create_engine, create_session_factory, transaction
from accorria_agent.mail.interface import Mailer, OutgoingMail
from accorria_agent.notifications import tasks
from accorria_agent.notifications.models import NotificationDelivery, NotificationPreference
from accorria_agent.notifications.tasks import run_once
from accorria_agent.sellers import service as sellers
from accorria_agent.sellers.models import MessengerTenant
from accorria_agent.sellers.notifications import notify_seller
from accorria_agent.settings import Settings
from tests.conftest import migrated_postgres_database
from tests.sim_harness import SimHarness, sim_harness

Make = Callable[..., Settings]
NOON = datetime(2031, 5, 6, 13, 0, tzinfo=UTC)


@dataclass
class EveryCallMailer:
    """Records every send, the same key included (SMTP does not drop a repeated key: only the fake does)."""

    calls: list[OutgoingMail] = field(default_factory=list)
    after_send: Callable[[], None] | None = None

    async def send(self, mail: OutgoingMail) -> None:
        self.calls.append(mail)
        if self.after_send is not None:
            self.after_send()


@dataclass
class BlockingMailer:
    """Holds every send until ``release`` is set; ``arrived[n]`` is set once n + 1 sends have started."""

    calls: list[OutgoingMail] = field(default_factory=list)
    arrived: tuple[asyncio.Event, asyncio.Event] = field(
        default_factory=lambda: (asyncio.Event(), asyncio.Event())
    )
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, mail: OutgoingMail) -> None:
        self.calls.append(mail)
        self.arrived[min(len(self.calls), 2) - 1].set()
        await self.release.wait()


async def _digest_pass(
    factory: async_sessionmaker[AsyncSession], mailer: Mailer, now: datetime, cipher: TokenCipher
) -> dict[str, int]:
    async with httpx.AsyncClient() as http:
        return await run_once(factory, mailer=mailer, http=http, cipher=cipher, now=now, digest=True)


async def _on_the_digest(factory: async_sessionmaker[AsyncSession], seller_id: int) -> None:
    """The account's only recipient (member 0: no members) wants "scam" in the daily digest."""
    async with transaction(factory) as session:
        session.add(
            NotificationPreference(
                seller_id=seller_id, member_id=0, email_kinds=["scam"], email_mode="digest"
            )
        )


async def _notify(factory: async_sessionmaker[AsyncSession], tenant_id: int, text: str) -> None:
    async with transaction(factory) as session:
        await notify_seller(session, tenant_id, None, "scam", text)


async def _rows(factory: async_sessionmaker[AsyncSession]) -> list[tuple[str, str, str]]:
    async with transaction(factory) as session:
        rows = (await session.scalars(select(NotificationDelivery).order_by(NotificationDelivery.id))).all()
        return [(r.channel, r.status, r.idempotency_key) for r in rows]


@pytest.fixture
def race_database() -> Iterator[str]:
    with migrated_postgres_database("accorria_digest_race") as url:
        yield url


@pytest.mark.postgres
async def test_two_digest_passes_at_once_mail_the_member_once(race_database: str) -> None:
    """Pass A is at its send when a new notification arrives and pass B runs. Before the claim, B locked the
    new delivery (A's were locked, skipped), saw no digest row (A's was not committed) and mailed the same
    digest too; its insert then failed on the unique key, after the mail went."""
    engine = create_engine(race_database)
    factory = create_session_factory(engine)
    cipher = TokenCipher(Fernet.generate_key().decode())
    mailer = BlockingMailer()
    try:
        async with transaction(factory) as session:
            seller = await sellers.create_seller(session, "Digest Seller", "digest@example.com")
            tenant = await sellers.connect_page(
                session, cipher, seller, page_id="555000222", page_name="Digest Cars", page_access_token="t"
            )
            seller_id, tenant_id = seller.id, tenant.id
        await _on_the_digest(factory, seller_id)
        await _notify(factory, tenant_id, "Possible scam.")
        pass_a = asyncio.create_task(_digest_pass(factory, mailer, NOON, cipher))
        await asyncio.wait_for(mailer.arrived[0].wait(), 10)
        await _notify(factory, tenant_id, "Another possible scam.")
        pass_b = asyncio.create_task(_digest_pass(factory, mailer, NOON, cipher))
        second_send = asyncio.create_task(mailer.arrived[1].wait())
        # B either finishes (it found the digest claimed) or reaches the send too (the bug).
        await asyncio.wait({pass_b, second_send}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        second_send.cancel()
        mailer.release.set()
        results = await asyncio.gather(pass_a, pass_b, return_exceptions=True)

        key = f"digest:{seller_id}:0:2031-05-06"
        assert [(m.to, m.idempotency_key) for m in mailer.calls] == [("digest@example.com", key)]
        assert [
            r if isinstance(r, BaseException) else (r["digests"], r["digests_held"]) for r in results
        ] == [
            (1, 0),
            (0, 1),  # B left the member's digest to A's claim
        ]
        # A's digest carried what waited when it read; the later one waits for tomorrow's digest.
        assert await _rows(factory) == [
            ("email", "digested", "email:1:0"),
            ("digest", "sent", key),
            ("email", "digest", "email:2:0"),
        ]
    finally:
        mailer.release.set()
        await engine.dispose()


@pytest.fixture
def failing_commits() -> Iterator[list[bool]]:
    """While its one flag is set, every session's commit fails (a database gone at the wrong moment)."""
    armed = [False]

    def fail(session: Session) -> None:
        if armed[0]:
            raise RuntimeError("database went away")

    event.listen(Session, "before_commit", fail)
    try:
        yield armed
    finally:
        event.remove(Session, "before_commit", fail)


async def _harness_seller(h: SimHarness) -> int:
    async with transaction(h.runtime.session_factory) as session:
        tenant = await session.get(MessengerTenant, h.tenant_id)
        assert tenant is not None
        return tenant.seller_id


async def test_a_digest_whose_transaction_fails_after_the_send_is_not_mailed_again_by_the_next_pass(
    database_url: str, make_settings: Make, failing_commits: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the claim the digest row and the send shared one transaction: when it failed after the mail
    went, the next pass found nothing sent and mailed the digest again."""
    monkeypatch.setattr(tasks, "RECORD_RETRY_SECONDS", 0, raising=False)
    async with sim_harness(make_settings, database_url) as h:
        factory = h.runtime.session_factory
        seller_id = await _harness_seller(h)
        await _on_the_digest(factory, seller_id)
        await _notify(factory, h.tenant_id, "Possible scam.")

        def database_goes_away() -> None:
            failing_commits[0] = True

        mailer = EveryCallMailer(after_send=database_goes_away)
        try:
            await _digest_pass(factory, mailer, NOON, h.runtime.cipher)
        except Exception:  # the pass may fail as a whole (it did before the claim)
            pass
        failing_commits[0] = False
        mailer.after_send = None
        again = await _digest_pass(factory, mailer, NOON + timedelta(minutes=1), h.runtime.cipher)

        key = f"digest:{seller_id}:0:2031-05-06"
        assert [m.idempotency_key for m in mailer.calls] == [key]
        assert (again["digests"], again["digests_held"]) == (0, 1)
        assert ("digest", "sending", key) in await _rows(factory)  # the claim waits to go stale


async def test_a_stale_digest_claim_is_taken_over_and_mailed_once_with_the_same_key(
    database_url: str, make_settings: Make
) -> None:
    """A worker that claimed the digest and died: nobody mails it while the claim is fresh; once stale it is
    mailed (again, if that worker had sent it: the one at-least-once window, with the same key), once."""
    async with sim_harness(make_settings, database_url) as h:
        factory = h.runtime.session_factory
        seller_id = await _harness_seller(h)
        await _on_the_digest(factory, seller_id)
        await _notify(factory, h.tenant_id, "Possible scam.")
        key = f"digest:{seller_id}:0:2031-05-06"
        async with transaction(factory) as session:
            session.add(
                NotificationDelivery(
                    seller_id=seller_id,
                    channel="digest",
                    recipient="seller-100200300@example.com",
                    idempotency_key=key,
                    status="sending",
                    attempts=1,
                    next_attempt_at=NOON + timedelta(minutes=15),
                    created_at=NOON,
                )
            )
        mailer = EveryCallMailer()
        fresh = await _digest_pass(factory, mailer, NOON + timedelta(minutes=14), h.runtime.cipher)
        assert mailer.calls == [] and (fresh["digests"], fresh["digests_held"]) == (0, 1)
        stale = await _digest_pass(factory, mailer, NOON + timedelta(minutes=16), h.runtime.cipher)
        after = await _digest_pass(factory, mailer, NOON + timedelta(minutes=17), h.runtime.cipher)
        assert (stale["digests"], stale["digests_held"]) == (1, 0)
        assert (after["digests"], after["digests_held"]) == (0, 0)
        assert [(m.to, m.idempotency_key) for m in mailer.calls] == [("seller-100200300@example.com", key)]
        rows = await _rows(factory)
        assert ("digest", "sent", key) in rows and ("email", "digested", "email:1:0") in rows


async def test_a_refused_digest_is_retried_after_its_backoff(database_url: str, make_settings: Make) -> None:
    """The mailer refused: nothing went, so the claim is retried once its backoff has passed, not before."""
    async with sim_harness(make_settings, database_url) as h:
        factory = h.runtime.session_factory
        seller_id = await _harness_seller(h)
        await _on_the_digest(factory, seller_id)
        await _notify(factory, h.tenant_id, "Possible scam.")
        refusals = iter([True])

        def refuse_once() -> None:
            if next(refusals, False):
                raise ConnectionError("smtp down")

        mailer = EveryCallMailer(after_send=refuse_once)
        first = await _digest_pass(factory, mailer, NOON, h.runtime.cipher)
        early = await _digest_pass(factory, mailer, NOON + timedelta(seconds=10), h.runtime.cipher)
        late = await _digest_pass(factory, mailer, NOON + timedelta(seconds=31), h.runtime.cipher)
        assert [(p["digests"], p["digests_held"]) for p in (first, early, late)] == [(0, 1), (0, 1), (1, 0)]
        assert len(mailer.calls) == 2  # the refused attempt, then the one that went
        assert ("digest", "sent", f"digest:{seller_id}:0:2031-05-06") in await _rows(factory)
