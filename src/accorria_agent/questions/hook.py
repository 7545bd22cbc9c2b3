"""The questions domain in a conversation turn: the seller's stated facts in, unanswered topics out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from accorria_agent.conversations.hooks import TurnHook
from accorria_agent.negotiation import locales
from accorria_agent.questions import service

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from accorria_agent.conversations.composer import TurnContext, TurnResult
    from accorria_agent.conversations.models import Conversation
    from accorria_agent.sellers.models import Listing, MessengerTenant


class QuestionsHook(TurnHook):
    """Adds the seller's answers to the listing; asks the seller what the reply said we would ask."""

    def __init__(self) -> None:
        self._facts = service.FactsCache()

    async def listing_details(self, session: AsyncSession, listing: Listing) -> dict[str, str]:
        return await self._facts.details(session, listing)

    async def after_compose(
        self,
        session: AsyncSession,
        tenant: MessengerTenant,
        conversation: Conversation,
        listing: Listing | None,
        context: TurnContext,
        turn: TurnResult,
    ) -> TurnResult:
        if turn.seller_questions and listing is not None and not turn.handoff_reason:
            # The reply tells the buyer the seller is being asked: this really asks them.
            await service.ask_seller(
                session,
                tenant_id=tenant.id,
                conversation_id=conversation.id,
                listing=listing,
                topics=turn.seller_questions,
                buyer_text=" / ".join(i.text for i in context.inputs if i.text),
                language=turn.language or locales.DEFAULT,
            )
        return turn
