"""Slot arithmetic (pure): which test-drive slots a seller's hours offer, which are free, which are nearest.

Slots lie on a fixed grid: in each opening interval of a day (seller's timezone) the first slot starts at
the opening time and each next one ``slot_minutes + buffer_minutes`` later; a slot must end by the closing
time. Because every booking of a seller starts on this grid, two bookings overlap only if they start at
the same instant — which is what the database's unique index refuses (see ``models``). Bookings made
under earlier hours may sit off the current grid, so freedom is still checked as interval overlap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_KEYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Interval = tuple[time, time]

#: Hours every seller has until they set their own: weekdays 9–18, Saturday 10–16.
DEFAULT_WEEKLY: dict[str, list[list[str]]] = {
    **{day: [["09:00", "18:00"]] for day in DAY_KEYS[:5]},
    "sat": [["10:00", "16:00"]],
}
DEFAULT_SLOT_MINUTES = 45
DEFAULT_BUFFER_MINUTES = 15
DEFAULT_MIN_NOTICE_MINUTES = 60
#: How far ahead free slots are looked for.
HORIZON_DAYS = 21


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; an unknown name falls back to America/Detroit (the product's default)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("America/Detroit")


def parse_clock(value: str) -> time:
    """``"09:30"`` → 09:30; ``"24:00"`` is the end of the day. Raises ValueError otherwise."""
    hours, _, minutes = value.strip().partition(":")
    h, m = int(hours), int(minutes or 0)
    if (h, m) == (24, 0):
        return time.max
    return time(h, m)


def parse_intervals(raw: Sequence[Sequence[str]]) -> tuple[Interval, ...]:
    """``[["09:00", "12:00"], ["13:00", "18:00"]]`` → sorted, checked intervals (start before end)."""
    out = []
    for pair in raw:
        if len(pair) != 2:
            raise ValueError("an interval is [start, end]")
        start, end = parse_clock(pair[0]), parse_clock(pair[1])
        if start >= end:
            raise ValueError(f"interval {pair[0]}–{pair[1]} ends before it starts")
        out.append((start, end))
    out.sort()
    for (_, end), (start, _) in zip(out, out[1:], strict=False):
        if start < end:
            raise ValueError("intervals of one day overlap")
    return tuple(out)


@dataclass(frozen=True)
class AvailabilityRules:
    """A seller's availability as the pure code sees it."""

    timezone: str = "America/Detroit"
    weekly: Mapping[int, tuple[Interval, ...]] = field(default_factory=dict)
    exceptions: Mapping[date, tuple[Interval, ...]] = field(default_factory=dict)
    slot_minutes: int = DEFAULT_SLOT_MINUTES
    buffer_minutes: int = DEFAULT_BUFFER_MINUTES
    min_notice_minutes: int = DEFAULT_MIN_NOTICE_MINUTES

    @classmethod
    def from_json(
        cls,
        timezone: str,
        weekly: Mapping[str, Sequence[Sequence[str]]],
        exceptions: Iterable[Mapping[str, object]] = (),
        *,
        slot_minutes: int = DEFAULT_SLOT_MINUTES,
        buffer_minutes: int = DEFAULT_BUFFER_MINUTES,
        min_notice_minutes: int = DEFAULT_MIN_NOTICE_MINUTES,
    ) -> AvailabilityRules:
        """Rules from the stored/API JSON shape (day keys ``mon``…``sun``, ``HH:MM`` strings)."""
        days = {DAY_KEYS.index(key): parse_intervals(value) for key, value in weekly.items()}
        special: dict[date, tuple[Interval, ...]] = {}
        for item in exceptions:
            hours = item.get("hours") or []
            special[date.fromisoformat(str(item["date"]))] = parse_intervals(hours)  # type: ignore[arg-type]
        return cls(timezone, days, special, slot_minutes, buffer_minutes, min_notice_minutes)

    @property
    def slot(self) -> timedelta:
        return timedelta(minutes=self.slot_minutes)

    @property
    def step(self) -> timedelta:
        return timedelta(minutes=self.slot_minutes + self.buffer_minutes)


def day_slots(rules: AvailabilityRules, day: date) -> list[datetime]:
    """The slot starts of ``day`` (aware, UTC), in order."""
    tz = zone(rules.timezone)
    intervals = rules.exceptions.get(day, rules.weekly.get(day.weekday(), ()))
    out: list[datetime] = []
    for start, end in intervals:
        cursor = datetime.combine(day, start, tz)
        close = (
            datetime.combine(day, end, tz)
            if end != time.max
            else datetime.combine(day + timedelta(days=1), time(0), tz)
        )
        while cursor + rules.slot <= close:
            out.append(cursor.astimezone(UTC))
            cursor = (cursor.astimezone(UTC) + rules.step).astimezone(tz)
    return out


def _overlaps(start: datetime, rules: AvailabilityRules, busy: Iterable[tuple[datetime, datetime]]) -> bool:
    end = start + rules.slot
    gap = timedelta(minutes=rules.buffer_minutes)
    return any(start < b_end + gap and b_start < end + gap for b_start, b_end in busy)


def bookable(
    rules: AvailabilityRules, when: datetime, now: datetime, busy: Iterable[tuple[datetime, datetime]] = ()
) -> bool:
    """Whether ``when`` is a slot start of the seller's hours, with enough notice, and free."""
    local_day = when.astimezone(zone(rules.timezone)).date()
    if when.astimezone(UTC) not in day_slots(rules, local_day):
        return False
    if when < now + timedelta(minutes=rules.min_notice_minutes):
        return False
    return not _overlaps(when, rules, busy)


def free_slots(
    rules: AvailabilityRules,
    now: datetime,
    busy: Sequence[tuple[datetime, datetime]] = (),
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[datetime]:
    """Every free slot between ``start`` (default now) and ``end`` (default now + ``HORIZON_DAYS``)."""
    tz = zone(rules.timezone)
    begin = max(start or now, now)
    finish = end or now + timedelta(days=HORIZON_DAYS)
    earliest = now + timedelta(minutes=rules.min_notice_minutes)
    day = begin.astimezone(tz).date()
    out: list[datetime] = []
    while datetime.combine(day, time(0), tz) <= finish:
        for slot in day_slots(rules, day):
            if begin <= slot <= finish and slot >= earliest and not _overlaps(slot, rules, busy):
                out.append(slot)
        day += timedelta(days=1)
    return out


def nearest_free(
    rules: AvailabilityRules,
    wanted: datetime,
    now: datetime,
    busy: Sequence[tuple[datetime, datetime]] = (),
    count: int = 3,
) -> list[datetime]:
    """The ``count`` free slots closest to ``wanted`` (same day first, then by distance), in time order."""
    window_start = max(now, wanted - timedelta(days=3))
    candidates = free_slots(rules, now, busy, start=window_start, end=wanted + timedelta(days=HORIZON_DAYS))
    wanted_day = wanted.astimezone(zone(rules.timezone)).date()

    def distance(slot: datetime) -> tuple[int, float]:
        same_day = slot.astimezone(zone(rules.timezone)).date() == wanted_day
        return (0 if same_day else 1, abs((slot - wanted).total_seconds()))

    return sorted(sorted(candidates, key=distance)[:count])
