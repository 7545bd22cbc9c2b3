"""API bearer tokens: HS256 JWTs whose ``sub`` is the seller id, signed with ``JWT_SECRET``.

For API clients (``Authorization: Bearer <JWT>``), checked by :func:`accounts.context.current_member`.
Every failure is a :class:`TokenError` (the caller answers one 401 body, no hint which check failed).
"""

from __future__ import annotations

import time
from datetime import timedelta

import jwt
from fastapi import Request

from accorria_agent.settings import Settings

ALGORITHM = "HS256"
# Below this length an HMAC key is guessable offline from any token; production refuses to start with
# one (settings.problems_for_production), and here we refuse to issue or accept tokens with one.
MIN_SECRET_LENGTH = 32


class TokenError(Exception):
    """The token cannot be trusted (bad signature, expired, malformed, or no usable secret)."""


def _secret(settings: Settings) -> str:
    secret = settings.jwt_secret.get_secret_value()
    if len(secret) < MIN_SECRET_LENGTH:
        raise TokenError("JWT_SECRET is missing or shorter than 32 characters")
    return secret


def issue_seller_token(settings: Settings, seller_id: int, ttl: timedelta | float) -> str:
    """A session token for ``seller_id`` valid for ``ttl`` (a timedelta or seconds; negative = expired)."""
    if not isinstance(seller_id, int) or isinstance(seller_id, bool) or seller_id <= 0:
        raise ValueError("seller_id must be a positive int")
    seconds = ttl.total_seconds() if isinstance(ttl, timedelta) else float(ttl)
    now = int(time.time())
    # RFC 7519 wants ``sub`` to be a string (PyJWT enforces it), so the id is sent as digits.
    claims = {"sub": str(seller_id), "iat": now, "exp": now + int(seconds)}
    return jwt.encode(claims, _secret(settings), algorithm=ALGORITHM)


def decode_seller_token(settings: Settings, token: str) -> int:
    """The seller id of a valid token; raises :class:`TokenError` for anything else."""
    return decode_seller_claims(settings, token)[0]


def decode_seller_claims(settings: Settings, token: str) -> tuple[int, int]:
    """``(seller id, issued-at epoch seconds)`` of a valid token; :class:`TokenError` otherwise."""
    try:
        claims = jwt.decode(
            token,
            _secret(settings),
            # Pinning the algorithm rules out "alg: none" and algorithm-confusion tokens.
            algorithms=[ALGORITHM],
            options={"require": ["exp", "sub", "iat"]},
        )
    except jwt.PyJWTError as error:
        raise TokenError(type(error).__name__) from None
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.isascii() or not subject.isdigit():
        raise TokenError("sub is not a seller id")
    seller_id = int(subject)
    if seller_id <= 0:
        raise TokenError("sub is not a seller id")
    issued_at = claims.get("iat")
    if not isinstance(issued_at, int):
        raise TokenError("iat is not a timestamp")
    return seller_id, issued_at


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()
