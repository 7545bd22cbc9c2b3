"""Test-drive jobs: the reminder before a slot, the seller's ``.ics`` invitation by mail, buyer notices.

Jobs are deferred inside the transaction of the change (a booking that rolls back leaves no job). The
reminder job carries the booking's SEQUENCE: a booking moved since is reminded by its newer job only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from accorria_agent.conversations import repository as conversations
from accorria_agent.conversations.models import Conversation
from accorria_agent.db.engine import transaction
from accorria_agent.jobs.interface import JobQueue, JobRequest
from accorria_agent.mail.interface import Attachment, Mailer, OutgoingMail
from accorria_agent.messenger.policy import SendPermission, send_permission
from accorria_agent.scheduling import ics, texts
from accorria_agent.scheduling import repository as repo
from accorria_agent.scheduling.models import Booking
from accorria_agent.scheduling.service import calendar_entry
from accorria_agent.sellers.models import MessengerTenant
from accorria_agent.sellers.notifications import notify_seller
from accorria_agent.sending.delivery import DELIVER_OUTBOUND_TASK, outbound_lock

log = structlog.get_logger(__name__)

REMIND_TASK = "test_drive_reminder"
INVITATION_TASK = "test_drive_invitation"


async def after_change(
    session: AsyncSession, queue: JobQueue, booking: Booking, *, method: str, now: datetime, lead_minutes: int
) -> None:
    """Defer the seller's invitation (REQUEST or CANCEL) and, for a live booking, its reminder."""
    requests = [JobRequest(task=INVITATION_TASK, args={"booking_id": booking.id, "method": method})]
    if method == "REQUEST":
        remind_at = booking.starts_at - timedelta(minutes=lead_minutes)
        requests.append(
            JobRequest(
                task=REMIND_TASK,
                args={"booking_id": booking.id, "sequence": booking.sequence},
                delay_seconds=max(0.0, (remind_at - now).total_seconds()),
            )
        )
    await queue.defer_many(session, requests)


def buyer_permission(conversation: Conversation, now: datetime) -> SendPermission:
    """Whether the bot may message this buyer now: inside the 24-hour window and not taken over."""
    if conversation.mode != "bot":
        return SendPermission(False, reason="the seller has taken over this conversation")
    return send_permission(
        now=now,
        last_buyer_message_at=conversation.last_buyer_message_at,
        author="bot",
        human_agent_tag_enabled=False,  # the bot never tags
    )


async def tell_buyer(
    session: AsyncSession,
    queue: JobQueue,
    tenant: MessengerTenant,
    conversation: Conversation,
    text: str,
    now: datetime,
) -> SendPermission:
    """Record a bot message to the buyer and defer its delivery, if Messenger allows it now.

    The delivery job's send-time gate checks the window and takeover again right before sending.
    """
    permission = buyer_permission(conversation, now)
    if not permission.allowed:
        return permission
    message = conversations.new_outbound(
        conversation, author="bot", text=text, payload={"source": "scheduling"}, now=now
    )
    message.status = "queued"
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
    return permission


async def remind(
    factory: async_sessionmaker[AsyncSession], queue: JobQueue, args: dict[str, Any], now: datetime
) -> str:
    """The reminder job: the buyer if the window allows, else the seller. Returns what it did."""
    async with transaction(factory) as session:
        booking = await repo.booking_by_id(session, int(args["booking_id"]))
        if booking is None or booking.status != "booked" or booking.sequence != int(args.get("sequence", 0)):
            return "stale"
        if booking.reminded_at is not None:
            return "already"
        if booking.starts_at <= now:
            return "past"
        tenant = await repo.tenant(session, booking.tenant_id)
        conversation = await repo.conversation(session, booking.tenant_id, booking.conversation_id)
        if tenant is None or conversation is None:
            return "gone"
        when = texts.when_text(booking.starts_at, booking.timezone)
        car = booking.summary.removeprefix("Test drive: ")
        language = (conversation.negotiation_state or {}).get("language")
        buyer_when = texts.when_text(booking.starts_at, booking.timezone, language)
        text = texts.guarded(
            texts.reminder(car, buyer_when, booking.location, language),
            None,
            None,
            booking.location,
            language=language,
        )
        permission = await tell_buyer(session, queue, tenant, conversation, text, now)
        booking.reminded_at = now
        if permission.allowed:
            return "buyer"
        await notify_seller(
            session,
            tenant.id,
            conversation.id,
            "test_drive",
            f"Reminder: test drive {when} with {conversation.buyer_name or 'a buyer'} ({car}). "
            f"The buyer was not reminded: {permission.reason}.",
        )
        return "seller"


async def send_invitation(
    factory: async_sessionmaker[AsyncSession], mailer: Mailer | None, args: dict[str, Any]
) -> bool:
    """Mail the seller the booking's ``.ics`` (REQUEST or CANCEL); False when there is nobody to mail."""
    method = str(args.get("method", "REQUEST"))
    async with factory() as session:
        booking = await repo.booking_by_id(session, int(args["booking_id"]))
        if booking is None or mailer is None:
            return False
        seller = await repo.seller(session, booking.seller_id)
        if seller is None or not seller.email:
            return False
        entry = calendar_entry(booking)
    when = texts.when_text(entry.starts_at, entry.timezone)
    verb = "cancelled" if method == "CANCEL" else "booked"
    mail = OutgoingMail(
        to=seller.email,
        subject=f"Test drive {verb}: {entry.summary.removeprefix('Test drive: ')}, {when}",
        text=f"A test drive was {verb}: {when}.\nPlace: {entry.location or 'not set'}\n"
        "The attached invitation adds it to your calendar.",
        attachments=(
            Attachment("invite.ics", ics.invitation(entry, method), f"text/calendar; method={method}"),
        ),
        idempotency_key=f"booking:{entry.booking_id}:{entry.sequence}:{method}",
    )
    await mailer.send(mail)
    return True
