"""How a delivery attempt waits: the typing pause before a bot's send, and the later attempt scheduled
after a transient failure (the 24-hour window is checked again when it runs)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from accorria_agent.jobs.interface import JobRequest
from accorria_agent.messenger.errors import GraphApiError
from accorria_agent.messenger.graph_client import GraphClient
from accorria_agent.sellers.notifications import notify_seller
from accorria_agent.sending.jobs import DELIVER_OUTBOUND_TASK

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

MAX_DEFERRED_ATTEMPTS = 8
HUMAN_DELAY_MAX_SECONDS = 4.0


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
