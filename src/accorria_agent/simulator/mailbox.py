"""The seller's mailbox of the demo and the tests: a real local SMTP server (aiosmtpd) and its views.

:class:`LocalMailbox` listens on 127.0.0.1 on a free port, in a thread of its own (so it serves the
agent's SMTP client whatever event loop that runs on) and keeps every message it receives.
``/simulator/mailbox`` shows them (escaped HTML, links clickable) and ``GET /simulator/api/mailbox``
returns them as JSON (``to``, ``subject``, ``text``, ``links``, ``received_at``).
"""

from __future__ import annotations

import asyncio
import html
import re
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse, Response

_LINK = re.compile(r"https?://[^\s<>\"']+")
MAX_MESSAGES = 500


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the mailbox shows it."""

    to: list[str]
    subject: str
    text: str
    links: list[str]
    received_at: str
    mail_from: str


def _text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    content = body.get_content()
    return content if isinstance(content, str) else ""


class _Handler:
    def __init__(self, mailbox: LocalMailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        parsed = message_from_bytes(raw if isinstance(raw, bytes) else raw.encode(), policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        text = _text_of(parsed).replace("\r\n", "\n")
        self.mailbox.add(
            ReceivedMail(
                to=[str(r) for r in envelope.rcpt_tos],
                subject=str(parsed.get("Subject", "")),
                text=text,
                links=_LINK.findall(text),
                received_at=datetime.now(UTC).isoformat(),
                mail_from=str(envelope.mail_from or ""),
            )
        )
        return "250 Message accepted for delivery"


class LocalMailbox:
    """An SMTP server on 127.0.0.1 (port 0 = a free one) keeping what it receives in memory."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.messages: list[ReceivedMail] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``smtp://127.0.0.1:<port>`` for ``SMTP_URL``."""
        return f"smtp://{self.host}:{self.port}"

    def add(self, mail: ReceivedMail) -> None:
        with self._lock:
            self.messages.append(mail)
            del self.messages[:-MAX_MESSAGES]

    def snapshot(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self.messages)

    def start(self) -> LocalMailbox:
        """Start listening (returns once the port is bound)."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            handler = _Handler(self)
            try:
                self._server = loop.run_until_complete(
                    loop.create_server(lambda: SMTP(handler, loop=loop), self.host, self.port)
                )
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as error:  # reported to start()'s caller
                failure.append(error)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            self._server.close()
            loop.run_until_complete(self._server.wait_closed())
            loop.close()

        self._thread = threading.Thread(target=run, name="local-mailbox", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop = None

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        """Block until at least ``count`` messages arrived (tests); returns them."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.snapshot()
            if len(messages) >= count:
                return messages
            time.sleep(0.02)
        raise TimeoutError(f"{len(self.snapshot())} of {count} mails arrived")


def _render(messages: list[ReceivedMail]) -> str:
    items = []
    for mail in reversed(messages):
        body = html.escape(mail.text)
        for link in sorted(set(mail.links), key=len, reverse=True):
            escaped = html.escape(link)
            body = body.replace(escaped, f'<a href="{escaped}">{escaped}</a>')
        items.append(
            "<article><h2>{subject}</h2><p class=meta>to {to} · {at}</p><pre>{body}</pre></article>".format(
                subject=html.escape(mail.subject),
                to=html.escape(", ".join(mail.to)),
                at=html.escape(mail.received_at),
                body=body,
            )
        )
    empty = "<p>No mail yet. Sign up, reset a password or invite someone.</p>"
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        "<title>Seller's mailbox</title><style>body{font-family:system-ui,sans-serif;margin:1rem;"
        "max-width:48rem}pre{white-space:pre-wrap;overflow-wrap:anywhere}article{border-top:1px solid #ccc}"
        ".meta{color:#555}</style></head><body><h1>Seller's mailbox</h1>"
        f"{''.join(items) or empty}</body></html>"
    )


MAILBOX_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def build_mailbox_router(mailbox: LocalMailbox) -> APIRouter:
    """``/mailbox`` (HTML) and ``/api/mailbox`` (JSON), to mount under ``/simulator``."""
    router = APIRouter(include_in_schema=False)

    @router.get("/mailbox")
    async def mailbox_page() -> Response:
        return HTMLResponse(_render(mailbox.snapshot()), headers=MAILBOX_HEADERS)

    @router.get("/api/mailbox")
    async def mailbox_json() -> Response:
        messages: list[dict[str, Any]] = [asdict(m) for m in mailbox.snapshot()]
        return JSONResponse(messages, headers={"Cache-Control": "no-store"})

    return router
