"""Domains above conversations that take part in a turn (seller questions, deals, test drives).

The conversation job knows nothing of those domains: the composition root hands it a list of hooks,
each called in the job's transaction. A hook may add the seller's stated facts to what the composer sees
(:meth:`TurnHook.listing_details`) and may act on, or replace, the composed reply
(:meth:`TurnHook.after_compose`); the price guard has already checked every draft a hook keeps, and a
hook that writes its own text must only state facts, never a price.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from accorria_agent.conversations.composer import TurnContext, TurnResult
    from accorria_agent.conversations.models import Conversation
    from accorria_agent.sellers.models import Listing, MessengerTenant


class TurnHook:
    """Does nothing by default; a domain overrides what it needs."""

    async def listing_details(self, session: AsyncSession, listing: Listing) -> dict[str, str]:
        """Facts of ``listing`` to add to what the composer may say (topic → text)."""
        return {}

    async def after_compose(
        self,
        session: AsyncSession,
        tenant: MessengerTenant,
        conversation: Conversation,
        listing: Listing | None,
        context: TurnContext,
        turn: TurnResult,
    ) -> TurnResult:
        """Act on the composed turn; return it (or a replacement) for recording."""
        return turn
