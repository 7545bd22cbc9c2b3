"""The store ``bench dashboard`` reads: sellers with many conversations, one long thread each.

Each seller gets one Page (created through the sellers service, so the agent can answer on it), one
listing and an owner member; then its conversations, messages and notifications are written as multi-row
INSERTs with explicit ids (children point at parents without reading them back). Shapes are the same
for every size: 10 messages per conversation on average, one conversation holding the long thread and
being the most recently active, some handed off or paused, some with an agreed price, unread
notifications on a few.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from rich.console import Console
from sqlalchemy import insert

from accorria_agent.accounts.models import Member, Membership
from accorria_agent.bench.harness import finish_bulk_load
from accorria_agent.conversations.models import Conversation, Message
from accorria_agent.crypto import TokenCipher
from accorria_agent.db.base import utcnow
from accorria_agent.db.engine import create_engine, create_session_factory, transaction
from accorria_agent.sellers import service as sellers
from accorria_agent.sellers.notifications import SellerNotification
from accorria_agent.sellers.schemas import DEMO_LISTING, ListingSpec

CHUNK = 5_000
MESSAGES_PER_CONVERSATION = 10
BUYER_TEXTS = (
    "is it still available?",
    "would you take 9k?",
    "can I see it saturday?",
    "any accidents?",
    "what's the mileage?",
)
BOT_TEXTS = ("Yes, it is still available.", "I can do $17,900.", "Saturday at 10 works.", "Clean title.")


@dataclass(frozen=True)
class SeededSeller:
    """What the benchmark needs to know of one seeded seller."""

    seller_id: int
    page_id: str
    conversations: int
    messages: int
    thread_id: int
    thread_messages: int
    # Buyer PSIDs of existing conversations (the webhook's new messages go to them).
    psids: tuple[str, ...]


class _Ids:
    def __init__(self, start: dict[str, int]) -> None:
        self.next = dict(start)

    def take(self, table: str) -> int:
        value = self.next.get(table, 1)
        self.next[table] = value + 1
        return value


def _rows(
    ids: _Ids,
    rng: random.Random,
    *,
    tenant_id: int,
    listing_id: int,
    indexes: range,
    conversations: int,
    thread_messages: int,
    now: datetime,
) -> tuple[dict[Any, list[dict[str, Any]]], list[int], list[str]]:
    """Rows of conversations ``indexes`` of ``conversations``; index 0 holds the long thread."""
    others = max(1, conversations - 1)
    total = MESSAGES_PER_CONVERSATION * conversations - thread_messages
    per, extra = divmod(max(0, total), others)
    rows: dict[Any, list[dict[str, Any]]] = {Conversation: [], Message: [], SellerNotification: []}
    conversation_ids, psids = [], []
    for index in indexes:
        conversation_id = ids.take("messenger_conversations")
        count = thread_messages if index == 0 else per + (1 if index <= extra else 0)
        # Index 0 is the most recent; the others spread over 30 days, newest first.
        last = now - timedelta(seconds=index * 30 * 86400 / conversations + (0 if index == 0 else 1))
        at = last - timedelta(seconds=60 * count)
        roll = rng.random()
        mode = "handed_off" if roll < 0.05 else "paused" if roll < 0.08 else "bot"
        agreed = {"agreed_price": "17500", "buyer_offers": ["16000"]} if rng.random() < 0.1 else {}
        psid = f"88{tenant_id:04d}{index:08d}"
        rows[Conversation].append(
            {
                "id": conversation_id,
                "tenant_id": tenant_id,
                "buyer_psid": psid,
                "buyer_name": f"Buyer {index}",
                "listing_id": listing_id,
                "mode": mode,
                "paused_reason": "buyer asked for the seller" if mode != "bot" else None,
                "negotiation_state": agreed,
                "last_buyer_message_at": last,
                "disclosed_at": at,
                "created_at": at,
                "updated_at": last,
            }
        )
        for number in range(count):
            message_id = ids.take("messenger_messages")
            inbound = number % 2 == 0
            sent = at + timedelta(seconds=60 * number)
            rows[Message].append(
                {
                    "id": message_id,
                    "tenant_id": tenant_id,
                    "conversation_id": conversation_id,
                    "direction": "inbound" if inbound else "outbound",
                    "author": "buyer" if inbound else "bot",
                    "mid": f"m{message_id}" if inbound else None,
                    "outbound_key": None if inbound else f"k{message_id}",
                    "text": rng.choice(BUYER_TEXTS if inbound else BOT_TEXTS),
                    "payload": {},
                    "status": "received" if inbound else "sent",
                    "messaging_type": None if inbound else "RESPONSE",
                    "sent_at": sent,
                    "created_at": sent,
                    "updated_at": sent,
                }
            )
        if mode != "bot" or rng.random() < 0.02:
            rows[SellerNotification].append(
                {
                    "id": ids.take("seller_notifications"),
                    "tenant_id": tenant_id,
                    "conversation_id": conversation_id,
                    "kind": "handoff",
                    "text": "The buyer asked for you.",
                    "created_at": last,
                    "read_at": None if rng.random() < 0.5 else last,
                }
            )
        conversation_ids.append(conversation_id)
        psids.append(psid)
    return rows, conversation_ids, psids


async def seed_sellers(
    url: str, encryption_key: str, sizes: list[tuple[int, int]], console: Console
) -> list[SeededSeller]:
    """One seller per ``(conversations, thread_messages)``; then ids' sequences moved past, ANALYZE."""
    engine = create_engine(url)
    factory = create_session_factory(engine)
    cipher = TokenCipher(encryption_key)
    ids = _Ids({})
    rng = random.Random(12)
    now = utcnow()
    out: list[SeededSeller] = []
    try:
        for number, (conversations, thread_messages) in enumerate(sizes):
            started = time.perf_counter()
            page_id = f"7700{number:05d}"
            async with transaction(factory) as session:
                seller = await sellers.create_seller(session, f"Dashboard bench {number}", timezone="UTC")
                tenant = await sellers.connect_page(
                    session,
                    cipher,
                    seller,
                    page_id=page_id,
                    page_name=f"Bench Page {number}",
                    page_access_token="bench-token",
                    human_like_delays=False,
                    rate_limits=(10**9, 10**9, 10**9),
                )
                listing = await sellers.add_listing(
                    session, seller, tenant, ListingSpec.model_validate(DEMO_LISTING)
                )
                person = Member(
                    email=f"owner{number}@bench.invalid", name=f"Owner {number}", password_hash="x"
                )
                session.add(person)
                await session.flush()
                session.add(Membership(seller_id=seller.id, member_id=person.id, role="owner"))
                seller_id, tenant_id, listing_id = seller.id, tenant.id, listing.id
            messages, all_psids, thread_id = 0, [], 0
            for start in range(0, conversations, CHUNK):
                rows, conversation_ids, psids = _rows(
                    ids,
                    rng,
                    tenant_id=tenant_id,
                    listing_id=listing_id,
                    indexes=range(start, min(conversations, start + CHUNK)),
                    conversations=conversations,
                    thread_messages=thread_messages,
                    now=now,
                )
                thread_id = thread_id or conversation_ids[0]
                all_psids += psids
                messages += len(rows[Message])
                async with engine.begin() as connection:
                    for model, values in rows.items():
                        for part in range(0, len(values), CHUNK):
                            await connection.execute(insert(model), values[part : part + CHUNK])
            console.print(
                f"seeded seller {seller_id}: {conversations:,} conversations, {messages:,} messages"
                f" in {time.perf_counter() - started:.1f} s"
            )
            out.append(
                SeededSeller(
                    seller_id,
                    page_id,
                    conversations,
                    messages,
                    thread_id,
                    thread_messages,
                    tuple(all_psids[1:]),
                )
            )
        await finish_bulk_load(
            engine, ("messenger_conversations", "messenger_messages", "seller_notifications")
        )
    finally:
        await engine.dispose()
    return out
