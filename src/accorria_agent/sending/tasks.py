"""The sending domain's jobs: ``deliver_outbound`` (a conversation's stored replies, in order) and
``release_rate_limited`` (a Page's replies its rate limit held, oldest buyer message first)."""

from __future__ import annotations

from typing import Any

from accorria_agent.jobs.interface import TaskRegistry
from accorria_agent.sending.delivery import (
    DELIVER_OUTBOUND_TASK,
    RELEASE_RATE_LIMITED_TASK,
    OutboundDelivery,
)

__all__ = ["DELIVER_OUTBOUND_TASK", "RELEASE_RATE_LIMITED_TASK", "register"]


def register(registry: TaskRegistry, delivery: OutboundDelivery) -> None:
    """Register ``deliver_outbound`` with the delivery that runs it."""

    async def _deliver(args: dict[str, Any]) -> None:
        await delivery.deliver(int(args["tenant_id"]), [int(m) for m in args["message_ids"]])

    async def _release(args: dict[str, Any]) -> None:
        await delivery.release_rate_limited(int(args["tenant_id"]))

    registry.register(DELIVER_OUTBOUND_TASK, _deliver)
    registry.register(RELEASE_RATE_LIMITED_TASK, _release)
