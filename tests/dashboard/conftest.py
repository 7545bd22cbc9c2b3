"""Helpers for dashboard tests: tokens for a harness seller, a second seller with their own data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from accorria_agent.conversations import repository as repo
from accorria_agent.conversations.models import Message
from accorria_agent.dashboard.auth import issue_seller_token
from accorria_agent.db.engine import transaction
from accorria_agent.sellers.models import MessengerTenant
from accorria_agent.sellers.notifications import notify_seller
from tests.e2e.conftest import browser_page, demo_server  # noqa: F401 - fixtures for the browser test
from tests.helpers import seed
from tests.sim_harness import SimHarness

OTHER_PAGE_ID = "900800700"


async def seller_of(h: SimHarness, tenant_id: int) -> int:
    async with h.runtime.session_factory() as session:
        seller_id = (
            await session.execute(select(MessengerTenant.seller_id).where(MessengerTenant.id == tenant_id))
        ).scalar_one()
        return int(seller_id)


async def auth_for_tenant(h: SimHarness, tenant_id: int) -> dict[str, str]:
    """The Authorization header of the seller who owns ``tenant_id``."""
    token = issue_seller_token(h.runtime.settings, await seller_of(h, tenant_id), timedelta(hours=1))
    return {"Authorization": f"Bearer {token}"}


@dataclass
class OtherSeller:
    tenant_id: int
    conversation_id: int
    message_id: int
    notification_id: int
    headers: dict[str, str]
    listing_id: int = 0


async def other_seller(h: SimHarness) -> OtherSeller:
    """Seller B: a second seller with their own Page, a buyer conversation, a message and a notification."""
    tenant_id, listing_id = await seed(h.runtime, page_id=OTHER_PAGE_ID)
    async with transaction(h.runtime.session_factory) as session:
        conversation = await repo.get_or_create_conversation(session, tenant_id, "7007")
        conversation.last_buyer_message_at = h.runtime.clock()
        message = Message(
            tenant_id=tenant_id,
            conversation_id=conversation.id,
            direction="inbound",
            author="buyer",
            mid="m_other_1",
            text="B's private buyer message",
            payload={},
            sent_at=h.runtime.clock(),
            status="received",
        )
        session.add(message)
        note = await notify_seller(session, tenant_id, conversation.id, "handoff", "B's notification")
        await session.flush()
        ids = (conversation.id, message.id, note.id)
    return OtherSeller(tenant_id, *ids, headers=await auth_for_tenant(h, tenant_id), listing_id=listing_id)
