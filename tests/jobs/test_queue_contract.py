"""One behaviour suite for every job-queue adapter: what the pipeline relies on, whichever queue runs it.

Backends: the embedded queue on SQLite and on PostgreSQL, and the procrastinate queue on PostgreSQL.
A few procrastinate-only tests at the end cover what only it promises (delays that don't block a lock,
coalescing under concurrent transactions, a real SIGKILL).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from accorria_agent.db.engine import create_engine, create_session_factory
from accorria_agent.jobs.embedded import EmbeddedJobQueue
from accorria_agent.jobs.interface import JobQueue, JobRequest, TaskRegistry
from accorria_agent.jobs.procrastinate_queue import ProcrastinateJobQueue
from accorria_agent.jobs.procrastinate_schema import apply_schema_to_connection
from tests.conftest import _pg_execute
from tests.jobs.conftest import truncate_procrastinate

SRC = Path(__file__).resolve().parents[2] / "src"


class Queue(JobQueue, Protocol):
    async def wait_idle(self, timeout: float = 30.0) -> None: ...


@dataclass
class Backend:
    kind: str
    url: str
    engine: AsyncEngine
    started: list[Queue] = field(default_factory=list)

    @property
    def is_procrastinate(self) -> bool:
        return self.kind.startswith("procrastinate")

    def queue(self, registry: TaskRegistry, **options: Any) -> Queue:
        options = {"concurrency": 4, "poll_interval": 0.05, "retry_base_seconds": 0.01} | options
        queue: Queue
        if self.is_procrastinate:
            queue = ProcrastinateJobQueue(self.url, registry, stalled_check_interval=0.2, **options)
        else:
            queue = EmbeddedJobQueue(create_session_factory(self.engine), registry, **options)
        self.started.append(queue)
        return queue

    async def defer(self, queue: Queue, *requests: JobRequest) -> int:
        """Defer in a transaction of our own and commit it, as the webhook intake does."""
        async with self.engine.begin() as connection:
            added = await queue.defer_many(connection, list(requests))
        queue.notify()
        return added

    async def waiting(self) -> int:
        table, status = ("procrastinate_jobs", "'todo'") if self.is_procrastinate else ("jobs", "'todo'")
        async with self.engine.connect() as connection:
            result = await connection.execute(text(f"SELECT count(*) FROM {table} WHERE status = {status}"))
            return int(result.scalar_one())

    async def kill_worker_running_everything(self) -> None:
        """Make every waiting job look started by a worker that was SIGKILLed (no finish, no heartbeat)."""
        async with self.engine.begin() as connection:
            if not self.is_procrastinate:
                await connection.execute(text("UPDATE jobs SET status = 'doing', attempts = attempts + 1"))
                return
            worker_id = (
                await connection.execute(
                    text(
                        "INSERT INTO procrastinate_workers (last_heartbeat) "
                        "VALUES (now() - interval '1 hour') RETURNING id"
                    )
                )
            ).scalar_one()
            await connection.execute(
                text("UPDATE procrastinate_jobs SET status = 'doing', worker_id = :w WHERE status = 'todo'"),
                {"w": worker_id},
            )


@pytest.fixture(
    params=[
        "embedded-sqlite",
        pytest.param("embedded-postgres", marks=pytest.mark.postgres),
        pytest.param("procrastinate-postgres", marks=pytest.mark.postgres),
    ]
)
def backend_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[tuple[str, str]]:
    kind: str = request.param
    if kind == "embedded-sqlite":
        path = tmp_path / "accorria.db"
        shutil.copy(sqlite_template, path)
        yield kind, f"sqlite+aiosqlite:///{path}"
    elif kind == "embedded-postgres":
        url: str = request.getfixturevalue("postgres_database")
        yield kind, url
        plain = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        asyncio.run(_pg_execute(plain, "TRUNCATE jobs RESTART IDENTITY"))
    else:
        url = request.getfixturevalue("procrastinate_database")
        yield kind, url
        truncate_procrastinate(url)


async def _backend(kind: str, url: str) -> AsyncIterator[Backend]:
    engine = create_engine(url)
    result = Backend(kind, url, engine)
    yield result
    for queue in result.started:  # a failed test must not leave a worker running into the next one
        await queue.stop(timeout=1.0)
    await engine.dispose()


@pytest.fixture
async def backend(backend_url: tuple[str, str]) -> AsyncIterator[Backend]:
    async for result in _backend(*backend_url):
        yield result


@pytest.fixture
def procrastinate_url(procrastinate_database: str) -> Iterator[str]:
    yield procrastinate_database
    truncate_procrastinate(procrastinate_database)


@pytest.fixture
async def procrastinate_backend(procrastinate_url: str) -> AsyncIterator[Backend]:
    async for result in _backend("procrastinate-postgres", procrastinate_url):
        yield result


def registry_with(**tasks: Callable[[dict[str, Any]], Awaitable[None]]) -> TaskRegistry:
    registry = TaskRegistry()
    for name, function in tasks.items():
        registry.register(name, function)
    return registry


async def eventually(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


# --------------------------------------------------------------------------------------------- contract


async def test_jobs_sharing_a_lock_run_one_at_a_time_in_defer_order(backend: Backend) -> None:
    seen: dict[str, list[int]] = {"a": [], "b": []}
    active: dict[str, int] = {"a": 0, "b": 0}
    overlap_within_lock = False
    max_parallel = 0

    async def task(args: dict[str, Any]) -> None:
        nonlocal overlap_within_lock, max_parallel
        lock = str(args["lock"])
        active[lock] += 1
        overlap_within_lock = overlap_within_lock or active[lock] > 1
        max_parallel = max(max_parallel, sum(active.values()))
        await asyncio.sleep(0.02)
        seen[lock].append(int(args["n"]))
        active[lock] -= 1

    queue = backend.queue(registry_with(t=task), concurrency=4)
    await queue.start()
    for n in range(6):  # one transaction per job ...
        for lock in ("a", "b"):
            await backend.defer(queue, JobRequest("t", {"lock": lock, "n": n}, lock=f"conv:{lock}"))
    await backend.defer(  # ... and a batch in one transaction keeps its order too
        queue,
        *[
            JobRequest("t", {"lock": lock, "n": n}, lock=f"conv:{lock}")
            for n in range(6, 12)
            for lock in "ab"
        ],
    )
    await eventually(lambda: len(seen["a"]) == 12 and len(seen["b"]) == 12)
    await queue.stop()
    assert seen == {"a": list(range(12)), "b": list(range(12))}
    assert not overlap_within_lock
    assert (
        max_parallel >= 2
    )  # the two locks did run side by side: order comes from the lock, not from 1 worker


async def test_a_waiting_queueing_lock_coalesces_defers(backend: Backend) -> None:
    runs: list[str] = []

    async def task(args: dict[str, Any]) -> None:
        runs.append(str(args["key"]))

    queue = backend.queue(registry_with(t=task))
    burst = [
        await backend.defer(
            queue, JobRequest("t", {"key": "k"}, lock="k", queueing_lock="k", delay_seconds=0.3)
        )
        for _ in range(4)
    ]
    in_one_batch = await backend.defer(
        queue,
        JobRequest("t", {"key": "j"}, lock="j", queueing_lock="j", delay_seconds=0.3),
        JobRequest("t", {"key": "j"}, lock="j", queueing_lock="j", delay_seconds=0.3),
        JobRequest("t", {"key": "k"}, lock="k", queueing_lock="k"),
    )
    assert burst == [1, 0, 0, 0]
    assert in_one_batch == 1
    assert await backend.waiting() == 2
    await queue.start()
    await eventually(lambda: len(runs) == 2)
    await queue.wait_idle()
    await queue.stop()
    assert sorted(runs) == ["j", "k"]


async def test_a_running_job_does_not_hold_its_queueing_lock(backend: Backend) -> None:
    """At most one *waiting* job: events arriving while the job runs get a follow-up run."""
    started = asyncio.Event()
    release = asyncio.Event()
    runs = 0

    async def task(args: dict[str, Any]) -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            started.set()
            await release.wait()

    queue = backend.queue(registry_with(t=task))
    await queue.start()
    request = JobRequest("t", {}, lock="c", queueing_lock="c")
    assert await backend.defer(queue, request) == 1
    await asyncio.wait_for(started.wait(), 15)
    assert await backend.defer(queue, request) == 1  # the first one is running, not waiting
    assert await backend.defer(queue, request) == 0  # the follow-up is waiting
    release.set()
    await eventually(lambda: runs == 2)
    await queue.wait_idle()
    await queue.stop()
    assert runs == 2


async def test_a_delayed_job_runs_after_its_delay(backend: Backend) -> None:
    ran_at: list[float] = []

    async def task(args: dict[str, Any]) -> None:
        ran_at.append(time.monotonic())

    queue = backend.queue(registry_with(t=task))
    await queue.start()
    deferred_at = time.monotonic()
    await backend.defer(queue, JobRequest("t", {}, lock="c", queueing_lock="c", delay_seconds=1.0))
    await asyncio.sleep(0.6)
    assert ran_at == []
    await eventually(lambda: len(ran_at) == 1, timeout=10)
    await queue.stop()
    assert 0.95 <= ran_at[0] - deferred_at < 5.0


async def test_a_failing_job_is_retried_then_given_up(backend: Backend) -> None:
    calls = {"flaky": 0, "broken": 0}

    async def flaky(args: dict[str, Any]) -> None:
        calls["flaky"] += 1
        if calls["flaky"] < 3:
            raise RuntimeError("transient")

    async def broken(args: dict[str, Any]) -> None:
        calls["broken"] += 1
        raise RuntimeError("always")

    queue = backend.queue(registry_with(flaky=flaky, broken=broken), max_attempts=3, retry_base_seconds=0.05)
    await queue.start()
    await backend.defer(queue, JobRequest("flaky", {}, lock="x"), JobRequest("broken", {}, lock="y"))
    await eventually(lambda: calls == {"flaky": 3, "broken": 3})
    await asyncio.sleep(0.5)  # and nothing more: 3 attempts is the limit
    await queue.wait_idle()
    await queue.stop()
    assert calls == {"flaky": 3, "broken": 3}


async def test_jobs_deferred_while_no_worker_ran_run_when_one_starts(backend: Backend) -> None:
    ran: list[str] = []

    async def task(args: dict[str, Any]) -> None:
        ran.append(str(args["name"]))

    registry = registry_with(t=task)
    queue = backend.queue(registry)
    await backend.defer(
        queue, JobRequest("t", {"name": "now"}), JobRequest("t", {"name": "soon"}, delay_seconds=0.2)
    )
    await asyncio.sleep(0.4)  # both are due before any worker exists
    later = backend.queue(registry)  # a different process, in effect
    await later.start()
    await eventually(lambda: len(ran) == 2)
    await later.stop()
    assert sorted(ran) == ["now", "soon"]


async def test_a_deferral_rolled_back_with_its_transaction_never_runs(backend: Backend) -> None:
    ran: list[str] = []

    async def task(args: dict[str, Any]) -> None:
        ran.append(str(args["name"]))

    queue = backend.queue(registry_with(t=task))
    with pytest.raises(RuntimeError):
        async with backend.engine.begin() as connection:
            await queue.defer_many(
                connection, [JobRequest("t", {"name": "ghost"}, lock="c", queueing_lock="c")]
            )
            raise RuntimeError("the request failed after deferring")
    # The rolled-back job held no queueing lock either.
    assert await backend.defer(queue, JobRequest("t", {"name": "real"}, lock="c", queueing_lock="c")) == 1
    await queue.start()
    await eventually(lambda: ran == ["real"])
    await queue.wait_idle()
    await asyncio.sleep(0.2)
    await queue.stop()
    assert ran == ["real"]


async def test_the_callers_transaction_survives_a_coalesced_defer(backend: Backend) -> None:
    ran: list[str] = []

    async def task(args: dict[str, Any]) -> None:
        ran.append(str(args["name"]))

    queue = backend.queue(registry_with(t=task))
    await backend.defer(queue, JobRequest("t", {"name": "first"}, queueing_lock="c", delay_seconds=0.2))
    async with backend.engine.begin() as connection:
        coalesced = await queue.defer_many(
            connection, [JobRequest("t", {"name": "second"}, queueing_lock="c")]
        )
        other = await queue.defer_many(connection, [JobRequest("t", {"name": "other"}, queueing_lock="d")])
    assert (coalesced, other) == (0, 1)
    await queue.start()
    await eventually(lambda: len(ran) == 2)
    await queue.stop()
    assert sorted(ran) == ["first", "other"]


async def test_jobs_can_be_deferred_through_an_orm_session(backend: Backend) -> None:
    ran: list[str] = []

    async def task(args: dict[str, Any]) -> None:
        ran.append(str(args["name"]))

    queue = backend.queue(registry_with(t=task))
    async with create_session_factory(backend.engine)() as session, session.begin():
        first = await queue.defer_many(session, [JobRequest("t", {"name": "a"}, lock="c", queueing_lock="c")])
        again = JobRequest("t", {"name": "b"}, lock="c", queueing_lock="c")
        second = await queue.defer_many(session, [again])
    assert (first, second) == (1, 0)
    await queue.start()
    await eventually(lambda: ran == ["a"])
    await queue.stop()


async def test_a_job_whose_worker_was_killed_runs_again(backend: Backend) -> None:
    ran: list[str] = []

    async def task(args: dict[str, Any]) -> None:
        ran.append(str(args["name"]))

    registry = registry_with(t=task)
    queue = backend.queue(registry)
    await backend.defer(queue, JobRequest("t", {"name": "orphan"}, lock="c", queueing_lock="c"))
    await backend.kill_worker_running_everything()
    # Its lock must not stay taken by the dead worker: a later job with the same lock runs too, after it.
    await backend.defer(queue, JobRequest("t", {"name": "next"}, lock="c"))
    await queue.start()
    await eventually(lambda: len(ran) == 2)
    await queue.stop()
    assert ran == ["orphan", "next"]


async def test_stop_returns_unfinished_jobs_to_the_queue(backend: Backend) -> None:
    attempts = 0
    started = asyncio.Event()

    async def task(args: dict[str, Any]) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            started.set()
            await asyncio.sleep(3600)  # stuck: shutdown must not wait for it, nor lose it

    registry = registry_with(t=task)
    queue = backend.queue(registry)
    await queue.start()
    await backend.defer(queue, JobRequest("t", {}, lock="c", queueing_lock="c"))
    await asyncio.wait_for(started.wait(), 15)
    began = time.monotonic()
    await queue.stop(timeout=0.2)
    assert time.monotonic() - began < 5
    restarted = backend.queue(registry)
    await restarted.start()
    await eventually(lambda: attempts == 2)
    await restarted.stop()


# ----------------------------------------------------------------------------------- procrastinate only


@pytest.mark.postgres
async def test_a_future_job_does_not_block_its_lock(procrastinate_backend: Backend) -> None:
    """procrastinate #1599: a job scheduled later must not stall ready jobs that share its lock."""
    backend = procrastinate_backend
    ran: list[str] = []

    async def task(args: dict[str, Any]) -> None:
        ran.append(str(args["name"]))

    queue = backend.queue(registry_with(t=task))
    await queue.start()
    await backend.defer(queue, JobRequest("t", {"name": "tomorrow"}, lock="c", delay_seconds=86400))
    await backend.defer(queue, JobRequest("t", {"name": "now"}, lock="c"))
    await eventually(lambda: ran == ["now"])
    await queue.stop()


@pytest.mark.postgres
async def test_a_delayed_job_still_waits_for_the_running_job_of_its_lock(
    procrastinate_backend: Backend,
) -> None:
    backend = procrastinate_backend
    active = 0
    overlap = False
    done: list[str] = []

    async def task(args: dict[str, Any]) -> None:
        nonlocal active, overlap
        active += 1
        overlap = overlap or active > 1
        await asyncio.sleep(float(args["hold"]))
        done.append(str(args["name"]))
        active -= 1

    queue = backend.queue(registry_with(t=task))
    await queue.start()
    await backend.defer(queue, JobRequest("t", {"name": "long", "hold": 1.0}, lock="c"))
    await backend.defer(queue, JobRequest("t", {"name": "delayed", "hold": 0.0}, lock="c", delay_seconds=0.2))
    await eventually(lambda: len(done) == 2)
    await queue.stop()
    assert done == ["long", "delayed"]
    assert not overlap


@pytest.mark.postgres
async def test_concurrent_transactions_coalesce_on_the_queueing_lock(procrastinate_backend: Backend) -> None:
    """The second transaction inserts after the first committed the key: SAVEPOINT, 0, its other job kept."""
    backend = procrastinate_backend
    queue = backend.queue(registry_with(t=lambda args: asyncio.sleep(0)))
    first_deferred = asyncio.Event()
    second_read = asyncio.Event()

    async def first() -> int:
        async with backend.engine.begin() as connection:
            added = await queue.defer_many(connection, [JobRequest("t", {}, queueing_lock="k")])
            first_deferred.set()
            await second_read.wait()
            await asyncio.sleep(0.3)  # the second is now blocked on the unique index until we commit
            return added

    async def second() -> tuple[int, int]:
        await first_deferred.wait()
        async with backend.engine.begin() as connection:
            second_read.set()
            added = await queue.defer_many(
                connection,
                [JobRequest("t", {}, queueing_lock="k"), JobRequest("t", {}, queueing_lock="other")],
            )
            # The transaction is still usable after the rolled-back savepoint.
            still_fine = (await connection.execute(text("SELECT 1"))).scalar_one()
            return added, still_fine

    first_added, second_result = await asyncio.gather(first(), second())
    assert (first_added, second_result) == (1, (1, 1))
    assert await backend.waiting() == 2


@pytest.mark.postgres
async def test_a_stalled_job_whose_key_is_waiting_again_coalesces(procrastinate_backend: Backend) -> None:
    """Recovery must not trip on the queueing-lock index (procrastinate #1446): the waiting job covers it."""
    backend = procrastinate_backend
    ran: list[str] = []

    async def task(args: dict[str, Any]) -> None:
        ran.append(str(args["name"]))

    queue = backend.queue(registry_with(t=task))
    await backend.defer(queue, JobRequest("t", {"name": "orphan"}, lock="c", queueing_lock="c"))
    await backend.kill_worker_running_everything()
    await backend.defer(queue, JobRequest("t", {"name": "waiting"}, lock="c", queueing_lock="c"))
    await queue.start()
    await eventually(lambda: ran == ["waiting"])
    await queue.wait_idle()
    await queue.stop()
    assert ran == ["waiting"]


@pytest.mark.postgres
async def test_a_worker_killed_with_sigkill_leaves_its_job_to_another(procrastinate_backend: Backend) -> None:
    """A real worker process is SIGKILLed mid-job; another notices the missing heartbeat and reruns it."""
    backend = procrastinate_backend
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        from accorria_agent.jobs.interface import TaskRegistry
        from accorria_agent.jobs.procrastinate_queue import ProcrastinateJobQueue

        async def hang(args):
            print("started", flush=True)
            await asyncio.sleep(3600)

        async def main():
            registry = TaskRegistry()
            registry.register("t", hang)
            queue = ProcrastinateJobQueue({backend.url!r}, registry, heartbeat_interval=0.2)
            await queue.start()
            await asyncio.sleep(3600)

        asyncio.run(main())
        """
    )
    ran: list[str] = []

    async def task(args: dict[str, Any]) -> None:
        ran.append(str(args["name"]))

    queue = backend.queue(registry_with(t=task), stalled_worker_timeout=1.0, heartbeat_interval=0.2)
    await backend.defer(queue, JobRequest("t", {"name": "victim"}, lock="c", queueing_lock="c"))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), str(SRC.parent)]))
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(child.stdout.readline), 30)
        assert line.strip() == "started"
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    await queue.start()
    await eventually(lambda: ran == ["victim"], timeout=20)
    await queue.stop()


@pytest.mark.postgres
async def test_the_schema_installs_inside_a_migration_transaction(procrastinate_url: str) -> None:
    """The Alembic path: install through an open (asyncpg) SQLAlchemy connection, once, in its transaction."""
    admin = (
        procrastinate_url.replace("postgresql+asyncpg://", "postgresql://", 1).rsplit("/", 1)[0] + "/postgres"
    )
    name = f"{procrastinate_url.rsplit('/', 1)[1]}_alembic"
    await _pg_execute(admin, f'CREATE DATABASE "{name}"')
    engine = create_engine(procrastinate_url.rsplit("/", 1)[0] + f"/{name}")
    try:
        with pytest.raises(RuntimeError):
            async with engine.begin() as connection:
                assert await connection.run_sync(apply_schema_to_connection) is True
                raise RuntimeError("the migration failed later on")
        async with engine.begin() as connection:  # rolled back with it, so it installs again
            assert await connection.run_sync(apply_schema_to_connection) is True
        async with engine.begin() as connection:
            assert await connection.run_sync(apply_schema_to_connection) is False
            assert (
                await connection.execute(text("SELECT count(*) FROM procrastinate_jobs"))
            ).scalar_one() == 0
    finally:
        await engine.dispose()
        await _pg_execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_the_schema_is_a_no_op_on_sqlite(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    async with engine.begin() as connection:
        assert await connection.run_sync(apply_schema_to_connection) is False
    await engine.dispose()


@pytest.mark.postgres
async def test_a_worker_whose_database_went_away_is_replaced_and_runs_jobs_again(
    procrastinate_backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """procrastinate ends its worker when fetching a job fails (the database restarting: "the database
    system is shutting down"): the process must not sit idle for ever. A new worker takes over once the
    database answers, and a job deferred afterwards runs."""
    from procrastinate import exceptions as procrastinate_errors

    from accorria_agent.jobs import procrastinate_queue

    monkeypatch.setattr(procrastinate_queue, "WORKER_RESTART_MIN_SECONDS", 0.05)
    backend = procrastinate_backend
    ran: list[str] = []

    async def task(args: dict[str, Any]) -> None:
        ran.append(str(args["name"]))

    queue = backend.queue(registry_with(t=task))
    assert isinstance(queue, ProcrastinateJobQueue)
    manager = queue.app.job_manager
    fetch = manager.fetch_job
    outage: list[bool] = []

    async def fetch_during_an_outage(*args: Any, **kwargs: Any) -> Any:
        if outage:
            outage.clear()
            raise procrastinate_errors.ConnectorException("the database system is shutting down")
        return await fetch(*args, **kwargs)

    monkeypatch.setattr(manager, "fetch_job", fetch_during_an_outage)
    await queue.start()
    await backend.defer(queue, JobRequest("t", {"name": "before"}))
    await eventually(lambda: ran == ["before"])
    outage.append(True)
    queue.notify()  # the next fetch fails: procrastinate ends its worker
    await eventually(lambda: queue.restarts == 1)
    await backend.defer(queue, JobRequest("t", {"name": "after"}))
    await eventually(lambda: ran == ["before", "after"])
    await queue.stop()
