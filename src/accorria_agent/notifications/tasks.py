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
# Recording a digest that went is tried this many times, this far apart, before its claim is left to go
# stale: a claim left unrecorded is mailed again once stale, so a short database hiccup must not leave one.
RECORD_ATTEMPTS = 3
RECORD_RETRY_SECONDS = 0.5


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
    digests = held = 0
    if digest:
        digests, held = await send_digests(factory, mailer=mailer, now=now)
    return {"recorded": recorded, "sent": sent, "digests": digests, "digests_held": held}


async def send_digests(
    factory: async_sessionmaker[AsyncSession], *, mailer: Mailer, now: datetime
) -> tuple[int, int]:
    """Each member's digest: claimed (committed), then mailed, then recorded; returns (mailed, held).

    ``held`` counts the digests of today left unfinished: claimed by another worker, waiting for a retry
    after the mailer refused, or mailed but not recorded. Their claim is what keeps them from being mailed
    twice; one whose worker died is taken over once stale (``service.DIGEST_CLAIM_TIMEOUT``).

    A crash between the send and its record is the one window where a digest can go twice: the claim goes
    stale and the digest is mailed again, with the same idempotency key (the SMTP mailer derives the
    ``Message-ID`` from it), as an immediate e-mail whose pass died between send and commit is. Never
    retrying a stale claim would instead lose a digest every time a worker died before its send.
    """
    async with transaction(factory) as session:
        drafts = await service.digest_drafts(session, now)
    mailed = held = 0
    for draft in drafts:
        async with transaction(factory) as session:
            claim = await service.claim_digest(session, draft, now)
            if claim is None:
                held += await service.digest_held(session, draft)
                continue
        try:
            await mailer.send(draft.mail)
        except Exception as error:  # the mailer refused: nothing went, the claim is retried after backoff
            async with transaction(factory) as session:
                await service.record_digest_refused(session, claim, f"{type(error).__name__}: {error}", now)
            log.warning("notification_digest_failed", attempts=claim.attempts)
            held += 1
            continue
        mailed += 1
        if not await _record_sent(factory, claim, now):
            held += 1
    return mailed, held


async def _record_sent(
    factory: async_sessionmaker[AsyncSession], claim: service.DigestClaim, now: datetime
) -> bool:
    for attempt in range(1, RECORD_ATTEMPTS + 1):
        try:
            async with transaction(factory) as session:
                await service.record_digest_sent(session, claim, now)
            return True
        except Exception as error:  # the mail went: keep the claim (never give it back) and try again
            log.warning("notification_digest_record_failed", attempt=attempt, error=type(error).__name__)
            if attempt < RECORD_ATTEMPTS:
                await asyncio.sleep(RECORD_RETRY_SECONDS)
    return False


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
                done = await run_once(
                    factory, mailer=mailer, http=http, cipher=cipher, now=now, digest=digest
                )
                # A held digest (another worker's claim, a retry) is looked at again on the next passes, so
                # that a dead worker's claim is taken over once stale.
                if digest and not done["digests_held"]:
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
