"""Parser quality on the hand-labelled real buyer messages (CraigslistBargain development dialogues).

The labels (``docs/data/craigslist-dev-labels.jsonl``: ``id`` = ``<dialogue uuid>:<turn index>``, the
primary ``intent``, the ``offer`` amount or null, and whether review ``confirmed`` or ``corrected`` the
proposal) are in the repository; the dialogues are not (see /work/shared/data/README.md). This module
joins the two when the data set is present and scores ``understand()`` against the labels::

    .venv/bin/python -m accorria_agent.bench.labelled [DATASET] [LABELS] [--misses]

Figures: primary-intent accuracy, offer accuracy over every message (no offer labelled and none read
counts as right), offer exact over the labelled offers, and invented offers.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from accorria_agent.negotiation.understanding import understand

DEFAULT_DATASET = Path("/work/shared/data/craigslist-cars-dev.jsonl")
DEFAULT_LABELS = Path(__file__).resolve().parents[3] / "docs" / "data" / "craigslist-dev-labels.jsonl"


@dataclass
class LabelledScore:
    """Counts of one run; the ratios are properties."""

    messages: int = 0
    intent_right: int = 0
    offer_right: int = 0
    labelled_offers: int = 0
    labelled_offers_exact: int = 0
    without_offer: int = 0
    invented: int = 0
    confusions: Counter[tuple[str, str]] = field(default_factory=Counter)
    misses: list[dict[str, Any]] = field(default_factory=list)

    @property
    def intent_accuracy(self) -> float:
        return self.intent_right / max(self.messages, 1)

    @property
    def offer_accuracy(self) -> float:
        return self.offer_right / max(self.messages, 1)

    @property
    def offer_exact(self) -> float:
        return self.labelled_offers_exact / max(self.labelled_offers, 1)

    @property
    def invented_rate(self) -> float:
        return self.invented / max(self.without_offer, 1)

    def markdown(self) -> str:
        """The figures as the Markdown table docs/negotiation.md shows."""
        return "\n".join(
            [
                "| metric | value | over |",
                "| --- | --- | --- |",
                f"| primary intent accuracy | {self.intent_accuracy:.1%} | {self.messages} buyer messages |",
                f"| offer right (amount, or none) | {self.offer_accuracy:.1%} | {self.messages} messages |",
                f"| offer amount exact | {self.offer_exact:.1%} | {self.labelled_offers} labelled offers |",
                f"| invented offers | {self.invented_rate:.1%} | {self.without_offer} without an offer |",
            ]
        )


def turn_texts(dataset: Path) -> dict[str, tuple[str, Decimal]]:
    """``id`` → (buyer text, listing price) for every buyer message turn of the data set."""
    out: dict[str, tuple[str, Decimal]] = {}
    for line in dataset.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        dialogue = json.loads(line)
        asking = Decimal(str(dialogue["listing_price"]))
        for index, turn in enumerate(dialogue["turns"]):
            if turn["agent"] == "buyer" and turn["action"] == "message":
                out[f"{dialogue['uuid']}:{index}"] = (turn["text"] or "", asking)
    return out


def load_labels(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def score(labels: list[dict[str, Any]], texts: dict[str, tuple[str, Decimal]]) -> LabelledScore:
    """Score ``understand()`` on every labelled turn whose text is known (unknown ids are skipped)."""
    result = LabelledScore()
    for label in labels:
        found = texts.get(str(label["id"]))
        if found is None:
            continue
        text, asking = found
        understood = understand(text, asking_price=asking)
        want_offer = None if label.get("offer") is None else Decimal(str(label["offer"]))
        result.messages += 1
        intent_ok = understood.intent.value == label["intent"]
        offer_ok = understood.offer == want_offer
        result.intent_right += intent_ok
        result.offer_right += offer_ok
        if want_offer is None:
            result.without_offer += 1
            result.invented += understood.offer is not None
        else:
            result.labelled_offers += 1
            result.labelled_offers_exact += offer_ok
        if not intent_ok:
            result.confusions[(label["intent"], understood.intent.value)] += 1
        if not (intent_ok and offer_ok):
            result.misses.append(
                {
                    "id": label["id"],
                    "want": (label["intent"], label.get("offer")),
                    "got": (
                        understood.intent.value,
                        None if understood.offer is None else int(understood.offer),
                    ),
                    "text": text[:200],
                }
            )
    return result


def main(argv: list[str] | None = None) -> None:
    args = [a for a in (argv if argv is not None else sys.argv[1:]) if not a.startswith("--")]
    show_misses = "--misses" in (argv if argv is not None else sys.argv[1:])
    dataset = Path(args[0]) if args else DEFAULT_DATASET
    labels_path = Path(args[1]) if len(args) > 1 else DEFAULT_LABELS
    if not dataset.exists():
        print(f"data set not found: {dataset} (it is not part of the project)")
        return
    result = score(load_labels(labels_path), turn_texts(dataset))
    print(result.markdown())
    print("\nmost common intent confusions (labelled → read):")
    for (want, got), count in result.confusions.most_common(12):
        print(f"  {want} → {got}: {count}")
    if show_misses:
        for miss in result.misses:
            print(f"{miss['want']} got {miss['got']} :: {miss['text']}")


if __name__ == "__main__":
    main()
