"""``accorria-agent privacy delete-buyer`` and ``privacy purge``: the operator's privacy commands.

Each opens the configured database, runs one use case in one transaction and prints its record as one JSON
line (counts, never personal data).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from accorria_agent.db.base import utcnow
from accorria_agent.db.engine import create_engine, create_session_factory, transaction
from accorria_agent.errors import DomainError
from accorria_agent.privacy import service
from accorria_agent.privacy.models import PrivacyRequest
from accorria_agent.settings import Settings


class PrivacyCommandError(Exception):
    """A refusal to print as one line (exit code 2)."""


def _run(settings: Settings, use_case: Callable[[AsyncSession], Awaitable[PrivacyRequest]]) -> str:
    async def run() -> str:
        engine = create_engine(settings.effective_database_url)
        try:
            async with transaction(create_session_factory(engine)) as session:
                record = await use_case(session)
                line = {"kind": record.kind, "page_id": record.page_id, "counts": record.counts}
            return json.dumps(line, sort_keys=True)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except DomainError as error:
        raise PrivacyCommandError(error.detail) from None


def delete_buyer(settings: Settings, page_id: str, psid: str) -> str:
    """Erase buyer ``psid`` on Page ``page_id`` (whoever's Page it is)."""
    return _run(settings, lambda session: service.delete_buyer_anywhere(session, page_id, psid, utcnow()))


def purge(settings: Settings, days: int | None) -> str:
    """Purge buyer text and raw payloads older than ``days`` (default ``RETENTION_DAYS``)."""
    retention = days if days is not None else settings.retention_days
    return _run(settings, lambda session: service.purge_expired(session, utcnow(), retention))
