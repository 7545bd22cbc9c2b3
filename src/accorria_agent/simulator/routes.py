"""The simulator's JSON API and pages (mounted by the app under ``/simulator``).

Pages (static HTML + vanilla JS, relative URLs so any mount prefix works):

* ``GET /`` — buyer chat (``#message-input``, ``#send-button``, ``.message.from-buyer`` /
  ``.message.from-page``, clickable quick replies and buttons; polls the thread every second).
* ``GET /inbox`` — Page Inbox (thread list, ``#inbox-input``, ``#inbox-send``, handover buttons).
* ``GET /static/{name}`` — the pages' JS/CSS.

JSON API (errors: ``{"error": {"message", "details"?}}`` with 400/404; never a 500 for bad input):

* ``GET  /api/state`` → ``{"page_id", "page_name", "listing_id", "app_id", "graph_version",
  "webhook_url", "page_inbox_app_id", "clock", "faults", "messenger_profile", "subscriptions",
  "thread_count", "sent_count"}`` (no token, no secret).
* ``POST /api/buyers/{psid}/messages`` — body ``{"text"}`` | ``{"quick_reply": PAYLOAD}`` (text
  becomes the offered quick reply's title, else the payload) | ``{"postback": PAYLOAD, "title"?,
  "referral"?}`` | ``{"attachment": {"type": image|video|audio|file|sticker|location|fallback,
  "url"?, "lat"?, "long"?, "title"?, "sticker_id"?}}`` or ``"attachments": [...]`` |
  ``{"like": true}``; optional ``"name"`` (buyer profile), ``"reply_to"`` (mid). Sends the
  buyer's signed webhook → ``{"status": agent HTTP status (0 = no answer), "mid", "error"}``.
  PSIDs are 1–32 digits, like Meta's.
* ``POST /api/buyers/{psid}/events`` — ``{"type": "read", "watermark"?}`` | ``{"type":
  "delivery", "mids"?, "watermark"?}`` | ``{"type": "reaction", "mid"? (default: last Page
  message), "reaction"?, "emoji"?, "action"?: react|unreact}`` | ``{"type": "edit", "mid"?
  (default: last buyer message), "text"}`` | ``{"type": "referral", "ref"? (default: the
  listing id), "source"?, "ad_id"?}`` | ``{"type": "postback", "payload", "title"?}`` → same
  answer as above.
* ``POST /api/inbox/{psid}/messages`` ``{"text"}`` — the seller types in Page Inbox; stored as
  a Page message and delivered as an echo with ``app_id`` 263902037430900 → ``{"mid"}``.
* ``POST /api/inbox/{psid}/handover`` ``{"action": take_thread_control|pass_thread_control|
  request_thread_control, "metadata"?}`` — Page Inbox handover, notified to the agent.
* ``GET  /api/sent?recipient=PSID`` → a JSON list: every Send API request (all if no
  recipient), oldest first, as received: ``recipient``, ``messaging_type``, ``tag``, ``message``,
  ``sender_action``, ``metadata``, ``received_at`` (ISO), ``status``, ``error``, ``message_id``.
* ``GET  /api/threads`` → a JSON list of thread summaries, newest activity first;
  ``GET /api/threads/{psid}`` → the thread both ways (``messages[].from`` buyer|page,
  ``source`` buyer|bot|inbox).
* ``GET  /api/webhooks?psid=`` → a JSON list of every webhook POSTed to the agent.
* ``GET|POST|DELETE /api/faults`` — ``{"error_rate": 0..1, "kinds": ["5xx"|"timeout"|"613"|"190"],
  "timeout_seconds", "seed"}``.
* ``GET|POST /api/clock`` — ``{"advance_seconds": N}`` moves the simulated clock forward →
  ``{"now", "now_ms", "offset_seconds"}``.
* Facebook Login: ``GET /oauth/dialog``, ``POST /api/oauth/authorize`` and the simulated user's Pages
  (``GET|POST /api/pages``, ``POST /api/pages/{id}/revoke``) — see :mod:`.oauth_dialog`. A buyer
  message may name the Page it is written to (``"page_id"``; default: the configured Page).
* ``POST /api/reset`` — forget buyers, threads and logs (clock, faults, profile are kept).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, JSONResponse

from .config import PAGE_INBOX_APP_ID
from .schemas import (
    BuyerEventIn,
    BuyerMessageIn,
    ClockIn,
    FaultsIn,
    HandoverIn,
    InboxMessageIn,
)
from .ui_common import UiError, check_psid, parse, ui_endpoint

if TYPE_CHECKING:
    from .core import Simulator

STATIC_DIR = Path(__file__).parent / "static"
STATIC_FILES = {
    "chat.js": "text/javascript",
    "inbox.js": "text/javascript",
    "common.js": "text/javascript",
    "simulator.css": "text/css",
}
NO_STORE = {"Cache-Control": "no-store"}


def build_ui_router(sim: Simulator) -> APIRouter:
    """Create the pages + JSON API router bound to ``sim``."""
    from .oauth_dialog import build_oauth_router

    state = sim.state
    router = APIRouter()
    router.include_router(build_oauth_router(sim))

    @router.get("/", include_in_schema=False)
    async def chat_page() -> Response:
        return FileResponse(STATIC_DIR / "chat.html", media_type="text/html", headers=NO_STORE)

    @router.get("/inbox", include_in_schema=False)
    async def inbox_page() -> Response:
        return FileResponse(STATIC_DIR / "inbox.html", media_type="text/html", headers=NO_STORE)

    @router.get("/static/{name}", include_in_schema=False)
    @ui_endpoint
    async def static_file(name: str) -> Response:
        if name not in STATIC_FILES:  # allow-list: no path traversal possible
            raise UiError("not found", 404)
        return FileResponse(STATIC_DIR / name, media_type=STATIC_FILES[name], headers=NO_STORE)

    @router.get("/api/state")
    async def get_state() -> Response:
        cfg = sim.config
        return JSONResponse(
            {
                "page_id": cfg.page_id,
                "page_name": cfg.page_name,
                "listing_id": cfg.listing_id,
                "app_id": cfg.app_id,
                "graph_version": cfg.graph_version,
                "webhook_url": cfg.webhook_url,
                "emit_echoes": cfg.emit_echoes,
                "emit_deliveries": cfg.emit_deliveries,
                "page_inbox_app_id": PAGE_INBOX_APP_ID,
                "clock": state.clock_json(),
                "faults": state.faults.to_json(),
                "messenger_profile": state.messenger_profile,
                "subscriptions": state.subscriptions,
                "thread_count": len(state.threads),
                "sent_count": len(state.sent),
            }
        )

    @router.post("/api/buyers/{psid}/messages")
    @ui_endpoint
    async def buyer_message(psid: str, request: Request) -> Response:
        check_psid(psid)
        body = await parse(request, BuyerMessageIn)
        result = await sim.buyer_message(
            psid,
            text=body.text,
            quick_reply=body.quick_reply,
            postback=body.postback,
            title=body.title,
            name=body.name,
            attachments=body.all_attachments(),
            like=body.like,
            reply_to=body.reply_to,
            referral=body.referral.model_dump(exclude_none=True) if body.referral else None,
            page_id=body.page_id,
        )
        return JSONResponse(result.to_json())

    @router.post("/api/buyers/{psid}/events")
    @ui_endpoint
    async def buyer_event(psid: str, request: Request) -> Response:
        check_psid(psid)
        body = await parse(request, BuyerEventIn)
        if body.type == "postback":
            if body.payload is None:
                raise UiError("a postback event needs a payload")
            result = await sim.buyer_message(psid, postback=body.payload, title=body.title, name=body.name)
        else:
            result = await sim.buyer_event(psid, body.type, body.model_dump(exclude_none=True))
        return JSONResponse(result.to_json())

    @router.post("/api/inbox/{psid}/messages")
    @ui_endpoint
    async def inbox_message(psid: str, request: Request) -> Response:
        check_psid(psid)
        body = await parse(request, InboxMessageIn)
        stored = sim.inbox_message(psid, body.text)
        return JSONResponse({"mid": stored.mid})

    @router.post("/api/inbox/{psid}/handover")
    @ui_endpoint
    async def inbox_handover(psid: str, request: Request) -> Response:
        check_psid(psid)
        body = await parse(request, HandoverIn)
        result = await sim.inbox_handover(psid, body.action, body.metadata)
        return JSONResponse(result.to_json())

    @router.get("/api/sent")
    async def sent(recipient: str | None = None) -> Response:
        rows = [r.to_json() for r in state.sent if recipient is None or r.recipient == recipient]
        return JSONResponse(rows)

    @router.get("/api/threads")
    async def threads() -> Response:
        ordered = sorted(
            state.threads.values(), key=lambda t: t.messages[-1].timestamp_ms if t.messages else 0
        )
        return JSONResponse([t.summary() for t in reversed(ordered)])

    @router.get("/api/threads/{psid}")
    @ui_endpoint
    async def thread(psid: str) -> Response:
        check_psid(psid)
        found = state.thread(psid)
        if found is None:
            raise UiError(f"unknown buyer {psid}", 404)
        return JSONResponse(found.to_json())

    @router.get("/api/webhooks")
    async def webhooks(psid: str | None = None) -> Response:
        rows = [w.to_json() for w in state.webhooks if psid is None or w.psid == psid]
        return JSONResponse(rows)

    @router.get("/api/faults")
    async def get_faults() -> Response:
        return JSONResponse(state.faults.to_json())

    @router.post("/api/faults")
    @ui_endpoint
    async def set_faults(request: Request) -> Response:
        body = await parse(request, FaultsIn)
        state.set_faults(body.error_rate, tuple(dict.fromkeys(body.kinds)), body.timeout_seconds, body.seed)
        return JSONResponse(state.faults.to_json())

    @router.delete("/api/faults")
    async def clear_faults() -> Response:
        state.clear_faults()
        return JSONResponse(state.faults.to_json())

    @router.get("/api/clock")
    async def get_clock() -> Response:
        return JSONResponse(state.clock_json())

    @router.post("/api/clock")
    @ui_endpoint
    async def advance_clock(request: Request) -> Response:
        body = await parse(request, ClockIn)
        state.advance(body.advance_seconds)
        return JSONResponse(state.clock_json())

    @router.post("/api/reset")
    async def reset() -> Response:
        await sim.drain()
        state.reset()
        return JSONResponse({"result": "success"})

    return router
