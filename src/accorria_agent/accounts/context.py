"""Who is asking: the signed-in member of a seller account, as a FastAPI dependency.

Every route that serves seller data depends on :func:`current_member` (or :func:`require_owner`) and
scopes its queries by ``MemberContext.seller_id``. The session mechanism behind it lives in this package;
routes only see the context.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request

from accorria_agent.errors import Forbidden, Unauthorized

Role = Literal["owner", "staff"]


@dataclass(frozen=True)
class MemberContext:
    """The signed-in member: which account (``seller_id``), which member, with which role."""

    seller_id: int
    member_id: int
    role: Role

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"


async def current_member(request: Request) -> MemberContext:
    """The signed-in member, or 401.

    Interim implementation over the dashboard's bearer JWT (``sub`` = seller id, the seller's owner):
    the accounts domain replaces it with cookie sessions, keeping this signature.
    """
    from accorria_agent.dashboard.auth import TokenError, _bearer, decode_seller_token

    token = _bearer(request)
    if token is None:
        raise Unauthorized("sign in first", headers={"WWW-Authenticate": "Bearer"})
    try:
        seller_id = decode_seller_token(request.app.state.runtime.settings, token)
    except TokenError:
        raise Unauthorized("missing, invalid or expired session") from None
    return MemberContext(seller_id=seller_id, member_id=seller_id, role="owner")


async def require_owner(member: Annotated[MemberContext, Depends(current_member)]) -> MemberContext:
    """The signed-in member if they are an owner of the account, else 403."""
    if not member.is_owner:
        raise Forbidden("only an owner of this account may do that")
    return member


Member = Annotated[MemberContext, Depends(current_member)]
Owner = Annotated[MemberContext, Depends(require_owner)]
