"""Poison input isolated: bad fields are normalised where the delivery is parsed, a batch that fails is
retried delivery by delivery (only the bad one is refused, recorded and answered 200), and an event whose
handling fails is set aside while the buyer's later messages are answered."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from accorria_agent.conversations import set_aside
from accorria_agent.conversations.models import SetAsideEvent
from accorria_agent.db.engine import transaction
from accorria_agent.messenger.events import MAX_ID_LENGTH, InboundEvent, clamp_timestamp, parse_delivery
from accorria_agent.messenger.models import EventLog, WebhookRefusal
from accorria_agent.sellers.notifications import SellerNotification
from accorria_agent.settings import Settings
from tests.fakes.graph import FakeGraph
from tests.helpers import PAGE_ID, Harness, delivery, harness, text_event

NOW_MS = 1_800_000_000_000
LONG_PSID = "9" * (MAX_ID_LENGTH + 1)


# --- parsing: every field bounded --------------------------------------------------------------------


def test_nul_characters_are_removed_from_every_string() -> None:
    event = text_event("buyer-1", "hi\u0000 there", mid="m_\u00001")
    event["message"]["nested\u0000key"] = ["a\u0000b", {"c": "\u0000"}]
    _obj, (parsed,) = parse_delivery(delivery(event), NOW_MS)
    assert b"\\u0000" not in orjson.dumps(parsed.payload)
    assert parsed.payload["message"]["text"] == "hi there"
    assert parsed.payload["message"]["nestedkey"] == ["ab", {"c": ""}]
    assert "\u0000" not in parsed.event_key
    assert parsed.kind == "message"


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        (2**63, NOW_MS),  # would overflow BIGINT
        (2**64 + 5, NOW_MS),
        (1e16, NOW_MS),  # year out of range
        (NOW_MS + 3_600_000, NOW_MS),  # an hour in the future: must not keep the window open
        (NOW_MS - 1000, NOW_MS - 1000),
        (-5, 0),
        ("yesterday", 0),
        (True, 0),
    ],
)
def test_timestamps_are_clamped_to_the_time_of_receipt(timestamp: Any, expected: int) -> None:
    event = text_event("buyer-1", "hi")
    event["timestamp"] = timestamp
    _obj, (parsed,) = parse_delivery(delivery(event), NOW_MS)
    assert parsed.timestamp_ms == expected
    assert parsed.payload["timestamp"] == expected


def test_a_future_timestamp_keeps_its_event_key_on_redelivery() -> None:
    postback = {"sender": {"id": "b"}, "recipient": {"id": PAGE_ID}, "timestamp": NOW_MS * 2, "postback": {}}
    _o, (first,) = parse_delivery(delivery(postback), NOW_MS)
    _o, (second,) = parse_delivery(delivery(postback), NOW_MS + 60_000)
    assert first.event_key == second.event_key
    assert first.timestamp_ms == NOW_MS and second.timestamp_ms == NOW_MS + 60_000


@pytest.mark.parametrize("kind", ["read", "delivery"])
def test_a_huge_watermark_is_clamped(kind: str) -> None:
    event = {
        "sender": {"id": "b"},
        "recipient": {"id": PAGE_ID},
        "timestamp": NOW_MS,
        kind: {"watermark": 1e30},
    }
    _o, (parsed,) = parse_delivery(delivery(event), NOW_MS)
    assert parsed.payload[kind]["watermark"] == NOW_MS


def test_ids_over_64_characters_make_the_event_invalid_and_fit_the_column() -> None:
    _o, (by_buyer,) = parse_delivery(delivery(text_event(LONG_PSID, "hi")), NOW_MS)
    assert by_buyer.kind == "invalid" and len(by_buyer.buyer_psid) == MAX_ID_LENGTH
    _o, (by_page,) = parse_delivery(
        delivery(text_event("b", "hi", page_id="1" * 80), page_id="1" * 80), NOW_MS
    )
    assert by_page.kind == "invalid" and len(by_page.page_id) == MAX_ID_LENGTH


def test_deep_nesting_is_cut_not_recursed_without_bound() -> None:
    deep: Any = "leaf"
    for _ in range(500):
        deep = [deep]
    event = text_event("b", "hi")
    event["message"]["attachments"] = deep
    _o, (parsed,) = parse_delivery(delivery(event), NOW_MS)
    assert parsed.kind == "message"
    assert len(orjson.dumps(parsed.payload)) < 500


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(
    sender=st.text(max_size=100),
    timestamp=st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text()),
    extra=st.dictionaries(
        st.sampled_from(["message", "read", "delivery", "postback", "x"]), _json, max_size=3
    ),
)
def test_every_parsed_event_fits_its_columns(sender: str, timestamp: Any, extra: dict[str, Any]) -> None:
    raw = {"sender": {"id": sender}, "recipient": {"id": PAGE_ID}, "timestamp": timestamp, **extra}
    _o, events = parse_delivery(delivery(raw), NOW_MS)
    for event in events:
        assert 0 <= event.timestamp_ms <= NOW_MS
        assert len(event.buyer_psid) <= MAX_ID_LENGTH and len(event.page_id) <= MAX_ID_LENGTH
        assert "\u0000" not in event.buyer_psid + event.page_id + event.event_key
        assert b"\\u0000" not in orjson.dumps(event.payload)
        for kind in ("read", "delivery"):
            inner = event.payload.get(kind)
            if isinstance(inner, dict) and "watermark" in inner:
                assert isinstance(inner["watermark"], int) and 0 <= inner["watermark"] <= NOW_MS


def test_clamp_timestamp_never_exceeds_receipt() -> None:
    assert clamp_timestamp(float("inf"), NOW_MS) == NOW_MS
    assert clamp_timestamp(None, NOW_MS) == 0


# --- the webhook and the job, on SQLite and PostgreSQL ------------------------------------------------


def _bad(field: str, psid: str) -> dict[str, Any]:
    event = text_event(psid, "Is it still available?")
    if field == "nul":
        event["message"]["text"] = "Is it\u0000 still available?"
    elif field == "timestamp_2_63":
        event["timestamp"] = 2**63
    elif field == "timestamp_1e16":
        event["timestamp"] = 1e16
    elif field == "future":
        event["timestamp"] = int(time.time() * 1000) + 48 * 3600 * 1000
    elif field == "long_psid":
        event["sender"]["id"] = LONG_PSID
    elif field == "watermark":
        event = {
            "sender": {"id": psid},
            "recipient": {"id": PAGE_ID},
            "timestamp": int(time.time() * 1000),
            "read": {"watermark": 1e30},
        }
    return event


BAD_FIELDS = ["nul", "timestamp_2_63", "timestamp_1e16", "future", "long_psid", "watermark"]


async def _count(h: Harness, model: Any, *where: Any) -> int:
    async with h.runtime.session_factory() as session:
        return int(
            (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()
        )


@pytest.mark.parametrize("field", BAD_FIELDS)
async def test_each_bad_field_alone_is_recorded_and_the_buyer_answered_next(
    field: str, database_url: str, make_settings: Callable[..., Settings]
) -> None:
    graph = FakeGraph()
    async with harness(make_settings(DATABASE_URL=database_url), graph.transport) as h:
        psid = f"poison-{field}"
        response = await h.post_signed(delivery(_bad(field, psid)))
        assert response.status_code == 200
        await h.idle()
        stored = await _count(h, EventLog, EventLog.payload.is_not(None))
        assert stored == 1  # the bad event is recorded, normalised
        if field == "future":
            async with h.runtime.session_factory() as session:
                (row,) = (await session.execute(select(EventLog))).scalars().all()
            assert row.timestamp_ms <= int(time.time() * 1000)
        answered_before = len(graph.messages(psid))
        nxt = await h.post_signed(delivery(text_event(psid, "Hello? What's the mileage?")))
        assert nxt.status_code == 200
        await h.idle()
        assert len(graph.messages(psid)) == answered_before + 1
        assert await _count(h, SetAsideEvent) == 0  # normalised at the edge: nothing had to be set aside


async def test_bad_deliveries_mixed_into_a_burst_of_good_ones(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    graph = FakeGraph()
    async with harness(make_settings(DATABASE_URL=database_url), graph.transport) as h:
        good = [delivery(text_event(f"good-{n}", "Is it still available?")) for n in range(12)]
        bad = [delivery(_bad(field, f"bad-{field}")) for field in BAD_FIELDS]
        bodies = good[:6] + bad + good[6:]
        responses = await asyncio.gather(*(h.post_signed(body) for body in bodies))
        assert [r.status_code for r in responses] == [200] * len(bodies)
        await h.idle()
        for n in range(12):
            assert len(graph.messages(f"good-{n}")) == 1, n
        for field in BAD_FIELDS:
            if field != "long_psid":
                assert await _count(h, EventLog, EventLog.buyer_psid == f"bad-{field}") == 1


def _unstorable(psid: str) -> InboundEvent:
    """An event that skipped parsing: its timestamp overflows every integer column."""
    raw = text_event(psid, "hi")
    return InboundEvent(
        PAGE_ID, psid, f"message:messaging:{raw['message']['mid']}", "message", "messaging", 2**64, raw
    )


async def test_a_batch_that_fails_is_retried_one_by_one_and_the_poison_recorded_with_200(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    graph = FakeGraph()
    async with harness(make_settings(DATABASE_URL=database_url), graph.transport) as h:
        intake = h.runtime.intake
        good = [parse_delivery(delivery(text_event(f"ok-{n}", "hi")))[1] for n in range(10)]
        stores = [intake.store("page", "{}", events) for events in good]
        stores.insert(5, intake.store("page", '{"poison": true}', [_unstorable("poisoned")]))
        await asyncio.gather(*stores)  # every caller answered (no IntakeUnavailable)
        await h.idle()
        for n in range(10):
            assert len(graph.messages(f"ok-{n}")) == 1
        async with h.runtime.session_factory() as session:
            refusals = (await session.execute(select(WebhookRefusal))).scalars().all()
        assert len(refusals) == 1
        assert refusals[0].body == '{"poison": true}' and refusals[0].event_count == 1
        assert refusals[0].error
        assert await _count(h, EventLog, EventLog.buyer_psid == "poisoned") == 0


async def _store_raw(h: Harness, psid: str, text: str, timestamp_ms: int) -> None:
    raw = text_event(psid, text)
    event = InboundEvent(
        PAGE_ID, psid, f"message:messaging:{raw['message']['mid']}", "message", "messaging", timestamp_ms, raw
    )
    await h.runtime.intake.store("page", "", [event])


async def test_an_event_whose_handling_fails_is_set_aside_and_later_messages_answered(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    graph = FakeGraph()
    async with harness(make_settings(DATABASE_URL=database_url), graph.transport) as h:
        # Stored before this change's parsing existed: year 318857 cannot be a datetime.
        await _store_raw(h, "stuck", "Is it available?", 10**16)
        await h.idle()
        assert await _count(h, SetAsideEvent) == 1
        assert (
            await _count(h, SellerNotification, SellerNotification.kind == set_aside.NOTIFICATION_KIND) == 1
        )
        await h.post_signed(delivery(text_event("stuck", "Hello? Still for sale?")))
        await h.idle()
        assert len(graph.messages("stuck")) == 1  # the next message is answered
        async with transaction(h.runtime.session_factory) as session:
            (view,) = await set_aside.open_set_asides(session)
            assert view.buyer_psid == "stuck" and "ValueError" in view.error
        async with transaction(h.runtime.session_factory) as session:
            await set_aside.retry(session, h.runtime.queue, view.id, h.runtime.clock())
        await h.idle()
        # It fails the same way again: set aside anew, the old one marked retried, the buyer unharmed.
        async with transaction(h.runtime.session_factory) as session:
            (again,) = await set_aside.open_set_asides(session)
            assert again.id != view.id and again.event_id == view.event_id
            with pytest.raises(Exception, match="retried already"):
                await set_aside.retry(session, h.runtime.queue, view.id, h.runtime.clock())
        assert len(graph.messages("stuck")) == 1
