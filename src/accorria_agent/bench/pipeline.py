"""``bench e2e`` and ``bench workers``: the conversation pipeline under load, in real processes.

* ``e2e``: buyers write at a fixed rate (open loop, one new conversation per message, delays off); for
  each message the time from sending the webhook to the stand-in Graph API receiving the reply, beside the
  webhook's own answer latency measured in the same run (the baseline: what ingest alone costs).
* ``workers``: a backlog of buyer messages is stored by a web-only process, then drained by one worker and
  (on a fresh copy of the same backlog) by two; the ratio of their throughputs (PostgreSQL only: the
  embedded SQLite queue runs one process).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from accorria_agent.bench.harness import (
    GRAPH_FACTORY,
    HOST,
    bench_env,
    cpu_of,
    message_request,
    percentile,
    received_sends,
    reset_postgres,
    server,
    server_process,
)
from accorria_agent.bench.loadgen import LoadResult, run_closed_loop, run_open_loop
from accorria_agent.bench.webhook_server import BENCH_PAGE_ID, seed_bench_tenant
from accorria_agent.db.migrate import upgrade
from accorria_agent.settings import Settings


def _prepare(env: dict[str, str]) -> None:
    settings = Settings.model_validate(env)
    if env["DATABASE_URL"]:
        reset_postgres(settings.effective_database_url)
    upgrade(settings.effective_database_url)
    asyncio.run(seed_bench_tenant(settings))


def _messages(port: int, count: int, tag: str, buyers: str | None = None) -> tuple[list[bytes], list[str]]:
    """``count`` signed deliveries, one buyer each (``buyers``: the buyers' tag, to write again as them)."""
    now = int(time.time() * 1000)
    requests, psids = [], []
    for index in range(count):
        psid = f"{buyers or tag}{index}"
        text = "Hi, is it still available? would you take 9k?"
        requests.append(message_request(port, BENCH_PAGE_ID, psid, f"m_{tag}_{index}", text, now + index))
        psids.append(psid)
    return requests, psids


class CpuMeter:
    """CPU time of the processes that run the turns, over the steady part of a run.

    ``start()`` is taken once the processes have started up (or at the first reply, for a worker that
    drains a backlog from its first second); ``per_turn_ms`` divides the CPU spent since by the replies
    sent since. ``None`` where ``/proc`` cannot be read.
    """

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self._cpu0: float | None = None
        self._replies0 = 0
        self._time0 = 0.0
        self.cpu_seconds: float | None = None
        self.turns = 0
        self.seconds = 0.0

    @property
    def started(self) -> bool:
        return self._cpu0 is not None

    def start(self, replies: int = 0) -> None:
        self._cpu0, self._replies0, self._time0 = cpu_of(self.pids), replies, time.monotonic()

    def stop(self, replies: int) -> None:
        end = cpu_of(self.pids)
        self.turns = replies - self._replies0
        self.seconds = time.monotonic() - self._time0
        self.cpu_seconds = end - self._cpu0 if end is not None and self._cpu0 is not None else None

    @property
    def per_turn_ms(self) -> float | None:
        if self.cpu_seconds is None or self.turns <= 0:
            return None
        return self.cpu_seconds / self.turns * 1000

    @property
    def rate(self) -> float:
        return self.turns / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> str:
        per_turn = self.per_turn_ms
        cpu = f"{per_turn:.2f} ms CPU per turn" if per_turn is not None else "CPU per turn: not readable"
        return f"{cpu} ({self.turns} turns in {self.seconds:.1f} s after start-up = {self.rate:.1f}/s)"


def _wait_for(
    graph_port: int,
    count: int,
    timeout: float,
    console: Console,
    meter: CpuMeter | None = None,
    before: int = 0,
) -> list[list[Any]]:
    """Poll the stand-in until ``count`` replies arrived; ``meter`` starts at the first reply after the
    ``before`` the stand-in already had, stops at the last (before the processes are stopped)."""
    deadline = time.monotonic() + timeout
    got: list[list[Any]] = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("replies", total=count)
        while time.monotonic() < deadline:
            got = received_sends(graph_port)
            progress.update(task, completed=len(got))
            if meter is not None and not meter.started and len(got) > before:
                meter.start(len(got))
            if len(got) >= count:
                break
            time.sleep(0.05 if meter is not None else 0.25)
        else:
            got = received_sends(graph_port)
    if meter is not None and meter.started:
        meter.stop(len(got))
    return got


def run_e2e(
    rate: float = 200.0,
    seconds: float = 10.0,
    database_url: str | None = None,
    console: Console | None = None,
) -> dict[str, Any]:
    """Webhook → Send API latency at ``rate`` messages/s for ``seconds``."""
    console = console or Console()
    count = int(rate * seconds)
    with tempfile.TemporaryDirectory(prefix="accorria-e2e-") as data_dir, server(GRAPH_FACTORY, {}) as gport:
        env = bench_env(data_dir, database_url, gport)
        _prepare(env)
        backend = "postgresql" if database_url else "sqlite"
        console.print(f"[bold]bench e2e[/] backend={backend} rate={rate:.0f}/s messages={count}")
        procs: list[subprocess.Popen[bytes]] = []
        agent_env = {**env, "BENCH_RUN_JOBS": "0" if database_url else "1"}
        with server_process("accorria_agent.bench.webhook_server:agent_app", agent_env) as (port, web):
            if database_url:
                procs.extend(_worker_processes(env, 1))
            time.sleep(3)  # the processes' start-up is not what we measure
            # The worker's CPU (PostgreSQL); on SQLite the one process does web and jobs alike.
            meter = CpuMeter([p.pid for p in procs] or [web.pid])
            meter.start()
            requests, psids = _messages(port, count, "e")
            started = time.time()
            answers = asyncio.run(run_open_loop(HOST, port, requests, rate))
            got = _wait_for(gport, count, 120, console)
            meter.stop(len(got))
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=30)
    sent_at = {psid: started + index / rate for index, psid in enumerate(psids)}
    first: dict[str, float] = {}
    for recipient, arrived, _meta in got:
        first.setdefault(recipient, arrived)
    latencies = [first[p] - sent_at[p] for p in psids if p in first]
    return _report_e2e(console, backend, rate, answers, latencies, count, meter)


def _report_e2e(
    console: Console,
    backend: str,
    rate: float,
    answers: LoadResult,
    latencies: list[float],
    count: int,
    meter: CpuMeter,
) -> dict[str, Any]:
    table = Table(
        title=f"End to end at {rate:.0f} messages/s ({backend}, delays off, {os.cpu_count()} cores)"
    )
    for column in ("measure", "n", "p50 ms", "p95 ms", "p99 ms"):
        table.add_column(column, justify="right")
    table.add_row(
        "webhook answered (baseline)",
        str(len(answers.latencies)),
        f"{answers.percentile(50) * 1000:.1f}",
        f"{answers.percentile(95) * 1000:.1f}",
        f"{answers.percentile(99) * 1000:.1f}",
    )
    table.add_row(
        "webhook → Send API call",
        str(len(latencies)),
        f"{percentile(latencies, 50) * 1000:.1f}",
        f"{percentile(latencies, 95) * 1000:.1f}",
        f"{percentile(latencies, 99) * 1000:.1f}",
    )
    console.print(table)
    console.print(f"replies received: {len(latencies)}/{count}; goal p95 < 100 ms")
    who = "worker" if backend == "postgresql" else "agent process (web + jobs)"
    per_turn = meter.per_turn_ms
    console.print(
        f"{who} CPU: {meter.cpu_seconds or 0:.2f} s for {meter.turns} turns = "
        + (f"[bold]{per_turn:.2f} ms per turn[/]" if per_turn is not None else "not readable")
        + " (goal ≤ 4 ms, worker on PostgreSQL)"
    )
    return {
        "cpu_ms_per_turn": per_turn,
        "backend": backend,
        "rate": rate,
        "replies": len(latencies),
        "messages": count,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "answer_p99_ms": answers.percentile(99) * 1000,
    }


def _worker_processes(env: dict[str, str], count: int) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen([sys.executable, "-m", "accorria_agent.cli", "worker"], env={**os.environ, **env})
        for _ in range(count)
    ]


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(timeout=30)


def run_workers(
    database_url: str, messages: int = 2000, console: Console | None = None, returning: bool = False
) -> dict[str, Any]:
    """Drain the same backlog with one worker, then two; print both rates and their ratio.

    ``returning``: the measured backlog is written by buyers the agent answered once already (their second
    message: an existing conversation, a bot reply within the minute), not by new buyers.
    """
    console = console or Console()
    rates: dict[int, float] = {}
    cpu: dict[int, float | None] = {}
    steady: dict[int, float] = {}
    for workers in (1, 2):
        with (
            tempfile.TemporaryDirectory(prefix="accorria-workers-") as data_dir,
            server(GRAPH_FACTORY, {}) as gport,
        ):
            env = bench_env(data_dir, database_url, gport)
            _prepare(env)
            tag = f"w{workers}_"
            before = 0
            with server(
                "accorria_agent.bench.webhook_server:agent_app", {**env, "BENCH_RUN_JOBS": "0"}
            ) as port:
                if returning:  # each buyer's first message, answered before the measured backlog
                    asyncio.run(run_closed_loop(HOST, port, _messages(port, messages, f"{tag}f", tag)[0], 32))
                    warm = _worker_processes(env, 1)
                    before = len(_wait_for(gport, messages, 600, console))
                    _stop(warm)
                requests, _ = _messages(port, messages, tag)
                asyncio.run(run_closed_loop(HOST, port, requests, 32))
            started = time.monotonic()
            procs = _worker_processes(env, workers)
            meter = CpuMeter([p.pid for p in procs])
            got = _wait_for(gport, before + messages, 600, console, meter, before)[before:]
            elapsed = time.monotonic() - started
            _stop(procs)
            rates[workers] = len(got) / elapsed
            cpu[workers], steady[workers] = meter.per_turn_ms, meter.rate
            console.print(
                f"{workers} worker(s): {len(got)} replies in {elapsed:.1f} s = {rates[workers]:.1f}/s "
                f"(start-up included); {meter.describe()}"
            )
    ratio = rates[2] / rates[1] if rates[1] else 0.0
    console.print(
        f"throughput 2 workers / 1 worker: [bold]{ratio:.2f}[/] (goal ≥ 1.7; {os.cpu_count()} cores)"
    )
    one, two = cpu[1], cpu[2]
    if one is not None and two is not None:
        console.print(
            f"worker CPU per turn: 1 worker [bold]{one:.2f} ms[/], 2 workers {two:.2f} ms "
            f"(ratio {two / one:.2f}; goals ≤ 4 ms and within 10 %); 1 worker after start-up "
            f"{steady[1]:.1f} turns/s (goal ≥ 200)"
        )
    return {
        "rate_1": rates[1],
        "rate_2": rates[2],
        "ratio": ratio,
        "cpu_ms_per_turn_1": one,
        "cpu_ms_per_turn_2": two,
        "steady_rate_1": steady[1],
    }
