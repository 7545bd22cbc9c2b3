"""Meta's ``signed_request``: ``<base64url signature>.<base64url JSON payload>``, HMAC-SHA256, app secret.

Meta posts one to the Data Deletion Request Callback and to the Deauthorize Callback. The signature is the
HMAC-SHA256 of the *encoded* payload (the text after the dot) keyed by the app secret, compared in constant
time; the payload must say ``"algorithm": "HMAC-SHA256"``. Anything else raises
:class:`InvalidSignedRequest` with a short reason safe to show the caller — never another exception.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any

import orjson

from accorria_agent.errors import BadRequest

ALGORITHM = "HMAC-SHA256"
# Meta's requests are a few hundred bytes; anything far larger is not one.
MAX_SIGNED_REQUEST_LENGTH = 8192
# base64url's alphabet (Meta sends no padding).
_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class InvalidSignedRequest(BadRequest):
    """The signed_request is malformed, signed with another key, or names another algorithm (400)."""

    code = "invalid_signed_request"


def _b64url_decode(text: str) -> bytes:
    """Base64url without padding, as Meta sends it; strict about the alphabet."""
    if not text or any(c not in _ALPHABET for c in text):
        raise InvalidSignedRequest("signed_request is malformed: not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidSignedRequest("signed_request is malformed: not base64url") from None


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_signed_request(payload: dict[str, Any], app_secret: str) -> str:
    """A signed_request as Meta builds it (for the simulator and the tests)."""
    encoded = _b64url_encode(orjson.dumps(payload))
    signature = hmac.new(app_secret.encode(), encoded.encode("ascii"), hashlib.sha256).digest()
    return f"{_b64url_encode(signature)}.{encoded}"


def parse_signed_request(signed_request: str, app_secret: str) -> dict[str, Any]:
    """The verified payload of ``signed_request``; raises :class:`InvalidSignedRequest` otherwise."""
    if not app_secret:
        raise InvalidSignedRequest("signed requests cannot be checked: FACEBOOK_APP_SECRET is not set")
    if not isinstance(signed_request, str) or len(signed_request) > MAX_SIGNED_REQUEST_LENGTH:
        raise InvalidSignedRequest("signed_request is malformed: missing or too long")
    signature_part, dot, payload_part = signed_request.strip().partition(".")
    if not dot or "." in payload_part:
        raise InvalidSignedRequest("signed_request is malformed: expected <signature>.<payload>")
    signature = _b64url_decode(signature_part)
    raw_payload = _b64url_decode(payload_part)
    expected = hmac.new(app_secret.encode(), payload_part.encode("ascii"), hashlib.sha256).digest()
    # The signature is checked before the payload is trusted, parsed or even its algorithm read.
    if not hmac.compare_digest(signature, expected):
        raise InvalidSignedRequest("signed_request signature does not match")
    try:
        payload = orjson.loads(raw_payload)
    except orjson.JSONDecodeError:
        raise InvalidSignedRequest("signed_request is malformed: the payload is not JSON") from None
    if not isinstance(payload, dict):
        raise InvalidSignedRequest("signed_request is malformed: the payload is not an object")
    algorithm = payload.get("algorithm")
    if not isinstance(algorithm, str) or algorithm.upper() != ALGORITHM:
        raise InvalidSignedRequest(f"signed_request algorithm must be {ALGORITHM}")
    return payload


def signed_request_user_id(payload: dict[str, Any]) -> str:
    """The app-scoped Facebook user id the request is about (``user_id``), validated."""
    user_id = payload.get("user_id")
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        user_id = str(user_id)
    if not isinstance(user_id, str) or not user_id.isascii() or not user_id.isdigit() or len(user_id) > 64:
        raise InvalidSignedRequest("signed_request payload has no valid user_id")
    return user_id
