"""Dashboard sessions: HS256 JWTs whose ``sub`` is the seller id, signed with ``JWT_SECRET``.

The token travels as ``Authorization: Bearer <JWT>``; the page gets it from the URL *fragment*, which
browsers never send to the server, so it never lands in access logs. Every failure is a 401 with the
same body (no hint whether the signature, the expiry or the claims were wrong) and never a 500.
"""

from __future__ import annotations

import time
from datetime import timedelta

import jwt
from fastapi import HTTPException, Request, status

from accorria_agent.settings import Settings

ALGORITHM = "HS256"
# Below this length an HMAC key is guessable offline from any token; production refuses to start with
# one (settings.problems_for_production), and here we refuse to issue or accept tokens with one.
MIN_SECRET_LENGTH = 32
_UNAUTHORIZED = "missing, invalid or expired session token"


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
    try:
        claims = jwt.decode(
            token,
            _secret(settings),
            # Pinning the algorithm rules out "alg: none" and algorithm-confusion tokens.
            algorithms=[ALGORITHM],
            options={"require": ["exp", "sub"]},
        )
    except jwt.PyJWTError as error:
        raise TokenError(type(error).__name__) from None
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.isascii() or not subject.isdigit():
        raise TokenError("sub is not a seller id")
    seller_id = int(subject)
    if seller_id <= 0:
        raise TokenError("sub is not a seller id")
    return seller_id


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


async def current_seller(request: Request) -> int:
    """FastAPI dependency: the authenticated seller's id, or a 401."""
    token = _bearer(request)
    if token is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, _UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"}
        )
    settings: Settings = request.app.state.runtime.settings
    try:
        return decode_seller_token(settings, token)
    except TokenError:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            _UNAUTHORIZED,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None


async def dashboard_link(settings: Settings, base_url: str, page_id: str, ttl: timedelta) -> str | None:
    """``{base_url}/dashboard/#token=…`` for the seller who owns ``page_id`` (the demo prints it).

    The token is in the fragment so that it never reaches a server log. ``None`` when there is no such
    Page or no usable ``JWT_SECRET``.
    """
    from sqlalchemy import select

    from accorria_agent.db.engine import create_engine, create_session_factory
    from accorria_agent.sellers.models import MessengerTenant

    engine = create_engine(settings.effective_database_url)
    try:
        async with create_session_factory(engine)() as session:
            seller_id = (
                await session.execute(
                    select(MessengerTenant.seller_id).where(MessengerTenant.page_id == page_id)
                )
            ).scalar_one_or_none()
    finally:
        await engine.dispose()
    if seller_id is None:
        return None
    try:
        token = issue_seller_token(settings, seller_id, ttl)
    except TokenError:
        return None
    return f"{base_url.rstrip('/')}/dashboard/#token={token}"
