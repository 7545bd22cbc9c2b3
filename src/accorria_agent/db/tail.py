"""A transaction's last writes in one round trip (PostgreSQL).

Some writes need no answer before the transaction ends: an audit row, the ``pg_notify`` of the live bus.
A writer *defers* them here as a **part** (one common table expression's body); they go out together,
either with the statement that ends a conversation turn (:func:`send_with`, which marks the turn's
events processed) or, if no such statement comes, alone right before the commit. So a turn pays one
round trip for its events, its audit row and its live events instead of three; PostgreSQL runs every
part of the statement in the same transaction, and a rolled-back transaction keeps none of them.

SQLite has no data-modifying common table expressions: there writers write as they always did and never
defer (:func:`defers`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

_TAIL = "transaction_tail"


@dataclass(frozen=True)
class Part:
    """One deferred write: ``sql`` is a ``SELECT`` or a data-modifying statement with ``RETURNING`` (so the
    tail statement can refer to it), its bind parameters named uniquely across parts (prefix them)."""

    sql: str
    params: dict[str, Any]


Builder = Callable[[list[Any]], "Part | None"]


def defers(session: AsyncSession) -> bool:
    """Whether writes may be deferred on this session's database (PostgreSQL)."""
    return session.get_bind().dialect.name == "postgresql"


def add(session: AsyncSession, key: str, item: Any, build: Builder) -> None:
    """Defer ``item`` to the end of this transaction: all items under ``key`` go to ``build`` together,
    once, and the part it returns is sent (``None``: nothing to send). Only where :func:`defers`."""
    sync_session = session.sync_session
    if sync_session.get_transaction() is None:
        # Deferred writes belong to a transaction, as a write would begin one: closed uncommitted, it
        # takes them with it (see _forget_at_transaction_end), never into the session's next one.
        sync_session.begin()
    tails: dict[str, tuple[Builder, list[tuple[Any, SessionTransaction | None]]]] | None = (
        sync_session.info.get(_TAIL)
    )
    if tails is None:
        tails = sync_session.info[_TAIL] = {}
    # The innermost savepoint it was deferred in: if that rolls back, so does the item (see below).
    tails.setdefault(key, (build, []))[1].append((item, sync_session.get_nested_transaction()))


async def send_with(session: AsyncSession, lead: Part) -> int:
    """Run ``lead`` and every deferred part as one statement; returns how many rows ``lead`` returned."""
    await session.flush()  # what the ORM holds goes first, as an ORM statement's autoflush would send it
    statement, params = _statement(lead, _take(session.sync_session))
    result = await session.execute(text(statement), params)
    return int(result.scalar_one())


def _take(sync_session: Session) -> list[Part]:
    tails: dict[str, tuple[Builder, list[tuple[Any, SessionTransaction | None]]]] = sync_session.info.pop(
        _TAIL, {}
    )
    built = (build([item for item, _savepoint in items]) for build, items in tails.values())
    return [part for part in built if part is not None]


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back_savepoint(sync_session: Session, previous: SessionTransaction) -> None:
    # A savepoint rolled back (a careful turn's failed event or composition): what was deferred inside it
    # is rolled back with it, as the writes it stands for would have been.
    # (SQLAlchemy's after_rollback fires for a savepoint's rollback too: it cannot tell the two apart.)
    tails = sync_session.info.get(_TAIL)
    if not tails:
        return
    if not previous.nested:
        sync_session.info.pop(_TAIL, None)  # the whole transaction rolled back: nothing is sent
        return
    for _build, items in tails.values():
        items[:] = [(item, savepoint) for item, savepoint in items if not within(savepoint, previous)]


@event.listens_for(Session, "after_transaction_end")
def _forget_at_transaction_end(sync_session: Session, transaction: SessionTransaction) -> None:
    # A transaction that ends without a commit or a rollback event (a session closed with its transaction
    # open) must not leave deferred writes for the next transaction of the same session object.
    if transaction.parent is None:
        sync_session.info.pop(_TAIL, None)


def within(savepoint: SessionTransaction | None, ended: SessionTransaction) -> bool:
    """Whether something done in ``savepoint`` (``None``: outside any) ends with ``ended``'s rollback."""
    while savepoint is not None:
        if savepoint is ended:
            return True
        savepoint = savepoint.parent
    return False


def _statement(lead: Part | None, parts: list[Part]) -> tuple[str, dict[str, Any]]:
    named = ([("tail_lead", lead)] if lead is not None else []) + [
        (f"tail_{index}", part) for index, part in enumerate(parts)
    ]
    params: dict[str, Any] = {}
    for _name, part in named:
        params.update(part.params)
    ctes = ", ".join(f"{name} AS ({part.sql})" for name, part in named)
    counts = ", ".join(f"(SELECT count(*) FROM {name})" for name, _part in named)
    return f"WITH {ctes} SELECT {counts}", params


@event.listens_for(Session, "before_commit")
def _send_before_commit(sync_session: Session) -> None:
    # Inside the commit, still in the transaction: the parts commit (or fail) with it. SQLAlchemy calls
    # this for a savepoint's release too: the parts wait for the real commit.
    if _TAIL not in sync_session.info or sync_session.in_nested_transaction():
        return
    parts = _take(sync_session)
    if parts:
        statement, params = _statement(None, parts)
        sync_session.execute(text(statement), params)
