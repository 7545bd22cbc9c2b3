"""How each stored webhook event changes a conversation (called by the job, in order, under its lock).

Each handler returns an outcome string (stored on the event) and, for buyer input that deserves an
answer, a :class:`BuyerInput`. Nothing here sends anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.conversations import repository as repo
from accorria_agent.conversations.composer import BuyerInput
from accorria_agent.conversations.models import Conversation, Message
from accorria_agent.messenger.models import EventLog
from accorria_agent.sellers.models import MessengerTenant

if TYPE_CHECKING:
    from accorria_agent.runtime import Runtime

# Meta's "like" (thumbs up) arrives as this sticker with no text.
LIKE_STICKER_ID = 369239263222822
MAX_STORED_TEXT = 5000


@dataclass(frozen=True)
class ApplyResult:
    outcome: str
    buyer_input: BuyerInput | None = None


def _ts(event: EventLog) -> datetime:
    if event.timestamp_ms > 0:
        return datetime.fromtimestamp(event.timestamp_ms / 1000.0, tz=UTC)
    return event.received_at


async def apply_event(
    session: AsyncSession,
    runtime: Runtime,
    tenant: MessengerTenant,
    conversation: Conversation,
    event: EventLog,
) -> ApplyResult:
    """Dispatch on the event kind."""
    handler = _HANDLERS.get(event.kind)
    if handler is None:
        return ApplyResult(outcome=f"recorded: {event.kind}")
    return await handler(session, runtime, tenant, conversation, event)


async def _on_message(
    session: AsyncSession,
    runtime: Runtime,
    tenant: MessengerTenant,
    conversation: Conversation,
    event: EventLog,
) -> ApplyResult:
    raw = event.payload.get("message") or {}
    mid = str(raw.get("mid") or "")[:255] or None
    if mid and await repo.message_by_mid(session, tenant.id, mid) is not None:
        return ApplyResult(outcome="duplicate: mid already stored")
    sent_at = _ts(event)
    text = raw.get("text") if isinstance(raw.get("text"), str) else None
    quick_reply = raw.get("quick_reply") if isinstance(raw.get("quick_reply"), dict) else None
    payload: dict[str, Any] = {}
    for key in ("quick_reply", "attachments", "reply_to", "referral", "sticker_id"):
        if key in raw:
            payload[key] = raw[key]
    session.add(
        Message(
            tenant_id=tenant.id,
            conversation_id=conversation.id,
            direction="inbound",
            author="buyer",
            mid=mid,
            text=(text or "")[:MAX_STORED_TEXT] or None,
            payload=payload,
            sent_at=sent_at,
            status="received",
        )
    )
    if conversation.last_buyer_message_at is None or sent_at > conversation.last_buyer_message_at:
        conversation.last_buyer_message_at = sent_at
    qr_payload = str(quick_reply.get("payload")) if quick_reply and quick_reply.get("payload") else None
    if not text and not qr_payload:
        return ApplyResult(outcome="stored: non-text message")
    return ApplyResult(
        outcome="stored: message",
        buyer_input=BuyerInput(
            text=(text or "")[:MAX_STORED_TEXT], sent_at=sent_at, quick_reply_payload=qr_payload
        ),
    )


async def _on_echo(
    session: AsyncSession,
    runtime: Runtime,
    tenant: MessengerTenant,
    conversation: Conversation,
    event: EventLog,
) -> ApplyResult:
    raw = event.payload.get("message") or {}
    mid = str(raw.get("mid") or "")[:255] or None
    app_id = str(raw.get("app_id") or "")
    metadata = raw.get("metadata") if isinstance(raw.get("metadata"), str) else None
    ours = bool(app_id) and app_id == runtime.settings.facebook_app_id
    if ours:
        # Our own message coming back: reconcile the outbound intent (never reply to it).
        message = await repo.message_by_outbound_key(session, tenant.id, metadata) if metadata else None
        if message is None and mid:
            message = await repo.message_by_mid(session, tenant.id, mid)
        if message is None:
            return ApplyResult(outcome="echo: ours, no matching intent")
        if message.mid is None and mid:
            message.mid = mid
        if message.status in ("pending", "failed"):
            message.status = "sent"
        return ApplyResult(outcome="echo: reconciled")
    if mid and await repo.message_by_mid(session, tenant.id, mid) is not None:
        return ApplyResult(outcome="duplicate: echo already stored")
    # A human wrote from the Page Inbox or another app: record it and let the human have the buyer.
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
    if conversation.mode != "paused":
        conversation.mode = "paused"
        conversation.paused_reason = "seller replied from the Page Inbox"
        conversation.paused_at = _ts(event)
    return ApplyResult(outcome="echo: human reply, bot paused")


async def _on_postback(
    session: AsyncSession,
    runtime: Runtime,
    tenant: MessengerTenant,
    conversation: Conversation,
    event: EventLog,
) -> ApplyResult:
    raw = event.payload.get("postback") or {}
    payload = raw.get("payload")
    title = raw.get("title") if isinstance(raw.get("title"), str) else ""
    sent_at = _ts(event)
    if conversation.last_buyer_message_at is None or sent_at > conversation.last_buyer_message_at:
        conversation.last_buyer_message_at = sent_at
    if not isinstance(payload, str) or not payload:
        return ApplyResult(outcome="recorded: postback without payload")
    session.add(
        Message(
            tenant_id=tenant.id,
            conversation_id=conversation.id,
            direction="inbound",
            author="buyer",
            mid=None,
            text=title[:MAX_STORED_TEXT] or None,
            payload={"postback": raw},
            sent_at=sent_at,
            status="received",
        )
    )
    return ApplyResult(
        outcome="stored: postback",
        buyer_input=BuyerInput(text=title, sent_at=sent_at, postback_payload=payload[:1000]),
    )


async def _on_status(
    session: AsyncSession,
    runtime: Runtime,
    tenant: MessengerTenant,
    conversation: Conversation,
    event: EventLog,
) -> ApplyResult:
    status = "delivered" if event.kind == "delivery" else "read"
    raw = event.payload.get(event.kind) or {}
    mids = [str(m) for m in raw.get("mids", []) if isinstance(m, str)] if isinstance(raw, dict) else []
    watermark = raw.get("watermark") if isinstance(raw, dict) else None
    mark = datetime.fromtimestamp(watermark / 1000.0, tz=UTC) if isinstance(watermark, int | float) else None
    changed = await repo.mark_delivered(session, tenant.id, conversation.id, mids, mark, status)
    return ApplyResult(outcome=f"{status}: {changed} message(s)")


_HANDLERS = {
    "message": _on_message,
    "echo": _on_echo,
    "postback": _on_postback,
    "delivery": _on_status,
    "read": _on_status,
}
