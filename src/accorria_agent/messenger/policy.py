"""Messenger policy at send time (pure): the 24-hour window and the ``HUMAN_AGENT`` tag.

Meta's rules: a Page may message a person within 24 hours of that person's last message
(``messaging_type=RESPONSE``). A *human* agent may answer up to 7 days after it with the
``HUMAN_AGENT`` tag (the feature must be enabled for the app). Automated messages never carry a tag.
Reads, deliveries and echoes do not reopen the window. What does: the person's messages, postbacks (Get
Started and other buttons) and following an m.me link into the thread (referral); the event handlers record
each as the buyer's last interaction. Meta also counts reactions; we deliberately do not (conservative).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
RETIRED_TAGS = frozenset({"ACCOUNT_UPDATE", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE"})


@dataclass(frozen=True)
class SendPermission:
    """Whether a message may be sent now, and how (``messaging_type`` and ``tag``)."""

    allowed: bool
    messaging_type: str | None = None
    tag: str | None = None
    reason: str | None = None


def send_permission(
    *,
    now: datetime,
    last_buyer_message_at: datetime | None,
    author: str,
    human_agent_tag_enabled: bool,
) -> SendPermission:
    """Decide at send time; ``author`` is ``bot`` or ``seller`` (a human typing in the dashboard)."""
    if last_buyer_message_at is None:
        return SendPermission(False, reason="the buyer has never written: no messaging window")
    elapsed = now - last_buyer_message_at
    if elapsed < timedelta(0):
        elapsed = timedelta(0)
    if elapsed <= STANDARD_WINDOW:
        return SendPermission(True, messaging_type="RESPONSE")
    if author == "seller" and human_agent_tag_enabled and elapsed <= HUMAN_AGENT_WINDOW:
        return SendPermission(True, messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")
    if author == "seller" and elapsed <= HUMAN_AGENT_WINDOW:
        return SendPermission(
            False, reason="outside the 24-hour window; enable the HUMAN_AGENT tag to reply for up to 7 days"
        )
    return SendPermission(
        False, reason="outside the messaging window (24 hours since the buyer's last message)"
    )


def window_expires_in(now: datetime, last_buyer_message_at: datetime | None) -> float:
    """Seconds left in the standard 24-hour window (0 when closed) — shown to the seller as ``expires_in``."""
    if last_buyer_message_at is None:
        return 0.0
    return max(0.0, (last_buyer_message_at + STANDARD_WINDOW - now).total_seconds())
