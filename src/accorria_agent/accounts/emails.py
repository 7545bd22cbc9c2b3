"""The account emails (verification, password reset, invitation): composed here, queued in the outbox.

A mail is written to ``mail_outbox`` and its job deferred in the caller's transaction, so it goes out
if and only if the change that asked for it commits; the job then sends it once (see ``tasks.py``).
"""

from __future__ import annotations

from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.accounts import repository as repo
from accorria_agent.accounts.models import MailOutbox
from accorria_agent.jobs.interface import JobQueue, JobRequest

SEND_ACCOUNT_MAIL_TASK = "accounts.send_mail"


def link(base_url: str, path: str, token: str) -> str:
    """``{base_url}{path}?token=…`` (the token is URL-safe already; quoted all the same)."""
    return f"{base_url.rstrip('/')}{path}?token={quote(token, safe='')}"


async def queue_mail(
    session: AsyncSession, queue: JobQueue, *, key: str, to: str, subject: str, text: str
) -> None:
    """Write the mail to the outbox and defer its sending, both in the caller's transaction."""
    if await repo.outbox_by_key(session, key) is not None:
        return
    row = MailOutbox(idempotency_key=key, to=to, subject=subject, text=text)
    session.add(row)
    await session.flush()
    await queue.defer_many(
        session, [JobRequest(task=SEND_ACCOUNT_MAIL_TASK, args={"outbox_id": row.id}, lock=f"mail:{row.id}")]
    )


def verification_text(name: str, url: str, hours: int) -> str:
    return (
        f"Hello {name},\n\nplease confirm your email address for Accorria by opening this link:\n\n{url}\n\n"
        f"The link works once and expires in {hours} hours. If you did not sign up, ignore this mail.\n"
    )


def reset_text(name: str, url: str, minutes: int) -> str:
    return (
        f"Hello {name},\n\nsomeone (hopefully you) asked to reset your Accorria password. "
        f"Choose a new one here:\n\n{url}\n\nThe link works once and expires in {minutes} minutes. "
        "If you did not ask for it, ignore this mail: your password stays as it is.\n"
    )


def invitation_text(account: str, inviter: str, role: str, url: str, days: int) -> str:
    return (
        f"Hello,\n\n{inviter} invites you to join {account} on Accorria as {role}. "
        f"Accept here:\n\n{url}\n\nThe link works once and expires in {days} days.\n"
    )
