"""``rotate-keys``: re-encrypt every stored secret with the newest ``ENCRYPTION_KEY``.

Resumable and idempotent by construction: rows are walked in primary-key order in small batches, each
batch its own transaction; a row already under the newest key is skipped, so an interrupted run followed
by a rerun finishes the job and a second run changes nothing. Each update is conditional on the
ciphertext it read, so a token refreshed concurrently (a reconnect) is never overwritten with an older
one. A row no configured key can decrypt is reported, not crashed on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from accorria_agent.crypto import TokenCipher, TokenCipherError
from accorria_agent.pages.models import PendingPageGrant
from accorria_agent.sellers.models import MessengerTenant


@dataclass(frozen=True)
class EncryptedColumn:
    """A column holding Fernet ciphertexts, and its table's integer primary key."""

    name: str
    key: InstrumentedAttribute[int]
    value: InstrumentedAttribute[str]


#: Every encrypted column of the schema. A new encrypted column is added here (and nowhere else).
ENCRYPTED_COLUMNS: tuple[EncryptedColumn, ...] = (
    EncryptedColumn(
        "messenger_tenants.page_access_token_encrypted",
        MessengerTenant.id,
        MessengerTenant.page_access_token_encrypted,
    ),
    EncryptedColumn(
        "facebook_pending_grants.payload_encrypted", PendingPageGrant.id, PendingPageGrant.payload_encrypted
    ),
)


@dataclass
class RotationReport:
    """What a run did: rows re-encrypted, rows already current, and the rows no key can decrypt."""

    rotated: int = 0
    current: int = 0
    undecryptable: list[tuple[str, int]] = field(default_factory=list)

    @property
    def examined(self) -> int:
        return self.rotated + self.current + len(self.undecryptable)


async def count_encrypted(factory: async_sessionmaker[AsyncSession]) -> int:
    """How many stored secrets there are (the progress bar's total)."""
    total = 0
    async with factory() as session:
        for column in ENCRYPTED_COLUMNS:
            total += int((await session.execute(select(func.count()).where(column.value != ""))).scalar_one())
    return total


async def rotate_keys(
    factory: async_sessionmaker[AsyncSession],
    cipher: TokenCipher,
    *,
    batch_size: int = 200,
    on_progress: Callable[[int], Any] | None = None,
    max_batches: int | None = None,
) -> RotationReport:
    """Re-encrypt every stored secret with the newest key; ``on_progress(n)`` after each batch of ``n``.

    ``max_batches`` stops early (tests use it to simulate an interruption).
    """
    report = RotationReport()
    batches = 0
    for column in ENCRYPTED_COLUMNS:
        last_id = 0
        while max_batches is None or batches < max_batches:
            async with factory() as session, session.begin():
                rows = (
                    await session.execute(
                        select(column.key, column.value)
                        .where(column.key > last_id, column.value != "")
                        .order_by(column.key)
                        .limit(batch_size)
                    )
                ).all()
                if not rows:
                    break
                for row_id, ciphertext in rows:
                    await _rotate_row(session, cipher, column, int(row_id), str(ciphertext), report)
                last_id = int(rows[-1][0])
            batches += 1
            if on_progress is not None:
                on_progress(len(rows))
    return report


async def _rotate_row(
    session: AsyncSession,
    cipher: TokenCipher,
    column: EncryptedColumn,
    row_id: int,
    ciphertext: str,
    report: RotationReport,
) -> None:
    if cipher.is_current(ciphertext):
        report.current += 1
        return
    try:
        rotated = cipher.rotate(ciphertext)
    except TokenCipherError:
        report.undecryptable.append((column.name, row_id))
        return
    table = column.key.class_
    await session.execute(
        update(table).where(column.key == row_id, column.value == ciphertext).values({column.value: rotated})
    )
    report.rotated += 1
