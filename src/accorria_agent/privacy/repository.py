"""All SQL of the privacy domain: erasing a buyer, deleting Pages and accounts, the retention purge, export.

Rows that analytics counts (messages, events, deliveries, deals) are kept where the promise allows it, with
their personal content cleared; whole rows go only when their owner (a Page, an account) is deleted.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import String, cast, delete, func, or_, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.conversations.models import Conversation, ConversationDraft, Message
from accorria_agent.db.tenancy import tenant_select
from accorria_agent.deals.models import Deal, DealEvent
from accorria_agent.messenger.models import EventLog, WebhookDelivery
from accorria_agent.privacy.models import PrivacyRequest
from accorria_agent.sellers.models import Listing, MessengerTenant, Seller
from accorria_agent.sellers.notifications import SellerNotification

ERASED_NOTIFICATION_TEXT = "[erased at the buyer's request]"
_EMPTY_JSON = "{}"


def _rowcount(result: Any) -> int:
    return int(result.rowcount) if isinstance(result, CursorResult) and result.rowcount >= 0 else 0


def _has_content(column: Any) -> Any:
    """``column`` holds a non-empty JSON document (``{}``, what purging leaves, reads the same on both)."""
    return cast(column, String) != _EMPTY_JSON


async def seller_tenant_by_page(
    session: AsyncSession, seller_id: int, page_id: str
) -> MessengerTenant | None:
    """The seller's tenant for ``page_id``; None when the Page is not theirs (or unknown)."""
    return (
        await session.execute(
            select(MessengerTenant).where(
                MessengerTenant.page_id == page_id, MessengerTenant.seller_id == seller_id
            )
        )
    ).scalar_one_or_none()


async def page_owner(session: AsyncSession, page_id: str) -> int | None:
    """The seller id of the connected Page ``page_id`` (operator use only: no tenant scoping)."""
    owner = (
        await session.execute(select(MessengerTenant.seller_id).where(MessengerTenant.page_id == page_id))
    ).scalar_one_or_none()
    return int(owner) if owner is not None else None


async def seller_conversation(
    session: AsyncSession, seller_id: int, conversation_id: int
) -> tuple[MessengerTenant, Conversation] | None:
    """The conversation and its tenant when it belongs to the seller."""
    row = (
        await session.execute(
            select(MessengerTenant, Conversation)
            .join(Conversation, Conversation.tenant_id == MessengerTenant.id)
            .where(Conversation.id == conversation_id, MessengerTenant.seller_id == seller_id)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def erase_buyer(
    session: AsyncSession, tenant: MessengerTenant, psid: str, now: datetime
) -> dict[str, int]:
    """Clear everything personal about buyer ``psid`` on ``tenant``'s Page; keep the rows analytics counts."""
    conversation = (
        await session.execute(tenant_select(Conversation, tenant.id).where(Conversation.buyer_psid == psid))
    ).scalar_one_or_none()
    # The PSID itself is the identifier: it is replaced, so a later message from the same buyer starts over.
    placeholder = f"erased-{conversation.id}" if conversation is not None else "erased"
    counts = {
        "messages": 0,
        "notifications": 0,
        "events": 0,
        "deliveries": 0,
        "conversations": 0,
        "drafts": 0,
    }
    if conversation is not None:
        # Co-pilot drafts hold the buyer's words (the messages they answer) and replies quoting them.
        result = await session.execute(
            delete(ConversationDraft).where(
                ConversationDraft.tenant_id == tenant.id, ConversationDraft.conversation_id == conversation.id
            )
        )
        counts["drafts"] = _rowcount(result)
        result = await session.execute(
            update(Message)
            .where(Message.tenant_id == tenant.id, Message.conversation_id == conversation.id)
            .values(text=None, payload={})
        )
        counts["messages"] = _rowcount(result)
        result = await session.execute(
            update(SellerNotification)
            .where(
                SellerNotification.tenant_id == tenant.id,
                SellerNotification.conversation_id == conversation.id,
            )
            .values(text=ERASED_NOTIFICATION_TEXT)
        )
        counts["notifications"] = _rowcount(result)
        conversation.buyer_psid = placeholder
        conversation.buyer_name = None
        conversation.negotiation_state = {}
        counts["conversations"] = 1
    result = await session.execute(
        update(EventLog)
        .where(EventLog.page_id == tenant.page_id, EventLog.buyer_psid == psid)
        .values(
            payload={},
            buyer_psid=placeholder,
            processed_at=func.coalesce(EventLog.processed_at, now),
            outcome=func.coalesce(EventLog.outcome, "erased"),
        )
    )
    counts["events"] = _rowcount(result)
    # Event-carrying deliveries keep no body (the events hold it); odd ones may still name the buyer.
    result = await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.body != "", WebhookDelivery.body.contains(psid, autoescape=True))
        .values(body="")
    )
    counts["deliveries"] = _rowcount(result)
    await session.flush()
    return counts


async def purge_older_than(session: AsyncSession, cutoff: datetime) -> dict[str, int]:
    """Retention: clear buyer message text and raw payloads older than ``cutoff``; every row stays."""
    # Only the buyer's words are personal data; the bot's and the seller's replies keep their text.
    messages = await session.execute(
        update(Message)
        .where(
            Message.sent_at < cutoff,
            Message.author == "buyer",
            or_(Message.text.is_not(None), _has_content(Message.payload)),
        )
        .values(text=None, payload={})
    )
    outbound = await session.execute(
        update(Message)
        .where(Message.sent_at < cutoff, Message.author != "buyer", _has_content(Message.payload))
        .values(payload={})
    )
    events = await session.execute(
        update(EventLog)
        .where(
            EventLog.received_at < cutoff, EventLog.processed_at.is_not(None), _has_content(EventLog.payload)
        )
        .values(payload={})
    )
    deliveries = await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.received_at < cutoff, WebhookDelivery.body != "")
        .values(body="")
    )
    # Co-pilot drafts copy the buyer's words: gone with them (no draft that old can be sent anyway).
    drafts = await session.execute(delete(ConversationDraft).where(ConversationDraft.created_at < cutoff))
    await session.flush()
    return {
        "messages": _rowcount(messages) + _rowcount(outbound) + _rowcount(drafts),
        "events": _rowcount(events),
        "deliveries": _rowcount(deliveries),
    }


async def tenants_of_facebook_user(session: AsyncSession, facebook_user_id: str) -> list[MessengerTenant]:
    """The Pages that Facebook user connected (Meta's callbacks name the user, not the Page)."""
    rows = await session.execute(
        select(MessengerTenant)
        .where(MessengerTenant.facebook_user_id == facebook_user_id)
        .order_by(MessengerTenant.id)
    )
    return list(rows.scalars())


async def _count(session: AsyncSession, statement: Any) -> int:
    return int((await session.execute(statement)).scalar_one())


async def delete_tenants(session: AsyncSession, tenants: list[MessengerTenant]) -> dict[str, int]:
    """Delete Pages with everything of theirs (conversations, messages, … cascade) and their events log."""
    ids = [tenant.id for tenant in tenants]
    page_ids = [tenant.page_id for tenant in tenants]
    if not ids:
        return {"pages": 0, "conversations": 0, "messages": 0, "events": 0}
    conversations = await _count(
        session, select(func.count()).select_from(Conversation).where(Conversation.tenant_id.in_(ids))
    )
    messages = await _count(
        session, select(func.count()).select_from(Message).where(Message.tenant_id.in_(ids))
    )
    # Rows stored before the tenant was known (or before migration 0009) carry only the page id.
    events = await session.execute(
        delete(EventLog).where(or_(EventLog.tenant_id.in_(ids), EventLog.page_id.in_(page_ids)))
    )
    await session.execute(delete(MessengerTenant).where(MessengerTenant.id.in_(ids)))
    await session.flush()
    return {
        "pages": len(ids),
        "conversations": conversations,
        "messages": messages,
        "events": _rowcount(events),
    }


async def seller_tenants(session: AsyncSession, seller_id: int) -> list[MessengerTenant]:
    rows = await session.execute(
        select(MessengerTenant).where(MessengerTenant.seller_id == seller_id).order_by(MessengerTenant.id)
    )
    return list(rows.scalars())


async def delete_seller(session: AsyncSession, seller_id: int) -> dict[str, int]:
    """Delete the account and everything of it; foreign keys cascade from ``sellers`` to every table."""
    counts = await delete_tenants(session, await seller_tenants(session, seller_id))
    counts["listings"] = await _count(
        session, select(func.count()).select_from(Listing).where(Listing.seller_id == seller_id)
    )
    result = await session.execute(delete(Seller).where(Seller.id == seller_id))
    counts["accounts"] = _rowcount(result)
    await session.flush()
    return counts


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # money stays exact: never a float
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def row_dict(row: Any, *, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A model row as plain JSON values (every mapped column but ``exclude``)."""
    mapper = sa_inspect(type(row))
    return {
        attribute.key: _plain(getattr(row, attribute.key))
        for attribute in mapper.column_attrs
        if attribute.key not in exclude
    }


async def export_seller(session: AsyncSession, seller_id: int) -> dict[str, Any]:
    """Everything the account holds, tokens excluded, as plain JSON values."""
    seller = await session.get(Seller, seller_id)
    tenants = await seller_tenants(session, seller_id)
    tenant_ids = [tenant.id for tenant in tenants]
    listings = (
        await session.execute(select(Listing).where(Listing.seller_id == seller_id).order_by(Listing.id))
    ).scalars()
    conversations: list[Conversation] = []
    messages: list[Message] = []
    notifications: list[SellerNotification] = []
    drafts: list[ConversationDraft] = []
    for tenant_id in tenant_ids:
        drafts.extend(
            (
                await session.execute(
                    tenant_select(ConversationDraft, tenant_id).order_by(ConversationDraft.id)
                )
            ).scalars()
        )
        conversations.extend(
            (
                await session.execute(tenant_select(Conversation, tenant_id).order_by(Conversation.id))
            ).scalars()
        )
        messages.extend(
            (await session.execute(tenant_select(Message, tenant_id).order_by(Message.id))).scalars()
        )
        notifications.extend(
            (
                await session.execute(
                    tenant_select(SellerNotification, tenant_id).order_by(SellerNotification.id)
                )
            ).scalars()
        )
    deals = (
        await session.execute(select(Deal).where(Deal.seller_id == seller_id).order_by(Deal.id))
    ).scalars()
    deal_events = (
        await session.execute(
            select(DealEvent).where(DealEvent.seller_id == seller_id).order_by(DealEvent.id)
        )
    ).scalars()
    return {
        "account": row_dict(seller) if seller is not None else None,
        "pages": [row_dict(t, exclude=frozenset({"page_access_token_encrypted"})) for t in tenants],
        "listings": [row_dict(row) for row in listings],
        "conversations": [row_dict(row) for row in conversations],
        "messages": [row_dict(row) for row in messages],
        "notifications": [row_dict(row) for row in notifications],
        "drafts": [row_dict(row) for row in drafts],
        "deals": [row_dict(row) for row in deals],
        "deal_events": [row_dict(row) for row in deal_events],
    }


async def add_request(session: AsyncSession, request: PrivacyRequest) -> PrivacyRequest:
    session.add(request)
    await session.flush()
    return request


async def request_by_code(session: AsyncSession, code: str) -> PrivacyRequest | None:
    return (
        await session.execute(select(PrivacyRequest).where(PrivacyRequest.confirmation_code == code))
    ).scalar_one_or_none()
