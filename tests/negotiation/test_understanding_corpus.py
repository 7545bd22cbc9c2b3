"""The parser measured on the labelled corpus ``tests/data/buyer_messages.jsonl`` must meet its goals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from accorria_agent.negotiation.evaluation import Report, evaluate
from accorria_agent.negotiation.schemas import Intent

CORPUS = Path(__file__).resolve().parents[1] / "data" / "buyer_messages.jsonl"


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    with CORPUS.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="module")
def report(rows: list[dict[str, Any]]) -> Report:
    return evaluate(rows)


def test_corpus_is_large_varied_and_well_formed(rows: list[dict[str, Any]]) -> None:
    valid = {i.value for i in Intent}
    assert len(rows) >= 450
    assert sum(1 for r in rows if r["scam"]) >= 40
    assert sum(1 for r in rows if r.get("lang") == "es") >= 40
    for r in rows:
        assert r["intent"] == r["intents"][0]
        assert set(r["intents"]) <= valid
        assert (r["offer"] is None) == ("offer" not in r["intents"])


def test_primary_intent_goal(report: Report) -> None:
    assert report.primary_accuracy >= 0.90


def test_offer_goals(report: Report) -> None:
    assert report.offer_exact >= 0.95
    assert report.invented_offer_rate <= 0.02


def test_scam_goals(report: Report) -> None:
    assert report.scam_recall >= 0.90
    assert report.scam_false_alarm_rate <= 0.02


def test_every_intent_is_represented_and_recognised(report: Report) -> None:
    for score in report.per_intent:
        assert score.support > 0, score.intent
        assert score.f1 >= 0.6, score
