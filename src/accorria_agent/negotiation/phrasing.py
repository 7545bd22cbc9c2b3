"""Phrasing a decided reply: the :class:`Phraser` protocol, the deterministic :class:`TemplatePhraser`
and what every phraser shares (fallback reasons, metrics, guard rules for a decision).

The template path needs nothing else; the OpenAI adapter lives in ``negotiation/llm.py`` and is imported
only when ``OPENAI_API_KEY`` is set, so the SDK is never loaded otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from accorria_agent.negotiation.replies import render_template
from accorria_agent.negotiation.schemas import Decision, ListingFacts, Reply, SellerRules, Tone

#: Why an LLM reply was not used; the label set of the fallback counter.
FALLBACK_REASONS: tuple[str, ...] = (
    "timeout",
    "api_error",
    "malformed",
    "empty",
    "too_long",
    "guard",
    "error",
)

class Phraser(Protocol):
    """Turns a decision into a reply. Implementations must never raise for a valid decision."""

    async def phrase(
        self,
        decision: Decision,
        listing: ListingFacts,
        tone: Tone,
        history: Sequence[tuple[str, str]],
        variant_seed: int,
    ) -> Reply: ...


class TemplatePhraser:
    """The deterministic phraser: ``render_template``; the fallback of every other phraser."""

    async def phrase(
        self,
        decision: Decision,
        listing: ListingFacts,
        tone: Tone,
        history: Sequence[tuple[str, str]],
        variant_seed: int,
    ) -> Reply:
        """Render the template reply (``history`` is not needed: the decision already reflects it)."""
        return render_template(decision, listing, tone, variant_seed)


@dataclass
class PhraserMetrics:
    """Counters for LLM phrasing; the lead exports them (e.g. as Prometheus counters by ``reason``)."""

    llm_replies: int = 0
    fallbacks: dict[str, int] = field(default_factory=dict)
    # Guard reason codes behind "guard" fallbacks (one reply may count several).
    guard_reasons: dict[str, int] = field(default_factory=dict)

    def record_llm(self) -> None:
        """Count a reply sent as the model wrote it."""
        self.llm_replies += 1

    def record_fallback(self, reason: str, guard_reasons: Sequence[str] = ()) -> None:
        """Count a fallback to the template by ``reason`` (one of ``FALLBACK_REASONS``)."""
        self.fallbacks[reason] = self.fallbacks.get(reason, 0) + 1
        for code in guard_reasons:
            self.guard_reasons[code] = self.guard_reasons.get(code, 0) + 1

    @property
    def total_fallbacks(self) -> int:
        """All fallbacks, whatever the reason."""
        return sum(self.fallbacks.values())


def guard_rules_for(decision: Decision) -> SellerRules:
    """Rules for the guard when the caller has none: the lowest allowed amount stands in for the floor.

    It is never below the real floor (allowed amounts never are), so the below-floor check only gets
    stricter; the allowed-amount check is unchanged.
    """
    positive = [a for a in decision.allowed_amounts if a > 0]
    if not positive:
        return SellerRules(asking_price=Decimal(1), price_floor=Decimal(1))
    return SellerRules(asking_price=max(positive), price_floor=min(positive))
