"""What the benchmarks share: subprocess servers on free ports, the agent's environment, the bench
database reset, signed webhook requests, the stand-in Graph API's record, percentiles.

Every benchmark module imports these public names from here, never another benchmark's private ones.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from cryptography.fernet import Fernet
from sqlalchemy.ext.asyncio import AsyncEngine

from accorria_agent.bench.fault_support import message_body
from accorria_agent.bench.loadgen import build_request
from accorria_agent.messenger.signature import sign

APP_SECRET = "bench-app-secret-0123456789abcdef"
HOST = "127.0.0.1"


GRAPH_FACTORY = "accorria_agent.bench.webhook_server:graph_app"


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(factory: str, env: dict[str, str]) -> Iterator[int]:
    """Run ``uvicorn --factory factory`` with ``env`` on a free port until the block ends."""
    with server_process(factory, env) as (port, _process):
        yield port


@contextmanager
def server_process(factory: str, env: dict[str, str]) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """Like ``server``, also yielding the process (benchmarks that read its memory need its pid)."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            factory,
            "--host",
            HOST,
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
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
        yield port, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def bench_env(data_dir: str, database_url: str | None, graph_port: int) -> dict[str, str]:
    """The environment of an agent process under benchmark (delays off, its own data dir and Graph)."""
    return {
        "FACEBOOK_APP_SECRET": APP_SECRET,
        "FACEBOOK_APP_ID": "bench-app",
        "FACEBOOK_VERIFY_TOKEN": "bench-verify",
        "ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "JWT_SECRET": "j" * 40,
        "ACCORRIA_DATA_DIR": data_dir,
        "DATABASE_URL": database_url or "",
        "FACEBOOK_GRAPH_URL": f"http://{HOST}:{graph_port}",
        "REPLY_QUIET_PERIOD_SECONDS": "0",
        "HUMAN_LIKE_DELAYS": "false",
        "LOG_LEVEL": "WARNING",
        "ACCORRIA_ENV": "development",
    }


def message_request(port: int, page_id: str, psid: str, mid: str, text: str, timestamp_ms: int) -> bytes:
    """One signed webhook delivery of a buyer's text message to ``page_id``, as raw HTTP/1.1 bytes."""
    body = message_body(page_id, psid, mid, text, timestamp_ms)
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, APP_SECRET)}
    return build_request(HOST, port, "/webhook", body, headers)


def received_sends(graph_port: int) -> list[list[Any]]:
    """What the stand-in Graph API has received so far: [recipient, arrival time, metadata] each."""
    data: list[list[Any]] = httpx.get(f"http://{HOST}:{graph_port}/_received", timeout=10).json()
    return data


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process ``pid`` so far (``/proc/<pid>/stat``), ``None`` where unreadable."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            # The command name (field 2) may hold spaces; it ends at the last ')'.
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime (fields 14 and 15)


def cpu_of(pids: list[int]) -> float | None:
    """Summed CPU seconds of these processes, ``None`` if one of them is unreadable."""
    total = 0.0
    for pid in pids:
        seconds = process_cpu_seconds(pid)
        if seconds is None:
            return None
        total += seconds
    return total


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank) of ``values``; NaN when there are none."""
    ordered = sorted(values)
    return (
        ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]
        if ordered
        else float("nan")
    )


async def finish_bulk_load(engine: AsyncEngine, tables: Iterable[str]) -> None:
    """After multi-row INSERTs with explicit ids: move each table's id sequence past them, and
    VACUUM ANALYZE it (a store that grew over months is vacuumed and analysed; a fresh bulk load is not)."""
    from sqlalchemy import text

    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        for table in tables:
            await connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT COALESCE(max(id), 0) + 1 FROM {table}), false)"
                )
            )
            await connection.execute(text(f"VACUUM (ANALYZE) {table}"))


def reset_postgres(url: str) -> None:
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
