"""API bearer tokens (HS256 JWTs whose ``sub`` is the seller id, signed with ``JWT_SECRET``) and the
demo's one-time sign-in link.

The dashboard page itself signs in with the session cookie (``accounts``); a JWT is for API clients
(``Authorization: Bearer <JWT>``) and is checked by ``accounts.context.current_member``. Every failure is
a 401 with the same body (no hint whether the signature, the expiry or the claims were wrong), never a 500.
"""

from __future__ import annotations

from datetime import timedelta

from accorria_agent.accounts.bearer import (
    ALGORITHM,
    MIN_SECRET_LENGTH,
    TokenError,
    _bearer,
    decode_seller_claims,
    decode_seller_token,
    issue_seller_token,
)
from accorria_agent.accounts.context import Member
from accorria_agent.settings import Settings

__all__ = [
    "ALGORITHM",
    "MIN_SECRET_LENGTH",
    "TokenError",
    "_bearer",
    "current_seller",
    "dashboard_link",
    "decode_seller_claims",
    "decode_seller_token",
    "issue_seller_token",
]


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
