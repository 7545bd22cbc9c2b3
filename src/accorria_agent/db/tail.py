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
from sqlalchemy.orm import Session

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
    tails: dict[str, tuple[Builder, list[Any]]] | None = sync_session.info.get(_TAIL)
    if tails is None:
        tails = sync_session.info[_TAIL] = {}
        event.listen(sync_session, "before_commit", _send_before_commit, once=True)
        event.listen(sync_session, "after_rollback", _discard, once=True)
    tails.setdefault(key, (build, []))[1].append(item)


async def send_with(session: AsyncSession, lead: Part) -> int:
    """Run ``lead`` and every deferred part as one statement; returns how many rows ``lead`` returned."""
    await session.flush()  # what the ORM holds goes first, as an ORM statement's autoflush would send it
    statement, params = _statement(lead, _take(session.sync_session))
    result = await session.execute(text(statement), params)
    return int(result.scalar_one())


def _take(sync_session: Session) -> list[Part]:
    tails: dict[str, tuple[Builder, list[Any]]] = sync_session.info.pop(_TAIL, {})
    built = (build(items) for build, items in tails.values())
    return [part for part in built if part is not None]


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


def _send_before_commit(sync_session: Session) -> None:
    # Inside the commit, still in the transaction: the parts commit (or fail) with it.
    parts = _take(sync_session)
    if parts:
        statement, params = _statement(None, parts)
        sync_session.execute(text(statement), params)


def _discard(sync_session: Session) -> None:
    sync_session.info.pop(_TAIL, None)
