"""Test drives through the simulator: what buyers receive, what the seller gets, what the database holds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import icalendar
from sqlalchemy import select

from accorria_agent.deals.models import DealEvent
from accorria_agent.scheduling.models import Booking
from accorria_agent.sellers.notifications import SellerNotification
from accorria_agent.settings import Settings
from tests.scheduling.conftest import ADDRESS, ready
from tests.sim_harness import SimHarness, sim_harness

Make = Callable[..., Settings]


async def bookings(h: SimHarness) -> list[Booking]:
    async with h.runtime.session_factory() as session:
        return list((await session.execute(select(Booking).order_by(Booking.id))).scalars())


async def deal_kinds(h: SimHarness) -> list[str]:
    async with h.runtime.session_factory() as session:
        return list((await session.execute(select(DealEvent.kind).order_by(DealEvent.id))).scalars())


async def notifications(h: SimHarness) -> list[str]:
    async with h.runtime.session_factory() as session:
        rows = await session.execute(
            select(SellerNotification.text).where(SellerNotification.kind == "test_drive")
        )
        return list(rows.scalars())


async def advance(h: SimHarness, delta: timedelta) -> None:
    response = await h.client.post("/simulator/api/clock", json={"advance_seconds": delta.total_seconds()})
    assert response.status_code == 200, response.text


def last_quick_replies(h: SimHarness, psid: str) -> list[dict[str, str]]:
    entry = [e for e in h.sent_entries(psid) if e.status == 200 and e.message][-1]
    return list(entry.message.get("quick_replies") or [])


async def test_a_proposed_free_time_is_booked_with_the_place_and_the_seller_gets_an_ics(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        _, mailer = await ready(h)
        await h.say("3001", "Hi, is it still available?")
        await h.say("3001", "can I come see it saturday at 10am?")
        reply = h.sent_texts("3001")[-1]
        assert "booked" in reply and "Saturday, December 12 at 10 AM" in reply, reply
        assert ADDRESS in reply, reply
        (booking,) = await bookings(h)
        assert booking.status == "booked" and booking.starts_at.isoformat() == "2026-12-12T15:00:00+00:00"
        assert "test_drive_booked" in await deal_kinds(h)
        assert any("booked" in text for text in await notifications(h))
        (mail,) = mailer.sent
        (attachment,) = mail.attachments
        calendar = icalendar.Calendar.from_ical(attachment.content)
        assert str(calendar["METHOD"]) == "REQUEST"
        (event,) = calendar.walk("VEVENT")
        assert str(event["UID"]) == f"booking-{booking.id}@accorria-agent"
        assert event.decoded("DTSTART").hour == 10 and event["DTSTART"].params["TZID"] == "America/Detroit"
        assert str(event["LOCATION"]) == ADDRESS and "Honda" in str(event["SUMMARY"])


async def test_before_booking_only_the_area_is_told(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await ready(h)
        await h.say("3002", "can I book a test drive?")
        reply = h.sent_texts("3002")[-1]
        assert "Midtown Detroit" in reply and ADDRESS not in reply, reply
        assert len(last_quick_replies(h, "3002")) == 3
        assert await bookings(h) == []


async def test_a_second_buyer_for_the_same_slot_gets_the_nearest_free_ones_and_books_by_tap(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await ready(h)
        await h.say("3003", "can I come see it saturday at 10am?")
        await h.say("3004", "could I see it saturday at 10?")
        reply = h.sent_texts("3004")[-1]
        assert "taken" in reply and ADDRESS not in reply, reply
        quick = last_quick_replies(h, "3004")
        assert [q["title"] for q in quick] == ["Sat Dec 12, 11 AM", "Sat Dec 12, 12 PM", "Sat Dec 12, 1 PM"]
        await h.say("3004", quick[0]["title"], quick_reply=quick[0]["payload"])
        reply = h.sent_texts("3004")[-1]
        assert "booked" in reply and "11 AM" in reply and ADDRESS in reply, reply
        starts = sorted(b.starts_at.hour for b in await bookings(h) if b.status == "booked")
        assert starts == [15, 16]  # 10:00 and 11:00 in Detroit (UTC-5)


async def test_reschedule_and_cancel_in_words(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await ready(h)
        await h.say("3005", "can I see it tuesday at 11am?")
        assert "Tuesday, December 8 at 11 AM" in h.sent_texts("3005")[-1]
        await h.say("3005", "can we do 5 instead?")
        reply = h.sent_texts("3005")[-1]
        assert "moved" in reply and "Tuesday, December 8 at 5 PM" in reply, reply
        await h.say("3005", "¿podemos a las 3?")  # a turn in Spanish is answered in Spanish
        reply = h.sent_texts("3005")[-1]
        assert "queda para el martes 8 de diciembre a las 3 de la tarde." in reply, reply
        await h.say("3005", "could we do 8 instead?")  # 8 AM: before the seller opens
        reply = h.sent_texts("3005")[-1]
        assert "isn't one of the seller's open times" in reply, reply
        assert "stays on Tuesday, December 8 at 3 PM" in reply and last_quick_replies(h, "3005"), reply
        (booking,) = await bookings(h)
        assert booking.starts_at.hour == 20 and booking.sequence == 2
        await h.say("3005", "sorry, something came up")
        reply = h.sent_texts("3005")[-1]
        assert "cancelled" in reply, reply
        assert last_quick_replies(h, "3005"), "new slots offered"
        (booking,) = await bookings(h)
        assert booking.status == "cancelled"
        kinds = await deal_kinds(h)
        assert kinds.count("test_drive_rescheduled") == 2 and "test_drive_cancelled" in kinds


async def test_the_reminder_goes_to_the_buyer_only_inside_the_window(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await ready(h)
        remind = h.runtime.registry.get("test_drive_reminder")
        await h.say("3006", "can I see it today at 4pm?")
        await h.say("3007", "can I see it thursday at 2pm?")
        first, second = await bookings(h)
        # 3006: the reminder is due 2 h before the slot, 4 h after the buyer's message: inside the window.
        await advance(h, first.starts_at - timedelta(hours=2) - h.runtime.clock())
        await remind({"booking_id": first.id, "sequence": first.sequence})
        await h.settle()
        assert h.sent_texts("3006")[-1].startswith("Reminder:"), h.sent_texts("3006")
        # 3007: 2 h before Thursday is ~2 days after their last message: no buyer message, the seller.
        before = len(h.sent_texts("3007"))
        await advance(h, second.starts_at - timedelta(hours=2) - h.runtime.clock())
        await remind({"booking_id": second.id, "sequence": second.sequence})
        await h.settle()
        assert len(h.sent_texts("3007")) == before
        assert any(t.startswith("Reminder:") and "not reminded" in t for t in await notifications(h))
        # A reminder job that runs again does nothing more.
        await remind({"booking_id": first.id, "sequence": first.sequence})
        await h.settle()
        assert sum(t.startswith("Reminder:") for t in h.sent_texts("3006")) == 1


async def test_after_agreeing_a_price_a_proposed_time_is_booked_not_asked_back(
    database_url: str, make_settings: Make
) -> None:
    from sqlalchemy import update

    from accorria_agent.conversations.models import Conversation
    from accorria_agent.db.engine import transaction

    async with sim_harness(make_settings, database_url) as h:
        await ready(h)
        await h.say("3008", "hi, is it available?")
        conversation = await h.conversation("3008")
        state = {**conversation.negotiation_state, "agreed_price": "11800"}
        async with transaction(h.runtime.session_factory) as session:
            await session.execute(
                update(Conversation).where(Conversation.id == conversation.id).values(negotiation_state=state)
            )
        await h.say("3008", "can I come see it saturday at 10am?")
        reply = h.sent_texts("3008")[-1]
        assert "booked" in reply and "Would" not in reply and ADDRESS in reply, reply
        assert len(await bookings(h)) == 1


async def test_spanish_and_period_words(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await ready(h)
        await h.say("3009", "¿puedo verlo mañana a las 5?")
        assert "martes 8 de diciembre a las 5 de la tarde" in h.sent_texts("3009")[-1]
        # "after work" is 17:30, between two slots: the nearest free ones are offered instead.
        await h.say("3010", "can I come see it tomorrow after work?")
        reply = h.sent_texts("3010")[-1]
        assert "5:30 PM" in reply and "4 PM" in reply, reply
        # 17:00 is taken by the buyer above: the three nearest that day are offered, in time order.
        titles = [q["title"] for q in last_quick_replies(h, "3010")]
        assert titles == ["Tue Dec 8, 2 PM", "Tue Dec 8, 3 PM", "Tue Dec 8, 4 PM"]
