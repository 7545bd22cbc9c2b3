"""Co-pilot mode in the conversation job: the bot understands and decides, the seller sends.

A Page's ``reply_mode`` (``bot`` / ``copilot`` / ``off``) says who answers its buyers; a listing's own
``reply_mode`` wins over its Page's. In co-pilot mode the turn is composed exactly as the bot's (same
decision, same phrasing, same guard) but stored as a :class:`ConversationDraft` instead of an outbound
message, and the seller is notified. Nothing of it goes out on its own.

Why the negotiation state waits on the draft: a counter the buyer never saw must not count as made (the
next counter would be computed from it, a concession "used"). The draft keeps the state its decision leads
to (``state_after``); the conversation takes it only when the draft is sent. A newer buyer message
supersedes the pending draft, and the next draft answers the old and the new messages as one turn, from
the state the buyer actually knows.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from accorria_agent.conversations import repository as repo
from accorria_agent.conversations.composer import BuyerInput, TurnResult
from accorria_agent.conversations.models import ConversationDraft
from accorria_agent.live.bus import announce
from accorria_agent.sellers.notifications import mark_read, notify_seller

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from accorria_agent.conversations.models import Conversation
    from accorria_agent.sellers.models import Listing, MessengerSettings, MessengerTenant

BOT = "bot"
COPILOT = "copilot"
OFF = "off"
REPLY_MODES = (BOT, COPILOT, OFF)
PREVIEW_CHARS = 140


def reply_mode(settings: MessengerSettings, listing: Listing | None) -> str:
    """Who answers this buyer: the listing's own mode when it has one, else its Page's."""
    own = getattr(listing, "reply_mode", None) if listing is not None else None
    if own in REPLY_MODES:
        return str(own)
    if not settings.bot_enabled:
        return OFF
    page = getattr(settings, "reply_mode", BOT)
    return str(page) if page in REPLY_MODES else BOT


def _input_json(item: BuyerInput) -> dict[str, Any]:
    return {
        "text": item.text,
        "sent_at": item.sent_at.isoformat(),
        "quick_reply_payload": item.quick_reply_payload,
        "postback_payload": item.postback_payload,
        "attachment_types": list(item.attachment_types),
    }


def _input_from_json(data: dict[str, Any]) -> BuyerInput:
    return BuyerInput(
        text=str(data.get("text") or ""),
        sent_at=datetime.fromisoformat(str(data["sent_at"])),
        quick_reply_payload=data.get("quick_reply_payload"),
        postback_payload=data.get("postback_payload"),
        attachment_types=tuple(str(k) for k in data.get("attachment_types") or ()),
    )


async def take_unanswered(
    session: AsyncSession, tenant_id: int, conversation: Conversation, now: datetime
) -> list[BuyerInput]:
    """Supersede the conversation's pending draft; the buyer messages it answered, to answer again.

    Locks the conversation row first and rereads its negotiation state: a seller sending the draft at
    the same moment (``dashboard/drafts.py`` takes the same lock) either committed before, and this turn
    is decided from the state the sent draft left, or waits until this turn's new draft is stored.
    """
    await session.flush()  # the turn's changes so far; the refresh below must not drop them
    await session.refresh(conversation, attribute_names=["negotiation_state"], with_for_update=True)
    draft = await repo.pending_draft(session, tenant_id, conversation.id)
    if draft is None:
        return []
    draft.status = "superseded"
    draft.resolved_at = now
    await mark_read(session, tenant_id, conversation.id, "draft", now)
    # The row must be closed before the new pending draft is inserted (one pending per conversation).
    await session.flush()
    return [_input_from_json(item) for item in draft.inputs or [] if isinstance(item, dict)]


def _decided_price(decision: dict[str, Any]) -> Decimal | None:
    amount = decision.get("amount")
    if amount in (None, ""):
        return None
    try:
        return Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return None


async def record_draft(
    session: AsyncSession,
    tenant: MessengerTenant,
    conversation: Conversation,
    turn: TurnResult,
    inputs: list[BuyerInput],
    now: datetime,
) -> ConversationDraft:
    """Store the composed turn as the conversation's pending draft and tell the seller it waits."""
    first = turn.drafts[0] if turn.drafts else None
    text = "\n\n".join(d.text for d in turn.drafts)
    base = conversation.negotiation_state or {}
    draft = ConversationDraft(
        tenant_id=tenant.id,
        conversation_id=conversation.id,
        status="pending",
        text=text,
        quick_replies=[list(q) for q in first.quick_replies] if first is not None else [],
        source=first.source if first is not None else "template",
        # ``base_turns``: the state it was decided from; a draft decided from another is stale.
        decision={**turn.decision, "base_turns": int(base.get("turns", 0) or 0)},
        decided_price=_decided_price(turn.decision),
        state_after=dict(turn.state),
        inputs=[_input_json(item) for item in inputs],
        handoff_reason=turn.handoff_reason,
        created_at=now,
    )
    session.add(draft)
    await session.flush()
    preview = text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1].rstrip() + "…"
    await notify_seller(
        session, tenant.id, conversation.id, "draft", f"A draft reply waits for you: “{preview}”"
    )
    await announce(session, tenant.seller_id, "conversation", conversation.id)
    return draft
