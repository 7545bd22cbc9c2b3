"""The analytics report as the API returns it (JSON) and its flat form (CSV rows)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

# The funnel's steps and the deal event that marks a conversation as having reached each one.
FUNNEL_STEPS: tuple[tuple[str, str], ...] = (
    ("offers", "offer_made"),
    ("agreed", "price_agreed"),
    ("test_drive", "test_drive_booked"),
    ("escrow", "escrow_started"),
    ("sold", "sold"),
)


class Funnel(BaseModel):
    """Conversations of the cohort that reached each step (at any time)."""

    offers: int
    agreed: int
    test_drive: int
    escrow: int
    sold: int


class TakeoverCauses(BaseModel):
    """Conversations a human took over, by cause (a conversation may count under several)."""

    buyer_asked: int
    scam: int
    seller_stepped_in: int
    other: int


class AnalyticsReport(BaseModel):
    """A seller's figures over the conversations started in ``[from, to]`` (their timezone)."""

    from_date: date
    to_date: date
    timezone: str
    page_id: str | None
    listing_id: int | None
    total_conversations: int
    answered_conversations: int
    # Seconds from a conversation's first buyer message to our first reply (bot or seller).
    average_response_time: float | None
    median_response_time: float | None
    p90_response_time: float | None
    funnel: Funnel
    # Fractions 0–1 (None when the denominator is 0).
    conversion_rate: float | None
    escrow_adoption_rate: float | None
    human_takeover_rate: float | None
    human_takeovers: int
    takeover_causes: TakeoverCauses
    policy_refusals: int
    average_agreed_to_asking: float | None


def flatten(report: AnalyticsReport) -> dict[str, str]:
    """The report as ``metric -> value`` strings (what the CSV holds): nested fields dotted, None empty."""
    out: dict[str, str] = {}

    def put(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                put(f"{prefix}.{key}" if prefix else str(key), inner)
        else:
            out[prefix] = "" if value is None else str(value)

    put("", report.model_dump(mode="json"))
    return out
