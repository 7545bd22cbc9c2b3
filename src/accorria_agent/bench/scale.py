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
import sqlite3
import subprocess
import sys
import tempfile
import time
from bisect import bisect_left
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from accorria_agent.bench.loadgen import LoadResult, run_open_loop
from accorria_agent.bench.pipeline import GRAPH_FACTORY, _env, _pct, _received, message_request
from accorria_agent.bench.webhook import HOST, _reset_postgres, _server, _server_process
from accorria_agent.conversations.models import Conversation, Message
from accorria_agent.crypto import TokenCipher
from accorria_agent.db.base import Base, utcnow
from accorria_agent.db.engine import create_engine
from accorria_agent.db.migrate import upgrade
from accorria_agent.messenger.models import EventLog
from accorria_agent.sellers.models import Listing, MessengerSettings, MessengerTenant, Seller
from accorria_agent.sellers.schemas import DEMO_LISTING, ListingSpec
from accorria_agent.settings import Settings, normalise_database_url

AGENT_FACTORY = "accorria_agent.bench.webhook_server:agent_app"
# Numeric strings, as Meta's ids are; the two PSID ranges never meet.
PAGE_ID_BASE = 910_000_000_000
SEEDED_PSID_BASE = 7_100_000_000_000_000
NEW_PSID_BASE = 7_200_000_000_000_000
# The small store is the baseline. 1,000 conversations (not fewer) so that, at the default rate and
# duration, every message goes to a conversation not yet touched in the run, as in the large store.
SMALL_TENANTS = 10
SMALL_CONVERSATIONS = 1000
NEW_BUYER_SHARE = 0.2
LATENCY_GOAL = 1.5
MEMORY_GOAL = 1.2
# Conversations per insert round: large enough for executemany to pay off, small for a smooth progress bar.
SEED_CHUNK = 2000
BUYER_TEXTS = (
    "Is it still available?",
    "Hi, is it still available? would you take 9k?",
    "would you take 10,500?",
    "What's the mileage?",
    "Any accidents?",
    "Can I come see it tomorrow at 5?",
)
# One seeded conversation: (direction, author, text), oldest first, a minute apart.
SEEDED_HISTORY = (
    ("inbound", "buyer", "Hi, is this still available?"),
    ("outbound", "bot", "Hi! Yes, the 2018 Honda Civic EX is still available."),
    ("inbound", "buyer", "What's the mileage?"),
    ("outbound", "bot", "It has 62,000 miles."),
)


def page_id_of(tenant_index: int) -> str:
    """The page id of the ``tenant_index``-th seeded tenant (0-based)."""
    return str(PAGE_ID_BASE + tenant_index)


def seeded_psid(conversation_index: int) -> str:
    """The buyer of the ``conversation_index``-th seeded conversation (of tenant index % tenants)."""
    return str(SEEDED_PSID_BASE + conversation_index)


# ------------------------------------------------------------------------------------------------ seeding

# (model, rows) in insertion order: parents before children.
_Rows = list[tuple[type[Base], list[dict[str, Any]]]]


def _tenant_rows(start: int, stop: int, cipher: TokenCipher, now: datetime) -> _Rows:
    listing = ListingSpec.model_validate(DEMO_LISTING).model_dump()
    sellers, tenants, settings, listings = [], [], [], []
    for index in range(start, stop):
        ident = index + 1
        sellers.append({"id": ident, "name": f"Seller {ident}", "email": None, "created_at": now})
        tenants.append(
            {
                "id": ident,
                "seller_id": ident,
                "page_id": page_id_of(index),
                "page_name": f"Page {ident}",
                "page_access_token_encrypted": cipher.encrypt(f"scale-token-{ident}"),
                "status": "active",
                "created_at": now,
                "updated_at": now,
            }
        )
        settings.append(
            {
                "id": ident,
                "tenant_id": ident,
                "human_like_delays": False,
                # The benchmark measures the service, not Meta's per-Page send limits.
                "rate_limit_per_minute": 10**9,
                "rate_limit_per_hour": 10**9,
                "rate_limit_per_day": 10**9,
            }
        )
        listings.append({"id": ident, "seller_id": ident, "tenant_id": ident, "created_at": now, **listing})
    return [(Seller, sellers), (MessengerTenant, tenants), (MessengerSettings, settings), (Listing, listings)]


def _conversation_rows(start: int, stop: int, tenants: int, now: datetime) -> _Rows:
    conversations, messages, events = [], [], []
    per = len(SEEDED_HISTORY)
    inbound_per = sum(1 for direction, _, _ in SEEDED_HISTORY if direction == "inbound")
    for index in range(start, stop):
        ident = index + 1
        tenant = index % tenants + 1
        page_id, psid = page_id_of(index % tenants), seeded_psid(index)
        # Spread over the last six days, so windows and disclosures look like a live store's.
        began = now - timedelta(seconds=3600 + (index * 7919) % (6 * 86400))
        last_buyer = last_bot = began
        inbound_seen = 0
        for turn, (direction, author, body) in enumerate(SEEDED_HISTORY):
            at = began + timedelta(minutes=turn)
            mid = f"m_seed_{ident}_{turn}"
            inbound = direction == "inbound"
            messages.append(
                {
                    "id": index * per + turn + 1,
                    "tenant_id": tenant,
                    "conversation_id": ident,
                    "direction": direction,
                    "author": author,
                    "mid": mid,
                    "text": body,
                    "payload": {} if inbound else {"source": "template"},
                    "sent_at": at,
                    "status": "received" if inbound else "read",
                    "status_reason": None,
                    "outbound_key": None if inbound else f"seed{ident}x{turn}",
                    "messaging_type": None if inbound else "RESPONSE",
                    "tag": None,
                    "created_at": at,
                    "updated_at": at,
                }
            )
            if inbound:
                last_buyer = at
                stamp = int(at.timestamp() * 1000)
                events.append(
                    {
                        "id": index * inbound_per + inbound_seen + 1,
                        "delivery_id": None,
                        "page_id": page_id,
                        "buyer_psid": psid,
                        "event_key": f"message:messaging:{mid}",
                        "kind": "message",
                        "channel": "messaging",
                        "timestamp_ms": stamp,
                        "payload": {
                            "sender": {"id": psid},
                            "recipient": {"id": page_id},
                            "timestamp": stamp,
                            "message": {"mid": mid, "text": body},
                        },
                        "received_at": at,
                        "processed_at": at,
                        "outcome": "message stored",
                    }
                )
                inbound_seen += 1
            else:
                last_bot = at
        conversations.append(
            {
                "id": ident,
                "tenant_id": tenant,
                "buyer_psid": psid,
                "buyer_name": None,
                "listing_id": tenant,
                "mode": "bot",
                "negotiation_state": {},
                "last_buyer_message_at": last_buyer,
                "last_bot_message_at": last_bot,
                "disclosed_at": began + timedelta(minutes=1),
                "created_at": began,
                "updated_at": last_bot,
            }
        )
    return [(Conversation, conversations), (Message, messages), (EventLog, events)]


_SEEDED_TABLES = (
    "sellers",
    "messenger_tenants",
    "messenger_settings",
    "listings",
    "messenger_conversations",
    "messenger_messages",
    "messenger_events_log",
)


async def seed_store(
    database_url: str,
    encryption_key: str,
    tenants: int,
    conversations: int,
    console: Console | None = None,
) -> dict[str, Any]:
    """Fill a freshly migrated database with ``tenants`` Pages and ``conversations`` conversations.

    Rows get explicit ids (so children can point at parents without reading them back); PostgreSQL's
    sequences are moved past them afterwards. Returns the row counts and the seconds it took.
    """
    if tenants < 1 or conversations < 0:
        raise ValueError("need at least one tenant and a non-negative number of conversations")
    console = console or Console()
    engine = create_engine(database_url)
    cipher = TokenCipher(encryption_key)
    now = utcnow()
    counts: dict[str, int] = dict.fromkeys(_SEEDED_TABLES, 0)
    started = time.perf_counter()

    async def write(rows: _Rows) -> None:
        async with engine.begin() as connection:
            for model, values in rows:
                if values:
                    await connection.execute(insert(model), values)
                    counts[model.__tablename__] += len(values)

    try:
        with Progress(console=console) as progress:
            pages = progress.add_task("seeding tenants", total=tenants)
            for start in range(0, tenants, SEED_CHUNK):
                stop = min(tenants, start + SEED_CHUNK)
                await write(_tenant_rows(start, stop, cipher, now))
                progress.update(pages, completed=stop)
            threads = progress.add_task("seeding conversations", total=conversations)
            for start in range(0, conversations, SEED_CHUNK):
                stop = min(conversations, start + SEED_CHUNK)
                await write(_conversation_rows(start, stop, tenants, now))
                progress.update(threads, completed=stop)
        if engine.dialect.name == "postgresql":
            async with engine.begin() as connection:
                for table in _SEEDED_TABLES:
                    await connection.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT COALESCE(max(id), 0) + 1 FROM {table}), false)"
                        )
                    )
            async with engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                # A store that grew over months is vacuumed and analysed, and its rows are all-visible
                # with hint bits set. A fresh bulk load is none of that: left alone, the first reads would
                # write hint bits and autovacuum would start mid-measurement.
                for table in _SEEDED_TABLES:
                    await connection.execute(text(f"VACUUM (ANALYZE) {table}"))
                with suppress(DBAPIError):  # needs superuser or pg_checkpoint; only a nicety
                    await connection.execute(text("CHECKPOINT"))
        elif engine.url.database:
            # Fold the seed's WAL into the database file now rather than during the measurement.
            with closing(sqlite3.connect(engine.url.database)) as plain:
                plain.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        await engine.dispose()
    return {"seconds": time.perf_counter() - started, "rows": counts}


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
            latencies = match_replies(targets, sent_at, _received(graph_port))
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
            "send_p50_ms": _pct(replied, 50) * 1000,
            "send_p95_ms": _pct(replied, 95) * 1000,
            "send_p99_ms": _pct(replied, 99) * 1000,
            "send_p95_ms_by_round": self.round_p95_ms,
            **self.memory,
        }


def _prepare_store(env: dict[str, str], tenants: int, conversations: int, console: Console) -> dict[str, Any]:
    settings = Settings.model_validate(env)
    url = settings.effective_database_url
    if env["DATABASE_URL"]:
        _reset_postgres(url)
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

        from accorria_agent.jobs.procrastinate_queue import libpq_url

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
            graph_port = stack.enter_context(_server(GRAPH_FACTORY, {}))
            env = _env(data_dir, url, graph_port)
            seeded = _prepare_store(env, size_tenants, size_conversations, console)
            plan = plan_targets(size_tenants, size_conversations, warm + count)
            stores[name] = _Store(name, size_tenants, size_conversations, env, graph_port, seeded, plan)
        for store in stores.values():
            agent_env = {**store.env, "BENCH_RUN_JOBS": "0" if database_url else "1"}
            store.port, store.web = stack.enter_context(_server_process(AGENT_FACTORY, agent_env))
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
                store.round_p95_ms.append(_pct([v for v in got if v is not None], 95) * 1000)
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
