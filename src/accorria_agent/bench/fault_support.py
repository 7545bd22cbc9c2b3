"""Support for the scale-out fault tests (``tests/faults``): real processes, a Graph stand-in, a sender.

* :func:`graph_stand_in_app` — a uvicorn app factory serving the product's Messenger simulator as the Graph
  API for *many* Pages (every tenant is connected with the simulator's Page token and sends through
  ``/me/messages``), with a bulk buyer registration, an unbounded Send API log and fault injection
  (``POST /simulator/api/faults``).
* :class:`Process` — one child process (``serve``, ``worker``, the stand-in) with its log file, started
  and waited for, stopped by signal.
* :func:`send_in_order` — an asyncio HTTP/1.1 sender that delivers each conversation's webhooks strictly
  in order, alternating between several web processes, and redelivers any non-200 (or a broken
  connection) with the same body, as Meta does.
* :func:`seed_tenants`, :func:`create_database`, :func:`drop_database` — fixtures' building blocks.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from accorria_agent.bench.loadgen import build_request
from accorria_agent.messenger.signature import sign

HOST = "127.0.0.1"
STAND_IN_GRAPH_PREFIX = "/graph"


# ------------------------------------------------------------------------------------ Graph stand-in


def graph_stand_in_app() -> FastAPI:
    """The Messenger simulator as a multi-Page Graph API (configured from ``STAND_IN_*`` variables).

    The simulator models one Page; the agent calls ``/me/messages`` with a Page token, so every tenant is
    connected with the simulator's token and the simulator validates each call as Meta would (token,
    request shape, known PSID, 24-hour window), injects the configured faults and logs every request.
    Buyers reach the agent through the tests' own webhooks, so they are registered here in bulk, each
    with the Page it writes to (on Messenger a buyer who wrote to a Page is known to Meta). With
    ``STAND_IN_ECHOES=1`` every accepted send is echoed, as Meta does, to ``STAND_IN_WEBHOOK_URL`` with
    the buyer's Page id and our ``metadata``: that echo is what reconciles a send whose worker died before
    recording it.
    """
    from accorria_agent.simulator import Simulator, SimulatorConfig

    config = SimulatorConfig(
        app_id=os.environ["STAND_IN_APP_ID"],
        app_secret=os.environ["STAND_IN_APP_SECRET"],
        page_id="1",
        page_name="Stand-in",
        page_access_token=os.environ["STAND_IN_PAGE_TOKEN"],
        listing_id=None,
        webhook_url=os.environ.get("STAND_IN_WEBHOOK_URL") or "http://127.0.0.1:9/unused",
        emit_echoes=os.environ.get("STAND_IN_ECHOES") == "1",
        emit_deliveries=False,
        token_acts_for_every_page=True,
    )
    client = httpx.AsyncClient()
    sim = Simulator(config, deliver_client=client)
    # The simulator bounds its log for long demos; the tests need every request of the run.
    sim.state.sent = collections.deque()
    app = FastAPI()
    latency = float(os.environ.get("STAND_IN_SEND_LATENCY_SECONDS", "0") or 0)
    if latency > 0:
        # A slow Graph edge: the agent's jobs then spend most of their time inside the Send API call,
        # which is where a killed or stopped worker hurts most (sent or not? recorded or not?).
        @app.middleware("http")
        async def slow_send(request: Request, call_next: Any) -> Response:
            response: Response = await call_next(request)
            if request.method == "POST" and request.url.path.endswith("/messages"):
                # After the simulator accepted (and logged) the send: a worker killed now leaves a
                # reply Meta has but the database does not know was sent.
                await asyncio.sleep(latency)
            return response

    app.include_router(sim.graph_router, prefix=STAND_IN_GRAPH_PREFIX)
    app.include_router(sim.ui_router, prefix="/simulator")

    @app.post("/stand-in/buyers")
    async def register_buyers(request: Request) -> Response:
        document = await request.json()
        psids = document["psids"]
        pages = document.get("pages") or [None] * len(psids)
        now = sim.state.now_ms()
        for psid, page_id in zip(psids, pages, strict=True):
            thread = sim.state.ensure_buyer(str(psid))
            thread.page_id = str(page_id) if page_id else None
            thread.last_interaction_ms = now  # the buyer just wrote: the 24-hour window is open
        return JSONResponse({"buyers": len(sim.state.threads)})

    @app.get("/stand-in/sent")
    async def sent() -> Response:
        # Compact rows: the test needs who, which outbound key, and what the simulator answered.
        rows = [
            {
                "recipient": entry.recipient,
                "metadata": entry.metadata,
                "sender_action": entry.sender_action,
                "status": entry.status,
                "code": (entry.error or {}).get("code") if entry.error else None,
                "message_id": entry.message_id,
            }
            for entry in sim.state.sent
        ]
        return JSONResponse(rows)

    return app


# ------------------------------------------------------------------------------------------ processes


def free_port() -> int:
    """A TCP port on loopback that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Process:
    """A child process with its own log file; ``port`` when it serves HTTP."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    port: int | None = None
    popen: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    def start(self, wait_seconds: float = 30.0) -> Process:
        """Start it; with a ``port``, return once it accepts connections (fail if it exits first)."""
        self._log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.argv, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        if self.port is None:
            return self
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}: {self.tail()}")
            try:
                with socket.create_connection((HOST, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(
            f"{self.name} did not listen on {self.port} within {wait_seconds} s: {self.tail()}"
        )

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} was not started"
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: signal.Signals) -> None:
        """Send ``sig`` to this process only (by its pid)."""
        if self.alive():
            os.kill(self.pid, sig)

    def wait(self, timeout: float) -> int | None:
        """Wait for the exit code (None on timeout)."""
        assert self.popen is not None
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout``; always closes the log."""
        if self.alive():
            self.signal(signal.SIGTERM)
            if self.wait(timeout) is None:
                self.signal(signal.SIGKILL)
                self.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def tail(self, chars: int = 2000) -> str:
        """The end of the process's log (for assertion messages)."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def agent_command(*args: str) -> list[str]:
    """``accorria-agent ARGS`` run with this interpreter (the venv's)."""
    return [sys.executable, "-m", "accorria_agent.cli", *args]


def stand_in_command(port: int) -> list[str]:
    """The Graph stand-in under uvicorn."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "accorria_agent.bench.fault_support:graph_stand_in_app",
        "--host",
        HOST,
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]


# ------------------------------------------------------------------------------------------- database


async def create_database(admin_url: str, name: str) -> None:
    """``CREATE DATABASE name`` through the admin URL (libpq form)."""
    import asyncpg

    connection = await asyncpg.connect(admin_url, timeout=5)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def drop_database(admin_url: str, name: str) -> None:
    """``DROP DATABASE … WITH (FORCE)`` (disconnects whatever a killed process left behind)."""
    import asyncpg

    connection = await asyncpg.connect(admin_url, timeout=5)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def seed_tenants(database_url: str, encryption_key: str, page_ids: Sequence[str], token: str) -> None:
    """One seller, connected Page and listing per Page id, through the product's seller service."""
    from accorria_agent.crypto import TokenCipher
    from accorria_agent.db.engine import create_engine, create_session_factory, transaction
    from accorria_agent.sellers import service as sellers
    from accorria_agent.sellers.schemas import DEMO_LISTING, ListingSpec

    engine = create_engine(database_url)
    cipher = TokenCipher(encryption_key)
    spec = ListingSpec.model_validate(DEMO_LISTING)
    try:
        async with transaction(create_session_factory(engine)) as session:
            for index, page_id in enumerate(page_ids):
                seller = await sellers.create_seller(session, f"Fault Seller {index}")
                tenant = await sellers.connect_page(
                    session,
                    cipher,
                    seller,
                    page_id=page_id,
                    page_name=f"Page {index}",
                    page_access_token=token,
                    human_like_delays=False,
                    # The tests are about delivery guarantees, not Meta's per-Page send limits.
                    rate_limits=(10**9, 10**9, 10**9),
                )
                await sellers.add_listing(session, seller, tenant, spec)
    finally:
        await engine.dispose()


# --------------------------------------------------------------------------------------------- sender


def message_body(page_id: str, psid: str, mid: str, text: str, timestamp_ms: int) -> bytes:
    """One buyer message as Meta delivers it (one entry, one messaging event)."""
    return json.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": page_id,
                    "time": timestamp_ms,
                    "messaging": [
                        {
                            "sender": {"id": psid},
                            "recipient": {"id": page_id},
                            "timestamp": timestamp_ms,
                            "message": {"mid": mid, "text": text},
                        }
                    ],
                }
            ],
        },
        separators=(",", ":"),
    ).encode()


@dataclass
class SendStats:
    """What the sender saw: first-try answers, redeliveries, and the wall time."""

    delivered: int = 0
    attempts: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    connection_errors: int = 0
    wall_seconds: float = 0.0

    @property
    def redeliveries(self) -> int:
        return self.attempts - self.delivered


async def _read_status(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in header_lines:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    if length:
        await reader.readexactly(length)
    return int(status_line.split(" ", 2)[1])


async def send_in_order(
    ports: Sequence[int],
    conversations: Sequence[Sequence[bytes]],
    app_secret: str,
    *,
    concurrency: int = 32,
    timeout: float = 240.0,
    retry_pause: float = 0.2,
) -> SendStats:
    """Deliver every conversation's bodies, each conversation strictly in order, like Meta.

    Conversations are served round-robin (a client takes the next conversation, delivers its next message
    until it is answered 200, puts the conversation back at the end), so a conversation's message
    ``k + 1`` is sent only after ``k`` was acknowledged. Requests alternate between ``ports`` (two web
    processes, no load balancer). A non-200 answer or a broken connection is redelivered with the same
    body after ``retry_pause`` (on another process), as Meta redelivers failed webhooks.
    """
    stats = SendStats()
    ready: collections.deque[tuple[int, int]] = collections.deque((c, 0) for c in range(len(conversations)))
    remaining = sum(len(c) for c in conversations)
    all_done = asyncio.Event()
    if remaining == 0:
        return stats
    counter = 0

    def request(port: int, body: bytes) -> bytes:
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, app_secret)}
        return build_request(HOST, port, "/webhook", body, headers)

    async def client() -> None:
        nonlocal remaining, counter
        connections: dict[int, tuple[asyncio.StreamReader, asyncio.StreamWriter]] = {}
        try:
            while not all_done.is_set():
                if not ready:
                    await asyncio.sleep(0.005)  # every conversation's next message is in flight elsewhere
                    continue
                conversation, index = ready.popleft()
                body = conversations[conversation][index]
                while True:
                    counter += 1
                    port = ports[counter % len(ports)]
                    stats.attempts += 1
                    try:
                        if port not in connections:
                            connections[port] = await asyncio.open_connection(HOST, port)
                        reader, writer = connections[port]
                        writer.write(request(port, body))
                        status = await _read_status(reader)
                    except (OSError, asyncio.IncompleteReadError, ValueError):
                        stats.connection_errors += 1
                        stale = connections.pop(port, None)
                        if stale is not None:
                            stale[1].close()
                        await asyncio.sleep(retry_pause)
                        continue
                    stats.statuses[status] = stats.statuses.get(status, 0) + 1
                    if status == 200:
                        break
                    await asyncio.sleep(retry_pause)
                stats.delivered += 1
                remaining -= 1
                if index + 1 < len(conversations[conversation]):
                    ready.append((conversation, index + 1))
                if remaining == 0:
                    all_done.set()
        finally:
            for _reader, writer in connections.values():
                writer.close()

    started = time.perf_counter()
    tasks = [asyncio.create_task(client()) for _ in range(concurrency)]
    try:
        await asyncio.wait_for(all_done.wait(), timeout)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        stats.wall_seconds = time.perf_counter() - started
    return stats
