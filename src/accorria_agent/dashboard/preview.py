"""The "try the bot" preview: a rehearsal chat against the real engine that sends and stores nothing.

``POST /api/listings/{id}/preview {"messages": ["hi", "would you take 9000?"]}`` runs each buyer message
as one turn through the runtime's composer (understanding ▸ strategy ▸ phrasing ▸ price guard, with the
listing's real rules) on a throwaway negotiation state, and returns the replies. It opens a read-only
transaction to load the listing and never adds a row: no conversation, no message, no Send API call.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from accorria_agent.accounts.context import Member
from accorria_agent.conversations.composer import BuyerInput, ReplyComposer, TurnContext
from accorria_agent.conversations.pipeline import listing_facts
from accorria_agent.db.engine import transaction
from accorria_agent.listings import service as listings

MAX_PREVIEW_MESSAGES = 20
# A negative id marks the throwaway conversation (real ids start at 1): nothing can confuse the two.
PREVIEW_CONVERSATION_ID = -1

BuyerText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class PreviewIn(BaseModel):
    """The buyer's side of the rehearsal, oldest first (1–20 messages of 1–2,000 characters)."""

    model_config = ConfigDict(extra="forbid")

    messages: list[BuyerText] = Field(min_length=1, max_length=MAX_PREVIEW_MESSAGES)


class PreviewTurn(BaseModel):
    buyer: str
    reply: str
    action: str | None
    handoff_reason: str | None


class PreviewOut(BaseModel):
    """The assistant's reply to each message (``replies``), with what it decided (``turns``)."""

    replies: list[str]
    turns: list[PreviewTurn]
    sent: bool = False


class _PreviewRuntime(Protocol):
    session_factory: Any
    composer: ReplyComposer
    clock: Any
    settings: Any


router = APIRouter(prefix="/api", tags=["dashboard"])


def _runtime(request: Request) -> _PreviewRuntime:
    runtime: _PreviewRuntime = request.app.state.runtime
    return runtime


async def preview_chat(
    composer: ReplyComposer, listing: Any, messages: list[str], now: datetime, timezone: str
) -> PreviewOut:
    """Run ``messages`` turn by turn through ``composer`` on a fresh state (pure: touches no database)."""
    state: dict[str, Any] = {}
    history: list[tuple[str, str]] = []
    turns: list[PreviewTurn] = []
    facts = listing_facts(listing)
    for text in messages:
        history.append(("buyer", text))
        context = TurnContext(
            conversation_id=PREVIEW_CONVERSATION_ID,
            listing=facts,
            rules=listing,
            inputs=[BuyerInput(text=text, sent_at=now)],
            state=dict(state),
            history=list(history),
            timezone=timezone,
            now=now,
        )
        result = await composer.compose(context)
        state = dict(result.state)
        reply = "\n\n".join(d.text for d in result.drafts)
        history.append(("bot", reply))
        action = result.decision.get("action")
        turns.append(
            PreviewTurn(buyer=text, reply=reply, action=action, handoff_reason=result.handoff_reason)
        )
        if result.handoff_reason:
            break  # the real conversation would now be the seller's
    return PreviewOut(replies=[t.reply for t in turns], turns=turns)


@router.post("/listings/{listing_id}/preview", response_model=PreviewOut)
async def preview(
    listing_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: PreviewIn,
    member: Member,
    runtime: Annotated[_PreviewRuntime, Depends(_runtime)],
) -> PreviewOut:
    """Rehearse a chat with a buyer about this listing; nothing is sent to Messenger or stored."""
    async with transaction(runtime.session_factory) as session:
        listing = await listings.listing_row(session, member, listing_id)
        session.expunge(listing)  # read once; the composer sees a detached row, nothing can be written
    return await preview_chat(
        runtime.composer, listing, body.messages, runtime.clock(), runtime.settings.default_timezone
    )
