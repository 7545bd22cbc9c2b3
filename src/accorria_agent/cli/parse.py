"""The edge of ``accorria-agent parse``: JSON in, :func:`understand`, JSON out; bad lines become errors.

This is the only place of the parser that reads the clock: a message without ``sent_at`` is taken as
sent now, so that "tomorrow at 5" resolves.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from accorria_agent.negotiation.understanding import understand

DEFAULT_TIMEZONE = "America/Detroit"
MAX_LINE_CHARS = 100_000


class InputError(ValueError):
    """A line that is not a valid parse request."""


def parse_one(
    text: str,
    asking_price: float | str | Decimal | None = None,
    sent_at: datetime | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> dict[str, Any]:
    """Understand one message and return the public JSON object."""
    price = _price(asking_price)
    _check_timezone(timezone)
    moment = sent_at or datetime.now(UTC)
    return understand(text, price, moment, timezone).to_json()


def parse_lines(lines: Iterable[str]) -> Iterator[str]:
    """One JSON line out per line in, in order; a bad or blank line yields ``{"error": ...}``."""
    for raw in lines:
        try:
            if not raw.strip():
                # Still one output line per input line, so callers can zip inputs with outputs.
                raise InputError("empty line")
            request = _request(raw)
            result = parse_one(**request)
        except InputError as error:
            result = {"error": str(error)}
        except Exception as error:  # never let one line stop the stream
            result = {"error": f"internal error: {type(error).__name__}"}
        yield json.dumps(result, ensure_ascii=False)


def _request(raw: str) -> dict[str, Any]:
    if len(raw) > MAX_LINE_CHARS:
        raise InputError(f"line longer than {MAX_LINE_CHARS} characters")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as error:
        raise InputError(f"invalid JSON: {error.msg}") from None
    if not isinstance(data, dict):
        raise InputError("each line must be a JSON object")
    text = data.get("text")
    if not isinstance(text, str):
        raise InputError("'text' must be a string")
    request: dict[str, Any] = {"text": text, "asking_price": data.get("asking_price")}
    sent_at = data.get("sent_at")
    if sent_at is not None:
        if not isinstance(sent_at, str):
            raise InputError("'sent_at' must be an ISO 8601 string")
        try:
            moment = datetime.fromisoformat(sent_at.replace("Z", "+00:00"))
        except ValueError:
            raise InputError("'sent_at' must be an ISO 8601 string") from None
        timezone = data.get("timezone") or DEFAULT_TIMEZONE
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=_zone(timezone))
        request["sent_at"] = moment
    if data.get("timezone") is not None:
        if not isinstance(data["timezone"], str):
            raise InputError("'timezone' must be an IANA zone name")
        request["timezone"] = data["timezone"]
    return request


def _price(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise InputError("'asking_price' must be a positive number")
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        raise InputError("'asking_price' must be a positive number") from None
    if not price.is_finite() or price <= 0 or price > 10_000_000:
        raise InputError("'asking_price' must be a positive number")
    return price


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"unknown timezone {name[:60]!r}") from None


def _check_timezone(name: str) -> None:
    _zone(name)
