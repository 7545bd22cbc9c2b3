"""Helpers that build valid objects in one call: a seeded runtime, webhook bodies, signed posts."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from accorria_agent.app import create_app
from accorria_agent.conversations.composer import ReplyComposer
from accorria_agent.db.engine import transaction
from accorria_agent.messenger.signature import sign
from accorria_agent.runtime import Runtime, build_runtime
from accorria_agent.sellers import service as sellers
from accorria_agent.sellers.schemas import DEMO_LISTING, ListingSpec
from accorria_agent.settings import Settings

PAGE_ID = "100200300"
PAGE_TOKEN = "page-token-abc"
_mids = itertools.count(1)


@dataclass
class Harness:
    runtime: Runtime
    client: httpx.AsyncClient
    page_id: str
    listing_id: int
    tenant_id: int

    async def post_signed(self, body: dict[str, Any] | bytes, secret: str | None = None) -> httpx.Response:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        signature = sign(raw, secret or self.runtime.settings.facebook_app_secret.get_secret_value())
        return await self.client.post(
            "/webhook",
            content=raw,
            headers={"X-Hub-Signature-256": signature, "Content-Type": "application/json"},
        )

    async def idle(self) -> None:
        queue: Any = self.runtime.queue  # embedded or procrastinate: both offer wait_idle
        await queue.wait_idle()


async def seed(
    runtime: Runtime, page_id: str = PAGE_ID, listing: dict[str, Any] | None = None
) -> tuple[int, int]:
    """A seller with one connected Page and one listing; returns (tenant_id, listing_id)."""
    async with transaction(runtime.session_factory) as session:
        seller = await sellers.create_seller(session, "Test Seller", f"seller-{page_id}@example.com")
        tenant = await sellers.connect_page(
            session,
            runtime.cipher,
            seller,
            page_id=page_id,
            page_name="Test Cars",
            page_access_token=PAGE_TOKEN,
        )
        spec = ListingSpec.model_validate(listing or DEMO_LISTING)
        row = await sellers.add_listing(session, seller, tenant, spec)
        return tenant.id, row.id


@asynccontextmanager
async def harness(
    settings: Settings,
    graph_transport: httpx.AsyncBaseTransport,
    composer: ReplyComposer | None = None,
    **runtime_kwargs: Any,
) -> AsyncIterator[Harness]:
    """A started runtime with a seeded seller, and an HTTP client on its app."""
    runtime = build_runtime(settings, graph_transport=graph_transport, composer=composer, **runtime_kwargs)
    app = create_app(runtime, manage_runtime=False)
    await runtime.start()
    try:
        tenant_id, listing_id = await seed(runtime)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://agent.test"
        ) as client:
            yield Harness(runtime, client, PAGE_ID, listing_id, tenant_id)
    finally:
        await runtime.stop()


def text_event(
    psid: str,
    text: str,
    *,
    page_id: str = PAGE_ID,
    mid: str | None = None,
    ts: int | None = None,
    quick_reply: str | None = None,
) -> dict[str, Any]:
    message: dict[str, Any] = {"mid": mid or f"m_{next(_mids)}_{psid}", "text": text}
    if quick_reply:
        message["quick_reply"] = {"payload": quick_reply}
    return {
        "sender": {"id": psid},
        "recipient": {"id": page_id},
        "timestamp": ts if ts is not None else int(time.time() * 1000),
        "message": message,
    }


def delivery(*events: dict[str, Any], page_id: str = PAGE_ID) -> dict[str, Any]:
    """A webhook body with one entry holding ``events``."""
    return {
        "object": "page",
        "entry": [{"id": page_id, "time": int(time.time() * 1000), "messaging": list(events)}],
    }
