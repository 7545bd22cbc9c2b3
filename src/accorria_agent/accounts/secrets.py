"""Random secrets for cookies and links, and the only form in which they are stored (SHA-256)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

# 32 random bytes: far beyond guessing, and a plain SHA-256 suffices to store them (no need for a slow
# hash: there is no dictionary to try against a random value).
TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 128


def new_token() -> str:
    """A fresh URL-safe random token (43 characters)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What the database keeps of ``token``: its SHA-256 in hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def plausible_token(token: str | None) -> bool:
    """Cheap shape check before any lookup (bounded length, URL-safe alphabet)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return False
    return all(c.isascii() and (c.isalnum() or c in "-_") for c in token)


def same(a: str, b: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


def keyed_hash(kind: str, value: str) -> str:
    """``kind:<sha256>`` of a value that must not be stored in clear (an email, a client address)."""
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{kind}:{digest}"
