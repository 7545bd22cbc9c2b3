"""Reply composition: from the buyer's new messages to the outbound drafts of one turn.

The composer is the seam between the pipeline (I/O) and the negotiation package (pure). It receives
plain values and returns plain drafts; the pipeline stores them as outbound intents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from accorria_agent.negotiation.schemas import ListingFacts


@dataclass(frozen=True)
class BuyerInput:
    """One new buyer message, as the composer sees it."""

    text: str
    sent_at: datetime
    quick_reply_payload: str | None = None
    postback_payload: str | None = None
    # Non-text content the buyer sent (image, video, audio, file, location, fallback, template).
    attachment_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class Draft:
    """One outbound message to record and send: text plus optional quick replies."""

    text: str
    quick_replies: tuple[tuple[str, str], ...] = ()
    source: str = "template"

    def with_prefix(self, prefix: str) -> Draft:
        """The same draft preceded by ``prefix`` (e.g. the automation disclosure)."""
        return Draft(
            text=f"{prefix}\n\n{self.text}" if prefix else self.text,
            quick_replies=self.quick_replies,
            source=self.source,
        )


@dataclass
class TurnResult:
    """What the composer decided for a turn; ``state`` is the new negotiation state to persist."""

    drafts: list[Draft]
    state: dict[str, Any]
    handoff_reason: str | None = None
    decision: dict[str, Any] = field(default_factory=dict)
    # The buyer's language for this turn (a locale code); None when the composer does not know.
    language: str | None = None
    # Topics the reply told the buyer it is asking the seller about (the questions domain records them).
    seller_questions: tuple[str, ...] = ()


@dataclass(frozen=True)
class TurnContext:
    """Everything the composer may know about the conversation (never secrets beyond the rules)."""

    conversation_id: int
    listing: ListingFacts | None
    # The listing row with the seller's rules (asking price, floor …); composers read, never echo, the floor.
    rules: Any
    inputs: list[BuyerInput]
    state: dict[str, Any]
    history: list[tuple[str, str]]
    timezone: str
    now: datetime
    # Co-pilot: the reply becomes a draft the seller may send, edit or discard. Hooks must not act on the
    # buyer's behalf as if it had been sent (no deal recorded, no slot booked, nothing sent by itself).
    drafting: bool = False


class ReplyComposer(Protocol):
    async def compose(self, context: TurnContext) -> TurnResult:
        """Decide and phrase the reply to this turn's buyer messages."""
        ...
