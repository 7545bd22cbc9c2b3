"""Use cases of signing in: sign up, sign in and out, sessions, password change and reset, email
verification, the demo's one-time sign-in link. Functions flush and never commit: the request owns
the transaction. A business "no" raises a typed error of :mod:`accorria_agent.errors`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.accounts import emails
from accorria_agent.accounts import repository as repo
from accorria_agent.accounts.identity import MemberContext, Role
from accorria_agent.accounts.models import AuthSession, Member, Membership, OneTimeToken
from accorria_agent.accounts.passwords import (
    dummy_hash,
    hash_password,
    password_problems,
    verify_password,
)
from accorria_agent.accounts.schemas import AccountOut, MemberOut, MeOut, normalise_email
from accorria_agent.accounts.secrets import keyed_hash, new_token, plausible_token, token_hash
from accorria_agent.audit import service as audit
from accorria_agent.errors import BadRequest, Conflict, PolicyRefused, TooManyRequests, Unauthorized
from accorria_agent.jobs.interface import JobQueue
from accorria_agent.sellers.models import Seller
from accorria_agent.settings import Settings

log = structlog.get_logger(__name__)

VERIFY_TTL = timedelta(hours=48)
RESET_TTL = timedelta(minutes=30)
# Throttling: failures counted over a sliding window, per account (email) and per client address.
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
MAX_RESET_MAILS_PER_HOUR = 3
_BAD_CREDENTIALS = "wrong email or password"


@dataclass(frozen=True)
class NewSession:
    """A session just created: the cookie value (shown once, never stored) and who it belongs to."""

    token: str
    context: MemberContext


def refuse_password(password: str, email: str) -> None:
    """422 with every reason when ``password`` breaks the policy."""
    problems = password_problems(password, email=email)
    if problems:
        raise PolicyRefused("; ".join(problems), code="weak_password")


async def start_session(
    session: AsyncSession, settings: Settings, member_id: int, membership: Membership, now: datetime
) -> NewSession:
    """A new session row for ``member_id`` in ``membership``'s account."""
    token = new_token()
    session.add(
        AuthSession(
            token_hash=token_hash(token),
            member_id=member_id,
            seller_id=membership.seller_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=settings.session_max_age_hours),
        )
    )
    await session.flush()
    role: Role = "owner" if membership.role == "owner" else "staff"
    return NewSession(token, MemberContext(seller_id=membership.seller_id, member_id=member_id, role=role))


async def new_link_token(
    session: AsyncSession,
    *,
    purpose: str,
    email: str,
    ttl: timedelta,
    now: datetime,
    member_id: int | None = None,
    seller_id: int | None = None,
    role: str | None = None,
) -> str:
    """A one-time token for a link; only its hash is stored."""
    token = new_token()
    session.add(
        OneTimeToken(
            token_hash=token_hash(token),
            purpose=purpose,
            email=email,
            member_id=member_id,
            seller_id=seller_id,
            role=role,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    await session.flush()
    return token


async def consume(session: AsyncSession, token: str, purpose: str, now: datetime) -> OneTimeToken:
    """The live token of that purpose, now used; 400 ``invalid_token`` for anything else."""
    found = (
        await repo.consume_token(session, token_hash(token), purpose, now) if plausible_token(token) else None
    )
    if found is None:
        raise BadRequest("this link is invalid, expired or was already used", code="invalid_token")
    return found


async def _send_verification(
    session: AsyncSession, queue: JobQueue, settings: Settings, member: Member, now: datetime
) -> None:
    token = await new_link_token(
        session, purpose="verify_email", email=member.email, ttl=VERIFY_TTL, now=now, member_id=member.id
    )
    url = emails.link(settings.public_base_url, "/auth/verify", token)
    await emails.queue_mail(
        session,
        queue,
        key=f"verify:{token_hash(token)[:32]}",
        to=member.email,
        subject="Confirm your email for Accorria",
        text=emails.verification_text(member.name, url, int(VERIFY_TTL.total_seconds() // 3600)),
    )


async def signup(
    session: AsyncSession,
    queue: JobQueue,
    settings: Settings,
    *,
    name: str,
    email: str,
    password: str,
    now: datetime,
) -> NewSession:
    """A new seller account with its owner, signed in; the verification mail is queued."""
    refuse_password(password, email)
    if await repo.member_by_email(session, email) or await repo.seller_by_email(session, email):
        raise Conflict("an account with this email already exists; sign in or reset the password")
    seller = Seller(name=name, email=email)
    member = Member(email=email, name=name, password_hash=await hash_password(password), created_at=now)
    session.add_all([seller, member])
    await session.flush()
    membership = Membership(seller_id=seller.id, member_id=member.id, role="owner", created_at=now)
    session.add(membership)
    await session.flush()
    await _send_verification(session, queue, settings, member, now)
    new = await start_session(session, settings, member.id, membership, now)
    await audit.record(
        session, seller_id=seller.id, actor_kind="member", actor_id=member.id, action="account.sign_up"
    )
    return new


async def _throttle_wait(session: AsyncSession, keys: dict[str, int], now: datetime) -> int:
    """Seconds until a throttled key may try again (0 when none is throttled)."""
    wait = 0
    for key, limit in keys.items():
        failures = await repo.failures_since(session, key, now - THROTTLE_WINDOW)
        if len(failures) >= limit:
            # Free again when enough of the counted failures leave the window.
            release = failures[len(failures) - limit] + THROTTLE_WINDOW
            wait = max(wait, int((release - now).total_seconds()) + 1)
    return wait


@dataclass(frozen=True)
class LoginOutcome:
    """Either a new session or the refusal to raise *after* the failure was committed."""

    new: NewSession | None
    refusal: Unauthorized | TooManyRequests | None


async def login(
    session: AsyncSession, settings: Settings, *, email: str, password: str, address: str, now: datetime
) -> LoginOutcome:
    """Check the password under throttling. A failure is recorded; the caller commits, then raises."""
    try:
        email = normalise_email(email)
    except ValueError:
        return LoginOutcome(None, Unauthorized(_BAD_CREDENTIALS, code="bad_credentials"))
    account_key, address_key = keyed_hash("account", email), keyed_hash("address", address)
    wait = await _throttle_wait(
        session, {account_key: MAX_FAILURES_PER_ACCOUNT, address_key: MAX_FAILURES_PER_ADDRESS}, now
    )
    if wait:
        return LoginOutcome(
            None,
            TooManyRequests("too many failed sign-ins; try again later", headers={"Retry-After": str(wait)}),
        )
    member = await repo.member_by_email(session, email)
    valid = await verify_password(member.password_hash if member else dummy_hash(), password)
    membership = await repo.first_membership(session, member.id) if member and valid else None
    if member is None or membership is None:
        await repo.add_failures(session, [account_key, address_key], now)
        log.info("sign_in_refused")
        return LoginOutcome(None, Unauthorized(_BAD_CREDENTIALS, code="bad_credentials"))
    await repo.forget_attempts(session, account_key, now - timedelta(days=1))
    new = await start_session(session, settings, member.id, membership, now)
    await audit.record(
        session,
        seller_id=membership.seller_id,
        actor_kind="member",
        actor_id=member.id,
        action="auth.sign_in",
    )
    return LoginOutcome(new, None)


async def resolve_session(
    session: AsyncSession, settings: Settings, cookie: str, now: datetime
) -> tuple[MemberContext, int] | None:
    """The member and session id behind a session cookie, or None (unknown, revoked, idle, expired).

    The member's role is read from the membership on every request, so a role change or a removal
    applies at once. The idle timeout slides: ``last_seen_at`` is refreshed at most once a minute.
    """
    if not plausible_token(cookie):
        return None
    found = await repo.session_with_role(session, token_hash(cookie))
    if found is None:
        return None
    row, role = found
    idle_limit = row.last_seen_at + timedelta(minutes=settings.session_idle_minutes)
    if row.revoked_at is not None or now >= row.expires_at or now >= idle_limit:
        return None
    if now - row.last_seen_at > timedelta(seconds=60):
        await repo.touch_session(session, row.id, now)
    context = MemberContext(
        seller_id=row.seller_id, member_id=row.member_id, role="owner" if role == "owner" else "staff"
    )
    return context, row.id


async def logout(session: AsyncSession, member: MemberContext, session_id: int | None, now: datetime) -> None:
    """End this session (a bearer-token client has none to end)."""
    if session_id is not None:
        row = await session.get(AuthSession, session_id)
        if row is not None and row.revoked_at is None:
            row.revoked_at = now
    await audit.record(
        session,
        seller_id=member.seller_id,
        actor_kind="member",
        actor_id=member.member_id,
        action="auth.sign_out",
    )


async def logout_everywhere(session: AsyncSession, member: MemberContext, now: datetime) -> int:
    """End every session of this member (all accounts) and refuse their older bearer tokens."""
    person = await session.get(Member, member.member_id)
    if person is not None:
        person.tokens_valid_after = now
    count = await repo.revoke_sessions(session, member.member_id, now)
    await audit.record(
        session,
        seller_id=member.seller_id,
        actor_kind="member",
        actor_id=member.member_id,
        action="auth.sign_out_everywhere",
        details={"sessions": count},
    )
    return count


async def me(session: AsyncSession, member: MemberContext) -> MeOut:
    """The signed-in member, account and role."""
    person = await session.get(Member, member.member_id) if member.member_id else None
    seller = await session.get(Seller, member.seller_id)
    if seller is None:
        raise Unauthorized("this account no longer exists")
    if person is None:  # a bearer token of an account that has no members yet
        verified = False
        person_out = MemberOut(id=0, name=seller.name, email=seller.email or "", email_verified=False)
    else:
        verified = person.email_verified_at is not None
        person_out = MemberOut(id=person.id, name=person.name, email=person.email, email_verified=verified)
    return MeOut(
        member=person_out,
        account=AccountOut(id=seller.id, name=seller.name),
        role=member.role,
        email_verified=verified,
    )


async def change_password(
    session: AsyncSession,
    member: MemberContext,
    session_id: int | None,
    *,
    current: str,
    new: str,
    now: datetime,
) -> int:
    """Replace the password after checking the current one; every *other* session ends."""
    person = await session.get(Member, member.member_id) if member.member_id else None
    if person is None or not await verify_password(person.password_hash, current):
        raise PolicyRefused("the current password is wrong", code="bad_credentials")
    refuse_password(new, person.email)
    person.password_hash = await hash_password(new)
    person.tokens_valid_after = now
    ended = await repo.revoke_sessions(session, person.id, now, except_session_id=session_id)
    await audit.record(
        session,
        seller_id=member.seller_id,
        actor_kind="member",
        actor_id=person.id,
        action="auth.password_change",
        details={"sessions_ended": ended},
    )
    return ended


async def request_reset(
    session: AsyncSession, queue: JobQueue, settings: Settings, email: str, now: datetime
) -> None:
    """Queue a reset mail if the email has a member; silent otherwise (no account enumeration)."""
    member = await repo.member_by_email(session, email)
    if member is None:
        return
    if (
        await repo.recent_tokens(session, email, "password_reset", now - timedelta(hours=1))
        >= MAX_RESET_MAILS_PER_HOUR
    ):
        return  # no mail bombing through the reset form
    token = await new_link_token(
        session, purpose="password_reset", email=email, ttl=RESET_TTL, now=now, member_id=member.id
    )
    url = emails.link(settings.public_base_url, "/auth/reset", token)
    await emails.queue_mail(
        session,
        queue,
        key=f"reset:{token_hash(token)[:32]}",
        to=email,
        subject="Reset your Accorria password",
        text=emails.reset_text(member.name, url, int(RESET_TTL.total_seconds() // 60)),
    )


async def confirm_reset(session: AsyncSession, token: str, password: str, now: datetime) -> None:
    """Set the new password of the link's member; every session of theirs ends."""
    found = await consume(session, token, "password_reset", now)
    person = await session.get(Member, found.member_id) if found.member_id else None
    if person is None:
        raise BadRequest("this link is invalid, expired or was already used", code="invalid_token")
    refuse_password(password, person.email)
    person.password_hash = await hash_password(password)
    person.tokens_valid_after = now
    person.email_verified_at = person.email_verified_at or now  # the mailbox answered
    await repo.revoke_sessions(session, person.id, now)
    membership = await repo.first_membership(session, person.id)
    if membership is not None:
        await audit.record(
            session,
            seller_id=membership.seller_id,
            actor_kind="member",
            actor_id=person.id,
            action="auth.password_reset",
        )


async def verify_email(session: AsyncSession, token: str, now: datetime) -> None:
    """Mark the link's email verified (400 ``invalid_token`` when the link is not live)."""
    found = await consume(session, token, "verify_email", now)
    person = await session.get(Member, found.member_id) if found.member_id else None
    if person is None or person.email != found.email:
        raise BadRequest("this link is invalid, expired or was already used", code="invalid_token")
    person.email_verified_at = person.email_verified_at or now


async def ensure_owner(session: AsyncSession, seller: Seller, now: datetime) -> Member:
    """The account's first owner, created (with an unusable password) when it has none (demo seeding)."""
    owner = await repo.first_owner(session, seller.id)
    if owner is not None:
        return owner
    email = seller.email or f"seller-{seller.id}@accorria.invalid"
    owner = await repo.member_by_email(session, email)
    if owner is None:
        owner = Member(
            email=email,
            name=seller.name,
            password_hash=await hash_password(new_token()),
            email_verified_at=now,
            created_at=now,
        )
        session.add(owner)
        await session.flush()
    session.add(Membership(seller_id=seller.id, member_id=owner.id, role="owner", created_at=now))
    await session.flush()
    return owner


async def sign_in_link_token(session: AsyncSession, seller: Seller, ttl: timedelta, now: datetime) -> str:
    """A one-time sign-in token for the account's owner (``/auth/link?token=…``)."""
    owner = await ensure_owner(session, seller, now)
    return await new_link_token(
        session,
        purpose="sign_in_link",
        email=owner.email,
        ttl=ttl,
        now=now,
        member_id=owner.id,
        seller_id=seller.id,
    )


async def use_sign_in_link(
    session: AsyncSession, settings: Settings, token: str, now: datetime
) -> NewSession:
    """A session for the link's member in the link's account; the link is spent."""
    found = await consume(session, token, "sign_in_link", now)
    membership = (
        await repo.membership(session, found.seller_id, found.member_id)
        if found.seller_id and found.member_id
        else None
    )
    if membership is None or found.member_id is None:
        raise BadRequest("this link is invalid, expired or was already used", code="invalid_token")
    new = await start_session(session, settings, found.member_id, membership, now)
    await audit.record(
        session,
        seller_id=membership.seller_id,
        actor_kind="member",
        actor_id=found.member_id,
        action="auth.sign_in",
        details={"via": "link"},
    )
    return new
