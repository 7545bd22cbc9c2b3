"""The notification loop: dispatch new notifications, send what is due, the daily digest.

Each step runs in its own transaction, so a failure in one never loses another's progress. The loop is
started by whoever owns the mailer (the runtime, once the SMTP mailer is wired there).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import date, datetime

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from accorria_agent.crypto import TokenCipher
from accorria_agent.db.engine import transaction
from accorria_agent.mail.interface import Mailer
from accorria_agent.notifications import service

log = structlog.get_logger(__name__)

# The daily digest goes out on the first run at or after this UTC hour.
DIGEST_HOUR_UTC = 13


async def run_once(
    factory: async_sessionmaker[AsyncSession],
    *,
    mailer: Mailer,
    http: httpx.AsyncClient,
    cipher: TokenCipher,
    now: datetime,
    digest: bool = False,
) -> dict[str, int]:
    """One pass: record deliveries, send the due ones, and (with ``digest``) the daily digests."""
    async with transaction(factory) as session:
        recorded = await service.dispatch(session, now)
    async with transaction(factory) as session:
        sent = await service.send_due(session, mailer=mailer, http=http, cipher=cipher, now=now)
    digests = 0
    if digest:
        async with transaction(factory) as session:
            digests = await service.send_digests(session, mailer=mailer, now=now)
    return {"recorded": recorded, "sent": sent, "digests": digests}


class NotificationLoop:
    """Runs :func:`run_once` every ``interval`` seconds until stopped."""

    def __init__(
        self,
        factory: async_sessionmaker[AsyncSession],
        mailer: Mailer,
        http: httpx.AsyncClient,
        cipher: TokenCipher,
        clock: Callable[[], datetime],
        interval: float = 5.0,
    ) -> None:
        self._args = (factory, mailer, http, cipher)
        self._clock = clock
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self._digest_day: date | None = None

    async def _run(self) -> None:
        factory, mailer, http, cipher = self._args
        while True:
            now = self._clock()
            digest = now.hour >= DIGEST_HOUR_UTC and self._digest_day != now.date()
            try:
                await run_once(factory, mailer=mailer, http=http, cipher=cipher, now=now, digest=digest)
                if digest:
                    self._digest_day = now.date()
            except Exception as error:  # the next pass retries; the database keeps what was done
                log.warning("notification_pass_failed", error=type(error).__name__)
            await asyncio.sleep(self._interval)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
