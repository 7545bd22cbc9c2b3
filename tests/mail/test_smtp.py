"""``SmtpMailer`` against a real local aiosmtpd server (no mock), and ``SMTP_URL`` parsing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import aiosmtplib
import pytest

from accorria_agent.mail.interface import Attachment, InMemoryMailer, OutgoingMail
from accorria_agent.mail.smtp import SmtpConfigError, SmtpMailer, mailer_from_settings, parse_smtp_url
from accorria_agent.simulator.mailbox import LocalMailbox


@pytest.fixture
def mailbox() -> Iterator[LocalMailbox]:
    box = LocalMailbox().start()
    try:
        yield box
    finally:
        box.stop()


async def test_a_mail_with_html_and_an_attachment_arrives(mailbox: LocalMailbox) -> None:
    mailer = SmtpMailer(mailbox.url, "Accorria <no-reply@accorria.test>", starttls="off")
    await mailer.send(
        OutgoingMail(
            to="buyer@example.com",
            subject="Test drive — Saturday",
            text="See you at https://example.com/b?id=1 ünïcode",
            html="<p>See you</p>",
            attachments=(Attachment("invite.ics", b"BEGIN:VCALENDAR", "text/calendar; method=REQUEST"),),
            idempotency_key="booking:1",
        )
    )
    (mail,) = await asyncio.to_thread(mailbox.wait_for, 1)
    assert mail.to == ["buyer@example.com"] and mail.subject == "Test drive — Saturday"
    assert "ünïcode" in mail.text and mail.links == ["https://example.com/b?id=1"]
    assert mail.mail_from == "no-reply@accorria.test"


async def test_required_starttls_refuses_to_send_in_clear(mailbox: LocalMailbox) -> None:
    mailer = SmtpMailer(mailbox.url, "a@accorria.test", starttls="required", timeout=5)
    with pytest.raises(aiosmtplib.SMTPException):
        await mailer.send(OutgoingMail(to="x@example.com", subject="s", text="t"))
    assert mailbox.snapshot() == []


async def test_an_unreachable_server_raises_for_the_job_to_retry() -> None:
    closed = LocalMailbox().start()
    closed.stop()
    mailer = SmtpMailer(closed.url, "a@accorria.test", starttls="off", timeout=2)
    with pytest.raises((aiosmtplib.SMTPException, OSError)):
        await mailer.send(OutgoingMail(to="x@example.com", subject="s", text="t"))


def test_smtp_urls() -> None:
    target = parse_smtp_url("smtp://us%40er:p%3Ass@mail.example.com:2525")
    assert (target.host, target.port, target.username, target.password, target.implicit_tls) == (
        "mail.example.com",
        2525,
        "us@er",
        "p:ss",
        False,
    )
    assert parse_smtp_url("smtps://mail.example.com").port == 465
    assert parse_smtp_url("smtp://mail.example.com").port == 587
    for bad in ("http://mail.example.com", "smtp://", "smtp://host:99999", "mail.example.com"):
        with pytest.raises(SmtpConfigError):
            parse_smtp_url(bad)
    assert isinstance(mailer_from_settings("", "a@b.c", starttls="auto", timeout=1), InMemoryMailer)
