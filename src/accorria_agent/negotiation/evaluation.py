"""Measure the buyer-message parser against a labelled corpus.

Pure: the caller loads the rows (e.g. ``tests/data/buyer_messages.jsonl``) and passes them in together with
a *runner* turning one row into an ``Understanding`` (by default :func:`run_row`, i.e. ``understand``).

A row is a mapping with ``text``, ``asking_price`` (number or ``None``), ``intent``, ``intents``, ``offer``
(number or ``None``), ``scam`` and optionally ``sent_at`` / ``proposed_time`` (ISO 8601) and
``vehicle_topics``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from accorria_agent.negotiation.schemas import INTENT_PRIORITY, Understanding
from accorria_agent.negotiation.understanding import understand

Row = Mapping[str, Any]
Runner = Callable[[Row], Understanding]


@dataclass(frozen=True)
class IntentScore:
    """Precision/recall/F1 of one intent over the multi-label ``intents`` sets."""

    intent: str
    precision: float
    recall: float
    f1: float
    support: int  # rows whose label contains the intent
    predicted: int  # rows where the parser predicted it


@dataclass(frozen=True)
class Report:
    """Parser quality on a corpus.

    Rates are in [0, 1]; over an empty set, success rates are 1.0 and error rates 0.0.
    """

    rows: int
    primary_accuracy: float
    per_intent: tuple[IntentScore, ...]
    offer_rows: int
    offer_exact: float
    no_offer_rows: int
    invented_offer_rate: float
    scam_rows: int
    scam_recall: float
    clean_rows: int
    scam_false_alarm_rate: float
    time_rows: int
    time_exact: float
    topic_rows: int
    topic_recall: float
    mistakes: tuple[dict[str, Any], ...] = field(default=(), repr=False)

    def markdown(self) -> str:
        """The figures as Markdown (used for docs/negotiation.md)."""
        lines = [
            f"Corpus: {self.rows} messages.",
            "",
            "| metric | value | over |",
            "| --- | --- | --- |",
            f"| primary intent accuracy | {self.primary_accuracy:.1%} | {self.rows} messages |",
            f"| offer amount exact | {self.offer_exact:.1%} | {self.offer_rows} messages with an offer |",
            f"| invented offers | {self.invented_offer_rate:.1%} | {self.no_offer_rows} without an offer |",
            f"| scam recall | {self.scam_recall:.1%} | {self.scam_rows} scams |",
            f"| scam false alarms | {self.scam_false_alarm_rate:.1%} | {self.clean_rows} non-scams |",
            f"| proposed time exact | {self.time_exact:.1%} | {self.time_rows} labelled times |",
            f"| vehicle topic recall | {self.topic_recall:.1%} | {self.topic_rows} labelled topics |",
            "",
            "| intent | precision | recall | F1 | support |",
            "| --- | --- | --- | --- | --- |",
        ]
        for s in self.per_intent:
            lines.append(f"| {s.intent} | {s.precision:.1%} | {s.recall:.1%} | {s.f1:.2f} | {s.support} |")
        return "\n".join(lines)


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def run_row(row: Row) -> Understanding:
    """Default runner: ``understand`` with the row's asking price and ``sent_at``."""
    sent = row.get("sent_at")
    return understand(
        str(row.get("text", "")),
        asking_price=_decimal(row.get("asking_price")),
        sent_at=datetime.fromisoformat(sent) if sent else None,
    )


def _rate(hits: int, total: int) -> float:
    return hits / total if total else 1.0


def evaluate(rows: Iterable[Row], runner: Runner = run_row) -> Report:
    """Run ``runner`` on every row and compare with the labels."""
    names = [i.value for i in INTENT_PRIORITY]
    tp = dict.fromkeys(names, 0)
    fp = dict.fromkeys(names, 0)
    fn = dict.fromkeys(names, 0)
    n = primary_ok = offer_rows = offer_ok = no_offer_rows = invented = 0
    scam_rows = scam_hit = clean_rows = false_alarm = time_rows = time_ok = topic_rows = topic_hit = 0
    mistakes: list[dict[str, Any]] = []
    for row in rows:
        n += 1
        got = runner(row)
        wrong: list[str] = []
        if got.intent.value == row["intent"]:
            primary_ok += 1
        else:
            wrong.append("intent")
        labelled = set(row["intents"])
        predicted = {i.value for i in got.intents}
        for name in names:
            if name in labelled and name in predicted:
                tp[name] += 1
            elif name in predicted:
                fp[name] += 1
            elif name in labelled:
                fn[name] += 1
        want_offer = _decimal(row.get("offer"))
        if want_offer is not None:
            offer_rows += 1
            if got.offer == want_offer:
                offer_ok += 1
            else:
                wrong.append("offer")
        else:
            no_offer_rows += 1
            if got.offer is not None:
                invented += 1
                wrong.append("offer")
        if row.get("scam"):
            scam_rows += 1
            scam_hit += got.scam
            if not got.scam:
                wrong.append("scam")
        else:
            clean_rows += 1
            false_alarm += got.scam
            if got.scam:
                wrong.append("scam")
        if "proposed_time" in row:
            time_rows += 1
            want_time = row["proposed_time"]
            want = datetime.fromisoformat(want_time) if want_time else None
            if got.proposed_time == want:
                time_ok += 1
            else:
                wrong.append("time")
        for topic in row.get("vehicle_topics") or ():
            topic_rows += 1
            topic_hit += topic in got.vehicle_topics
        if wrong:
            mistakes.append({"row": dict(row), "got": got.to_json(), "wrong": wrong})
    scores = []
    for name in names:
        precision = _rate(tp[name], tp[name] + fp[name])
        recall = _rate(tp[name], tp[name] + fn[name])
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(IntentScore(name, precision, recall, f1, tp[name] + fn[name], tp[name] + fp[name]))
    return Report(
        rows=n,
        primary_accuracy=_rate(primary_ok, n),
        per_intent=tuple(scores),
        offer_rows=offer_rows,
        offer_exact=_rate(offer_ok, offer_rows),
        no_offer_rows=no_offer_rows,
        invented_offer_rate=invented / no_offer_rows if no_offer_rows else 0.0,
        scam_rows=scam_rows,
        scam_recall=_rate(scam_hit, scam_rows),
        clean_rows=clean_rows,
        scam_false_alarm_rate=false_alarm / clean_rows if clean_rows else 0.0,
        time_rows=time_rows,
        time_exact=_rate(time_ok, time_rows),
        topic_rows=topic_rows,
        topic_recall=_rate(topic_hit, topic_rows),
        mistakes=tuple(mistakes),
    )
