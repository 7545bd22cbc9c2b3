"""Read the viewing time a buyer proposes ("tomorrow at 5", "Saturday morning", "mañana a las 5").

Pure: the reference instant is always passed in (``sent_at``); nothing here reads the clock. The common
phrasings are resolved by hand-written rules (fast and predictable); explicit calendar dates ("June 3",
"6/14") are handed to ``dateparser`` relative to ``sent_at``. Results are timezone-aware in the seller's
timezone. Conventions, chosen for car viewings:

* a bare hour "at 5" means 17:00 (1-7 -> afternoon/evening, 8-11 -> morning, 12 -> noon) unless a period
  word says otherwise ("7 in the morning", "tonight at 8");
* periods: morning 10:00, noon/lunch 12:00, afternoon 14:00, after work 17:30, evening/tonight 18:00;
* a day without a time is 12:00 that day; a time without a day is today, or tomorrow if already past;
* a weekday is its next occurrence (today only if the stated time is still ahead); "next Friday" is read
  the same as "Friday" because buyers use both for the coming one;
* a naive ``sent_at`` is taken as UTC (Messenger timestamps are UTC epochs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_WEEKDAYS: Final[dict[str, int]] = {
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
    "lunes": 0,
    "martes": 1,
    "miercoles": 2,
    "jueves": 3,
    "viernes": 4,
    "sabado": 5,
    "domingo": 6,
}
_SHORT_WEEKDAYS: Final[dict[str, int]] = {
    "mon": 0,
    "tue": 1,
    "tues": 1,
    "wed": 2,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "fri": 4,
    "sat": 5,
    "sun": 6,
}
_WEEKDAY_RE: Final = re.compile(r"\b(" + "|".join(_WEEKDAYS) + r")s?\b")
_SHORT_WEEKDAY_RE: Final = re.compile(
    r"\b(?:on|this|next|until|by|el|este)\s("
    + "|".join(_SHORT_WEEKDAYS)
    + r")\b|\b("
    + "|".join(_SHORT_WEEKDAYS)
    + r")\.?\s(?:at|@|morning|afternoon|evening|night|am|pm|\d)"
)
_DAY_AFTER_RE: Final = re.compile(r"\b(?:day after tomorrow|pasado manana)\b")
_TOMORROW_RE: Final = re.compile(r"\btomorrow\b|(?<!\bla )(?<!\bpor )(?<!\besta )\bmanana\b")
_TODAY_RE: Final = re.compile(
    r"\b(?:today|tonight|this (?:morning|afternoon|evening)|later today|hoy|esta (?:noche|tarde|manana)"
    r"|ahorita)\b"
)
_WEEKEND_RE: Final = re.compile(r"\b(?:this weekend|the weekend|weekend|fin de semana)\b")
_IN_DELTA_RE: Final = re.compile(
    r"\b(?:in|within|en)\s(?:an?|1|one|una?|(\d{1,2}))\s?(hours?|hrs?|horas?|minutes?|mins?|minutos?)\b"
)
_CLOCK_RE: Final = re.compile(
    r"(?<![\d$.,])(\d{1,2})(?::([0-5]\d))?\s?(a\.?m\.?|p\.?m\.?)(?![a-z])"
    r"|(?<![\d$.,])(\d{1,2}):([0-5]\d)(?![\d])"
)
_BARE_HOUR_RE: Final = re.compile(
    r"\b(?:at|@|around|by|after|before|about|between|from|a las|las|tipo|como a las|say"
    r"|aprox)\s(\d{1,2})(?![\d,.:]"
    r"|\s?(?:k\b|mil\b"
    r"|grand|thousand|\$|dollars|bucks|miles|mi\b|minutes|mins|hours|years))"
)
_NOON_RE: Final = re.compile(r"\b(?:noon|midday|mediodia|lunch ?time|lunch|lunch break)\b")
_MORNING_RE: Final = re.compile(r"\b(?:morning|mornings|en la manana|por la manana|de la manana|a\.m)\b")
_AFTERNOON_RE: Final = re.compile(
    r"\b(?:afternoon|afternoons|la tarde|esta tarde|por la tarde|en la tarde)\b"
)
_AFTER_WORK_RE: Final = re.compile(
    r"\b(?:after work|after i get off|despues del trabajo|saliendo del trabajo)\b"
)
_EVENING_RE: Final = re.compile(r"\b(?:evening|evenings|tonight|la noche|esta noche|por la noche|night)\b")
_DATE_RE: Final = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]{0,6}\.?\s\d{1,2}(?:st|nd|rd|th)?\b"
    r"|(?<![\d/$])\d{1,2}/\d{1,2}(?![\d/])|\bthe \d{1,2}(?:st|nd|rd|th)\b"
)


@dataclass(frozen=True)
class TimeMention:
    """What the text says about a time: the resolved instant and how specific it was."""

    when: datetime
    has_clock: bool
    has_day: bool
    has_period: bool


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("America/Detroit")


def _period(norm: str) -> tuple[str | None, time | None]:
    if _AFTER_WORK_RE.search(norm):
        return "evening", time(17, 30)
    if _NOON_RE.search(norm):
        return "noon", time(12, 0)
    if _MORNING_RE.search(norm):
        return "morning", time(10, 0)
    if _AFTERNOON_RE.search(norm):
        return "afternoon", time(14, 0)
    if _EVENING_RE.search(norm):
        return "evening", time(18, 0)
    return None, None


def _hour(hour: int, minute: int, meridiem: str | None, period: str | None) -> time | None:
    if hour > 23 or minute > 59:
        return None
    if meridiem:
        if hour == 0 or hour > 12:
            return None
        if meridiem.startswith("p") and hour != 12:
            hour += 12
        elif meridiem.startswith("a") and hour == 12:
            hour = 0
        return time(hour, minute)
    if hour > 12 or hour == 0:
        return time(hour % 24, minute)
    if period == "morning":
        return time(hour % 12, minute)
    if period in ("afternoon", "evening"):
        return time(hour % 12 + 12, minute)
    if hour == 12:
        return time(12, minute)
    # Nobody views a car at 5 in the morning: 1-7 are afternoon/evening, 8-11 morning.
    return time(hour + 12 if hour <= 7 else hour, minute)


def _clock(norm: str, period: str | None) -> time | None:
    m = _CLOCK_RE.search(norm)
    if m:
        if m.group(1) is not None:
            return _hour(int(m.group(1)), int(m.group(2) or 0), m.group(3), period)
        return _hour(int(m.group(4)), int(m.group(5)), None, period)
    b = _BARE_HOUR_RE.search(norm)
    if b:
        return _hour(int(b.group(1)), 0, None, period)
    return None


def _weekday(norm: str) -> int | None:
    m = _WEEKDAY_RE.search(norm)
    if m:
        return _WEEKDAYS[m.group(1)]
    s = _SHORT_WEEKDAY_RE.search(norm)
    if s:
        return _SHORT_WEEKDAYS[s.group(1) or s.group(2)]
    return None


def _explicit_date(norm: str, local: datetime) -> datetime | None:
    m = _DATE_RE.search(norm)
    if not m:
        return None
    import dateparser  # imported lazily: it is slow to load and needed only for calendar dates

    parsed = dateparser.parse(
        m.group(0),
        languages=["en", "es"],
        settings={"RELATIVE_BASE": local.replace(tzinfo=None), "PREFER_DATES_FROM": "future"},
    )
    if parsed is None:
        return None
    return parsed


def find_time(norm: str, sent_at: datetime | None, timezone: str = "America/Detroit") -> TimeMention | None:
    """The time ``norm`` (normalised text) refers to, relative to ``sent_at``.

    ``None`` when the text names no time or when ``sent_at`` is missing.
    """
    if sent_at is None:
        return None
    zone = _zone(timezone)
    if sent_at.tzinfo is None:
        sent_at = sent_at.replace(tzinfo=UTC)
    local = sent_at.astimezone(zone)

    delta = _IN_DELTA_RE.search(norm)
    if delta:
        amount = int(delta.group(1) or 1)
        unit = delta.group(2)
        step = timedelta(hours=amount) if unit.startswith("h") else timedelta(minutes=amount)
        return TimeMention((local + step).replace(second=0, microsecond=0), True, True, False)

    period, period_time = _period(norm)
    clock = _clock(norm, period)
    day: datetime | None = None
    weekday_target: int | None = None
    if _DAY_AFTER_RE.search(norm):
        day = local + timedelta(days=2)
    elif _TOMORROW_RE.search(norm):
        day = local + timedelta(days=1)
    elif _TODAY_RE.search(norm):
        day = local
    else:
        weekday_target = _weekday(norm)
        if weekday_target is None and _WEEKEND_RE.search(norm):
            weekday_target = 5 if local.weekday() != 6 else 6
        if weekday_target is None:
            explicit = _explicit_date(norm, local)
            if explicit is not None:
                day = explicit.replace(tzinfo=zone)

    at = clock or period_time
    if day is None and weekday_target is None and at is None:
        return None
    has_day = day is not None or weekday_target is not None
    chosen = at or time(12, 0)
    if weekday_target is not None:
        ahead = (weekday_target - local.weekday()) % 7
        candidate = local + timedelta(days=ahead)
        if ahead == 0 and datetime.combine(candidate.date(), chosen, zone) <= local:
            candidate += timedelta(days=7)
        day = candidate
    if day is None:
        day = local
        if datetime.combine(local.date(), chosen, zone) <= local:
            day = local + timedelta(days=1)
    when = datetime.combine(day.date(), chosen, zone)
    return TimeMention(when, clock is not None, has_day, period is not None)
