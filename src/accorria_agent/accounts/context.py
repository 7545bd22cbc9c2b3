"""Who is asking: the signed-in member of a seller account, as a FastAPI dependency.

Every route that serves seller data depends on :func:`current_member` (or :func:`require_owner`) and
scopes its queries by ``MemberContext.seller_id``. Two credentials are accepted
(docs/security-accounts.md argues why):

- the ``accorria_session`` cookie (browsers): an opaque random id whose hash names a live session of a
  member who still belongs to the account; unsafe methods must also pass the CSRF check;
- ``Authorization: Bearer <JWT>`` (API clients and scripts; never sent by a browser on its own, so no
  CSRF): the account's owner, refused when the seller is gone or the token predates "sign out
  everywhere" or a password change.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request

from accorria_agent.accounts.identity import MemberContext, Role
from accorria_agent.errors import Forbidden, Unauthorized

__all__ = ["Member", "MemberContext", "Owner", "Role", "current_member", "require_owner", "session_id_of"]

SESSION_COOKIE = "accorria_session"
_EXPIRED = "missing, invalid or expired session; sign in again"


def session_id_of(request: Request) -> int | None:
    """The id of the cookie session that authenticated this request (None for a bearer token)."""
    value = getattr(request.state, "accorria_session_id", None)
    return value if isinstance(value, int) else None


async def current_member(request: Request) -> MemberContext:
    """The signed-in member, or 401 (403 when a cookie request fails the CSRF check)."""
    from accorria_agent.accounts import service
    from accorria_agent.accounts.csrf import check_csrf
    from accorria_agent.db.engine import transaction

    runtime: Any = request.app.state.runtime
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        async with transaction(runtime.session_factory) as session:
            found = await service.resolve_session(session, runtime.settings, cookie, runtime.clock())
        if found is None:
            raise Unauthorized(_EXPIRED, code="session_expired")
        await check_csrf(request, runtime.settings)
        request.state.accorria_session_id = found[1]
        return found[0]
    return await _bearer_member(request, runtime)


async def _bearer_member(request: Request, runtime: Any) -> MemberContext:
    from accorria_agent.accounts import repository as repo
    from accorria_agent.accounts.bearer import TokenError, _bearer, decode_seller_claims
    from accorria_agent.db.engine import transaction
    from accorria_agent.sellers.models import Seller

    token = _bearer(request)
    if token is None:
        raise Unauthorized("sign in first", headers={"WWW-Authenticate": "Bearer"})
    try:
        seller_id, issued_at = decode_seller_claims(runtime.settings, token)
    except TokenError:
        raise Unauthorized(_EXPIRED, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
    async with transaction(runtime.session_factory) as session:
        if await session.get(Seller, seller_id) is None:
            raise Unauthorized(_EXPIRED)
        owner = await repo.first_owner(session, seller_id)
    if owner is None:
        return MemberContext(seller_id=seller_id, member_id=0, role="owner")
    valid_after = owner.tokens_valid_after
    if valid_after is not None and datetime.fromtimestamp(issued_at, UTC) <= valid_after.replace(
        microsecond=0
    ):
        raise Unauthorized(_EXPIRED)
    return MemberContext(seller_id=seller_id, member_id=owner.id, role="owner")


async def require_owner(member: Annotated[MemberContext, Depends(current_member)]) -> MemberContext:
    """The signed-in member if they are an owner of the account, else 403."""
    if not member.is_owner:
        raise Forbidden("only an owner of this account may do that")
    return member


Member = Annotated[MemberContext, Depends(current_member)]
Owner = Annotated[MemberContext, Depends(require_owner)]
