"""``accorria-agent jobs failed|retry ID``: events the conversation job set aside, and handing one back."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.cli.sending import _in_one_transaction
from accorria_agent.conversations import set_aside
from accorria_agent.db.base import utcnow
from accorria_agent.jobs.interface import JobQueue


def show_failed(limit: int = 100, console: Console | None = None) -> list[set_aside.SetAsideView]:
    """Print the set-aside events not retried yet (id, Page, buyer, when, error); return them."""
    console = console or Console()
    rows = _in_one_transaction(lambda session, _queue: set_aside.open_set_asides(session, limit))
    if not rows:
        console.print("no failed events")
        return rows
    table = Table(title="Events set aside (retry with `accorria-agent jobs retry ID`)")
    for column in ("id", "event", "page", "buyer", "set aside at (UTC)", "error"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row.id),
            str(row.event_id),
            row.page_id,
            row.buyer_psid,
            f"{row.set_aside_at:%Y-%m-%d %H:%M:%S}",
            row.error,
        )
    console.print(table)
    return rows


def retry(set_aside_id: int, console: Console | None = None) -> set_aside.SetAsideView:
    """Hand one set-aside event back to its conversation's job."""
    console = console or Console()

    async def apply(session: AsyncSession, queue: JobQueue) -> set_aside.SetAsideView:
        return await set_aside.retry(session, queue, set_aside_id, utcnow())

    row = _in_one_transaction(apply)
    console.print(f"event {row.event_id} of buyer {row.buyer_psid} handed back to its conversation job")
    return row
