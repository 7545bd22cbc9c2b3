"""Spanish buyers read every booking text in Spanish; a Page or a listing can have its own availability."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from accorria_agent.accounts.context import MemberContext, current_member
from accorria_agent.settings import Settings
from tests.dashboard.conftest import OTHER_PAGE_ID, other_seller
from tests.scheduling.conftest import ADDRESS, AVAILABILITY, ready, seller_id
from tests.scheduling.test_test_drives_sim import advance, bookings, last_quick_replies
from tests.sim_harness import SimHarness, sim_harness

Make = Callable[..., Settings]
SPANISH_WORDS = ("prueba de manejo", "diciembre")


def spanish(text: str) -> bool:
    return all(word in text for word in SPANISH_WORDS)


async def test_a_spanish_buyer_books_moves_cancels_and_is_reminded_in_spanish(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        headers, _ = await ready(h)
        # Confirmation: "mañana a las 5" is Tuesday 17:00, with the exact place.
        await h.say("4001", "Hola, ¿puedo verlo mañana a las 5?")
        reply = h.sent_texts("4001")[-1]
        assert "tienes una prueba de manejo" in reply and "martes 8 de diciembre a las 5 de la tarde" in reply
        assert f"Punto de encuentro: {ADDRESS}." in reply, reply
        # Offered slots: a second Spanish buyer wants the same time.
        await h.say("4002", "Hola, ¿puedo verlo mañana a las 5?")
        reply = h.sent_texts("4002")[-1]
        assert "ya está ocupado" in reply and "Los horarios libres más cercanos" in reply, reply
        assert "Tap" not in reply and "AM" not in reply and "PM" not in reply
        titles = [q["title"] for q in last_quick_replies(h, "4002")]
        assert titles == ["mar 8 dic 2 pm", "mar 8 dic 3 pm", "mar 8 dic 4 pm"], titles
        # Reschedule and cancel in words.
        await h.say("4001", "¿mejor a las 4?")
        reply = h.sent_texts("4001")[-1]
        assert "queda para el martes 8 de diciembre a las 4 de la tarde" in reply, reply
        await h.say("4001", "lo siento, surgió algo")
        reply = h.sent_texts("4001")[-1]
        assert reply.startswith("Sin problema, cancelé tu prueba de manejo del martes 8 de diciembre"), reply
        # The reminder, inside the window: 4002 books today at 3 and is reminded at 1.
        await h.say("4002", "¿puedo verlo hoy a las 3?")
        assert "lunes 7 de diciembre a las 3 de la tarde" in h.sent_texts("4002")[-1]
        (booking,) = [b for b in await bookings(h) if b.status == "booked"]
        await advance(h, booking.starts_at - timedelta(hours=2) - h.runtime.clock())
        remind = h.runtime.registry.get("test_drive_reminder")
        await remind({"booking_id": booking.id, "sequence": booking.sequence})
        await h.settle()
        reminder = h.sent_texts("4002")[-1]
        assert reminder.startswith("Recordatorio: tu prueba de manejo") and "lunes 7" in reminder, reminder
        # The seller cancels it from the dashboard: the buyer is told in Spanish too.
        response = await h.client.post(f"/api/bookings/{booking.id}/cancel", headers=headers)
        assert response.status_code == 200 and response.json()["buyer_told"] is True
        await h.settle()
        told = h.sent_texts("4002")[-1]
        assert told.startswith("Lo siento, el vendedor tuvo que cancelar") and spanish(told), told
        # An English buyer still reads English.
        await h.say("4003", "can I see it thursday at 2pm?")
        assert "Thursday, December 10 at 2 PM" in h.sent_texts("4003")[-1]


def as_staff(h: SimHarness, seller: int) -> None:
    """Requests from now on are a staff member's (the client keeps a credential for the middleware)."""
    app: Any = h.client._transport.app  # type: ignore[attr-defined]  # the harness's lazy ASGI app
    app.app.dependency_overrides[current_member] = lambda: MemberContext(seller, 999, "staff")


SUNDAY = {"weekly_hours": {"sun": [["11:00", "15:00"]]}, "slot_minutes": 60, "buffer_minutes": 0}
LOT_B = "2 Lot B Road, Dearborn, MI"


async def test_page_and_listing_availability_used_when_booking(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        headers, _ = await ready(h)
        page_id = h.sim.config.page_id
        listing_url = f"/api/availability/listings/{h.listing_id}"
        page_url = f"/api/availability/pages/{page_id}"
        inherited = (await h.client.get(listing_url, headers=headers)).json()
        assert inherited["source"] == "seller" and inherited["place_address"] == ADDRESS
        assert inherited["page_id"] == page_id and inherited["listing_id"] == h.listing_id

        # The seller's own hours have no Sunday: refused, and the nearest free slots offered.
        await h.say("5001", "can I see it sunday at 11am?")
        assert "isn't one of the seller's open times" in h.sent_texts("5001")[-1]

        # The Page opens on Sundays at another lot.
        page = await h.client.put(page_url, json={**SUNDAY, "place_address": LOT_B}, headers=headers)
        assert page.status_code == 200, page.text
        assert page.json()["source"] == "page" and page.json()["weekly_hours"] == {
            "sun": [["11:00", "15:00"]]
        }
        assert (await h.client.get(listing_url, headers=headers)).json()["source"] == "page"
        await h.say("5002", "can I see it sunday at 11am?")
        reply = h.sent_texts("5002")[-1]
        assert "booked" in reply and "Sunday, December 13 at 11 AM" in reply and LOT_B in reply, reply

        # The listing's own hours win over the Page's (12–14 only); its place falls back to the Page's.
        listing = await h.client.put(
            listing_url,
            json={"weekly_hours": {"sun": [["13:00", "14:00"]]}, "slot_minutes": 60},
            headers=headers,
        )
        assert listing.status_code == 200 and listing.json()["source"] == "listing"
        await h.say("5003", "can I see it sunday at noon?")
        assert "isn't one of the seller's open times" in h.sent_texts("5003")[-1]
        await h.say("5004", "can I see it sunday at 1pm?")
        reply = h.sent_texts("5004")[-1]
        assert "Sunday, December 13 at 1 PM" in reply and LOT_B in reply, reply
        # The seller's own availability is untouched.
        own = (await h.client.get("/api/availability", headers=headers)).json()
        assert "sun" not in own["weekly_hours"] and own["place_address"] == ADDRESS

        # Removing the overrides: back to the Page's, then to the seller's.
        assert (await h.client.delete(listing_url, headers=headers)).status_code == 204
        assert (await h.client.get(listing_url, headers=headers)).json()["source"] == "page"
        assert (await h.client.delete(page_url, headers=headers)).status_code == 204
        assert (await h.client.get(page_url, headers=headers)).json()["source"] == "seller"
        assert len([b for b in await bookings(h) if b.status == "booked"]) == 2

        # Bad input is a clear 422; another seller's Page or listing is a 404, for reading and writing.
        bad = await h.client.put(
            page_url, json={"weekly_hours": {"sun": [["15:00", "11:00"]]}}, headers=headers
        )
        assert bad.status_code == 422
        assert (await h.client.get("/api/availability/pages/abc", headers=headers)).status_code == 422
        other = await other_seller(h)
        for url in (f"/api/availability/pages/{OTHER_PAGE_ID}", "/api/availability/listings/999999"):
            assert (await h.client.get(url, headers=headers)).status_code == 404
            assert (await h.client.put(url, json=AVAILABILITY, headers=headers)).status_code == 404
        assert (await h.client.get(page_url, headers=other.headers)).status_code == 404
        assert (await h.client.get(page_url)).status_code == 401

        # Staff may read what applies, never change it.
        as_staff(h, await seller_id(h))
        assert (await h.client.get(page_url, headers=headers)).status_code == 200
        for call in (
            h.client.put(page_url, json=SUNDAY, headers=headers),
            h.client.delete(page_url, headers=headers),
        ):
            assert (await call).status_code == 403
