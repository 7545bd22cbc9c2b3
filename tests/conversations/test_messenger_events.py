"""Every webhook event and send rule, end to end through the simulator: what is stored, what is sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select, text

from accorria_agent.conversations import repository as repo
from accorria_agent.conversations.models import Message
from accorria_agent.db.engine import transaction
from accorria_agent.messenger.models import EventLog
from accorria_agent.sellers.models import MessengerTenant
from accorria_agent.sellers.notifications import SellerNotification
from accorria_agent.settings import Settings
from tests.helpers import delivery, text_event
from tests.sim_harness import sim_harness

Make = Callable[..., Settings]


async def test_seller_typing_in_page_inbox_pauses_the_bot_for_that_buyer(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await h.say("1001", "hi is it available?")
        assert len(h.sent_texts("1001")) == 1
        h.sim.inbox_message("1001", "Hey, this is the owner. Yes it is!")
        await h.settle()
        await h.say("1001", "great, would you take 9k?")
        assert len(h.sent_texts("1001")) == 1  # no bot reply after the seller spoke
        conversation = await h.conversation("1001")
        assert conversation.mode == "paused"
        authors = [m.author for m in await h.messages("1001")]
        assert authors == ["buyer", "bot", "seller", "buyer"]
        # Another buyer is not affected.
        await h.say("1002", "hello")
        assert len(h.sent_texts("1002")) == 1


async def test_our_own_echo_is_reconciled_and_never_answered(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await h.say("1003", "hello")
        messages = await h.messages("1003")
        bot = [m for m in messages if m.author == "bot"]
        assert len(bot) == 1 and bot[0].status in ("sent", "delivered")
        assert bot[0].mid is not None
        async with h.runtime.session_factory() as session:
            echoes = (await session.execute(select(EventLog).where(EventLog.kind == "echo"))).scalars().all()
        assert echoes and all(e.outcome == "echo: reconciled" for e in echoes)
        assert len(h.sent_texts("1003")) == 1
        assos = await h.conversation("1003")
        assert assos.mode == "bot"


async def test_talk_to_the_seller_hands_off_once(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await h.say("1004", "hi")
        await h.say("1004", None, quick_reply="TALK_TO_SELLER")
        texts = h.sent_texts("1004")
        assert len(texts) == 2
        assert "seller" in texts[1].lower()
        conversation = await h.conversation("1004")
        assert conversation.mode == "handed_off"
        assert any(e.path.endswith("/pass_thread_control") for e in h.sim.state.sent) or h.sim.state.thread(
            "1004"
        )
        async with h.runtime.session_factory() as session:
            notes = (await session.execute(select(SellerNotification))).scalars().all()
        assert [n.kind for n in notes] == ["handoff"]
        await h.say("1004", "hello? anyone?")
        assert len(h.sent_texts("1004")) == 2  # told once; the seller answers from now on


async def test_a_scam_is_warned_and_handed_to_the_seller(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await h.say(
            "1005", "I will send a cashier's check for more, my shipper picks it up, refund the difference"
        )
        texts = h.sent_texts("1005")
        assert len(texts) == 1
        conversation = await h.conversation("1005")
        assert conversation.mode == "handed_off"
        async with h.runtime.session_factory() as session:
            kinds = [n.kind for n in (await session.execute(select(SellerNotification))).scalars()]
        assert kinds == ["scam"]


async def test_a_reply_prepared_in_the_window_but_sent_after_it_closed_is_refused(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await h.say("1006", "hi")
        before = len(h.sim.state.sent)
        async with transaction(h.runtime.session_factory) as session:
            conversation = await repo.conversation_for(session, h.tenant_id, "1006")
            assert conversation is not None
            late = repo.new_outbound(
                conversation, author="bot", text="Still interested?", payload={}, now=h.runtime.clock()
            )
            session.add(late)
            await session.flush()
            late_id = late.id
        h.sim.state.advance(timedelta(hours=24, minutes=1).total_seconds())
        await h.runtime.delivery.deliver(h.tenant_id, [late_id])
        assert len(h.sim.state.sent) == before  # never attempted
        async with h.runtime.session_factory() as session:
            stored = await session.get(Message, late_id)
            notes = (await session.execute(select(SellerNotification))).scalars().all()
        assert stored is not None and stored.status == "refused"
        assert "24 hours" in (stored.status_reason or "")
        assert [n.kind for n in notes] == ["send_refused"]


async def test_reads_deliveries_reactions_and_edits_update_what_is_stored(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await h.say("1007", "is it available?")
        await h.sim.buyer_event("1007", "delivery", {})
        await h.settle()
        bot = [m for m in await h.messages("1007") if m.author == "bot"][0]
        assert bot.status == "delivered"
        await h.sim.buyer_event("1007", "read", {})
        await h.settle()
        bot = [m for m in await h.messages("1007") if m.author == "bot"][0]
        assert bot.status == "read"
        await h.sim.buyer_event("1007", "reaction", {"mid": bot.mid, "reaction": "love"})
        await h.settle()
        bot = [m for m in await h.messages("1007") if m.author == "bot"][0]
        assert bot.payload.get("reactions", {}).get("buyer")
        buyer = [m for m in await h.messages("1007") if m.author == "buyer"][0]
        await h.sim.buyer_event("1007", "edit", {"mid": buyer.mid, "text": "is it still available??"})
        await h.settle()
        buyer = [m for m in await h.messages("1007") if m.author == "buyer"][0]
        assert buyer.text == "is it still available??"
        assert len(h.sent_texts("1007")) == 1  # the edit earned no second reply
        # Reads and deliveries do not reopen the window.
        conversation = await h.conversation("1007")
        assert conversation.last_buyer_message_at == buyer.sent_at


async def test_a_like_gets_no_reply_and_a_photo_gets_one(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await h.say("1008", "hello")
        await h.say("1008", None, like=True)
        assert len(h.sent_texts("1008")) == 1
        stored = await h.messages("1008")
        assert stored[-1].author == "buyer" and stored[-1].payload.get("sticker_id") == 369239263222822
        await h.say(
            "1008", None, attachments=[{"type": "image", "payload": {"url": "https://example.com/a.jpg"}}]
        )
        assert len(h.sent_texts("1008")) == 2


async def test_an_m_me_referral_attaches_the_listing(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await h.sim.buyer_event("1009", "referral", {"ref": f"listing_{h.listing_id}", "source": "SHORTLINK"})
        await h.settle()
        conversation = await h.conversation("1009")
        assert conversation.listing_id == h.listing_id
        await h.sim.buyer_event("1010", "referral", {"ref": "listing_999999"})
        await h.settle()
        async with h.runtime.session_factory() as session:
            outcomes = [e.outcome for e in (await session.execute(select(EventLog))).scalars()]
        assert any("listing not found" in (o or "") for o in outcomes)


async def test_a_page_we_do_not_serve_is_ignored_and_the_rest_processed(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        ours = delivery(text_event("1011", "hello"))
        foreign = delivery(text_event("1012", "hello", page_id="999"), page_id="999")
        body = {"object": "page", "entry": ours["entry"] + foreign["entry"]}
        import json

        from accorria_agent.messenger.signature import sign

        raw = json.dumps(body).encode()
        secret = h.runtime.settings.facebook_app_secret.get_secret_value()
        response = await h.client.post(
            "/webhook", content=raw, headers={"X-Hub-Signature-256": sign(raw, secret)}
        )
        assert response.status_code == 200
        await h.settle()
        async with h.runtime.session_factory() as session:
            events = {e.buyer_psid: e.outcome for e in (await session.execute(select(EventLog))).scalars()}
        assert events["1012"] == "ignored: page not served"
        assert events["1011"].startswith("stored")


async def test_an_invalid_token_pauses_the_tenant_and_keeps_messages(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await h.client.post("/simulator/api/faults", json={"error_rate": 1.0, "kinds": ["190"]})
        await h.say("1013", "hello")
        async with h.runtime.session_factory() as session:
            tenant = (await session.execute(select(MessengerTenant))).scalars().first()
            notes = [n.kind for n in (await session.execute(select(SellerNotification))).scalars()]
        assert tenant is not None and tenant.status == "needs_reauth"
        assert "needs_reauth" in notes
        await h.client.delete("/simulator/api/faults")
        await h.say("1013", "still there?")
        inbound = [m for m in await h.messages("1013") if m.author == "buyer"]
        assert len(inbound) == 2  # kept for later
        assert h.sent_texts("1013") == []  # nothing sent while the tenant needs re-authorisation


async def test_transient_send_errors_are_retried(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url) as h:
        h.runtime.delivery._retry_base = 0.01  # keep the test fast; the schedule is exercised, not the wait
        await h.client.post("/simulator/api/faults", json={"error_rate": 0.5, "kinds": ["5xx"], "seed": 3})
        for n in range(6):
            await h.say(str(1100 + n), "hello")
        delivered = sum(1 for n in range(6) if h.sent_texts(str(1100 + n)))
        attempts = [e for e in h.sim.state.sent if e.message is not None]
        assert delivered == 6
        assert len(attempts) > 6  # some calls failed and were retried
        assert all(len(h.sent_texts(str(1100 + n))) == 1 for n in range(6))  # never twice


async def test_a_rate_limited_send_is_retried_later_not_held(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await h.client.post("/simulator/api/faults", json={"error_rate": 1.0, "kinds": ["613"]})
        await h.say("1200", "hello")
        bot = [m for m in await h.messages("1200") if m.author == "bot"]
        assert len(bot) == 1
        assert bot[0].status == "queued"  # Meta asked us to wait a minute: scheduled, not slept on
        assert "will retry" in (bot[0].status_reason or "")
        assert bot[0].payload.get("delivery_attempts") == 1
        async with h.runtime.session_factory() as session:
            table = "procrastinate_jobs" if database_url.startswith("postgresql") else "jobs"
            column = "task_name" if table == "procrastinate_jobs" else "task"
            rows = (
                await session.execute(
                    text(f"SELECT args FROM {table} WHERE {column} = :task"), {"task": "deliver_outbound"}
                )
            ).all()
        args = [row[0] if isinstance(row[0], dict) else json.loads(row[0]) for row in rows]
        # procrastinate rows wrap the task's arguments with the attempt number.
        args = [a.get("args", a) for a in args]
        assert len(args) == 1 and args[0]["message_ids"] == [bot[0].id]
        await h.client.delete("/simulator/api/faults")
        # Meta's estimated_time_to_regain_access paused the whole Page, not just this message: the
        # retry finds the Page's limit reached and holds the reply until it frees.
        await h.runtime.delivery.deliver(h.tenant_id, [bot[0].id])
        assert h.sent_texts("1200") == []
        held = [m for m in await h.messages("1200") if m.author == "bot"][0]
        assert held.status == "held" and held.status_reason == "held by the rate limit"
        from accorria_agent.messenger.rate_limit import InMemoryRateLimiter

        h.runtime.delivery._limiter = InMemoryRateLimiter()  # the minute has passed
        assert await h.runtime.delivery.release_rate_limited(h.tenant_id) == 1
        assert len(h.sent_texts("1200")) == 1


async def test_the_pages_send_rate_limit_holds_replies_back(database_url: str, make_settings: Make) -> None:
    from sqlalchemy import update as sql_update

    from accorria_agent.sellers.models import MessengerSettings

    async with sim_harness(make_settings, database_url) as h:
        async with transaction(h.runtime.session_factory) as session:
            await session.execute(sql_update(MessengerSettings).values(rate_limit_per_minute=2))
        for psid in ("1301", "1302", "1303"):
            await h.say(psid, "hello")
        sent = [psid for psid in ("1301", "1302", "1303") if h.sent_texts(psid)]
        assert sent == ["1301", "1302"]
        held = [m for m in await h.messages("1303") if m.author == "bot"]
        assert held[0].status == "held"
        assert held[0].status_reason == "held by the rate limit"
        assert held[0].payload.get("held_until") and held[0].payload.get("buyer_at")


async def test_an_m_me_click_reopens_the_window_and_a_reaction_does_not(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await h.say("1401", "hi")
        first = (await h.conversation("1401")).last_buyer_message_at
        h.sim.state.advance(3600)
        bot = [m for m in await h.messages("1401") if m.author == "bot"][0]
        await h.sim.buyer_event("1401", "reaction", {"mid": bot.mid, "reaction": "like"})
        await h.settle()
        assert (await h.conversation("1401")).last_buyer_message_at == first
        h.sim.state.advance(3600)
        await h.sim.buyer_event("1401", "referral", {"ref": f"listing_{h.listing_id}"})
        await h.settle()
        reopened = (await h.conversation("1401")).last_buyer_message_at
        assert reopened is not None and first is not None
        assert (reopened - first).total_seconds() >= 7000


async def test_a_reply_left_pending_by_a_dead_worker_is_requeued_not_lost(
    database_url: str, make_settings: Make
) -> None:
    from accorria_agent.conversations.models import Message
    from accorria_agent.conversations.pipeline import ORPHAN_GRACE_SECONDS, process_conversation
    from tests.helpers import PAGE_ID

    async with sim_harness(make_settings, database_url) as h:
        await h.say("1500", "hi")
        async with transaction(h.runtime.session_factory) as session:
            conversation = await repo.conversation_for(session, h.tenant_id, "1500")
            assert conversation is not None
            orphan = repo.new_outbound(
                conversation, author="bot", text="Still there?", payload={}, now=h.runtime.clock()
            )
            session.add(orphan)  # recorded, then the worker "died" before sending it
            await session.flush()
            orphan_id = orphan.id
        # The job's retry after the crash finds no new event, but finds the orphan.
        await process_conversation(h.runtime.conversation_deps, {"page_id": PAGE_ID, "buyer_psid": "1500"})
        async with h.runtime.session_factory() as session:
            stored = await session.get(Message, orphan_id)
        assert stored is not None and stored.status == "queued"
        assert h.sent_texts("1500")[-1] != "Still there?"  # not sent at once: the grace lets an echo land
        assert ORPHAN_GRACE_SECONDS >= 10
        await h.runtime.delivery.deliver(h.tenant_id, [orphan_id])  # what the delayed job does
        assert h.sent_texts("1500")[-1] == "Still there?"
        await h.runtime.delivery.deliver(h.tenant_id, [orphan_id])  # a second run sends nothing
        assert h.sent_texts("1500").count("Still there?") == 1
