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
    message_request,
    percentile,
    received_sends,
    reset_postgres,
    server,
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


def _messages(port: int, count: int, tag: str) -> tuple[list[bytes], list[str]]:
    now = int(time.time() * 1000)
    requests, psids = [], []
    for index in range(count):
        psid = f"{tag}{index}"
        text = "Hi, is it still available? would you take 9k?"
        requests.append(message_request(port, BENCH_PAGE_ID, psid, f"m_{tag}_{index}", text, now + index))
        psids.append(psid)
    return requests, psids


def _wait_for(graph_port: int, count: int, timeout: float, console: Console) -> list[list[Any]]:
    deadline = time.monotonic() + timeout
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("replies", total=count)
        while time.monotonic() < deadline:
            got = received_sends(graph_port)
            progress.update(task, completed=len(got))
            if len(got) >= count:
                return got
            time.sleep(0.25)
    return received_sends(graph_port)


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
        with server("accorria_agent.bench.webhook_server:agent_app", agent_env) as port:
            if database_url:
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "accorria_agent.cli", "worker"], env={**os.environ, **env}
                    )
                )
                time.sleep(3)  # the worker's start-up is not what we measure
            requests, psids = _messages(port, count, "e")
            started = time.time()
            answers = asyncio.run(run_open_loop(HOST, port, requests, rate))
            got = _wait_for(gport, count, 120, console)
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=30)
    sent_at = {psid: started + index / rate for index, psid in enumerate(psids)}
    first: dict[str, float] = {}
    for recipient, arrived, _meta in got:
        first.setdefault(recipient, arrived)
    latencies = [first[p] - sent_at[p] for p in psids if p in first]
    return _report_e2e(console, backend, rate, answers, latencies, count)


def _report_e2e(
    console: Console, backend: str, rate: float, answers: LoadResult, latencies: list[float], count: int
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
    return {
        "backend": backend,
        "rate": rate,
        "replies": len(latencies),
        "messages": count,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "answer_p99_ms": answers.percentile(99) * 1000,
    }


def run_workers(database_url: str, messages: int = 2000, console: Console | None = None) -> dict[str, Any]:
    """Drain the same backlog with one worker, then two; print both rates and their ratio."""
    console = console or Console()
    rates: dict[int, float] = {}
    for workers in (1, 2):
        with (
            tempfile.TemporaryDirectory(prefix="accorria-workers-") as data_dir,
            server(GRAPH_FACTORY, {}) as gport,
        ):
            env = bench_env(data_dir, database_url, gport)
            _prepare(env)
            with server(
                "accorria_agent.bench.webhook_server:agent_app", {**env, "BENCH_RUN_JOBS": "0"}
            ) as port:
                requests, _ = _messages(port, messages, f"w{workers}_")
                asyncio.run(run_closed_loop(HOST, port, requests, 32))
            started = time.monotonic()
            procs = [
                subprocess.Popen(
                    [sys.executable, "-m", "accorria_agent.cli", "worker"], env={**os.environ, **env}
                )
                for _ in range(workers)
            ]
            got = _wait_for(gport, messages, 600, console)
            elapsed = time.monotonic() - started
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)
            rates[workers] = len(got) / elapsed
            console.print(
                f"{workers} worker(s): {len(got)} replies in {elapsed:.1f} s = {rates[workers]:.1f}/s"
            )
    ratio = rates[2] / rates[1] if rates[1] else 0.0
    console.print(
        f"throughput 2 workers / 1 worker: [bold]{ratio:.2f}[/] (goal ≥ 1.7; {os.cpu_count()} cores)"
    )
    return {"rate_1": rates[1], "rate_2": rates[2], "ratio": ratio}
