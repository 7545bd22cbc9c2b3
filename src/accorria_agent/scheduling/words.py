"""The words of a booked buyer (pure): moving or cancelling a test drive, in English and Spanish.

``booking_change(text)`` says whether a message asks to move (``reschedule``) or drop (``cancel``) a
booked test drive. A message naming a new time is a move even when it also says it cannot make the
old one ("something came up, can we do 6 instead?"); without a new time, "something came up" or "I
can't make it" cancels (the reply offers new slots at once, so nothing is lost for a buyer who only
meant to move). ``new_clock(text)`` reads a bare clock ("6", "5:30", "a las 6") on the car-viewing
conventions of ``negotiation.timeparse`` (1–7 means afternoon/evening).
"""

from __future__ import annotations

import re
from datetime import time
from typing import Final, Literal

from accorria_agent.negotiation.lexicon import normalize

Change = Literal["reschedule", "cancel"]

_RESCHEDULE_RE: Final = re.compile(
    r"\b(?:instead|reschedule|re-schedule|another (?:time|day)|different (?:time|day)|other time"
    r"|move (?:it|the|our)|push (?:it|back)|change (?:the )?(?:time|day)|make it (?:at )?\d"
    r"|(?:can|could) we (?:do|make it|meet|switch)|how about|what about|(?:bit|little) (?:earlier|later)"
    r"|(?:earlier|later) (?:time|slot)"
    r"|en vez|mejor (?:a las|el|la|manana)|cambiar (?:la hora|el dia|la cita)"
    r"|podemos (?:a las|el|mejor)"
    r"|otra hora|otro dia|mas tarde|mas temprano)\b"
)
_CANCEL_RE: Final = re.compile(
    r"\b(?:cancel|cancelled|canceled|can ?not make it|can'?t make it|cannot come|can'?t come"
    r"|won'?t make it"
    r"|won'?t be able|something came up|not coming|no longer|never ?mind|changed my mind|bought another"
    r"|found another|no puedo ir|ya no puedo|no voy a poder|no podre|surgio algo|cancelar|cancela"
    r"|ya no voy)\b"
)
_CLOCK_RE: Final = re.compile(
    r"(?<![\d$.,])(\d{1,2})(?::([0-5]\d))?\s?(am|pm|a\.m\.?|p\.m\.?)?(?![\d,.]|\s?(?:k\b|mil\b|grand|thousand"
    r"|\$|dollars|bucks|miles|minutes|mins|hours|years|days|weeks))"
)
_CLOCK_CONTEXT_RE: Final = re.compile(
    r"\b(?:at|@|around|do|make it|a las|las|say|by|about)\s$|^\s*$|(?:instead of|rather)\s$"
)


def booking_change(text: str) -> Change | None:
    """``reschedule``, ``cancel`` or None for one buyer message (see the module docstring)."""
    norm = normalize(text)
    if not norm.strip():
        return None
    if _RESCHEDULE_RE.search(norm) or (_CANCEL_RE.search(norm) and new_clock(text) is not None):
        return "reschedule"
    if _CANCEL_RE.search(norm):
        return "cancel"
    return None


def new_clock(text: str) -> time | None:
    """The clock a message proposes ("do 6 instead" → 18:00, "5:30" → 17:30, "10am" → 10:00), or None."""
    norm = normalize(text)
    for match in _CLOCK_RE.finditer(norm):
        hour, minute, meridiem = int(match.group(1)), int(match.group(2) or 0), match.group(3)
        before = norm[max(0, match.start() - 12) : match.start()]
        if not meridiem and match.group(2) is None and not _CLOCK_CONTEXT_RE.search(before):
            continue
        clock = _to_time(hour, minute, meridiem)
        if clock is not None:
            return clock
    return None


def _to_time(hour: int, minute: int, meridiem: str | None) -> time | None:
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        if meridiem.startswith("p") and hour != 12:
            hour += 12
        elif meridiem.startswith("a") and hour == 12:
            hour = 0
        return time(hour, minute)
    if hour > 23:
        return None
    if hour == 0 or hour > 12:
        return time(hour, minute)
    # Nobody views a car at 5 in the morning: 1–7 are afternoon/evening, 8–12 as said.
    return time(hour + 12 if hour <= 7 else hour, minute)
