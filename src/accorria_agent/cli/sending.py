"""``accorria-agent sending status|halt|resume``: the operator's kill switch from any machine.

Each command is one short transaction against the shared database; the processes that send read the
switch at every send, so nothing has to be signalled or restarted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.db.engine import create_engine, create_session_factory, transaction
from accorria_agent.jobs.interface import JobQueue, TaskRegistry
from accorria_agent.runtime import job_queue_for
from accorria_agent.sending import controls
from accorria_agent.settings import Settings

T = TypeVar("T")


class SendingCommandError(RuntimeError):
    """A command that cannot be carried out (unknown Page); the CLI prints it as one line."""


def _database_problem(error: DBAPIError) -> str:
    # The driver's first line names the problem (no such table, connection refused) without any secret.
    first_line = str(error.orig).splitlines()[0] if error.orig is not None else type(error).__name__
    return f"database not reachable or not migrated (run `accorria-agent migrate`): {first_line}"


def _in_one_transaction(action: Callable[[AsyncSession, JobQueue], Awaitable[T]]) -> T:
    """Run ``action`` in one committed transaction on the configured database (no keys needed)."""

    async def run() -> T:
        settings = Settings()
        engine = create_engine(settings.effective_database_url)
        factory = create_session_factory(engine)
        queue = job_queue_for(settings, factory, TaskRegistry())  # only to defer into, never started
        try:
            async with transaction(factory) as session:
                return await action(session, queue)
        except controls.UnknownPage as error:
            raise SendingCommandError(f"no connected Page has id {error.args[0]!r}") from error
        except DBAPIError as error:
            raise SendingCommandError(_database_problem(error)) from error
        finally:
            await engine.dispose()

    return asyncio.run(run())


def show_status(console: Console | None = None) -> controls.SendingStatus:
    """Print the kill switch, the Pages not sending and the held replies; return them."""
    console = console or Console()
    status = _in_one_transaction(lambda session, _queue: controls.sending_status(session))
    if status.halted:
        console.print(f"sending: [bold red]HALTED[/] since {status.changed_at:%Y-%m-%d %H:%M:%S} UTC")
        console.print(f"reason: {status.reason}", markup=False)
    else:
        console.print("sending: [bold green]on[/]")
    if status.paused_pages:
        table = Table(title="Pages not sending")
        for column in ("page", "status", "reason"):
            table.add_column(column)
        for page_id, page_status, reason in status.paused_pages:
            table.add_row(page_id, page_status, reason or "")
        console.print(table)
    console.print(f"held replies: {status.held_messages}")
    return status


def halt(page_id: str | None, reason: str, console: Console | None = None) -> None:
    """Throw the global kill switch, or pause one Page."""
    console = console or Console()

    async def apply(session: AsyncSession, _queue: JobQueue) -> None:
        if page_id is None:
            await controls.halt_all(session, reason)
        else:
            await controls.pause_page(session, page_id, reason)

    _in_one_transaction(apply)
    console.print("sending halted everywhere" if page_id is None else f"Page {page_id} paused")


def resume(page_id: str | None, *, discard_held: bool = False, console: Console | None = None) -> int:
    """Release the kill switch (or one Page) and its held replies; returns how many were released."""
    console = console or Console()

    async def apply(session: AsyncSession, queue: JobQueue) -> int:
        if page_id is None:
            return await controls.resume_all(session, queue, discard_held=discard_held)
        return await controls.resume_page(session, queue, page_id, discard_held=discard_held)

    count = _in_one_transaction(apply)
    what = "discarded" if discard_held else "released"
    where = "" if page_id is None else f" for Page {page_id}"
    console.print(f"sending resumed{where}; {count} held replies {what}")
    return count
