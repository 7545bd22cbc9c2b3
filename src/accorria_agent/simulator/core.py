"""The :class:`Simulator`: what buyers, the Page Inbox and the Send API do to a thread.

The routers (:mod:`.graph_api`, :mod:`.routes`) are thin HTTP layers over the methods
here, so tests and the CLI can drive the simulator either over HTTP or directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import APIRouter

from .config import LIKE_STICKER_ID, PAGE_INBOX_APP_ID, SimulatorConfig
from .errors import SimulatorInputError as SimulatorInputError
from .state import BuyerThread, SimulatorState, ThreadMessage, new_mid
from .webhooks import (
    Channel,
    WebhookDeliverer,
    app_id_value,
    delivery_event,
    echo_event,
    envelope,
    from_buyer,
)

#: Emoji Messenger associates with each named reaction.
REACTION_EMOJI = {
    "love": "\u2764\ufe0f",
    "smile": "\U0001f606",
    "wow": "\U0001f62e",
    "sad": "\U0001f622",
    "angry": "\U0001f620",
    "like": "\U0001f44d",
    "dislike": "\U0001f44e",
}
#: Messenger clients refuse more edits than this; the simulator mirrors it.
MAX_EDITS = 5
LIKE_STICKER_URL = "https://scontent.xx.fbcdn.net/v/t39.1997-6/851557_369239266556155_759568595_n.png"


@dataclass
class DeliveryResult:
    """What happened when a buyer action was delivered to the agent."""

    status: int
    mid: str | None
    error: str | None

    def to_json(self) -> dict[str, Any]:
        """Body returned by the buyer endpoints of the JSON API."""
        return {"status": self.status, "mid": self.mid, "error": self.error}


class Simulator:
    """A local stand-in for Meta's Graph API and for Messenger buyers.

    Create it with ``Simulator(config, deliver_client)`` where ``deliver_client`` is the
    ``httpx.AsyncClient`` used to POST webhooks to ``config.webhook_url``; mount
    :attr:`graph_router` under ``/graph`` and :attr:`ui_router` under ``/simulator``.
    """

    def __init__(self, config: SimulatorConfig, deliver_client: httpx.AsyncClient) -> None:
        from .graph_api import build_graph_router
        from .routes import build_ui_router

        self.config = config
        self.state = SimulatorState(config)
        self.deliverer = WebhookDeliverer(config, self.state, deliver_client)
        self.graph_router: APIRouter = build_graph_router(self)
        self.ui_router: APIRouter = build_ui_router(self)

    # --- lifecycle -------------------------------------------------------------------------------

    async def drain(self) -> None:
        """Wait until background echoes/delivery receipts have been delivered."""
        await self.deliverer.drain()

    async def aclose(self) -> None:
        """Wait briefly for background deliveries, then cancel what is left."""
        await self.deliverer.aclose()

    # --- helpers ---------------------------------------------------------------------------------

    def channel(self, thread: BuyerThread) -> Channel:
        """``messaging`` while our app owns the thread, else ``standby`` (handover protocol)."""
        mine = thread.owner_app_id is None or str(thread.owner_app_id) == self.config.app_id
        return "messaging" if mine else "standby"

    def page_of(self, thread: BuyerThread) -> str:
        """The Page id a thread belongs to (the configured Page unless the thread names its own)."""
        return thread.page_id or self.config.page_id

    def _wrap(
        self, thread: BuyerThread, event: dict[str, Any], channel: Channel | None = None
    ) -> dict[str, Any]:
        return envelope(self.page_of(thread), self.state.now_ms(), [event], channel or self.channel(thread))

    def _offered_quick_reply_title(self, thread: BuyerThread, payload: str) -> str | None:
        for msg in reversed(thread.messages):
            for qr in msg.quick_replies:
                if qr.get("payload") == payload and isinstance(qr.get("title"), str):
                    return str(qr["title"])
        return None

    def _button_title(self, thread: BuyerThread, payload: str) -> str | None:
        """Title of the postback button carrying ``payload`` (thread, then persistent menu)."""
        for msg in reversed(thread.messages):
            for button in _buttons_of(msg.attachments):
                if button.get("payload") == payload and isinstance(button.get("title"), str):
                    return str(button["title"])
        profile = self.state.messenger_profile
        for menu in profile.get("persistent_menu", []):
            for button in _walk_menu(menu.get("call_to_actions", [])):
                if button.get("payload") == payload and isinstance(button.get("title"), str):
                    return str(button["title"])
        if profile.get("get_started", {}).get("payload") == payload:
            return "Get Started"
        return None

    # --- buyer actions ---------------------------------------------------------------------------

    async def send_buyer_message(
        self,
        psid: str,
        text: str | None = None,
        quick_reply: str | None = None,
        postback: str | None = None,
        *,
        title: str | None = None,
        name: str | None = None,
        attachments: list[dict[str, Any]] | None = None,
        like: bool = False,
        reply_to: str | None = None,
        referral: dict[str, Any] | None = None,
        page_id: str | None = None,
    ) -> int:
        """Have buyer ``psid`` send something; returns the agent's HTTP status (0: no answer)."""
        result = await self.buyer_message(
            psid,
            text=text,
            quick_reply=quick_reply,
            postback=postback,
            title=title,
            name=name,
            attachments=attachments,
            like=like,
            reply_to=reply_to,
            referral=referral,
            page_id=page_id,
        )
        return result.status

    async def buyer_message(
        self,
        psid: str,
        *,
        text: str | None = None,
        quick_reply: str | None = None,
        postback: str | None = None,
        title: str | None = None,
        name: str | None = None,
        attachments: list[dict[str, Any]] | None = None,
        like: bool = False,
        reply_to: str | None = None,
        referral: dict[str, Any] | None = None,
        page_id: str | None = None,
    ) -> DeliveryResult:
        """Store a buyer message/postback in the thread and deliver its signed webhook.

        ``page_id`` names the Page a new buyer writes to (PSIDs are Page-scoped, so a known buyer stays
        on their Page).
        """
        if not (text or quick_reply or postback or attachments or like):
            raise SimulatorInputError("nothing to send: give text, quick_reply, postback, attachment or like")
        if page_id is not None and page_id not in self.state.pages:
            raise SimulatorInputError(f"unknown Page {page_id[:40]}", 404)
        known = self.state.thread(psid)
        if known is not None and page_id is not None and self.page_of(known) != page_id:
            raise SimulatorInputError("this PSID belongs to another Page (PSIDs are Page-scoped)")
        thread = self.state.ensure_buyer(psid, name)
        if known is None and page_id is not None and page_id != self.config.page_id:
            thread.page_id = page_id
        now = self.state.now_ms()
        mid = new_mid()
        if postback is not None:
            shown = title or self._button_title(thread, postback) or postback
            thread.messages.append(
                ThreadMessage(
                    mid=mid,
                    sender="buyer",
                    source="buyer",
                    timestamp_ms=now,
                    text=shown,
                    kind="postback",
                    postback={"title": shown, "payload": postback},
                )
            )
            thread.last_interaction_ms = now
            body: dict[str, Any] = {"mid": mid, "title": shown, "payload": postback}
            if referral is not None:
                body["referral"] = referral
            event = from_buyer(psid, self.page_of(thread), now, postback=body)
            return await self._deliver_now("postback", thread, event, mid)

        message: dict[str, Any] = {"mid": mid}
        stored = ThreadMessage(mid=mid, sender="buyer", source="buyer", timestamp_ms=now)
        if quick_reply is not None:
            text = self._offered_quick_reply_title(thread, quick_reply) or quick_reply
            message["quick_reply"] = {"payload": quick_reply}
            stored.quick_reply_payload = quick_reply
        if text:
            message["text"] = text
            stored.text = text
        atts = [dict(a) for a in attachments or []]
        if like:
            atts.append(
                {"type": "image", "payload": {"url": LIKE_STICKER_URL, "sticker_id": LIKE_STICKER_ID}}
            )
        sticker = next(
            (a["payload"].get("sticker_id") for a in atts if "sticker_id" in a.get("payload", {})), None
        )
        if atts:
            message["attachments"] = atts
            stored.attachments = atts
        if sticker is not None:
            message["sticker_id"] = sticker
            stored.sticker_id = int(sticker)
        if reply_to is not None:
            message["reply_to"] = {"mid": reply_to}
            stored.reply_to = reply_to
        thread.messages.append(stored)
        thread.last_interaction_ms = now
        thread.typing = False
        event = from_buyer(psid, self.page_of(thread), now, message=message)
        return await self._deliver_now("message", thread, event, mid)

    async def _deliver_now(
        self, kind: str, thread: BuyerThread, event: dict[str, Any], mid: str | None
    ) -> DeliveryResult:
        record = await self.deliverer.deliver(kind, thread.psid, self._wrap(thread, event))
        return DeliveryResult(status=record.status or 0, mid=mid, error=record.error)

    async def buyer_event(self, psid: str, kind: str, fields: dict[str, Any]) -> DeliveryResult:
        """Deliver a non-message buyer event (read, delivery, reaction, edit, referral)."""
        thread = self.state.thread(psid)
        if thread is None and kind != "referral":
            raise SimulatorInputError(f"unknown buyer {psid}: send a message first", status=404)
        thread = thread or self.state.ensure_buyer(psid, fields.get("name"))
        now = self.state.now_ms()
        page = self.page_of(thread)
        if kind == "read":
            watermark = int(fields.get("watermark") or now)
            for m in thread.messages:
                if m.sender == "page" and m.timestamp_ms <= watermark:
                    m.read = m.delivered = True
            return await self._deliver_now(
                kind, thread, from_buyer(psid, page, now, read={"watermark": watermark}), None
            )
        if kind == "delivery":
            pending = [m for m in thread.messages if m.sender == "page" and not m.delivered]
            mids = list(fields.get("mids") or [m.mid for m in pending])
            for m in thread.messages:
                if m.mid in mids:
                    m.delivered = True
            watermark = int(fields.get("watermark") or now)
            return await self._deliver_now(kind, thread, delivery_event(psid, page, mids, watermark), None)
        if kind == "reaction":
            return await self._reaction(thread, fields, now)
        if kind == "edit":
            return await self._edit(thread, fields, now)
        if kind == "referral":
            referral = {
                "ref": fields.get("ref")
                if fields.get("ref") is not None
                else _default_ref(self.config.listing_id),
                "source": fields.get("source") or "SHORTLINK",
                "type": "OPEN_THREAD",
            }
            if fields.get("ad_id") is not None:
                referral["ad_id"] = fields["ad_id"]
            thread.last_interaction_ms = now
            return await self._deliver_now(kind, thread, from_buyer(psid, page, now, referral=referral), None)
        raise SimulatorInputError(f"unsupported event type {kind!r}")

    async def _reaction(self, thread: BuyerThread, fields: dict[str, Any], now: int) -> DeliveryResult:
        mid = fields.get("mid")
        target = thread.find(mid) if mid else thread.last_from("page")
        if target is None:
            raise SimulatorInputError("no message to react to", status=404)
        action = fields.get("action") or "react"
        name = fields.get("reaction") or "love"
        body: dict[str, Any] = {"mid": target.mid, "action": action}
        if action == "react":
            body["reaction"] = name if name in REACTION_EMOJI else "other"
            body["emoji"] = fields.get("emoji") or REACTION_EMOJI.get(name, name)
            target.reactions = [{"reaction": body["reaction"], "emoji": body["emoji"]}]
        else:
            target.reactions = []
        thread.last_interaction_ms = now
        event = from_buyer(thread.psid, self.page_of(thread), now, reaction=body)
        return await self._deliver_now("reaction", thread, event, target.mid)

    async def _edit(self, thread: BuyerThread, fields: dict[str, Any], now: int) -> DeliveryResult:
        mid, text = fields.get("mid"), fields.get("text")
        if not text:
            raise SimulatorInputError("edit needs the new text")
        target = thread.find(mid) if mid else thread.last_from("buyer")
        if target is None or target.sender != "buyer" or target.kind != "message":
            raise SimulatorInputError("a buyer can only edit their own messages", status=404)
        if target.edits >= MAX_EDITS:
            raise SimulatorInputError(f"a message can be edited at most {MAX_EDITS} times")
        target.edits += 1
        target.text = text
        thread.last_interaction_ms = now
        body = {"mid": target.mid, "text": text, "num_edit": target.edits}
        event = from_buyer(thread.psid, self.page_of(thread), now, message_edit=body)
        return await self._deliver_now("edit", thread, event, target.mid)

    # --- page side -------------------------------------------------------------------------------

    def record_page_message(
        self,
        thread: BuyerThread,
        message: dict[str, Any],
        *,
        source: str,
        app_id: int | str,
    ) -> ThreadMessage:
        """Store a Page message (bot or inbox) and queue its echo and delivery webhooks."""
        now = self.state.now_ms()
        attachment = message.get("attachment")
        stored = ThreadMessage(
            mid=new_mid(),
            sender="page",
            source="inbox" if source == "inbox" else "bot",
            timestamp_ms=now,
            text=message.get("text"),
            quick_replies=list(message.get("quick_replies") or []),
            attachments=[attachment] if isinstance(attachment, dict) else [],
            metadata=message.get("metadata"),
            app_id=app_id if isinstance(app_id, int) else None,
        )
        thread.messages.append(stored)
        thread.typing = False
        emit_echo = self.config.emit_echoes
        if emit_echo:
            echo: dict[str, Any] = {"mid": stored.mid, "is_echo": True, "app_id": app_id}
            if stored.metadata is not None:
                echo["metadata"] = stored.metadata
            if stored.text is not None:
                echo["text"] = stored.text
            if stored.attachments:
                echo["attachments"] = [_echo_attachment(a) for a in stored.attachments]
            event = echo_event(self.page_of(thread), thread.psid, now, echo)
            self.deliverer.enqueue("echo", thread.psid, self._wrap(thread, event))
        if self.config.emit_deliveries:
            stored.delivered = True
            event = delivery_event(thread.psid, self.page_of(thread), [stored.mid], now)
            self.deliverer.enqueue("delivery", thread.psid, self._wrap(thread, event))
        return stored

    def inbox_message(self, psid: str, text: str) -> ThreadMessage:
        """The seller types in Page Inbox: stored, echoed with the Page Inbox app id."""
        thread = self.state.thread(psid)
        if thread is None:
            raise SimulatorInputError(f"unknown buyer {psid}", status=404)
        return self.record_page_message(thread, {"text": text}, source="inbox", app_id=PAGE_INBOX_APP_ID)

    async def inbox_handover(self, psid: str, action: str, metadata: str | None) -> DeliveryResult:
        """Page Inbox takes, passes back or requests thread control; the agent is notified."""
        thread = self.state.thread(psid)
        if thread is None:
            raise SimulatorInputError(f"unknown buyer {psid}", status=404)
        ours = app_id_value(self.config.app_id)
        body: dict[str, Any]
        if action == "take_thread_control":
            thread.owner_app_id = PAGE_INBOX_APP_ID
            body = {"previous_owner_app_id": ours, "new_owner_app_id": PAGE_INBOX_APP_ID}
        elif action == "pass_thread_control":
            thread.owner_app_id = None
            body = {"previous_owner_app_id": PAGE_INBOX_APP_ID, "new_owner_app_id": ours}
        elif action == "request_thread_control":
            body = {"requested_owner_app_id": PAGE_INBOX_APP_ID}
        else:
            raise SimulatorInputError(f"unsupported handover action {action!r}")
        if metadata is not None:
            body["metadata"] = metadata
        now = self.state.now_ms()
        self.state.handover_log.append({"at_ms": now, "psid": psid, "by": "inbox", "action": action, **body})
        event = {
            "sender": {"id": psid},
            "recipient": {"id": self.page_of(thread)},
            "timestamp": now,
            action: body,
        }
        record = await self.deliverer.deliver(action, psid, self._wrap(thread, event, "messaging"))
        return DeliveryResult(status=record.status or 0, mid=None, error=record.error)


def _default_ref(listing_id: int | None) -> str | None:
    return str(listing_id) if listing_id is not None else None


def _buttons_of(attachments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    buttons: list[dict[str, Any]] = []
    for att in attachments:
        payload = att.get("payload") if isinstance(att, dict) else None
        if not isinstance(payload, dict):
            continue
        buttons.extend(b for b in payload.get("buttons") or [] if isinstance(b, dict))
        for element in payload.get("elements") or []:
            if isinstance(element, dict):
                buttons.extend(b for b in element.get("buttons") or [] if isinstance(b, dict))
    return buttons


def _walk_menu(items: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            found.append(item)
            found.extend(_walk_menu(item.get("call_to_actions")))
    return found


def _echo_attachment(attachment: dict[str, Any]) -> dict[str, Any]:
    """Echoes carry templates as ``{"type": "template", "payload": ...}`` and media by URL."""
    if attachment.get("type") == "template":
        return {"type": "template", "payload": attachment.get("payload")}
    payload = attachment.get("payload") or {}
    return {"type": attachment.get("type"), "payload": {"url": payload.get("url")}}
