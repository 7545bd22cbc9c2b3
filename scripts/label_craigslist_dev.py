"""Propose labels (intent, offer) for the buyer turns of the CraigslistBargain development dialogues.

Step 1 of how ``docs/data/craigslist-dev-labels.jsonl`` was made (see docs/negotiation.md, "Labelled real
buyers"): this script writes one proposal per buyer ``message`` turn — the parser's reading of the
turn, plus hints from the structured data (the buyer's next ``offer`` turn price, the seller's last
quoted number) — to a review file. Step 2 was a person reading every proposal in the dialogue's context
and correcting it; the corrections are the ``review`` entries of the labels file. Usage::

    .venv/bin/python scripts/label_craigslist_dev.py [DATASET] > /tmp/proposals.tsv

The data set is not in the repository; only ids and labels are.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

from accorria_agent.negotiation.understanding import understand

DEFAULT = Path("/work/shared/data/craigslist-cars-dev.jsonl")


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        dialogue = json.loads(line)
        asking = Decimal(str(dialogue["listing_price"]))
        turns = dialogue["turns"]
        for index, turn in enumerate(turns):
            if turn["agent"] != "buyer" or turn["action"] != "message":
                continue
            understood = understand(turn["text"] or "", asking_price=asking)
            nxt = turns[index + 1] if index + 1 < len(turns) else None
            hint = nxt["price"] if nxt and nxt["agent"] == "buyer" and nxt["action"] == "offer" else ""
            row = [
                f"{dialogue['uuid']}:{index}",
                understood.intent.value,
                "" if understood.offer is None else str(understood.offer),
                str(hint or ""),
                str(asking),
                " ".join((turn["text"] or "").split())[:220],
            ]
            print("\t".join(row))


if __name__ == "__main__":
    main()
