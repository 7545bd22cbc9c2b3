"""The deals domain in a conversation turn: a sold listing is not negotiated; an agreed price opens a deal."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from accorria_agent.conversations.composer import Draft, TurnResult
from accorria_agent.conversations.hooks import TurnHook
from accorria_agent.deals import service

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from accorria_agent.conversations.composer import TurnContext
    from accorria_agent.conversations.models import Conversation
    from accorria_agent.jobs.interface import JobQueue
    from accorria_agent.sellers.models import Listing, MessengerTenant


class DealsHook(TurnHook):
    """Replaces the reply on a sold listing; records ``price_agreed`` (and defers escrow) on an acceptance."""

    def __init__(self, queue: JobQueue) -> None:
        self.queue = queue

    async def after_compose(
        self,
        session: AsyncSession,
        tenant: MessengerTenant,
        conversation: Conversation,
        listing: Listing | None,
        context: TurnContext,
        turn: TurnResult,
    ) -> TurnResult:
        if listing is None:
            return turn
        if listing.status == "sold" and (turn.language or "en") == "en":
            # No negotiation on a sold car: say so (and offer the seller's other cars) instead. In another
            # language the composer's own reply already says it is sold, in the buyer's words.
            text = await service.sold_listing_reply(session, listing, conversation.id)
            return TurnResult(drafts=[Draft(text=text, source="listing_sold")], state=context.state)
        amount = turn.decision.get("amount")
        # A co-pilot draft is not an acceptance yet: the deal opens when the seller sends it.
        if turn.decision.get("action") == "accept" and amount and not context.drafting:
            await service.record_price_agreed(
                session,
                self.queue,
                seller_id=tenant.seller_id,
                tenant_id=tenant.id,
                conversation_id=conversation.id,
                listing=listing,
                price=Decimal(str(amount)),
                now=context.now,
            )
        return turn
