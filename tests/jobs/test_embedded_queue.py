"""The embedded job queue: order per lock, coalescing, retries, and surviving a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from accorria_agent.db.engine import create_engine, create_session_factory
from accorria_agent.jobs.embedded import EmbeddedJobQueue
from accorria_agent.jobs.interface import JobRequest, TaskRegistry
from accorria_agent.jobs.models import Job
from accorria_agent.settings import Settings


def _queue(url: str, registry: TaskRegistry, **kwargs: Any) -> tuple[EmbeddedJobQueue, Any]:
    engine = create_engine(url)
    return EmbeddedJobQueue(create_session_factory(engine), registry, **kwargs), engine


async def _defer(queue: EmbeddedJobQueue, engine: Any, requests: list[JobRequest]) -> int:
    async with engine.begin() as connection:
        added = await queue.defer_many(connection, requests)
    queue.notify()
    return added


async def test_jobs_with_one_lock_run_one_at_a_time_in_order(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    seen: list[int] = []
    active = 0
    overlap = False

    async def task(args: dict[str, Any]) -> None:
        nonlocal active, overlap
        active += 1
        overlap = overlap or active > 1
        await asyncio.sleep(0.01)
        seen.append(int(args["n"]))
        active -= 1

    registry = TaskRegistry()
    registry.register("t", task)
    queue, engine = _queue(database_url, registry, concurrency=4, poll_interval=0.05)
    await queue.start()
    for n in range(12):
        await _defer(queue, engine, [JobRequest("t", {"n": n}, lock="conv:1")])
    await queue.wait_idle()
    await queue.stop()
    await engine.dispose()
    assert seen == list(range(12))
    assert not overlap


async def test_a_waiting_queueing_lock_coalesces_a_burst(database_url: str) -> None:
    registry = TaskRegistry()
    registry.register("t", lambda args: asyncio.sleep(0))
    queue, engine = _queue(database_url, registry)
    added = [
        await _defer(queue, engine, [JobRequest("t", {}, lock="c", queueing_lock="c", delay_seconds=60)])
        for _ in range(5)
    ]
    async with create_session_factory(engine)() as session:
        waiting = (await session.execute(select(Job))).scalars().all()
    await engine.dispose()
    assert added == [1, 0, 0, 0, 0]
    assert len(waiting) == 1


async def test_jobs_due_while_stopped_run_after_a_restart(database_url: str) -> None:
    ran: list[str] = []

    async def task(args: dict[str, Any]) -> None:
        ran.append(str(args["name"]))

    registry = TaskRegistry()
    registry.register("t", task)
    first, engine = _queue(database_url, registry)
    # Deferred but never started (the process "died" before its worker ran), plus one left 'doing'.
    await _defer(first, engine, [JobRequest("t", {"name": "due"})])
    async with engine.begin() as connection:
        await first.defer_many(connection, [JobRequest("t", {"name": "was-running"})])
        await connection.execute(
            Job.__table__.update().where(Job.args["name"].as_string() == "was-running").values(status="doing")
        )
    second = EmbeddedJobQueue(create_session_factory(engine), registry, poll_interval=0.05)
    await second.start()
    await second.wait_idle()
    await second.stop()
    await engine.dispose()
    assert sorted(ran) == ["due", "was-running"]


async def test_failed_jobs_are_retried_then_marked_failed(database_url: str) -> None:
    calls = 0

    async def flaky(args: dict[str, Any]) -> None:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise RuntimeError("transient")

    async def broken(args: dict[str, Any]) -> None:
        raise RuntimeError("always")

    registry = TaskRegistry()
    registry.register("flaky", flaky)
    registry.register("broken", broken)
    queue, engine = _queue(
        database_url, registry, retry_base_seconds=0.01, max_attempts=3, poll_interval=0.02
    )
    await queue.start()
    await _defer(queue, engine, [JobRequest("flaky", {}), JobRequest("broken", {})])
    await queue.wait_idle()
    await queue.stop()
    async with create_session_factory(engine)() as session:
        rows = (await session.execute(select(Job))).scalars().all()
    await engine.dispose()
    assert calls == 3
    assert [(r.task, r.status, r.attempts) for r in rows] == [("broken", "failed", 3)]
    assert "always" in (rows[0].last_error or "")
