"""Value types shared by understanding, strategy, replies and the guard.

These are the contracts between the pure negotiation steps:

    understand(text) -> Understanding
    decide(SellerRules, NegotiationState, Understanding) -> (Decision, NegotiationState)
    phrase(Decision, ListingFacts, tone) -> Reply
    guard(Reply.text, Decision, SellerRules) -> GuardVerdict

Money is always ``Decimal`` (whole dollars in practice); never float.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any


class Intent(StrEnum):
    """What a buyer message is about. Declaration order is the reply priority (first wins)."""

    HUMAN_REQUEST = "human_request"
    OFFER = "offer"
    ACCEPT = "accept"
    REJECT = "reject"
    HAGGLE = "haggle"
    SCHEDULE = "schedule"
    PRICE_INQUIRY = "price_inquiry"
    PAYMENT = "payment"
    TRADE_IN = "trade_in"
    VEHICLE_QUESTION = "vehicle_question"
    LOCATION = "location"
    AVAILABILITY = "availability"
    GREETING = "greeting"
    THANKS = "thanks"
    OTHER = "other"


INTENT_PRIORITY: tuple[Intent, ...] = tuple(Intent)


def primary_intent(intents: set[Intent] | frozenset[Intent]) -> Intent:
    """The intent the reply must address first, by ``INTENT_PRIORITY``; ``other`` when none applies."""
    for intent in INTENT_PRIORITY:
        if intent in intents:
            return intent
    return Intent.OTHER


@dataclass(frozen=True)
class Understanding:
    """What one buyer message says, as far as the deterministic parser can tell."""

    intent: Intent
    intents: tuple[Intent, ...]
    offer: Decimal | None = None
    scam: bool = False
    scam_reasons: tuple[str, ...] = ()
    proposed_time: datetime | None = None
    # Listing fields the buyer asks about (e.g. "mileage", "title", "accidents"), for vehicle questions.
    vehicle_topics: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The public JSON shape printed by ``accorria-agent parse``."""
        return {
            "intent": self.intent.value,
            "intents": [i.value for i in self.intents],
            "offer": _money_json(self.offer),
            "scam": self.scam,
            "scam_reasons": list(self.scam_reasons),
            "proposed_time": self.proposed_time.isoformat() if self.proposed_time else None,
            "vehicle_topics": list(self.vehicle_topics),
        }


class Tone(StrEnum):
    PROFESSIONAL = "professional"
    FRIENDLY = "friendly"
    CASUAL = "casual"


@dataclass(frozen=True)
class SellerRules:
    """The seller's negotiation settings for one listing. ``price_floor`` is secret: never shown to buyers."""

    asking_price: Decimal
    price_floor: Decimal
    auto_accept_threshold: Decimal | None = None
    max_concessions: int = 3
    response_tone: Tone = Tone.FRIENDLY
    escrow_enabled: bool = True

    def __post_init__(self) -> None:
        if self.asking_price <= 0:
            raise ValueError("asking_price must be positive")
        if not (0 < self.price_floor <= self.asking_price):
            raise ValueError("price_floor must be positive and at most asking_price")
        if self.auto_accept_threshold is not None and self.auto_accept_threshold < self.price_floor:
            raise ValueError("auto_accept_threshold must not be below price_floor")
        if self.max_concessions < 0:
            raise ValueError("max_concessions must not be negative")


@dataclass(frozen=True)
class ListingFacts:
    """What the agent may say about the car: only these fields, nothing invented."""

    listing_id: int
    year: int
    make: str
    model: str
    trim: str | None = None
    mileage: int | None = None
    features: tuple[str, ...] = ()
    photos: tuple[str, ...] = ()
    description: str | None = None
    location: str | None = None
    # Free-form extra facts the seller entered (e.g. {"title": "clean", "accidents": "none"}), plus the
    # seller's answers to earlier buyers' questions (questions domain), keyed by topic.
    details: dict[str, str] = field(default_factory=dict)
    # The listing's status: active | sold | pending | paused (what "is it still available?" is told).
    status: str = "active"

    @property
    def name(self) -> str:
        """``2018 Honda Civic EX`` — how replies name the car."""
        parts = [str(self.year), self.make, self.model]
        if self.trim:
            parts.append(self.trim)
        return " ".join(parts)


class ActionKind(StrEnum):
    ANSWER = "answer"
    COUNTER = "counter"
    ACCEPT = "accept"
    HOLD = "hold"
    DECLINE_LOWBALL = "decline_lowball"
    ASK_OFFER = "ask_offer"
    PROPOSE_VIEWING = "propose_viewing"
    HANDOFF = "handoff"
    WARN_SCAM = "warn_scam"


def _money_json(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass(frozen=True)
class Decision:
    """What the agent will do next, decided by the strategy before any wording exists.

    ``allowed_amounts`` is the closed set of *prices* the reply may state (the guard rejects any other
    amount): the asking price, our current counter, the agreed price and the buyer's own offer when it is
    strictly above the floor. It never contains a value below the floor, and contains the floor itself
    only when the strategy's concessions have reached it (the final counter), when the buyer offered
    exactly the floor and we accept it, or when the floor equals the asking price.

    ``fee_amount`` is the escrow fee (0.9 % of the agreed price, exact to the cent) when escrow is offered.
    It is kept apart from ``allowed_amounts`` because it is numerically far below the floor: the guard
    checks it as a fee, never as a price.
    """

    action: ActionKind
    amount: Decimal | None = None
    allowed_amounts: frozenset[Decimal] = frozenset()
    # Intents the reply should also address after the action (e.g. availability, location, schedule).
    also_answer: tuple[Intent, ...] = ()
    vehicle_topics: tuple[str, ...] = ()
    handoff_reason: str | None = None
    scam_reasons: tuple[str, ...] = ()
    # Next steps to offer after agreement: "viewing", "escrow".
    next_steps: tuple[str, ...] = ()
    proposed_time: datetime | None = None
    # Quick-reply payloads the reply should offer (see replies.QUICK_REPLIES).
    quick_replies: tuple[str, ...] = ()
    # Escrow fee to quote with the agreement (see the class docstring); None when escrow is not offered.
    fee_amount: Decimal | None = None
    # The language to phrase the reply in (a locale code, see negotiation.locales); set by the composer.
    language: str = "en"


@dataclass
class NegotiationState:
    """Per-conversation negotiation memory, persisted as JSON with the conversation."""

    buyer_offers: list[Decimal] = field(default_factory=list)
    our_counters: list[Decimal] = field(default_factory=list)
    concessions_used: int = 0
    best_offer: Decimal | None = None
    agreed_price: Decimal | None = None
    turns: int = 0
    lowest_price_asks: int = 0
    handed_off: bool = False
    # Number-less price asks ("can you do better?", "what's your lowest?") since our last concession; the
    # strategy concedes on every other one so that asking repeatedly is no faster than the curve.
    asks_since_concession: int = 0
    # A walk-away ("no thanks") was already answered with a step since the buyer's last new best offer.
    walk_away_step_used: bool = False
    # Number-less price questions answered with a concession: at most one (asking is not bargaining).
    ask_steps_used: int = 0
    # The buyer's language (a locale code), detected per message and kept for the conversation.
    language: str | None = None

    @property
    def last_counter(self) -> Decimal | None:
        return self.our_counters[-1] if self.our_counters else None

    def to_json(self) -> dict[str, Any]:
        return {
            "buyer_offers": [str(x) for x in self.buyer_offers],
            "our_counters": [str(x) for x in self.our_counters],
            "concessions_used": self.concessions_used,
            "best_offer": None if self.best_offer is None else str(self.best_offer),
            "agreed_price": None if self.agreed_price is None else str(self.agreed_price),
            "turns": self.turns,
            "lowest_price_asks": self.lowest_price_asks,
            "handed_off": self.handed_off,
            "asks_since_concession": self.asks_since_concession,
            "walk_away_step_used": self.walk_away_step_used,
            "ask_steps_used": self.ask_steps_used,
            "language": self.language,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> NegotiationState:
        if not data:
            return cls()

        def dec(value: Any) -> Decimal | None:
            return None if value is None else Decimal(str(value))

        return cls(
            buyer_offers=[Decimal(str(x)) for x in data.get("buyer_offers", [])],
            our_counters=[Decimal(str(x)) for x in data.get("our_counters", [])],
            concessions_used=int(data.get("concessions_used", 0)),
            best_offer=dec(data.get("best_offer")),
            agreed_price=dec(data.get("agreed_price")),
            turns=int(data.get("turns", 0)),
            lowest_price_asks=int(data.get("lowest_price_asks", 0)),
            handed_off=bool(data.get("handed_off", False)),
            asks_since_concession=int(data.get("asks_since_concession", 0)),
            walk_away_step_used=bool(data.get("walk_away_step_used", False)),
            ask_steps_used=int(data.get("ask_steps_used", 0)),
            language=str(data["language"]) if data.get("language") else None,
        )


@dataclass(frozen=True)
class Reply:
    """A phrased reply: the text and the quick replies (payload, title) to attach."""

    text: str
    quick_replies: tuple[tuple[str, str], ...] = ()
    source: str = "template"  # "template" | "llm"
