"""How a co-pilot draft is shown: whether it still answers the negotiation, and its JSON."""

from __future__ import annotations

from accorria_agent.conversations.models import Conversation, ConversationDraft
from accorria_agent.dashboard.schemas import DraftOut


def current_draft(conversation: Conversation, draft: ConversationDraft | None) -> ConversationDraft | None:
    """The pending draft if it still answers the negotiation as it stands (else a newer turn passed it)."""
    if draft is None:
        return None
    base = (draft.decision or {}).get("base_turns", 0)
    return draft if base == int((conversation.negotiation_state or {}).get("turns", 0) or 0) else None


def draft_out(draft: ConversationDraft) -> DraftOut:
    """The draft as the dashboard shows it."""
    action = (draft.decision or {}).get("action")
    return DraftOut(
        id=draft.id,
        text=draft.text,
        created_at=draft.created_at,
        decided_price=draft.decided_price,
        action=str(action) if action is not None else None,
        source=draft.source,
    )
