"""Template phrasing: turn a ``Decision`` into a buyer-facing ``Reply`` without any model.

The strategy has already decided *what* to do; this module only chooses words. It never states a money
amount outside ``decision.allowed_amounts`` (plus the escrow fee), never invents a vehicle fact (what
``ListingFacts`` does not say is referred to the seller) and picks among several wordings per action and
tone deterministically from ``variant_seed`` so that conversations do not sound canned but replays and
tests are reproducible. The wording lives in ``locales/<code>.py`` (one file per language; the decision's
``language`` picks it, English fills any gap).

What was asked is answered first, every time, from the listing only: availability from its status,
location as the area (the exact place is the seller's to give once a test drive is booked), each vehicle
fact from its fields, ``details`` and the seller's earlier answers, payment, financing, trade-ins and
delivery from ``details`` when the seller said. What it does not say is referred to the seller:
:func:`unanswered_topics` names those topics so the composer can really ask them (questions domain).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from accorria_agent.negotiation import locales
from accorria_agent.negotiation import templates as t
from accorria_agent.negotiation.guard import MAX_REPLY_CHARS, decision_fee, unsafe_content
from accorria_agent.negotiation.schemas import ActionKind, Decision, Intent, ListingFacts, Reply, Tone

QUICK_REPLIES: dict[str, str] = dict(locales.value(locales.DEFAULT, "QUICK_REPLIES"))

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
        self.language = locales.normalise_code(decision.language)
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

    def say(self, table: str, key: str, **extra: str) -> str:
        by_tone: t.Variants = locales.entry(self.language, table, key)
        variants = by_tone.get(self.tone) or by_tone.get(Tone.FRIENDLY) or next(iter(by_tone.values()))
        template = _pick(variants, self.seed, key)
        text = template.format(**self.values, **extra)
        if "{name}" in template:
            # Full name once per message; later sentences use the shorter make + model.
            self.values["name"] = self.values["short"]
        return text

    def action(self, key: str) -> str:
        return self.say("ACTION", key)

    def extra(self, key: str, **extra: str) -> str:
        return self.say("EXTRA", key, **extra)


def _safe(text: str, listing: ListingFacts) -> bool:
    """A seller-entered fact is repeated only if it cannot trip the guard (prices, links, "floor" mats…)."""
    return len(text) <= 2 * _MAX_DESCRIPTION_CHARS and not unsafe_content(text, listing=listing)


def _clean(value: str) -> str:
    return " ".join(value.split())[:_MAX_FACT_CHARS].strip(" .,;")


def _topic_label(topic: str) -> str:
    return re.sub(r"[^a-z ]+", " ", topic.lower().replace("_", " ")).strip()[:30]


def _details_lookup(listing: ListingFacts) -> dict[str, str]:
    return {_topic_label(k): v for k, v in listing.details.items()}


def _fact(topic: str, listing: ListingFacts, language: str = locales.DEFAULT) -> str | None:
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
            sentence = str(locales.value(language, "DESCRIPTION_FACT")).format(value=first)
            return sentence if _safe(sentence, listing) else None
    elif canonical not in _LISTING_FIELDS:
        details = _details_lookup(listing)
        raw = details.get(canonical, details.get(label))
        if raw is not None and _clean(raw):
            value = _clean(raw)
    if value is None:
        return None
    template = str(
        locales.lookup(language, "FACT_SENTENCES", canonical, locales.value(language, "GENERIC_FACT"))
    )
    label = str(locales.lookup(language, "TOPIC_LABELS", canonical, canonical))
    sentence = template.format(value=value, label=label[:1].upper() + label[1:])
    return sentence if _safe(sentence, listing) else None


def _join_topics(topics: Sequence[str], language: str = locales.DEFAULT) -> str:
    last = " y " if language == "es" else " and "
    return topics[0] if len(topics) == 1 else ", ".join(topics[:-1]) + last + topics[-1]


def _canonical(topic: str) -> str:
    label = _topic_label(topic)
    return t.TOPIC_SYNONYMS.get(label, label)


def _vehicle_answers(w: _Writer) -> list[str]:
    sentences: list[str] = []
    unknown: list[str] = []
    for topic in dict.fromkeys(w.decision.vehicle_topics):
        sentence = _fact(topic, w.listing, w.language)
        if sentence is not None:
            sentences.append(sentence)
        elif _topic_label(topic):
            unknown.append(_canonical(topic))
    named = {u: str(locales.lookup(w.language, "TOPIC_LABELS", u, u)) for u in unknown}
    plain = [named[u] for u in unknown if u not in t.PROMISE_TOPICS]
    if plain:
        sentences.append(w.extra("unknown_topics", topics=_join_topics(plain[:3], w.language)))
    sentences.extend(w.extra("unknown_topics", topics=named[u]) for u in unknown if u in t.PROMISE_TOPICS)
    return sentences


def _area(listing: ListingFacts) -> str | None:
    """The listing's area (city, neighbourhood) without a ZIP code, if it can be repeated safely."""
    loc = listing.location
    if loc:
        loc = _clean(_ZIP_RE.sub("", loc)).strip(" ,")
        if loc and _safe(loc, listing):
            return loc
    return None


def _location(w: _Writer) -> str:
    # The area only: the exact address is the seller's to give once a test drive is booked.
    area = _area(w.listing)
    return w.extra("location_area", location=area) if area else w.extra("location_unknown")


def _detail_fact(w: _Writer, *keys: str) -> str | None:
    """A sentence from the first of ``details[keys]`` the seller filled in (e.g. payment, trade_in)."""
    for key in keys:
        sentence = _fact(key, w.listing, w.language)
        if sentence is not None:
            return sentence
    return None


def _availability(w: _Writer) -> str:
    status = (w.listing.status or "active").lower()
    if status == "sold":
        return w.extra("sold")
    if status == "pending":
        return w.extra("pending")
    if status != "active":
        return w.extra("paused")
    return w.extra("available")


def _answers(w: _Writer) -> list[str]:
    """Sentences for ``decision.also_answer`` (in its order) and the vehicle topics."""
    d = w.decision
    out: list[str] = []
    vehicle_done = False
    for intent in dict.fromkeys(d.also_answer):
        if intent is Intent.AVAILABILITY:
            out.append(_availability(w))
        elif intent is Intent.LOCATION:
            out.append(_location(w))
            delivery = _detail_fact(w, "delivery")
            if delivery:
                out.append(delivery)
        elif intent is Intent.VEHICLE_QUESTION and not vehicle_done:
            out.extend(_vehicle_answers(w))
            vehicle_done = True
        elif intent is Intent.SCHEDULE and d.action not in (ActionKind.PROPOSE_VIEWING, ActionKind.ACCEPT):
            out.append(w.extra("schedule_time") if d.proposed_time else w.extra("schedule"))
        elif intent is Intent.PAYMENT and not (d.action is ActionKind.ACCEPT and "escrow" in d.next_steps):
            stated = [x for x in (_detail_fact(w, "payment"), _detail_fact(w, "financing")) if x]
            if stated:
                out.extend(stated)
            else:
                out.append(
                    w.extra("payment_escrow") if "escrow" in d.next_steps else w.extra("payment_seller")
                )
        elif intent is Intent.TRADE_IN:
            out.append(_detail_fact(w, "trade_in", "trade in", "trade") or w.extra("trade_in"))
        elif intent is Intent.HUMAN_REQUEST:
            out.append(w.extra("human"))
    if not vehicle_done and d.vehicle_topics:
        out.extend(_vehicle_answers(w))
    return out


def unanswered_topics(decision: Decision, listing: ListingFacts) -> tuple[str, ...]:
    """The topics the reply to ``decision`` refers to the seller because the listing does not say.

    Canonical topic codes (``rust``, ``trade in``, ``location`` …): the composer records each as a
    question for the seller, whose answer becomes a listing fact (so the next buyer is answered at once).
    Empty for handoffs and scam warnings, which say nothing about the car.
    """
    if decision.action in (ActionKind.HANDOFF, ActionKind.WARN_SCAM):
        return ()
    out: list[str] = []
    for topic in dict.fromkeys(decision.vehicle_topics):
        if _topic_label(topic) and _fact(topic, listing) is None:
            out.append(_canonical(topic))
    if Intent.TRADE_IN in decision.also_answer and not any(
        _fact(k, listing) for k in ("trade_in", "trade in", "trade")
    ):
        out.append("trade in")
    if Intent.LOCATION in decision.also_answer and _area(listing) is None:
        out.append("location")
    return tuple(dict.fromkeys(out))


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
        if not has_amount:
            return [w.action("ask_offer")]
        # The asking price is the largest price the reply may state; any lower one is our standing counter.
        listed = w.amount == max(d.allowed_amounts, default=w.amount)
        return [w.action("ask_offer_priced" if listed else "ask_offer_standing")]
    if d.action is ActionKind.PROPOSE_VIEWING:
        return [w.action("viewing_time" if d.proposed_time else "viewing")]
    if d.action is ActionKind.HANDOFF:
        return [w.action("handoff")]
    if d.action is ActionKind.WARN_SCAM:
        return [w.action("scam")]
    return price  # ANSWER: the answers carry the message


def _quick_replies(decision: Decision) -> tuple[tuple[str, str], ...]:
    titles: dict[str, str] = {**QUICK_REPLIES, **locales.value(decision.language, "QUICK_REPLIES")}
    payloads = decision.quick_replies or DEFAULT_QUICK_REPLIES.get(decision.action, ())
    escrow_accept = decision.action is ActionKind.ACCEPT and "escrow" in decision.next_steps
    if not decision.quick_replies and escrow_accept:
        payloads = (*payloads, "START_ESCROW")
    return tuple((p, titles[p]) for p in dict.fromkeys(payloads) if p in QUICK_REPLIES)


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
