"""Seeding ``bench scale``'s stores: bulk Core inserts of tenants, conversations, messages and events.

The ids are numeric strings, as Meta's are; a store of any size is reproducible from its two counts.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing, suppress
from datetime import datetime, timedelta
from typing import Any

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError

from accorria_agent.conversations.models import Conversation, Message
from accorria_agent.crypto import TokenCipher
from accorria_agent.db.base import Base, utcnow
from accorria_agent.db.engine import create_engine
from accorria_agent.messenger.models import EventLog
from accorria_agent.sellers.models import Listing, MessengerSettings, MessengerTenant, Seller
from accorria_agent.sellers.schemas import DEMO_LISTING, ListingSpec

# Numeric strings, as Meta's ids are; the two PSID ranges never meet.
PAGE_ID_BASE = 910_000_000_000
SEEDED_PSID_BASE = 7_100_000_000_000_000
NEW_PSID_BASE = 7_200_000_000_000_000
# The small store is the baseline. 1,000 conversations (not fewer) so that, at the default rate and
# duration, every message goes to a conversation not yet touched in the run, as in the large store.
SMALL_TENANTS = 10
SMALL_CONVERSATIONS = 1000
NEW_BUYER_SHARE = 0.2
LATENCY_GOAL = 1.5
MEMORY_GOAL = 1.2
# Conversations per insert round: large enough for executemany to pay off, small for a smooth progress bar.
SEED_CHUNK = 2000
BUYER_TEXTS = (
    "Is it still available?",
    "Hi, is it still available? would you take 9k?",
    "would you take 10,500?",
    "What's the mileage?",
    "Any accidents?",
    "Can I come see it tomorrow at 5?",
)
# One seeded conversation: (direction, author, text), oldest first, a minute apart.
SEEDED_HISTORY = (
    ("inbound", "buyer", "Hi, is this still available?"),
    ("outbound", "bot", "Hi! Yes, the 2018 Honda Civic EX is still available."),
    ("inbound", "buyer", "What's the mileage?"),
    ("outbound", "bot", "It has 62,000 miles."),
)


def page_id_of(tenant_index: int) -> str:
    """The page id of the ``tenant_index``-th seeded tenant (0-based)."""
    return str(PAGE_ID_BASE + tenant_index)


def seeded_psid(conversation_index: int) -> str:
    """The buyer of the ``conversation_index``-th seeded conversation (of tenant index % tenants)."""
    return str(SEEDED_PSID_BASE + conversation_index)


# ------------------------------------------------------------------------------------------------ seeding

# (model, rows) in insertion order: parents before children.
_Rows = list[tuple[type[Base], list[dict[str, Any]]]]


def _tenant_rows(start: int, stop: int, cipher: TokenCipher, now: datetime) -> _Rows:
    listing = ListingSpec.model_validate(DEMO_LISTING).model_dump()
    sellers, tenants, settings, listings = [], [], [], []
    for index in range(start, stop):
        ident = index + 1
        sellers.append({"id": ident, "name": f"Seller {ident}", "email": None, "created_at": now})
        tenants.append(
            {
                "id": ident,
                "seller_id": ident,
                "page_id": page_id_of(index),
                "page_name": f"Page {ident}",
                "page_access_token_encrypted": cipher.encrypt(f"scale-token-{ident}"),
                "status": "active",
                "created_at": now,
                "updated_at": now,
            }
        )
        settings.append(
            {
                "id": ident,
                "tenant_id": ident,
                "human_like_delays": False,
                # The benchmark measures the service, not Meta's per-Page send limits.
                "rate_limit_per_minute": 10**9,
                "rate_limit_per_hour": 10**9,
                "rate_limit_per_day": 10**9,
            }
        )
        listings.append({"id": ident, "seller_id": ident, "tenant_id": ident, "created_at": now, **listing})
    return [(Seller, sellers), (MessengerTenant, tenants), (MessengerSettings, settings), (Listing, listings)]


def _conversation_rows(start: int, stop: int, tenants: int, now: datetime) -> _Rows:
    conversations, messages, events = [], [], []
    per = len(SEEDED_HISTORY)
    inbound_per = sum(1 for direction, _, _ in SEEDED_HISTORY if direction == "inbound")
    for index in range(start, stop):
        ident = index + 1
        tenant = index % tenants + 1
        page_id, psid = page_id_of(index % tenants), seeded_psid(index)
        # Spread over the last six days, so windows and disclosures look like a live store's.
        began = now - timedelta(seconds=3600 + (index * 7919) % (6 * 86400))
        last_buyer = last_bot = began
        inbound_seen = 0
        for turn, (direction, author, body) in enumerate(SEEDED_HISTORY):
            at = began + timedelta(minutes=turn)
            mid = f"m_seed_{ident}_{turn}"
            inbound = direction == "inbound"
            messages.append(
                {
                    "id": index * per + turn + 1,
                    "tenant_id": tenant,
                    "conversation_id": ident,
                    "direction": direction,
                    "author": author,
                    "mid": mid,
                    "text": body,
                    "payload": {} if inbound else {"source": "template"},
                    "sent_at": at,
                    "status": "received" if inbound else "read",
                    "status_reason": None,
                    "outbound_key": None if inbound else f"seed{ident}x{turn}",
                    "messaging_type": None if inbound else "RESPONSE",
                    "tag": None,
                    "created_at": at,
                    "updated_at": at,
                }
            )
            if inbound:
                last_buyer = at
                stamp = int(at.timestamp() * 1000)
                events.append(
                    {
                        "id": index * inbound_per + inbound_seen + 1,
                        "delivery_id": None,
                        "page_id": page_id,
                        "buyer_psid": psid,
                        "event_key": f"message:messaging:{mid}",
                        "kind": "message",
                        "channel": "messaging",
                        "timestamp_ms": stamp,
                        "payload": {
                            "sender": {"id": psid},
                            "recipient": {"id": page_id},
                            "timestamp": stamp,
                            "message": {"mid": mid, "text": body},
                        },
                        "received_at": at,
                        "processed_at": at,
                        "outcome": "message stored",
                    }
                )
                inbound_seen += 1
            else:
                last_bot = at
        conversations.append(
            {
                "id": ident,
                "tenant_id": tenant,
                "buyer_psid": psid,
                "buyer_name": None,
                "listing_id": tenant,
                "mode": "bot",
                "negotiation_state": {},
                "last_buyer_message_at": last_buyer,
                "last_bot_message_at": last_bot,
                "disclosed_at": began + timedelta(minutes=1),
                "created_at": began,
                "updated_at": last_bot,
            }
        )
    return [(Conversation, conversations), (Message, messages), (EventLog, events)]


_SEEDED_TABLES = (
    "sellers",
    "messenger_tenants",
    "messenger_settings",
    "listings",
    "messenger_conversations",
    "messenger_messages",
    "messenger_events_log",
)


async def seed_store(
    database_url: str,
    encryption_key: str,
    tenants: int,
    conversations: int,
    console: Console | None = None,
) -> dict[str, Any]:
    """Fill a freshly migrated database with ``tenants`` Pages and ``conversations`` conversations.

    Rows get explicit ids (so children can point at parents without reading them back); PostgreSQL's
    sequences are moved past them afterwards. Returns the row counts and the seconds it took.
    """
    if tenants < 1 or conversations < 0:
        raise ValueError("need at least one tenant and a non-negative number of conversations")
    console = console or Console()
    engine = create_engine(database_url)
    cipher = TokenCipher(encryption_key)
    now = utcnow()
    counts: dict[str, int] = dict.fromkeys(_SEEDED_TABLES, 0)
    started = time.perf_counter()

    async def write(rows: _Rows) -> None:
        async with engine.begin() as connection:
            for model, values in rows:
                if values:
                    await connection.execute(insert(model), values)
                    counts[model.__tablename__] += len(values)

    try:
        with Progress(console=console) as progress:
            pages = progress.add_task("seeding tenants", total=tenants)
            for start in range(0, tenants, SEED_CHUNK):
                stop = min(tenants, start + SEED_CHUNK)
                await write(_tenant_rows(start, stop, cipher, now))
                progress.update(pages, completed=stop)
            threads = progress.add_task("seeding conversations", total=conversations)
            for start in range(0, conversations, SEED_CHUNK):
                stop = min(conversations, start + SEED_CHUNK)
                await write(_conversation_rows(start, stop, tenants, now))
                progress.update(threads, completed=stop)
        if engine.dialect.name == "postgresql":
            async with engine.begin() as connection:
                for table in _SEEDED_TABLES:
                    await connection.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT COALESCE(max(id), 0) + 1 FROM {table}), false)"
                        )
                    )
            async with engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                # A store that grew over months is vacuumed and analysed, and its rows are all-visible
                # with hint bits set. A fresh bulk load is none of that: left alone, the first reads would
                # write hint bits and autovacuum would start mid-measurement.
                for table in _SEEDED_TABLES:
                    await connection.execute(text(f"VACUUM (ANALYZE) {table}"))
                with suppress(DBAPIError):  # needs superuser or pg_checkpoint; only a nicety
                    await connection.execute(text("CHECKPOINT"))
        elif engine.url.database:
            # Fold the seed's WAL into the database file now rather than during the measurement.
            with closing(sqlite3.connect(engine.url.database)) as plain:
                plain.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        await engine.dispose()
    return {"seconds": time.perf_counter() - started, "rows": counts}
