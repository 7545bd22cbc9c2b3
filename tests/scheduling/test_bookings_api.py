"""The seller's side of test drives over HTTP: availability, bookings, outcomes, feed, isolation."""

from __future__ import annotations

from collections.abc import Callable

import icalendar
from sqlalchemy import select

from accorria_agent.db.engine import transaction
from accorria_agent.deals.models import DealEvent
from accorria_agent.sellers import service as sellers
from accorria_agent.settings import Settings
from tests.scheduling.conftest import auth, ready
from tests.sim_harness import SimHarness, sim_harness

Make = Callable[..., Settings]


async def other_seller_headers(h: SimHarness) -> dict[str, str]:
    async with transaction(h.runtime.session_factory) as session:
        other = await sellers.create_seller(session, "Other Seller", "other@example.com")
    return await auth(h, other.id)


async def test_a_new_seller_has_the_default_hours_and_bad_hours_are_refused(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        headers = await auth(h)
        body = (await h.client.get("/api/availability", headers=headers)).json()
        assert body["is_default"] is True and body["timezone"] == "America/Detroit"
        assert body["weekly_hours"]["mon"] == [["09:00", "18:00"]]
        assert body["weekly_hours"]["sat"] == [["10:00", "16:00"]] and "sun" not in body["weekly_hours"]
        for bad in (
            {"weekly_hours": {"mon": [["18:00", "09:00"]]}},
            {"weekly_hours": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}},
            {"weekly_hours": {"funday": [["09:00", "12:00"]]}},
            {"slot_minutes": 0},
            {"exceptions": [{"date": "2026-12-24"}, {"date": "2026-12-24"}]},
        ):
            response = await h.client.put("/api/availability", json=bad, headers=headers)
            assert response.status_code == 422, (bad, response.text)
        assert (await h.client.get("/api/availability")).status_code == 401


async def test_bookings_list_outcomes_and_isolation(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url) as h:
        headers, _ = await ready(h)
        await h.say("4001", "can I see it today at 4pm?")
        await h.say("4002", "can I see it wednesday at 11am?")
        listed = (await h.client.get("/api/bookings", headers=headers)).json()
        assert [b["when"] for b in listed] == ["Monday, December 7 at 4 PM", "Wednesday, December 9 at 11 AM"]
        first, second = listed[0]["id"], listed[1]["id"]
        dated = await h.client.get("/api/bookings?from=2026-12-09&to=2026-12-09", headers=headers)
        assert [b["id"] for b in dated.json()] == [second]
        assert (
            await h.client.get("/api/bookings?from=2026-12-09&to=2026-12-01", headers=headers)
        ).status_code == 400
        # Another seller sees none of them and can change none of them.
        stranger = await other_seller_headers(h)
        assert (await h.client.get("/api/bookings", headers=stranger)).json() == []
        for action in ("done", "no-show", "cancel"):
            response = await h.client.post(f"/api/bookings/{first}/{action}", headers=stranger)
            assert response.status_code == 404, response.text
        assert (await h.client.get(f"/api/bookings/{first}/invite.ics", headers=stranger)).status_code == 404
        # Not yet started: cannot be done; once started it can, once.
        early = await h.client.post(f"/api/bookings/{first}/done", headers=headers)
        assert early.status_code == 409 and early.json()["code"]
        h.sim.state.advance(7 * 3600)
        done = await h.client.post(f"/api/bookings/{first}/done", headers=headers)
        assert done.status_code == 200 and done.json()["booking"]["status"] == "done"
        assert (await h.client.post(f"/api/bookings/{first}/no-show", headers=headers)).status_code == 409
        async with h.runtime.session_factory() as session:
            kinds = list((await session.execute(select(DealEvent.kind))).scalars())
        assert "test_drive_done" in kinds
        invite = await h.client.get(f"/api/bookings/{second}/invite.ics", headers=headers)
        assert invite.status_code == 200 and b"METHOD:REQUEST" in invite.content


async def test_a_seller_cancel_tells_the_buyer_only_inside_the_window(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        headers, mailer = await ready(h)
        await h.say("4003", "can I see it friday at 10am?")
        await h.say("4004", "can I see it saturday at 11am?")
        listed = (await h.client.get("/api/bookings", headers=headers)).json()
        inside = await h.client.post(f"/api/bookings/{listed[0]['id']}/cancel", headers=headers)
        assert inside.status_code == 200 and inside.json()["buyer_told"] is True
        await h.settle()
        assert "had to cancel" in h.sent_texts("4003")[-1]
        assert any(
            a.content_type.startswith("text/calendar; method=CANCEL")
            for m in mailer.sent
            for a in m.attachments
        )
        h.sim.state.advance(25 * 3600)
        before = len(h.sent_texts("4004"))
        outside = await h.client.post(f"/api/bookings/{listed[1]['id']}/cancel", headers=headers)
        body = outside.json()
        assert body["buyer_told"] is False and "24 hours" in body["buyer_not_told_reason"]
        await h.settle()
        assert len(h.sent_texts("4004")) == before
        again = await h.client.post(f"/api/bookings/{listed[1]['id']}/cancel", headers=headers)
        assert again.status_code == 409


async def test_the_calendar_feed_has_every_booking_and_only_answers_to_its_secret(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        headers, _ = await ready(h)
        await h.say("4005", "can I see it tuesday at 11am?")
        await h.say("4006", "can I see it tuesday at 2pm?")
        await h.say("4006", "something came up")
        created = await h.client.post("/api/availability/calendar-secret", headers=headers)
        assert created.status_code == 200
        url = created.json()["url"]
        assert url.endswith(".ics") and created.json()["secret"] in url
        feed = await h.client.get(url.removeprefix("http://agent.test"))
        assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
        events = icalendar.Calendar.from_ical(feed.content).walk("VEVENT")
        by_status = sorted((e.decoded("DTSTART").hour, str(e["STATUS"])) for e in events)
        assert by_status == [(11, "CONFIRMED"), (14, "CANCELLED")]
        assert (await h.client.get("/calendar/not-the-secret-at-all-0123456789.ics")).status_code == 404
        assert (await h.client.get("/calendar/x.ics")).status_code == 404
        renewed = await h.client.post("/api/availability/calendar-secret", headers=headers)
        assert (await h.client.get(url.removeprefix("http://agent.test"))).status_code == 404
        assert (
            await h.client.get(renewed.json()["url"].removeprefix("http://agent.test"))
        ).status_code == 200
        stranger = await other_seller_headers(h)
        assert (await h.client.get("/api/availability", headers=stranger)).json()["calendar_feed"] is False


async def test_an_exception_day_off_is_not_offered(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url) as h:
        headers, _ = await ready(h)
        body = (await h.client.get("/api/availability", headers=headers)).json()
        spec = {k: body[k] for k in ("weekly_hours", "slot_minutes", "buffer_minutes", "min_notice_minutes")}
        spec["exceptions"] = [{"date": "2026-12-08", "hours": []}]
        assert (await h.client.put("/api/availability", json=spec, headers=headers)).status_code == 200
        await h.say("4007", "can I see it tuesday at 11am?")
        reply = h.sent_texts("4007")[-1]
        assert "isn't one of the seller's open times" in reply and "Tuesday" not in reply.split("are", 1)[1]
