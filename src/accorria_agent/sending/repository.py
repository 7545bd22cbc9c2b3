"""All SQL of the sending domain: outbound intents, the kill switch, held replies. Tenant data is read
only through ``tenant_select``; the few operator-wide reads (kill switch, counts) read no content."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Row, and_, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.conversations.models import SENDING as SENDING
from accorria_agent.conversations.models import SENDING_CLAIM_TIMEOUT_SECONDS as SENDING_CLAIM_TIMEOUT_SECONDS
from accorria_agent.conversations.models import Conversation, Message
from accorria_agent.conversations.repository import conversation_by_id as conversation_by_id
from accorria_agent.conversations.repository import outbound_message as outbound_message
from accorria_agent.db.base import UTCDateTime, utcnow
from accorria_agent.db.tenancy import tenant_select
from accorria_agent.messenger.models import GLOBAL_SENDING_SCOPE, SendingControl
from accorria_agent.sellers.models import MessengerSettings, MessengerTenant
from accorria_agent.sellers.service import settings_for
from accorria_agent.sending.held import RATE_LIMIT_HOLD

# Outbound statuses a sender may claim (pending: its job runs now; queued: a job will).
SENDABLE = ("pending", "queued")
# Not yet resolved: claimable, or claimed by a sender that may be calling the Send API right now.
UNRESOLVED = (*SENDABLE, SENDING)
# Kept while sending is halted or the Page cannot send; released on resume (sending.controls).
HELD = "held"


def halt_reason_of(control: SendingControl | None) -> str | None:
    """The kill switch's reason when it is thrown, else ``None``."""
    if control is None or not control.halted:
        return None
    return control.reason or "by the operator"


async def outbound_with_context(
    session: AsyncSession, tenant_id: int, message_id: int
) -> tuple[Message, Conversation, MessengerTenant, MessengerSettings, str | None] | None:
    """An outbound message with its conversation, tenant, settings and the kill switch's reason (or
    ``None``), in one query: the send-time gate reads them all right before each send."""
    result = await session.execute(
        tenant_select(Message, tenant_id)
        .add_columns(Conversation, MessengerTenant, MessengerSettings, SendingControl)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(MessengerTenant, MessengerTenant.id == Message.tenant_id)
        .outerjoin(MessengerSettings, MessengerSettings.tenant_id == Message.tenant_id)
        .outerjoin(SendingControl, SendingControl.scope == GLOBAL_SENDING_SCOPE)
        .where(Message.id == message_id, Message.direction == "outbound")
    )
    row = result.first()
    if row is None:
        return None
    message, conversation, tenant, settings, control = row
    if settings is None:
        settings = await settings_for(session, tenant_id)
    return message, conversation, tenant, settings, halt_reason_of(control)


async def claim(
    session: AsyncSession, tenant_id: int, message_id: int, now: datetime, ours: datetime | None = None
) -> datetime | None:
    """Claim an outbound message for one send: the conditional write only one sender can win.

    ``pending``/``queued`` → ``sending`` with ``claimed_at = now``; also a claim older than
    :data:`SENDING_CLAIM_TIMEOUT_SECONDS` (its sender is gone) and the caller's own claim ``ours`` (re-gated
    after the typing pause). Returns the new claim time, or ``None`` when another sender holds it or it is
    resolved (sent, held, refused …). On PostgreSQL a concurrent claimer waits for the winner's commit and
    then finds the row claimed; SQLite serialises writers.

    **One sender per reply.** Only the claim's holder calls the Send API; recording ``sent`` (or the echo)
    resolves the claim. The turn's first reply is inserted already claimed by the transaction that gates it
    (``conversations.repository.new_outbound(claimed=True)``: nobody else can see the row before that
    commit, and the hot path pays no extra statement); every other send claims here, in the transaction of
    its gate (``sending.delivery.OutboundDelivery._prepare``). A reply found ``sending`` by a later job (the
    conversation's orphan scan; a stalled-job recovery re-running a job whose worker is in fact alive and
    waiting for the database to record the send) is left to its sender while the claim is younger than the
    timeout.

    **A stale claim is sent again, unless its echo came.** A claim older than the timeout means its sender
    is gone: killed between the claim and the Send API's answer, or it gave up recording after
    ``sending.delivery.RECORD_SENT_DEADLINE_SECONDS``. Meta echoes every message it accepted to the Page's
    webhook within seconds (``message_echoes`` is subscribed) and the echo marks the reply ``sent`` by its
    key; a reply still ``sending`` minutes later was, as far as we can know, not delivered, and the buyer
    must not be left without an answer. So the orphan scan defers a delivery job to the moment the claim
    goes stale, and that job claims the reply again here and sends it. The one case that sends twice —
    Meta accepted, the record failed past its deadline *and* the echo did not arrive within the timeout —
    needs the database and the webhook to be unusable for minutes around that very send; failing the
    reply and telling the seller instead would lose the answer every time a worker dies before its send.
    """
    claimable: list[ColumnElement[bool]] = [Message.status.in_(SENDABLE)]
    stale_before = now - timedelta(seconds=SENDING_CLAIM_TIMEOUT_SECONDS)
    claimable.append(and_(Message.status == SENDING, Message.claimed_at < stale_before))
    if ours is not None:
        claimable.append(and_(Message.status == SENDING, Message.claimed_at == ours))
    won = (
        await session.execute(
            update(Message)
            .where(Message.tenant_id == tenant_id, Message.id == message_id, Message.direction == "outbound")
            .where(or_(*claimable))
            .values(status=SENDING, claimed_at=now)
            .returning(Message.id)
        )
    ).first()
    return now if won is not None else None


async def stale_claims(
    session: AsyncSession, now: datetime, limit: int = 500
) -> Sequence[Row[int, str, str, int]]:
    """Replies claimed longer ago than :data:`SENDING_CLAIM_TIMEOUT_SECONDS` and still ``sending``, every
    tenant's (operator-wide: ids only, no content): (tenant id, page id, buyer PSID, message id), oldest
    claim first. Served by the partial index on ``sending`` rows."""
    stale_before = now - timedelta(seconds=SENDING_CLAIM_TIMEOUT_SECONDS)
    return (
        await session.execute(
            select(Message.tenant_id, MessengerTenant.page_id, Conversation.buyer_psid, Message.id)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .join(MessengerTenant, MessengerTenant.id == Message.tenant_id)
            .where(Message.status == SENDING, Message.claimed_at < stale_before)
            .order_by(Message.claimed_at, Message.id)
            .limit(limit)
        )
    ).all()


async def give_back(session: AsyncSession, tenant_id: int, message_id: int, ours: datetime) -> bool:
    """Return the caller's claim ``ours`` when nothing was sent under it: ``sending`` → ``pending``."""
    returned = (
        await session.execute(
            update(Message)
            .where(Message.tenant_id == tenant_id, Message.id == message_id)
            .where(Message.status == SENDING, Message.claimed_at == ours)
            .values(status="pending")
            .returning(Message.id)
        )
    ).first()
    return returned is not None


async def note_unconfirmed(
    session: AsyncSession, tenant_id: int, message_id: int, ours: datetime, reason: str
) -> None:
    """Say why a reply stays claimed (its send's answer was lost), while the claim is still ``ours``."""
    await session.execute(
        update(Message)
        .where(Message.tenant_id == tenant_id, Message.id == message_id)
        .where(Message.status == SENDING, Message.claimed_at == ours)
        .values(status_reason=reason)
    )


async def record_sent(
    session: AsyncSession, tenant_id: int, message_id: int, mid: str | None, now: datetime
) -> datetime | None:
    """Mark an outbound message sent (claimed, or still claimable: unless an echo or receipt got there
    first) and, for the bot's
    messages, the conversation's last bot message time. Returns when the buyer last wrote (for the reply
    latency metric) when the bot's message was marked now, else ``None``. Two statements, no reads."""
    marked = (
        await session.execute(
            update(Message)
            .where(Message.tenant_id == tenant_id, Message.id == message_id, Message.status.in_(UNRESOLVED))
            .values(status="sent", status_reason=None, mid=mid)
            .returning(Message.conversation_id, Message.author)
        )
    ).first()
    if marked is None:
        if mid:
            # Reconciled by its echo before we got here: keep its status, only fill in the mid.
            await session.execute(
                update(Message)
                .where(Message.tenant_id == tenant_id, Message.id == message_id, Message.mid.is_(None))
                .values(mid=mid)
            )
        return None
    if marked.author != "bot":
        return None
    last_buyer = (
        await session.execute(
            update(Conversation)
            .where(Conversation.tenant_id == tenant_id, Conversation.id == marked.conversation_id)
            .values(last_bot_message_at=now)
            .returning(Conversation.last_buyer_message_at)
        )
    ).scalar_one_or_none()
    return last_buyer


# record_sent and the live event of the send as one statement, in autocommit (PostgreSQL): one round trip
# instead of BEGIN, two UPDATEs, the event and COMMIT. A statement is atomic on its own. ``filled`` runs
# only when ``marked`` changed nothing (an echo reconciled the message first), so no row is updated twice.
_UNRESOLVED_SQL = ", ".join(f"'{status}'" for status in UNRESOLVED)
_RECORD_SENT_PG = text(
    f"""
WITH marked AS (
    UPDATE messenger_messages
       SET status = 'sent', status_reason = NULL, mid = CAST(:mid AS varchar), updated_at = :stamp
     WHERE tenant_id = :tenant_id AND id = :message_id AND status IN ({_UNRESOLVED_SQL})
    RETURNING conversation_id, author
),
filled AS (
    UPDATE messenger_messages SET mid = CAST(:mid AS varchar), updated_at = :stamp
     WHERE tenant_id = :tenant_id AND id = :message_id AND mid IS NULL AND CAST(:mid AS varchar) IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM marked)
    RETURNING 1
),
conversation AS (
    UPDATE messenger_conversations c SET last_bot_message_at = :now, updated_at = :stamp
      FROM marked
     WHERE c.tenant_id = :tenant_id AND c.id = marked.conversation_id AND marked.author = 'bot'
    RETURNING c.last_buyer_message_at
),
announced AS (
    SELECT pg_notify(:channel, json_build_object('seller_id', t.seller_id, 'kind', 'message',
                     'conversation_id', NULL, 'message_id', CAST(:message_id AS int))::text)
      FROM messenger_tenants t WHERE t.id = :tenant_id AND t.seller_id IS NOT NULL
)
SELECT (SELECT count(*) FROM announced) AS announced, (SELECT count(*) FROM filled) AS filled,
       EXISTS (SELECT 1 FROM conversation) AS bot,
       (SELECT last_buyer_message_at FROM conversation) AS last_buyer
"""
).columns(last_buyer=UTCDateTime())


async def record_sent_and_announce(
    session: AsyncSession, tenant_id: int, message_id: int, mid: str | None, now: datetime, channel: str
) -> datetime | None:
    """:func:`record_sent` plus the message's live event on ``channel``, as one PostgreSQL statement; the
    session's connection must be in autocommit (the caller's). Same result as :func:`record_sent`."""
    row = (
        await session.execute(
            _RECORD_SENT_PG,
            {
                "tenant_id": tenant_id,
                "message_id": message_id,
                "mid": mid,
                "now": now,
                "stamp": utcnow(),
                "channel": channel,
            },
        )
    ).one()
    return row.last_buyer if row.bot else None


async def tenant(session: AsyncSession, tenant_id: int) -> MessengerTenant | None:
    """The tenant row by primary key."""
    return await session.get(MessengerTenant, tenant_id)


async def tenant_by_page_for_update(session: AsyncSession, page_id: str) -> MessengerTenant | None:
    """The tenant serving ``page_id``, locked for the status change the caller makes."""
    return (
        await session.execute(
            select(MessengerTenant).where(MessengerTenant.page_id == page_id).with_for_update()
        )
    ).scalar_one_or_none()


async def sending_control(session: AsyncSession, *, for_update: bool = False) -> SendingControl | None:
    """The kill switch row (one primary-key read), locked when the caller changes it."""
    return await session.get(SendingControl, GLOBAL_SENDING_SCOPE, with_for_update=for_update or None)


def new_sending_control(session: AsyncSession) -> SendingControl:
    """Create the kill switch row (first halt on a fresh database)."""
    control = SendingControl(scope=GLOBAL_SENDING_SCOPE)
    session.add(control)
    return control


async def tenants_holding_replies(session: AsyncSession) -> list[int]:
    """Active Pages holding replies (the partial index answers this). Operator-wide ids only."""
    tenants = (
        await session.execute(
            select(Message.tenant_id)
            .join(MessengerTenant, MessengerTenant.id == Message.tenant_id)
            .where(Message.status == HELD, MessengerTenant.status == "active")
            .distinct()
            .order_by(Message.tenant_id)
        )
    ).scalars()
    return list(tenants)


async def held_replies(session: AsyncSession, tenant_id: int) -> Sequence[Row[int, int, str]]:
    """One Page's held replies (id, conversation id, buyer psid), in order."""
    return (
        await session.execute(
            tenant_select(Message, tenant_id)
            .with_only_columns(Message.id, Message.conversation_id, Conversation.buyer_psid)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Message.status == HELD)
            .order_by(Message.id)
        )
    ).all()


async def set_status(session: AsyncSession, tenant_id: int, ids: list[int], status: str, reason: str) -> None:
    """Set the status of these messages of one tenant."""
    await session.execute(
        update(Message)
        .where(Message.tenant_id == tenant_id, Message.id.in_(ids))
        .values(status=status, status_reason=reason)
    )


async def page_id_of(session: AsyncSession, tenant_id: int) -> str:
    """The Page id of a tenant."""
    return (
        await session.execute(select(MessengerTenant.page_id).where(MessengerTenant.id == tenant_id))
    ).scalar_one()


async def pages_not_sending(session: AsyncSession) -> list[tuple[str, str, str | None]]:
    """Every Page that is not active: (page id, status, reason), by page id."""
    rows = (
        await session.execute(
            select(MessengerTenant.page_id, MessengerTenant.status, MessengerTenant.status_reason)
            .where(MessengerTenant.status != "active")
            .order_by(MessengerTenant.page_id)
        )
    ).all()
    return [(row[0], row[1], row[2]) for row in rows]


async def held_count(session: AsyncSession) -> int:
    """How many replies are held, operator-wide (no tenant's content is read; the partial index answers)."""
    held = (
        await session.execute(select(func.count()).select_from(Message).where(Message.status == HELD))
    ).scalar_one()
    return int(held)


async def rate_limited_replies(session: AsyncSession, tenant_id: int) -> Sequence[Row[int, object]]:
    """One Page's replies held by its rate limit: (id, payload); the caller orders them."""
    return (
        await session.execute(
            tenant_select(Message, tenant_id)
            .with_only_columns(Message.id, Message.payload)
            .where(Message.status == HELD, Message.status_reason == RATE_LIMIT_HOLD)
        )
    ).all()


async def holds_rate_limited(session: AsyncSession, tenant_id: int) -> bool:
    """Whether this Page holds replies for its rate limit (the partial index on held answers)."""
    found = (
        await session.execute(
            tenant_select(Message, tenant_id)
            .with_only_columns(Message.id)
            .where(Message.status == HELD, Message.status_reason == RATE_LIMIT_HOLD)
            .limit(1)
        )
    ).first()
    return found is not None


async def requeue_rate_limited(session: AsyncSession, tenant_id: int, message_id: int) -> bool:
    """Make a reply held by the rate limit sendable again; ``False`` when it no longer is held so."""
    changed = (
        await session.execute(
            update(Message)
            .where(
                Message.tenant_id == tenant_id,
                Message.id == message_id,
                Message.status == HELD,
                Message.status_reason == RATE_LIMIT_HOLD,
            )
            .values(status="queued", status_reason="released by the rate limit")
            .returning(Message.id)
        )
    ).first()
    return changed is not None

