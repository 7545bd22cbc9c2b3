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
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet
from rich.console import Console
from rich.table import Table

from accorria_agent.bench.loadgen import LoadResult, build_request, run_closed_loop, run_open_loop
from accorria_agent.bench.webhook_server import BENCH_PAGE_ID, seed_bench_tenant
from accorria_agent.db.migrate import upgrade
from accorria_agent.settings import Settings
from accorria_agent.messenger.signature import sign

APP_SECRET = "bench-app-secret-0123456789abcdef"
HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextmanager
def _server(factory: str, env: dict[str, str]) -> Iterator[int]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", HOST, "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        env={**os.environ, **env},
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{factory} exited with {process.returncode}")
            try:
                with socket.create_connection((HOST, port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"{factory} did not start")
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def _requests(port: int, count: int, tag: str) -> list[bytes]:
    now = int(time.time() * 1000)
    out = []
    for index in range(count):
        body = json.dumps({
            "object": "page",
            "entry": [{"id": BENCH_PAGE_ID, "time": now, "messaging": [{
                "sender": {"id": f"buyer-{tag}-{index % 500}"},
                "recipient": {"id": BENCH_PAGE_ID},
                "timestamp": now + index,
                "message": {"mid": f"m_{tag}_{index}", "text": "Is this still available?"},
            }]}],
        }).encode()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, APP_SECRET)}
        out.append(build_request(HOST, port, "/webhook", body, headers))
    return out


@dataclass
class Phase:
    name: str
    result: LoadResult

    def row(self) -> list[str]:
        r = self.result
        ok = r.statuses.get(200, 0)
        return [self.name, f"{r.throughput:,.0f}", f"{r.percentile(50) * 1000:.1f}",
                f"{r.percentile(95) * 1000:.1f}", f"{r.percentile(99) * 1000:.1f}", f"{ok}/{len(r.latencies)}"]


def _measure(factory: str, env: dict[str, str], requests: int, concurrency: int, rate: float | None,
             tag: str) -> tuple[LoadResult, LoadResult | None]:
    with _server(factory, env) as port:
        warm = _requests(port, min(500, requests // 4), f"{tag}w")
        asyncio.run(run_closed_loop(HOST, port, warm, concurrency))
        closed = asyncio.run(run_closed_loop(HOST, port, _requests(port, requests, f"{tag}c"), concurrency))
        opened = None
        if rate:
            opened = asyncio.run(run_open_loop(HOST, port, _requests(port, requests // 2, f"{tag}o"), rate))
        return closed, opened


def run(requests: int = 4000, concurrency: int = 32, database_url: str | None = None,
        console: Console | None = None) -> dict[str, Any]:
    """Run the benchmark, print a table, and return the figures."""
    console = console or Console()
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
        settings = Settings(_env_file=None, **env)
        if database_url:
            _reset_postgres(settings.effective_database_url)
        upgrade(settings.effective_database_url)
        asyncio.run(seed_bench_tenant(settings))
        console.print(f"[bold]bench webhook[/] backend={backend} requests={requests} concurrency={concurrency}")
        bare_closed, _ = _measure("accorria_agent.bench.webhook_server:bare_app", env, requests, concurrency,
                                  None, "bare")
        half = bare_closed.throughput / 2
        bare_closed, bare_open = _measure("accorria_agent.bench.webhook_server:bare_app", env, requests,
                                          concurrency, half, "bare2")
        agent_closed, agent_open = _measure("accorria_agent.bench.webhook_server:agent_app", env, requests,
                                            concurrency, half, "agent")
    table = Table(title=f"Webhook ingest vs bare endpoint ({backend}, {platform.node()}, {os.cpu_count()} cores)")
    for column in ("phase", "req/s", "p50 ms", "p95 ms", "p99 ms", "200s"):
        table.add_column(column, justify="right")
    phases = [Phase("bare, max load", bare_closed), Phase("agent, max load", agent_closed)]
    if bare_open and agent_open:
        phases += [Phase(f"bare @ {half:,.0f}/s", bare_open), Phase(f"agent @ {half:,.0f}/s", agent_open)]
    for phase in phases:
        table.add_row(*phase.row())
    console.print(table)
    ratio = agent_closed.throughput / bare_closed.throughput if bare_closed.throughput else 0.0
    console.print(f"throughput ratio agent/bare: [bold]{ratio:.2f}[/] (goal ≥ 0.5)")
    figures = {
        "backend": backend,
        "ratio": ratio,
        "bare_rps": bare_closed.throughput,
        "agent_rps": agent_closed.throughput,
        "agent_p99_ms_at_half": (agent_open.percentile(99) * 1000) if agent_open else None,
        "errors": agent_closed.errors + (agent_open.errors if agent_open else 0),
        "non_200": sum(v for k, v in agent_closed.statuses.items() if k != 200),
    }
    if agent_open:
        console.print(f"agent p99 at half the bare throughput: [bold]{figures['agent_p99_ms_at_half']:.1f} ms[/]"
                      " (goal < 25 ms)")
    return figures


def _reset_postgres(url: str) -> None:
    """Start the PostgreSQL benchmark from an empty schema (the bench database is its own)."""
    from sqlalchemy import text

    from accorria_agent.db.engine import create_engine

    async def reset() -> None:
        engine = create_engine(url)
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(reset())
