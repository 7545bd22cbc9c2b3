"""The one-process deployment's job child (``job_process``): started and stopped with its parent, never
left behind when the parent is killed, restarted when it dies, woken and heard on SQLite."""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from accorria_agent.job_process import JobProcess
from accorria_agent.jobs.embedded import EmbeddedJobQueue
from accorria_agent.jobs.interface import TaskRegistry
from accorria_agent.live.bus import LiveEvent
from accorria_agent.settings import Settings
from tests.dashboard.test_dashboard_pages_browser import wait_until
from tests.e2e.conftest import demo_server  # noqa: F401 - the real demo process


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie (a re-parented child may wait unreaped in a container)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as children:
            return [int(child) for child in children.read().split()]
    except OSError:
        return []


def _has_open(pid: int, name: str) -> bool:
    try:
        return any(name in os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return False


async def _async_wait_until(predicate: Callable[[], object], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def sqlite_settings(
    make_settings: Callable[..., Settings], tmp_path: Path, sqlite_template: Path
) -> Settings:
    import shutil

    path = tmp_path / "accorria.db"
    shutil.copy(sqlite_template, path)
    return make_settings(DATABASE_URL=f"sqlite+aiosqlite:///{path}")


async def test_the_child_is_started_and_stopped_with_its_parent(sqlite_settings: Settings) -> None:
    jobs = JobProcess(sqlite_settings, stop_timeout=30)
    await jobs.start()
    pid = jobs.pid
    assert pid is not None and _alive(pid)
    assert pid in _children(os.getpid())
    await jobs.stop()
    assert not _alive(pid)
    assert jobs.pid is None
    assert jobs.starts == 1  # stopping is not dying: no restart


async def test_a_child_that_dies_is_restarted(sqlite_settings: Settings) -> None:
    jobs = JobProcess(sqlite_settings, restart_delay=0.1, stop_timeout=30)
    await jobs.start()
    try:
        first = jobs.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        await _async_wait_until(lambda: jobs.pid not in (None, first), "a new child")
        assert jobs.starts == 2
        second = jobs.pid
        assert second is not None and _alive(second) and not _alive(first)
    finally:
        await jobs.stop()
    assert not _alive(second)


async def test_a_restart_that_cannot_start_the_child_is_tried_again(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child that dies before it reads its settings breaks the pipe (OSError in the parent): the
    supervisor keeps trying instead of ending, so the jobs are not left without a process."""
    jobs = JobProcess(sqlite_settings, restart_delay=0.05, stop_timeout=30)
    await jobs.start()
    real_spawn = jobs._spawn
    failures = {"left": 2}

    def flaky_spawn() -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise BrokenPipeError(32, "Broken pipe")
        real_spawn()

    monkeypatch.setattr(jobs, "_spawn", flaky_spawn)
    try:
        first = jobs.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        await _async_wait_until(lambda: jobs.pid not in (None, first), "a child after two failed starts")
        assert failures["left"] == 0 and jobs.starts == 2
    finally:
        await jobs.stop()


_PARENT = """
import asyncio, pickle, sys
from accorria_agent.job_process import JobProcess

async def main():
    jobs = JobProcess(pickle.loads(open(sys.argv[1], "rb").read()))
    await jobs.start()
    print(f"child={jobs.pid}", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


def test_no_orphan_is_left_when_the_parent_is_killed(sqlite_settings: Settings, tmp_path: Path) -> None:
    settings_file = tmp_path / "settings.pickle"
    settings_file.write_bytes(pickle.dumps(sqlite_settings))
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT, str(settings_file)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        line = ""
        while not line.startswith("child="):  # structlog's lines come first on the same stdout
            line = parent.stdout.readline()
            assert line, "the parent exited before starting its child"
        child = int(line.removeprefix("child="))
        assert _alive(child)
        # The child is at work (its worker has the database open) before the parent goes.
        wait_until(lambda: _has_open(child, "accorria.db"), "the child's worker to start", 60)
        parent.kill()  # SIGKILL: no lifespan, no chance to stop anything
        parent.wait()
        wait_until(lambda: not _alive(child), "the orphaned child to exit", 60)
    finally:
        if parent.poll() is None:
            parent.kill()


async def test_the_embedded_queue_wakes_the_child_when_jobs_are_committed(
    sqlite_settings: Settings,
) -> None:
    from accorria_agent.db.engine import create_engine, create_session_factory

    engine = create_engine(sqlite_settings.effective_database_url)
    queue = EmbeddedJobQueue(create_session_factory(engine), TaskRegistry())
    woken: list[bool] = []
    queue.wake_elsewhere = lambda: woken.append(True)
    queue.notify()  # what the intake calls after each committed batch
    assert woken == [True]
    await engine.dispose()


async def test_live_events_the_child_writes_reach_the_parents_sink(sqlite_settings: Settings) -> None:
    heard: list[LiveEvent] = []
    jobs = JobProcess(sqlite_settings, live_sink=heard.append, stop_timeout=30)
    await jobs.start()
    try:
        assert jobs.pid is not None
        # The child's end of the pipe is the fd named in its environment; write as the child would.
        environ = Path(f"/proc/{jobs.pid}/environ").read_bytes().split(b"\0")
        fd = next(int(v.split(b"=", 1)[1]) for v in environ if v.startswith(b"ACCORRIA_JOB_LIVE_FD="))
        with open(f"/proc/{jobs.pid}/fd/{fd}", "wb", buffering=0) as pipe:
            pipe.write(LiveEvent(7, "message", 3, 9).to_json().encode() + b"\n{not json}\n")
        await _async_wait_until(lambda: heard, "the event")
        assert heard == [LiveEvent(7, "message", 3, 9)]  # the malformed line is dropped
    finally:
        await jobs.stop()


def test_the_demo_runs_its_jobs_in_a_child_and_sigterm_stops_both(demo_server: str) -> None:  # noqa: F811
    """The real command: the child answers the buyer, and SIGTERM to ``demo`` ends both processes."""
    (demo,) = [pid for pid in _children(os.getpid()) if b"demo" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    wait_until(lambda: _children(demo), "the job child", 60)
    (child,) = _children(demo)
    answer: dict[str, Any] = httpx.post(
        f"{demo_server}/simulator/api/buyers/5550001/messages", json={"text": "Is it available?"}, timeout=10
    ).json()
    assert answer["status"] == 200

    def replied() -> bool:
        sent = httpx.get(f"{demo_server}/simulator/api/sent", params={"recipient": "5550001"}, timeout=5)
        return any(item.get("message") for item in sent.json())

    wait_until(replied, "the reply from the child's jobs", 60)
    os.kill(demo, signal.SIGTERM)
    wait_until(lambda: not _alive(demo), "the demo to stop", 60)
    assert not _alive(child)
