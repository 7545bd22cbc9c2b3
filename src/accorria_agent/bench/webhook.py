"""``accorria-agent bench webhook``: webhook ingest against a bare signature-checking endpoint.

Both servers run in their own uvicorn process on loopback; the load comes from this process. Phases:
1. closed loop (``concurrency`` connections) → maximum throughput and latency of each, and the ratio;
2. open loop at half the bare endpoint's throughput → answer latency p50/p95/p99 of each.
Every request is a signed delivery with a unique ``mid``; the agent stores it durably before answering
and processes it (reply to an in-memory Graph API) in the same process.
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

from accorria_agent.bench.harness import APP_SECRET, HOST, reset_postgres, server
from accorria_agent.bench.loadgen import LoadResult, build_request, run_closed_loop, run_open_loop
from accorria_agent.bench.webhook_server import BENCH_PAGE_ID, seed_bench_tenant
from accorria_agent.db.migrate import upgrade
from accorria_agent.messenger.signature import sign
from accorria_agent.settings import Settings


def _requests(port: int, count: int, tag: str) -> list[bytes]:
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
                                "sender": {"id": f"buyer-{tag}-{index % 500}"},
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
) -> tuple[LoadResult, LoadResult | None]:
    with server(factory, env) as port:
        warm = _requests(port, min(500, requests // 4), f"{tag}w")
        asyncio.run(run_closed_loop(HOST, port, warm, concurrency))
        closed = asyncio.run(run_closed_loop(HOST, port, _requests(port, requests, f"{tag}c"), concurrency))
        opened = None
        if rate:
            opened = asyncio.run(run_open_loop(HOST, port, _requests(port, requests // 2, f"{tag}o"), rate))
        return closed, opened


def _drain_with_worker(env: dict[str, str]) -> tuple[int, float]:
    """Run ``accorria-agent worker --until-idle`` on the backlog; returns (events processed, seconds)."""
    settings = Settings.model_validate(env)

    async def pending() -> int:
        from sqlalchemy import func, select

        from accorria_agent.db.engine import create_engine
        from accorria_agent.messenger.models import EventLog

        engine = create_engine(settings.effective_database_url)
        async with engine.connect() as connection:
            count = (
                await connection.execute(
                    select(func.count()).select_from(EventLog).where(EventLog.processed_at.is_(None))
                )
            ).scalar_one()
        await engine.dispose()
        return int(count)

    backlog = asyncio.run(pending())
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "accorria_agent.cli", "worker", "--until-idle"],
        env={**os.environ, **env, "ACCORRIA_ENV": "development"},
        check=True,
        timeout=1800,
    )
    elapsed = time.perf_counter() - started
    return backlog - asyncio.run(pending()), elapsed


def run(
    requests: int = 4000,
    concurrency: int = 32,
    database_url: str | None = None,
    console: Console | None = None,
) -> dict[str, Any]:
    """Run the benchmark, print a table, and return the figures."""
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
        bare_probe, _ = _measure(bare, env, requests, concurrency, None, "probe")
        half = bare_probe.throughput / 2
        bare_closed, bare_open = _measure(bare, env, requests, concurrency, half, "bare")
        web_closed, web_open = _measure(
            agent, {**env, "BENCH_RUN_JOBS": "0"}, requests, concurrency, half, "web"
        )
        with server("accorria_agent.bench.webhook_server:graph_app", env) as graph_port:
            processed, drain_seconds = _drain_with_worker(
                {**env, "FACEBOOK_GRAPH_URL": f"http://{HOST}:{graph_port}"}
            )
        one_closed, one_open = _measure(
            agent, {**env, "BENCH_RUN_JOBS": "1"}, requests, concurrency, half, "one"
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
        ("agent all-in-one (web + jobs)", "max", one_closed),
        ("agent all-in-one (web + jobs)", f"{half:,.0f}/s", one_open),
    ]
    for name, load, result in rows:
        if result is not None:
            table.add_row(name, load, *Phase("", result).row()[1:])
    console.print(table)
    ratio_web = web_closed.throughput / bare_closed.throughput if bare_closed.throughput else 0.0
    ratio_one = one_closed.throughput / bare_closed.throughput if bare_closed.throughput else 0.0
    rate = processed / drain_seconds if drain_seconds else 0.0
    console.print(
        f"throughput ratio, web ingest / bare: [bold]{ratio_web:.2f}[/] (goal ≥ 0.5); "
        f"all-in-one / bare: {ratio_one:.2f}"
    )
    if web_open:
        console.print(
            f"web p99 at {half:,.0f}/s: [bold]{web_open.percentile(99) * 1000:.1f} ms[/] (goal < 25 ms)"
        )
    console.print(
        f"worker processed the backlog of {processed:,} events in {drain_seconds:.1f} s "
        f"= {rate:,.0f} conversations-turns/s (includes process start-up)"
    )
    return {
        "backend": backend,
        "ratio_web": ratio_web,
        "ratio_all_in_one": ratio_one,
        "bare_rps": bare_closed.throughput,
        "web_rps": web_closed.throughput,
        "web_p99_ms_at_half": web_open.percentile(99) * 1000 if web_open else None,
        "processing_rate": rate,
        "non_200": sum(v for r in (web_closed, one_closed) for k, v in r.statuses.items() if k != 200),
    }


