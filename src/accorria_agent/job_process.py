"""Jobs in a child process of the web server: the one-process deployment (``serve --with-jobs``, ``demo``).

Why a child and not tasks in the web's event loop: a conversation turn costs milliseconds of CPU, and
the web process's loop answering Meta's webhooks would wait behind every one of them (measured: p99 of
120–250 ms while a backlog was processed, `docs/benchmarks.md`). In a child, the turns run on the other
core and the webhook answers as fast as with a separate ``worker``; the user still starts one command.

The parent (:class:`JobProcess`, started and stopped by the runtime):

* starts ``python -m accorria_agent.job_child`` with this process's :class:`Settings` on its stdin
  (pickled: ``demo`` builds its settings in code, so the environment alone would not carry them, and
  secrets stay out of ``/proc/<pid>/environ``); the child's output goes to the parent's stderr;
* restarts it when it dies (after a pause that grows while it keeps dying);
* stops it with SIGTERM (running jobs finish or go back to the queue), SIGKILL after ``stop_timeout``;
* on the embedded (SQLite) queue, wakes it when jobs were committed (the intake's ``notify``: one byte
  on its stdin, which stays open for that; a signal could arrive before the child is ready for it);
* on SQLite, publishes the live-dashboard events the child's jobs commit: those have no database channel
  there (PostgreSQL's ``pg_notify`` reaches every process by itself), so the child writes them as JSON
  lines to a pipe and the parent hands them to its own hub.

The child is ``job_child.py`` (it must not outlive its parent; see there). It runs in its own session, so
a terminal's Ctrl-C reaches the parent only, which then stops it in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import subprocess
import sys
import time
from collections.abc import Callable

import structlog

from accorria_agent.live.bus import LiveEvent
from accorria_agent.settings import Settings

log = structlog.get_logger(__name__)

PARENT_PID_ENV = "ACCORRIA_JOB_PARENT_PID"
LIVE_FD_ENV = "ACCORRIA_JOB_LIVE_FD"
LOG_JSON_ENV = "ACCORRIA_JOB_LOG_JSON"


class JobProcess:
    """Starts, watches, restarts and stops the job child process (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        *,
        live_sink: Callable[[LiveEvent], None] | None = None,
        json_logs: bool = True,
        restart_delay: float = 1.0,
        max_restart_delay: float = 30.0,
        stop_timeout: float = 20.0,
    ) -> None:
        self._settings = settings
        self._live_sink = live_sink
        self._json_logs = json_logs
        self._restart_delay = restart_delay
        self._max_restart_delay = max_restart_delay
        self._stop_timeout = stop_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = False
        self._live_fd: int | None = None
        self._live_buffer = b""
        self.starts = 0  # how many times a child was started (1 + restarts)
        self.started = asyncio.Event()  # set once the first child runs

    @property
    def pid(self) -> int | None:
        """The running child's process id (None between a death and its restart)."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    async def start(self) -> None:
        """Start the child and the task that restarts it when it dies."""
        self._stopping = False
        self._spawn()
        self._supervisor = asyncio.create_task(self._supervise(), name="job-process-supervisor")

    def wake(self) -> None:
        """Tell the child that jobs were committed (the embedded queue polls only once a second)."""
        process = self._process
        if process is not None and process.stdin is not None and not process.stdin.closed:
            # Non-blocking: a full pipe means the child has wake-ups to read already; a dead child will
            # be restarted (it reads the queue when it starts).
            with contextlib.suppress(OSError):
                os.write(process.stdin.fileno(), b"\0")

    async def stop(self) -> None:
        """SIGTERM the child and wait for it (SIGKILL after ``stop_timeout``); it is not restarted."""
        self._stopping = True
        process = self._process
        if process is not None and process.stdin is not None:
            process.stdin.close()
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                await asyncio.to_thread(process.wait, self._stop_timeout)
            except subprocess.TimeoutExpired:
                log.warning("job_process_killed", pid=process.pid, after_seconds=self._stop_timeout)
                process.kill()
                await asyncio.to_thread(process.wait)
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
            self._supervisor = None
        self._close_live_pipe()

    def _spawn(self) -> None:
        env = {**os.environ, PARENT_PID_ENV: str(os.getpid()), LOG_JSON_ENV: "1" if self._json_logs else "0"}
        pass_fds: tuple[int, ...] = ()
        if self._live_sink is not None:
            self._close_live_pipe()
            read_fd, write_fd = os.pipe()
            os.set_blocking(read_fd, False)
            asyncio.get_running_loop().add_reader(read_fd, self._read_live)
            self._live_fd = read_fd
            env[LIVE_FD_ENV] = str(write_fd)
            pass_fds = (write_fd,)
        process = subprocess.Popen(
            [sys.executable, "-m", "accorria_agent.job_child"],
            stdin=subprocess.PIPE,
            stdout=sys.stderr.fileno(),  # its log lines beside ours
            env=env,
            pass_fds=pass_fds,
            start_new_session=True,
        )
        for fd in pass_fds:
            os.close(fd)  # the child holds the write end now: its exit closes the pipe
        assert process.stdin is not None
        settings = pickle.dumps(self._settings)
        process.stdin.write(len(settings).to_bytes(8, "big") + settings)
        process.stdin.flush()
        os.set_blocking(process.stdin.fileno(), False)  # from now on only wake-ups (see wake)
        if self._process is not None and self._process.stdin is not None:
            self._process.stdin.close()  # the dead child's
        self._process = process
        self.starts += 1
        self.started.set()
        log.info("job_process_started", pid=process.pid, starts=self.starts)

    async def _supervise(self) -> None:
        delay = self._restart_delay
        while True:
            process = self._process
            assert process is not None
            began = time.monotonic()
            code = await asyncio.to_thread(process.wait)
            if self._stopping:
                return
            log.warning("job_process_exited", pid=process.pid, code=code, restart_in_seconds=delay)
            await asyncio.sleep(delay)
            if self._stopping:
                return
            # A child that ran a while had a reason to stop, not a start-up fault: the pause starts over.
            delay = (
                self._restart_delay
                if time.monotonic() - began > 60
                else min(delay * 2, self._max_restart_delay)
            )
            while not self._stopping:
                try:
                    self._spawn()
                    break
                except OSError as error:
                    # A child that dies before it reads its settings (a broken interpreter or path) breaks
                    # the pipe: keep trying with the growing pause, never end supervision.
                    log.error("job_process_start_failed", error_type=type(error).__name__, retry_in=delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self._max_restart_delay)

    def _read_live(self) -> None:
        fd = self._live_fd
        if fd is None:
            return
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return
        if not chunk:  # the child exited: its restart opens a new pipe
            self._close_live_pipe()
            return
        *lines, self._live_buffer = (self._live_buffer + chunk).split(b"\n")
        for line in lines:
            live_event = LiveEvent.from_json(line.decode("utf-8", "replace"))
            if live_event is not None and self._live_sink is not None:
                self._live_sink(live_event)

    def _close_live_pipe(self) -> None:
        fd, self._live_fd = self._live_fd, None
        self._live_buffer = b""
        if fd is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(fd)
            os.close(fd)
