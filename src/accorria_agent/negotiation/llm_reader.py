"""Optional LLM *reading* of buyer messages the parser leaves as ``other`` (issue 14, item 6).

The model is asked for structured output — ``{"intent", "offer", "vehicle_topic"}`` — and everything it
says is validated in code before use: the intent must be one of ours (never ``human_request``: a handoff
is not decided on a model's guess), an offer amount must appear in the buyer's own text (a number the
buyer wrote, within the plausible range of the listing), a topic must be one of the parser's vehicle
topics. The price decision stays with the strategy. The parser's answer is used whenever the model
fails, times out, answers malformed JSON or disagrees with a number the parser validated.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

import openai
from openai import AsyncOpenAI

from accorria_agent.negotiation.guard import find_amounts, normalize_text
from accorria_agent.negotiation.lexicon import VEHICLE_TOPICS
from accorria_agent.negotiation.schemas import Intent, Understanding

logger = logging.getLogger(__name__)

# Intents a model may assign; the rest are left to deterministic rules (handoffs, scams).
READABLE_INTENTS = frozenset(Intent) - {Intent.HUMAN_REQUEST, Intent.OTHER}
_MAX_TEXT_CHARS = 600

SYSTEM_PROMPT = (
    "You classify one message a buyer sent to a used-car seller. Answer with JSON only: "
    '{"intent": one of ' + ", ".join(sorted(i.value for i in READABLE_INTENTS)) + ' or "other", '
    '"offer": the price in dollars the buyer proposes or accepts, or null, '
    '"vehicle_topic": one of ' + ", ".join(sorted(VEHICLE_TOPICS)) + " or null}. "
    "Never invent a number the buyer did not write."
)


def validate_reading(raw: str, text: str, asking_price: Decimal | None) -> Understanding | None:
    """The model's JSON answer as an ``Understanding``, or None when any part of it fails validation."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, TypeError):
        return None
    if not isinstance(data, dict):
        return None
    try:
        intent = Intent(str(data.get("intent", "other")))
    except ValueError:
        return None
    if intent not in READABLE_INTENTS:
        return None
    offer: Decimal | None = None
    if data.get("offer") is not None:
        try:
            offer = Decimal(str(data["offer"])).quantize(Decimal(1))
        except (InvalidOperation, ValueError):
            return None
        written = {m.value for m in find_amounts(normalize_text(text))}
        if offer not in written:
            return None  # an amount the buyer did not write is an invention
        if asking_price is not None and not (asking_price * Decimal("0.1") <= offer <= asking_price * 2):
            return None
    topic = data.get("vehicle_topic")
    topics: tuple[str, ...] = ()
    if topic is not None:
        if str(topic) not in VEHICLE_TOPICS:
            return None
        topics = (str(topic),)
    if intent is Intent.OFFER and offer is None:
        return None
    if intent is Intent.VEHICLE_QUESTION and not topics:
        topics = ("general",)
    return Understanding(intent=intent, intents=(intent,), offer=offer, vehicle_topics=topics)


def merge(parsed: Understanding, read: Understanding | None) -> Understanding:
    """The parser's understanding, improved by a validated reading only where the parser had nothing."""
    if read is None or parsed.intent is not Intent.OTHER or parsed.scam:
        return parsed
    if parsed.offer is not None and read.offer is not None and read.offer != parsed.offer:
        return parsed  # the parser's validated number wins
    return replace(
        parsed,
        intent=read.intent,
        intents=(read.intent,),
        offer=parsed.offer if parsed.offer is not None else read.offer,
        vehicle_topics=read.vehicle_topics or parsed.vehicle_topics,
    )


class LlmReader:
    """Reads ``other`` messages with an OpenAI-compatible chat model (structured JSON output)."""

    def __init__(self, client: AsyncOpenAI, model: str, timeout_s: float = 3.0) -> None:
        self._client = client.with_options(timeout=timeout_s, max_retries=0)
        self.model = model
        self.timeout_s = timeout_s
        self.failures = 0

    async def improve(self, parsed: Understanding, text: str, asking_price: Decimal | None) -> Understanding:
        """``parsed`` unless it is ``other`` and the model's validated reading says more."""
        if parsed.intent is not Intent.OTHER or parsed.scam or not text.strip():
            return parsed
        try:
            raw = await asyncio.wait_for(self._complete(text[:_MAX_TEXT_CHARS]), timeout=self.timeout_s)
        except (TimeoutError, openai.APIError, json.JSONDecodeError):
            self.failures += 1
            return parsed
        except Exception:  # a reader must never break the conversation
            logger.exception("LLM reading failed unexpectedly")
            self.failures += 1
            return parsed
        read = validate_reading(raw, text, asking_price)
        if read is None:
            self.failures += 1
        return merge(parsed, read)

    async def _complete(self, text: str) -> str:
        response: Any = await self._client.chat.completions.create(
            model=self.model,
            messages=[
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": text},
            ],
            response_format={"type": "json_object"},
            max_tokens=80,
            temperature=0,
        )
        try:
            content = response.choices[0].message.content
        except (AttributeError, IndexError, TypeError):
            return ""
        return content if isinstance(content, str) else ""
