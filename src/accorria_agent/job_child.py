"""The job child process of ``serve --with-jobs`` and ``demo`` (started by ``job_process.JobProcess``).

``python -m accorria_agent.job_child`` reads its :class:`Settings` from stdin and runs
:func:`accorria_agent.worker.run_worker` until SIGTERM. It must not outlive its parent: it asks the kernel
for SIGTERM when the parent dies (``PR_SET_PDEATHSIG``, Linux) and, where that is missing, notices a new
parent process id within a second, or its stdin closing. A byte on stdin wakes its embedded queue; on
SQLite the live-dashboard events its jobs commit go to the parent over the pipe named in its environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import pickle
import signal
import sys
from collections.abc import Callable
from typing import IO

import structlog

from accorria_agent.job_process import LIVE_FD_ENV, LOG_JSON_ENV, PARENT_PID_ENV
from accorria_agent.live.bus import LiveEvent
from accorria_agent.settings import Settings

log = structlog.get_logger(__name__)

_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> bool:
    """Ask for SIGTERM when the parent dies; False if it is gone already (we were re-parented)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    return os.getppid() == parent


async def _watch_parent(parent: int, interval: float = 1.0) -> None:
    """Stop this process (SIGTERM to itself: the worker's graceful stop) once the parent is gone."""
    while True:
        await asyncio.sleep(interval)
        if os.getppid() != parent:
            log.warning("job_process_orphaned", parent=parent)
            os.kill(os.getpid(), signal.SIGTERM)
            return


def _live_writer(fd: int) -> Callable[[LiveEvent], None]:
    stream: IO[bytes] = os.fdopen(fd, "wb", buffering=0)

    def write(live_event: LiveEvent) -> None:
        with contextlib.suppress(OSError):  # the parent is going away; its dashboards with it
            stream.write(live_event.to_json().encode() + b"\n")

    return write


async def _run_child(settings: Settings, parent: int, live_fd: int | None) -> None:
    from accorria_agent.jobs.embedded import wake_all
    from accorria_agent.live.bus import forward_published
    from accorria_agent.worker import run_worker

    loop = asyncio.get_running_loop()
    stdin = sys.stdin.fileno()
    os.set_blocking(stdin, False)

    def on_stdin() -> None:
        try:
            data = os.read(stdin, 4096)
        except BlockingIOError:
            return
        if data:
            wake_all()
            return
        # End of file: the parent is stopping us (it closes our stdin, then sends SIGTERM) or is gone.
        loop.remove_reader(stdin)
        log.info("job_process_stdin_closed", parent=parent)
        os.kill(os.getpid(), signal.SIGTERM)

    loop.add_reader(stdin, on_stdin)
    if live_fd is not None:
        forward_published(_live_writer(live_fd))
    watcher = asyncio.create_task(_watch_parent(parent))
    try:
        await run_worker(settings)
    finally:
        watcher.cancel()


def _read_exactly(fd: int, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = os.read(fd, size - len(chunks))
        if not chunk:
            raise SystemExit("job child: the parent closed stdin before sending the settings")
        chunks.extend(chunk)
    return bytes(chunks)


def main() -> None:
    """The child's entry point: settings from stdin, jobs until SIGTERM or the parent's death."""
    # The parent writes its Settings object here, length first (trusted: our own parent, over a pipe);
    # what follows are wake-up bytes. Unbuffered reads: nothing of those may sit in a Python buffer.
    stdin = sys.stdin.fileno()
    size = int.from_bytes(_read_exactly(stdin, 8), "big")
    settings: Settings = pickle.loads(_read_exactly(stdin, size))  # noqa: S301
    parent = int(os.environ[PARENT_PID_ENV])
    if not _die_with_parent(parent):
        return
    from accorria_agent.logging_setup import configure_logging, settings_secrets

    configure_logging(
        settings.log_level,
        json_output=os.environ.get(LOG_JSON_ENV, "1") == "1",
        secrets=settings_secrets(settings),
    )
    live = os.environ.get(LIVE_FD_ENV)
    asyncio.run(_run_child(settings, parent, int(live) if live else None))


if __name__ == "__main__":
    main()
