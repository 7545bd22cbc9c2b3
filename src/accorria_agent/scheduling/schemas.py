"""The API shapes of test drives: availability in, availability out, bookings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from accorria_agent.scheduling.slots import DAY_KEYS, parse_intervals

DayKey = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Hours = list[tuple[str, str]]


def _check_hours(value: Hours) -> Hours:
    try:
        parse_intervals(value)
    except ValueError as error:
        raise ValueError(f'hours must be [["HH:MM", "HH:MM"], …] without overlaps: {error}') from None
    return value


class AvailabilityException(BaseModel):
    """One date that differs from the weekly hours: ``hours`` empty for a day off, else the hours instead."""

    model_config = ConfigDict(extra="forbid")

    date: date
    hours: Hours = Field(default_factory=list, max_length=8)

    _hours = field_validator("hours")(_check_hours)


class AvailabilityIn(BaseModel):
    """``PUT /api/availability``: the whole availability (missing fields take their defaults)."""

    model_config = ConfigDict(extra="forbid")

    weekly_hours: dict[DayKey, Hours] = Field(default_factory=dict)
    exceptions: list[AvailabilityException] = Field(default_factory=list, max_length=366)
    slot_minutes: int = Field(default=45, ge=15, le=240)
    buffer_minutes: int = Field(default=15, ge=0, le=240)
    min_notice_minutes: int = Field(default=60, ge=0, le=14 * 24 * 60)
    place_area: str | None = Field(default=None, max_length=200)
    place_address: str | None = Field(default=None, max_length=300)

    @field_validator("weekly_hours")
    @classmethod
    def _weekly(cls, value: dict[str, Hours]) -> dict[str, Hours]:
        for hours in value.values():
            _check_hours(hours)
        return {day: value[day] for day in DAY_KEYS if day in value}

    @model_validator(mode="after")
    def _unique_dates(self) -> AvailabilityIn:
        dates = [item.date for item in self.exceptions]
        if len(dates) != len(set(dates)):
            raise ValueError("each exception date may appear once")
        return self


class AvailabilityOut(AvailabilityIn):
    """``GET /api/availability``: the availability, the seller's timezone, and whether it is the default."""

    model_config = ConfigDict(extra="forbid")

    timezone: str
    is_default: bool
    calendar_feed: bool = Field(description="whether a calendar feed secret exists")


class CalendarSecretOut(BaseModel):
    """A new calendar feed secret (shown once): subscribe to ``url`` from a phone's calendar."""

    secret: str
    url: str


class BookingOut(BaseModel):
    """One test drive as the seller sees it."""

    id: int
    conversation_id: int
    listing_id: int | None
    buyer_name: str | None
    starts_at: datetime
    ends_at: datetime
    timezone: str
    when: str = Field(description="start in the seller's timezone, human format")
    status: Literal["booked", "done", "no_show", "cancelled"]
    summary: str
    location: str | None


class BookingActionOut(BaseModel):
    """The result of done / no-show / cancel."""

    booking: BookingOut
    buyer_told: bool = False
    buyer_not_told_reason: str | None = None


class AvailabilityOverrideOut(AvailabilityIn):
    """``GET/PUT /api/availability/pages/{page_id}`` and ``…/listings/{listing_id}``: what applies there.

    ``source`` says whose hours these are: the listing's or the Page's own override, else the seller's
    (``seller``) or the default hours (``default``) it inherits.
    """

    model_config = ConfigDict(extra="forbid")

    timezone: str
    source: Literal["listing", "page", "seller", "default"]
    page_id: str | None = None
    listing_id: int | None = None
