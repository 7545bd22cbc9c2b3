"""iCalendar documents for test drives (pure, ``icalendar``): the seller's invitation and feed.

A booking is one VEVENT whose UID is stable per booking (``booking-<id>@<domain>``) and whose SEQUENCE
grows with every move or cancel, so a calendar that received the first invitation replaces the event
(METHOD:REQUEST) or removes it (METHOD:CANCEL). Times carry the seller's TZID.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from icalendar import Calendar, Event

from accorria_agent.scheduling.slots import zone

PRODID = "-//Accorria//Messenger Agent test drives//EN"
UID_DOMAIN = "accorria-agent"


@dataclass(frozen=True)
class CalendarEntry:
    """What a calendar needs to know about one booking."""

    booking_id: int
    starts_at: datetime
    ends_at: datetime
    timezone: str
    summary: str
    location: str | None
    status: str
    sequence: int
    description: str = ""
    stamp: datetime | None = None


def booking_uid(booking_id: int) -> str:
    """The VEVENT UID of a booking: the same for its whole life."""
    return f"booking-{booking_id}@{UID_DOMAIN}"


def _event(entry: CalendarEntry, *, cancelled: bool) -> Event:
    tz = zone(entry.timezone)
    event = Event()
    event.add("uid", booking_uid(entry.booking_id))
    event.add("dtstamp", entry.stamp or entry.starts_at)
    event.add("dtstart", entry.starts_at.astimezone(tz))
    event.add("dtend", entry.ends_at.astimezone(tz))
    event.add("summary", entry.summary)
    if entry.location:
        event.add("location", entry.location)
    if entry.description:
        event.add("description", entry.description)
    event.add("sequence", entry.sequence)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    return event


def invitation(entry: CalendarEntry, method: str = "REQUEST") -> bytes:
    """An ``.ics`` invitation (METHOD REQUEST) or its withdrawal (METHOD CANCEL) for one booking."""
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError("method is REQUEST or CANCEL")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    calendar.add_component(_event(entry, cancelled=method == "CANCEL"))
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


def feed(entries: Iterable[CalendarEntry], name: str) -> bytes:
    """The seller's subscribable calendar: every booking (cancelled ones marked CANCELLED)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", name)
    for entry in entries:
        calendar.add_component(_event(entry, cancelled=entry.status == "cancelled"))
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
