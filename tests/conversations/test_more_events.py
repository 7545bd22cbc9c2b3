"""More Messenger events through the simulator: handover, standby, postbacks, stickers, odd events."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from sqlalchemy import select

from accorria_agent.messenger.models import EventLog
from accorria_agent.messenger.signature import sign
from accorria_agent.settings import Settings
from tests.helpers import PAGE_ID
from tests.sim_harness import SimHarness, sim_harness

Make = Callable[..., Settings]


async def _outcomes(h: SimHarness) -> dict[str, str]:
    async with h.runtime.session_factory() as session:
        return {
            e.kind + ":" + e.event_key[:40]: e.outcome or ""
            for e in (await session.execute(select(EventLog))).scalars()
        }


async def _post(h: SimHarness, events: list[dict[str, object]], obj: str = "page") -> int:
    body = json.dumps(
        {"object": obj, "entry": [{"id": PAGE_ID, "time": int(time.time() * 1000), "messaging": events}]}
    )
    raw = body.encode()
    secret = h.runtime.settings.facebook_app_secret.get_secret_value()
    response = await h.client.post(
        "/webhook", content=raw, headers={"X-Hub-Signature-256": sign(raw, secret)}
    )
    await h.settle()
    return response.status_code


async def test_the_page_inbox_taking_the_thread_silences_the_bot_until_it_passes_it_back(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await h.say("3001", "hi")
        await h.sim.inbox_handover("3001", "take_thread_control", None)
        await h.settle()
        assert (await h.conversation("3001")).mode == "paused"
        await h.say("3001", "are you still there?")  # arrives on the standby channel now
        assert len(h.sent_texts("3001")) == 1
        async with h.runtime.session_factory() as session:
            standby = (
                (await session.execute(select(EventLog).where(EventLog.channel == "standby"))).scalars().all()
            )
        assert standby and all("not answered" in (e.outcome or "") for e in standby)
        await h.sim.inbox_handover("3001", "pass_thread_control", None)
        await h.settle()
        assert (await h.conversation("3001")).mode == "bot"
        await h.say("3001", "ok, is it available?")
        texts = h.sent_texts("3001")
        assert len(texts) == 2
        assert "automated assistant" in texts[1]  # disclosed again after the resume


async def test_a_request_for_the_thread_is_granted(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await h.say("3002", "hi")
        await h.sim.inbox_handover("3002", "request_thread_control", None)
        await h.settle()
        assert (await h.conversation("3002")).mode == "paused"
        passes = [
            e
            for e in h.sim.state.handover_log
            if e.get("action") == "pass_thread_control" and e["psid"] == "3002"
        ]
        assert passes and passes[-1]["by"] != "inbox"


async def test_get_started_and_foreign_payloads(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await h.say("3003", None, postback="GET_STARTED", title="Get Started")
        assert len(h.sent_texts("3003")) == 1
        # A payload we don't know (another app's button) is read as the text the buyer saw.
        status = await _post(
            h,
            [
                {
                    "sender": {"id": "3003"},
                    "recipient": {"id": PAGE_ID},
                    "timestamp": int(time.time() * 1000),
                    "message": {
                        "mid": "m_foreign_qr",
                        "text": "would you take 9k?",
                        "quick_reply": {"payload": "SOMEONE_ELSES_PAYLOAD"},
                    },
                }
            ],
        )
        assert status == 200
        reply = h.sent_texts("3003")[-1]
        assert "$" in reply  # answered as an offer


async def test_a_sticker_sent_as_image_and_sticker_counts_once(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await h.say("3004", "hello")
        status = await _post(
            h,
            [
                {
                    "sender": {"id": "3004"},
                    "recipient": {"id": PAGE_ID},
                    "timestamp": int(time.time() * 1000),
                    "message": {
                        "mid": "m_sticker_1",
                        "attachments": [
                            {
                                "type": "image",
                                "payload": {"url": "https://example.com/s.png", "sticker_id": 123},
                            },
                            {
                                "type": "sticker",
                                "payload": {"url": "https://example.com/s.png", "sticker_id": 123},
                            },
                        ],
                    },
                }
            ],
        )
        assert status == 200
        stored = [m for m in await h.messages("3004") if m.mid == "m_sticker_1"]
        assert len(stored) == 1 and stored[0].payload["attachment_types"] == ["sticker"]
        assert len(h.sent_texts("3004")) == 1  # a sticker needs no answer


async def test_odd_and_unknown_events_are_recorded_not_answered(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await h.say("3005", "hi")
        now = int(time.time() * 1000)
        events = [
            {"sender": {"id": "3005"}, "recipient": {"id": PAGE_ID}, "timestamp": now, "optin": {"ref": "x"}},
            {
                "sender": {"id": "3005"},
                "recipient": {"id": PAGE_ID},
                "timestamp": now + 1,
                "brand_new_thing": {},
            },
            {"recipient": {"id": PAGE_ID}, "timestamp": now + 2, "app_roles": {"123": ["primary_receiver"]}},
            {"sender": {"id": "3005"}, "recipient": {"id": PAGE_ID}, "timestamp": now + 3},
            {
                "sender": {"id": PAGE_ID},
                "recipient": {"id": "3005"},
                "timestamp": now + 4,
                "message": {"mid": "m_echo_other", "is_echo": True, "text": "from another tool"},
            },
        ]
        assert await _post(h, events) == 200
        outcomes = await _outcomes(h)
        assert any(k.startswith("optin") and v == "recorded: optin" for k, v in outcomes.items())
        assert any(k.startswith("unknown") for k in outcomes)
        assert any(k.startswith("app_roles") and v.startswith("ignored") for k, v in outcomes.items())
        # An echo with no app id is a human writing from somewhere else: the bot steps back.
        assert (await h.conversation("3005")).mode == "paused"
        assert len(h.sent_texts("3005")) == 1


async def test_a_burst_gets_one_reply_after_a_typing_indicator(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(
        make_settings, database_url, REPLY_QUIET_PERIOD_SECONDS=0.4, HUMAN_LIKE_DELAYS=True
    ) as h:
        for text in ("hi", "is it available", "would you take 9k"):
            await h.sim.send_buyer_message("3006", text)
        await h.settle()
        entries = h.sent_entries("3006")
        messages = [e for e in entries if e.message and "text" in e.message]
        assert len(messages) == 1
        actions = [e.sender_action for e in entries if e.sender_action]
        assert actions[:2] == ["mark_seen", "typing_on"]
        assert entries.index(next(e for e in entries if e.sender_action == "typing_on")) < entries.index(
            messages[0]
        )
        reply = messages[0].message["text"]
        assert "$" in reply and "available" in reply.lower()  # one coherent answer to all three


async def test_a_paused_bot_resumes_after_the_configured_quiet_period(
    database_url: str, make_settings: Make
) -> None:
    from sqlalchemy import update

    from accorria_agent.db.engine import transaction
    from accorria_agent.sellers.models import MessengerSettings

    async with sim_harness(make_settings, database_url) as h:
        async with transaction(h.runtime.session_factory) as session:
            await session.execute(update(MessengerSettings).values(auto_resume_minutes=30))
        await h.say("3007", "hi")
        h.sim.inbox_message("3007", "Owner here, one sec")
        await h.settle()
        await h.say("3007", "ok")
        assert len(h.sent_texts("3007")) == 1  # paused: the seller is talking
        h.sim.state.advance(31 * 60)
        await h.say("3007", "hello? still available?")
        texts = h.sent_texts("3007")
        assert len(texts) == 2
        assert "automated assistant" in texts[1]
        assert (await h.conversation("3007")).mode == "bot"


async def test_a_message_over_messenger_limits_is_never_sent(database_url: str, make_settings: Make) -> None:
    from accorria_agent.conversations import repository as repo
    from accorria_agent.conversations.models import Message
    from accorria_agent.db.engine import transaction

    async with sim_harness(make_settings, database_url) as h:
        await h.say("3008", "hi")
        before = len(h.sim.state.sent)
        async with transaction(h.runtime.session_factory) as session:
            conversation = await repo.conversation_for(session, h.tenant_id, "3008")
            assert conversation is not None
            bad = repo.new_outbound(
                conversation,
                author="bot",
                text="Pick one",
                payload={"quick_replies": [["P", "A title far longer than twenty characters"]]},
                now=h.runtime.clock(),
            )
            session.add(bad)
            await session.flush()
            bad_id = bad.id
        await h.runtime.delivery.deliver(h.tenant_id, [bad_id])
        assert len(h.sim.state.sent) == before
        async with h.runtime.session_factory() as session:
            stored = await session.get(Message, bad_id)
        assert stored is not None and stored.status == "failed"
        assert "quick_replies[0].title" in (stored.status_reason or "")


async def test_a_seller_taking_over_while_the_bot_types_drops_the_reply(
    database_url: str, make_settings: Make
) -> None:
    import asyncio

    async with sim_harness(make_settings, database_url, HUMAN_LIKE_DELAYS=True) as h:
        await h.say("3009", "hi")  # first reply: disclosure, typing, sent
        assert len(h.sent_texts("3009")) == 1
        await h.sim.send_buyer_message(
            "3009", "what is the mileage and does it have a sunroof and heated seats?"
        )
        # The bot is "typing" (a pause of a second or two before the send); the seller answers meanwhile.
        for _ in range(100):
            typing = [e for e in h.sent_entries("3009") if e.sender_action == "typing_on"]
            if len(typing) == 2:
                break
            await asyncio.sleep(0.02)
        h.sim.inbox_message("3009", "Owner here: 62k miles, yes to both.")
        await h.settle()
        assert len(h.sent_texts("3009")) == 1  # the prepared reply was dropped, not sent over the seller
        bot = [m for m in await h.messages("3009") if m.author == "bot"]
        assert [m.status for m in bot][-1] == "dropped"
