"""What the dashboard API accepts and returns. Inputs are strict: unknown fields are refused (422)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, model_validator

# Meta's Send API text limit; a dashboard reply is never split, so the seller sees exactly what went out.
MAX_REPLY_CHARS = 2000
# The disclosure opens a bot message: long enough for a sentence or two, short enough to leave room.
MAX_DISCLOSURE_CHARS = 500
# A week: auto-resume later than the HUMAN_AGENT window makes no sense (nothing could be sent).
MAX_AUTO_RESUME_MINUTES = 7 * 24 * 60
PREVIEW_CHARS = 120
# Who answers a Page's buyers: the assistant, the assistant's drafts sent by the seller, or nobody.
ReplyMode = Literal["bot", "copilot", "off"]


@dataclass(frozen=True)
class InboxFilter:
    """What the inbox asks for; every condition narrows (they combine with AND)."""

    text: str | None = None
    needs_me: bool = False
    handed_off: bool = False
    deals: bool = False
    listing_id: int | None = None
    assigned_to: int | None = None
    unassigned: bool = False


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ListingSummary(_Out):
    """The car a conversation is about. The floor is the seller's own data, shown only to them."""

    id: int
    title: str
    asking_price: Decimal
    # None in a staff member's view: the floor is the owners' (routes.py strips it by role).
    price_floor: Decimal | None
    max_concessions: int = 0
    status: str


class NegotiationSummary(_Out):
    best_offer: Decimal | None = None
    last_counter: Decimal | None = None
    agreed_price: Decimal | None = None
    concessions_used: int = 0
    offers: int = 0


class MessagePreview(_Out):
    author: str
    text: str | None
    status: str
    sent_at: datetime
    # A reply the Page's rate limit holds: "held by the rate limit until HH:MM" and the moment (ISO).
    status_reason: str | None = None
    held_until: datetime | None = None


class AssigneeOut(_Out):
    """The member of the account who looks after a conversation."""

    member_id: int
    name: str


class ConversationSummary(_Out):
    id: int
    tenant_id: int
    page_id: str
    page_name: str
    buyer_psid: str
    buyer_name: str | None
    listing: ListingSummary | None
    mode: str
    paused_reason: str | None
    last_message: MessagePreview | None
    last_buyer_message_at: datetime | None
    # Seconds left in the 24-hour window (0 = closed), and in the 7-day HUMAN_AGENT window.
    expires_in: int
    human_agent_expires_in: int
    negotiation: NegotiationSummary
    unread_notifications: int
    updated_at: datetime
    # None: nobody in particular (anyone in the account may answer).
    assigned_member_id: int | None = None
    assignee: AssigneeOut | None = None
    # Who answers this buyer now (the listing's mode, else the Page's): bot | copilot | off.
    reply_mode: str = "bot"
    # A co-pilot draft waits for the seller (``draft`` in the conversation's detail).
    has_draft: bool = False
    # When the conversation's latest reply, held by the Page's rate limit, goes out (else null).
    held_until: datetime | None = None


class MessageOut(_Out):
    id: int
    direction: str
    author: str
    text: str | None
    status: str
    status_reason: str | None
    messaging_type: str | None
    tag: str | None
    sent_at: datetime
    attachment_types: list[str] = Field(default_factory=list)
    # Held by the Page's rate limit until then (status_reason says "held by the rate limit until HH:MM").
    held_until: datetime | None = None


class NotificationOut(_Out):
    id: int
    tenant_id: int
    conversation_id: int | None
    kind: str
    text: str
    created_at: datetime
    read_at: datetime | None


class DraftOut(_Out):
    """The reply the assistant decided in co-pilot mode, waiting for the seller (never sent by itself)."""

    id: int
    text: str
    created_at: datetime
    # The price the decision names (a counter, an acceptance), if any; never below the floor.
    decided_price: Decimal | None
    action: str | None
    source: str


class ConversationDetail(ConversationSummary):
    messages: list[MessageOut]
    notifications: list[NotificationOut]
    draft: DraftOut | None = None


class DraftSendIn(BaseModel):
    """Send the draft as it is (no ``text``), or the seller's edit of it.

    An edit passes the price guard; one below the floor (or revealing it) is refused unless
    ``confirm_below_floor`` is true.
    """

    model_config = ConfigDict(extra="forbid")

    text: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_REPLY_CHARS)]
        | None
    ) = None
    confirm_below_floor: StrictBool = False
    # The draft the seller saw: if a newer buyer message replaced it meanwhile, the send is refused (409).
    draft_id: Annotated[int, Field(ge=1, le=2**31 - 1, strict=True)] | None = None


class ConversationPage(BaseModel):
    """One page of the inbox; ``next_cursor`` (None on the last page) is sent back as ``cursor``."""

    conversations: list[ConversationSummary]
    next_cursor: str | None


class MessagePage(BaseModel):
    """A thread's messages, oldest first; ``next_before`` (None: the first message is here) pages back."""

    messages: list[MessageOut]
    next_before: int | None


class AssignIn(BaseModel):
    """``{"member_id": <a member of this account>}`` assigns; ``{"member_id": null}`` unassigns."""

    model_config = ConfigDict(extra="forbid")

    member_id: Annotated[int, Field(ge=1, le=2**31 - 1, strict=True)] | None


class ReplyIn(BaseModel):
    """A seller's message typed in the dashboard (1–2,000 characters once surrounding spaces go)."""

    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_REPLY_CHARS)]


class SettingsOut(_Out):
    tenant_id: int
    page_id: str
    page_name: str
    page_status: str
    bot_enabled: bool
    human_agent_tag_enabled: bool
    auto_resume_minutes: int | None
    disclosure_text: str
    reply_mode: str = "bot"
    # Read-only: the Page's own send limits (per minute, hour, day), enforced by messenger/rate_limit.py.
    rate_limit_per_minute: int | None = None
    rate_limit_per_hour: int | None = None
    rate_limit_per_day: int | None = None


class SettingsPatch(BaseModel):
    """Fields left out stay as they are; ``auto_resume_minutes: null`` turns auto-resume off."""

    model_config = ConfigDict(extra="forbid")

    human_agent_tag_enabled: StrictBool | None = None
    bot_enabled: StrictBool | None = None
    # bot | copilot | off; ``bot_enabled`` follows it (off = disabled), and the reverse.
    reply_mode: ReplyMode | None = None
    auto_resume_minutes: Annotated[int, Field(ge=1, le=MAX_AUTO_RESUME_MINUTES, strict=True)] | None = None
    disclosure_text: (
        Annotated[
            str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_DISCLOSURE_CHARS)
        ]
        | None
    ) = None

    @model_validator(mode="after")
    def _only_auto_resume_may_be_null(self) -> SettingsPatch:
        # null means "never" only for auto-resume; a null flag or disclosure is a client bug, not "unchanged".
        for name in ("human_agent_tag_enabled", "bot_enabled", "disclosure_text", "reply_mode"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self

    def changes(self) -> dict[str, Any]:
        """Only the fields the client sent."""
        return {name: getattr(self, name) for name in self.model_fields_set}
