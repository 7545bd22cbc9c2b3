"""Deals use cases: a price agreed, escrow started and moved by its webhooks, a listing sold, a deal lost.

Every step writes its :class:`~accorria_agent.deals.models.DealEvent` in the caller's transaction (this
module flushes, never commits). Messages to buyers are recorded as outbound intents with a key derived
from what they announce (``outbound_key`` is unique, so each notice exists at most once) and delivered
by the normal ``deliver_outbound`` job, whose send-time gate applies the 24-hour window and takeover.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.conversations.models import Conversation, Message
from accorria_agent.deals import repository as repo
from accorria_agent.deals.events import deal_for_conversation, record_deal_event
from accorria_agent.deals.models import Deal
from accorria_agent.deals.schemas import DealEventOut, DealOut, EscrowOut, ListingSoldOut
from accorria_agent.errors import Conflict, NotFound
from accorria_agent.escrow.fees import transaction_fee
from accorria_agent.escrow.interface import EscrowTransaction, NewTransaction
from accorria_agent.jobs.interface import JobQueue, JobRequest
from accorria_agent.messenger.policy import STANDARD_WINDOW
from accorria_agent.sellers.models import Listing, MessengerTenant, Seller
from accorria_agent.sellers.notifications import notify_seller
from accorria_agent.sending.delivery import DELIVER_OUTBOUND_TASK, outbound_lock

log = structlog.get_logger(__name__)

START_ESCROW_TASK = "start_escrow"
CURRENCY = "USD"


# --- texts ---------------------------------------------------------------------------------------------


def listing_title(listing: Listing) -> str:
    """``2018 Honda Civic EX``."""
    return " ".join(str(p) for p in (listing.year, listing.make, listing.model, listing.trim) if p)


def _dollars(amount: Decimal) -> str:
    return f"${amount:,.2f}" if amount != amount.to_integral_value() else f"${amount:,.0f}"


def checkout_text(listing: Listing, price: Decimal, fee: Decimal) -> str:
    """The text above the escrow button (≤ 640 characters)."""
    return (
        f"Here is your secure Accorria escrow checkout for the {listing_title(listing)} at {_dollars(price)}"
        f" (escrow fee {_dollars(fee)}). Your money is held safely and the seller is paid only once you"
        " have the car."
    )[:640]


LINK_WILL_FOLLOW = (
    "The secure escrow payment link is taking a moment to prepare. I'll send it here as soon as it's ready."
)
ESCROW_UNAVAILABLE = (
    "The escrow payment link could not be prepared right now. The seller will follow up with you here."
)


def sold_text(listing: Listing, others: list[Listing]) -> str:
    """What a buyer of a sold car is told: politely, once, with the seller's other active listings."""
    text = f"Thanks for your interest in the {listing_title(listing)}. It has just been sold, sorry!"
    if not others:
        return text + " I'll let the seller know you were interested in case something similar comes up."
    offered = "; ".join(f"{listing_title(o)} ({_dollars(Decimal(o.asking_price))})" for o in others)
    return text + f" The seller also has: {offered}. Would you like details on one of them?"


def sold_key(listing_id: int, conversation_id: int) -> str:
    return f"listing-sold-{listing_id}-{conversation_id}"


def escrow_link_key(deal_id: int) -> str:
    return f"deal-escrow-link-{deal_id}"


def idempotency_key(deal: Deal) -> str:
    """Derived from the deal (its id and the moment its price was agreed): a retry sends the same key."""
    agreed = int(deal.agreed_at.timestamp()) if deal.agreed_at is not None else 0
    return f"accorria-agent-deal-{deal.id}-{agreed}"


# --- buyer messages ------------------------------------------------------------------------------------


async def queue_bot_message(
    session: AsyncSession,
    queue: JobQueue,
    tenant: MessengerTenant,
    conversation: Conversation,
    *,
    key: str,
    text: str,
    payload: dict[str, Any],
    now: datetime,
) -> Message | None:
    """Record a bot message under ``key`` and defer its delivery; ``None`` if that key was used before."""
    if await repo.outbound_key_taken(session, tenant.id, key):
        return None
    message = Message(
        tenant_id=tenant.id,
        conversation_id=conversation.id,
        direction="outbound",
        author="bot",
        text=text,
        payload=payload,
        sent_at=now,
        status="queued",
        outbound_key=key,
        messaging_type="RESPONSE",
        tag=None,  # the bot never tags
    )
    session.add(message)
    await session.flush()
    await queue.defer_many(
        session,
        [
            JobRequest(
                task=DELIVER_OUTBOUND_TASK,
                args={"tenant_id": tenant.id, "message_ids": [message.id]},
                lock=outbound_lock(tenant.page_id, conversation.buyer_psid),
            )
        ],
    )
    return message


# --- price agreed --------------------------------------------------------------------------------------


async def record_price_agreed(
    session: AsyncSession,
    queue: JobQueue,
    *,
    seller_id: int,
    tenant_id: int,
    conversation_id: int,
    listing: Listing,
    price: Decimal,
    now: datetime,
) -> Deal:
    """The negotiation reached ``price``: the deal becomes ``agreed`` (once) and escrow is started if the
    listing offers it. A repeated "deal" from the buyer changes nothing."""
    deal = await deal_for_conversation(
        session,
        seller_id=seller_id,
        tenant_id=tenant_id,
        conversation_id=conversation_id,
        listing_id=listing.id,
        asking_price=Decimal(listing.asking_price),
    )
    if deal.status != "negotiating":
        return deal
    deal.status = "agreed"
    deal.agreed_price = price
    deal.agreed_at = now
    deal.listing_id = listing.id
    await record_deal_event(session, deal, "price_agreed", actor_kind="bot", amount=price, occurred_at=now)
    if listing.escrow_enabled:
        deal.escrow_status = "creating"
        deal.escrow_fee = transaction_fee(price)
        await session.flush()
        await queue.defer_many(session, [start_escrow_job(deal.id)])
    return deal


def start_escrow_job(deal_id: int, delay_seconds: float = 0.0) -> JobRequest:
    """The job creating a deal's escrow transaction (one waiting per deal)."""
    return JobRequest(
        task=START_ESCROW_TASK,
        args={"deal_id": deal_id},
        lock=f"escrow:{deal_id}",
        queueing_lock=f"escrow:{deal_id}",
        delay_seconds=delay_seconds,
    )


def escrow_request(deal: Deal, listing: Listing, seller: Seller) -> NewTransaction:
    """The transaction to create for an agreed deal (the buyer is an opaque reference, never the PSID)."""
    assert deal.agreed_price is not None
    price = Decimal(deal.agreed_price)
    return NewTransaction(
        reference=f"deal-{deal.id}",
        listing_id=listing.id,
        listing_title=listing_title(listing),
        amount=price,
        fee=transaction_fee(price),
        currency=CURRENCY,
        seller_id=seller.id,
        seller_name=seller.name,
        seller_email=seller.email,
        buyer_reference=f"conversation-{deal.conversation_id}",
    )


async def escrow_created(
    session: AsyncSession, queue: JobQueue, deal: Deal, transaction: EscrowTransaction, now: datetime
) -> bool:
    """Store the created transaction on the deal and queue the buyer's checkout button (once).

    Returns ``False`` when the deal already holds a transaction (nothing changes) or was closed while
    the transaction was being created (it is kept for the record; the caller cancels it).
    """
    if deal.escrow_transaction_id is not None:
        return False
    if deal.status in repo.CLOSED_STATUSES:
        deal.escrow_transaction_id = transaction.id
        deal.escrow_status = transaction.status
        return False
    listing = await repo.listing_of(session, deal)
    pair = await repo.seller_and_tenant(session, deal)
    conversation = await repo.conversation_of(session, deal.tenant_id, deal.conversation_id)
    deal.escrow_transaction_id = transaction.id
    deal.escrow_checkout_url = transaction.checkout_url
    deal.escrow_status = transaction.status
    deal.escrow_fee = transaction.fee
    deal.escrow_error = None
    deal.status = "escrow_started"
    await record_deal_event(
        session,
        deal,
        "escrow_started",
        actor_kind="system",
        amount=transaction.amount,
        details={"transaction_id": transaction.id, "fee": str(transaction.fee)},
        occurred_at=now,
    )
    if listing is not None and pair is not None and conversation is not None:
        await queue_bot_message(
            session,
            queue,
            pair[1],
            conversation,
            key=escrow_link_key(deal.id),
            text=checkout_text(listing, transaction.amount, transaction.fee),
            payload={
                "source": "escrow",
                "buttons": [{"type": "web_url", "title": "Pay into escrow", "url": transaction.checkout_url}],
            },
            now=now,
        )
    return True


async def escrow_attempt_failed(
    session: AsyncSession,
    queue: JobQueue,
    deal: Deal,
    reason: str,
    *,
    transient: bool,
    max_attempts: int,
    retry_base_seconds: float,
    now: datetime,
) -> float | None:
    """Count a failed create; returns the delay of the retry it deferred, or ``None`` when it gave up.

    The first failure tells the seller and tells the buyer the link will follow; giving up records
    ``escrow_failed`` and tells both again.
    """
    deal.escrow_attempts += 1
    deal.escrow_error = reason[:300]
    retrying = transient and deal.escrow_attempts < max_attempts
    if retrying:
        deal.escrow_status = "retrying"
    else:
        deal.escrow_status = "failed"
        await record_deal_event(
            session,
            deal,
            "escrow_failed",
            actor_kind="system",
            details={"reason": reason[:200]},
            occurred_at=now,
        )
    if not retrying or deal.escrow_attempts == 1:
        # Told on the first failure and when giving up, never on every retry.
        if retrying:
            note = f"The escrow service is not answering ({reason[:120]}); the agent keeps retrying."
            key, text = f"deal-escrow-wait-{deal.id}", LINK_WILL_FOLLOW
        else:
            note = f"The escrow transaction could not be created ({reason[:150]}). Please contact the buyer."
            key, text = f"deal-escrow-failed-{deal.id}", ESCROW_UNAVAILABLE
        await notify_seller(session, deal.tenant_id, deal.conversation_id, "escrow", note)
        pair = await repo.seller_and_tenant(session, deal)
        conversation = await repo.conversation_of(session, deal.tenant_id, deal.conversation_id)
        if pair is not None and conversation is not None:
            await queue_bot_message(
                session,
                queue,
                pair[1],
                conversation,
                key=key,
                text=text,
                payload={"source": "escrow"},
                now=now,
            )
    if not retrying:
        return None
    delay = float(min(3600.0, retry_base_seconds * 2 ** (deal.escrow_attempts - 1)))
    await queue.defer_many(session, [start_escrow_job(deal.id, delay_seconds=delay)])
    return delay


# --- escrow status webhooks ----------------------------------------------------------------------------


async def apply_escrow_webhook(
    session: AsyncSession, queue: JobQueue, *, event_id: str, transaction_id: str, status: str, now: datetime
) -> str:
    """Apply one authentic status webhook; returns its outcome (``duplicate`` for a replayed event id)."""
    deal = await repo.deal_by_transaction(session, transaction_id)
    stored = await repo.store_webhook_event(
        session,
        event_id=event_id,
        transaction_id=transaction_id,
        status=status,
        deal_id=deal.id if deal is not None else None,
    )
    if not stored:
        return "duplicate"
    if deal is None:
        log.warning("escrow_webhook_unknown_transaction", event_id=event_id)
        return "ignored: unknown transaction"
    return await _apply_status(session, queue, deal, status, now)


async def _apply_status(
    session: AsyncSession, queue: JobQueue, deal: Deal, status: str, now: datetime
) -> str:
    if status == "disputed":
        # A dispute matters whatever state the deal is in: recorded, and the seller must look.
        deal.escrow_status = "disputed"
        await record_deal_event(session, deal, "escrow_disputed", actor_kind="escrow", occurred_at=now)
        await notify_seller(
            session,
            deal.tenant_id,
            deal.conversation_id,
            "escrow",
            "The buyer opened a dispute on the escrow.",
        )
        return "disputed"
    if deal.status in repo.CLOSED_STATUSES or status == deal.escrow_status or status == "pending":
        return f"ignored: deal {deal.status}, escrow {deal.escrow_status}"
    if status == "funded":
        deal.escrow_status = "funded"
        deal.status = "escrow_funded"
        await record_deal_event(
            session, deal, "escrow_funded", actor_kind="escrow", amount=deal.agreed_price, occurred_at=now
        )
        await notify_seller(
            session, deal.tenant_id, deal.conversation_id, "escrow", "The buyer funded the escrow."
        )
        return "funded"
    if status == "released":
        deal.escrow_status = "released"
        await record_deal_event(
            session, deal, "escrow_released", actor_kind="escrow", amount=deal.agreed_price, occurred_at=now
        )
        listing = await repo.listing_of(session, deal)
        if listing is not None:
            await mark_listing_sold(
                session, queue, listing, winner=deal, actor_kind="escrow", actor_id=None, now=now
            )
        else:
            await _close(session, deal, "sold", actor_kind="escrow", actor_id=None, now=now)
        return "released"
    # cancelled
    deal.escrow_status = "cancelled"
    await record_deal_event(session, deal, "escrow_cancelled", actor_kind="escrow", occurred_at=now)
    deal.status = "cancelled"
    deal.closed_at = now
    await notify_seller(
        session, deal.tenant_id, deal.conversation_id, "escrow", "The escrow was cancelled; the deal is off."
    )
    return "cancelled"


async def _close(
    session: AsyncSession,
    deal: Deal,
    kind: str,
    *,
    actor_kind: str,
    actor_id: int | None,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    deal.status = kind
    deal.closed_at = now
    await record_deal_event(
        session,
        deal,
        kind,
        actor_kind=actor_kind,
        actor_id=actor_id,
        amount=deal.agreed_price if kind == "sold" else None,
        details=details,
        occurred_at=now,
    )


# --- outcomes ------------------------------------------------------------------------------------------


async def mark_listing_sold(
    session: AsyncSession,
    queue: JobQueue,
    listing: Listing,
    *,
    winner: Deal | None,
    actor_kind: str,
    actor_id: int | None,
    now: datetime,
) -> ListingSoldOut:
    """The listing is sold: its winning deal ``sold``, its other open deals ``lost``, and each other buyer
    still inside the 24-hour window told once (with the seller's other active listings). Idempotent."""
    if listing.status == "sold":
        return ListingSoldOut(listing_id=listing.id, status="sold", buyers_told=0, deals_lost=0)
    listing.status = "sold"
    if winner is not None and winner.status not in repo.CLOSED_STATUSES:
        await _close(session, winner, "sold", actor_kind=actor_kind, actor_id=actor_id, now=now)
    lost = 0
    for deal in await repo.open_deals_of_listing(session, listing.id, listing.seller_id):
        if winner is not None and deal.id == winner.id:
            continue
        await _close(
            session,
            deal,
            "lost",
            actor_kind=actor_kind,
            actor_id=actor_id,
            now=now,
            details={"reason": "sold_to_someone_else"},
        )
        lost += 1
    told = 0
    tenant = await session.get(MessengerTenant, listing.tenant_id) if listing.tenant_id is not None else None
    if tenant is not None and tenant.seller_id == listing.seller_id:
        others = list(await repo.other_active_listings(session, listing.seller_id, listing.id))
        text = sold_text(listing, others)
        exclude = [winner.conversation_id] if winner is not None else []
        for conversation in await repo.conversations_to_tell(
            session, tenant.id, listing.id, exclude_ids=exclude, since=now - STANDARD_WINDOW
        ):
            queued = await queue_bot_message(
                session,
                queue,
                tenant,
                conversation,
                key=sold_key(listing.id, conversation.id),
                text=text,
                payload={"source": "listing_sold"},
                now=now,
            )
            told += queued is not None
        await notify_seller(
            session,
            tenant.id,
            winner.conversation_id if winner else None,
            "deal",
            f"The {listing_title(listing)} is sold. {told} other interested buyer(s) were told.",
        )
    log.info("listing_sold", listing_id=listing.id, buyers_told=told, deals_lost=lost)
    return ListingSoldOut(listing_id=listing.id, status="sold", buyers_told=told, deals_lost=lost)


async def seller_marks_sold(
    session: AsyncSession,
    queue: JobQueue,
    *,
    seller_id: int,
    member_id: int,
    listing_id: int,
    deal_id: int | None,
    now: datetime,
) -> ListingSoldOut:
    """``POST /api/listings/{id}/sold``: the seller's listing (404 otherwise), optionally with our deal."""
    listing = await repo.listing_for_seller(session, seller_id, listing_id)
    if listing is None:
        raise NotFound("listing not found")
    winner = None
    if deal_id is not None:
        winner = await repo.deal_for_seller(session, seller_id, deal_id)
        if winner is None or winner.listing_id != listing.id:
            raise NotFound("deal not found on this listing")
    return await mark_listing_sold(
        session, queue, listing, winner=winner, actor_kind="member", actor_id=member_id, now=now
    )


async def seller_marks_lost(
    session: AsyncSession, *, seller_id: int, member_id: int, deal_id: int, reason: str, now: datetime
) -> DealOut:
    """``POST /api/deals/{id}/lost``: the buyer walked. A closed deal is a 409."""
    deal = await repo.deal_for_seller(session, seller_id, deal_id)
    if deal is None:
        raise NotFound("deal not found")
    if deal.status in repo.CLOSED_STATUSES:
        raise Conflict(f"the deal is already {deal.status}")
    await _close(
        session, deal, "lost", actor_kind="member", actor_id=member_id, now=now, details={"reason": reason}
    )
    return (await _views(session, seller_id, [deal]))[0]


async def sold_listing_reply(session: AsyncSession, listing: Listing, conversation_id: int) -> str:
    """What the bot answers on a sold listing instead of negotiating."""
    deal = await repo.deal_for_conversation_id(session, conversation_id)
    if deal is not None and deal.status == "sold":
        return (
            f"Thanks! The {listing_title(listing)} is yours. The seller will reply here if anything else is"
            " needed."
        )
    others = list(await repo.other_active_listings(session, listing.seller_id, listing.id))
    return sold_text(listing, others)


# --- reads ---------------------------------------------------------------------------------------------


async def list_deals(
    session: AsyncSession, seller_id: int, *, status: str | None = None, limit: int = 100, offset: int = 0
) -> list[DealOut]:
    deals = list(await repo.deals_for_seller(session, seller_id, status=status, limit=limit, offset=offset))
    return await _views(session, seller_id, deals)


async def get_deal(session: AsyncSession, seller_id: int, deal_id: int) -> DealOut:
    deal = await repo.deal_for_seller(session, seller_id, deal_id)
    if deal is None:
        raise NotFound("deal not found")
    return (await _views(session, seller_id, [deal]))[0]


async def _views(session: AsyncSession, seller_id: int, deals: list[Deal]) -> list[DealOut]:
    by_deal: dict[int, list[DealEventOut]] = {deal.id: [] for deal in deals}
    for event in await repo.events_of(session, seller_id, list(by_deal)):
        by_deal[event.deal_id].append(
            DealEventOut(
                kind=event.kind,
                actor_kind=event.actor_kind,
                actor_id=event.actor_id,
                amount=event.amount,
                details=dict(event.details or {}),
                occurred_at=event.occurred_at,
            )
        )
    return [
        DealOut(
            id=deal.id,
            status=deal.status,
            listing_id=deal.listing_id,
            conversation_id=deal.conversation_id,
            asking_price=deal.asking_price,
            agreed_price=deal.agreed_price,
            agreed_at=deal.agreed_at,
            closed_at=deal.closed_at,
            updated_at=deal.updated_at,
            escrow=EscrowOut(
                status=deal.escrow_status,
                transaction_id=deal.escrow_transaction_id,
                checkout_url=deal.escrow_checkout_url,
                fee=deal.escrow_fee,
                attempts=deal.escrow_attempts,
                error=deal.escrow_error,
            ),
            events=by_deal[deal.id],
        )
        for deal in deals
    ]
