"""``GET /api/live``: Server-Sent Events telling a signed-in member's dashboard what changed.

Each event names what to refetch (``message``, ``conversation``, ``notification``, or ``resync`` =
reload everything); the page then reads it through the scoped API, so nothing here can leak another
account's data: a subscription only ever receives its own account's events.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from accorria_agent.accounts.context import Member, current_member
from accorria_agent.errors import DomainError
from accorria_agent.live.bus import LiveEvent, ensure_listening

HEARTBEAT_SECONDS = 15.0
# Browsers reconnect by themselves; this is how long they wait first (milliseconds).
RETRY_MILLISECONDS = 2000
# A stream outlives no session by more than this: signed out elsewhere, removed from the account, the
# account deleted, a password changed — the stream ends and the browser's reconnection gets 401.
SESSION_RECHECK_SECONDS = 15.0

router = APIRouter(prefix="/api", tags=["live"])


def _frame(live_event: LiveEvent) -> str:
    return f"event: {live_event.kind}\ndata: {live_event.to_json()}\n\n"


@router.get("/live")
async def live_updates(request: Request, member: Member) -> StreamingResponse:
    """Stream this account's live events until the browser goes away (with a heartbeat comment)."""
    hub = await ensure_listening(request.app.state.runtime.engine)
    subscription = hub.subscribe(member.seller_id)
    heartbeat: float = getattr(request.app.state, "live_heartbeat_seconds", HEARTBEAT_SECONDS)
    recheck: float = min(heartbeat, SESSION_RECHECK_SECONDS)

    async def still_signed_in() -> bool:
        try:
            again = await current_member(request)
        except DomainError:
            return False
        return again.seller_id == member.seller_id

    async def stream() -> AsyncIterator[str]:
        checked_at = time.monotonic()
        try:
            yield f"retry: {RETRY_MILLISECONDS}\nevent: ready\ndata: {{}}\n\n"
            while not await request.is_disconnected():
                live_event = await subscription.next(recheck)
                if time.monotonic() - checked_at >= recheck:
                    if not await still_signed_in():
                        return
                    checked_at = time.monotonic()
                yield ": ping\n\n" if live_event is None else _frame(live_event)
        finally:
            hub.unsubscribe(subscription)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
