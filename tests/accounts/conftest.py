"""An agent app with a controllable clock whose mail goes over SMTP to a real local aiosmtpd server."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from accorria_agent.app import create_app
from accorria_agent.runtime import Runtime, build_runtime
from accorria_agent.settings import Settings
from accorria_agent.simulator.mailbox import LocalMailbox, ReceivedMail

BASE = "http://agent.test"
PASSWORD = "correct horse battery"


@pytest.fixture
def mailbox() -> Iterator[LocalMailbox]:
    box = LocalMailbox().start()
    try:
        yield box
    finally:
        box.stop()


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class AccountsApp:
    runtime: Runtime
    clock: Clock
    mailbox: LocalMailbox
    clients: list[httpx.AsyncClient]

    def client(self) -> httpx.AsyncClient:
        """A new browser: its own cookie jar."""
        app = create_app(self.runtime, manage_runtime=False)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)
        self.clients.append(client)
        return client

    async def mails(self, count: int) -> list[ReceivedMail]:
        """Wait until the outbox jobs ran and ``count`` mails reached the SMTP server."""
        queue: Any = self.runtime.queue
        await queue.wait_idle()
        import asyncio

        return await asyncio.to_thread(self.mailbox.wait_for, count, 10.0)

    async def link_token(self, index: int, path: str) -> str:
        """The token of the ``path`` link in mail number ``index`` (waits for it)."""
        mail = (await self.mails(index + 1))[index]
        (url,) = [link for link in mail.links if path in link]
        match = re.search(r"token=([A-Za-z0-9_\-]+)", url)
        assert match is not None
        return match.group(1)


@asynccontextmanager
async def accounts_app(
    make_settings: Callable[..., Settings], database_url: str, mailbox: LocalMailbox, **overrides: Any
) -> AsyncIterator[AccountsApp]:
    settings = make_settings(
        DATABASE_URL=database_url,
        SMTP_URL=mailbox.url,
        SMTP_STARTTLS="off",
        PUBLIC_BASE_URL=BASE,
        **overrides,
    )
    clock = Clock()
    runtime = build_runtime(settings, clock=clock)
    await runtime.start()
    harness = AccountsApp(runtime, clock, mailbox, [])
    try:
        yield harness
    finally:
        for client in harness.clients:
            await client.aclose()
        await runtime.stop()


def csrf(client: httpx.AsyncClient) -> dict[str, str]:
    """The header a page's script sends: the CSRF cookie's value."""
    return {"X-CSRF-Token": client.cookies.get("accorria_csrf") or ""}


async def signup(
    client: httpx.AsyncClient, email: str, name: str = "Dana Dealer", password: str = PASSWORD
) -> dict[str, Any]:
    response = await client.post(
        "/api/auth/signup", json={"name": name, "email": email, "password": password}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/auth/login", json={"email": email, "password": password})
