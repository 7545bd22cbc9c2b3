"""How a delivery attempt waits: the typing pause before a bot's send, and the later attempt scheduled
after a transient failure (the 24-hour window is checked again when it runs)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from accorria_agent.jobs.interface import JobRequest
from accorria_agent.messenger.errors import GraphApiError
from accorria_agent.messenger.graph_client import GraphClient
from accorria_agent.messenger.rate_limit import RateLimiter
from accorria_agent.sellers.notifications import notify_seller
from accorria_agent.sending.jobs import DELIVER_OUTBOUND_TASK

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

MAX_DEFERRED_ATTEMPTS = 8
HUMAN_DELAY_MAX_SECONDS = 4.0
# Waits longer than this are not slept inside the conversation's job: the message is retried later.
MAX_INLINE_WAIT_SECONDS = 2.0
# A send whose answer was lost after Meta got the request (read timeout, connection lost): not repeated
# at once; the echo or the stale claim decides (``OutboundDelivery._await_echo``).
UNCONFIRMED = "unconfirmed"

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class SendCall:
    """One Send API message call: who, what, under which messaging type and tag, with our key."""

    token: str
    psid: str
    body: dict[str, Any]
    messaging_type: str
    tag: str | None
    key: str | None
    page_id: str = ""


async def send_with_retries(
    graph: GraphClient, limiter: RateLimiter, call: SendCall, *, max_attempts: int, retry_base: float
) -> tuple[str, str | None, str | None, float]:
    """Call the Send API; returns (status, reason, mid, retry_in_seconds).

    Transient errors are retried here with exponential backoff and jitter while the wait is short;
    a longer wait (Meta's ``estimated_time_to_regain_access``, or retries used up) comes back as
    ``retry_later`` so that the conversation is not held while we wait. A failure after the request
    reached Meta whole comes back as :data:`UNCONFIRMED`, never retried here.
    """
    for attempt in range(1, max_attempts + 1):
        try:
            result = await graph.send_message(
                call.token,
                call.psid,
                call.body,
                messaging_type=call.messaging_type,
                tag=call.tag,
                metadata=call.key,
            )
            return "sent", None, result.message_id, 0.0
        except GraphApiError as error:
            if error.maybe_processed:
                # Meta may have accepted it: sending it again now could reach the buyer twice.
                log.warning("send_unconfirmed", error=error.summary(), attempt=attempt)
                return UNCONFIRMED, error.summary(), None, 0.0
            if not error.is_transient:
                log.warning("send_failed", error=error.summary(), attempt=attempt)
                return "failed", error.summary(), None, 0.0
            if error.retry_after_seconds:
                # Meta says when this Page may send again: every process must hold off, not just us.
                await limiter.pause_until(call.page_id, error.retry_after_seconds)
            wait = error.retry_after_seconds or retry_base * (2 ** (attempt - 1))
            if wait > MAX_INLINE_WAIT_SECONDS or attempt == max_attempts:
                return "retry_later", error.summary(), None, max(wait, retry_base * 2**attempt)
            await asyncio.sleep(wait * (0.5 + random.random()))
    return "retry_later", "exhausted inline retries", None, retry_base


async def schedule_retry(
    session: AsyncSession,
    message: Any,
    tenant_id: int,
    reason: str | None,
    retry_in: float,
    defer: Callable[[AsyncSession, JobRequest], Awaitable[None]] | None,
) -> None:
    """Keep the message pending and try again later; the window is re-checked when it runs."""
    attempts = int((message.payload or {}).get("delivery_attempts", 0)) + 1
    if attempts > MAX_DEFERRED_ATTEMPTS or defer is None:
        message.status = "failed"
        message.status_reason = (reason or "transient errors")[:500]
        await notify_seller(
            session,
            tenant_id,
            message.conversation_id,
            "send_failed",
            f"A message could not be delivered: {message.status_reason}",
        )
        return
    message.payload = {**(message.payload or {}), "delivery_attempts": attempts}
    message.status = "queued"
    message.status_reason = f"will retry: {reason}"[:500]
    delay = min(retry_in, 3600.0) * (0.5 + random.random())
    await defer(
        session,
        JobRequest(
            task=DELIVER_OUTBOUND_TASK,
            args={"tenant_id": tenant_id, "message_ids": [message.id]},
            delay_seconds=delay,
        ),
    )


async def typing_then_wait(graph: GraphClient, token: str, psid: str, length: int, waited: float) -> None:
    """Seen, typing…, then a pause that grows with the reply's length and shrinks with the wait so far.

    A 160-character reply aims at ~2.8 s after the buyer's message, so that with the quiet period
    the buyer sees answers within about 5 seconds on average.
    """
    for action in ("mark_seen", "typing_on"):
        try:
            await graph.sender_action(token, psid, action)
        except GraphApiError:
            pass  # a missing indicator must never cost the reply
    target = min(HUMAN_DELAY_MAX_SECONDS, 0.8 + length / 80.0)
    if target - waited > 0:
        await asyncio.sleep(target - waited)
