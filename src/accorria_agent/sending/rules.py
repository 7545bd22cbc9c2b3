"""The pure rules of the send-time gate (``sending.delivery.OutboundDelivery.gate``): who may speak after a
takeover, the Send API body of a stored message, and why a Page may not send now."""

from __future__ import annotations

from typing import Any

from accorria_agent.messenger.send_api import UrlButton, button_template, text_message
from accorria_agent.sellers.models import MessengerTenant


def bot_may_speak(mode: str, payload: dict[str, Any]) -> bool:
    """Takeover is re-checked at send time: only the handoff notice may follow a handoff."""
    if mode == "bot":
        return True
    return mode == "handed_off" and bool(isinstance(payload, dict) and payload.get("handoff_notice"))


def message_body(text: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The Send API ``message``, validated against Messenger's limits before anything is sent."""
    buttons = payload.get("buttons") if isinstance(payload, dict) else None
    if buttons:
        # A button template (the escrow checkout link, deals.service): web_url buttons only.
        urls = [UrlButton(str(b.get("title", "")), str(b.get("url", ""))) for b in buttons]
        return dict(button_template(text, urls))
    quick = payload.get("quick_replies") if isinstance(payload, dict) else None
    pairs = [(str(pl), str(title)) for pl, title in quick] if quick else []
    return dict(text_message(text, pairs))


def hold_reason(tenant: MessengerTenant, halt_reason: str | None) -> str | None:
    """Why nothing may be sent now for this Page (kill switch, paused or disconnected Page), or ``None``.

    Both are read from the database with the message, right before every send, so a halt reaches every
    process at once.
    """
    if halt_reason is not None:
        return f"held: sending halted ({halt_reason})"
    if tenant.status != "active":
        return f"held: Page {tenant.status}"
    return None
