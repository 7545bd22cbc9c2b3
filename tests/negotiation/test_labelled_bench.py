"""The labelled real-buyer scorer, on a small hand-written stand-in for the (absent) data set."""

from __future__ import annotations

import json
from pathlib import Path

from accorria_agent.bench.labelled import DEFAULT_LABELS, load_labels, main, score, turn_texts

DIALOGUE = {
    "uuid": "C_test",
    "listing_price": 10000,
    "turns": [
        {"agent": "buyer", "action": "message", "text": "is it still available?", "price": None},
        {"agent": "seller", "action": "message", "text": "yes", "price": None},
        {"agent": "buyer", "action": "message", "text": "would you take 8k?", "price": None},
        {"agent": "buyer", "action": "message", "text": "I was thinking 7k but I can go 8.5k", "price": None},
        {"agent": "buyer", "action": "offer", "text": "", "price": 8500},
    ],
}


def test_score_counts_intents_and_offers(tmp_path: Path) -> None:
    dataset = tmp_path / "dev.jsonl"
    dataset.write_text(json.dumps(DIALOGUE) + "\n", encoding="utf-8")
    labels = [
        {"id": "C_test:0", "intent": "availability", "offer": None},
        {"id": "C_test:2", "intent": "offer", "offer": 8000},
        {"id": "C_test:3", "intent": "offer", "offer": 8500},
        {"id": "C_missing:1", "intent": "offer", "offer": 1},  # not in the data set: skipped
    ]
    texts = turn_texts(dataset)
    assert set(texts) == {"C_test:0", "C_test:2", "C_test:3"}
    result = score(labels, texts)
    assert result.messages == 3 and result.intent_accuracy == 1.0
    assert result.labelled_offers == 2 and result.offer_exact == 1.0 and result.invented == 0
    wrong = score([{"id": "C_test:0", "intent": "offer", "offer": 9000}], texts)
    assert wrong.intent_accuracy == 0.0 and wrong.offer_accuracy == 0.0 and len(wrong.misses) == 1
    assert "| primary intent accuracy | 0.0% |" in wrong.markdown()


def test_shipped_labels_are_ids_and_labels_only() -> None:
    labels = load_labels(DEFAULT_LABELS)
    assert len(labels) == 632
    assert all(set(row) == {"id", "intent", "offer", "review"} for row in labels)
    assert {row["review"] for row in labels} == {"confirmed", "corrected"}


def test_main_without_the_data_set_says_so(tmp_path: Path, capsys: object) -> None:
    main([str(tmp_path / "absent.jsonl")])
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "not found" in out
