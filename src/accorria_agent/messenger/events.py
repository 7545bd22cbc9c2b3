"""Turn a webhook body into flat, keyed events (pure; no I/O).

Every event of ``entry[].messaging[]`` and ``entry[].standby[]`` becomes one :class:`InboundEvent` with a
stable ``event_key``: the same event redelivered by Meta gets the same key, so storing is idempotent.
Unknown event kinds are kept (kind ``unknown``) so that they are recorded, not silently dropped.
"""

from __future__ import annotations

import hashlib
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


def parse_delivery(document: Any) -> tuple[str, list[InboundEvent]]:
    """Return the delivery's ``object`` and its events sorted by timestamp.

    Raises :class:`MalformedDelivery` when the body is not a JSON object. Entries or events of the wrong
    shape inside a well-formed body become ``invalid`` events (recorded, never processed further).
    """
    if not isinstance(document, dict):
        raise MalformedDelivery("body must be a JSON object")
    obj = document.get("object")
    if not isinstance(obj, str):
        raise MalformedDelivery("body has no 'object' string")
    if obj != "page":
        return obj, []
    entries = document.get("entry")
    if not isinstance(entries, list):
        raise MalformedDelivery("body has no 'entry' list")
    events: list[InboundEvent] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        page_id = str(entry.get("id") or "")
        for channel in ("messaging", "standby"):
            raw_events = entry.get(channel)
            if not isinstance(raw_events, list):
                continue
            for raw in raw_events:
                if isinstance(raw, dict):
                    events.append(_to_event(page_id, channel, raw))
    events.sort(key=lambda e: e.timestamp_ms)
    return obj, events


def _to_event(page_id: str, channel: str, raw: dict[str, Any]) -> InboundEvent:
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
    timestamp = raw.get("timestamp")
    timestamp_ms = int(timestamp) if isinstance(timestamp, int | float) and timestamp > 0 else 0
    if not buyer and kind not in ("app_roles", "policy_enforcement"):
        kind = "invalid" if kind != "unknown" else kind
    key = _event_key(kind, channel, raw, message)
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
