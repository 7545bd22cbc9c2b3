"""``bench dashboard`` at a tiny size, so that it cannot rot: it seeds, serves, measures and reports."""

from __future__ import annotations

import io
import math

import pytest
from rich.console import Console

from accorria_agent.bench.dashboard import run_dashboard
from tests.conftest import migrated_postgres_database


@pytest.mark.postgres
def test_tiny_run_measures_every_request_and_the_live_updates() -> None:
    output = io.StringIO()
    with migrated_postgres_database("accorria_dash") as url:  # the bench uses a sibling of this one
        figures = run_dashboard(
            url,
            conversations=200,
            thread_messages=40,
            dashboards=4,
            rounds=2,
            runs=3,
            console=Console(file=output, width=160),
        )
    assert figures["sizes"]["large"] == {"conversations": 200, "messages": 2000, "thread": 40}
    assert figures["sizes"]["baseline"]["conversations"] == 10
    for name in ("inbox first page", "inbox needs me", "thread, all messages", "thread, latest 100"):
        large = figures["large"][name]
        assert 0 < large["median_ms"] <= large["p95_ms"] <= large["max_ms"] < 10_000
        assert name in figures["baseline"]
    live = figures["large"]["4 open dashboards hear a message"]
    assert 0 < live["median_ms"] <= live["max_ms"] < 5000  # every dashboard heard every message
    assert all(math.isfinite(r) and r > 0 for r in figures["ratios"].values())
    assert "ratios (median)" in output.getvalue() and "goals:" in output.getvalue()
