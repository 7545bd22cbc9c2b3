"""``GET /api/live``: Server-Sent Events telling a signed-in member's dashboard what changed.

Each event names what to refetch (``message``, ``conversation``, ``notification``, or ``resync`` =
reload everything); the page then reads it through the scoped API, so nothing here can leak another
account's data: a subscription only ever receives its own account's events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from accorria_agent.accounts.context import Member
from accorria_agent.live.bus import LiveEvent, ensure_listening

HEARTBEAT_SECONDS = 15.0
# Browsers reconnect by themselves; this is how long they wait first (milliseconds).
RETRY_MILLISECONDS = 2000

router = APIRouter(prefix="/api", tags=["live"])


def _frame(live_event: LiveEvent) -> str:
    return f"event: {live_event.kind}\ndata: {live_event.to_json()}\n\n"


@router.get("/live")
async def live_updates(request: Request, member: Member) -> StreamingResponse:
    """Stream this account's live events until the browser goes away (with a heartbeat comment)."""
    hub = await ensure_listening(request.app.state.runtime.engine)
    subscription = hub.subscribe(member.seller_id)
    heartbeat: float = getattr(request.app.state, "live_heartbeat_seconds", HEARTBEAT_SECONDS)

    async def stream() -> AsyncIterator[str]:
        try:
            yield f"retry: {RETRY_MILLISECONDS}\nevent: ready\ndata: {{}}\n\n"
            while not await request.is_disconnected():
                live_event = await subscription.next(heartbeat)
                yield ": ping\n\n" if live_event is None else _frame(live_event)
        finally:
            hub.unsubscribe(subscription)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
