"""Who a signed-in member is: account, member, role (a plain value every layer above may hold)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["owner", "staff"]


@dataclass(frozen=True)
class MemberContext:
    """The signed-in member: which account (``seller_id``), which member, with which role.

    ``member_id`` is 0 for a bearer token of an account that has no members yet (seeded sellers).
    """

    seller_id: int
    member_id: int
    role: Role

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"
