"""The sending domain's job requests: ``deliver_outbound`` (a conversation's replies, in order, under its
outbound lock) and ``release_rate_limited`` (a Page's replies its rate limit held)."""

from __future__ import annotations

from accorria_agent.jobs.interface import JobRequest

DELIVER_OUTBOUND_TASK = "deliver_outbound"  # registered by sending.tasks
RELEASE_RATE_LIMITED_TASK = "release_rate_limited"  # registered by sending.tasks


def outbound_lock(page_id: str, buyer_psid: str) -> str:
    """The lock of a conversation's delivery jobs: its replies go out one at a time, in order.

    Not the conversation lock: a delivery waiting to fire must not block the buyer's next turn.
    """
    return f"outbound:{page_id}:{buyer_psid}"


def release_job(tenant_id: int, delay_seconds: float) -> JobRequest:
    """The Page's ``release_rate_limited`` job: one waiting and one running at most (its locks)."""
    return JobRequest(
        task=RELEASE_RATE_LIMITED_TASK,
        args={"tenant_id": tenant_id},
        lock=f"ratelimit:{tenant_id}",
        queueing_lock=f"ratelimit:{tenant_id}",
        delay_seconds=max(0.0, delay_seconds),
    )


def delivery_job(
    tenant_id: int, page_id: str, buyer_psid: str, message_ids: list[int], delay_seconds: float | None = None
) -> JobRequest:
    """The ``deliver_outbound`` job of these messages of one conversation, under its outbound lock."""
    return JobRequest(
        task=DELIVER_OUTBOUND_TASK,
        args={"tenant_id": tenant_id, "message_ids": message_ids},
        lock=outbound_lock(page_id, buyer_psid),
        delay_seconds=delay_seconds or 0.0,
    )
