"""The accounts domain's job: send one outbox mail through the process's mailer, once.

The mail is read in one transaction, sent outside any transaction (SMTP may be slow; SQLite would
hold its write lock meanwhile) and marked sent in another. A crash between sending and marking may
send it again on retry; the stable ``Message-ID`` derived from the idempotency key lets mail systems
recognise the duplicate. After sending, the stored text (which holds a one-time link) is emptied.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from accorria_agent.accounts.models import MailOutbox
from accorria_agent.db.base import utcnow
from accorria_agent.db.engine import transaction
from accorria_agent.mail.interface import Mailer, OutgoingMail

log = structlog.get_logger(__name__)


async def send_outbox_mail(
    factory: async_sessionmaker[AsyncSession], mailer: Mailer, args: dict[str, Any]
) -> None:
    """Send the outbox row ``args["outbox_id"]`` unless it was sent already (raises to be retried)."""
    outbox_id = int(args["outbox_id"])
    async with transaction(factory) as session:
        row = await session.get(MailOutbox, outbox_id)
        if row is None or row.sent_at is not None:
            return
        row.attempts += 1
        mail = OutgoingMail(
            to=row.to, subject=row.subject, text=row.text, idempotency_key=row.idempotency_key
        )
    await mailer.send(mail)
    async with transaction(factory) as session:
        row = await session.get(MailOutbox, outbox_id)
        if row is not None:
            row.sent_at = utcnow()
            row.text = ""
    log.info(
        "account_mail_sent",
        outbox_id=outbox_id,
        kind=mail.idempotency_key.split(":")[0] if mail.idempotency_key else "",
    )
