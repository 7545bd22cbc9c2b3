"""All SQL of notification delivery (scoped by seller id)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.notifications.models import (
    NotificationDelivery,
    NotificationDispatchState,
    NotificationPreference,
    NotificationWebhook,
)
from accorria_agent.sellers.models import MessengerTenant, Seller
from accorria_agent.sellers.notifications import SellerNotification

DISPATCH_BATCH = 500


async def preference(session: AsyncSession, seller_id: int, member_id: int) -> NotificationPreference | None:
    found = await session.execute(
        select(NotificationPreference).where(
            NotificationPreference.seller_id == seller_id, NotificationPreference.member_id == member_id
        )
    )
    return found.scalar_one_or_none()


async def webhook(session: AsyncSession, seller_id: int) -> NotificationWebhook | None:
    found = await session.execute(
        select(NotificationWebhook).where(NotificationWebhook.seller_id == seller_id)
    )
    return found.scalar_one_or_none()


async def locked_dispatch_state(session: AsyncSession) -> NotificationDispatchState:
    """The watermark row, locked so that one dispatcher at a time turns notifications into deliveries.

    The first pass on a new database creates the row. Two workers starting together both find none (the
    other's row is not committed yet), so it is created with ``INSERT … ON CONFLICT DO NOTHING``: the
    second waits for the first's transaction, inserts nothing, then locks the row the first committed
    and goes on from its watermark (a plain insert failed there on the primary key).
    """
    state = await session.get(NotificationDispatchState, 1, with_for_update=True)
    if state is None:
        insert_ = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        await session.execute(
            insert_(NotificationDispatchState)
            .values(id=1, last_notification_id=0)
            .on_conflict_do_nothing(index_elements=["id"])
        )
        state = await session.get_one(
            NotificationDispatchState, 1, with_for_update=True, populate_existing=True
        )
    return state


async def notifications_after(session: AsyncSession, last_id: int) -> list[tuple[SellerNotification, Seller]]:
    rows = await session.execute(
        select(SellerNotification, Seller)
        .join(MessengerTenant, MessengerTenant.id == SellerNotification.tenant_id)
        .join(Seller, Seller.id == MessengerTenant.seller_id)
        .where(SellerNotification.id > last_id)
        .order_by(SellerNotification.id)
        .limit(DISPATCH_BATCH)
    )
    return [(row[0], row[1]) for row in rows.all()]


async def delivery_exists(session: AsyncSession, key: str) -> bool:
    found = await session.execute(
        select(NotificationDelivery.id).where(NotificationDelivery.idempotency_key == key)
    )
    return found.first() is not None


async def legacy_digest_sent(session: AsyncSession, legacy_key: str, *, recipient: str) -> bool:
    """Whether a digest keyed the old way (``legacy_key``: no member in it) went to ``recipient``."""
    found = await session.execute(
        select(NotificationDelivery.id).where(
            NotificationDelivery.idempotency_key == legacy_key, NotificationDelivery.recipient == recipient
        )
    )
    return found.first() is not None


async def claim_digest(
    session: AsyncSession, *, seller_id: int, recipient: str, key: str, now: datetime, until: datetime
) -> tuple[int, int] | None:
    """Claim the digest ``key`` for one send: the write only one worker can win.

    Returns the row's id and its attempts (this one included), or None when the caller must not send it.

    A new key is inserted as ``sending`` until ``until`` (``INSERT … ON CONFLICT DO NOTHING``: on
    PostgreSQL a second claimer of the same key waits for the first's commit, then inserts nothing; SQLite
    serialises writers). A ``sending`` row whose ``next_attempt_at`` has passed is taken over: its worker
    died (or gave up recording) past the claim timeout, or its last send failed and its backoff is over.
    Anything else (``sent``, ``failed``, a live claim) is not the caller's to send.
    """
    insert_ = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    inserted = (
        await session.execute(
            insert_(NotificationDelivery)
            .values(
                seller_id=seller_id,
                channel="digest",
                recipient=recipient,
                idempotency_key=key,
                status="sending",
                attempts=1,
                next_attempt_at=until,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(NotificationDelivery.id, NotificationDelivery.attempts)
        )
    ).first()
    if inserted is not None:
        return inserted[0], inserted[1]
    # On PostgreSQL the WHERE is checked again after a concurrent taker's commit: one of them wins.
    taken = (
        await session.execute(
            update(NotificationDelivery)
            .where(
                NotificationDelivery.idempotency_key == key,
                NotificationDelivery.status == "sending",
                NotificationDelivery.next_attempt_at <= now,
            )
            .values(attempts=NotificationDelivery.attempts + 1, next_attempt_at=until, recipient=recipient)
            .returning(NotificationDelivery.id, NotificationDelivery.attempts)
        )
    ).first()
    return (taken[0], taken[1]) if taken is not None else None


async def delivery_status(session: AsyncSession, key: str) -> str | None:
    """The status of the delivery ``key``, or None when there is none."""
    found = await session.execute(
        select(NotificationDelivery.status).where(NotificationDelivery.idempotency_key == key)
    )
    return found.scalar_one_or_none()


async def abandon_earlier_digest_claims(
    session: AsyncSession, *, seller_id: int, member_id: int, key: str, now: datetime
) -> None:
    """Close the member's due ``sending`` digests of earlier days as ``failed``: what they held still waits
    (it was never marked digested) and goes in the digest ``key`` being claimed now."""
    await session.execute(
        update(NotificationDelivery)
        .where(
            NotificationDelivery.channel == "digest",
            NotificationDelivery.seller_id == seller_id,
            NotificationDelivery.idempotency_key.like(f"digest:{seller_id}:{member_id}:%"),
            NotificationDelivery.idempotency_key != key,
            NotificationDelivery.status == "sending",
            NotificationDelivery.next_attempt_at <= now,
        )
        .values(status="failed", last_error="claim went stale; its notifications went in a later digest")
    )


async def mark_digest_sent(session: AsyncSession, digest_id: int, item_ids: list[int], now: datetime) -> None:
    """Record the claimed digest ``digest_id`` as sent, and the waiting deliveries it carried as digested.

    Only items still waiting are marked (a concurrent pass never marks them, but a stale claim taken over
    may have carried them already).
    """
    await session.execute(
        update(NotificationDelivery)
        .where(NotificationDelivery.id == digest_id, NotificationDelivery.status == "sending")
        .values(status="sent", delivered_at=now, next_attempt_at=None, last_error=None)
    )
    await session.execute(
        update(NotificationDelivery)
        .where(NotificationDelivery.id.in_(item_ids), NotificationDelivery.status == "digest")
        .values(status="digested", delivered_at=now)
    )


async def digest_send_failed(
    session: AsyncSession, digest_id: int, *, error: str, retry_at: datetime | None
) -> None:
    """Give the claim back after the mailer refused: retried from ``retry_at``, or ``failed`` without one."""
    values: dict[str, object] = {"last_error": error[:500]}
    if retry_at is None:
        values["status"] = "failed"
    else:
        values["next_attempt_at"] = retry_at
    await session.execute(
        update(NotificationDelivery)
        .where(NotificationDelivery.id == digest_id, NotificationDelivery.status == "sending")
        .values(**values)
    )


async def due_deliveries(session: AsyncSession, now: datetime, limit: int) -> list[NotificationDelivery]:
    rows = await session.execute(
        select(NotificationDelivery)
        .where(
            NotificationDelivery.status == "pending",
            or_(NotificationDelivery.next_attempt_at.is_(None), NotificationDelivery.next_attempt_at <= now),
        )
        .order_by(NotificationDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows.scalars())


async def digest_waiting(session: AsyncSession) -> list[tuple[NotificationDelivery, SellerNotification]]:
    """Every delivery waiting for its member's digest, unlocked: the digest's claim (:func:`claim_digest`)
    is what keeps two workers from mailing one member, not a lock on what it carries."""
    rows = await session.execute(
        select(NotificationDelivery, SellerNotification)
        .join(SellerNotification, SellerNotification.id == NotificationDelivery.notification_id)
        .where(NotificationDelivery.status == "digest")
        .order_by(NotificationDelivery.seller_id, NotificationDelivery.recipient, NotificationDelivery.id)
    )
    return [(row[0], row[1]) for row in rows.all()]


async def notification(session: AsyncSession, notification_id: int) -> SellerNotification | None:
    return await session.get(SellerNotification, notification_id)
