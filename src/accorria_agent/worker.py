"""``accorria-agent worker``: a process that only runs jobs (conversations), until SIGTERM/SIGINT.

On SIGTERM it stops taking jobs, lets running ones finish (or returns them to the queue) and exits.
With the embedded SQLite queue run at most one worker (or use ``serve`` alone, which runs jobs too);
several workers need PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import structlog
import uvicorn

from accorria_agent.runtime import Runtime, build_runtime
from accorria_agent.settings import Settings

log = structlog.get_logger(__name__)


def run(settings: Settings, *, stop_after_idle: bool = False) -> None:
    """Run :func:`run_worker` to its end on uvloop's event loop where it is installed (asyncio's otherwise).

    Why uvloop: a turn is a dozen database round trips, and asyncio's pure-Python transports and selector
    were a third of the worker's CPU per turn in the profile (docs/benchmarks.md, "CPU per turn").
    """
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(run_worker(settings, stop_after_idle=stop_after_idle))


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory, or ``None`` (asyncio's default loop) where uvloop is not installed."""
    try:
        import uvloop
    except ImportError:  # uvicorn[standard] brings it on Linux and macOS, not on Windows
        return None
    return uvloop.new_event_loop


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
    runtime.freeze_startup_objects()
    log.info("worker_started")
    metrics_server = None
    if settings.worker_metrics_port is not None:
        metrics_server = await start_metrics_server(
            runtime, settings.worker_metrics_host, settings.worker_metrics_port
        )
    try:
        if stop_after_idle:
            wait_idle = getattr(runtime.queue, "wait_idle", None)
            if wait_idle is not None:
                await wait_idle(timeout=3600)
        else:
            await stop.wait()
    finally:
        log.info("worker_stopping")
        if metrics_server is not None:
            await metrics_server.stop()
        await runtime.stop()


class _SignalFreeServer(uvicorn.Server):
    """uvicorn without its signal handling: the worker's own handlers decide when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class MetricsServer:
    """The worker's ``/metrics`` HTTP server (uvicorn, in this process's event loop)."""

    server: uvicorn.Server
    task: asyncio.Task[None]
    port: int

    async def stop(self) -> None:
        self.server.should_exit = True
        await self.task


async def start_metrics_server(runtime: Runtime, host: str, port: int) -> MetricsServer:
    """Serve ``runtime``'s metrics on ``host:port`` (port 0: a free one); returns once it listens."""
    from accorria_agent.app import create_metrics_app

    config = uvicorn.Config(
        create_metrics_app(runtime), host=host, port=port, log_level="warning", lifespan="off"
    )
    server = _SignalFreeServer(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task  # raises why it could not start (port taken…)
            raise RuntimeError("metrics server stopped before it started")
        await asyncio.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1] if server.servers else port
    log.info("worker_metrics_listening", port=bound)
    return MetricsServer(server, task, int(bound))
