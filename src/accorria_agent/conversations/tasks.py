"""The conversation domain's job: ``process_conversation`` (deferred by the webhook intake).

The name is defined by the intake, which defers the job in the webhook's transaction (the edge cannot
import this domain); the handler is registered here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from accorria_agent.conversations.context import ConversationDeps
from accorria_agent.conversations.pipeline import process_conversation
from accorria_agent.jobs.interface import TaskRegistry
from accorria_agent.messenger.intake import PROCESS_CONVERSATION_TASK

__all__ = ["PROCESS_CONVERSATION_TASK", "register"]


def register(registry: TaskRegistry, deps: Callable[[], ConversationDeps]) -> None:
    """Register ``process_conversation``; ``deps`` is read at each run (the runtime's current parts)."""

    async def _process(args: dict[str, Any]) -> None:
        await process_conversation(deps(), args)

    registry.register(PROCESS_CONVERSATION_TASK, _process)
