"""``accorria-agent bench scale``: memory and latency with a large store against a small one, in one run.

The scale-out issue asks that the service stay flat with 10,000 tenants and 100,000 conversations stored:
no per-tenant resident state, no query whose cost grows with the store. The run:

1. seeds two fresh databases with bulk Core inserts, a small store (the baseline) and a large one: per
   tenant a seller, a Page (its own page id, its token encrypted with the ``ENCRYPTION_KEY`` the agent runs
   with), the Page's settings and an active listing; per conversation a buyer with a few messages both
   ways and the processed event-log rows they came from;
2. serves each store as bench e2e does (SQLite: web + jobs in one process; PostgreSQL: web + one
   ``accorria-agent worker``), each with its own stand-in Graph API;
3. warms both up and reads the processes' resident memory (``VmRSS``); then sends buyer messages at a
   fixed rate in rounds alternating between the stores, each message to an existing conversation of a
   random tenant (or, for a share of them, a new buyer of a random tenant) with that tenant's page id,
   waiting for every reply before the next round; and reads memory again.

Both stores get the same message sequence (same texts, same new/existing mix); the figures are the
webhook's answer latency, the webhook → Send API latency, and RSS, with the ratio large / small for each.
"Flat" means ratios near 1: goal ≤ 1.5 for latency, ≤ 1.2 for memory.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from bisect import bisect_left
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy.engine import make_url

from accorria_agent.bench.harness import (
    GRAPH_FACTORY,
    HOST,
    bench_env,
    message_request,
    percentile,
    received_sends,
    reset_postgres,
    server,
    server_process,
)
from accorria_agent.bench.loadgen import LoadResult, run_open_loop
from accorria_agent.bench.scale_seed import (
    BUYER_TEXTS,
    LATENCY_GOAL,
    MEMORY_GOAL,
    NEW_BUYER_SHARE,
    NEW_PSID_BASE,
    SMALL_CONVERSATIONS,
    SMALL_TENANTS,
)
from accorria_agent.bench.scale_seed import (
    page_id_of as page_id_of,
)
from accorria_agent.bench.scale_seed import (
    seed_store as seed_store,
)
from accorria_agent.bench.scale_seed import (
    seeded_psid as seeded_psid,
)
from accorria_agent.db.migrate import upgrade
from accorria_agent.settings import Settings, normalise_database_url

AGENT_FACTORY = "accorria_agent.bench.webhook_server:agent_app"


# ------------------------------------------------------------------------------------------------ traffic


@dataclass(frozen=True)
class Target:
    """One buyer message of the run: to which Page, from which buyer, saying what."""

    page_id: str
    psid: str
    existing: bool
    text: str


def plan_targets(tenants: int, conversations: int, count: int, seed: int = 7) -> list[Target]:
    """``count`` messages: most to seeded conversations (random ones, hence random tenants), some new.

    The texts and the new/existing pattern depend only on ``seed``, so two stores of different sizes get
    the same sequence. Seeded conversations are drawn without replacement while there are enough; beyond
    that the same random order repeats, which spaces a conversation's messages as far apart as possible.
    """
    mix = random.Random(seed)
    pick = random.Random(seed + 1)
    shape = [(mix.random() >= NEW_BUYER_SHARE, mix.choice(BUYER_TEXTS)) for _ in range(count)]
    wanted = sum(1 for existing, _ in shape if existing) if conversations else 0
    order: list[int] = []
    if wanted:
        cycle = pick.sample(range(conversations), min(wanted, conversations))
        order = [cycle[i % len(cycle)] for i in range(wanted)]
    targets: list[Target] = []
    existing_iter: Iterator[int] = iter(order)
    for index, (existing, body) in enumerate(shape):
        conversation = next(existing_iter, None) if existing else None
        if conversation is not None:
            targets.append(Target(page_id_of(conversation % tenants), seeded_psid(conversation), True, body))
        else:
            tenant = pick.randrange(tenants)
            targets.append(Target(page_id_of(tenant), str(NEW_PSID_BASE + index), False, body))
    return targets


def _requests(port: int, targets: list[Target], tag: str) -> list[bytes]:
    now = int(time.time() * 1000)
    return [
        message_request(port, t.page_id, t.psid, f"m_{tag}_{i}", t.text, now + i)
        for i, t in enumerate(targets)
    ]


def match_replies(
    targets: list[Target], sent_at: list[float], received: list[list[Any]]
) -> list[float | None]:
    """Per message, seconds until the stand-in Graph API got the first reply to its buyer sent after it."""
    arrivals: dict[str, list[float]] = {}
    for recipient, arrived, _meta in received:
        arrivals.setdefault(str(recipient), []).append(float(arrived))
    for times in arrivals.values():
        times.sort()
    out: list[float | None] = []
    for target, sent in zip(targets, sent_at, strict=True):
        times = arrivals.get(target.psid, [])
        position = bisect_left(times, sent)
        out.append(times[position] - sent if position < len(times) else None)
    return out


def _send_phase(
    port: int, graph_port: int, targets: list[Target], rate: float, tag: str, console: Console
) -> tuple[LoadResult, list[float | None]]:
    """Send ``targets`` at ``rate``/s, then wait (up to two minutes) until every message has its reply."""
    requests = _requests(port, targets, tag)
    started = time.time()
    answers = asyncio.run(run_open_loop(HOST, port, requests, rate))
    sent_at = [started + index / rate for index in range(len(targets))]
    deadline = time.monotonic() + 120
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"replies ({tag})", total=len(targets))
        while True:
            latencies = match_replies(targets, sent_at, received_sends(graph_port))
            answered = sum(1 for value in latencies if value is not None)
            progress.update(task, completed=answered)
            if answered >= len(targets) or time.monotonic() > deadline:
                return answers, latencies
            time.sleep(0.25)


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB (``VmRSS`` of /proc/<pid>/status; Linux)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


# ------------------------------------------------------------------------------------------------ one store


@dataclass
class _Store:
    """One seeded store and the processes serving it during the run."""

    name: str
    tenants: int
    conversations: int
    env: dict[str, str]
    graph_port: int
    seeded: dict[str, Any]
    plan: list[Target]
    port: int = 0
    web: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    answers: LoadResult = field(default_factory=LoadResult)
    latencies: list[float | None] = field(default_factory=list)
    memory: dict[str, float | None] = field(default_factory=dict)
    # Send API p95 of each measured round: shows whether one round alone (a load spike) moved a figure.
    round_p95_ms: list[float] = field(default_factory=list)

    def read_memory(self, when: str) -> None:
        assert self.web is not None, "the store's agent is running"
        self.memory[f"web_rss_{when}_mb"] = rss_mb(self.web.pid)
        self.memory[f"worker_rss_{when}_mb"] = rss_mb(self.worker.pid) if self.worker else None

    def send(self, targets: list[Target], rate: float, tag: str, console: Console) -> list[float | None]:
        answers, latencies = _send_phase(self.port, self.graph_port, targets, rate, tag, console)
        self.answers.latencies += answers.latencies
        for status, n in answers.statuses.items():
            self.answers.statuses[status] = self.answers.statuses.get(status, 0) + n
        self.answers.errors += answers.errors
        self.latencies += latencies
        return latencies

    def figures(self) -> dict[str, Any]:
        replied = [value for value in self.latencies if value is not None]
        answers = self.answers
        return {
            "tenants": self.tenants,
            "conversations": self.conversations,
            "seed_seconds": self.seeded["seconds"],
            "seeded_rows": self.seeded["rows"],
            "messages": len(self.latencies),
            "to_existing": sum(1 for target in self.plan[-len(self.latencies) :] if target.existing),
            "replies": len(replied),
            "non_200": sum(n for status, n in answers.statuses.items() if status != 200) + answers.errors,
            "answer_p50_ms": answers.percentile(50) * 1000,
            "answer_p95_ms": answers.percentile(95) * 1000,
            "answer_p99_ms": answers.percentile(99) * 1000,
            "send_p50_ms": percentile(replied, 50) * 1000,
            "send_p95_ms": percentile(replied, 95) * 1000,
            "send_p99_ms": percentile(replied, 99) * 1000,
            "send_p95_ms_by_round": self.round_p95_ms,
            **self.memory,
        }


def _prepare_store(env: dict[str, str], tenants: int, conversations: int, console: Console) -> dict[str, Any]:
    settings = Settings.model_validate(env)
    url = settings.effective_database_url
    if env["DATABASE_URL"]:
        reset_postgres(url)
    upgrade(url)
    console.print(f"[bold]store[/] {tenants:,} tenants, {conversations:,} conversations")
    seeded = asyncio.run(
        seed_store(url, settings.encryption_key.get_secret_value(), tenants, conversations, console)
    )
    rows = sum(seeded["rows"].values())
    console.print(f"seeded {rows:,} rows in {seeded['seconds']:.1f} s ({rows / seeded['seconds']:,.0f}/s)")
    return seeded


@contextmanager
def _worker(env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "accorria_agent.cli", "worker"], env={**os.environ, **env}
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def sibling_database(database_url: str, suffix: str) -> Iterator[str]:
    """A new PostgreSQL database next to ``database_url``'s (same server), dropped afterwards."""
    url = make_url(normalise_database_url(database_url))
    name = f"{url.database}_{suffix}"

    async def admin(statement: str) -> None:
        import asyncpg

        from accorria_agent.jobs.procrastinate_schema import libpq_url

        connection = await asyncpg.connect(libpq_url(database_url))
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# ------------------------------------------------------------------------------------------------ the run

# (key, label, goal for large / small)
FIGURES: tuple[tuple[str, str, float], ...] = (
    ("answer_p50_ms", "webhook answered p50 ms", LATENCY_GOAL),
    ("answer_p95_ms", "webhook answered p95 ms", LATENCY_GOAL),
    ("answer_p99_ms", "webhook answered p99 ms", LATENCY_GOAL),
    ("send_p50_ms", "webhook → Send API p50 ms", LATENCY_GOAL),
    ("send_p95_ms", "webhook → Send API p95 ms", LATENCY_GOAL),
    ("web_rss_warm_mb", "web RSS after warm-up MiB", MEMORY_GOAL),
    ("web_rss_end_mb", "web RSS at the end MiB", MEMORY_GOAL),
    ("worker_rss_warm_mb", "worker RSS after warm-up MiB", MEMORY_GOAL),
    ("worker_rss_end_mb", "worker RSS at the end MiB", MEMORY_GOAL),
)


def run_scale(
    tenants: int = 10_000,
    conversations: int = 100_000,
    rate: float = 20.0,
    seconds: float = 15.0,
    database_url: str | None = None,
    *,
    small_tenants: int = SMALL_TENANTS,
    small_conversations: int = SMALL_CONVERSATIONS,
    warmup_seconds: float = 3.0,
    rounds: int = 6,
    console: Console | None = None,
) -> dict[str, Any]:
    """Measure a small store and a large one in the same run; print both and the ratios large / small.

    Both stores are seeded and served at once (on PostgreSQL the small one lives in a sibling database,
    ``<name>_small``, dropped at the end), and the ``seconds`` of traffic each gets are sent in ``rounds``
    slices alternating between them (small, large, then large, small, …): on a shared machine, load from
    elsewhere then weighs on both stores alike instead of on whichever ran during it.
    """
    console = console or Console()
    backend = "postgresql" if database_url else "sqlite"
    shape = "web + 1 worker" if database_url else "web + jobs in one process"
    count = max(rounds, int(rate * seconds))
    warm = max(1, int(rate * warmup_seconds))
    sizes = {
        "small": (min(small_tenants, tenants), min(small_conversations, conversations)),
        "large": (tenants, conversations),
    }
    console.print(
        f"[bold]bench scale[/] backend={backend} ({shape}); {count} messages per store at {rate:g}/s "
        f"in {rounds} alternating rounds; small {sizes['small'][0]:,} tenants / "
        f"{sizes['small'][1]:,} conversations, large {tenants:,} / {conversations:,}"
    )
    with ExitStack() as stack:
        stores: dict[str, _Store] = {}
        for name, (size_tenants, size_conversations) in sizes.items():
            data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix=f"accorria-scale-{name}-"))
            url = database_url
            if database_url and name == "small":
                url = stack.enter_context(sibling_database(database_url, "small"))
            graph_port = stack.enter_context(server(GRAPH_FACTORY, {}))
            env = bench_env(data_dir, url, graph_port)
            seeded = _prepare_store(env, size_tenants, size_conversations, console)
            plan = plan_targets(size_tenants, size_conversations, warm + count)
            stores[name] = _Store(name, size_tenants, size_conversations, env, graph_port, seeded, plan)
        for store in stores.values():
            agent_env = {**store.env, "BENCH_RUN_JOBS": "0" if database_url else "1"}
            store.port, store.web = stack.enter_context(server_process(AGENT_FACTORY, agent_env))
            if database_url:
                store.worker = stack.enter_context(_worker(store.env))
        for store in stores.values():
            # Imports, compiled statements, connection pools, the worker's start-up: not what we measure.
            store.send(store.plan[:warm], rate, f"{store.name} warm-up", console)
            store.answers, store.latencies = LoadResult(), []
        for store in stores.values():
            store.read_memory("warm")
        bounds = [warm + count * r // rounds for r in range(rounds + 1)]
        for r in range(rounds):
            order = ("small", "large") if r % 2 == 0 else ("large", "small")
            for name in order:
                store = stores[name]
                got = store.send(
                    store.plan[bounds[r] : bounds[r + 1]], rate, f"{name} round {r + 1}", console
                )
                store.round_p95_ms.append(percentile([v for v in got if v is not None], 95) * 1000)
        for store in stores.values():
            store.read_memory("end")
        figures = {name: store.figures() for name, store in stores.items()}
    ratios: dict[str, float] = {}
    for key, _label, _goal in FIGURES:
        small, large = figures["small"].get(key), figures["large"].get(key)
        if small is not None and large is not None:
            ratios[key] = large / small if small else float("inf")
    flat = all(ratios[key] <= goal for key, _label, goal in FIGURES if key in ratios)
    _report(console, backend, rate, figures, ratios)
    return {
        "backend": backend,
        "rate": rate,
        "seconds": seconds,
        "rounds": rounds,
        **figures,
        "ratios": ratios,
        "flat": flat,
    }


def _report(
    console: Console, backend: str, rate: float, stores: dict[str, dict[str, Any]], ratios: dict[str, float]
) -> None:
    small, large = stores["small"], stores["large"]
    table = Table(
        title=f"Small store vs large store at {rate:g} messages/s ({backend}, {os.cpu_count()} cores)",
        caption=(
            f"small: {small['tenants']:,} tenants, {small['conversations']:,} conversations; "
            f"large: {large['tenants']:,} tenants, {large['conversations']:,} conversations"
        ),
    )
    for column in ("figure", "small", "large", "large / small", "goal"):
        table.add_column(column, justify="left" if column == "figure" else "right", no_wrap=True)
    for key, label, goal in FIGURES:
        if key not in ratios:
            continue
        ratio = ratios[key]
        verdict = "[green]" if ratio <= goal else "[red]"
        table.add_row(
            label, f"{small[key]:,.1f}", f"{large[key]:,.1f}", f"{verdict}{ratio:.2f}[/]", f"≤ {goal:g}"
        )
    table.add_row(
        "replies / messages",
        f"{small['replies']}/{small['messages']}",
        f"{large['replies']}/{large['messages']}",
        "",
        "all",
    )
    table.add_row("seeding (s)", f"{small['seed_seconds']:.1f}", f"{large['seed_seconds']:.1f}", "", "")
    console.print(table)
    by_round = "; ".join(
        f"{name} " + " · ".join(f"{v:.0f}" for v in store["send_p95_ms_by_round"])
        for name, store in stores.items()
    )
    console.print(f"webhook → Send API p95 by round (ms): {by_round}")
    failing = [label for key, label, goal in FIGURES if key in ratios and ratios[key] > goal]
    console.print(
        "flat: [bold green]yes[/]" if not failing else f"flat: [bold red]no[/] ({'; '.join(failing)})"
    )
