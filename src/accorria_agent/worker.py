"""``accorria-agent worker``: a process that only runs jobs (conversations), until SIGTERM/SIGINT.

On SIGTERM it stops taking jobs, lets running ones finish (or returns them to the queue) and exits.
With the embedded SQLite queue run at most one worker (or use ``serve`` alone, which runs jobs too);
several workers need PostgreSQL.
"""

from __future__ import annotations

import asyncio
import signal

import structlog

from accorria_agent.runtime import build_runtime
from accorria_agent.settings import Settings

log = structlog.get_logger(__name__)


async def run_worker(settings: Settings, *, stop_after_idle: bool = False) -> None:
    """Run jobs until a stop signal (or, with ``stop_after_idle``, until no job is due)."""
    runtime = build_runtime(settings, run_jobs=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await runtime.start()
    if not stop_after_idle:  # a batch run must not leave a purge behind for the next process
        from accorria_agent.privacy.tasks import schedule_purge

        await schedule_purge(runtime.session_factory, runtime.queue)
    log.info("worker_started")
    try:
        if stop_after_idle:
            wait_idle = getattr(runtime.queue, "wait_idle", None)
            if wait_idle is not None:
                await wait_idle(timeout=3600)
        else:
            await stop.wait()
    finally:
        log.info("worker_stopping")
        await runtime.stop()
