"""All SQL of the accounts domain. Every query of account data is scoped by ``seller_id`` or by member."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.accounts.models import (
    AuthSession,
    MailOutbox,
    Member,
    Membership,
    OneTimeToken,
    SignInAttempt,
)
from accorria_agent.sellers.models import Seller


async def member_by_email(session: AsyncSession, email: str) -> Member | None:
    return (await session.execute(select(Member).where(Member.email == email))).scalar_one_or_none()


async def seller_by_email(session: AsyncSession, email: str) -> Seller | None:
    return (await session.execute(select(Seller).where(Seller.email == email))).scalar_one_or_none()


async def first_membership(session: AsyncSession, member_id: int) -> Membership | None:
    """The account a member lands in after signing in: the oldest membership."""
    row = await session.execute(
        select(Membership).where(Membership.member_id == member_id).order_by(Membership.id).limit(1)
    )
    return row.scalar_one_or_none()


async def membership(session: AsyncSession, seller_id: int, member_id: int) -> Membership | None:
    row = await session.execute(
        select(Membership).where(Membership.seller_id == seller_id, Membership.member_id == member_id)
    )
    return row.scalar_one_or_none()


async def first_owner(session: AsyncSession, seller_id: int) -> Member | None:
    row = await session.execute(
        select(Member)
        .join(Membership, Membership.member_id == Member.id)
        .where(Membership.seller_id == seller_id, Membership.role == "owner")
        .order_by(Membership.id)
        .limit(1)
    )
    return row.scalar_one_or_none()


async def account_members(session: AsyncSession, seller_id: int) -> list[tuple[Membership, Member]]:
    rows = await session.execute(
        select(Membership, Member)
        .join(Member, Member.id == Membership.member_id)
        .where(Membership.seller_id == seller_id)
        .order_by(Membership.id)
    )
    return [(m, p) for m, p in rows.all()]


async def count_owners(session: AsyncSession, seller_id: int) -> int:
    count = await session.execute(
        select(func.count()).where(Membership.seller_id == seller_id, Membership.role == "owner")
    )
    return int(count.scalar_one())


async def session_with_role(session: AsyncSession, token_hash: str) -> tuple[AuthSession, str] | None:
    """The session of a cookie with the member's current role in its account (None if either is gone)."""
    row = await session.execute(
        select(AuthSession, Membership.role)
        .join(
            Membership,
            (Membership.member_id == AuthSession.member_id) & (Membership.seller_id == AuthSession.seller_id),
        )
        .where(AuthSession.token_hash == token_hash)
    )
    found = row.one_or_none()
    return (found[0], found[1]) if found else None


async def touch_session(session: AsyncSession, session_id: int, now: datetime) -> None:
    await session.execute(update(AuthSession).where(AuthSession.id == session_id).values(last_seen_at=now))


async def revoke_sessions(
    session: AsyncSession,
    member_id: int,
    now: datetime,
    *,
    seller_id: int | None = None,
    except_session_id: int | None = None,
) -> int:
    """Revoke the member's live sessions (of one account, or all), but ``except_session_id``."""
    statement = update(AuthSession).where(
        AuthSession.member_id == member_id, AuthSession.revoked_at.is_(None)
    )
    if seller_id is not None:
        statement = statement.where(AuthSession.seller_id == seller_id)
    if except_session_id is not None:
        statement = statement.where(AuthSession.id != except_session_id)
    result = await session.execute(statement.values(revoked_at=now))
    return int(getattr(result, "rowcount", 0) or 0)


async def consume_token(
    session: AsyncSession, token_hash: str, purpose: str, now: datetime
) -> OneTimeToken | None:
    """Mark a live token used and return it; None if unknown, used, expired or of another purpose.

    One conditional UPDATE, so two concurrent uses of the same link cannot both succeed.
    """
    result = await session.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.token_hash == token_hash,
            OneTimeToken.purpose == purpose,
            OneTimeToken.used_at.is_(None),
            OneTimeToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(OneTimeToken.id)
    )
    token_id = result.scalar_one_or_none()
    if token_id is None:
        return None
    return await session.get(OneTimeToken, token_id)


async def recent_tokens(session: AsyncSession, email: str, purpose: str, since: datetime) -> int:
    count = await session.execute(
        select(func.count()).where(
            OneTimeToken.email == email, OneTimeToken.purpose == purpose, OneTimeToken.created_at > since
        )
    )
    return int(count.scalar_one())


async def failures_since(session: AsyncSession, key: str, since: datetime) -> list[datetime]:
    """Failed sign-in times for ``key`` after ``since``, oldest first."""
    rows = await session.execute(
        select(SignInAttempt.attempted_at)
        .where(
            SignInAttempt.key == key, SignInAttempt.attempted_at > since, SignInAttempt.succeeded.is_(False)
        )
        .order_by(SignInAttempt.attempted_at)
    )
    return list(rows.scalars())


async def add_failures(session: AsyncSession, keys: list[str], now: datetime) -> None:
    session.add_all(SignInAttempt(key=key, succeeded=False, attempted_at=now) for key in keys)
    await session.flush()


async def forget_attempts(session: AsyncSession, key: str | None, before: datetime) -> None:
    """Delete ``key``'s attempts (after a success), and everyone's older than ``before``."""
    if key is not None:
        await session.execute(delete(SignInAttempt).where(SignInAttempt.key == key))
    await session.execute(delete(SignInAttempt).where(SignInAttempt.attempted_at < before))


async def outbox_by_key(session: AsyncSession, key: str) -> MailOutbox | None:
    row = await session.execute(select(MailOutbox).where(MailOutbox.idempotency_key == key))
    return row.scalar_one_or_none()
