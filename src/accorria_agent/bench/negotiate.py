"""``accorria-agent bench negotiate``: simulated buyers against ``understand()`` + ``decide()``.

Every buyer message is plain text and goes through the real parser and the real strategy, exactly as a
Messenger message would (no phrasing, no guard: those are benchmarked elsewhere). Figures:

* safety — floor violations: any decision amount or allowed amount below the floor (must be 0), and early
  floor reveals: the floor among the allowed amounts before the concessions are exhausted (must be 0);
* outcome — deal rate, agreed price / asking (mean, median), messages to agreement, handoffs;
* speed — decisions per second and per-message latency p50/p99 of understand + decide;
* calibration (``--craigslist``) — the same buyers' real CraigslistBargain counterparts, replayed with a
  floor at 80 % of the listing, beside what the human sellers of that corpus reached.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from accorria_agent.bench.buyers import PERSONAS, Buyer, craigslist_buyers, load_dialogues, synthetic_buyer
from accorria_agent.negotiation.schemas import (
    ActionKind,
    NegotiationState,
    SellerRules,
    Understanding,
)
from accorria_agent.negotiation.strategy import decide

#: Where the CraigslistBargain dev file lives relative to the working directory (never in the repo).
DEFAULT_CRAIGSLIST = Path("../shared/data/craigslist-cars-dev.jsonl")
#: Floor used for the calibration, as a share of the real listing price.
CRAIGSLIST_FLOOR_RATIO = Decimal("0.8")
#: Each real dialogue is replayed this many times with different phrasing.
CRAIGSLIST_REPEATS = 5
#: A conversation longer than this is a bug (the buyer and agent talk past each other), not a buyer.
MAX_MESSAGES = 40
#: Messages are dated inside a fixed, clock-free simulation.
SENT_AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TIMEZONE = "America/Detroit"

Understand = Callable[[str, Decimal, datetime, str], Understanding]
_PRICE_ACTIONS = frozenset(
    {ActionKind.COUNTER, ActionKind.ACCEPT, ActionKind.HOLD, ActionKind.DECLINE_LOWBALL, ActionKind.ASK_OFFER}
)


@dataclass
class Outcome:
    """What happened with one simulated buyer."""

    persona: str
    asking: Decimal
    floor: Decimal
    willingness: Decimal
    price: Decimal | None
    messages: int
    handoff: bool
    stuck: bool


@dataclass
class Safety:
    """Safety counters accumulated over every decision."""

    decisions: int = 0
    floor_violations: int = 0
    early_floor_reveals: int = 0


@dataclass
class Timings:
    """Per-message timings in ns: understand + decide (wall and this thread's CPU), and decide alone.

    CPU time is reported beside wall time because a shared 2-core machine preempts the process: wall p99
    then measures the neighbours as much as the code.
    """

    wall: list[int] = field(default_factory=list)
    cpu: list[int] = field(default_factory=list)
    decide: list[int] = field(default_factory=list)


def _parser() -> Understand:
    from accorria_agent.negotiation.understanding import understand

    return understand


def simulate(
    buyer: Buyer, rules: SellerRules, understand: Understand, safety: Safety, timings: Timings
) -> Outcome:
    """Run one conversation to its end; record per-message timings and safety counters."""
    state = NegotiationState()
    text: str | None = buyer.first_message()
    price: Decimal | None = None
    handoff = False
    messages = 0
    while text is not None and messages < MAX_MESSAGES:
        messages += 1
        start, cpu_start = time.perf_counter_ns(), time.thread_time_ns()
        understood = understand(text, rules.asking_price, SENT_AT, TIMEZONE)
        decide_start = time.perf_counter_ns()
        decision, state = decide(rules, state, understood)
        end = time.perf_counter_ns()
        timings.cpu.append(time.thread_time_ns() - cpu_start)
        timings.wall.append(end - start)
        timings.decide.append(end - decide_start)
        _check(rules, state, decision.action, decision.amount, decision.allowed_amounts, safety)
        if decision.action is ActionKind.ACCEPT:
            price = decision.amount
        if decision.action in (ActionKind.HANDOFF, ActionKind.WARN_SCAM):
            handoff = True
        text = buyer.react(decision.action.value, decision.amount)
    return Outcome(
        buyer.persona,
        rules.asking_price,
        rules.price_floor,
        buyer.willingness,
        price,
        messages,
        handoff,
        stuck=text is not None,
    )


def _check(
    rules: SellerRules,
    state: NegotiationState,
    action: ActionKind,
    amount: Decimal | None,
    allowed: frozenset[Decimal],
    safety: Safety,
) -> None:
    floor = rules.price_floor
    safety.decisions += 1
    if (action in _PRICE_ACTIONS and amount is not None and amount < floor) or any(
        a < floor for a in allowed
    ):
        safety.floor_violations += 1
    floor_allowed = (
        floor == rules.asking_price
        or state.agreed_price == floor
        or state.concessions_used >= rules.max_concessions
    )
    if floor in allowed and not floor_allowed:
        safety.early_floor_reveals += 1


def _percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))]) if ordered else 0.0


def _ratio_stats(values: Iterable[float]) -> tuple[float, float]:
    items = list(values)
    return (statistics.fmean(items), statistics.median(items)) if items else (0.0, 0.0)


def _figures(outcomes: list[Outcome]) -> dict[str, Any]:
    deals = [o for o in outcomes if o.price is not None]
    mean_ratio, median_ratio = _ratio_stats(float(o.price / o.asking) for o in deals if o.price)
    return {
        "buyers": len(outcomes),
        "deal_rate": len(deals) / len(outcomes) if outcomes else 0.0,
        "mean_price_ratio": mean_ratio,
        "median_price_ratio": median_ratio,
        "mean_messages_to_agreement": statistics.fmean(o.messages for o in deals) if deals else 0.0,
        "handoffs": sum(o.handoff for o in outcomes),
        "stuck": sum(o.stuck for o in outcomes),
        **_zone(outcomes),
    }


def _zone(outcomes: list[Outcome]) -> dict[str, Any]:
    """Close rate among buyers willing to pay the floor, and the share of their zone we keep."""
    willing = [o for o in outcomes if o.willingness >= o.floor and o.persona != "scammer"]
    closed = [o for o in willing if o.price is not None]
    kept = [
        float((o.price - o.floor) / (o.willingness - o.floor)) if o.willingness > o.floor else 1.0
        for o in closed
        if o.price is not None
    ]
    mean_kept, median_kept = _ratio_stats(kept)
    return {
        "willing_buyers": len(willing),
        "willing_close_rate": len(closed) / len(willing) if willing else 0.0,
        "zone_kept_mean": mean_kept,
        "zone_kept_median": median_kept,
    }


def run(
    buyers: int = 1000,
    seed: int = 7,
    craigslist: Path | None = None,
    console: Console | None = None,
    understand: Understand | None = None,
) -> dict[str, Any]:
    """Simulate ``buyers`` synthetic buyers (and the CraigslistBargain replay if the file is there).

    Prints a progress bar and a table to ``console`` and returns the figures. ``understand`` defaults to
    the real parser; tests of the harness may pass another.
    """
    console = console or Console()
    parse = understand or _parser()
    rng = random.Random(seed)
    safety = Safety()
    timings = Timings()
    outcomes: list[Outcome] = []
    path = craigslist if craigslist is not None else DEFAULT_CRAIGSLIST
    dialogues, skipped = load_dialogues(path) if path.is_file() else ([], 0)
    replay = list(craigslist_buyers(dialogues, CRAIGSLIST_FLOOR_RATIO, CRAIGSLIST_REPEATS, seed))
    replayed: list[Outcome] = []

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("negotiating", total=buyers + len(replay))
        for _ in range(buyers):
            buyer, settings = synthetic_buyer(rng.choice(PERSONAS), rng)
            outcomes.append(simulate(buyer, SellerRules(**settings), parse, safety, timings))
            progress.advance(task)
        for buyer, dialogue in replay:
            rules = SellerRules(asking_price=dialogue.listing, price_floor=buyer.floor)
            replayed.append(simulate(buyer, rules, parse, safety, timings))
            progress.advance(task)

    total_ns = sum(timings.wall)
    figures: dict[str, Any] = {
        "seed": seed,
        "messages": len(timings.wall),
        "decisions": safety.decisions,
        "floor_violations": safety.floor_violations,
        "early_floor_reveals": safety.early_floor_reveals,
        "decisions_per_second": len(timings.wall) / (total_ns / 1e9) if total_ns else 0.0,
        "latency_p50_ms": _percentile(timings.wall, 0.50) / 1e6,
        "latency_p99_ms": _percentile(timings.wall, 0.99) / 1e6,
        "cpu_p50_ms": _percentile(timings.cpu, 0.50) / 1e6,
        "cpu_p99_ms": _percentile(timings.cpu, 0.99) / 1e6,
        "decide_p50_ms": _percentile(timings.decide, 0.50) / 1e6,
        "decide_p99_ms": _percentile(timings.decide, 0.99) / 1e6,
        "load_average": os.getloadavg()[0],
        "cpus": os.cpu_count(),
        **_figures(outcomes),
        "personas": {p: _figures([o for o in outcomes if o.persona == p]) for p in PERSONAS},
        "craigslist": _craigslist_figures(replayed, dialogues, skipped) if dialogues else None,
    }
    console.print(_table(figures))
    return figures


def _craigslist_figures(replayed: list[Outcome], dialogues: list[Any], skipped: int) -> dict[str, Any]:
    human_deals = [d for d in dialogues if d.human_deal and d.human_price is not None]
    human_ratios = [float(d.human_price / d.listing) for d in human_deals]
    return {
        "dialogues": len(dialogues),
        "skipped": skipped,
        "replays": len(replayed),
        "agent": _figures(replayed),
        "human_deal_rate": len(human_deals) / len(dialogues),
        "human_median_price_ratio": statistics.median(human_ratios) if human_ratios else 0.0,
        "human_mean_price_ratio": statistics.fmean(human_ratios) if human_ratios else 0.0,
        "human_deals_at_or_above_floor": sum(
            1 for d in human_deals if d.human_price >= d.listing * CRAIGSLIST_FLOOR_RATIO
        ),
    }


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def _table(f: dict[str, Any]) -> Table:
    table = Table(title=f"Negotiation bench — {f['buyers']} buyers, seed {f['seed']}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        ("floor violations (must be 0)", str(f["floor_violations"])),
        ("early floor reveals (must be 0)", str(f["early_floor_reveals"])),
        ("deal rate", _pct(f["deal_rate"])),
        (
            "agreed price / asking (mean · median)",
            f"{f['mean_price_ratio']:.3f} · {f['median_price_ratio']:.3f}",
        ),
        ("messages to agreement (mean)", f"{f['mean_messages_to_agreement']:.2f}"),
        ("willing buyers closed", _pct(f["willing_close_rate"])),
        ("zone kept (mean · median)", f"{_pct(f['zone_kept_mean'])} · {_pct(f['zone_kept_median'])}"),
        ("handoffs", str(f["handoffs"])),
        ("stuck conversations", str(f["stuck"])),
        ("decisions / s", f"{f['decisions_per_second']:,.0f}"),
        (
            "latency p50 · p99 (understand + decide, wall)",
            f"{f['latency_p50_ms']:.3f} · {f['latency_p99_ms']:.3f} ms",
        ),
        ("  same, CPU time of this thread", f"{f['cpu_p50_ms']:.3f} · {f['cpu_p99_ms']:.3f} ms"),
        ("  decide alone (wall)", f"{f['decide_p50_ms']:.3f} · {f['decide_p99_ms']:.3f} ms"),
        ("load average (1 min) · cores", f"{f['load_average']:.2f} · {f['cpus']}"),
    ]
    for persona, p in f["personas"].items():
        rows.append(
            (
                f"  {persona}",
                f"{p['buyers']} buyers, deals {_pct(p['deal_rate'])}, "
                f"median {p['median_price_ratio']:.3f}, zone {_pct(p['zone_kept_median'])}",
            )
        )
    c = f["craigslist"]
    if c:
        a = c["agent"]
        rows += [
            (
                "CraigslistBargain replay",
                f"{c['dialogues']} dialogues × {CRAIGSLIST_REPEATS} (skipped {c['skipped']})",
            ),
            ("  deal rate: agent · human sellers", f"{_pct(a['deal_rate'])} · {_pct(c['human_deal_rate'])}"),
            (
                "  median price / listing: agent · human",
                f"{a['median_price_ratio']:.3f} · {c['human_median_price_ratio']:.3f}",
            ),
            ("  buyers willing ≥ floor closed (goal ≥ 90 %)", _pct(a["willing_close_rate"])),
            (
                "  zone kept mean · median (goal ≥ 50 %)",
                f"{_pct(a['zone_kept_mean'])} · {_pct(a['zone_kept_median'])}",
            ),
        ]
    for name, value in rows:
        table.add_row(name, value)
    return table
