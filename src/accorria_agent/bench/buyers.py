"""Simulated Marketplace buyers for the negotiation benchmark.

A buyer has a private willingness to pay, a script of what it would say (offers, number-less haggles,
questions) and a patience. Before each message it looks at the price we last quoted: at or below its
willingness it takes the deal ("ok deal"); otherwise it says the next thing in its script, with offers
capped at its willingness and never lower than its own previous offer. When the script runs out it walks
away ("no thanks"), reads one last reply and takes it only if that reply is within its willingness.

Two persona sets:

* synthetic personas (lowballer, haggler, fair, pays-asking, walks-away, asks-lowest, scammer), drawn from
  a seeded ``random.Random``;
* ``craigslist`` buyers replayed from real CraigslistBargain car dialogues (``calibrate``): the real
  buyer's message sequence (offer / haggle / question / accept), its offers as ratios of the listing, and a
  willingness equal to the price the real buyer finally paid (a lower bound of what they would have
  paid: the simulated buyer is no easier than the real one) or, without a deal, the larger of their
  highest offer and their target, kept below the last price the real seller quoted and they refused.

Messages are plain text with varied phrasing; they go through the real parser like any Messenger text.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Literal

Step = tuple[Literal["offer", "haggle", "lowest", "question", "accept", "asking"], Decimal | None]

PERSONAS: tuple[str, ...] = (
    "lowballer",
    "haggler",
    "fair",
    "pays-asking",
    "walks-away",
    "asks-lowest",
    "scammer",
)

_OFFER = (
    "would you take {p}?",
    "I can do {p}",
    "how about {p}",
    "{p} cash today?",
    "would you do {p}",
    "I'd pay {p} for it",
    "can you do {p}?",
    "best I can do is {p}",
    "{p} and I pick it up today",
    "I could go {p}",
    "would u take {p} cash",
)
_HAGGLE = (
    "can you do better",
    "any wiggle room on the price?",
    "is the price negotiable?",
    "can you come down a bit?",
    "thats a little high for me, can you go lower?",
    "can you do any better on price",
)
_LOWEST = (
    "whats your lowest",
    "what's the lowest you'll take?",
    "lowest price?",
    "what's your bottom dollar?",
    "whats the least you would take for it",
)
_ACCEPT = (
    "ok deal",
    "deal",
    "sounds good, deal",
    "ok I'll take it",
    "alright you got a deal",
    "ok that works for me",
)
_WALK = (
    "thats too much for me, thanks anyway",
    "no thanks, out of my budget",
    "I'll pass, thanks",
    "too rich for me, good luck with the sale",
)
_QUESTION = (
    "is it still available?",
    "does it have a clean title?",
    "how many miles on it?",
    "any accidents?",
    "where are you located?",
    "hi is this still available",
)
_ASKING = (
    "is it still available? I'll pay asking",
    "I'll take it for the asking price, when can I see it?",
    "hi, I'll pay full price if it's still available",
)
_SCAM = (
    "I will send you a cashier's check for more than the price, my shipper will pick it up",
    "I'm overseas right now, I'll send a certified check and you refund the difference",
    "can you send me the verification code google texts you so I know you're real",
    "I'll pay with paypal, my mover will collect the car, send me your email",
)


def money_text(amount: Decimal, rng: random.Random) -> str:
    """Write ``amount`` the way people type prices: ``9k``, ``10.5k``, ``10,500``, ``$10500``."""
    whole = int(amount)
    forms = [f"{whole:,}", f"${whole:,}", str(whole), f"${whole}"]
    if whole % 500 == 0 and whole >= 1000:
        k = Decimal(whole) / 1000
        forms += [f"{k.normalize():f}k"] * 2
    return rng.choice(forms)


def buyer_round(amount: Decimal) -> Decimal:
    """Buyers offer round numbers: $50 under $5k, $100 under $20k, $250 above."""
    step = Decimal(50) if amount < 5000 else Decimal(100) if amount < 20000 else Decimal(250)
    return (amount / step).to_integral_value(rounding=ROUND_HALF_UP) * step


@dataclass
class Buyer:
    """One simulated buyer: a persona, a listing, a private willingness and a script."""

    persona: str
    asking: Decimal
    floor: Decimal
    willingness: Decimal
    script: list[Step]
    seed: int
    scam: bool = False
    dialogue_id: str | None = None
    # Filled while simulating.
    quoted: Decimal = Decimal(0)
    last_offer: Decimal | None = None
    position: int = 0
    walked: bool = False
    done: bool = False
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.quoted = self.asking

    def first_message(self) -> str:
        """The opening message."""
        if self.scam:
            return self.rng.choice(_SCAM)
        return self._next()

    def react(self, action: str, amount: Decimal | None) -> str | None:
        """Read our decision (action and amount quoted) and answer; None once the buyer has left."""
        if action in ("accept", "handoff", "warn_scam") or self.done:
            self.done = True
            return None
        if amount is not None and action in ("counter", "hold", "decline_lowball", "ask_offer"):
            self.quoted = amount
        if self.quoted <= self.willingness:
            return self._say_accept()
        if self.walked:  # the last reply after walking did not change their mind
            self.done = True
            return None
        return self._next()

    def _say_accept(self) -> str:
        if self.rng.random() < 0.3:
            return f"ok {money_text(self.quoted, self.rng)} works, deal"
        return self.rng.choice(_ACCEPT)

    def _next(self) -> str:
        if self.position >= len(self.script):
            self.walked = True
            return self.rng.choice(_WALK)
        kind, value = self.script[self.position]
        self.position += 1
        if kind == "asking":
            return self.rng.choice(_ASKING)
        if kind == "question":
            return self.rng.choice(_QUESTION)
        if kind == "haggle":
            return self.rng.choice(_HAGGLE)
        if kind == "lowest":
            return self.rng.choice(_LOWEST)
        # "accept" in a real script that we have not matched yet: the real buyer agreed at its
        # willingness, so it says so as an offer ("best I can do is ...").
        target = self.willingness if kind == "accept" or value is None else value
        offer = min(target, self.willingness)
        if self.last_offer is not None:
            offer = max(offer, self.last_offer)
        self.last_offer = offer
        return self.rng.choice(_OFFER).format(p=money_text(offer, self.rng))


def synthetic_buyer(persona: str, rng: random.Random) -> tuple[Buyer, dict[str, Any]]:
    """Draw one synthetic buyer and the seller settings of its listing (asking, floor, concessions)."""
    asking = buyer_round(Decimal(rng.randrange(1500, 45000)))
    floor = buyer_round(asking * Decimal(str(round(rng.uniform(0.78, 0.93), 3))))
    floor = min(floor, asking)
    spread = asking - floor
    rules = {
        "asking_price": asking,
        "price_floor": floor,
        "max_concessions": rng.choice((2, 3, 3, 4, 5)),
        "escrow_enabled": rng.random() < 0.8,
    }

    def ratio(lo: float, hi: float) -> Decimal:
        return Decimal(str(round(rng.uniform(lo, hi), 4)))

    def offers(start: Decimal, step_lo: float, step_hi: float, count: int, haggle: float) -> list[Step]:
        steps: list[Step] = []
        price = start
        for _ in range(count):
            if steps and rng.random() < haggle:
                steps.append(("haggle", None))
            else:
                steps.append(("offer", buyer_round(price)))
                price += asking * ratio(step_lo, step_hi)
        return steps

    script: list[Step]
    scam = False
    if persona == "lowballer":
        willingness = floor + spread * ratio(-0.4, 0.6)
        script = offers(asking * ratio(0.40, 0.60), 0.03, 0.07, rng.randint(3, 7), 0.2)
    elif persona == "haggler":
        willingness = floor + spread * ratio(0.0, 1.0)
        script = offers(asking * ratio(0.72, 0.85), 0.02, 0.04, rng.randint(4, 8), 0.35)
    elif persona == "fair":
        willingness = floor + spread * ratio(0.4, 1.05)
        script = offers(asking * ratio(0.86, 0.94), 0.01, 0.03, rng.randint(3, 5), 0.1)
    elif persona == "pays-asking":
        willingness = asking * ratio(1.0, 1.1)
        script = [("question", None), ("asking", None)] if rng.random() < 0.5 else [("asking", None)]
    elif persona == "walks-away":
        willingness = floor * ratio(0.75, 1.02)
        script = offers(asking * ratio(0.55, 0.75), 0.02, 0.05, rng.randint(1, 2), 0.0)
    elif persona == "asks-lowest":
        willingness = floor + spread * ratio(0.0, 1.0)
        script = [("lowest", None)] * rng.randint(3, 7)
    elif persona == "scammer":
        willingness, script, scam = asking, [("question", None)], True
    else:
        raise ValueError(f"unknown persona {persona!r}")
    if rng.random() < 0.3 and not scam:
        script.insert(0, ("question", None))
    willingness = buyer_round(max(willingness, Decimal(100)))
    buyer = Buyer(persona, asking, floor, willingness, script, rng.randrange(2**31), scam=scam)
    return buyer, rules


# --- CraigslistBargain calibration -------------------------------------------------------------------

_NUMBER = re.compile(r"\$?\s*(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(k\b|grand\b)?", re.IGNORECASE)
_HAGGLE_WORDS = re.compile(
    r"\b(lower|less|lowest|better|down|negotiab|middle|discount|budget|afford|flexib|too (?:high|much)|"
    r"best price|take any|come down|work with|higher than|steep|expensive|pricey|spend|willing to pay)",
    re.IGNORECASE,
)
_ACCEPT_WORDS = re.compile(r"\b(deal|sounds good|works for me|i'?ll take it|agreed?|accept)\b", re.IGNORECASE)


def _prices(text: str, listing: Decimal) -> list[Decimal]:
    """Plausible car prices in a message (30 %–120 % of the listing)."""
    found: list[Decimal] = []
    for match in _NUMBER.finditer(text):
        value = Decimal(match.group(1).replace(",", ""))
        if match.group(2):
            value *= 1000
        if listing * Decimal("0.3") <= value <= listing * Decimal("1.2"):
            found.append(value)
    return found


@dataclass(frozen=True)
class RealDialogue:
    """What the calibration keeps of one real negotiation."""

    uuid: str
    listing: Decimal
    willingness: Decimal
    script: tuple[Step, ...]
    human_deal: bool
    human_price: Decimal | None


def load_dialogues(path: Path) -> tuple[list[RealDialogue], int]:
    """Read and calibrate the CraigslistBargain file; returns the dialogues and how many were skipped.

    Skipped: a non-positive listing, or a deal price under 30 % of the listing (typos such as "$20").
    """
    dialogues: list[RealDialogue] = []
    skipped = 0
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                parsed = _calibrate(json.loads(line))
                if parsed is None:
                    skipped += 1
                else:
                    dialogues.append(parsed)
    return dialogues, skipped


def _calibrate(row: dict[str, Any]) -> RealDialogue | None:
    listing = Decimal(str(row["listing_price"]))
    outcome = row.get("outcome") or {}
    deal = bool(outcome.get("deal")) and outcome.get("price") is not None
    price = Decimal(str(outcome["price"])) if deal else None
    if listing <= 0 or (price is not None and price < listing * Decimal("0.3")):
        return None
    script: list[Step] = []
    seller_prices: list[Decimal] = []
    highest: Decimal | None = None
    for turn in row.get("turns", []):
        text = turn.get("text") or ""
        if turn["agent"] == "seller":
            seller_prices += _prices(text, listing)
            if turn["action"] == "offer" and turn.get("price"):
                seller_prices.append(Decimal(str(turn["price"])))
            continue
        if turn["action"] in ("reject", "quit"):
            break  # the real buyer left here; the simulated one walks when its script ends
        if turn["action"] == "accept":
            script.append(("accept", None))  # took the seller's price with the button
        elif turn["action"] == "offer" and turn.get("price"):
            # The structured offer button repeats the last agreed number; only a new number is a move.
            value = Decimal(str(turn["price"]))
            plausible = listing * Decimal("0.3") <= value <= listing * Decimal("1.2")
            if plausible and (highest is None or value > highest):
                script.append(("offer", value))
                highest = value
        elif turn["action"] == "message":
            # A number equal to the listing is the buyer quoting the ask ("I can't afford $5900").
            numbers = [p for p in _prices(text, listing) if p != listing]
            if numbers:
                script.append(("offer", numbers[-1]))
                highest = numbers[-1] if highest is None else max(highest, numbers[-1])
            elif _ACCEPT_WORDS.search(text):
                script.append(("accept", None))
            elif _HAGGLE_WORDS.search(text):
                script.append(("haggle", None))
            else:
                script.append(("question", None))
    if price is not None:
        willingness = price
    else:
        target = Decimal(str(row.get("buyer_target") or 0))
        willingness = max(highest or Decimal(0), target)
        refused = [p for p in seller_prices if p < listing]
        if refused:  # they turned this price down, so they would not pay it
            willingness = min(willingness, min(refused) - human_round(listing))
        willingness = max(willingness, highest or Decimal(0), listing * Decimal("0.3"))
    if not script:
        script = [("haggle", None)]
    return RealDialogue(str(row.get("uuid")), listing, willingness, tuple(script), deal, price)


def human_round(listing: Decimal) -> Decimal:
    """The smallest price step a buyer would distinguish on this listing ($50 / $100 / $250)."""
    return Decimal(50) if listing < 5000 else Decimal(100) if listing < 20000 else Decimal(250)


def craigslist_buyers(
    dialogues: list[RealDialogue], floor_ratio: Decimal, repeats: int, seed: int
) -> Iterator[tuple[Buyer, RealDialogue]]:
    """Each real dialogue replayed ``repeats`` times (varied phrasing, same behaviour)."""
    rng = random.Random(seed)
    for dialogue in dialogues:
        floor = dialogue.listing * floor_ratio
        for _ in range(repeats):
            buyer = Buyer(
                "craigslist",
                dialogue.listing,
                floor,
                dialogue.willingness,
                list(dialogue.script),
                rng.randrange(2**31),
                dialogue_id=dialogue.uuid,
            )
            yield buyer, dialogue
