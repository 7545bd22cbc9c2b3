"""API bearer tokens (HS256 JWTs whose ``sub`` is the seller id, signed with ``JWT_SECRET``) and the
demo's one-time sign-in link.

The dashboard page itself signs in with the session cookie (``accounts``); a JWT is for API clients
(``Authorization: Bearer <JWT>``) and is checked by ``accounts.context.current_member``. Every failure is
a 401 with the same body (no hint whether the signature, the expiry or the claims were wrong), never a 500.
"""

from __future__ import annotations

import time
from datetime import timedelta

import jwt
from fastapi import Request

from accorria_agent.accounts.context import Member
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


async def current_seller(member: Member) -> int:
    """FastAPI dependency: the signed-in member's account (seller) id, or a 401."""
    return member.seller_id


async def dashboard_link(settings: Settings, base_url: str, page_id: str, ttl: timedelta) -> str | None:
    """``{base_url}/auth/link?token=…``: signs the owner of ``page_id``'s seller in once (the demo prints it).

    The token is random, single-use and expires after ``ttl``; following it sets the session cookie and
    redirects to ``/dashboard/``. ``None`` when there is no such Page.
    """
    from sqlalchemy import select

    from accorria_agent.accounts.service import sign_in_link_token
    from accorria_agent.db.base import utcnow
    from accorria_agent.db.engine import create_engine, create_session_factory, transaction
    from accorria_agent.sellers.models import MessengerTenant, Seller

    engine = create_engine(settings.effective_database_url)
    try:
        async with transaction(create_session_factory(engine)) as session:
            seller = (
                await session.execute(
                    select(Seller)
                    .join(MessengerTenant, MessengerTenant.seller_id == Seller.id)
                    .where(MessengerTenant.page_id == page_id)
                )
            ).scalar_one_or_none()
            if seller is None:
                return None
            token = await sign_in_link_token(session, seller, ttl, utcnow())
    finally:
        await engine.dispose()
    return f"{base_url.rstrip('/')}/auth/link?token={token}"
