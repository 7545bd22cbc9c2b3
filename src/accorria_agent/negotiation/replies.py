"""Template phrasing: turn a ``Decision`` into a buyer-facing ``Reply`` without any model.

The strategy has already decided *what* to do; this module only chooses words. It never states a money
amount outside ``decision.allowed_amounts`` (plus the escrow fee), never invents a vehicle fact (what
``ListingFacts`` does not say is referred to the seller) and picks among several wordings per action and
tone deterministically from ``variant_seed`` so that conversations do not sound canned but replays and
tests are reproducible. The wording itself lives in ``templates.py``.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from accorria_agent.negotiation import templates as t
from accorria_agent.negotiation.guard import MAX_REPLY_CHARS, decision_fee, unsafe_content
from accorria_agent.negotiation.schemas import ActionKind, Decision, Intent, ListingFacts, Reply, Tone

QUICK_REPLIES: dict[str, str] = {
    "MAKE_OFFER": "Make an offer",
    # Messenger caps quick-reply titles at 20 characters; "Schedule a test drive" is 21.
    "SCHEDULE_TEST_DRIVE": "Book a test drive",
    "TALK_TO_SELLER": "Talk to the seller",
    "VIEW_DETAILS": "Car details",
    "START_ESCROW": "Use Accorria escrow",
}

# Offered when the decision names none; chosen for what a buyer most likely wants to do next.
DEFAULT_QUICK_REPLIES: dict[ActionKind, tuple[str, ...]] = {
    ActionKind.ANSWER: ("MAKE_OFFER", "SCHEDULE_TEST_DRIVE", "VIEW_DETAILS"),
    ActionKind.COUNTER: ("SCHEDULE_TEST_DRIVE", "MAKE_OFFER"),
    ActionKind.ACCEPT: ("SCHEDULE_TEST_DRIVE",),
    ActionKind.HOLD: ("MAKE_OFFER", "TALK_TO_SELLER"),
    ActionKind.DECLINE_LOWBALL: ("MAKE_OFFER", "VIEW_DETAILS"),
    ActionKind.ASK_OFFER: ("MAKE_OFFER", "VIEW_DETAILS"),
    ActionKind.PROPOSE_VIEWING: ("SCHEDULE_TEST_DRIVE", "TALK_TO_SELLER"),
    ActionKind.HANDOFF: (),
    ActionKind.WARN_SCAM: (),
}

_MAX_FEATURES = 4
_MAX_FACT_CHARS = 80
_ZIP_RE = re.compile(r"\b\d{5}(?:-\d{4})?\b")
_MAX_DESCRIPTION_CHARS = 160
_LISTING_FIELDS = frozenset({"mileage", "features", "trim", "year", "photos", "general"})


def format_money(value: Decimal) -> str:
    """``$11,800`` for whole dollars, ``$106.20`` otherwise."""
    if value == value.to_integral_value():
        return f"${int(value):,}"
    return f"${value:,.2f}"


def format_time(when: datetime) -> str:
    """``Saturday, May 4 at 2 PM`` — no year, so no four-digit number that could read as a price."""
    hour = when.hour % 12 or 12
    clock = f"{hour}" if when.minute == 0 else f"{hour}:{when.minute:02d}"
    return f"{when:%A}, {when:%B} {when.day} at {clock} {'AM' if when.hour < 12 else 'PM'}"


def _pick(variants: Sequence[str], seed: int, key: str) -> str:
    # crc32 rather than hash(): stable across processes (PYTHONHASHSEED) so replays are reproducible.
    return variants[zlib.crc32(f"{seed}:{key}".encode()) % len(variants)]


class _Writer:
    """Formats template strings for one reply; holds the values every placeholder may use."""

    def __init__(self, decision: Decision, listing: ListingFacts, tone: Tone, seed: int) -> None:
        self.decision = decision
        self.listing = listing
        self.tone = tone
        self.seed = seed
        self.values: dict[str, str] = {
            "name": listing.name,
            "short": f"{listing.make} {listing.model}",
            "time": format_time(decision.proposed_time) if decision.proposed_time else "",
        }
        fee = decision_fee(decision)
        if fee is not None:
            self.values["fee"] = format_money(fee)
        # Only an amount the strategy allows is ever rendered (defence against a strategy bug).
        amount = decision.amount if decision.amount in decision.allowed_amounts else None
        if amount is None and decision.action is ActionKind.DECLINE_LOWBALL and decision.allowed_amounts:
            # Restate the highest allowed amount: it can never reveal how far the seller would go.
            amount = max(decision.allowed_amounts)
        self.amount = amount
        if amount is not None:
            self.values["amount"] = format_money(amount)

    def say(self, table: dict[str, t.Variants], key: str, **extra: str) -> str:
        variants = table[key].get(self.tone) or table[key][Tone.FRIENDLY]
        template = _pick(variants, self.seed, key)
        text = template.format(**self.values, **extra)
        if "{name}" in template:
            # Full name once per message; later sentences use the shorter make + model.
            self.values["name"] = self.values["short"]
        return text

    def action(self, key: str) -> str:
        return self.say(t.ACTION, key)

    def extra(self, key: str, **extra: str) -> str:
        return self.say(t.EXTRA, key, **extra)


def _safe(text: str, listing: ListingFacts) -> bool:
    """A seller-entered fact is repeated only if it cannot trip the guard (prices, links, "floor" mats…)."""
    return len(text) <= 2 * _MAX_DESCRIPTION_CHARS and not unsafe_content(text, listing=listing)


def _clean(value: str) -> str:
    return " ".join(value.split())[:_MAX_FACT_CHARS].strip(" .,;")


def _topic_label(topic: str) -> str:
    return re.sub(r"[^a-z ]+", " ", topic.lower().replace("_", " ")).strip()[:30]


def _details_lookup(listing: ListingFacts) -> dict[str, str]:
    return {_topic_label(k): v for k, v in listing.details.items()}


def _fact(topic: str, listing: ListingFacts) -> str | None:
    """The sentence answering ``topic`` from the listing, or None when the listing does not say."""
    label = _topic_label(topic)
    canonical = t.TOPIC_SYNONYMS.get(label, label)
    value: str | None = None
    if canonical == "mileage" and listing.mileage is not None:
        value = f"{listing.mileage:,}"
    elif canonical == "features":
        safe = [_clean(f) for f in listing.features if _clean(f) and _safe(_clean(f), listing)]
        if safe:
            shown = safe[:_MAX_FEATURES]
            value = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
    elif canonical == "trim" and listing.trim:
        value = _clean(listing.trim)
    elif canonical == "year":
        value = listing.name
    elif canonical == "photos" and listing.photos:
        value = "1 photo" if len(listing.photos) == 1 else f"{len(listing.photos)} photos"
    elif canonical == "general" and listing.description:
        # The seller's own words, first sentence only, quoted so they are not read as our promise.
        first = re.split(r"(?<=[.!?])\s", " ".join(listing.description.split()), maxsplit=1)[0]
        if len(first) <= _MAX_DESCRIPTION_CHARS:
            sentence = t.DESCRIPTION_FACT.format(value=first)
            return sentence if _safe(sentence, listing) else None
    elif canonical not in _LISTING_FIELDS:
        details = _details_lookup(listing)
        raw = details.get(canonical, details.get(label))
        if raw is not None and _clean(raw):
            value = _clean(raw)
    if value is None:
        return None
    template = t.FACT_SENTENCES.get(canonical, t.GENERIC_FACT)
    label = t.TOPIC_LABELS.get(canonical, canonical)
    sentence = template.format(value=value, label=label[:1].upper() + label[1:])
    return sentence if _safe(sentence, listing) else None


def _join_topics(topics: Sequence[str]) -> str:
    return topics[0] if len(topics) == 1 else ", ".join(topics[:-1]) + " and " + topics[-1]


def _vehicle_answers(w: _Writer) -> list[str]:
    sentences: list[str] = []
    unknown: list[str] = []
    for topic in dict.fromkeys(w.decision.vehicle_topics):
        sentence = _fact(topic, w.listing)
        if sentence is not None:
            sentences.append(sentence)
        elif _topic_label(topic):
            label = t.TOPIC_SYNONYMS.get(_topic_label(topic), _topic_label(topic))
            unknown.append(t.TOPIC_LABELS.get(label, label))
    plain = [u for u in unknown if u not in t.PROMISE_TOPICS]
    if plain:
        sentences.append(w.extra("unknown_topics", topics=_join_topics(plain[:3])))
    sentences.extend(w.extra("unknown_topics", topics=u) for u in unknown if u in t.PROMISE_TOPICS)
    return sentences


def _location(w: _Writer) -> str:
    loc = w.listing.location
    if loc:
        loc = _clean(_ZIP_RE.sub("", loc)).strip(" ,")
        if loc and _safe(loc, w.listing):
            return w.extra("location_known", location=loc)
    return w.extra("location_unknown")


def _answers(w: _Writer) -> list[str]:
    """Sentences for ``decision.also_answer`` (in its order) and the vehicle topics."""
    d = w.decision
    out: list[str] = []
    vehicle_done = False
    for intent in dict.fromkeys(d.also_answer):
        if intent is Intent.AVAILABILITY:
            out.append(w.extra("available"))
        elif intent is Intent.LOCATION:
            out.append(_location(w))
        elif intent is Intent.VEHICLE_QUESTION and not vehicle_done:
            out.extend(_vehicle_answers(w))
            vehicle_done = True
        elif intent is Intent.SCHEDULE and d.action not in (ActionKind.PROPOSE_VIEWING, ActionKind.ACCEPT):
            out.append(w.extra("schedule_time") if d.proposed_time else w.extra("schedule"))
        elif intent is Intent.PAYMENT and not (d.action is ActionKind.ACCEPT and "escrow" in d.next_steps):
            out.append(w.extra("payment_escrow") if "escrow" in d.next_steps else w.extra("payment_seller"))
        elif intent is Intent.TRADE_IN:
            out.append(w.extra("trade_in"))
        elif intent is Intent.HUMAN_REQUEST:
            out.append(w.extra("human"))
    if not vehicle_done and d.vehicle_topics:
        out.extend(_vehicle_answers(w))
    return out


def _prefix(w: _Writer) -> list[str]:
    if Intent.GREETING in w.decision.also_answer:
        return [w.extra("greeting")]
    if Intent.THANKS in w.decision.also_answer:
        return [w.extra("thanks")]
    return []


def _main(w: _Writer) -> list[str]:
    """The action's own sentences (required: never dropped for length)."""
    d, has_amount = w.decision, w.amount is not None
    price = [w.action("price")] if has_amount else []
    if d.action is ActionKind.COUNTER:
        return [w.action("counter")] if has_amount else [w.action("ask_offer")]
    if d.action is ActionKind.ACCEPT:
        out = [w.action("accept" if has_amount else "accept_no_amount")]
        if "viewing" in d.next_steps:
            out.append(w.extra("next_viewing_time" if d.proposed_time else "next_viewing"))
        if "escrow" in d.next_steps:
            out.append(w.extra("escrow" if "fee" in w.values else "escrow_no_fee"))
        return out
    if d.action is ActionKind.HOLD:
        return [w.action("hold" if has_amount else "hold_no_amount")]
    if d.action is ActionKind.DECLINE_LOWBALL:
        return [w.action("decline" if has_amount else "decline_no_amount")]
    if d.action is ActionKind.ASK_OFFER:
        return [w.action("ask_offer_priced" if has_amount else "ask_offer")]
    if d.action is ActionKind.PROPOSE_VIEWING:
        return [w.action("viewing_time" if d.proposed_time else "viewing")]
    if d.action is ActionKind.HANDOFF:
        return [w.action("handoff")]
    if d.action is ActionKind.WARN_SCAM:
        return [w.action("scam")]
    return price  # ANSWER: the answers carry the message


def _quick_replies(decision: Decision) -> tuple[tuple[str, str], ...]:
    payloads = decision.quick_replies or DEFAULT_QUICK_REPLIES.get(decision.action, ())
    escrow_accept = decision.action is ActionKind.ACCEPT and "escrow" in decision.next_steps
    if not decision.quick_replies and escrow_accept:
        payloads = (*payloads, "START_ESCROW")
    return tuple((p, QUICK_REPLIES[p]) for p in dict.fromkeys(payloads) if p in QUICK_REPLIES)


def render_template(decision: Decision, listing: ListingFacts, tone: Tone, variant_seed: int) -> Reply:
    """Phrase ``decision`` for ``listing`` in ``tone``; the wording variant is chosen by ``variant_seed``.

    Handoff and scam warnings say only their own message: the seller takes over, and a likely scammer
    should learn nothing more about the car or the seller.
    """
    w = _Writer(decision, listing, Tone(tone), variant_seed)
    main = _main(w)
    if decision.action in (ActionKind.HANDOFF, ActionKind.WARN_SCAM):
        return Reply(text=" ".join(main), quick_replies=_quick_replies(decision))
    answers = _answers(w)
    if decision.action is ActionKind.ANSWER and not answers and not main:
        main = [w.action("answer"), w.action("answer_empty")]
    prefix = _prefix(w)
    # Answers after the action, except for a plain answer where they are the point of the message.
    optional = answers
    while optional and len(" ".join([*prefix, *main, *optional])) > MAX_REPLY_CHARS:
        optional = optional[:-1]
    text = " ".join([*prefix, *main, *optional])
    return Reply(text=text, quick_replies=_quick_replies(decision))
