"""A scale-out cluster of real processes on a fresh PostgreSQL database, and the checks run on it.

``Cluster`` owns: the database (created, migrated, dropped), the Graph stand-in (the Messenger simulator in
its own uvicorn process), ``serve --no-with-jobs`` web processes and ``worker`` processes. Everything it
starts is stopped by :meth:`Cluster.close`, which the fixture calls even when a test fails.

:func:`collect` reads the outcome (database + the stand-in's Send API log) once every process is stopped,
and :func:`check_guarantees` asserts the scale-out guarantees on it, naming the conversation and mid.
"""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import secrets
import signal
import subprocess
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from cryptography.fernet import Fernet

from accorria_agent.bench.fault_support import (
    HOST,
    STAND_IN_GRAPH_PREFIX,
    Process,
    SendStats,
    agent_command,
    create_database,
    drop_database,
    free_port,
    message_body,
    seed_tenants,
    send_in_order,
    stand_in_command,
)
from accorria_agent.db.migrate import upgrade

# Texts that keep a conversation with the bot (no offer, no handoff), so every turn gets one reply.
BUYER_TEXTS = (
    "Hi, is this still available?",
    "What's the mileage on it?",
    "Has it been in any accidents?",
    "Where is it located?",
    "Does it have a backup camera?",
)


@dataclass
class Conversation:
    """One buyer writing to one Page: the mids in the order the buyer sent them."""

    page_id: str
    psid: str
    mids: list[str]
    bodies: list[bytes]


@dataclass
class Load:
    """The buyer messages of a run."""

    conversations: list[Conversation]

    @property
    def messages(self) -> int:
        return sum(len(c.mids) for c in self.conversations)

    def bodies(self) -> list[list[bytes]]:
        return [c.bodies for c in self.conversations]


class Cluster:
    """Database + Graph stand-in + web and worker processes for one test."""

    def __init__(self, admin_url: str, workdir: Path) -> None:
        self.admin_url = admin_url
        self.workdir = workdir
        self.db_name = f"accorria_faults_{uuid.uuid4().hex[:10]}"
        base = admin_url.rsplit("/", 1)[0]
        self.plain_url = f"{base}/{self.db_name}"
        self.app_secret = secrets.token_hex(24)
        self.app_id = str(10**14 + secrets.randbelow(10**14))
        self.page_token = "EAAG" + secrets.token_urlsafe(48)
        # Page and buyer ids unique to this run: Redis (the shared rate limiter) outlives the database.
        self.run_prefix = str(100 + secrets.randbelow(900))
        self.stand_in_port = free_port()
        # Known before the first web process starts: the stand-in sends its echoes there.
        self.first_web_port = free_port()
        self.env = {
            **os.environ,
            "DATABASE_URL": self.plain_url,
            "FACEBOOK_APP_SECRET": self.app_secret,
            "FACEBOOK_APP_ID": self.app_id,
            "FACEBOOK_VERIFY_TOKEN": secrets.token_urlsafe(24),
            "ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "JWT_SECRET": secrets.token_urlsafe(48),
            "FACEBOOK_GRAPH_URL": f"http://{HOST}:{self.stand_in_port}{STAND_IN_GRAPH_PREFIX}",
            "REDIS_URL": os.environ.get("ACCORRIA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
            "REPLY_QUIET_PERIOD_SECONDS": "0",
            "HUMAN_LIKE_DELAYS": "false",
            "ACCORRIA_ENV": "production",
            "LOG_LEVEL": "WARNING",
            "STAND_IN_APP_ID": "",
            "STAND_IN_APP_SECRET": "",
            "STAND_IN_PAGE_TOKEN": "",
        }
        self.env.update(
            STAND_IN_APP_ID=self.app_id,
            STAND_IN_APP_SECRET=self.app_secret,
            STAND_IN_PAGE_TOKEN=self.page_token,
        )
        self.processes: list[Process] = []
        self.database_created = False
        self.webs: list[Process] = []
        self.workers: list[Process] = []
        self.stand_in: Process | None = None
        self._names: Counter[str] = Counter()

    # ------------------------------------------------------------------------------------ lifecycle

    def create(self, tenants: int) -> list[str]:
        """Create and migrate the database, seed ``tenants`` Pages; returns their Page ids."""
        asyncio.run(create_database(self.admin_url, self.db_name))
        self.database_created = True
        url = self.plain_url.replace("postgresql://", "postgresql+asyncpg://", 1)
        upgrade(url)
        pages = [f"{self.run_prefix}{index:06d}" for index in range(tenants)]
        asyncio.run(seed_tenants(url, self.env["ENCRYPTION_KEY"], pages, self.page_token))
        return pages

    def _process(self, kind: str, argv: list[str], port: int | None = None) -> Process:
        self._names[kind] += 1
        name = f"{kind}-{self._names[kind]}"
        process = Process(name, argv, dict(self.env), self.workdir / f"{name}.log", port=port)
        self.processes.append(process)
        return process.start()

    def start_stand_in(self, send_latency: float = 0.0, *, echoes: bool = False) -> Process:
        """The Graph stand-in; with ``echoes`` it echoes every accepted send to the first web process."""
        self.env["STAND_IN_SEND_LATENCY_SECONDS"] = str(send_latency)
        self.env["STAND_IN_ECHOES"] = "1" if echoes else ""
        self.env["STAND_IN_WEBHOOK_URL"] = f"http://{HOST}:{self.first_web_port}/webhook"
        self.stand_in = self._process("graph", stand_in_command(self.stand_in_port), self.stand_in_port)
        return self.stand_in

    def start_web(self) -> Process:
        port = self.first_web_port if not self.webs else free_port()
        web = self._process(
            "web", agent_command("serve", "--host", HOST, "--port", str(port), "--no-with-jobs"), port
        )
        self.webs.append(web)
        return web

    def start_worker(self) -> Process:
        worker = self._process("worker", agent_command("worker"))
        self.workers.append(worker)
        return worker

    def stop_agents(self) -> None:
        """SIGTERM every web and worker process (workers first: they may be sending); the stand-in stays."""
        for process in [*self.workers, *self.webs]:
            process.stop()

    def close(self) -> None:
        """Stop everything and drop the database; runs even when the test failed."""
        for process in self.processes:
            try:
                process.stop(timeout=5)
            except Exception:  # cleanup must go on for the others
                process.signal(signal.SIGKILL)
        if self.database_created:
            asyncio.run(drop_database(self.admin_url, self.db_name))

    def logs(self) -> str:
        """Every process's log tail, for a failing assertion."""
        return "\n".join(f"--- {p.name} ---\n{p.tail(1500)}" for p in self.processes)

    # ---------------------------------------------------------------------------------------- load

    def build_load(self, pages: list[str], buyers_per_page: int, messages_per_buyer: int) -> Load:
        """Buyer conversations, each a sequence of messages with increasing timestamps."""
        now = int(time.time() * 1000)
        conversations = []
        for p_index, page_id in enumerate(pages):
            for b in range(buyers_per_page):
                psid = f"{self.run_prefix}{p_index:06d}{b:03d}"
                mids, bodies = [], []
                for k in range(messages_per_buyer):
                    mid = f"m_{psid}_{k}_{uuid.uuid4().hex[:8]}"
                    text = BUYER_TEXTS[k % len(BUYER_TEXTS)]
                    mids.append(mid)
                    bodies.append(message_body(page_id, psid, mid, text, now + k * 10))
                conversations.append(Conversation(page_id, psid, mids, bodies))
        self.register_buyers([c.psid for c in conversations], [c.page_id for c in conversations])
        return Load(conversations)

    def register_buyers(self, psids: list[str], pages: list[str]) -> None:
        response = httpx.post(
            f"http://{HOST}:{self.stand_in_port}/stand-in/buyers",
            json={"psids": psids, "pages": pages},
            timeout=30,
        )
        response.raise_for_status()

    def set_faults(self, error_rate: float, kinds: list[str], timeout_seconds: float) -> None:
        response = httpx.post(
            f"http://{HOST}:{self.stand_in_port}/simulator/api/faults",
            json={"error_rate": error_rate, "kinds": kinds, "timeout_seconds": timeout_seconds, "seed": 7},
            timeout=10,
        )
        response.raise_for_status()

    def send(self, load: Load, concurrency: int = 32, timeout: float = 240.0) -> SendStats:
        ports = [w.port for w in self.webs if w.port is not None]
        return asyncio.run(
            send_in_order(ports, load.bodies(), self.app_secret, concurrency=concurrency, timeout=timeout)
        )

    def cli(self, *args: str) -> str:
        """Run ``accorria-agent ARGS`` as an operator would, from its own process; returns its stdout."""
        done = subprocess.run(
            agent_command(*args), env=dict(self.env), capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, f"accorria-agent {' '.join(args)}: {done.stderr}"
        return done.stdout

    def sent_log(self) -> list[dict[str, Any]]:
        response = httpx.get(f"http://{HOST}:{self.stand_in_port}/stand-in/sent", timeout=60)
        response.raise_for_status()
        rows: list[dict[str, Any]] = response.json()
        return rows

    # ------------------------------------------------------------------------------------ database

    async def _fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        connection = await asyncpg.connect(self.plain_url, timeout=5)
        try:
            return list(await connection.fetch(query, *args))
        finally:
            await connection.close()

    def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        return asyncio.run(self._fetch(query, *args))

    def wait_workers_ready(self, timeout: float = 60) -> None:
        """Until every started worker has registered with procrastinate (its first heartbeat).

        A worker that starts while the database is down refuses to start (the preflight), so a test that
        takes the database away must first know its workers are up.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for worker in self.workers:
                assert worker.alive(), f"{worker.name} exited:\n{worker.tail(1500)}"
            (row,) = self.fetch("SELECT count(*) AS n FROM procrastinate_workers")
            if int(row["n"]) >= len(self.workers):
                return
            time.sleep(0.2)
        raise AssertionError(f"workers not ready in {timeout:.0f} s\n{self.logs()}")

    def progress(self) -> dict[str, int]:
        """Counters used to wait for the cluster to settle."""
        row = self.fetch(
            """
            SELECT
              (SELECT count(*) FROM messenger_events_log) AS events,
              (SELECT count(*) FROM messenger_events_log WHERE processed_at IS NULL) AS unprocessed,
              (SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing') AS doing,
              (SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'
                  AND (scheduled_at IS NULL OR scheduled_at <= now() + interval '20 seconds')) AS due,
              (SELECT count(*) FROM messenger_messages WHERE direction = 'outbound'
                  AND status IN ('pending', 'sending')) AS unsent
            """
        )[0]
        return dict(row)

    def wait_settled(
        self, timeout: float, stable_polls: int = 3, *, raise_on_timeout: bool = True
    ) -> tuple[float, dict[str, int]]:
        """Poll until every event is processed, no job is running or due, no reply awaits its send.

        With ``raise_on_timeout=False`` it returns at the timeout, so that the guarantee checks can say
        precisely what is stuck.
        """
        started = time.monotonic()
        quiet = 0
        state: dict[str, int] = {}
        while time.monotonic() - started < timeout:
            state = self.progress()
            settled = state["events"] > 0 and not (
                state["unprocessed"] or state["doing"] or state["due"] or state["unsent"]
            )
            quiet = quiet + 1 if settled else 0
            if quiet >= stable_polls:
                return time.monotonic() - started, state
            time.sleep(0.5)
        if not raise_on_timeout:
            return time.monotonic() - started, state
        raise AssertionError(f"cluster did not settle in {timeout:.0f} s: {state}\n{self.logs()}")

    def wait_processed_fraction(self, fraction: float, total: int, timeout: float) -> int:
        """Wait until ``fraction`` of ``total`` message events are processed; returns the count."""
        deadline = time.monotonic() + timeout
        done = 0
        while time.monotonic() < deadline:
            done = int(
                self.fetch(
                    "SELECT count(*) FROM messenger_events_log WHERE kind = 'message' "
                    "AND processed_at IS NOT NULL"
                )[0][0]
            )
            if done >= fraction * total:
                return done
            time.sleep(0.1)
        raise AssertionError(f"only {done}/{total} processed after {timeout} s\n{self.logs()}")


# ------------------------------------------------------------------------------------------- checks


@dataclass
class Outcome:
    """What the run left behind, read after every process stopped."""

    events: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    jobs: list[dict[str, Any]]
    sent: list[dict[str, Any]]
    counts: dict[str, Any] = field(default_factory=dict)


def collect(cluster: Cluster) -> Outcome:
    """Read the database and the stand-in's log (call once nothing runs any more)."""
    events = cluster.fetch(
        "SELECT page_id, buyer_psid, event_key, kind, timestamp_ms, processed_at, outcome "
        "FROM messenger_events_log ORDER BY id"
    )
    messages = cluster.fetch(
        """
        SELECT m.id, m.tenant_id, t.page_id, c.buyer_psid, m.direction, m.author, m.mid, m.sent_at, m.status,
               m.status_reason, m.outbound_key, m.created_at
          FROM messenger_messages m
          JOIN messenger_conversations c ON c.id = m.conversation_id
          JOIN messenger_tenants t ON t.id = m.tenant_id
         ORDER BY m.id
        """
    )
    jobs = cluster.fetch("SELECT id, task_name, status, args, scheduled_at FROM procrastinate_jobs")
    outcome = Outcome(
        [dict(r) for r in events], [dict(r) for r in messages], [dict(r) for r in jobs], cluster.sent_log()
    )
    # Kept next to the process logs, to study a failure without re-running minutes of load.
    with (cluster.workdir / "outcome.pickle").open("wb") as out:
        pickle.dump(outcome, out)
    return outcome


def _mid(event: dict[str, Any]) -> str:
    """A message event's key is ``message:{channel}:{mid}``."""
    return str(event["event_key"]).rsplit(":", 1)[-1]


def check_guarantees(load: Load, outcome: Outcome, *, faults: bool = False) -> dict[str, Any]:
    """Assert: each message processed once, in order, one reply per turn, no duplicate send, none lost.

    With ``faults`` a reply may also be ``failed`` (with a reason) or ``pending`` with a scheduled
    ``deliver_outbound`` job; without, every reply must have been sent. Returns the counts.
    """
    expected = {mid: conv for conv in load.conversations for mid in conv.mids}
    key_of = {(c.page_id, c.psid): c for c in load.conversations}

    # 1. every inbound message stored once and processed
    message_events = [e for e in outcome.events if e["kind"] == "message"]
    seen = Counter(_mid(e) for e in message_events)
    missing = [mid for mid in expected if mid not in seen]
    assert not missing, f"{len(missing)} messages lost before storage, e.g. {missing[:3]}"
    doubled = [mid for mid, n in seen.items() if n > 1]
    assert not doubled, f"events stored twice: {doubled[:3]}"
    unprocessed = [e for e in outcome.events if e["processed_at"] is None]
    assert not unprocessed, (
        f"{len(unprocessed)} events never processed, e.g. conversation "
        f"{unprocessed[0]['page_id']}/{unprocessed[0]['buyer_psid']} {unprocessed[0]['event_key']}"
    )
    inbound = [m for m in outcome.messages if m["direction"] == "inbound"]
    per_mid = Counter(m["mid"] for m in inbound)
    for mid, conv in expected.items():
        assert per_mid.get(mid) == 1, (
            f"conversation {conv.page_id}/{conv.psid}: mid {mid} has {per_mid.get(mid, 0)} inbound rows"
        )

    # 2. per conversation: applied in the buyer's order; replies after what they answer, one per turn
    by_conv: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for m in outcome.messages:
        by_conv[(m["page_id"], m["buyer_psid"])].append(m)
    turns_by_conv: dict[tuple[str, str], dict[datetime, list[str]]] = defaultdict(lambda: defaultdict(list))
    for e in message_events:
        turns_by_conv[(e["page_id"], e["buyer_psid"])][e["processed_at"]].append(_mid(e))
    total_turns = 0
    for key, conv in key_of.items():
        rows = by_conv.get(key, [])
        applied = [m["mid"] for m in rows if m["direction"] == "inbound"]
        assert applied == conv.mids, (
            f"conversation {key[0]}/{key[1]}: inbound applied in order {applied}, buyer sent {conv.mids}"
        )
        bots = [m for m in rows if m["author"] == "bot"]
        turns = sorted(turns_by_conv[key].items())
        total_turns += len(turns)
        assert len(bots) == len(turns), (
            f"conversation {key[0]}/{key[1]}: {len(bots)} bot messages for {len(turns)} turns "
            f"({[mids for _, mids in turns]})"
        )
        id_of = {m["mid"]: m["id"] for m in rows if m["direction"] == "inbound"}
        for index, ((processed_at, mids), bot) in enumerate(zip(turns, bots, strict=True)):
            answered = max(id_of[mid] for mid in mids)
            assert bot["id"] > answered and bot["sent_at"] == processed_at, (
                f"conversation {key[0]}/{key[1]}: reply {bot['id']} ({bot['outbound_key']}) is not after "
                f"turn {index}'s messages {mids}"
            )
            if index + 1 < len(turns):
                following = min(id_of[mid] for mid in turns[index + 1][1])
                assert bot["id"] < following, (
                    f"conversation {key[0]}/{key[1]}: reply {bot['id']} was made after a later message"
                )

    # 3. the Graph stand-in got each reply at most once, and every sent reply exactly once
    accepted = Counter(
        r["metadata"] for r in outcome.sent if r["status"] == 200 and r["sender_action"] is None
    )
    duplicates = {k: n for k, n in accepted.items() if n > 1}
    assert not duplicates, (
        f"replies delivered more than once (outbound_key: count): {list(duplicates.items())[:5]}"
    )
    bots = [m for m in outcome.messages if m["author"] == "bot"]
    keys = {m["outbound_key"] for m in bots}
    strangers = [k for k in accepted if k not in keys]
    assert not strangers, f"the stand-in accepted sends no intent explains: {strangers[:3]}"
    statuses = Counter(m["status"] for m in bots)
    for m in bots:
        where = f"conversation {m['page_id']}/{m['buyer_psid']} reply {m['outbound_key']}"
        if m["status"] == "sent":
            assert accepted.get(m["outbound_key"]) == 1, f"{where}: recorded sent, stand-in has none"
        else:
            assert faults, f"{where}: status {m['status']} ({m['status_reason']}) without injected faults"
            assert accepted.get(m["outbound_key"]) is None, f"{where}: {m['status']} but delivered"
    retries_scheduled: set[int] = set()
    releases_scheduled: set[int] = set()  # tenants whose held replies a release job will send
    for job in outcome.jobs:
        if job["status"] != "todo":
            continue
        args = job["args"] if isinstance(job["args"], dict) else json.loads(job["args"])
        if job["task_name"] == "deliver_outbound":
            retries_scheduled.update(int(i) for i in args["args"]["message_ids"])
        elif job["task_name"] == "release_rate_limited":
            releases_scheduled.add(int(args["args"]["tenant_id"]))
    # "held": Meta's rate limit (613) paused the Page; a release job sends it when the Page may again.
    held_without_release = [
        m for m in bots if m["status"] == "held" and m["tenant_id"] not in releases_scheduled
    ]
    assert not held_without_release, (
        f"{len(held_without_release)} replies held with no release scheduled (lost), e.g. "
        f"{held_without_release[0]['page_id']}/{held_without_release[0]['buyer_psid']}"
    )
    # "queued" means a deliver_outbound job will send it; "pending" must not be left over at all.
    pending_without_retry = [
        m for m in bots if m["status"] in ("pending", "queued") and m["id"] not in retries_scheduled
    ]
    assert not pending_without_retry, (
        f"{len(pending_without_retry)} replies pending with no retry scheduled (lost), e.g. "
        f"{pending_without_retry[0]['page_id']}/{pending_without_retry[0]['buyer_psid']} "
        f"{pending_without_retry[0]['outbound_key']} ({pending_without_retry[0]['status_reason']})"
    )
    failed_without_reason = [m for m in bots if m["status"] == "failed" and not m["status_reason"]]
    assert not failed_without_reason, f"failed replies without a reason: {failed_without_reason[:3]}"
    unexpected = set(statuses) - {"sent", "queued", "held", "failed"}
    assert not unexpected, f"unexpected reply statuses: {unexpected}"
    return {
        "messages": len(expected),
        "conversations": len(key_of),
        "turns": total_turns,
        "replies": dict(statuses),
        "send_api_attempts": sum(1 for r in outcome.sent if r["sender_action"] is None),
        "send_api_errors": dict(Counter(r["code"] for r in outcome.sent if r["status"] != 200)),
    }
