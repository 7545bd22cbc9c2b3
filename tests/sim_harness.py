"""The agent and the Messenger simulator in one in-process ASGI app (what ``demo`` runs, minus uvicorn).

The agent's Graph calls and the simulator's webhooks both go through ``httpx.ASGITransport``; the
agent's clock is the simulator's, so advancing the simulator's clock moves the 24-hour window too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from accorria_agent.app import create_app
from accorria_agent.conversations.models import Conversation, Message
from accorria_agent.runtime import Runtime, build_runtime
from accorria_agent.settings import Settings
from accorria_agent.simulator import Simulator, SimulatorConfig
from accorria_agent.simulator.escrow import EscrowStandIn
from tests.helpers import PAGE_ID, PAGE_TOKEN, seed

BASE = "http://agent.test"
ESCROW_SECRET = "test-escrow-webhook-secret"
ESCROW_API_KEY = "test-escrow-api-key"


class _LazyApp:
    """An ASGI app that forwards to one set later (the runtime needs a transport before the app exists)."""

    app: FastAPI | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert self.app is not None
        await self.app(scope, receive, send)


@dataclass
class SimHarness:
    runtime: Runtime
    sim: Simulator
    client: httpx.AsyncClient
    listing_id: int
    tenant_id: int
    escrow: EscrowStandIn

    async def settle(self) -> None:
        """Wait until every webhook, job and echo has been handled."""
        queue: Any = self.runtime.queue  # embedded or procrastinate: both offer wait_idle
        for _ in range(3):
            await self.sim.drain()
            await queue.wait_idle()

    async def say(self, psid: str, text: str | None = None, **kwargs: Any) -> int:
        status = await self.sim.send_buyer_message(psid, text, **kwargs)
        await self.settle()
        return status

    def sent_texts(self, psid: str) -> list[str]:
        """Texts of the agent's successful Send API message calls to ``psid``, oldest first."""
        out = []
        for entry in self.sim.state.sent:
            if entry.recipient == psid and entry.status == 200 and entry.message and "text" in entry.message:
                out.append(str(entry.message["text"]))
        return out

    def sent_entries(self, psid: str) -> list[Any]:
        return [e for e in self.sim.state.sent if e.recipient == psid]

    async def conversation(self, psid: str) -> Conversation:
        async with self.runtime.session_factory() as session:
            row = (
                await session.execute(select(Conversation).where(Conversation.buyer_psid == psid))
            ).scalar_one()
            return row

    async def messages(self, psid: str) -> list[Message]:
        conversation = await self.conversation(psid)
        async with self.runtime.session_factory() as session:
            rows = await session.execute(
                select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id)
            )
            return list(rows.scalars())


@asynccontextmanager
async def sim_harness(
    make_settings: Callable[..., Settings],
    database_url: str,
    listing: dict[str, Any] | None = None,
    **overrides: Any,
) -> AsyncIterator[SimHarness]:
    lazy = _LazyApp()
    transport = httpx.ASGITransport(app=lazy)
    escrow_settings = {
        "ACCORRIA_API_URL": f"{BASE}/simulator/escrow",
        "ACCORRIA_API_KEY": ESCROW_API_KEY,
        "ACCORRIA_WEBHOOK_SECRET": ESCROW_SECRET,
        "ESCROW_RETRY_BASE_SECONDS": 0.0,
    }
    settings = make_settings(
        DATABASE_URL=database_url, FACEBOOK_GRAPH_URL=f"{BASE}/graph", **{**escrow_settings, **overrides}
    )
    holder: list[Simulator] = []

    def clock() -> datetime:
        return holder[0].state.now() if holder else datetime.now().astimezone()

    runtime = build_runtime(settings, graph_transport=transport, clock=clock)
    app = create_app(runtime, manage_runtime=False)
    lazy.app = app
    await runtime.start()
    tenant_id, listing_id = await seed(runtime, listing=listing)
    sim = Simulator(
        SimulatorConfig(
            app_id=settings.facebook_app_id,
            app_secret=settings.facebook_app_secret.get_secret_value(),
            page_id=PAGE_ID,
            page_name="Test Cars",
            page_access_token=PAGE_TOKEN,
            listing_id=listing_id,
            webhook_url=f"{BASE}/webhook",
            graph_version=settings.facebook_graph_version,
        ),
        httpx.AsyncClient(transport=transport, base_url=BASE),
    )
    holder.append(sim)
    app.include_router(sim.graph_router, prefix="/graph")
    app.include_router(sim.ui_router, prefix="/simulator")
    escrow = EscrowStandIn(
        public_base=BASE,
        webhook_url=f"{BASE}/escrow/webhook",
        webhook_secret=settings.accorria_webhook_secret.get_secret_value(),
        deliver_client=httpx.AsyncClient(transport=transport, base_url=BASE),
        clock=clock,
        api_key=settings.accorria_api_key.get_secret_value(),
    )
    app.include_router(escrow.router, prefix="/simulator")
    try:
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            yield SimHarness(runtime, sim, client, listing_id, tenant_id, escrow)
    finally:
        await escrow.aclose()
        await sim.aclose()
        await runtime.stop()
