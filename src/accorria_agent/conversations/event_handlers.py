"""How each stored webhook event changes a conversation (called by the job, in order, under its lock).

Each handler returns an outcome string (stored on the event), a :class:`BuyerInput` for buyer input that
deserves an answer, and Graph actions to perform after the commit (handover). Nothing here sends.
See ``docs/messenger.md`` for the table of events and what each does.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.conversations import modes
from accorria_agent.conversations import repository as repo
from accorria_agent.conversations.composer import BuyerInput
from accorria_agent.conversations.context import HandlerContext
from accorria_agent.conversations.models import SENDING, Conversation, Message
from accorria_agent.live.bus import announce
from accorria_agent.messenger.models import EventLog
from accorria_agent.sellers.models import MessengerTenant
from accorria_agent.sellers.notifications import notify_seller

# Meta's "like" (thumbs up) arrives as this sticker with no text.
LIKE_STICKER_ID = 369239263222822
MAX_STORED_TEXT = 5000
_LISTING_REF = re.compile(r"^listing_(\d{1,12})$")


@dataclass(frozen=True)
class ApplyResult:
    outcome: str
    buyer_input: BuyerInput | None = None
    # Graph calls to make after the commit: "pass_thread_control" | "take_thread_control".
    graph_actions: tuple[str, ...] = ()


Handler = Callable[
    [AsyncSession, HandlerContext, MessengerTenant, Conversation, EventLog], Awaitable[ApplyResult]
]


def _ts(event: EventLog) -> datetime:
    if event.timestamp_ms > 0:
        return datetime.fromtimestamp(event.timestamp_ms / 1000.0, tz=UTC)
    return event.received_at


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _touch_window(conversation: Conversation, at: datetime) -> None:
    """The buyer wrote: the 24-hour window restarts (reads, deliveries and echoes never call this)."""
    if conversation.last_buyer_message_at is None or at > conversation.last_buyer_message_at:
        conversation.last_buyer_message_at = at


async def apply_event(
    session: AsyncSession,
    context: HandlerContext,
    tenant: MessengerTenant,
    conversation: Conversation,
    event: EventLog,
) -> ApplyResult:
    """Dispatch on the event kind; unknown kinds are recorded and otherwise ignored."""
    handler = _HANDLERS.get(event.kind)
    if handler is None:
        return ApplyResult(outcome=f"recorded: {event.kind}")
    result = await handler(session, context, tenant, conversation, event)
    await announce(session, tenant.seller_id, "message", conversation.id)  # dashboards refetch the thread
    return result


def attachment_kinds(attachments: Any) -> list[str]:
    """Attachment types, counting one sticker once (during Meta's 2026 transition a sticker can arrive
    as both an ``image`` and a ``sticker`` attachment)."""
    kinds = (
        [str(_dict(a).get("type", "unknown")) for a in attachments] if isinstance(attachments, list) else []
    )
    if "sticker" in kinds:
        kinds = [k for k in kinds if k != "image"]
    return list(dict.fromkeys(kinds))


async def _attach_listing(
    session: AsyncSession, tenant: MessengerTenant, conversation: Conversation, referral: dict[str, Any]
) -> str:
    ref = str(referral.get("ref") or "")[:2083]
    match = _LISTING_REF.match(ref)
    if not match:
        return f"referral recorded ({str(referral.get('source', 'unknown'))[:20]}, unknown ref)"
    listing = await repo.listing_for(session, tenant.id, int(match.group(1)))
    if listing is None or listing.id != int(match.group(1)):
        return "referral recorded (listing not found for this Page)"
    conversation.listing_id = listing.id
    return f"referral: conversation attached to listing {listing.id}"


async def _on_message(
    session: AsyncSession,
    context: HandlerContext,
    tenant: MessengerTenant,
    conversation: Conversation,
    event: EventLog,
) -> ApplyResult:
    raw = _dict(event.payload.get("message"))
    mid = str(raw.get("mid") or "")[:255] or None
    sent_at = _ts(event)
    text = raw.get("text") if isinstance(raw.get("text"), str) else None
    quick_reply = _dict(raw.get("quick_reply"))
    kinds = attachment_kinds(raw.get("attachments"))
    is_like = raw.get("sticker_id") == LIKE_STICKER_ID
    payload: dict[str, Any] = {"attachment_types": kinds} if kinds else {}
    for key in ("quick_reply", "attachments", "reply_to", "sticker_id"):
        if key in raw:
            payload[key] = raw[key]
    referral = _dict(raw.get("referral")) or _dict(event.payload.get("referral"))
    if referral:
        payload["referral"] = referral
    stored = await repo.add_inbound_message(
        session,
        {
            "tenant_id": tenant.id,
            "conversation_id": conversation.id,
            "direction": "inbound",
            "author": "buyer",
            "mid": mid,
            "text": (text or "")[:MAX_STORED_TEXT] or None,
            "payload": payload,
            "sent_at": sent_at,
            "status": "received",
        },
    )
    if not stored:
        return ApplyResult(outcome="duplicate: mid already stored")
    outcome_extra = ""
    if referral:
        outcome_extra = "; " + await _attach_listing(session, tenant, conversation, referral)
    _touch_window(conversation, sent_at)
    if event.channel == "standby":
        # Another app (the Page Inbox) owns the thread: a person is handling it, we only listen.
        return ApplyResult(outcome="standby: recorded, not answered" + outcome_extra)
    if is_like or (not text and "sticker" in kinds):
        return ApplyResult(outcome="stored: like/sticker, no reply needed" + outcome_extra)
    qr_payload = str(quick_reply["payload"])[:1000] if quick_reply.get("payload") else None
    if not text and not qr_payload:
        if kinds:
            # A photo, file or location: the seller sees it; the bot answers with what it can do.
            return ApplyResult(
                outcome=f"stored: {','.join(kinds)}" + outcome_extra,
                buyer_input=BuyerInput(text="", sent_at=sent_at, attachment_types=tuple(kinds)),
            )
        return ApplyResult(outcome="stored: empty message" + outcome_extra)
    return ApplyResult(
        outcome="stored: message" + outcome_extra,
        buyer_input=BuyerInput(
            text=(text or "")[:MAX_STORED_TEXT], sent_at=sent_at, quick_reply_payload=qr_payload
        ),
    )


async def _on_echo(
    session: AsyncSession,
    context: HandlerContext,
    tenant: MessengerTenant,
    conversation: Conversation,
    event: EventLog,
) -> ApplyResult:
    raw = _dict(event.payload.get("message"))
    mid = str(raw.get("mid") or "")[:255] or None
    app_id = str(raw.get("app_id") or "")
    metadata = raw.get("metadata") if isinstance(raw.get("metadata"), str) else None
    if app_id and app_id == context.facebook_app_id:
        # Our own message coming back: reconcile the outbound intent (never reply to it).
        message = await repo.message_by_outbound_key(session, tenant.id, metadata) if metadata else None
        if message is None and mid:
            message = await repo.message_by_mid(session, tenant.id, mid)
        if message is None:
            return ApplyResult(outcome="echo: ours, no matching intent")
        if message.mid is None and mid and await repo.message_by_mid(session, tenant.id, mid) is None:
            message.mid = mid
        if message.status in ("pending", "queued", SENDING, "failed"):
            # Meta has it: a crash between the Send API call and recording its answer must not resend
            # (a claimed reply too: its sender may be gone, and a stale claim would be sent again).
            message.status = "sent"
            message.status_reason = "reconciled from echo"
        return ApplyResult(outcome="echo: reconciled")
    if mid and await repo.message_by_mid(session, tenant.id, mid) is not None:
        return ApplyResult(outcome="duplicate: echo already stored")
    # A human wrote from the Page Inbox, another app, or a phone: record it and let the human have the buyer.
    session.add(
        Message(
            tenant_id=tenant.id,
            conversation_id=conversation.id,
            direction="outbound",
            author="seller",
            mid=mid,
            text=(raw.get("text") if isinstance(raw.get("text"), str) else None),
            payload={"app_id": app_id} if app_id else {},
            sent_at=_ts(event),
            status="sent",
        )
    )
    conversation.last_seller_message_at = _ts(event)
    if modes.apply(
        conversation, modes.Transition.TAKE_OVER, at=_ts(event), reason="seller replied from the Page Inbox"
    ):
        await notify_seller(
            session,
            tenant.id,
            conversation.id,
            "paused",
            "You replied to this buyer, so the assistant is paused for them.",
        )
    return ApplyResult(outcome="echo: human reply, bot paused")


async def _on_postback(
    session: AsyncSession,
    context: HandlerContext,
    tenant: MessengerTenant,
    conversation: Conversation,
    event: EventLog,
) -> ApplyResult:
    raw = _dict(event.payload.get("postback"))
    payload = raw.get("payload")
    title_value = raw.get("title")
    title = title_value if isinstance(title_value, str) else ""
    sent_at = _ts(event)
    _touch_window(conversation, sent_at)
    extra = ""
    if _dict(raw.get("referral")):
        extra = "; " + await _attach_listing(session, tenant, conversation, _dict(raw.get("referral")))
    if event.channel == "standby" or not isinstance(payload, str) or not payload:
        return ApplyResult(outcome="recorded: postback (standby or no payload)" + extra)
    session.add(
        Message(
            tenant_id=tenant.id,
            conversation_id=conversation.id,
            direction="inbound",
            author="buyer",
            mid=str(raw.get("mid") or "")[:255] or None,
            text=title[:MAX_STORED_TEXT] or None,
            payload={"postback": raw},
            sent_at=sent_at,
            status="received",
        )
    )
    return ApplyResult(
        outcome="stored: postback" + extra,
        buyer_input=BuyerInput(text=title, sent_at=sent_at, postback_payload=payload[:1000]),
    )


async def _on_referral(
    session: AsyncSession,
    context: HandlerContext,
    tenant: MessengerTenant,
    conversation: Conversation,
    event: EventLog,
) -> ApplyResult:
    # Meta: following an m.me link into an existing thread resets the 24-hour window.
    _touch_window(conversation, _ts(event))
    return ApplyResult(
        outcome=await _attach_listing(session, tenant, conversation, _dict(event.payload.get("referral")))
    )


async def _on_status(
    session: AsyncSession,
    context: HandlerContext,
    tenant: MessengerTenant,
    conversation: Conversation,
    event: EventLog,
) -> ApplyResult:
    status = "delivered" if event.kind == "delivery" else "read"
    raw = _dict(event.payload.get(event.kind))
    mids = (
        [str(m) for m in raw.get("mids", []) if isinstance(m, str)]
        if isinstance(raw.get("mids"), list)
        else []
    )
    watermark = raw.get("watermark")
    mark = datetime.fromtimestamp(watermark / 1000.0, tz=UTC) if isinstance(watermark, int | float) else None
    changed = await repo.mark_delivered(session, tenant.id, conversation.id, mids, mark, status)
    return ApplyResult(outcome=f"{status}: {changed} message(s)")


async def _message_referenced(
    session: AsyncSession, tenant: MessengerTenant, raw: dict[str, Any]
) -> Message | None:
    """The stored message an event points at by ``mid`` (reactions, edits), within this tenant."""
    mid = raw.get("mid")
    return await repo.message_by_mid(session, tenant.id, str(mid)[:255]) if mid else None


async def _on_reaction(
    session: AsyncSession,
    context: HandlerContext,
    tenant: MessengerTenant,
    conversation: Conversation,
    event: EventLog,
) -> ApplyResult:
    # Meta counts a reaction as opening the window; we deliberately don't (docs/messenger.md): the bot never
    # answers a reaction, so counting it could only let a later message out on a reaction's strength.
    raw = _dict(event.payload.get("reaction"))
    target = await _message_referenced(session, tenant, raw)
    if target is None:
        return ApplyResult(outcome="reaction: message not found")
    reactions = dict(_dict(target.payload.get("reactions")))
    if raw.get("action") == "unreact":
        reactions.pop("buyer", None)
    else:
        reactions["buyer"] = str(raw.get("emoji") or raw.get("reaction") or "")[:16]
    target.payload = {**target.payload, "reactions": reactions}
    return ApplyResult(outcome=f"reaction: {raw.get('action', 'react')}")


async def _on_edit(
    session: AsyncSession,
    context: HandlerContext,
    tenant: MessengerTenant,
    conversation: Conversation,
    event: EventLog,
) -> ApplyResult:
    raw = _dict(event.payload.get("message_edit"))
    target = await _message_referenced(session, tenant, raw)
    if target is None:
        return ApplyResult(outcome="edit: message not found")
    history = list(target.payload.get("previous_texts", [])) if isinstance(target.payload, dict) else []
    history.append(target.text)
    target.payload = {**target.payload, "previous_texts": history[-10:], "num_edit": raw.get("num_edit")}
    target.text = str(raw.get("text") or "")[:MAX_STORED_TEXT] or None
    # The original mid was answered already: an edit never earns a second reply.
    return ApplyResult(outcome="edit: stored text updated, no reply")


async def _on_handover(
    session: AsyncSession,
    context: HandlerContext,
    tenant: MessengerTenant,
    conversation: Conversation,
    event: EventLog,
) -> ApplyResult:
    ours = context.facebook_app_id
    raw = _dict(event.payload.get(event.kind))
    at = _ts(event)
    if event.kind == "pass_thread_control":
        if str(raw.get("new_owner_app_id") or "") == ours:
            modes.apply(conversation, modes.Transition.RESUME, at=at)
            return ApplyResult(outcome="handover: thread passed to us, bot resumed")
        modes.apply(conversation, modes.Transition.PAUSE, at=at, reason="thread passed to another app")
        return ApplyResult(outcome="handover: thread passed away, bot paused")
    if event.kind == "take_thread_control":
        if str(raw.get("previous_owner_app_id") or "") == ours or not raw.get("previous_owner_app_id"):
            modes.apply(conversation, modes.Transition.PAUSE, at=at, reason="the Page Inbox took the thread")
            return ApplyResult(outcome="handover: thread taken from us, bot paused")
        return ApplyResult(outcome="handover: take recorded")
    # request_thread_control: a human asks for the thread; we always yield to humans.
    modes.apply(conversation, modes.Transition.PAUSE, at=at, reason="the Page Inbox asked for the thread")
    await notify_seller(session, tenant.id, conversation.id, "paused", "Thread handed to the Page Inbox.")
    return ApplyResult(outcome="handover: yielded to the requester", graph_actions=("pass_thread_control",))


async def _recorded(
    session: AsyncSession,
    context: HandlerContext,
    tenant: MessengerTenant,
    conversation: Conversation,
    event: EventLog,
) -> ApplyResult:
    return ApplyResult(outcome=f"recorded: {event.kind}")


_HANDLERS: dict[str, Handler] = {
    "message": _on_message,
    "echo": _on_echo,
    "postback": _on_postback,
    "referral": _on_referral,
    "delivery": _on_status,
    "read": _on_status,
    "reaction": _on_reaction,
    "message_edit": _on_edit,
    "pass_thread_control": _on_handover,
    "take_thread_control": _on_handover,
    "request_thread_control": _on_handover,
    "optin": _recorded,
    "app_roles": _recorded,
}
