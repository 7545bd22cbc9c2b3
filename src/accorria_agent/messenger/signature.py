"""Webhook authenticity: ``X-Hub-Signature-256`` is ``sha256=`` + hex HMAC-SHA256 of the raw body."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


def sign(body: bytes, app_secret: str) -> str:
    """The header value Meta sends for ``body`` (used by the simulator and the tests)."""
    return _PREFIX + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def is_valid_signature(body: bytes, header_value: str | None, app_secret: str) -> bool:
    """Constant-time check of the header against the raw body; a missing or malformed header is invalid."""
    if not header_value or not app_secret or not header_value.startswith(_PREFIX):
        return False
    expected = sign(body, app_secret)
    return hmac.compare_digest(expected.encode(), header_value.strip().encode())


def appsecret_proof(access_token: str, app_secret: str) -> str:
    """Graph API ``appsecret_proof``: HMAC-SHA256 of the access token keyed by the app secret."""
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()
