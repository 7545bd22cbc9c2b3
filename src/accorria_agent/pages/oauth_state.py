"""The Login dialog's ``state``: signed (HMAC), expiring, single-use and bound to the member's session.

The seed's sample passed the raw seller id as ``state``, which lets an attacker finish their own dialog
into a victim's account (login CSRF). Here the state is an HS256 JWT (key derived from ``JWT_SECRET`` for
this one purpose, audience ``facebook-connect``, so no other token of ours is accepted as a state)
carrying a random nonce; the nonce's row records who started the flow and from which session, and is
consumed by one conditional UPDATE, so a replay finds it consumed. Expiry is checked against the
runtime's clock (tests and the demo move it).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import jwt
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.accounts.context import MemberContext
from accorria_agent.errors import BadRequest
from accorria_agent.pages.models import OAuthState
from accorria_agent.settings import Settings

AUDIENCE = "facebook-connect"
_ALGORITHM = "HS256"


class StateRefused(BadRequest):
    """The ``state`` cannot be trusted; ``code`` says why (forged, expired, replayed, other_member)."""


def session_fingerprint(credential: str) -> str:
    """SHA-256 of the session credential (cookie or bearer token): binds a state to one session."""
    return hashlib.sha256(credential.encode("utf-8")).hexdigest()


def _key(settings: Settings) -> bytes:
    secret = settings.jwt_secret.get_secret_value()
    if len(secret) < 32:
        raise BadRequest("JWT_SECRET is not configured; Facebook Login is unavailable", code="not_configured")
    return hmac.new(secret.encode(), b"accorria/facebook-oauth-state/v1", hashlib.sha256).digest()


async def issue_state(
    session: AsyncSession, settings: Settings, member: MemberContext, session_hash: str, now: datetime
) -> str:
    """Record a fresh nonce for ``member`` and return the signed state that carries it."""
    nonce = secrets.token_urlsafe(24)
    expires = now + timedelta(seconds=settings.facebook_oauth_state_ttl_seconds)
    session.add(
        OAuthState(
            nonce=nonce,
            seller_id=member.seller_id,
            member_id=member.member_id,
            session_hash=session_hash,
            created_at=now,
            expires_at=expires,
        )
    )
    await session.flush()
    claims = {
        "n": nonce,
        "sub": str(member.seller_id),
        "mid": member.member_id,
        "aud": AUDIENCE,
        "exp": int(expires.timestamp()),
    }
    return jwt.encode(claims, _key(settings), algorithm=_ALGORITHM)


async def consume_state(
    session: AsyncSession,
    settings: Settings,
    state: str,
    member: MemberContext,
    session_hash: str,
    now: datetime,
) -> None:
    """Accept ``state`` once, for the member and session that started the flow; else :class:`StateRefused`."""
    if not state or len(state) > 2048:
        raise StateRefused("This sign-in link is not valid. Start connecting again.", code="state_forged")
    try:
        claims = jwt.decode(
            state,
            _key(settings),
            algorithms=[_ALGORITHM],
            audience=AUDIENCE,
            options={"verify_exp": False, "require": ["n", "sub", "mid", "exp", "aud"]},
        )
    except jwt.PyJWTError:
        raise StateRefused(
            "This sign-in link was not issued by us. Start connecting again.", code="state_forged"
        ) from None
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= int(now.timestamp()):
        raise StateRefused(
            "This sign-in link has expired (it is valid for a few minutes). Start connecting again.",
            code="state_expired",
        )
    if claims["sub"] != str(member.seller_id) or claims["mid"] != member.member_id:
        raise StateRefused(
            "This sign-in link was started by someone else. Start connecting from your own account.",
            code="state_other_member",
        )
    nonce = str(claims["n"])
    consumed = await session.execute(
        update(OAuthState)
        .where(
            OAuthState.nonce == nonce,
            OAuthState.consumed_at.is_(None),
            OAuthState.seller_id == member.seller_id,
            OAuthState.member_id == member.member_id,
            OAuthState.session_hash == session_hash,
            OAuthState.expires_at > now,
        )
        .values(consumed_at=now)
    )
    if consumed.rowcount == 1:  # type: ignore[attr-defined]
        return
    row = (await session.execute(select(OAuthState).where(OAuthState.nonce == nonce))).scalar_one_or_none()
    if row is None:
        raise StateRefused("This sign-in link is not known. Start connecting again.", code="state_forged")
    if row.consumed_at is not None:
        raise StateRefused(
            "This sign-in link was already used. Start connecting again.", code="state_replayed"
        )
    if row.expires_at <= now:
        raise StateRefused("This sign-in link has expired. Start connecting again.", code="state_expired")
    raise StateRefused(
        "This sign-in link belongs to another session. Start connecting again from this browser.",
        code="state_other_member",
    )
