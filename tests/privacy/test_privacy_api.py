"""Privacy end to end over HTTP, on SQLite and PostgreSQL: Meta's callbacks, buyer erasure, account
deletion, export and the retention purge (old text gone, counts intact, recent kept)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select, update
from structlog.testing import capture_logs

from accorria_agent.conversations.models import Conversation, Message
from accorria_agent.db.engine import transaction
from accorria_agent.deals.models import Deal
from accorria_agent.messenger.models import EventLog, WebhookDelivery
from accorria_agent.privacy.models import PrivacyRequest
from accorria_agent.privacy.tasks import PURGE_TASK, purge_and_reschedule
from accorria_agent.sellers.models import Listing, MessengerTenant, Seller
from accorria_agent.settings import Settings
from tests.fakes.graph import FakeGraph
from tests.helpers import Harness, harness, seed
from tests.privacy.support import (
    buyer_writes,
    count,
    headers_for,
    link_facebook_user,
    seller_of,
    signed_form,
)

Make = Callable[..., Settings]
OTHER_PAGE = "900800700"


async def _texts(h: Harness, psid_or_conversation: int) -> list[str | None]:
    async with h.runtime.session_factory() as session:
        rows = await session.execute(
            select(Message.text).where(Message.conversation_id == psid_or_conversation).order_by(Message.id)
        )
        return list(rows.scalars())


async def _conversation(h: Harness, tenant_id: int, psid: str) -> Conversation:
    async with h.runtime.session_factory() as session:
        row = (
            await session.execute(
                select(Conversation).where(
                    Conversation.tenant_id == tenant_id, Conversation.buyer_psid == psid
                )
            )
        ).scalar_one()
        return row


async def test_data_deletion_callback_deletes_that_users_pages_and_answers_a_status_url(
    database_url: str, make_settings: Make
) -> None:
    async with harness(make_settings(DATABASE_URL=database_url), FakeGraph().transport) as h:
        await buyer_writes(h, "7001", "Hi, is the car still available?")
        other_tenant, _ = await seed(h.runtime, page_id=OTHER_PAGE)
        await buyer_writes(h, "7002", "Hello there", page_id=OTHER_PAGE)
        await link_facebook_user(h, h.tenant_id, "5550001")
        assert await count(h, EventLog, EventLog.tenant_id == h.tenant_id) >= 1

        form = signed_form(h, {"algorithm": "HMAC-SHA256", "user_id": "5550001", "issued_at": 1})
        answer = await h.client.post("/facebook/data-deletion", data=form)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        code = body["confirmation_code"]
        # PUBLIC_BASE_URL (where Meta reaches us) starts the status URL.
        base = h.runtime.settings.public_base_url.rstrip("/")
        assert body["url"] == f"{base}/facebook/data-deletion/status?code={code}"
        # That user's Page is gone with its conversations, messages and events log; the other one is intact.
        assert await count(h, MessengerTenant, MessengerTenant.id == h.tenant_id) == 0
        assert await count(h, Message, Message.tenant_id == h.tenant_id) == 0
        assert await count(h, EventLog, EventLog.page_id == h.page_id) == 0
        assert await count(h, Message, Message.tenant_id == other_tenant) >= 1

        status = await h.client.get("/facebook/data-deletion/status", params={"code": code})
        assert status.status_code == 200
        assert status.json()["status"] == "completed" and status.json()["confirmation_code"] == code
        page = await h.client.get(
            "/facebook/data-deletion/status", params={"code": code}, headers={"Accept": "text/html"}
        )
        assert page.headers["content-type"].startswith("text/html") and code in page.text
        assert (
            await h.client.get("/facebook/data-deletion/status", params={"code": "nope"})
        ).status_code == 404
        injected = await h.client.get("/facebook/data-deletion/status", params={"code": "<script>"})
        assert injected.status_code == 404 and "<script>" not in injected.text


async def test_bad_signed_requests_are_400_recorded_and_change_nothing(
    database_url: str, make_settings: Make
) -> None:
    async with harness(make_settings(DATABASE_URL=database_url), FakeGraph().transport) as h:
        await link_facebook_user(h, h.tenant_id, "5550001")
        good = {"algorithm": "HMAC-SHA256", "user_id": "5550001"}
        attempts = {
            "bad signature": signed_form(h, good, secret="not-the-app-secret-at-all-0000"),
            "wrong algorithm": signed_form(h, {**good, "algorithm": "HMAC-SHA1"}),
            "malformed": {"signed_request": "definitely.not.valid"},
            "missing": {"other": "x"},
        }
        for path in ("/facebook/data-deletion", "/facebook/deauthorize"):
            for name, form in attempts.items():
                with capture_logs() as logs:
                    response = await h.client.post(path, data=form)
                assert response.status_code == 400, (path, name, response.text)
                assert response.json()["code"] == "invalid_signed_request"
                assert any(entry["event"] == "signed_request_refused" for entry in logs)
        raw = await h.client.post(
            "/facebook/deauthorize",
            content=b"\xff\xfe\x00garbage",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert raw.status_code == 400
        assert await count(h, MessengerTenant, MessengerTenant.status == "active") == 1
        assert await count(h, PrivacyRequest) == 0


async def test_deauthorize_marks_the_users_pages_for_reconnection_and_drops_their_token(
    database_url: str, make_settings: Make
) -> None:
    async with harness(make_settings(DATABASE_URL=database_url), FakeGraph().transport) as h:
        await buyer_writes(h, "7001", "Hi, is the car still available?")
        await link_facebook_user(h, h.tenant_id, "5550001")
        form = signed_form(h, {"algorithm": "HMAC-SHA256", "user_id": "5550001"})
        response = await h.client.post("/facebook/deauthorize", data=form)
        assert response.status_code == 200
        async with h.runtime.session_factory() as session:
            tenant = await session.get(MessengerTenant, h.tenant_id)
        assert tenant is not None and tenant.status == "needs_reauth"
        assert tenant.page_access_token_encrypted == ""
        # The seller's conversations stay; only the void authorisation is gone.
        assert await count(h, Message, Message.tenant_id == h.tenant_id) >= 1


async def test_an_owner_erases_a_buyer_by_psid_and_counts_stay(
    database_url: str, make_settings: Make
) -> None:
    async with harness(make_settings(DATABASE_URL=database_url), FakeGraph().transport) as h:
        await buyer_writes(h, "7001", "Hi, my name is Jane Roe, is it available?")
        await buyer_writes(h, "7009", "Another buyer entirely")
        conversation = await _conversation(h, h.tenant_id, "7001")
        messages_before = await count(h, Message, Message.conversation_id == conversation.id)
        events_before = await count(h, EventLog, EventLog.page_id == h.page_id)
        headers = await headers_for(h, h.tenant_id)

        response = await h.client.post(
            "/api/privacy/buyers/delete", json={"page_id": h.page_id, "psid": "7001"}, headers=headers
        )
        assert response.status_code == 200, response.text
        record = response.json()
        assert record["kind"] == "buyer_deletion" and record["counts"]["messages"] == messages_before
        assert "7001" not in response.text

        assert await _texts(h, conversation.id) == [None] * messages_before
        assert await count(h, Message, Message.conversation_id == conversation.id) == messages_before
        assert await count(h, EventLog, EventLog.page_id == h.page_id) == events_before
        assert await count(h, EventLog, EventLog.buyer_psid == "7001") == 0
        async with h.runtime.session_factory() as session:
            erased = await session.get(Conversation, conversation.id)
            payloads = (
                await session.execute(select(EventLog.payload).where(EventLog.page_id == h.page_id))
            ).scalars()
            bodies = (await session.execute(select(WebhookDelivery.body))).scalars()
            assert erased is not None and erased.buyer_psid.startswith("erased") and erased.buyer_name is None
            assert all("Jane Roe" not in str(p) for p in payloads)
            assert all("7001" not in body for body in bodies)
            privacy = (await session.execute(select(PrivacyRequest))).scalar_one()
        assert "7001" not in str(privacy.counts) and privacy.actor_kind == "member"
        # The other buyer is untouched.
        other = await _conversation(h, h.tenant_id, "7009")
        assert "Another buyer entirely" in await _texts(h, other.id)

        # By conversation id too; erasing twice is a clear 404, someone else's Page is 404.
        again = await h.client.delete(f"/api/conversations/{other.id}/buyer-data", headers=headers)
        assert again.status_code == 200 and again.json()["counts"]["conversations"] == 1
        twice = await h.client.delete(f"/api/conversations/{other.id}/buyer-data", headers=headers)
        assert twice.status_code == 404
        stranger = await h.client.post(
            "/api/privacy/buyers/delete", json={"page_id": "424242", "psid": "7001"}, headers=headers
        )
        assert stranger.status_code == 404
        bad = await h.client.post(
            "/api/privacy/buyers/delete", json={"page_id": h.page_id, "psid": "7001%"}, headers=headers
        )
        assert bad.status_code == 422


async def test_an_owner_deletes_the_whole_account_with_explicit_confirmation(
    database_url: str, make_settings: Make
) -> None:
    async with harness(make_settings(DATABASE_URL=database_url), FakeGraph().transport) as h:
        await buyer_writes(h, "7001", "Hi, is the car still available?")
        other_tenant, _ = await seed(h.runtime, page_id=OTHER_PAGE)
        await buyer_writes(h, "7002", "Hello", page_id=OTHER_PAGE)
        headers = await headers_for(h, h.tenant_id)
        seller_id = await seller_of(h, h.tenant_id)

        refused = await h.client.request("DELETE", "/api/account", json={"confirm": "yes"}, headers=headers)
        assert refused.status_code == 400 and refused.json()["code"] == "confirmation_required"
        assert await count(h, Seller, Seller.id == seller_id) == 1

        response = await h.client.request(
            "DELETE", "/api/account", json={"confirm": "DELETE MY ACCOUNT"}, headers=headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["counts"]["accounts"] == 1
        for model, column in (
            (Seller, Seller.id),
            (Listing, Listing.seller_id),
            (MessengerTenant, MessengerTenant.seller_id),
            (Deal, Deal.seller_id),
        ):
            assert await count(h, model, column == seller_id) == 0
        assert await count(h, Message, Message.tenant_id == h.tenant_id) == 0
        assert await count(h, Conversation, Conversation.tenant_id == h.tenant_id) == 0
        assert await count(h, EventLog, EventLog.page_id == h.page_id) == 0
        # The other seller keeps everything.
        assert await count(h, Message, Message.tenant_id == other_tenant) >= 1
        assert await count(h, EventLog, EventLog.tenant_id == other_tenant) >= 1
        # A session of the deleted account can no longer reach any data.
        export = await h.client.get("/api/export", headers=headers)
        assert export.status_code == 401  # the session names an account that no longer exists


async def test_export_holds_everything_of_the_account_and_no_token(
    database_url: str, make_settings: Make
) -> None:
    async with harness(make_settings(DATABASE_URL=database_url), FakeGraph().transport) as h:
        await buyer_writes(h, "7001", "Would you take 9000?")
        await seed(h.runtime, page_id=OTHER_PAGE)
        await buyer_writes(h, "7002", "Other seller's buyer", page_id=OTHER_PAGE)
        response = await h.client.get("/api/export", headers=await headers_for(h, h.tenant_id))
        assert response.status_code == 200
        assert "attachment" in response.headers["content-disposition"]
        data = response.json()
        assert set(data) >= {"account", "pages", "listings", "conversations", "messages", "deals"}
        assert [page["page_id"] for page in data["pages"]] == [h.page_id]
        assert "page_access_token_encrypted" not in data["pages"][0]
        assert "page-token-abc" not in response.text
        assert [c["buyer_psid"] for c in data["conversations"]] == ["7001"]
        assert "Would you take 9000?" in [m["text"] for m in data["messages"]]
        assert "Other seller's buyer" not in response.text
        assert isinstance(data["listings"][0]["asking_price"], str)  # money stays exact


async def test_retention_purge_clears_old_text_keeps_counts_and_recent_data(
    database_url: str, make_settings: Make
) -> None:
    async with harness(
        make_settings(DATABASE_URL=database_url, RETENTION_DAYS=90), FakeGraph().transport
    ) as h:
        await buyer_writes(h, "7001", "An old message from March")
        await buyer_writes(h, "7002", "A recent message")
        old = await _conversation(h, h.tenant_id, "7001")
        recent = await _conversation(h, h.tenant_id, "7002")
        long_ago = h.runtime.clock() - timedelta(days=91)
        async with transaction(h.runtime.session_factory) as session:
            await session.execute(
                update(Message).where(Message.conversation_id == old.id).values(sent_at=long_ago)
            )
            await session.execute(
                update(EventLog).where(EventLog.buyer_psid == "7001").values(received_at=long_ago)
            )
            session.add(
                WebhookDelivery(object="user", event_count=0, body='{"psid": "7001"}', received_at=long_ago)
            )
        total_messages = await count(h, Message)
        total_events = await count(h, EventLog)
        outbound_old = await _texts(h, old.id)

        record = await purge_and_reschedule(
            h.runtime.session_factory, h.runtime.queue, h.runtime.clock, h.runtime.settings.retention_days
        )
        assert (
            record.counts["messages"] >= 1
            and record.counts["events"] >= 1
            and record.counts["deliveries"] == 1
        )
        async with h.runtime.session_factory() as session:
            old_rows = (
                (
                    await session.execute(
                        select(Message).where(Message.conversation_id == old.id).order_by(Message.id)
                    )
                )
                .scalars()
                .all()
            )
            old_events = (
                await session.execute(select(EventLog).where(EventLog.buyer_psid == "7001"))
            ).scalars()
            assert all(m.text is None for m in old_rows if m.author == "buyer")
            assert all(m.payload == {} for m in old_rows)
            # The bot's own replies keep their text; only the buyer's words are purged.
            assert [m.text for m in old_rows if m.author != "buyer"] == [
                t for t, m in zip(outbound_old, old_rows, strict=True) if m.author != "buyer"
            ]
            assert all(e.payload == {} for e in old_events)
            assert (
                await session.execute(
                    select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.body != "")
                )
            ).scalar_one() == 0
        assert "A recent message" in await _texts(h, recent.id)
        assert await count(h, Message) == total_messages and await count(h, EventLog) == total_events
        # The next run is scheduled (one waiting at most), and a second purge finds nothing left.
        again = await purge_and_reschedule(
            h.runtime.session_factory, h.runtime.queue, h.runtime.clock, h.runtime.settings.retention_days
        )
        assert again.counts == {"messages": 0, "events": 0, "deliveries": 0}
        assert PURGE_TASK in h.runtime.registry.names()
