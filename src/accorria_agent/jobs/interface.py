"""The job-queue interface every adapter implements, and the registry of named tasks.

A job is deferred *inside* the caller's transaction (so it exists if and only if the data it is about was
committed) and runs later in its own transaction. Jobs that share a ``lock`` run one at a time in the order
they were deferred; ``queueing_lock`` keeps at most one waiting job per key, so a burst coalesces.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

TaskFunction = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class JobRequest:
    """One job to defer: the task name, its JSON arguments and its locks."""

    task: str
    args: dict[str, Any]
    lock: str | None = None
    queueing_lock: str | None = None
    delay_seconds: float = 0.0


class JobQueue(Protocol):
    """What the pipeline needs from a job queue; the embedded and PostgreSQL adapters both provide it."""

    async def defer_many(self, connection: AsyncConnection | AsyncSession, requests: list[JobRequest]) -> int:
        """Add jobs in the caller's (uncommitted) transaction; returns how many were not coalesced."""
        ...

    def notify(self) -> None:
        """Hint that jobs were committed (wakes local workers; a no-op where the engine listens itself)."""
        ...

    async def start(self) -> None:
        """Start running jobs (recovering those a previous process left behind)."""
        ...

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop taking jobs; finish running ones within ``timeout`` and return the rest to the queue."""
        ...


class TaskRegistry:
    """Named async tasks. Tasks open their own transaction; their arguments are plain JSON."""

    def __init__(self) -> None:
        self._tasks: dict[str, TaskFunction] = {}

    def register(self, name: str, function: TaskFunction) -> None:
        if name in self._tasks:
            raise ValueError(f"task {name!r} is already registered")
        self._tasks[name] = function

    def get(self, name: str) -> TaskFunction:
        try:
            return self._tasks[name]
        except KeyError:
            raise LookupError(f"unknown task {name!r}") from None

    def names(self) -> list[str]:
        return sorted(self._tasks)
