"""All SQL of notification delivery (scoped by seller id)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select
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


async def digest_sent(session: AsyncSession, key: str, *, legacy_key: str, recipient: str) -> bool:
    """Whether the digest ``key`` went, or one keyed the old way (``legacy_key``) went to ``recipient``."""
    found = await session.execute(
        select(NotificationDelivery.id).where(
            or_(
                NotificationDelivery.idempotency_key == key,
                and_(
                    NotificationDelivery.idempotency_key == legacy_key,
                    NotificationDelivery.recipient == recipient,
                ),
            )
        )
    )
    return found.first() is not None


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
    rows = await session.execute(
        select(NotificationDelivery, SellerNotification)
        .join(SellerNotification, SellerNotification.id == NotificationDelivery.notification_id)
        .where(NotificationDelivery.status == "digest")
        .order_by(NotificationDelivery.seller_id, NotificationDelivery.recipient, NotificationDelivery.id)
        .with_for_update(of=NotificationDelivery, skip_locked=True)
    )
    return [(row[0], row[1]) for row in rows.all()]


async def notification(session: AsyncSession, notification_id: int) -> SellerNotification | None:
    return await session.get(SellerNotification, notification_id)
