"""``bench burst``: 100 buyers write to one Page within a minute, and one buyer floods it.

Every buyer sends one message, spread evenly over ``seconds`` (human-like delays off); interleaved with
them, one buyer sends ``flood`` messages. Reported: each buyer's time from message to first reply
(p50/p95/max; goal p95 < 5 s), how many were answered, and how many bot messages the flooding buyer drew
(bounded by the loop breaker, which hands that thread to the seller). ``--conservative`` runs the Page on
the seed's 20/min, 200/h, 1,000/day to show what those limits did to the same burst.
"""

from __future__ import annotations

import asyncio
import math
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

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
from accorria_agent.bench.loadgen import run_open_loop
from accorria_agent.bench.webhook_server import BENCH_PAGE_ID, seed_bench_tenant
from accorria_agent.conversations.models import Conversation
from accorria_agent.db.engine import create_engine, create_session_factory
from accorria_agent.db.migrate import upgrade
from accorria_agent.messenger.rate_limit import CONSERVATIVE
from accorria_agent.settings import Settings

FLOOD_PSID = "flooder"


def _schedule(port: int, buyers: int, flood: int) -> list[tuple[str, bytes]]:
    """(psid, request) in sending order: the buyers, with the flood's messages spread among them."""
    now = int(time.time() * 1000)
    order: list[tuple[str, bytes]] = []
    total = buyers + flood
    flood_sent = 0
    for index in range(total):
        # Bresenham-like interleaving: the flood's messages are spread evenly over the run.
        if flood_sent < flood and (index + 1) * flood >= (flood_sent + 1) * total:
            psid, text, mid = FLOOD_PSID, f"hello? {flood_sent}", f"m_flood_{flood_sent}"
            flood_sent += 1
        else:
            buyer = index - flood_sent
            psid, text, mid = f"burst{buyer}", "Hi, is it still available?", f"m_burst_{buyer}"
        order.append((psid, message_request(port, BENCH_PAGE_ID, psid, mid, text, now + index)))
    return order


def _conversation_mode(settings: Settings, psid: str) -> str | None:
    async def read() -> str | None:
        engine = create_engine(settings.effective_database_url)
        try:
            async with create_session_factory(engine)() as session:
                row = await session.execute(select(Conversation.mode).where(Conversation.buyer_psid == psid))
                return row.scalar_one_or_none()
        finally:
            await engine.dispose()

    return asyncio.run(read())


def run_burst(
    buyers: int = 100,
    seconds: float = 60.0,
    flood: int = 50,
    database_url: str | None = None,
    conservative: bool = False,
    console: Console | None = None,
) -> dict[str, Any]:
    """Run the burst and print (and return) the message → reply distribution and the flood's outcome."""
    console = console or Console()
    with (
        tempfile.TemporaryDirectory(prefix="accorria-burst-") as data_dir,
        server(GRAPH_FACTORY, {}) as gport,
    ):
        env = bench_env(data_dir, database_url, gport)
        settings = Settings.model_validate(env)
        if database_url:
            reset_postgres(settings.effective_database_url)
        upgrade(settings.effective_database_url)
        limits = (
            (CONSERVATIVE.per_minute, CONSERVATIVE.per_hour, CONSERVATIVE.per_day) if conservative else None
        )
        asyncio.run(seed_bench_tenant(settings, rate_limits=limits))
        backend = "postgresql" if database_url else "sqlite"
        console.print(
            f"[bold]bench burst[/] backend={backend} buyers={buyers} over {seconds:.0f} s, flood={flood} "
            f"limits={'conservative 20/min' if conservative else 'Page defaults (Meta-sized)'}"
        )
        procs: list[subprocess.Popen[bytes]] = []
        with server(
            "accorria_agent.bench.webhook_server:agent_app",
            {**env, "BENCH_RUN_JOBS": "0" if database_url else "1"},
        ) as port:
            if database_url:
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "accorria_agent.cli", "worker"], env={**os.environ, **env}
                    )
                )
                time.sleep(3)  # the worker's start-up is not what we measure
            order = _schedule(port, buyers, flood)
            rate = len(order) / seconds
            started = time.time()
            # Few connections at a low rate: an idle keep-alive connection is closed by the server after 5 s.
            connections = max(1, min(64, math.ceil(rate)))
            answers = asyncio.run(
                run_open_loop(
                    HOST, port, [request for _psid, request in order], rate, connections=connections
                )
            )
            deadline = time.monotonic() + max(30.0, seconds)
            while time.monotonic() < deadline:
                got = received_sends(gport)
                if len({r for r, _t, _m in got if r != FLOOD_PSID}) >= buyers:
                    break
                time.sleep(0.5)
            time.sleep(2)  # let the last of the flood's replies (if any) arrive
            got = received_sends(gport)
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=30)
        flood_mode = _conversation_mode(settings, FLOOD_PSID) if flood else None
    sent_at = {psid: started + index / rate for index, (psid, _r) in enumerate(order) if psid != FLOOD_PSID}
    first: dict[str, float] = {}
    for recipient, arrived, _meta in got:
        first.setdefault(recipient, arrived)
    latencies = [first[p] - sent_at[p] for p in sent_at if p in first]
    flood_replies = sum(1 for recipient, _t, _m in got if recipient == FLOOD_PSID)
    result = {
        "backend": backend,
        "buyers": buyers,
        "answered": len(latencies),
        "seconds": seconds,
        "p50_s": percentile(latencies, 50),
        "p95_s": percentile(latencies, 95),
        "max_s": max(latencies) if latencies else float("nan"),
        "non_200": len(order) - answers.statuses.get(200, 0),
        "flood_messages": flood,
        "flood_bot_messages": flood_replies,
        "flood_mode": flood_mode,
    }
    table = Table(title=f"bench burst ({backend}, delays off, {os.cpu_count()} cores)")
    for column in ("measure", "value"):
        table.add_column(column)
    table.add_row("buyers answered", f"{len(latencies)}/{buyers}")
    for key, label in (("p50_s", "message → reply p50"), ("p95_s", "p95 (goal < 5 s)"), ("max_s", "max")):
        table.add_row(label, f"{result[key]:.2f} s")
    table.add_row("webhook requests not answered 200", f"{result['non_200']} of {len(order)}")
    table.add_row("flood: messages → bot messages", f"{flood} → {flood_replies}")
    table.add_row("flood: conversation mode", str(flood_mode))
    console.print(table)
    return result
