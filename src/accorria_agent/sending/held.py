"""Replies held by a Page's send rate limit: what is stored with them, the order they are released in,
and how the seller reads them ("held by the rate limit until 14:05").

A throttled reply is stored with status ``held``, reason :data:`RATE_LIMIT_HOLD` and, in its payload,
``held_until`` (when the limit frees, ISO 8601 UTC) and ``buyer_at`` (when the buyer wrote the message it
answers). ``buyer_at`` is kept from the first hold on: a reply held twice keeps its place in the line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

RATE_LIMIT_HOLD = "held by the rate limit"


def held_payload(
    payload: dict[str, Any] | None, *, held_until: datetime, buyer_at: datetime | None
) -> dict[str, Any]:
    """The payload of a reply held until ``held_until`` (a new dict: JSON columns track assignment)."""
    out = dict(payload or {})
    out["held_until"] = held_until.astimezone(UTC).isoformat()
    if "buyer_at" not in out and buyer_at is not None:
        out["buyer_at"] = buyer_at.astimezone(UTC).isoformat()
    return out


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


_NEVER = datetime.max.replace(tzinfo=UTC)


def release_order(rows: Iterable[Sequence[Any]]) -> list[int]:
    """Message ids of ``(id, payload)`` rows, oldest buyer message first (then by id: a reply's parts and
    a conversation's replies keep their order)."""
    keyed = []
    for message_id, payload in rows:
        buyer_at = _instant(payload.get("buyer_at")) if isinstance(payload, dict) else None
        keyed.append((buyer_at or _NEVER, int(message_id)))
    return [message_id for _, message_id in sorted(keyed)]


def rate_limit_hold(
    status: str, status_reason: str | None, payload: object, timezone: str | None
) -> tuple[datetime | None, str | None]:
    """``(held_until, text)`` for a reply the rate limit holds, else ``(None, None)``.

    The text reads "held by the rate limit until HH:MM" in ``timezone`` (the seller's), UTC when it is
    unknown or not a real zone.
    """
    if status != "held" or status_reason != RATE_LIMIT_HOLD or not isinstance(payload, dict):
        return None, None
    until = _instant(payload.get("held_until"))
    if until is None:
        return None, RATE_LIMIT_HOLD
    zone: ZoneInfo | None = None
    if timezone:
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = None
    local = until.astimezone(zone or UTC)
    suffix = "" if zone is not None else " UTC"
    return until, f"{RATE_LIMIT_HOLD} until {local:%H:%M}{suffix}"
