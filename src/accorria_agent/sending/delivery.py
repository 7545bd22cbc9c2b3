"""Outbound delivery: the policy gate at send time, the Send API call, and recording the result.

An outbound message is first stored as an intent (status ``pending``, with our ``outbound_key``), then
delivered here. The key rides in the Send API ``metadata`` and comes back on the echo, so a message that
was sent but not recorded (a crash between the two) is reconciled, not sent again.

**One sender per reply.** Only the holder of a reply's claim (status ``sending``) calls the Send API for
it; what the claim is, and what a stale one means, is :func:`accorria_agent.sending.repository.claim`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog

from accorria_agent.conversations.models import Conversation, Message
from accorria_agent.crypto import TokenCipher
from accorria_agent.db.engine import transaction
from accorria_agent.db.errors import is_transient
from accorria_agent.jobs.interface import JobRequest
from accorria_agent.live.bus import CHANNEL as LIVE_CHANNEL
from accorria_agent.live.bus import announce, announce_for_tenant
from accorria_agent.messenger.errors import ErrorClass, GraphApiError
from accorria_agent.messenger.graph_client import GraphClient
from accorria_agent.messenger.policy import send_permission
from accorria_agent.messenger.rate_limit import InMemoryRateLimiter, RateLimiter, RateLimits
from accorria_agent.messenger.send_api import SendApiValidationError
from accorria_agent.metrics import Metrics
from accorria_agent.sellers.models import MessengerSettings, MessengerTenant
from accorria_agent.sellers.notifications import notify_seller
from accorria_agent.sending import repository as repo
from accorria_agent.sending.attempts import MAX_INLINE_WAIT_SECONDS as MAX_INLINE_WAIT_SECONDS
from accorria_agent.sending.attempts import UNCONFIRMED as UNCONFIRMED
from accorria_agent.sending.attempts import (
    SendCall,
    schedule_retry,
    send_with_retries,
    typing_then_wait,
)
from accorria_agent.sending.held import RATE_LIMIT_HOLD, held_payload, release_order
from accorria_agent.sending.jobs import DELIVER_OUTBOUND_TASK as DELIVER_OUTBOUND_TASK
from accorria_agent.sending.jobs import RELEASE_RATE_LIMITED_TASK as RELEASE_RATE_LIMITED_TASK
from accorria_agent.sending.jobs import delivery_job as delivery_job
from accorria_agent.sending.jobs import outbound_lock as outbound_lock
from accorria_agent.sending.jobs import release_job
from accorria_agent.sending.repository import (
    HELD,
    SENDABLE,
    SENDING,
    SENDING_CLAIM_TIMEOUT_SECONDS,
    UNRESOLVED,
)
from accorria_agent.sending.rules import bot_may_speak, hold_reason, message_body

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = structlog.get_logger(__name__)

# After a Page was throttled, this process looks for its held replies before sending a new one (so a reply
# composed later does not overtake them) for this long past the end of the wait.
THROTTLE_MEMORY_SECONDS = 60.0
THROTTLE_MEMORY_PAGES = 10_000
# How long a send Meta accepted waits for an unreachable database to record it (a PostgreSQL restart
# takes seconds); failing sooner would leave the reply claimed for the echo or the stale-claim re-send.
RECORD_SENT_PATIENCE_SECONDS = 60.0
# And at the latest this long after the claim: a sender never acts on a claim that could be stale
# (``SENDING_CLAIM_TIMEOUT_SECONDS``, 120 s, leaves 30 s for a last attempt still in flight).
RECORD_SENT_DEADLINE_SECONDS = 90.0


@dataclass(frozen=True)
class PreparedSend:
    """A message that passed the send-time gate, with everything needed to send it."""

    message_id: int
    token: str
    psid: str
    body: dict[str, Any]
    key: str | None
    messaging_type: str
    tag: str | None
    page_id: str
    limits: RateLimits
    human_delays: bool
    waited: float
    # The claim this sender holds (``claimed_at``), and when it was taken on this process's monotonic clock.
    claimed_at: datetime | None = None
    claimed_mono: float = field(default_factory=time.monotonic)


def _age_seconds(claimed_at: datetime | None, now: datetime) -> float:
    """How long ago a claim was taken, by the same clock that judges it stale (0 for none or the future)."""
    if claimed_at is None:
        return 0.0
    return max(0.0, (now - claimed_at).total_seconds())


class OutboundDelivery:
    """Delivers stored outbound intents, one conversation's messages in order."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        graph: GraphClient,
        cipher: TokenCipher,
        metrics: Metrics,
        clock: Callable[[], datetime],
        *,
        human_like_delays: bool = True,
        max_attempts: int = 4,
        retry_base_seconds: float = 0.5,
        defer: Callable[[AsyncSession, JobRequest], Awaitable[None]] | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._defer = defer
        self._limiter: RateLimiter = limiter or InMemoryRateLimiter()
        self._factory = session_factory
        self._graph = graph
        self._cipher = cipher
        self._metrics = metrics
        self._clock = clock
        self._delays = human_like_delays
        self._max_attempts = max_attempts
        self._retry_base = retry_base_seconds
        # Page id -> monotonic time until which a throttle is remembered (bounded; see _overtakes_held).
        self._throttled: dict[str, float] = {}

    @staticmethod
    def delivery_job(
        tenant_id: int,
        page_id: str,
        buyer_psid: str,
        message_ids: list[int],
        delay_seconds: float | None = None,
    ) -> JobRequest:
        """See :func:`delivery_job` (here so callers need only the delivery object)."""
        return delivery_job(tenant_id, page_id, buyer_psid, message_ids, delay_seconds)

    async def deliver(
        self, tenant_id: int, message_ids: list[int], first: object | None = None
    ) -> None:
        """Send each message in order, re-checking policy and takeover state right before each send.

        ``first`` is the first message already passed through :meth:`gate` by the caller, in the
        transaction that recorded it (the conversation job, which still holds the conversation's lock):
        its gate is not run a second time. Every later message is gated right before its own send.
        """
        for message_id in message_ids:
            ready = first if isinstance(first, PreparedSend) and first.message_id == message_id else None
            await self._deliver_one(tenant_id, message_id, ready)

    async def release_rate_limited(self, tenant_id: int) -> int:
        """The ``release_rate_limited`` job: send the Page's replies held by its rate limit, **oldest buyer
        message first**, until the limit stops it again (then the rest stay held and a new release job is
        deferred to the moment the limit frees). Returns how many were handed to delivery."""
        async with transaction(self._factory) as session:
            rows = await repo.rate_limited_replies(session, tenant_id)
        released = 0
        for message_id in release_order(rows):
            async with transaction(self._factory) as session:
                if not await repo.requeue_rate_limited(session, tenant_id, message_id):
                    continue  # released or discarded meanwhile (sending resume, an echo)
            try:
                held_again = await self._deliver_one(tenant_id, message_id, releasing=True)
            except Exception:
                # Back in the line (with a release job) before the job fails: a reply left "queued"
                # here would have no job to send it. A reply already claimed stays so: it may have gone.
                await self._hold_for_rate_limit(tenant_id, message_id, 0.0, claimed=False)
                raise
            if held_again:
                return released  # the limit is still reached: a later job goes on
            released += 1
        page_id = await self._page_id(tenant_id)
        self._throttled.pop(page_id, None)
        return released

    async def _page_id(self, tenant_id: int) -> str:
        async with transaction(self._factory) as session:
            return await repo.page_id_of(session, tenant_id)

    async def _hold_for_rate_limit(
        self, tenant_id: int, message_id: int, wait: float, *, claimed: bool = True
    ) -> None:
        """Hold the reply until the Page's limit frees (``held_until``) and make sure a release job runs
        then; the release goes oldest buyer message first, across every conversation of the Page.

        ``claimed``: the caller holds the reply's claim and has not called the Send API for it."""
        now = self._clock()
        async with transaction(self._factory) as session:
            stored = await repo.outbound_message(session, tenant_id, message_id)
            if stored is None or stored.status not in (UNRESOLVED if claimed else SENDABLE):
                return
            conversation = await repo.conversation_by_id(session, tenant_id, stored.conversation_id)
            stored.payload = held_payload(
                stored.payload,
                held_until=now + timedelta(seconds=wait),
                buyer_at=conversation.last_buyer_message_at if conversation is not None else None,
            )
            stored.status = HELD
            stored.status_reason = RATE_LIMIT_HOLD
            if self._defer is not None:
                await self._defer(session, release_job(tenant_id, wait))
            await announce_for_tenant(session, tenant_id, "message", stored.conversation_id, message_id)
        self._metrics.replies_sent.labels(status=HELD).inc()
        log.info("outbound_held_by_rate_limit", message_id=message_id, wait=round(wait, 1))

    def _remember_throttle(self, page_id: str, wait: float) -> None:
        now = time.monotonic()
        if len(self._throttled) >= THROTTLE_MEMORY_PAGES:
            self._throttled = {p: t for p, t in self._throttled.items() if t + THROTTLE_MEMORY_SECONDS > now}
        self._throttled[page_id] = max(self._throttled.get(page_id, 0.0), now + wait)

    async def _overtakes_held(self, tenant_id: int, page_id: str) -> float | None:
        """Seconds until the Page's limit frees when sending now would overtake replies it holds for that
        limit, else ``None``. Asked only while this process remembers a recent throttle of the Page (no
        query otherwise)."""
        end = self._throttled.get(page_id)
        if end is None:
            return None
        now = time.monotonic()
        if end + THROTTLE_MEMORY_SECONDS < now:
            del self._throttled[page_id]
            return None
        async with transaction(self._factory) as session:
            holds = await repo.holds_rate_limited(session, tenant_id)
        return max(0.0, end - now) if holds else None

    async def thread_control(self, tenant_id: int, psid: str, action: str) -> None:
        """Pass the thread to the Page Inbox or take it back; failures are logged, never fatal."""
        async with transaction(self._factory) as session:
            tenant = await repo.tenant(session, tenant_id)
            if tenant is None or tenant.status != "active":
                return
            token = self._cipher.decrypt(tenant.page_access_token_encrypted)
        try:
            if action == "pass_thread_control":
                await self._graph.pass_thread_control(token, psid)
            elif action == "take_thread_control":
                await self._graph.take_thread_control(token, psid)
        except GraphApiError as error:
            log.warning("thread_control_failed", action=action, error=error.summary())

    async def _deliver_one(
        self,
        tenant_id: int,
        message_id: int,
        prepared: PreparedSend | None = None,
        *,
        releasing: bool = False,
    ) -> bool:
        """Gate, send and record one reply; ``True`` when the Page's rate limit held it.

        A failure after the claim and before the Send API call gives the claim back (nothing went out); a
        failure from the call on keeps it (it may have gone) and schedules a delivery for when it is stale.
        """
        if prepared is None:
            prepared = await self._prepare(tenant_id, message_id)
        if prepared is None:
            return False
        try:
            ready = await self._until_send(tenant_id, message_id, prepared, releasing)
        except BaseException:  # cancelled too (a stopping worker, mid-typing): its job is re-queued
            await asyncio.shield(self._give_back(tenant_id, message_id, prepared))
            raise
        if not isinstance(ready, PreparedSend):
            return ready
        try:
            return await self._send_and_record(tenant_id, message_id, ready)
        except BaseException:
            await asyncio.shield(self._recheck_when_stale(tenant_id, ready))
            raise

    async def _until_send(
        self, tenant_id: int, message_id: int, prepared: PreparedSend, releasing: bool
    ) -> PreparedSend | bool:
        """Everything between the claim and the Send API call: the Page's held replies, typing, its limit.

        The send to make, or ``True`` (held by the rate limit) / ``False`` (stopped by the gate)."""
        behind = None if releasing else await self._overtakes_held(tenant_id, prepared.page_id)
        if behind is not None:
            # Older buyers' replies wait for this Page's limit: queue behind them, first buyer first.
            await self._hold_for_rate_limit(tenant_id, message_id, behind)
            return True
        if prepared.human_delays:
            length = len(prepared.body.get("text", ""))
            await typing_then_wait(self._graph, prepared.token, prepared.psid, length, prepared.waited)
            # The seller may have taken over while the buyer watched "typing…": check everything again.
            again = await self._prepare(tenant_id, message_id, ours=prepared.claimed_at)
            if again is None:
                return False
            prepared = again
        page_id, limits = prepared.page_id, prepared.limits
        wait = await self._limiter.acquire(page_id, limits)
        if 0 < wait <= MAX_INLINE_WAIT_SECONDS:
            await asyncio.sleep(wait)
            wait = await self._limiter.acquire(page_id, limits)
        if wait > 0:
            # The Page's limit is reached: held (the dashboard shows until when), released in order.
            self._remember_throttle(page_id, wait)
            await self._hold_for_rate_limit(tenant_id, message_id, wait)
            return True
        return prepared

    async def _send_and_record(self, tenant_id: int, message_id: int, prepared: PreparedSend) -> bool:
        """The Send API call for a claimed reply, and its outcome recorded (``False``: not held)."""
        token, psid, body, key = prepared.token, prepared.psid, prepared.body, prepared.key
        messaging_type, tag, page_id = prepared.messaging_type, prepared.tag, prepared.page_id
        status: str
        reason: str | None
        mid: str | None
        status, reason, mid, retry_in = await self._send_with_retries(
            token, psid, body, messaging_type, tag, key, page_id
        )
        if status == "sent":
            now = self._clock()
            deadline = prepared.claimed_mono + RECORD_SENT_DEADLINE_SECONDS
            last_buyer = await self._record_sent(tenant_id, message_id, mid, now, deadline)
            if last_buyer is not None:
                self._metrics.reply_latency.observe(max(0.0, (now - last_buyer).total_seconds()))
            self._metrics.replies_sent.labels(status=status).inc()
            return False
        if status == UNCONFIRMED:
            await self._await_echo(tenant_id, message_id, prepared, reason)
            self._metrics.replies_sent.labels(status=status).inc()
            return False
        async with transaction(self._factory) as session:
            stored = await repo.outbound_message(session, tenant_id, message_id)
            if stored is None:
                return False
            if status == "retry_later":
                await schedule_retry(session, stored, tenant_id, reason, retry_in, self._defer)
                return False
            if status == "failed" and (reason or "").startswith(ErrorClass.TOKEN_INVALID.value):
                # The Page must be reconnected; the reply waits for it instead of being lost.
                status, reason = HELD, f"held: {reason}"
            await announce_for_tenant(session, tenant_id, "message", stored.conversation_id, message_id)
            if stored.status in UNRESOLVED or (stored.status == "sent" and mid and not stored.mid):
                stored.status = status if stored.status in UNRESOLVED else stored.status
                stored.status_reason = reason
                if mid and not stored.mid:
                    stored.mid = mid
            if status == "failed" and not (reason or "").startswith(
                (ErrorClass.TOKEN_INVALID.value, ErrorClass.PAGE_RESTRICTED.value)
            ):
                await notify_seller(
                    session,
                    tenant_id,
                    stored.conversation_id,
                    "send_failed",
                    f"A message could not be delivered: {reason}",
                )
            if status == HELD:
                tenant = await repo.tenant(session, tenant_id)
                if tenant is not None and tenant.status != "needs_reauth":
                    tenant.status = "needs_reauth"
                    tenant.status_reason = "Page token invalid or expired: reconnect the Page"
                    await notify_seller(session, tenant_id, None, "needs_reauth", tenant.status_reason)
            elif reason and reason.startswith(ErrorClass.PAGE_RESTRICTED.value):
                tenant = await repo.tenant(session, tenant_id)
                if tenant is not None:
                    tenant.status = "restricted"
                    tenant.status_reason = "Meta restricted this Page's messaging"
                    await notify_seller(session, tenant_id, None, "restricted", tenant.status_reason)
        self._metrics.replies_sent.labels(status=status).inc()
        return False

    async def _await_echo(
        self, tenant_id: int, message_id: int, prepared: PreparedSend, reason: str | None
    ) -> None:
        """A send whose answer was lost: the reply keeps its claim and says why; Meta's echo (our key in its
        metadata) marks it sent within seconds if it went, else the delivery deferred for when the claim
        is stale sends it then (``sending.repository.claim``). Sent at most once more, never twice now."""
        if prepared.claimed_at is not None:
            async with transaction(self._factory) as session:
                await repo.note_unconfirmed(
                    session, tenant_id, message_id, prepared.claimed_at, f"{UNCONFIRMED}: {reason}"[:500]
                )
        await self._recheck_when_stale(tenant_id, prepared)

    async def _give_back(self, tenant_id: int, message_id: int, prepared: PreparedSend) -> None:
        """Give back a claim nothing was sent under (``pending``: the job's retry or the orphan scan
        sends it)."""
        if prepared.claimed_at is None:
            return
        try:
            async with transaction(self._factory) as session:
                await repo.give_back(session, tenant_id, message_id, prepared.claimed_at)
        except Exception as error:  # the claim then goes stale: sent later, not lost
            log.warning("outbound_claim_not_given_back", message_id=message_id, error=repr(error))

    async def _recheck_when_stale(self, tenant_id: int, prepared: PreparedSend) -> None:
        """A delivery job for when this sender's claim is stale: it sends the reply unless it was recorded
        or reconciled by its echo by then (``sending.repository.claim``)."""
        if self._defer is None:
            return
        stale_in = SENDING_CLAIM_TIMEOUT_SECONDS + 1
        job = delivery_job(tenant_id, prepared.page_id, prepared.psid, [prepared.message_id], stale_in)
        try:
            async with transaction(self._factory) as session:
                await self._defer(session, job)
        except Exception as error:  # then the conversation's next job finds it (its orphan scan)
            log.warning("outbound_recheck_not_scheduled", message_id=prepared.message_id, error=repr(error))

    async def _record_sent(
        self,
        tenant_id: int,
        message_id: int,
        mid: str | None,
        now: datetime,
        deadline: float | None = None,
    ) -> datetime | None:
        """Record a send Meta accepted, retrying while the database is unreachable.

        Once the buyer has the message, giving up here leaves it ``sending`` until its echo reconciles it
        or its claim goes stale: so a database that is down, restarting or busy is waited for (with
        backoff, up to :data:`RECORD_SENT_PATIENCE_SECONDS`, and never past ``deadline``, a
        ``time.monotonic()`` value: the claim's) before the error is let through.
        """
        delay, waited = 0.1, 0.0
        while True:
            try:
                return await self._record_sent_once(tenant_id, message_id, mid, now)
            except Exception as error:
                late = deadline is not None and time.monotonic() + delay > deadline
                if not is_transient(error) or waited >= RECORD_SENT_PATIENCE_SECONDS or late:
                    raise
                log.warning(
                    "record_sent_retry", message_id=message_id, error_type=type(error).__name__, waited=waited
                )
                await asyncio.sleep(delay)
                waited += delay
                delay = min(delay * 2, 5.0)

    async def _record_sent_once(
        self, tenant_id: int, message_id: int, mid: str | None, now: datetime
    ) -> datetime | None:
        """Mark the message sent and announce it: on PostgreSQL one autocommitted statement (the hot
        path's cheapest write: one round trip), elsewhere a transaction of the same two steps."""
        async with self._factory() as session:
            if session.get_bind().dialect.name == "postgresql":
                await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
                return await repo.record_sent_and_announce(
                    session, tenant_id, message_id, mid, now, LIVE_CHANNEL
                )
        async with transaction(self._factory) as session:
            last_buyer = await repo.record_sent(session, tenant_id, message_id, mid, now)
            await announce_for_tenant(session, tenant_id, "message", message_id=message_id)
            return last_buyer

    async def _prepare(
        self, tenant_id: int, message_id: int, ours: datetime | None = None
    ) -> PreparedSend | None:
        """Claim an outbound message, load it with its context and pass it through :meth:`gate`.

        ``None`` when another sender holds it or it is resolved (the claim is lost), or the gate stops it.
        ``ours``: the claim this sender already holds (re-gated after the typing pause), renewed here.
        """
        async with transaction(self._factory) as session:
            if await repo.claim(session, tenant_id, message_id, self._clock(), ours) is None:
                return None
            loaded = await repo.outbound_with_context(session, tenant_id, message_id)
            if loaded is None:
                return None
            message, conversation, tenant, settings, halt_reason = loaded
            return await self.gate(session, message, conversation, tenant, settings, halt_reason)

    async def gate(
        self,
        session: AsyncSession,
        message: Message,
        conversation: Conversation,
        tenant: MessengerTenant,
        settings: MessengerSettings,
        halt_reason: str | None,
    ) -> PreparedSend | None:
        """The send-time gate: kill switch, Page state, takeover, the 24-hour window, message limits.

        Returns what to send, or ``None`` after recording why the message must not go now (held) or at
        all (dropped, refused, invalid), or when it is not claimed. Runs in the caller's transaction, on
        rows it read in that transaction; the caller holds the message's claim (status ``sending``,
        written in that transaction: :meth:`_prepare`, or the turn that inserted its first reply so).
        """
        if message.status != SENDING:
            return None
        now = self._clock()
        hold = hold_reason(tenant, halt_reason)
        if hold is not None:
            # Kept, not refused: released (and re-checked here) when sending resumes.
            message.status = HELD
            message.status_reason = hold[:500]
            self._metrics.replies_sent.labels(status=HELD).inc()
            log.info("outbound_held", message_id=message.id, reason=hold)
            await announce(session, tenant.seller_id, "message", conversation.id, message.id)
            return None
        refusal = None
        if message.author == "bot" and not bot_may_speak(conversation.mode, message.payload):
            # Prepared before the seller took over: two voices must never answer the same buyer.
            refusal = "dropped: the seller has taken over this conversation"
        permission = send_permission(
            now=now,
            last_buyer_message_at=conversation.last_buyer_message_at,
            author=message.author,
            human_agent_tag_enabled=settings.human_agent_tag_enabled,
        )
        if refusal is None and not permission.allowed:
            refusal = f"refused: {permission.reason}"
        if refusal is not None:
            message.status = "dropped" if refusal.startswith("dropped") else "refused"
            message.status_reason = refusal[:500]
            self._metrics.replies_sent.labels(status=message.status).inc()
            log.info("outbound_not_sent", message_id=message.id, reason=refusal)
            await announce(session, tenant.seller_id, "message", conversation.id, message.id)
            if message.status == "refused":
                await notify_seller(
                    session,
                    tenant.id,
                    conversation.id,
                    "send_refused",
                    f"A message was not sent: {refusal}",
                )
            return None
        message.messaging_type = permission.messaging_type
        message.tag = permission.tag
        token = self._cipher.decrypt(tenant.page_access_token_encrypted)
        try:
            body = message_body(message.text or "", message.payload)
        except SendApiValidationError as error:
            # Never let Meta be the validator: an invalid message is a bug to see, not to send.
            message.status = "failed"
            message.status_reason = f"invalid message: {error}"[:500]
            self._metrics.replies_sent.labels(status="failed").inc()
            await notify_seller(session, tenant.id, conversation.id, "send_failed", message.status_reason)
            return None
        human_delays = self._delays and settings.human_like_delays and message.author == "bot"
        # Time the buyer has already waited (quiet period, processing): the pause shrinks by it.
        waited = (
            (now - conversation.last_buyer_message_at).total_seconds()
            if conversation.last_buyer_message_at
            else 0.0
        )
        return PreparedSend(
            message_id=message.id,
            token=token,
            psid=conversation.buyer_psid,
            body=body,
            key=message.outbound_key,
            messaging_type=permission.messaging_type or "RESPONSE",
            tag=permission.tag,
            page_id=tenant.page_id,
            limits=RateLimits(
                per_minute=settings.rate_limit_per_minute,
                per_hour=settings.rate_limit_per_hour,
                per_day=settings.rate_limit_per_day,
            ),
            human_delays=human_delays,
            waited=waited,
            claimed_at=message.claimed_at,
            # The claim's age counts against the record's deadline: the turn's first reply is claimed with
            # the job's start time, and a turn slowed by the database can reach its gate seconds later.
            claimed_mono=time.monotonic() - _age_seconds(message.claimed_at, now),
        )

    async def _send_with_retries(
        self,
        token: str,
        psid: str,
        body: dict[str, Any],
        messaging_type: str,
        tag: str | None,
        key: str | None,
        page_id: str = "",
    ) -> tuple[str, str | None, str | None, float]:
        """(status, reason, mid, retry_in): :func:`accorria_agent.sending.attempts.send_with_retries`."""
        return await send_with_retries(
            self._graph,
            self._limiter,
            SendCall(token, psid, body, messaging_type, tag, key, page_id),
            max_attempts=self._max_attempts,
            retry_base=self._retry_base,
        )
