"""A small HTTP/1.1 keep-alive load generator on asyncio streams (loopback only, bounded in count/time).

httpx costs more CPU per request than the servers we measure; on a 2-core machine that would make the
client the bottleneck. This client only writes pre-built requests and reads ``Content-Length`` bodies.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    """Latencies (seconds) of completed requests, status counts, and the wall time of the run."""

    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    wall_seconds: float = 0.0
    errors: int = 0

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.wall_seconds if self.wall_seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
        return ordered[index]


def build_request(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    length = 0
    for line in header_lines:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status


async def run_closed_loop(
    host: str, port: int, requests: Sequence[bytes], concurrency: int, timeout: float = 120.0
) -> LoadResult:
    """Each of ``concurrency`` connections sends its next request as soon as the last one answered."""
    result = LoadResult()
    queue = list(reversed(requests))

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while queue:
                request = queue.pop()
                started = time.perf_counter()
                writer.write(request)
                status = await _read_response(reader)
                result.latencies.append(time.perf_counter() - started)
                result.statuses[status] = result.statuses.get(status, 0) + 1
        finally:
            writer.close()

    started = time.perf_counter()
    outcomes = await asyncio.wait_for(
        asyncio.gather(*(client() for _ in range(concurrency)), return_exceptions=True), timeout
    )
    result.errors = sum(1 for o in outcomes if isinstance(o, BaseException))
    result.wall_seconds = time.perf_counter() - started
    return result


async def run_open_loop(
    host: str,
    port: int,
    requests: Sequence[bytes],
    rate: float,
    connections: int = 64,
    timeout: float = 120.0,
) -> LoadResult:
    """Send at a fixed ``rate`` (requests/s) regardless of answers; latency includes any queueing."""
    result = LoadResult()
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection(host, port))

    async def one(request: bytes, scheduled: float) -> None:
        reader, writer = await pool.get()
        try:
            writer.write(request)
            status = await _read_response(reader)
            result.latencies.append(time.perf_counter() - scheduled)
            result.statuses[status] = result.statuses.get(status, 0) + 1
        finally:
            pool.put_nowait((reader, writer))

    started = time.perf_counter()
    tasks = []
    for index, request in enumerate(requests):
        scheduled = started + index / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(request, scheduled)))
    outcomes = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout)
    result.errors = sum(1 for o in outcomes if isinstance(o, BaseException))
    result.wall_seconds = time.perf_counter() - started
    while not pool.empty():
        _reader, writer = pool.get_nowait()
        writer.close()
    return result
