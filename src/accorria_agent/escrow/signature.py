"""Escrow status webhooks: ``X-Accorria-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``.

The HMAC is keyed with ``ACCORRIA_WEBHOOK_SECRET`` over ``"<t>." + raw body`` (the timestamp is signed, so
an old delivery cannot be replayed with a fresh one). A delivery older or newer than the tolerance is
refused as stale; the event id, stored unique by the receiver, refuses an exact replay inside it.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Accorria-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """The webhook is not authentic (``stale`` tells a timestamp problem from a bad signature)."""

    def __init__(self, message: str, *, stale: bool = False) -> None:
        super().__init__(message)
        self.stale = stale


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The header value for ``body`` sent at ``timestamp`` (used by the simulator's stand-in and tests)."""
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def verify(
    body: bytes,
    header_value: str | None,
    secret: str,
    *,
    now: float,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
) -> int:
    """Check the header in constant time; returns the signed timestamp or raises :class:`SignatureError`."""
    if not secret:
        raise SignatureError("escrow webhooks are not configured (ACCORRIA_WEBHOOK_SECRET is empty)")
    if not header_value:
        raise SignatureError("missing signature header")
    fields: dict[str, list[str]] = {}
    for part in header_value.split(","):
        name, sep, value = part.strip().partition("=")
        if sep:
            fields.setdefault(name, []).append(value)
    stamps = fields.get("t", [])
    if len(stamps) != 1 or not stamps[0].isdigit() or len(stamps[0]) > 12:
        raise SignatureError("malformed signature header")
    timestamp = int(stamps[0])
    expected = _digest(secret, timestamp, body).encode()
    if not any(hmac.compare_digest(expected, v.encode()) for v in fields.get("v1", [])):
        raise SignatureError("signature does not match")
    if abs(now - timestamp) > tolerance_seconds:
        raise SignatureError("signature timestamp outside the tolerance", stale=True)
    return timestamp
