"""The kill switch and the per-Page pause: nothing is sent while stopped, nothing is lost, nothing twice."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from accorria_agent.db.engine import create_engine, create_session_factory, transaction
from accorria_agent.sellers.models import MessengerTenant
from accorria_agent.sellers.notifications import SellerNotification
from accorria_agent.sending import controls
from accorria_agent.settings import Settings
from tests.helpers import PAGE_ID, PAGE_TOKEN
from tests.sim_harness import SimHarness, sim_harness

Make = Callable[..., Settings]


_SENT = {"sent", "delivered", "read"}  # receipts may already have raised a sent message


async def _statuses(h: SimHarness, psid: str) -> list[tuple[str, str]]:
    return [(m.author, "sent" if m.status in _SENT else m.status) for m in await h.messages(psid)]


async def _halt_from_another_connection(h: SimHarness, reason: str) -> None:
    """Throw the switch the way another process does: through its own engine, not the runtime's."""
    engine = create_engine(h.runtime.settings.effective_database_url)
    try:
        async with transaction(create_session_factory(engine)) as session:
            await controls.halt_all(session, reason)
    finally:
        await engine.dispose()


async def test_the_kill_switch_holds_every_reply_and_resume_sends_each_once(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url, HUMAN_LIKE_DELAYS="false") as h:
        await h.say("2001", "hi, is it available?")
        assert len(h.sent_texts("2001")) == 1
        await _halt_from_another_connection(h, "bad replies seen in review")

        await h.say("2001", "would you take 9k?")
        await h.say("2002", "hello there")
        assert len(h.sent_texts("2001")) == 1 and h.sent_texts("2002") == []  # nothing sent
        # The buyers' messages are stored and answered (composed), the replies kept.
        assert await _statuses(h, "2001") == [
            ("buyer", "received"),
            ("bot", "sent"),
            ("buyer", "received"),
            ("bot", "held"),
        ]
        assert await _statuses(h, "2002") == [("buyer", "received"), ("bot", "held")]
        async with transaction(h.runtime.session_factory) as session:
            status = await controls.sending_status(session)
        assert status.halted and status.reason == "bad replies seen in review" and status.held_messages == 2

        async with transaction(h.runtime.session_factory) as session:
            released = await controls.resume_all(session, h.runtime.queue)
        assert released == 2
        await h.settle()
        assert len(h.sent_texts("2001")) == 2 and len(h.sent_texts("2002")) == 1
        assert ("bot", "held") not in await _statuses(h, "2001") + await _statuses(h, "2002")

        # A second resume finds nothing to release and sends nothing again.
        async with transaction(h.runtime.session_factory) as session:
            assert await controls.resume_all(session, h.runtime.queue) == 0
        await h.settle()
        assert len(h.sent_texts("2001")) == 2 and len(h.sent_texts("2002")) == 1


async def test_resume_can_discard_what_was_held(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url, HUMAN_LIKE_DELAYS="false") as h:
        await _halt_from_another_connection(h, "")
        await h.say("2003", "hello")
        async with transaction(h.runtime.session_factory) as session:
            assert await controls.resume_all(session, h.runtime.queue, discard_held=True) == 1
        await h.settle()
        assert h.sent_texts("2003") == []
        assert await _statuses(h, "2003") == [("buyer", "received"), ("bot", "dropped")]
        # Sending is on again for what comes next.
        await h.say("2003", "are you there?")
        assert len(h.sent_texts("2003")) == 1


async def test_a_seller_taking_over_during_the_halt_drops_the_held_bot_reply(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url, HUMAN_LIKE_DELAYS="false") as h:
        await _halt_from_another_connection(h, "maintenance")
        await h.say("2004", "is the price negotiable?")
        h.sim.inbox_message("2004", "Owner here, let's talk.")
        await h.settle()
        async with transaction(h.runtime.session_factory) as session:
            await controls.resume_all(session, h.runtime.queue)
        await h.settle()
        assert h.sent_texts("2004") == []  # the seller speaks for themselves (Page Inbox, no Send API)
        assert await _statuses(h, "2004") == [("buyer", "received"), ("bot", "dropped"), ("seller", "sent")]


async def test_pausing_one_page_holds_its_replies_and_tells_its_seller(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url, HUMAN_LIKE_DELAYS="false") as h:
        async with transaction(h.runtime.session_factory) as session:
            await controls.pause_page(session, PAGE_ID, "seller on holiday")
        await h.say("2005", "hi")
        assert h.sent_texts("2005") == []
        async with transaction(h.runtime.session_factory) as session:
            status = await controls.sending_status(session)
            kinds = [n.kind for n in (await session.execute(select(SellerNotification))).scalars()]
        assert not status.halted and status.paused_pages == [(PAGE_ID, "paused", "seller on holiday")]
        assert kinds == ["paused"]
        async with transaction(h.runtime.session_factory) as session:
            assert await controls.resume_page(session, h.runtime.queue, PAGE_ID) == 1
        await h.settle()
        assert len(h.sent_texts("2005")) == 1
        with pytest.raises(controls.UnknownPage):
            async with transaction(h.runtime.session_factory) as session:
                await controls.pause_page(session, "no-such-page", "x")


async def test_an_invalid_token_holds_replies_until_the_page_is_reconnected(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url, HUMAN_LIKE_DELAYS="false") as h:
        await h.client.post("/simulator/api/faults", json={"error_rate": 1.0, "kinds": ["190"]})
        await h.say("2006", "hello")
        await h.client.delete("/simulator/api/faults")
        await h.say("2006", "still there?")
        assert h.sent_texts("2006") == []
        assert await _statuses(h, "2006") == [
            ("buyer", "received"),
            ("bot", "held"),
            ("buyer", "received"),
            ("bot", "held"),
        ]
        async with transaction(h.runtime.session_factory) as session:
            tenant = (await session.execute(select(MessengerTenant))).scalar_one()
            notes = [n.kind for n in (await session.execute(select(SellerNotification))).scalars()]
        assert tenant.status == "needs_reauth" and notes == ["needs_reauth"]  # told once, not per reply

        async with transaction(h.runtime.session_factory) as session:
            released = await controls.reconnect_page(
                session, h.runtime.queue, h.runtime.cipher, PAGE_ID, PAGE_TOKEN
            )
        assert released == 2
        await h.settle()
        assert len(h.sent_texts("2006")) == 2  # both answers, in order, once each
        assert [s for a, s in await _statuses(h, "2006") if a == "bot"] == ["sent", "sent"]
