"""``evaluate`` computes its metrics correctly (checked with a scripted runner)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from accorria_agent.negotiation.evaluation import evaluate
from accorria_agent.negotiation.schemas import Intent, Understanding

ROWS: list[dict[str, Any]] = [
    {"text": "a", "asking_price": 100, "intent": "offer", "intents": ["offer"], "offer": 90, "scam": False},
    {"text": "b", "asking_price": 100, "intent": "offer", "intents": ["offer"], "offer": 80, "scam": False},
    {"text": "c", "asking_price": 100, "intent": "other", "intents": ["other"], "offer": None, "scam": True},
    {
        "text": "d",
        "asking_price": 100,
        "intent": "greeting",
        "intents": ["greeting"],
        "offer": None,
        "scam": False,
        "sent_at": "2024-05-15T12:00:00-04:00",
        "proposed_time": None,
    },
]

SCRIPT: dict[str, Understanding] = {
    "a": Understanding(Intent.OFFER, (Intent.OFFER,), offer=Decimal(90)),
    "b": Understanding(Intent.OFFER, (Intent.OFFER,), offer=Decimal(85)),
    "c": Understanding(Intent.OTHER, (Intent.OTHER,), scam=False),
    "d": Understanding(
        Intent.OFFER,
        (Intent.OFFER, Intent.GREETING),
        offer=Decimal(50),
        scam=True,
        scam_reasons=("x",),
        proposed_time=datetime.fromisoformat("2024-05-16T17:00:00-04:00"),
    ),
}


def runner(row: Mapping[str, Any]) -> Understanding:
    return SCRIPT[row["text"]]


def test_metrics_from_scripted_runner() -> None:
    report = evaluate(ROWS, runner)
    assert report.rows == 4
    assert report.primary_accuracy == 0.75
    assert report.offer_rows == 2 and report.offer_exact == 0.5
    assert report.no_offer_rows == 2 and report.invented_offer_rate == 0.5
    assert report.scam_rows == 1 and report.scam_recall == 0.0
    assert report.clean_rows == 3 and report.scam_false_alarm_rate == 1 / 3
    assert report.time_rows == 1 and report.time_exact == 0.0
    offer = next(s for s in report.per_intent if s.intent == "offer")
    assert (offer.support, offer.predicted) == (2, 3)
    assert offer.precision == 2 / 3 and offer.recall == 1.0
    assert len(report.mistakes) == 3
    assert "| offer |" in report.markdown()


def test_empty_corpus() -> None:
    report = evaluate([], runner)
    assert report.rows == 0
    assert report.invented_offer_rate == 0.0 and report.scam_false_alarm_rate == 0.0
