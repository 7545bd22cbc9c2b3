"""Every question kind answered first, from the listing, in English and Spanish, through the simulator.

Each case is a fresh buyer writing one message; the assertions are on what Messenger delivered: the
fact asked for is there, nothing the listing does not say, and never the floor.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import update

from accorria_agent.db.engine import transaction
from accorria_agent.negotiation.guard import find_amounts, normalize_text
from accorria_agent.sellers.models import Listing
from accorria_agent.settings import Settings
from tests.sim_harness import SimHarness, sim_harness

Make = Callable[..., Settings]
FLOOR = Decimal(11000)
LISTING = {
    "year": 2017,
    "make": "Toyota",
    "model": "Camry",
    "trim": "SE",
    "mileage": 71000,
    "features": ["backup camera", "heated seats"],
    "location": "Ann Arbor, MI 48104",
    "details": {
        "title": "clean, in hand",
        "accidents": "none",
        "owners": "two",
        "vin": "4T1BF1FK5HU123456",
        "color": "blue",
        "transmission": "automatic",
        "maintenance": "all service records, oil changed on schedule",
        "payment": "Cash or a cashier's check at my bank",
        "financing": "No financing from me, bring your own bank loan",
        "trade_in": "No trades, sorry",
        "delivery": "Pickup only",
        "warranty": "None, it comes as is",
        "address": "1234 Maple Street",
    },
    "asking_price": 12500,
    "price_floor": 11000,
    "max_concessions": 3,
    "escrow_enabled": True,
}

# (buyer message, words the reply must contain (any one of each tuple)).
ENGLISH: list[tuple[str, list[tuple[str, ...]]]] = [
    ("Is this still available?", [("still available",)]),
    ("how much?", [("$12,500",), ("offer",)]),
    ("just tell me your floor price", [("$12,500",), ("offer",)]),
    ("what's the lowest you'll take?", [("$12,500",), ("offer",)]),
    ("where is it located?", [("Ann Arbor",), ("test drive",)]),
    ("how many miles does it have?", [("71,000",)]),
    ("is the title clean?", [("clean, in hand",)]),
    ("any accidents?", [("none",)]),
    ("how many owners?", [("two",)]),
    ("can I get the VIN?", [("4T1BF1FK5HU123456",)]),
    ("what color is it?", [("blue",)]),
    ("is it automatic or manual?", [("automatic",)]),
    ("does it have service records?", [("service records",)]),
    ("what features does it have?", [("backup camera",)]),
    ("do you take cash?", [("cashier's check",)]),
    ("can I finance it?", [("bank loan",)]),
    ("would you take a trade?", [("No trades",)]),
    ("can you deliver it?", [("Pickup only",)]),
    ("does it come with a warranty?", [("as is",)]),
    (
        "hi! is it still available, how many miles and where is it?",
        [("available",), ("71,000",), ("Ann Arbor",)],
    ),
]
SPANISH: list[tuple[str, list[tuple[str, ...]]]] = [
    ("hola, todavía está disponible?", [("disponible",)]),
    ("cuánto cuesta?", [("$12,500",)]),
    ("cuánto es lo menos?", [("$12,500",), ("ofrecer", "oferta")]),
    ("dónde está el carro?", [("Ann Arbor",), ("prueba de manejo",)]),
    ("cuántas millas tiene?", [("71,000",)]),
    ("tiene título limpio?", [("clean, in hand",)]),
    ("ha tenido accidentes?", [("none",)]),
    ("aceptas efectivo?", [("cashier's check",)]),
    ("aceptas cambio por mi carro?", [("No trades",)]),
    ("te doy 9 mil", [("oferta", "gracias", "qué tal")]),
]


def _never_the_floor(reply: str) -> None:
    assert "1234 Maple" not in reply, reply  # the exact place only once a test drive is booked
    for mention in find_amounts(normalize_text(reply), listing_year=2017):
        assert mention.value > FLOOR, reply


async def _ask_each(
    h: SimHarness, cases: list[tuple[str, list[tuple[str, ...]]]], first_psid: int
) -> list[str]:
    failures = []
    for offset, (message, wanted) in enumerate(cases):
        psid = str(first_psid + offset)
        await h.say(psid, message)
        replies = h.sent_texts(psid)
        assert len(replies) == 1, (message, replies)
        reply = replies[0]
        _never_the_floor(reply)
        for options in wanted:
            if not any(o.lower() in reply.lower() for o in options):
                failures.append(f"{message!r} -> {reply!r} lacks {options}")
    return failures


async def test_every_question_kind_is_answered_in_english(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url, listing=LISTING) as h:
        failures = await _ask_each(h, ENGLISH, 3000)
    assert not failures, "\n".join(failures)


async def test_every_question_kind_is_answered_in_spanish(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url, listing=LISTING) as h:
        failures = await _ask_each(h, SPANISH, 4000)
        # The disclosure is in Spanish too, and the language is kept for the conversation.
        first = h.sent_texts("4000")[0]
        assert "asistente automático" in first, first
        await h.say("4000", "ok")
        assert "disponible" in h.sent_texts("4000")[-1] or "?" in h.sent_texts("4000")[-1]
        assert (await h.conversation("4000")).negotiation_state["language"] == "es"
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    ("status", "english", "spanish"),
    [("sold", "no longer for sale", "ya se vendió"), ("pending", "pending", "pendiente")],
)
async def test_availability_follows_the_listing_status(
    database_url: str, make_settings: Make, status: str, english: str, spanish: str
) -> None:
    async with sim_harness(make_settings, database_url, listing=LISTING) as h:
        await h.say("5001", "hi")
        await h.say("5002", "hola")
        async with transaction(h.runtime.session_factory) as session:
            await session.execute(update(Listing).where(Listing.id == h.listing_id).values(status=status))
        await h.say("5001", "is it still available?")
        await h.say("5002", "¿sigue disponible?")
        assert english in h.sent_texts("5001")[-1], h.sent_texts("5001")
        assert spanish in h.sent_texts("5002")[-1], h.sent_texts("5002")
        assert "still available" not in h.sent_texts("5001")[-1]
