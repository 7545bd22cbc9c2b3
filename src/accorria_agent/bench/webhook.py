"""``accorria-agent bench webhook``: webhook ingest against a bare signature-checking endpoint.

Both servers run in their own uvicorn process on loopback; the load comes from this process. Phases:
1. closed loop (``concurrency`` connections) → maximum throughput and latency of each, and the ratio;
2. open loop at half the bare endpoint's throughput → answer latency p50/p95/p99 of each.
Every request is a signed delivery with a unique ``mid``; the agent stores it durably before answering.
The web-only agent's backlog is then processed by ``worker --until-idle`` (its rate is reported), and the
one-process deployment is measured in both shapes (jobs in the web's event loop; jobs in a child process,
as ``serve --with-jobs`` and ``demo`` run them) while it answers a backlog of 1,000 new buyers.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet
from rich.console import Console
from rich.table import Table

from accorria_agent.bench.harness import (
    APP_SECRET,
    HOST,
    process_cpu_seconds,
    reset_postgres,
    server,
    server_process,
)
from accorria_agent.bench.loadgen import LoadResult, build_request, run_closed_loop, run_open_loop
from accorria_agent.bench.webhook_server import BENCH_PAGE_ID, seed_bench_tenant
from accorria_agent.db.migrate import upgrade
from accorria_agent.messenger.signature import sign
from accorria_agent.settings import Settings

# The one-process deployment is measured while it answers this many new buyers (issue 10, item 4).
BACKLOG_CONVERSATIONS = 1000


def _requests(port: int, count: int, tag: str, buyers: int = 500) -> list[bytes]:
    now = int(time.time() * 1000)
    out = []
    for index in range(count):
        body = json.dumps(
            {
                "object": "page",
                "entry": [
                    {
                        "id": BENCH_PAGE_ID,
                        "time": now,
                        "messaging": [
                            {
                                "sender": {"id": f"buyer-{tag}-{index % buyers}"},
                                "recipient": {"id": BENCH_PAGE_ID},
                                "timestamp": now + index,
                                "message": {"mid": f"m_{tag}_{index}", "text": "Is this still available?"},
                            }
                        ],
                    }
                ],
            }
        ).encode()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, APP_SECRET)}
        out.append(build_request(HOST, port, "/webhook", body, headers))
    return out


@dataclass
class Phase:
    """One measured load phase, as a table row."""

    name: str
    result: LoadResult

    def row(self) -> list[str]:
        r = self.result
        ok = r.statuses.get(200, 0)
        return [
            self.name,
            f"{r.throughput:,.0f}",
            f"{r.percentile(50) * 1000:.1f}",
            f"{r.percentile(95) * 1000:.1f}",
            f"{r.percentile(99) * 1000:.1f}",
            f"{ok}/{len(r.latencies)}",
        ]


def _measure(
    factory: str, env: dict[str, str], requests: int, concurrency: int, rate: float | None, tag: str
) -> tuple[LoadResult, LoadResult | None, float | None]:
    """Closed loop, then open loop at ``rate``; also the server's CPU milliseconds per closed-loop request
    (a figure the other engineers' load on the shared cores moves far less than throughput)."""
    with server_process(factory, env) as (port, process):
        warm = _requests(port, min(500, requests // 4), f"{tag}w")
        asyncio.run(run_closed_loop(HOST, port, warm, concurrency))
        cpu_before = process_cpu_seconds(process.pid)
        closed = asyncio.run(run_closed_loop(HOST, port, _requests(port, requests, f"{tag}c"), concurrency))
        cpu_after = process_cpu_seconds(process.pid)
        cpu_ms = (
            (cpu_after - cpu_before) * 1000 / len(closed.latencies)
            if cpu_before is not None and cpu_after is not None and closed.latencies
            else None
        )
        opened = None
        if rate:
            opened = asyncio.run(run_open_loop(HOST, port, _requests(port, requests // 2, f"{tag}o"), rate))
        return closed, opened, cpu_ms


async def _event_counts(database_url: str) -> tuple[int, int]:
    """(events stored, events processed) in the bench database now."""
    from sqlalchemy import func, select

    from accorria_agent.db.engine import create_engine
    from accorria_agent.messenger.models import EventLog

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            row = (
                await connection.execute(
                    select(func.count(), func.count(EventLog.processed_at)).select_from(EventLog)
                )
            ).one()
    finally:
        await engine.dispose()
    return int(row[0]), int(row[1])


def _processed(database_url: str) -> int:
    return asyncio.run(_event_counts(database_url))[1]


def _drain_with_worker(env: dict[str, str]) -> tuple[int, float]:
    """Run ``accorria-agent worker --until-idle`` on the backlog; returns (events processed, seconds)."""
    url = Settings.model_validate(env).effective_database_url
    before = _processed(url)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "accorria_agent.cli", "worker", "--until-idle"],
        env={**os.environ, **env, "ACCORRIA_ENV": "development"},
        check=True,
        timeout=1800,
    )
    elapsed = time.perf_counter() - started
    return _processed(url) - before, elapsed


@dataclass
class Backlogged:
    """The all-in-one server measured while it processes a backlog of ``backlog`` conversations."""

    opened: LoadResult  # open loop at half the bare rate
    closed: LoadResult  # closed loop right after
    processed_during: int  # events its jobs processed while the two phases ran
    unprocessed_after: int  # > 0: the backlog was still being worked on when the measuring ended


def _measure_under_backlog(
    factory: str,
    env: dict[str, str],
    requests: int,
    concurrency: int,
    rate: float,
    tag: str,
    backlog: int = BACKLOG_CONVERSATIONS,
) -> Backlogged:
    """Deliver one message from each of ``backlog`` new buyers, wait until the jobs are at work on them,
    then measure the webhook (open loop at ``rate``, then closed loop) while they are processed."""
    url = Settings.model_validate(env).effective_database_url
    with server(factory, env) as port:
        asyncio.run(
            run_closed_loop(HOST, port, _requests(port, backlog, f"{tag}b", buyers=backlog), concurrency)
        )
        first = _processed(url)
        deadline = time.monotonic() + 120
        while _processed(url) < first + 10 and time.monotonic() < deadline:
            time.sleep(0.05)  # the jobs (a child process starting, or tasks) have begun replying
        before = _processed(url)
        opened = asyncio.run(run_open_loop(HOST, port, _requests(port, requests // 2, f"{tag}o"), rate))
        closed = asyncio.run(run_closed_loop(HOST, port, _requests(port, requests, f"{tag}c"), concurrency))
        stored, processed = asyncio.run(_event_counts(url))
    return Backlogged(opened, closed, processed - before, stored - processed)


def run(
    requests: int = 4000,
    concurrency: int = 32,
    database_url: str | None = None,
    console: Console | None = None,
    rate: float | None = None,
) -> dict[str, Any]:
    """Run the benchmark, print a table, and return the figures.

    ``rate``: the open-loop phases' request rate (default: half the bare endpoint's measured throughput,
    which on a busy machine can exceed what the one-process shapes take, so that they measure queueing).
    """
    console = console or Console()
    bare = "accorria_agent.bench.webhook_server:bare_app"
    agent = "accorria_agent.bench.webhook_server:agent_app"
    with tempfile.TemporaryDirectory(prefix="accorria-bench-") as data_dir:
        env = {
            "FACEBOOK_APP_SECRET": APP_SECRET,
            "FACEBOOK_APP_ID": "bench-app",
            "FACEBOOK_VERIFY_TOKEN": "bench-verify",
            "ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "ACCORRIA_DATA_DIR": data_dir,
            "DATABASE_URL": database_url or "",
            "REPLY_QUIET_PERIOD_SECONDS": "0",
            "HUMAN_LIKE_DELAYS": "false",
            "LOG_LEVEL": "WARNING",
        }
        backend = "postgresql" if database_url else "sqlite"
        settings = Settings.model_validate(env)
        if database_url:
            reset_postgres(settings.effective_database_url)
        upgrade(settings.effective_database_url)
        asyncio.run(seed_bench_tenant(settings))
        console.print(
            f"[bold]bench webhook[/] backend={backend} requests={requests} concurrency={concurrency}"
        )
        bare_probe, _, _ = _measure(bare, env, requests, concurrency, None, "probe")
        half = rate or bare_probe.throughput / 2
        bare_closed, bare_open, bare_cpu = _measure(bare, env, requests, concurrency, half, "bare")
        web_closed, web_open, web_cpu = _measure(
            agent, {**env, "BENCH_RUN_JOBS": "0"}, requests, concurrency, half, "web"
        )
        with server("accorria_agent.bench.webhook_server:graph_app", env) as graph_port:
            graph_env = {**env, "FACEBOOK_GRAPH_URL": f"http://{HOST}:{graph_port}"}
            processed, drain_seconds = _drain_with_worker(graph_env)
            # The one-process deployment, both shapes, each while it answers 1,000 new buyers: jobs as
            # tasks in the web's event loop (before), jobs in a child process (serve --with-jobs, demo).
            in_loop = _measure_under_backlog(
                agent, {**graph_env, "BENCH_RUN_JOBS": "1"}, requests, concurrency, half, "one"
            )
            in_child = _measure_under_backlog(
                agent, {**graph_env, "BENCH_JOBS_IN_CHILD": "1"}, requests, concurrency, half, "child"
            )
    table = Table(
        title=f"Webhook ingest vs bare endpoint ({backend}, {os.cpu_count()} cores, {platform.node()})"
    )
    for column in ("server", "load", "req/s", "p50 ms", "p95 ms", "p99 ms", "200s"):
        table.add_column(column, justify="right")
    rows = [
        ("bare signature check", "max", bare_closed),
        ("bare signature check", f"{half:,.0f}/s", bare_open),
        ("agent web (jobs in worker)", "max", web_closed),
        ("agent web (jobs in worker)", f"{half:,.0f}/s", web_open),
        ("all-in-one, jobs in its loop, backlog", f"{half:,.0f}/s", in_loop.opened),
        ("all-in-one, jobs in its loop, backlog", "max", in_loop.closed),
        ("all-in-one, jobs in a child, backlog", f"{half:,.0f}/s", in_child.opened),
        ("all-in-one, jobs in a child, backlog", "max", in_child.closed),
    ]
    for name, load, result in rows:
        if result is not None:
            table.add_row(name, load, *Phase("", result).row()[1:])
    console.print(table)
    ratio_web = web_closed.throughput / bare_closed.throughput if bare_closed.throughput else 0.0
    ratio_loop = in_loop.closed.throughput / bare_closed.throughput if bare_closed.throughput else 0.0
    ratio_child = in_child.closed.throughput / bare_closed.throughput if bare_closed.throughput else 0.0
    rate = processed / drain_seconds if drain_seconds else 0.0
    console.print(f"throughput ratio, web ingest / bare: [bold]{ratio_web:.2f}[/] (goal ≥ 0.8)")
    if bare_cpu and web_cpu:
        console.print(
            f"server CPU per request: bare {bare_cpu:.3f} ms, web {web_cpu:.3f} ms "
            f"(bare / web = {bare_cpu / web_cpu:.2f}: the ratio the cores would allow without other load)"
        )
    if web_open:
        console.print(
            f"web p99 at {half:,.0f}/s: [bold]{web_open.percentile(99) * 1000:.1f} ms[/] (goal < 25 ms)"
        )
    shapes = (("in a child", in_child, ratio_child), ("in its loop", in_loop, ratio_loop))
    for label, measured, ratio in shapes:
        console.print(
            f"all-in-one, jobs {label}: p99 at {half:,.0f}/s under a backlog of {BACKLOG_CONVERSATIONS:,} "
            f"conversations [bold]{measured.opened.percentile(99) * 1000:.1f} ms[/] (goal < 25 ms); "
            f"max / bare {ratio:.2f}; {measured.processed_during:,} events processed while measuring, "
            f"{measured.unprocessed_after:,} still waiting after"
        )
    console.print(
        f"worker processed the backlog of {processed:,} events in {drain_seconds:.1f} s "
        f"= {rate:,.0f} conversations-turns/s (includes process start-up)"
    )
    return {
        "backend": backend,
        "ratio_web": ratio_web,
        "ratio_all_in_one": ratio_child,
        "ratio_all_in_one_loop": ratio_loop,
        "bare_rps": bare_closed.throughput,
        "web_rps": web_closed.throughput,
        "bare_cpu_ms": bare_cpu,
        "web_cpu_ms": web_cpu,
        "web_p99_ms_at_half": web_open.percentile(99) * 1000 if web_open else None,
        "all_in_one_p99_ms_at_half": in_child.opened.percentile(99) * 1000,
        "all_in_one_loop_p99_ms_at_half": in_loop.opened.percentile(99) * 1000,
        "processing_rate": rate,
        "non_200": sum(
            v
            for r in (web_closed, in_loop.closed, in_child.closed, in_loop.opened, in_child.opened)
            for k, v in r.statuses.items()
            if k != 200
        ),
    }
