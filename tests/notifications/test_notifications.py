"""Notifications to the seller: one mail per event and channel, preferences and digests, a signed webhook
retried with backoff until it answers."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from accorria_agent.accounts.models import Member, Membership
from accorria_agent.db.engine import transaction
from accorria_agent.mail.interface import InMemoryMailer
from accorria_agent.notifications.models import NotificationDelivery, NotificationPreference
from accorria_agent.notifications.service import SIGNATURE_HEADER, TIMESTAMP_HEADER, backoff
from accorria_agent.notifications.tasks import run_once
from accorria_agent.sellers.models import MessengerTenant
from accorria_agent.sellers.notifications import notify_seller
from accorria_agent.settings import Settings
from tests.dashboard.conftest import auth_for_tenant, other_seller
from tests.sim_harness import SimHarness, sim_harness

Make = Callable[..., Settings]
SECRET = "webhook-secret-0123456789"


async def notify(h: SimHarness, kind: str, text: str, tenant_id: int | None = None) -> None:
    async with transaction(h.runtime.session_factory) as session:
        await notify_seller(session, tenant_id or h.tenant_id, None, kind, text)


async def one_pass(
    h: SimHarness,
    mailer: InMemoryMailer,
    http: httpx.AsyncClient,
    *,
    now: datetime | None = None,
    digest: bool = False,
) -> dict[str, int]:
    return await run_once(
        h.runtime.session_factory,
        mailer=mailer,
        http=http,
        cipher=h.runtime.cipher,
        now=now or h.runtime.clock(),
        digest=digest,
    )


async def test_each_event_is_mailed_once_by_the_members_preferences(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h, httpx.AsyncClient() as http:
        mailer = InMemoryMailer()
        headers = await auth_for_tenant(h, h.tenant_id)
        defaults = (await h.client.get("/api/notification-preferences", headers=headers)).json()
        assert defaults["email_mode"] == "immediate" and "handoff" in defaults["email_kinds"]
        await notify(h, "handoff", "A buyer asked for you.")
        await notify(h, "send_failed", "A message could not be delivered.")  # not in the default kinds
        await one_pass(h, mailer, http)
        await one_pass(h, mailer, http)  # a second pass (or a re-run job) sends nothing again
        assert [(m.to, m.subject) for m in mailer.sent] == [
            ("seller-100200300@example.com", "Accorria: handoff")
        ]
        assert mailer.sent[0].idempotency_key == "email:1:" + str(defaults["member_id"])

        # Seller B's notifications never reach A's mailbox, and B's preferences are B's own.
        other = await other_seller(h)
        await one_pass(h, mailer, http)
        # B's notification went to B's address only; A still has exactly the one mail.
        assert [m.to for m in mailer.sent] == ["seller-100200300@example.com", "seller-900800700@example.com"]
        mailer.sent.pop()
        put = await h.client.put(
            "/api/notification-preferences",
            headers=headers,
            json={"email_kinds": ["scam", "booking"], "email_mode": "digest"},
        )
        assert put.status_code == 200 and put.json()["email_mode"] == "digest"
        b_prefs = (await h.client.get("/api/notification-preferences", headers=other.headers)).json()
        assert b_prefs["email_mode"] == "immediate"  # A's choice is A's alone
        await notify(h, "scam", "Possible scam.")
        await notify(h, "booking", "Test drive booked Saturday 10:00.")
        await notify(h, "handoff", "Not wanted any more.")
        await one_pass(h, mailer, http)
        assert len(mailer.sent) == 1  # digest mode: nothing at once
        await one_pass(h, mailer, http, digest=True)
        await one_pass(h, mailer, http, digest=True)  # one digest a day
        assert len(mailer.sent) == 2
        digest = mailer.sent[1]
        assert digest.subject == "Accorria: your daily digest"
        assert (
            "Possible scam." in digest.text
            and "Saturday 10:00" in digest.text
            and "Not wanted" not in digest.text
        )

        for body in (
            {"email_kinds": ["nonsense"], "email_mode": "immediate"},
            {"email_kinds": [], "email_mode": "hourly"},
            {"email_mode": "immediate"},
        ):
            bad = await h.client.put("/api/notification-preferences", headers=headers, json=body)
            assert bad.status_code == 422
        assert (await h.client.get("/api/notification-preferences")).status_code == 401


async def test_each_member_is_mailed_at_their_own_address_by_their_own_preferences(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h, httpx.AsyncClient() as http:
        async with transaction(h.runtime.session_factory) as session:
            tenant = await session.get(MessengerTenant, h.tenant_id)
            assert tenant is not None
            owner = Member(email="owner@dealer.example", name="Owner", password_hash="x")
            staff = Member(email="staff@dealer.example", name="Staff", password_hash="x")
            session.add_all([owner, staff])
            await session.flush()
            session.add_all(
                [
                    Membership(seller_id=tenant.seller_id, member_id=owner.id, role="owner"),
                    Membership(seller_id=tenant.seller_id, member_id=staff.id, role="staff"),
                    NotificationPreference(
                        seller_id=tenant.seller_id,
                        member_id=staff.id,
                        email_kinds=["scam"],
                        email_mode="immediate",
                    ),
                ]
            )
            owner_id, staff_id = owner.id, staff.id
        mailer = InMemoryMailer()
        await notify(h, "handoff", "A buyer asked for you.")
        await notify(h, "scam", "Possible scam.")
        await one_pass(h, mailer, http)
        await one_pass(h, mailer, http)
        sent = sorted((m.to, m.subject, m.idempotency_key) for m in mailer.sent)
        assert sent == sorted(
            [
                ("owner@dealer.example", "Accorria: handoff", f"email:1:{owner_id}"),
                ("owner@dealer.example", "Accorria: scam", f"email:2:{owner_id}"),
                ("staff@dealer.example", "Accorria: scam", f"email:2:{staff_id}"),
            ]
        )
        # The account's own address is no longer mailed once it has members.
        assert all(m.to != "seller-100200300@example.com" for m in mailer.sent)


async def _two_members_on_the_digest(h: SimHarness, *, spare: bool = False) -> tuple[int, int, int]:
    """An owner and a staff member of the harness's account, both on the daily digest of "scam".

    With ``spare`` a member of no account is made first, so neither id is the seller's (1).
    """
    async with transaction(h.runtime.session_factory) as session:
        tenant = await session.get(MessengerTenant, h.tenant_id)
        assert tenant is not None
        if spare:
            session.add(Member(email="spare@elsewhere.example", name="Spare", password_hash="x"))
            await session.flush()
        owner = Member(email="owner@dealer.example", name="Owner", password_hash="x")
        staff = Member(email="staff@dealer.example", name="Staff", password_hash="x")
        session.add_all([owner, staff])
        await session.flush()
        session.add_all(
            [Membership(seller_id=tenant.seller_id, member_id=owner.id, role="owner")]
            + [Membership(seller_id=tenant.seller_id, member_id=staff.id, role="staff")]
            + [
                NotificationPreference(
                    seller_id=tenant.seller_id, member_id=member_id, email_kinds=["scam"], email_mode="digest"
                )
                for member_id in (owner.id, staff.id)
            ]
        )
        return tenant.seller_id, owner.id, staff.id


async def test_every_member_on_the_digest_gets_their_own_digest_once_a_day(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h, httpx.AsyncClient() as http:
        seller_id, owner_id, staff_id = await _two_members_on_the_digest(h)
        mailer = InMemoryMailer()
        morning = datetime(2031, 5, 6, 9, 0, tzinfo=UTC)
        await notify(h, "scam", "Possible scam.")
        await one_pass(h, mailer, http, now=morning)
        assert mailer.sent == []  # both wait for the digest
        await one_pass(h, mailer, http, now=morning.replace(hour=13), digest=True)
        await notify(h, "scam", "Another possible scam.")
        await one_pass(h, mailer, http, now=morning.replace(hour=14), digest=True)  # same day: nothing more
        assert sorted((m.to, m.subject, m.idempotency_key) for m in mailer.sent) == [
            (
                "owner@dealer.example",
                "Accorria: your daily digest",
                f"digest:{seller_id}:{owner_id}:2031-05-06",
            ),
            (
                "staff@dealer.example",
                "Accorria: your daily digest",
                f"digest:{seller_id}:{staff_id}:2031-05-06",
            ),
        ]
        assert all("Possible scam." in m.text and "Another" not in m.text for m in mailer.sent)

        # The next day each gets what waited since, once.
        await one_pass(h, mailer, http, now=morning + timedelta(days=1, hours=4), digest=True)
        await one_pass(h, mailer, http, now=morning + timedelta(days=1, hours=5), digest=True)
        assert sorted(m.to for m in mailer.sent[2:]) == ["owner@dealer.example", "staff@dealer.example"]
        assert all("Another possible scam." in m.text for m in mailer.sent[2:])


async def _sent_under_the_old_key(h: SimHarness, seller_id: int, to: str, now: datetime) -> None:
    """The row the code before the fix wrote for a digest: ``digest:<seller>:<seller>:<date>``."""
    async with transaction(h.runtime.session_factory) as session:
        session.add(
            NotificationDelivery(
                seller_id=seller_id,
                channel="digest",
                recipient=to,
                idempotency_key=f"digest:{seller_id}:{seller_id}:{now.date().isoformat()}",
                status="sent",
                attempts=1,
                created_at=now,
                delivered_at=now,
            )
        )


async def test_a_digest_sent_today_under_the_old_key_is_not_sent_again(
    database_url: str, make_settings: Make
) -> None:
    """A row of today keyed the old way went to its recipient, who gets no second digest that day; the
    account's other members still get theirs."""
    async with sim_harness(make_settings, database_url) as h, httpx.AsyncClient() as http:
        seller_id, owner_id, staff_id = await _two_members_on_the_digest(h, spare=True)
        assert seller_id not in (owner_id, staff_id)
        now = datetime(2031, 5, 6, 13, 0, tzinfo=UTC)
        await _sent_under_the_old_key(h, seller_id, "owner@dealer.example", now)
        mailer = InMemoryMailer()
        await notify(h, "scam", "Possible scam.")
        await one_pass(h, mailer, http, now=now, digest=True)
        await one_pass(h, mailer, http, now=now + timedelta(hours=1), digest=True)
        assert [(m.to, m.idempotency_key) for m in mailer.sent] == [
            ("staff@dealer.example", f"digest:{seller_id}:{staff_id}:2031-05-06")
        ]
        await one_pass(h, mailer, http, now=now + timedelta(days=1), digest=True)
        assert [(m.to, m.idempotency_key) for m in mailer.sent[1:]] == [
            ("owner@dealer.example", f"digest:{seller_id}:{owner_id}:2031-05-07")
        ]


async def test_a_member_whose_id_is_the_sellers_waits_a_day_when_the_old_key_went_to_another(
    database_url: str, make_settings: Make
) -> None:
    """The old key of today is also the new key of the member whose id is the seller's: when it went to
    another member, that one's digest waits for tomorrow (never a failed pass, never a second mail)."""
    async with sim_harness(make_settings, database_url) as h, httpx.AsyncClient() as http:
        seller_id, owner_id, staff_id = await _two_members_on_the_digest(h)
        assert owner_id == seller_id
        now = datetime(2031, 5, 6, 13, 0, tzinfo=UTC)
        await _sent_under_the_old_key(h, seller_id, "staff@dealer.example", now)
        mailer = InMemoryMailer()
        await notify(h, "scam", "Possible scam.")
        passes = [await one_pass(h, mailer, http, now=now, digest=True) for _ in range(2)]
        assert [p["digests"] for p in passes] == [0, 0] and mailer.sent == []
        await one_pass(h, mailer, http, now=now + timedelta(days=1), digest=True)
        assert sorted(m.idempotency_key for m in mailer.sent) == [
            f"digest:{seller_id}:{owner_id}:2031-05-07",
            f"digest:{seller_id}:{staff_id}:2031-05-07",
        ]


async def test_the_webhook_is_signed_and_retried_with_backoff(database_url: str, make_settings: Make) -> None:
    received: list[httpx.Request] = []
    answers = iter([503, 200, 200])

    def receiver(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(next(answers))

    async with (
        sim_harness(make_settings, database_url) as h,
        httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as http,
    ):
        mailer = InMemoryMailer()
        headers = await auth_for_tenant(h, h.tenant_id)
        put = await h.client.put(
            "/api/notification-webhook",
            headers=headers,
            json={"url": "https://hooks.example.com/accorria", "secret": SECRET},
        )
        assert put.status_code == 200 and SECRET not in put.text
        short = await h.client.put(
            "/api/notification-webhook", headers=headers, json={"url": "not a url", "secret": "short"}
        )
        assert short.status_code == 422
        await notify(h, "escrow", "Escrow funded for the 2018 Honda Civic.")
        now = h.runtime.clock()
        await one_pass(h, mailer, http, now=now)
        assert len(received) == 1  # 503: kept, retried later
        await one_pass(h, mailer, http, now=now + timedelta(seconds=5))
        assert len(received) == 1  # not before its backoff
        await one_pass(h, mailer, http, now=now + backoff(1) + timedelta(seconds=1))
        await one_pass(h, mailer, http, now=now + backoff(2) * 2)
        assert len(received) == 2  # delivered once, then never again
        request = received[-1]
        expected = hmac.new(
            SECRET.encode(),
            request.headers[TIMESTAMP_HEADER].encode() + b"." + request.content,
            hashlib.sha256,
        ).hexdigest()
        assert request.headers[SIGNATURE_HEADER] == f"sha256={expected}"
        assert json.loads(request.content)["kind"] == "escrow"
        async with h.runtime.session_factory() as session:
            rows = (await session.execute(select(NotificationDelivery))).scalars().all()
        assert sorted((r.channel, r.status, r.attempts) for r in rows) == [
            ("email", "sent", 1),
            ("webhook", "sent", 2),
        ]
        assert [m.subject for m in mailer.sent] == ["Accorria: escrow"]
