"""Turn a webhook body into flat, keyed events (pure; no I/O).

Every event of ``entry[].messaging[]`` and ``entry[].standby[]`` becomes one :class:`InboundEvent` with a
stable ``event_key``: the same event redelivered by Meta gets the same key, so storing is idempotent.
Unknown event kinds are kept (kind ``unknown``) so that they are recorded, not silently dropped.

Every field is bounded and normalised here, where the delivery enters, so that no value a sender chose can
fail the storage of a batch or the job that handles it (poison input): NUL characters (which PostgreSQL's
``jsonb`` and ``text`` refuse) are removed everywhere, ids longer than :data:`MAX_ID_LENGTH` make the event
``invalid`` (and are cut so that they fit their columns), and timestamps and watermarks are clamped to
``[0, received]`` — a timestamp in the future becomes the time of receipt, so it cannot
keep the 24-hour window open, overflow a ``BIGINT`` or produce a year out of range.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

import orjson

# Keys that identify the kind of a messaging event, in the order we test them (an echo is a message).
EVENT_KEYS = (
    "message_edit",
    "message",
    "postback",
    "referral",
    "delivery",
    "read",
    "reaction",
    "optin",
    "pass_thread_control",
    "take_thread_control",
    "request_thread_control",
    "app_roles",
    "account_linking",
    "policy_enforcement",
)


# Meta's ids (PSIDs, Page ids) are decimal strings of about 16 digits; the columns hold 64 characters.
MAX_ID_LENGTH = 64
# Meta's payloads are a few levels deep; anything deeper is cut (and never recursed into without bound).
_MAX_DEPTH = 32


@dataclass(frozen=True)
class InboundEvent:
    """One webhook event, addressed to a Page and about one buyer (PSID)."""

    page_id: str
    buyer_psid: str
    event_key: str
    kind: str
    channel: str
    timestamp_ms: int
    payload: dict[str, Any]


class MalformedDelivery(ValueError):
    """The body is not a webhook delivery we can read (answered 400)."""


def parse_delivery(document: Any, received_ms: int | None = None) -> tuple[str, list[InboundEvent]]:
    """Return the delivery's ``object`` and its events sorted by timestamp.

    ``received_ms`` is the time of receipt (epoch milliseconds; now by default): the bound of every
    timestamp in the delivery. Raises :class:`MalformedDelivery` when the body is not a JSON object.
    Entries or events of the wrong shape inside a well-formed body become ``invalid`` events (recorded,
    never processed further).
    """
    if not isinstance(document, dict):
        raise MalformedDelivery("body must be a JSON object")
    obj = document.get("object")
    if not isinstance(obj, str):
        raise MalformedDelivery("body has no 'object' string")
    obj = _clean_text(obj)[:32]
    now_ms = int(time.time() * 1000) if received_ms is None else received_ms
    if obj != "page":
        return obj, []
    entries = document.get("entry")
    if not isinstance(entries, list):
        raise MalformedDelivery("body has no 'entry' list")
    events: list[InboundEvent] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        page_id = _clean_text(str(entry.get("id") or ""))
        for channel in ("messaging", "standby"):
            raw_events = entry.get(channel)
            if not isinstance(raw_events, list):
                continue
            for raw in raw_events:
                if isinstance(raw, dict):
                    events.append(_to_event(page_id, channel, _clean_value(raw, 0), now_ms))
    events.sort(key=lambda e: e.timestamp_ms)
    return obj, events


def _to_event(page_id: str, channel: str, raw: dict[str, Any], received_ms: int) -> InboundEvent:
    kind = next((key for key in EVENT_KEYS if key in raw), "unknown")
    sender = _id_of(raw.get("sender"))
    recipient = _id_of(raw.get("recipient"))
    message = raw.get("message") if isinstance(raw.get("message"), dict) else None
    is_echo = bool(message and message.get("is_echo"))
    if is_echo:
        kind = "echo"
    # The buyer is the other side of the Page: the recipient of an echo, the sender of everything else.
    buyer = recipient if is_echo else sender
    if buyer == page_id and not is_echo:
        buyer = recipient
    page = page_id or (sender if is_echo else recipient)
    timestamp_ms = clamp_timestamp(raw.get("timestamp"), received_ms)
    if not buyer and kind not in ("app_roles", "policy_enforcement"):
        kind = "invalid" if kind != "unknown" else kind
    if len(buyer) > MAX_ID_LENGTH or len(page) > MAX_ID_LENGTH:
        # No real id is this long: recorded (cut to fit its column), never processed.
        kind = "invalid"
        buyer, page = buyer[:MAX_ID_LENGTH], page[:MAX_ID_LENGTH]
    # The key is taken before clamping: a redelivery clamped at another moment is still the same event.
    key = _event_key(kind, channel, raw, message)
    raw = _clamped(raw, timestamp_ms, received_ms)
    return InboundEvent(
        page_id=page,
        buyer_psid=buyer,
        event_key=key,
        kind=kind,
        channel=channel,
        timestamp_ms=timestamp_ms,
        payload=raw,
    )


def _id_of(value: Any) -> str:
    if isinstance(value, dict):
        ident = value.get("id") or value.get("user_ref")
        return str(ident) if ident else ""
    return ""


def _event_key(kind: str, channel: str, raw: dict[str, Any], message: dict[str, Any] | None) -> str:
    if kind in ("message", "echo") and message and isinstance(message.get("mid"), str) and message["mid"]:
        prefix = "echo" if kind == "echo" else "message"
        # A standby copy of a message is a different event from the same mid on the messaging channel.
        return f"{prefix}:{channel}:{message['mid'][:250]}"
    if kind == "message_edit":
        value = raw.get("message_edit")
        edit: dict[str, Any] = value if isinstance(value, dict) else {}
        return f"edit:{str(edit.get('mid', ''))[:200]}:{edit.get('num_edit', '')}"
    digest = hashlib.sha256(orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"{kind}:{channel}:{digest}"


def _clean_text(value: str) -> str:
    return value.replace("\x00", "") if "\x00" in value else value


def clamp_timestamp(value: Any, received_ms: int) -> int:
    """A sender's epoch-milliseconds value as an int in ``[0, received_ms]`` (0 when absent or absurd).

    A value in the future (clock skew, or a sender's lie) becomes the time of receipt: no event is dated
    after we got it, so the 24-hour window is never measured from later than that.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value or value <= 0:
        return 0
    return received_ms if value > received_ms else int(value)


def _clamped(raw: dict[str, Any], timestamp_ms: int, received_ms: int) -> dict[str, Any]:
    """The event with its timestamp and watermark (what the handlers read as times) clamped."""
    if "timestamp" in raw and raw["timestamp"] != timestamp_ms:
        raw = {**raw, "timestamp": timestamp_ms}
    for kind in ("delivery", "read"):
        inner = raw.get(kind)
        if isinstance(inner, dict) and "watermark" in inner:
            mark = clamp_timestamp(inner["watermark"], received_ms)
            if mark != inner["watermark"]:
                raw = {**raw, kind: {**inner, "watermark": mark}}
    return raw


def _clean_value(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return _clean_text(value)
    if depth >= _MAX_DEPTH and isinstance(value, dict | list):
        return None
    if isinstance(value, dict):
        return {_clean_text(str(k)): _clean_value(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_value(item, depth + 1) for item in value]
    if isinstance(value, int) and not -(2**63) <= value < 2**64:
        # Beyond what orjson writes as an integer (it reads such numbers as floats itself).
        return float(value) if abs(value) < 2**1023 else str(value)[:64]
    return value
