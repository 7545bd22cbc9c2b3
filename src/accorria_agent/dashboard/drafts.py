"""Co-pilot drafts from the seller's side: send the assistant's draft as it is, edited, or discard it.

The draft was decided and phrased by the bot (``conversations/copilot.py``); here the seller decides.
Every send goes through the same doors as the seller's own dashboard reply: the price guard for words a
person edited (``negotiation.guard.check_seller_reply``: nothing below the floor, the floor never revealed,
unless the seller explicitly confirms), the 24-hour window (``HUMAN_AGENT`` between 24 h and 7 days when the
Page enabled it; re-checked at send time by delivery), the audit trail with the member as actor.

When the draft is sent, the negotiation state its decision leads to becomes the conversation's (the
counter is now made). A seller who confirmed going below the floor takes the conversation over: the bot
could not honour that price, so it must not speak for it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.audit import service as audit
from accorria_agent.conversations import modes
from accorria_agent.conversations import repository as repo
from accorria_agent.conversations.models import Conversation, ConversationDraft
from accorria_agent.conversations.negotiation_composer import seller_rules
from accorria_agent.conversations.pipeline import listing_facts
from accorria_agent.dashboard.draft_view import current_draft
from accorria_agent.dashboard.schemas import DraftSendIn
from accorria_agent.dashboard.service import owned_conversation
from accorria_agent.deals import service as deals
from accorria_agent.errors import Conflict, Forbidden, NotFound, PolicyRefused
from accorria_agent.jobs.interface import JobQueue
from accorria_agent.live.bus import announce
from accorria_agent.messenger.policy import send_permission
from accorria_agent.negotiation.guard import check_seller_reply, escrow_fee, seller_prices
from accorria_agent.negotiation.schemas import NegotiationState
from accorria_agent.sellers.models import Listing, MessengerTenant
from accorria_agent.sellers.notifications import mark_read
from accorria_agent.sellers.service import settings_for

log = structlog.get_logger(__name__)

PAUSED_BELOW_FLOOR = "the seller went below the floor from the dashboard"
REASON_TEXTS = {
    "below_floor": "it names a price below the floor",
    "accepts_below_floor": "it accepts the buyer's offer, which is below the floor",
    "floor_disclosure": "it reveals the floor",
}


class BelowFloor(PolicyRefused):
    """The seller's text goes below the floor (or reveals it) and was not confirmed (422)."""

    code = "below_floor"


class WindowClosed(Conflict):
    """Messenger's window no longer allows this reply (409); the draft stays."""

    code = "window_closed"


class DraftStale(Conflict):
    """The conversation moved on since the draft was decided (409); it is discarded."""

    code = "draft_stale"


async def _pending(
    session: AsyncSession, seller_id: int, conversation_id: int
) -> tuple[MessengerTenant, Conversation, ConversationDraft]:
    tenant, conversation = await owned_conversation(session, seller_id, conversation_id)
    # The conversation job takes the same lock before it replaces a draft (conversations/copilot.py).
    await session.refresh(conversation, with_for_update=True)
    draft = await repo.pending_draft(session, tenant.id, conversation.id)
    if draft is None:
        raise NotFound("no draft waits on this conversation")
    return tenant, conversation, draft


def _fees(draft: ConversationDraft, state: NegotiationState) -> set[Decimal]:
    """The escrow fees the text may name (amounts, but not prices)."""
    out: set[Decimal] = set()
    for price in (draft.decided_price, state.agreed_price):
        if price is not None:
            fee = escrow_fee(Decimal(price))
            out |= {fee, fee.quantize(Decimal(1), rounding=ROUND_HALF_UP)}
    return out


async def send_draft(
    session: AsyncSession,
    seller_id: int,
    conversation_id: int,
    body: DraftSendIn,
    now: datetime,
    *,
    actor_id: int | None,
    is_owner: bool = True,
    queue: JobQueue | None = None,
) -> tuple[int, int]:
    """Record the draft (or the seller's edit of it) as the seller's message; returns (tenant, message id).

    The caller delivers it after the commit. Raises :class:`BelowFloor`, :class:`WindowClosed`,
    :class:`DraftStale` or ``NotFound`` (no draft, or someone else's conversation); ``Forbidden`` when a
    staff member confirms going below the floor (the floor is the owners').
    """
    tenant, conversation, draft = await _pending(session, seller_id, conversation_id)
    if body.draft_id is not None and body.draft_id != draft.id:
        # A newer buyer message replaced the draft the seller was looking at: they must see this one first.
        raise DraftStale("a newer draft replaced the one you saw (the buyer wrote again); read it first")
    if current_draft(conversation, draft) is None:
        # The bot answered meanwhile (the mode changed): the draft is hidden from the thread too.
        raise DraftStale("the conversation moved on since this draft was written; write a new reply")
    text = body.text if body.text is not None else draft.text
    edited = text != draft.text
    after = NegotiationState.from_json(draft.state_after)
    listing = await repo.listing_for(session, tenant.id, conversation.listing_id)
    reasons: tuple[str, ...] = ()
    if edited and listing is not None:
        # The draft as written passed the bot's own final guard with the real floor; an edit passes this.
        rules, facts, fees = seller_rules(listing), listing_facts(listing), _fees(draft, after)
        reasons = check_seller_reply(
            text,
            rules,
            listing=facts,
            buyer_offer=after.buyer_offers[-1] if after.buyer_offers else None,
            exempt=fees,
        )
        prices = [p for p in seller_prices(text, listing=facts, exempt=fees) if p >= rules.price_floor]
        after = _as_edited(after, draft, prices)
    if reasons and not body.confirm_below_floor:
        why = "; ".join(REASON_TEXTS.get(r, r) for r in reasons)
        raise BelowFloor(f"not sent: {why}. Send again with confirm_below_floor to send it anyway.")
    if reasons and not is_owner:
        raise Forbidden("only an owner can send a price below the floor")
    settings = await settings_for(session, tenant.id)
    permission = send_permission(
        now=now,
        last_buyer_message_at=conversation.last_buyer_message_at,
        author="seller",
        human_agent_tag_enabled=settings.human_agent_tag_enabled,
    )
    if not permission.allowed:
        raise WindowClosed(f"not sent: {permission.reason}")
    payload: dict[str, object] = {"source": "draft", "draft_id": draft.id, "edited": edited}
    if not edited and draft.quick_replies:
        payload["quick_replies"] = draft.quick_replies
    message = repo.new_outbound(conversation, author="seller", text=text, payload=payload, now=now)
    message.messaging_type = None  # set by delivery from the policy decision
    session.add(message)
    conversation.last_seller_message_at = now
    # The decision is now made to the buyer: its counter counts, its concession is used.
    conversation.negotiation_state = after.to_json()
    if reasons:
        modes.apply(conversation, modes.Transition.TAKE_OVER, at=now, reason=PAUSED_BELOW_FLOOR)
    elif not edited and queue is not None and listing is not None:
        await _open_deal_if_accepted(session, queue, tenant, conversation, draft, listing, now)
    await session.flush()
    draft.status, draft.resolved_at, draft.resolved_by, draft.message_id = "sent", now, actor_id, message.id
    await mark_read(session, tenant.id, conversation.id, "draft", now)
    await audit.by_member(
        session,
        seller_id,
        actor_id,
        "message.outbound",
        ("conversation", conversation.id),
        draft=draft.id,
        edited=edited,
        confirmed_below_floor=bool(reasons),
    )
    await announce(session, seller_id, "message", conversation.id, message.id)
    log.info(
        "draft_sent", conversation_id=conversation.id, draft_id=draft.id, edited=edited, guard=list(reasons)
    )
    return tenant.id, message.id


def _as_edited(state: NegotiationState, draft: ConversationDraft, prices: list[Decimal]) -> NegotiationState:
    """The state the seller's edit leaves: their one price is the counter made; an acceptance whose
    price they did not say is not an agreement (pure)."""
    action = (draft.decision or {}).get("action")
    decided = Decimal(draft.decided_price) if draft.decided_price is not None else None
    if action == "accept" and decided not in prices:
        state = replace(state, agreed_price=None)
    if action == "counter" and len(prices) == 1 and state.our_counters:
        state = replace(state, our_counters=[*state.our_counters[:-1], prices[0]])
    return state


async def _open_deal_if_accepted(
    session: AsyncSession,
    queue: JobQueue,
    tenant: MessengerTenant,
    conversation: Conversation,
    draft: ConversationDraft,
    listing: Listing,
    now: datetime,
) -> None:
    """The acceptance the bot drafted is now said: the deal opens (and escrow starts) as in bot mode."""
    if (draft.decision or {}).get("action") != "accept" or draft.decided_price is None:
        return
    await deals.record_price_agreed(
        session,
        queue,
        seller_id=tenant.seller_id,
        tenant_id=tenant.id,
        conversation_id=conversation.id,
        listing=listing,
        price=Decimal(draft.decided_price),
        now=now,
    )


async def discard_draft(
    session: AsyncSession, seller_id: int, conversation_id: int, now: datetime, *, actor_id: int | None
) -> None:
    """The seller drops the draft; nothing is sent and the negotiation stays as the buyer knows it."""
    tenant, conversation, draft = await _pending(session, seller_id, conversation_id)
    draft.status, draft.resolved_at, draft.resolved_by = "discarded", now, actor_id
    await mark_read(session, tenant.id, conversation.id, "draft", now)
    await audit.by_member(
        session, seller_id, actor_id, "draft.discard", ("conversation", conversation.id), draft=draft.id
    )
    await announce(session, seller_id, "conversation", conversation.id)
