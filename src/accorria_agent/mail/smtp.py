"""``SmtpMailer``: sends :class:`~accorria_agent.mail.interface.OutgoingMail` over SMTP with aiosmtplib.

``SMTP_URL`` is ``smtp://user:pass@host:587`` (STARTTLS per ``SMTP_STARTTLS``: ``auto`` upgrades when the
server offers it, ``required`` refuses to send in clear, ``off`` never upgrades) or
``smtps://user:pass@host:465`` (TLS from the first byte). User and password are URL-decoded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal
from urllib.parse import unquote, urlsplit

import aiosmtplib

from accorria_agent.mail.interface import Mailer, OutgoingMail

StartTls = Literal["auto", "required", "off"]


class SmtpConfigError(ValueError):
    """``SMTP_URL`` cannot be used (reported in one line at start-up)."""


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to connect, parsed from ``SMTP_URL``."""

    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool


def parse_smtp_url(url: str) -> SmtpTarget:
    """``smtp://`` or ``smtps://`` URL → :class:`SmtpTarget`; :class:`SmtpConfigError` otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise SmtpConfigError("SMTP_URL is not a valid URL") from None
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise SmtpConfigError("SMTP_URL must look like smtp://user:pass@host:587 or smtps://host:465")
    implicit = parts.scheme == "smtps"
    return SmtpTarget(
        host=parts.hostname,
        port=port or (465 if implicit else 587),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        implicit_tls=implicit,
    )


def to_email_message(mail: OutgoingMail, mail_from: str) -> EmailMessage:
    """The MIME message: text (+ optional HTML alternative) and attachments.

    With an idempotency key the ``Message-ID`` is derived from it, so a retried send is recognisably
    the same message.
    """
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    domain = mail_from.rsplit("@", 1)[-1].strip("> ") or "accorria.local"
    if mail.idempotency_key:
        digest = hashlib.sha256(mail.idempotency_key.encode()).hexdigest()[:32]
        message["Message-ID"] = f"<{digest}@{domain}>"
    else:
        message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(mail.text)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    for attachment in mail.attachments:
        maintype, _, subtype = attachment.content_type.partition(";")[0].strip().partition("/")
        message.add_attachment(
            attachment.content,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return message


class SmtpMailer:
    """A :class:`Mailer` over SMTP. Each send opens its own connection (account mail is rare)."""

    def __init__(
        self, url: str, mail_from: str, *, starttls: StartTls = "auto", timeout: float = 10.0
    ) -> None:
        self.target = parse_smtp_url(url)
        self.mail_from = mail_from
        self.starttls = starttls
        self.timeout = timeout

    async def send(self, mail: OutgoingMail) -> None:
        """Send one mail; raises ``aiosmtplib.SMTPException`` / ``OSError`` for the job to retry."""
        target = self.target
        await aiosmtplib.send(
            to_email_message(mail, self.mail_from),
            hostname=target.host,
            port=target.port,
            username=target.username,
            password=target.password,
            use_tls=target.implicit_tls,
            # None = upgrade if offered; True = fail without it; False = never.
            start_tls=None if self.starttls == "auto" else self.starttls == "required",
            timeout=self.timeout,
        )


def mailer_from_settings(url: str, mail_from: str, *, starttls: StartTls, timeout: float) -> Mailer:
    """SMTP when ``url`` is set, else an in-memory mailer (a process with no mail configured)."""
    from accorria_agent.mail.interface import InMemoryMailer

    if not url:
        return InMemoryMailer()
    return SmtpMailer(url, mail_from, starttls=starttls, timeout=timeout)
