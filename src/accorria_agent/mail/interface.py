"""What sending an email means to the rest of the code, and an in-memory double that records it.

Domains build an :class:`OutgoingMail` and hand it to a :class:`Mailer`; they never know whether it goes
over SMTP, into the demo's local mailbox or into a test's list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Attachment:
    """A file attached to a mail (for instance a test drive's ``invite.ics``)."""

    filename: str
    content: bytes
    content_type: str  # e.g. "text/calendar; method=REQUEST"


@dataclass(frozen=True)
class OutgoingMail:
    """One email to one recipient. ``text`` is required; ``html`` is an optional alternative."""

    to: str
    subject: str
    text: str
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    # A stable key (e.g. "booking:42:created"): a mailer that sees it twice sends once.
    idempotency_key: str | None = None


class Mailer(Protocol):
    """Sends mail. Raises on a failure the caller may retry (the job layer retries it)."""

    async def send(self, mail: OutgoingMail) -> None: ...


@dataclass
class InMemoryMailer:
    """Keeps every mail in ``sent`` (tests, and a process with no mail configured)."""

    sent: list[OutgoingMail] = field(default_factory=list)

    async def send(self, mail: OutgoingMail) -> None:
        if mail.idempotency_key is not None and any(
            m.idempotency_key == mail.idempotency_key for m in self.sent
        ):
            return
        self.sent.append(mail)
