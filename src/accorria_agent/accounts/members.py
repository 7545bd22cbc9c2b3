"""Use cases of a dealership's members: invite by email, accept, list, change a role, remove.

Only owners change members (the routes depend on ``Owner``); an account always keeps one owner.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.accounts import emails
from accorria_agent.accounts import repository as repo
from accorria_agent.accounts.context import MemberContext
from accorria_agent.accounts.models import Member, Membership
from accorria_agent.accounts.passwords import hash_password, verify_password
from accorria_agent.accounts.schemas import AccountMemberOut, InvitationOut
from accorria_agent.accounts.secrets import token_hash
from accorria_agent.accounts.service import (
    NewSession,
    consume,
    new_link_token,
    refuse_password,
    start_session,
)
from accorria_agent.audit import service as audit
from accorria_agent.errors import BadRequest, Conflict, NotFound, PolicyRefused
from accorria_agent.jobs.interface import JobQueue
from accorria_agent.sellers.models import Seller
from accorria_agent.settings import Settings

INVITATION_TTL = timedelta(days=7)


async def invite(
    session: AsyncSession,
    queue: JobQueue,
    settings: Settings,
    owner: MemberContext,
    *,
    email: str,
    role: str,
    now: datetime,
) -> InvitationOut:
    """Mail a one-time invitation link to ``email`` for this account."""
    existing = await repo.member_by_email(session, email)
    if existing is not None and await repo.membership(session, owner.seller_id, existing.id) is not None:
        raise Conflict("this person is already a member of the account")
    seller = await session.get(Seller, owner.seller_id)
    inviter = await session.get(Member, owner.member_id) if owner.member_id else None
    assert seller is not None  # the session dependency checked it
    token = await new_link_token(
        session,
        purpose="invitation",
        email=email,
        ttl=INVITATION_TTL,
        now=now,
        seller_id=owner.seller_id,
        role=role,
    )
    url = emails.link(settings.public_base_url, "/auth/invitation", token)
    await emails.queue_mail(
        session,
        queue,
        key=f"invite:{token_hash(token)[:32]}",
        to=email,
        subject=f"Join {seller.name} on Accorria",
        text=emails.invitation_text(
            seller.name, inviter.name if inviter else seller.name, role, url, INVITATION_TTL.days
        ),
    )
    await audit.record(
        session,
        seller_id=owner.seller_id,
        actor_kind="member",
        actor_id=owner.member_id,
        action="member.invite",
        subject_type="invitation",
        details={"role": role},
    )
    return InvitationOut(
        email=email, role="owner" if role == "owner" else "staff", expires_at=now + INVITATION_TTL
    )


async def accept(
    session: AsyncSession, settings: Settings, *, token: str, name: str, password: str, now: datetime
) -> NewSession:
    """Join the invitation's account: a new member (name + password), or an existing one (their password)."""
    found = await consume(session, token, "invitation", now)
    if found.seller_id is None or found.role not in ("owner", "staff"):
        raise BadRequest("this link is invalid, expired or was already used", code="invalid_token")
    member = await repo.member_by_email(session, found.email)
    if member is None:
        clean_name = " ".join(name.split())
        if not clean_name:
            raise PolicyRefused("enter your name", code="name_required")
        refuse_password(password, found.email)
        member = Member(
            email=found.email,
            name=clean_name,
            password_hash=await hash_password(password),
            email_verified_at=now,
            created_at=now,
        )
        session.add(member)
        await session.flush()
    elif not await verify_password(member.password_hash, password):
        raise PolicyRefused("enter the password of your existing Accorria sign-in", code="bad_credentials")
    membership = await repo.membership(session, found.seller_id, member.id)
    if membership is None:
        membership = Membership(
            seller_id=found.seller_id, member_id=member.id, role=found.role, created_at=now
        )
        session.add(membership)
        await session.flush()
    member.email_verified_at = member.email_verified_at or now
    await audit.record(
        session,
        seller_id=found.seller_id,
        actor_kind="member",
        actor_id=member.id,
        action="member.join",
        subject_type="member",
        subject_id=member.id,
        details={"role": membership.role},
    )
    return await start_session(session, settings, member.id, membership, now)


async def list_members(session: AsyncSession, member: MemberContext) -> list[AccountMemberOut]:
    """Everyone in the signed-in member's account."""
    return [
        AccountMemberOut(
            member_id=person.id,
            name=person.name,
            email=person.email,
            role="owner" if link.role == "owner" else "staff",
            email_verified=person.email_verified_at is not None,
            joined_at=link.created_at,
        )
        for link, person in await repo.account_members(session, member.seller_id)
    ]


async def member_names(session: AsyncSession, seller_id: int) -> dict[int, str]:
    """Member id → name of everyone in the account, in one query (who a conversation is assigned to)."""
    return {person.id: person.name for _link, person in await repo.account_members(session, seller_id)}


async def _membership_or_404(session: AsyncSession, seller_id: int, member_id: int) -> Membership:
    found = await repo.membership(session, seller_id, member_id)
    if found is None:
        raise NotFound("member not found")
    return found


async def change_role(
    session: AsyncSession, owner: MemberContext, member_id: int, role: str
) -> AccountMemberOut:
    """Make a member owner or staff; the last owner cannot be demoted."""
    link = await _membership_or_404(session, owner.seller_id, member_id)
    if link.role == "owner" and role != "owner" and await repo.count_owners(session, owner.seller_id) <= 1:
        raise Conflict("the account must keep at least one owner", code="last_owner")
    previous, link.role = link.role, role
    await session.flush()
    await audit.record(
        session,
        seller_id=owner.seller_id,
        actor_kind="member",
        actor_id=owner.member_id,
        action="member.role_change",
        subject_type="member",
        subject_id=member_id,
        details={"from": previous, "to": role},
    )
    (out,) = [m for m in await list_members(session, owner) if m.member_id == member_id]
    return out


async def remove(session: AsyncSession, owner: MemberContext, member_id: int, now: datetime) -> None:
    """Remove a member from the account and end their sessions in it; never the last owner."""
    link = await _membership_or_404(session, owner.seller_id, member_id)
    if link.role == "owner" and await repo.count_owners(session, owner.seller_id) <= 1:
        raise Conflict("the account must keep at least one owner", code="last_owner")
    await repo.revoke_sessions(session, member_id, now, seller_id=owner.seller_id)
    await session.delete(link)
    await session.flush()
    await audit.record(
        session,
        seller_id=owner.seller_id,
        actor_kind="member",
        actor_id=owner.member_id,
        action="member.remove",
        subject_type="member",
        subject_id=member_id,
    )
