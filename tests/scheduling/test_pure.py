"""The pure parts of test drives: slot arithmetic (property-tested), the words of a booked buyer, texts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accorria_agent.negotiation.guard import check_reply
from accorria_agent.negotiation.schemas import ActionKind, Decision, SellerRules
from accorria_agent.scheduling import texts
from accorria_agent.scheduling.slots import (
    DEFAULT_WEEKLY,
    AvailabilityRules,
    bookable,
    day_slots,
    free_slots,
    nearest_free,
    parse_intervals,
    zone,
)
from accorria_agent.scheduling.words import booking_change, new_clock

RULES = AvailabilityRules.from_json("America/Detroit", DEFAULT_WEEKLY)
NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # Monday 10:00 in Detroit


def local(when: datetime) -> str:
    return when.astimezone(zone("America/Detroit")).strftime("%a %H:%M")


def test_the_default_hours_give_hourly_slots_weekdays_and_saturday() -> None:
    assert [local(s) for s in day_slots(RULES, date(2026, 12, 12))] == [
        "Sat 10:00", "Sat 11:00", "Sat 12:00", "Sat 13:00", "Sat 14:00", "Sat 15:00",
    ]  # fmt: skip
    assert len(day_slots(RULES, date(2026, 12, 8))) == 9  # 9:00 … 17:00, each ending by 18:00
    assert day_slots(RULES, date(2026, 12, 13)) == []  # Sunday: closed


def test_a_slot_needs_the_grid_the_hours_and_the_notice() -> None:
    assert bookable(RULES, datetime(2026, 12, 12, 15, 0, tzinfo=UTC), NOW)
    assert not bookable(RULES, datetime(2026, 12, 12, 15, 30, tzinfo=UTC), NOW)  # off the grid
    assert not bookable(RULES, datetime(2026, 12, 13, 15, 0, tzinfo=UTC), NOW)  # Sunday
    assert not bookable(RULES, NOW + timedelta(minutes=30), NOW)  # inside the minimum notice


def test_a_day_off_and_extra_hours_replace_the_weekly_ones() -> None:
    rules = AvailabilityRules.from_json(
        "America/Detroit",
        DEFAULT_WEEKLY,
        [{"date": "2026-12-08", "hours": []}, {"date": "2026-12-13", "hours": [["12:00", "14:00"]]}],
    )
    assert day_slots(rules, date(2026, 12, 8)) == []
    assert [local(s) for s in day_slots(rules, date(2026, 12, 13))] == ["Sun 12:00", "Sun 13:00"]


def test_slots_follow_the_seller_timezone_across_dst() -> None:
    spring = date(2027, 3, 15)  # after the US switch to daylight time
    (first, *_) = day_slots(RULES, spring)
    assert first.hour == 13 and local(first) == "Mon 09:00"


@pytest.mark.parametrize("bad", [[["10:00", "09:00"]], [["09:00", "12:00"], ["11:30", "13:00"]], [["9"]]])
def test_bad_intervals_are_refused(bad: list[list[str]]) -> None:
    with pytest.raises(ValueError):
        parse_intervals(bad)


@settings(max_examples=30, deadline=None)
@given(
    slot=st.integers(15, 120),
    buffer=st.integers(0, 60),
    taken=st.lists(st.integers(0, 60), max_size=8),
    offset_hours=st.integers(0, 24 * 10),
)
def test_free_slots_are_bookable_and_never_overlap_a_booking(
    slot: int, buffer: int, taken: list[int], offset_hours: int
) -> None:
    rules = AvailabilityRules.from_json(
        "America/Detroit", DEFAULT_WEEKLY, slot_minutes=slot, buffer_minutes=buffer
    )
    all_slots = free_slots(rules, NOW)
    busy = [(all_slots[i], all_slots[i] + rules.slot) for i in taken if i < len(all_slots)]
    free = free_slots(rules, NOW, busy)
    for start in free:
        assert bookable(rules, start, NOW, busy)
        for b_start, b_end in busy:
            assert start + rules.slot <= b_start or b_end <= start
    for one, two in zip(free, free[1:], strict=False):
        assert one + rules.slot <= two  # grid slots of one seller never overlap each other
    wanted = NOW + timedelta(hours=offset_hours)
    nearest = nearest_free(rules, wanted, NOW, busy)
    assert nearest == sorted(nearest) and len(nearest) <= 3
    assert all(bookable(rules, n, NOW, busy) for n in nearest)


@pytest.mark.parametrize(
    ("text", "change", "clock"),
    [
        ("can we do 6 instead?", "reschedule", time(18)),
        ("Something came up, can we do 6 instead?", "reschedule", time(18)),
        ("something came up", "cancel", None),
        ("I can't make it", "cancel", None),
        ("¿podemos a las 6?", "reschedule", time(18)),
        ("ya no puedo ir, lo siento", "cancel", None),
        ("how about 5:30", "reschedule", time(17, 30)),
        ("can we make it 10am", "reschedule", time(10)),
        ("see you then!", None, None),
        ("see you later", None, None),
        ("I have 2 kids, is there room?", None, None),
        ("", None, None),
    ],
)
def test_the_words_of_a_booked_buyer(text: str, change: str | None, clock: time | None) -> None:
    assert booking_change(text) == change
    if change == "reschedule":
        assert new_clock(text) == clock


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=80))
def test_booking_words_never_crash(text: str) -> None:
    assert booking_change(text) in (None, "reschedule", "cancel")
    new_clock(text)


@pytest.mark.parametrize("language", ["en", "es", "fr"])
def test_every_buyer_text_passes_the_guard_with_no_price_allowed(language: str) -> None:
    rules = SellerRules(asking_price=texts._NO_PRICE, price_floor=texts._NO_PRICE)
    decision = Decision(action=ActionKind.PROPOSE_VIEWING, language=language)
    address = "4410 Woodward Ave, Detroit, MI 48201"
    car, lang = "2018 Honda Civic EX", language
    for hour, minute in [(h, m) for h in range(9, 18) for m in (0, 30)]:
        when = texts.when_text(datetime(2026, 12, 8, hour + 5, minute, tzinfo=UTC), "America/Detroit", lang)
        samples = [
            texts.booked(car, when, None, lang),
            texts.already_booked(car, when, None, lang),
            texts.moved(when, None, lang),
            texts.offer(when, [when, when], "Midtown", taken=True, language=lang),
            texts.offer(None, [when], None, taken=False, language=lang),
            texts.offer(when, [when], None, taken=False, keeping=when, language=lang),
            texts.offer(None, [], None, taken=False, language=lang),
            texts.cancelled(when, True, lang),
            texts.cancelled_by_seller(when, lang),
            texts.reminder(car, when, None, lang),
        ]
        for sample in samples:
            assert check_reply(sample, decision, rules).ok, sample
            assert ".." not in sample, sample
        with_address = texts.booked(car, when, address, lang)
        assert texts.guarded(with_address, rules, None, address, language=lang) == with_address


def test_spanish_slots_read_as_spanish_and_titles_fit() -> None:
    start = datetime(2026, 12, 16, 15, 30, tzinfo=UTC)  # Wednesday 10:30 in Detroit
    assert (
        texts.when_text(start, "America/Detroit", "es")
        == "miércoles 16 de diciembre a las 10:30 de la mañana"
    )
    assert texts.slot_title(start, "America/Detroit", "es") == "mié 16 dic 10:30 am"
    assert texts.when_text(start, "America/Detroit") == "Wednesday, December 16 at 10:30 AM"
    assert texts.slot_title(start, "America/Detroit", "fr") == "Wed Dec 16, 10:30 AM"  # no French yet
    assert texts.guarded("Reservado, el mínimo es $9,000.", None, None, language="es").startswith("¡Gracias!")


def test_a_text_that_fails_the_guard_becomes_the_safe_line() -> None:
    leaked = "You're booked, and the lowest they'd take is $9,000."
    assert texts.guarded(leaked, None, None) == texts.SAFE_FALLBACK


def test_slot_payloads_round_trip_and_titles_fit_messenger() -> None:
    start = datetime(2026, 12, 12, 15, 0, tzinfo=UTC)
    assert texts.parse_slot_payload(texts.slot_payload(start)) == start
    assert texts.parse_slot_payload("BOOK_SLOT:nonsense") is None
    assert texts.parse_slot_payload("MAKE_OFFER") is None
    assert len(texts.slot_title(datetime(2026, 9, 30, 16, 30, tzinfo=UTC), "America/Detroit")) <= 20
