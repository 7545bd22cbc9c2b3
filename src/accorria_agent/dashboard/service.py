"""Dashboard use cases. Every read and write is scoped to the authenticated seller.

A seller owns tenants (their Pages, ``messenger_tenants.seller_id``); everything below a tenant is read
only through :func:`accorria_agent.db.tenancy.tenant_select` with one of *those* tenant ids. An id that
belongs to someone else is therefore simply not found (the API answers 404, never 403, so it does not
reveal that the id exists).

Graph calls (thread control, the Send API) happen after the transaction that records the change has
committed: the seller's decision stands even when Meta is slow or refuses the handover call.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.accounts.members import member_names
from accorria_agent.audit import service as audit
from accorria_agent.conversations import copilot, modes
from accorria_agent.conversations import repository as repo
from accorria_agent.conversations.models import Conversation, ConversationDraft, Message
from accorria_agent.dashboard import repository as dashboard_repo
from accorria_agent.dashboard.draft_view import current_draft, draft_out
from accorria_agent.dashboard.schemas import (
    PREVIEW_CHARS,
    AssigneeOut,
    ConversationDetail,
    ConversationPage,
    ConversationSummary,
    InboxFilter,
    ListingSummary,
    MessageOut,
    MessagePage,
    MessagePreview,
    NegotiationSummary,
    NotificationOut,
    SettingsOut,
    SettingsPatch,
)
from accorria_agent.errors import BadRequest, NotFound
from accorria_agent.live.bus import announce
from accorria_agent.messenger.policy import HUMAN_AGENT_WINDOW, STANDARD_WINDOW, window_expires_in
from accorria_agent.negotiation.schemas import NegotiationState
from accorria_agent.sellers.models import Listing, MessengerSettings, MessengerTenant
from accorria_agent.sellers.notifications import SellerNotification, mark_read
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


async def owned_conversation(
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


def _negotiation(state: dict[str, Any] | None, draft: ConversationDraft | None = None) -> NegotiationSummary:
    """The negotiation as the buyer knows it; with a co-pilot draft waiting, the buyer's offers include the
    ones it answers (they were said), while our counter, concessions and agreement wait until it is sent."""
    try:
        parsed = NegotiationState.from_json(state)
        said = NegotiationState.from_json(draft.state_after) if draft is not None else parsed
    except (ArithmeticError, TypeError, ValueError):
        # A state written by an older version must not break the seller's whole list.
        return NegotiationSummary()
    return NegotiationSummary(
        best_offer=said.best_offer,
        last_counter=parsed.last_counter,
        agreed_price=parsed.agreed_price,
        concessions_used=parsed.concessions_used,
        offers=len(said.buyer_offers),
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
    session: AsyncSession,
    tenant: MessengerTenant,
    conversations: Sequence[Conversation],
    now: datetime,
    members: dict[int, str] | None = None,
) -> list[ConversationSummary]:
    """Summaries of one tenant's conversations in three scoped queries (no query per conversation).

    ``members`` (id → name of the account's members, read once per request) names the assignee; it is
    read here when the caller did not.
    """
    if not conversations:
        return []
    if members is None:
        members = await member_names(session, tenant.seller_id)
    ids = [c.id for c in conversations]
    listing_ids = {c.listing_id for c in conversations if c.listing_id is not None}
    listings = await dashboard_repo.listings_by_id(session, tenant.id, listing_ids)
    last_by_conversation = await dashboard_repo.last_messages(session, tenant.id, ids)
    unread = await dashboard_repo.unread_counts(session, tenant.id, ids)
    settings = await settings_for(session, tenant.id)
    drafts = await repo.pending_drafts(session, tenant.id, ids)
    zone = _SellerZone(session, tenant.seller_id)
    out = []
    for conversation in conversations:
        listing = listings.get(conversation.listing_id) if conversation.listing_id is not None else None
        draft = current_draft(conversation, drafts.get(conversation.id))
        expires_in, human_agent_expires_in = _seconds_left(now, conversation.last_buyer_message_at)
        # Someone no longer in the account (removed after being assigned) is shown as nobody.
        assignee_id = conversation.assigned_member_id
        assignee = (
            AssigneeOut(member_id=assignee_id, name=members[assignee_id])
            if assignee_id is not None and assignee_id in members
            else None
        )
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
                negotiation=_negotiation(conversation.negotiation_state, draft),
                unread_notifications=unread.get(conversation.id, 0),
                updated_at=conversation.updated_at,
                assigned_member_id=assignee.member_id if assignee is not None else None,
                assignee=assignee,
                reply_mode=copilot.reply_mode(settings, listing),
                has_draft=draft is not None,
                held_until=last_message.held_until if last_message is not None else None,
            )
        )
    return out


def encode_cursor(updated_at: datetime, conversation_id: int) -> str:
    """The opaque ``next_cursor``: where the next page starts (last activity, id of the last row)."""
    raw = json.dumps([updated_at.astimezone(UTC).isoformat(), conversation_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The position a cursor names; anything not made by :func:`encode_cursor` is a 400."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at_text, conversation_id = json.loads(raw)
        at = datetime.fromisoformat(at_text)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise BadRequest("this cursor is not one the inbox gave out", code="invalid_cursor") from None
    valid_id = isinstance(conversation_id, int) and not isinstance(conversation_id, bool)
    if at.tzinfo is None or not valid_id:
        raise BadRequest("this cursor is not one the inbox gave out", code="invalid_cursor")
    return at.astimezone(UTC), conversation_id


async def list_conversations(
    session: AsyncSession,
    seller_id: int,
    now: datetime,
    limit: int = 200,
    *,
    wanted: InboxFilter | None = None,
    cursor: str | None = None,
) -> ConversationPage:
    """One page of the seller's conversations on all their Pages, most recently active first.

    Each Page is read with one keyset query for ``limit + 1`` rows (the extra one says whether there is
    a next page); only the rows shown get their summaries (three queries per Page) and the account's
    members are read once. A seller with one Page: six statements, whatever the store's size.
    """
    after = decode_cursor(cursor) if cursor is not None else None
    wanted = wanted or InboxFilter()
    tenants = await owned_tenants(session, seller_id)
    if wanted.listing_id is not None:
        # Filtering by someone else's listing is "not found", as reading it would be (not an empty page).
        owned = [await dashboard_repo.listings_by_id(session, t.id, {wanted.listing_id}) for t in tenants]
        if not any(owned):
            raise NotFound("listing not found")
    found: list[tuple[MessengerTenant, Conversation]] = []
    for tenant in tenants:
        rows = await dashboard_repo.conversations_page(
            session, tenant.id, wanted, after=after, limit=limit + 1
        )
        found.extend((tenant, row) for row in rows)
    found.sort(key=lambda pair: (pair[1].updated_at, pair[1].id), reverse=True)
    shown, more = found[:limit], len(found) > limit
    members = await member_names(session, seller_id) if shown else {}
    out: list[ConversationSummary] = []
    for tenant in tenants:
        of_tenant = [conversation for owner, conversation in shown if owner.id == tenant.id]
        out.extend(await _summaries(session, tenant, of_tenant, now, members))
    out.sort(key=lambda s: (s.updated_at, s.id), reverse=True)
    last = shown[-1][1] if shown else None
    next_cursor = encode_cursor(last.updated_at, last.id) if more and last is not None else None
    return ConversationPage(conversations=out, next_cursor=next_cursor)


async def message_page(
    session: AsyncSession, seller_id: int, conversation_id: int, *, before: int | None, limit: int
) -> MessagePage:
    """A thread's newest ``limit`` messages (older than message ``before``), oldest first.

    ``next_before`` is the id to pass as ``before`` for the older ones (None: this is the beginning).
    """
    tenant, conversation = await owned_conversation(session, seller_id, conversation_id)
    rows = await dashboard_repo.messages_before(
        session, tenant.id, conversation.id, before=before, limit=limit + 1
    )
    shown = rows[:limit]
    next_before = shown[-1].id if len(rows) > limit else None
    zone = _SellerZone(session, seller_id)
    return MessagePage(
        messages=[await _message_out(m, zone) for m in reversed(shown)], next_before=next_before
    )


async def assign_conversation(
    session: AsyncSession,
    seller_id: int,
    conversation_id: int,
    member_id: int | None,
    *,
    actor_id: int | None = None,
) -> None:
    """Give the conversation to a member of the seller's account (``None``: to nobody), audited and live.

    A member of another account is "not found" like any foreign id (no hint that the id exists).
    """
    _tenant, conversation = await owned_conversation(session, seller_id, conversation_id)
    if member_id is not None and member_id not in await member_names(session, seller_id):
        raise NotFound("member not found")
    previous = conversation.assigned_member_id
    if previous == member_id:
        return  # idempotent: nothing changes, nothing to audit or announce
    conversation.assigned_member_id = member_id
    await session.flush()
    await audit.by_member(
        session,
        seller_id,
        actor_id,
        "conversation.assign",
        ("conversation", conversation_id),
        assignee_id=member_id,
        previous_assignee_id=previous,
    )
    await announce(session, seller_id, "conversation", conversation_id)
    log.info("dashboard_assign", seller_id=seller_id, conversation_id=conversation_id, member_id=member_id)


async def conversation_detail(
    session: AsyncSession, seller_id: int, conversation_id: int, now: datetime, limit: int = 200
) -> ConversationDetail:
    """One conversation with its last ``limit`` messages (oldest first) and its notifications."""
    tenant, conversation = await owned_conversation(session, seller_id, conversation_id)
    (summary,) = await _summaries(session, tenant, [conversation], now)
    messages = await repo.recent_messages(session, tenant.id, conversation.id, limit=limit)
    zone = _SellerZone(session, tenant.seller_id)
    notes = await dashboard_repo.notifications(
        session, tenant.id, conversation_id=conversation.id, unread_only=False, limit=100
    )
    draft = current_draft(conversation, await repo.pending_draft(session, tenant.id, conversation.id))
    return ConversationDetail(
        **summary.model_dump(),
        messages=[await _message_out(m, zone) for m in messages],
        notifications=[NotificationOut.model_validate(n) for n in notes],
        draft=draft_out(draft) if draft is not None else None,
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
    tenant, conversation = await owned_conversation(session, seller_id, conversation_id)
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
    tenant, conversation = await owned_conversation(session, seller_id, conversation_id)
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
    tenant, conversation = await owned_conversation(session, seller_id, conversation_id)
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
    tenant, conversation = await owned_conversation(session, seller_id, conversation_id)
    draft = await repo.pending_draft(session, tenant.id, conversation.id, for_update=True)
    if draft is not None:
        # The seller wrote their own reply: the assistant's draft of it is discarded.
        draft.status, draft.resolved_at, draft.resolved_by = "discarded", now, actor_id
        await mark_read(session, tenant.id, conversation.id, "draft", now)
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
    changes = patch.changes()
    for name, value in changes.items():
        setattr(settings, name, value)
    # One switch, two spellings: ``reply_mode`` wins when both are sent.
    if "reply_mode" in changes:
        settings.bot_enabled = changes["reply_mode"] != "off"
    elif "bot_enabled" in changes:
        if not settings.bot_enabled:
            settings.reply_mode = "off"
        elif settings.reply_mode == "off":
            settings.reply_mode = "bot"
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
        reply_mode=copilot.reply_mode(settings, None),
        rate_limit_per_minute=settings.rate_limit_per_minute,
        rate_limit_per_hour=settings.rate_limit_per_hour,
        rate_limit_per_day=settings.rate_limit_per_day,
    )
