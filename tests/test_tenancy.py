"""Each seller sees only their own data: every tenant-data query goes through ``tenant_select``."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from accorria_agent.conversations import repository as repo
from accorria_agent.conversations.models import Conversation, Message
from accorria_agent.db.tenancy import tenant_select
from accorria_agent.sellers.models import MessengerTenant, Seller
from accorria_agent.settings import Settings
from tests.fakes.graph import FakeGraph
from tests.helpers import PAGE_TOKEN, delivery, harness, seed, text_event


async def test_another_sellers_ids_read_nothing(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    graph = FakeGraph()
    async with harness(make_settings(DATABASE_URL=database_url), graph.transport) as h:
        other_tenant, _ = await seed(h.runtime, page_id="555000")
        await h.post_signed(delivery(text_event("111", "hi from A")))
        await h.post_signed(delivery(text_event("222", "hi from B", page_id="555000"), page_id="555000"))
        await h.idle()
        async with h.runtime.session_factory() as session:
            conv_a = await repo.conversation_for(session, h.tenant_id, "111")
            conv_b = await repo.conversation_for(session, other_tenant, "222")
            assert conv_a is not None and conv_b is not None
            # Tenant A asking for B's conversation and messages by id gets nothing.
            assert await repo.conversation_by_id(session, h.tenant_id, conv_b.id) is None
            assert await repo.conversation_for(session, h.tenant_id, "222") is None
            leaked = (
                (
                    await session.execute(
                        tenant_select(Message, h.tenant_id).where(Message.conversation_id == conv_b.id)
                    )
                )
                .scalars()
                .all()
            )
            assert leaked == []
            own = (await session.execute(tenant_select(Message, h.tenant_id))).scalars().all()
            assert own and all(m.tenant_id == h.tenant_id for m in own)
            # Each Page got its own reply.
        assert len(graph.messages("111")) == 1
        assert len(graph.messages("222")) == 1


def test_tenant_select_refuses_models_without_tenant() -> None:
    with pytest.raises(TypeError):
        tenant_select(Seller, 1)
    with pytest.raises(TypeError):
        tenant_select(Conversation, "1")  # type: ignore[arg-type]


async def test_page_tokens_are_stored_encrypted(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    async with harness(make_settings(DATABASE_URL=database_url), FakeGraph().transport) as h:
        async with h.runtime.session_factory() as session:
            stored = (
                (await session.execute(select(MessengerTenant.page_access_token_encrypted))).scalars().all()
            )
        assert stored and all(PAGE_TOKEN not in value for value in stored)
        assert h.runtime.cipher.decrypt(stored[0]) == PAGE_TOKEN
