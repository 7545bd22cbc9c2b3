"""Dashboard use cases. Every read and write is scoped to the authenticated seller.

A seller owns tenants (their Pages, ``messenger_tenants.seller_id``); everything below a tenant is read
only through :func:`accorria_agent.db.tenancy.tenant_select` with one of *those* tenant ids. An id that
belongs to someone else is therefore simply not found (the API answers 404, never 403, so it does not
reveal that the id exists).

Graph calls (thread control, the Send API) happen after the transaction that records the change has
committed: the seller's decision stands even when Meta is slow or refuses the handover call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.audit import service as audit
from accorria_agent.conversations import modes
from accorria_agent.conversations import repository as repo
from accorria_agent.conversations.models import Conversation, Message
from accorria_agent.dashboard import repository as dashboard_repo
from accorria_agent.dashboard.schemas import (
    PREVIEW_CHARS,
    ConversationDetail,
    ConversationSummary,
    ListingSummary,
    MessageOut,
    MessagePreview,
    NegotiationSummary,
    NotificationOut,
    SettingsOut,
    SettingsPatch,
)
from accorria_agent.errors import NotFound
from accorria_agent.live.bus import announce
from accorria_agent.messenger.policy import HUMAN_AGENT_WINDOW, STANDARD_WINDOW, window_expires_in
from accorria_agent.negotiation.schemas import NegotiationState
from accorria_agent.sellers.models import Listing, MessengerSettings, MessengerTenant
from accorria_agent.sellers.notifications import SellerNotification
from accorria_agent.sellers.service import settings_for
from accorria_agent.sending.held import rate_limit_hold

if TYPE_CHECKING:
    from accorria_agent.conversations.context import Sender

log = structlog.get_logger(__name__)

PAUSED_BY_DASHBOARD = "the seller took over from the dashboard"
PAUSED_BY_REPLY = "the seller replied from the dashboard"


@dataclass(frozen=True)
class ThreadTarget:
    """Where a Graph call goes once the transaction has committed."""

    tenant_id: int
    conversation_id: int
    psid: str


# --- scoping ------------------------------------------------------------------------------------------


async def owned_tenants(session: AsyncSession, seller_id: int) -> list[MessengerTenant]:
    """The seller's Pages: the only tenant ids any dashboard query may use."""
    return await dashboard_repo.tenants_of_seller(session, seller_id)


async def _owned_tenant(session: AsyncSession, seller_id: int, tenant_id: int) -> MessengerTenant:
    for tenant in await owned_tenants(session, seller_id):
        if tenant.id == tenant_id:
            return tenant
    raise NotFound("page not found")


async def _owned_conversation(
    session: AsyncSession, seller_id: int, conversation_id: int
) -> tuple[MessengerTenant, Conversation]:
    # One scoped lookup per Page of the seller (a seller has a handful): never an unscoped read by id.
    for tenant in await owned_tenants(session, seller_id):
        conversation = await repo.conversation_by_id(session, tenant.id, conversation_id)
        if conversation is not None:
            return tenant, conversation
    raise NotFound("conversation not found")


# --- reading ------------------------------------------------------------------------------------------


def _listing_title(listing: Listing) -> str:
    return " ".join(str(p) for p in (listing.year, listing.make, listing.model, listing.trim) if p)


def _negotiation(state: dict[str, Any] | None) -> NegotiationSummary:
    try:
        parsed = NegotiationState.from_json(state)
    except (ArithmeticError, TypeError, ValueError):
        # A state written by an older version must not break the seller's whole list.
        return NegotiationSummary()
    return NegotiationSummary(
        best_offer=parsed.best_offer,
        last_counter=parsed.last_counter,
        agreed_price=parsed.agreed_price,
        concessions_used=parsed.concessions_used,
        offers=len(parsed.buyer_offers),
    )


class _SellerZone:
    """The seller's timezone, read once and only when a reply held by the rate limit is shown."""

    def __init__(self, session: AsyncSession, seller_id: int) -> None:
        self._session, self._seller_id = session, seller_id
        self._zone: str | None = None
        self._read = False

    async def hold(self, message: Message) -> tuple[datetime | None, str | None]:
        """``(held_until, text)`` of a reply held by the rate limit, else ``(None, the stored reason)``."""
        if message.status != "held":
            return None, message.status_reason
        if not self._read:
            self._zone = await dashboard_repo.seller_timezone(self._session, self._seller_id)
            self._read = True
        until, text = rate_limit_hold(message.status, message.status_reason, message.payload, self._zone)
        return until, text or message.status_reason


async def _preview(message: Message | None, zone: _SellerZone) -> MessagePreview | None:
    if message is None:
        return None
    text = message.text
    if text is not None and len(text) > PREVIEW_CHARS:
        text = text[: PREVIEW_CHARS - 1].rstrip() + "…"
    held_until, reason = await zone.hold(message)
    return MessagePreview(
        author=message.author,
        text=text,
        status=message.status,
        sent_at=message.sent_at,
        status_reason=reason,
        held_until=held_until,
    )


async def _message_out(message: Message, zone: _SellerZone) -> MessageOut:
    payload = message.payload if isinstance(message.payload, dict) else {}
    kinds = payload.get("attachment_types")
    held_until, reason = await zone.hold(message)
    return MessageOut(
        id=message.id,
        direction=message.direction,
        author=message.author,
        text=message.text,
        status=message.status,
        status_reason=reason,
        messaging_type=message.messaging_type,
        tag=message.tag,
        sent_at=message.sent_at,
        attachment_types=[str(k) for k in kinds] if isinstance(kinds, list) else [],
        held_until=held_until,
    )


def _seconds_left(now: datetime, last: datetime | None) -> tuple[int, int]:
    """Seconds left in the 24-hour and the 7-day windows, never more than the windows themselves.

    Meta's timestamp can be ahead of our clock (skew); the seller must not read "closes in 2 d".
    """
    if last is None:
        return 0, 0
    standard = min(window_expires_in(now, last), STANDARD_WINDOW.total_seconds())
    human_agent = min(
        max(0.0, (last + HUMAN_AGENT_WINDOW - now).total_seconds()), HUMAN_AGENT_WINDOW.total_seconds()
    )
    return int(standard), int(human_agent)


async def _summaries(
    session: AsyncSession, tenant: MessengerTenant, conversations: Sequence[Conversation], now: datetime
) -> list[ConversationSummary]:
    """Summaries of one tenant's conversations in three scoped queries (no query per conversation)."""
    if not conversations:
        return []
    ids = [c.id for c in conversations]
    listing_ids = {c.listing_id for c in conversations if c.listing_id is not None}
    listings = await dashboard_repo.listings_by_id(session, tenant.id, listing_ids)
    last_by_conversation = await dashboard_repo.last_messages(session, tenant.id, ids)
    unread = await dashboard_repo.unread_counts(session, tenant.id, ids)
    zone = _SellerZone(session, tenant.seller_id)
    out = []
    for conversation in conversations:
        listing = listings.get(conversation.listing_id) if conversation.listing_id is not None else None
        expires_in, human_agent_expires_in = _seconds_left(now, conversation.last_buyer_message_at)
        last_message = await _preview(last_by_conversation.get(conversation.id), zone)
        out.append(
            ConversationSummary(
                id=conversation.id,
                tenant_id=tenant.id,
                page_id=tenant.page_id,
                page_name=tenant.page_name,
                buyer_psid=conversation.buyer_psid,
                buyer_name=conversation.buyer_name,
                listing=(
                    ListingSummary(
                        id=listing.id,
                        title=_listing_title(listing),
                        asking_price=listing.asking_price,
                        price_floor=listing.price_floor,
                        max_concessions=listing.max_concessions,
                        status=listing.status,
                    )
                    if listing is not None
                    else None
                ),
                mode=conversation.mode,
                paused_reason=conversation.paused_reason,
                last_message=last_message,
                last_buyer_message_at=conversation.last_buyer_message_at,
                expires_in=expires_in,
                human_agent_expires_in=human_agent_expires_in,
                negotiation=_negotiation(conversation.negotiation_state),
                unread_notifications=unread.get(conversation.id, 0),
                updated_at=conversation.updated_at,
                held_until=last_message.held_until if last_message is not None else None,
            )
        )
    return out


async def list_conversations(
    session: AsyncSession, seller_id: int, now: datetime, limit: int = 200
) -> list[ConversationSummary]:
    """The seller's conversations on all their Pages, most recently active first."""
    out: list[ConversationSummary] = []
    for tenant in await owned_tenants(session, seller_id):
        conversations = await dashboard_repo.recent_conversations(session, tenant.id, limit)
        out.extend(await _summaries(session, tenant, conversations, now))
    out.sort(key=lambda s: (s.updated_at, s.id), reverse=True)
    return out[:limit]


async def conversation_detail(
    session: AsyncSession, seller_id: int, conversation_id: int, now: datetime, limit: int = 200
) -> ConversationDetail:
    """One conversation with its last ``limit`` messages (oldest first) and its notifications."""
    tenant, conversation = await _owned_conversation(session, seller_id, conversation_id)
    (summary,) = await _summaries(session, tenant, [conversation], now)
    messages = await repo.recent_messages(session, tenant.id, conversation.id, limit=limit)
    zone = _SellerZone(session, tenant.seller_id)
    notes = await dashboard_repo.notifications(
        session, tenant.id, conversation_id=conversation.id, unread_only=False, limit=100
    )
    return ConversationDetail(
        **summary.model_dump(),
        messages=[await _message_out(m, zone) for m in messages],
        notifications=[NotificationOut.model_validate(n) for n in notes],
    )


async def list_notifications(
    session: AsyncSession, seller_id: int, *, unread_only: bool = False, limit: int = 100
) -> list[NotificationOut]:
    """The seller's notifications on all their Pages, newest first."""
    found: list[SellerNotification] = []
    for tenant in await owned_tenants(session, seller_id):
        found.extend(
            await dashboard_repo.notifications(
                session, tenant.id, conversation_id=None, unread_only=unread_only, limit=limit
            )
        )
    found.sort(key=lambda n: n.id, reverse=True)
    return [NotificationOut.model_validate(n) for n in found[:limit]]


# --- acting -------------------------------------------------------------------------------------------


async def mark_notification_read(
    session: AsyncSession, seller_id: int, notification_id: int, now: datetime
) -> NotificationOut:
    """Idempotent: the first read time is kept."""
    for tenant in await owned_tenants(session, seller_id):
        notification = await dashboard_repo.notification(session, tenant.id, notification_id)
        if notification is not None:
            if notification.read_at is None:
                notification.read_at = now
            return NotificationOut.model_validate(notification)
    raise NotFound("notification not found")


async def hand_over(sender: Sender, target: ThreadTarget, action: str) -> None:
    """Pass the thread to the Page Inbox or take it back, after the change was committed.

    The docs promise that a handover failure never blocks the pause/resume, which is already committed.
    """
    try:
        await sender.thread_control(target.tenant_id, target.psid, action)
    except Exception as error:  # any transport failure is logged, never shown as a 500
        log.warning(
            "dashboard_thread_control_failed",
            action=action,
            conversation_id=target.conversation_id,
            error=type(error).__name__,
        )


async def conversation_summary(
    session: AsyncSession, seller_id: int, conversation_id: int, now: datetime
) -> ConversationSummary:
    """One of the seller's conversations as the list shows it."""
    tenant, conversation = await _owned_conversation(session, seller_id, conversation_id)
    (summary,) = await _summaries(session, tenant, [conversation], now)
    return summary


async def pause_conversation(
    session: AsyncSession,
    seller_id: int,
    conversation_id: int,
    now: datetime,
    *,
    actor_id: int | None = None,
) -> ThreadTarget:
    """The seller takes over: the bot goes silent for this buyer (the caller then passes the thread)."""
    tenant, conversation = await _owned_conversation(session, seller_id, conversation_id)
    modes.apply(conversation, modes.Transition.TAKE_OVER, at=now, reason=PAUSED_BY_DASHBOARD)
    await announce(session, seller_id, "conversation", conversation_id)
    await audit.by_member(
        session, seller_id, actor_id, "conversation.pause", ("conversation", conversation_id)
    )
    log.info("dashboard_pause", seller_id=seller_id, conversation_id=conversation_id)
    return ThreadTarget(tenant.id, conversation.id, conversation.buyer_psid)


async def resume_conversation(
    session: AsyncSession,
    seller_id: int,
    conversation_id: int,
    now: datetime,
    *,
    actor_id: int | None = None,
) -> ThreadTarget:
    """The bot takes over again and, as Meta requires after a human, says again that it is automated."""
    tenant, conversation = await _owned_conversation(session, seller_id, conversation_id)
    modes.apply(conversation, modes.Transition.RESUME, at=now)
    await announce(session, seller_id, "conversation", conversation_id)
    await audit.by_member(
        session, seller_id, actor_id, "conversation.resume", ("conversation", conversation_id)
    )
    log.info("dashboard_resume", seller_id=seller_id, conversation_id=conversation_id)
    return ThreadTarget(tenant.id, conversation.id, conversation.buyer_psid)


async def record_seller_message(
    session: AsyncSession,
    seller_id: int,
    conversation_id: int,
    text: str,
    now: datetime,
    *,
    actor_id: int | None = None,
) -> tuple[int, int]:
    """Record the seller's message and pause the bot for this buyer; returns (tenant id, message id).

    The caller delivers it after the commit: delivery applies the send-time policy (24-hour window,
    HUMAN_AGENT tag between 24 h and 7 days when the Page enabled it), and a refused message is stored as
    ``refused`` with its reason, because the seller must see that it did not go out.
    """
    tenant, conversation = await _owned_conversation(session, seller_id, conversation_id)
    message = repo.new_outbound(
        conversation, author="seller", text=text, payload={"source": "dashboard"}, now=now
    )
    # Set by delivery from the policy decision; a message never sent must not claim a type.
    message.messaging_type = None
    session.add(message)
    conversation.last_seller_message_at = now
    modes.apply(conversation, modes.Transition.TAKE_OVER, at=now, reason=PAUSED_BY_REPLY)
    await session.flush()
    await audit.by_member(session, seller_id, actor_id, "message.outbound", ("conversation", conversation_id))
    await announce(session, seller_id, "message", conversation_id, message.id)
    log.info("dashboard_reply", seller_id=seller_id, conversation_id=conversation_id, chars=len(text))
    return tenant.id, message.id


async def stored_message(
    session: AsyncSession, tenant_id: int, message_id: int, seller_id: int
) -> MessageOut:
    """A message as stored now (after its delivery); ``seller_id``'s timezone for a held reply."""
    stored = await repo.outbound_message(session, tenant_id, message_id)
    if stored is None:  # deleted meanwhile (the conversation was removed): nothing to show
        raise NotFound("conversation not found")
    return await _message_out(stored, _SellerZone(session, seller_id))


async def list_settings(session: AsyncSession, seller_id: int) -> list[SettingsOut]:
    """Each of the seller's Pages with its bot settings."""
    out = []
    for tenant in await owned_tenants(session, seller_id):
        out.append(_settings_out(tenant, await settings_for(session, tenant.id)))
    return out


async def update_settings(
    session: AsyncSession, seller_id: int, tenant_id: int, patch: SettingsPatch
) -> SettingsOut:
    """Apply the fields the seller sent to one of *their* Pages."""
    tenant = await _owned_tenant(session, seller_id, tenant_id)
    settings = await settings_for(session, tenant.id)
    for name, value in patch.changes().items():
        setattr(settings, name, value)
    await session.flush()
    log.info("dashboard_settings", seller_id=seller_id, tenant_id=tenant_id, fields=sorted(patch.changes()))
    return _settings_out(tenant, settings)


def _settings_out(tenant: MessengerTenant, settings: MessengerSettings) -> SettingsOut:
    return SettingsOut(
        tenant_id=tenant.id,
        page_id=tenant.page_id,
        page_name=tenant.page_name,
        page_status=tenant.status,
        bot_enabled=settings.bot_enabled,
        human_agent_tag_enabled=settings.human_agent_tag_enabled,
        auto_resume_minutes=settings.auto_resume_minutes,
        disclosure_text=settings.disclosure_text,
    )
