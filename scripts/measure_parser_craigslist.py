"""Measure the offer parser on real buyer messages from the CraigslistBargain car dialogues.

The data set (``/work/shared/data/craigslist-cars-dev.jsonl``) is not part of the project and must not be
copied into it; this script only reads it and prints figures. Usage::

    .venv/bin/python scripts/measure_parser_craigslist.py [PATH] [--sample N] [--seed S]

It reports how often an offer is detected in buyer messages, and, for buyer messages immediately followed by
the buyer's structured ``offer`` turn with a price, how often the parsed amount equals that price. It then
prints a seeded random sample of messages where an offer was detected, for hand-checking precision.
"""

from __future__ import annotations

import argparse
import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

from accorria_agent.negotiation.understanding import understand

DEFAULT = Path("/work/shared/data/craigslist-cars-dev.jsonl")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--sample", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    dialogues = [
        json.loads(line) for line in args.path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    messages = 0
    detected: list[dict[str, Any]] = []
    paired = paired_detected = paired_exact = 0
    paired_rows: list[tuple[str, Decimal | None, Decimal]] = []
    for dialogue in dialogues:
        asking = Decimal(str(dialogue["listing_price"]))
        turns = dialogue["turns"]
        for i, turn in enumerate(turns):
            if turn["agent"] != "buyer" or turn["action"] != "message":
                continue
            messages += 1
            result = understand(turn["text"] or "", asking_price=asking)
            if result.offer is not None:
                detected.append({"text": turn["text"], "offer": result.offer, "asking": asking})
            nxt = turns[i + 1] if i + 1 < len(turns) else None
            if nxt and nxt["agent"] == "buyer" and nxt["action"] == "offer" and nxt.get("price"):
                price = Decimal(str(nxt["price"]))
                paired += 1
                paired_detected += result.offer is not None
                paired_exact += result.offer == price
                paired_rows.append((turn["text"], result.offer, price))

    print(f"dialogues: {len(dialogues)}, buyer messages: {messages}")
    print(f"offer detected in {len(detected)} messages ({len(detected) / max(messages, 1):.1%})")
    print(
        f"messages followed by a structured buyer offer: {paired}; offer detected in {paired_detected}, "
        f"amount equal to the structured price in {paired_exact} ({paired_exact / max(paired, 1):.1%})"
    )
    with_number = [(t, g, w) for t, g, w in paired_rows if any(ch.isdigit() for ch in t)]
    exact_number = sum(1 for _, g, w in with_number if g == w)
    print(
        f"of those, {len(with_number)} contain a digit; parsed amount equals the structured price in "
        f"{exact_number} ({exact_number / max(len(with_number), 1):.1%}); the others accept the seller's "
        "price without restating it"
    )
    print("\n# paired messages (parsed vs structured price)")
    for text, got, want in paired_rows:
        mark = "=" if got == want else "!"
        print(f"{mark} parsed={got} price={want} :: {text[:140]}")
    rng = random.Random(args.seed)
    sample = rng.sample(detected, min(args.sample, len(detected)))
    print(f"\n# random sample of {len(sample)} detected offers for hand-checking")
    for row in sample:
        print(f"asking={row['asking']} offer={row['offer']} :: {row['text'][:200]}")


if __name__ == "__main__":
    main()
