"""Record an audited action in the caller's transaction, and read a seller's trail page by page."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.audit import repository as repo
from accorria_agent.audit.models import AuditEvent
from accorria_agent.audit.schemas import AuditEventOut, AuditPage
from accorria_agent.db import tail
from accorria_agent.db.base import utcnow

ActorKind = Literal["bot", "member", "system"]


async def record(
    session: AsyncSession,
    *,
    seller_id: int,
    actor_kind: ActorKind,
    actor_id: int | None,
    action: str,
    subject_type: str | None = None,
    subject_id: int | str | None = None,
    details: dict[str, Any] | None = None,
    deferred: bool = False,
) -> None:
    """Add one audit event; it commits or rolls back with the change it describes.

    ``details`` must never hold secrets or a buyer's message text (only ids, field names, counts).
    ``deferred``: on PostgreSQL the row is written with the transaction's last statement (``db.tail``, no
    round trip of its own), so it cannot be read back before then; SQLite writes it at once either way.
    """
    values: dict[str, Any] = {
        "seller_id": seller_id,
        "actor_kind": actor_kind,
        "actor_id": actor_id if actor_id else None,
        "action": action,
        "subject_type": subject_type,
        "subject_id": None if subject_id is None else str(subject_id),
        "details": details or {},
        "occurred_at": utcnow(),
    }
    if deferred and tail.defers(session):
        tail.add(session, "audit", values, repo.insert_part)
        return
    session.add(AuditEvent(**values))
    await session.flush()


async def by_member(
    session: AsyncSession,
    seller_id: int,
    member_id: int | None,
    action: str,
    subject: tuple[str, int | str] | None = None,
    **details: Any,
) -> None:
    """A member's action in one short call (the hooks in other domains stay one line)."""
    await record(
        session,
        seller_id=seller_id,
        actor_kind="member",
        actor_id=member_id,
        action=action,
        subject_type=subject[0] if subject else None,
        subject_id=subject[1] if subject else None,
        details=details,
    )


async def record_bot_replies(
    session: AsyncSession, seller_id: int, conversation_id: int, message_ids: list[int]
) -> None:
    """One event per bot turn that wrote replies (none when it wrote nothing); deferred (see ``record``)."""
    if message_ids:
        await record(
            session,
            seller_id=seller_id,
            actor_kind="bot",
            actor_id=None,
            action="message.outbound",
            subject_type="conversation",
            subject_id=conversation_id,
            details={"message_ids": message_ids},
            deferred=True,
        )


async def page(session: AsyncSession, seller_id: int, *, before: int | None, limit: int) -> AuditPage:
    """Newest first; ``next_before`` is the cursor of the next (older) page, None at the end."""
    rows = await repo.events(session, seller_id, before=before, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(
        events=[AuditEventOut.model_validate(row) for row in rows],
        next_before=rows[-1].id if more and rows else None,
    )
