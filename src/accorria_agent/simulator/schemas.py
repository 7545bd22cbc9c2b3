"""Pydantic request bodies of the simulator's JSON API (``/simulator/api/...``).

Every model forbids unknown keys and bounds every string, so hostile input is a 400
with a readable message instead of a crash or an unbounded allocation.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .config import LIKE_STICKER_ID

PSID_RE = re.compile(r"^[0-9]{1,32}$")
MAX_BUYER_TEXT = 20_000
MEDIA_URL = "https://scontent.xx.fbcdn.net/v/simulated/{kind}"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=MAX_BUYER_TEXT)


class BuyerAttachmentIn(_Body):
    """An attachment a buyer sends (``type`` as in Messenger webhooks, plus ``sticker``)."""

    type: Literal["image", "video", "audio", "file", "sticker", "location", "fallback"]
    url: str | None = Field(default=None, max_length=2048)
    title: str | None = Field(default=None, max_length=200)
    lat: float | None = Field(default=None, ge=-90, le=90)
    long: float | None = Field(default=None, ge=-180, le=180)
    sticker_id: int | None = Field(default=None, ge=1)

    def to_webhook(self) -> dict[str, Any]:
        """The attachment as it appears in ``message.attachments`` of a webhook."""
        if self.type == "location":
            coords = {
                "lat": self.lat if self.lat is not None else 42.3314,
                "long": self.long if self.long is not None else -83.0458,
            }
            return {
                "type": "location",
                "title": self.title or "Pinned Location",
                "payload": {"coordinates": coords},
            }
        if self.type == "sticker":
            sticker = self.sticker_id or LIKE_STICKER_ID
            return {
                "type": "image",
                "payload": {"url": self.url or MEDIA_URL.format(kind="sticker.png"), "sticker_id": sticker},
            }
        if self.type == "fallback":
            return {"type": "fallback", "payload": {"url": self.url, "title": self.title}}
        return {"type": self.type, "payload": {"url": self.url or MEDIA_URL.format(kind=self.type)}}


class ReferralIn(_Body):
    """A referral attached to a postback (e.g. Get Started from an m.me link)."""

    ref: str | None = Field(default=None, max_length=250)
    source: Literal["SHORTLINK", "ADS", "MESSENGER_CODE", "DISCOVER_TAB", "CUSTOMER_CHAT_PLUGIN"] = (
        "SHORTLINK"
    )
    type: Literal["OPEN_THREAD"] = "OPEN_THREAD"
    ad_id: str | None = Field(default=None, max_length=64)


class BuyerMessageIn(_Body):
    """``POST /api/buyers/{psid}/messages``."""

    text: str | None = None
    quick_reply: str | None = Field(default=None, min_length=1, max_length=1000)
    postback: str | None = Field(default=None, min_length=1, max_length=1000)
    title: str | None = Field(default=None, max_length=100)
    name: str | None = Field(default=None, max_length=100)
    attachment: BuyerAttachmentIn | None = None
    attachments: list[BuyerAttachmentIn] | None = Field(default=None, max_length=10)
    like: bool = False
    reply_to: str | None = Field(default=None, max_length=200)
    referral: ReferralIn | None = None
    #: The Page the buyer writes to (one of the simulated user's Pages); default: the configured Page.
    page_id: str | None = Field(default=None, pattern=r"^[0-9]{1,20}$")

    @model_validator(mode="after")
    def _one_kind(self) -> BuyerMessageIn:
        if self.postback is not None and (
            self.text or self.quick_reply or self.all_attachments() or self.like
        ):
            raise ValueError("a postback cannot be combined with text, quick_reply, attachments or like")
        if not (self.text or self.quick_reply or self.postback or self.all_attachments() or self.like):
            raise ValueError("give text, quick_reply, postback, attachment(s) or like")
        return self

    def all_attachments(self) -> list[dict[str, Any]]:
        """``attachment`` and ``attachments`` merged, in webhook shape."""
        items = ([self.attachment] if self.attachment else []) + list(self.attachments or [])
        return [a.to_webhook() for a in items]


class BuyerEventIn(_Body):
    """``POST /api/buyers/{psid}/events``."""

    type: Literal["read", "delivery", "reaction", "edit", "referral", "postback"]
    mid: str | None = Field(default=None, max_length=200)
    mids: list[str] | None = Field(default=None, max_length=100)
    watermark: int | None = Field(default=None, ge=0, le=10**15)
    reaction: Literal["love", "smile", "wow", "sad", "angry", "like", "dislike", "other"] | None = None
    emoji: str | None = Field(default=None, max_length=16)
    action: Literal["react", "unreact"] | None = None
    text: str | None = None
    ref: str | None = Field(default=None, max_length=250)
    source: Literal["SHORTLINK", "ADS", "MESSENGER_CODE", "DISCOVER_TAB", "CUSTOMER_CHAT_PLUGIN"] | None = (
        None
    )
    ad_id: str | None = Field(default=None, max_length=64)
    payload: str | None = Field(default=None, min_length=1, max_length=1000)
    title: str | None = Field(default=None, max_length=100)
    name: str | None = Field(default=None, max_length=100)


class InboxMessageIn(_Body):
    """``POST /api/inbox/{psid}/messages`` — what the seller types in Page Inbox."""

    text: str = Field(min_length=1, max_length=2000)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text must not be blank")
        return value


class HandoverIn(_Body):
    """``POST /api/inbox/{psid}/handover`` — Page Inbox takes/passes/requests control."""

    action: Literal["take_thread_control", "pass_thread_control", "request_thread_control"]
    metadata: str | None = Field(default=None, max_length=1000)


class FaultsIn(_Body):
    """``POST /api/faults``."""

    error_rate: float = Field(ge=0, le=1)
    kinds: list[Literal["5xx", "timeout", "613", "190"]] = Field(default=["5xx"], min_length=1, max_length=4)
    timeout_seconds: float = Field(default=30.0, ge=0, le=600)
    seed: int | None = None

    @field_validator("error_rate", "timeout_seconds")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


class ClockIn(_Body):
    """``POST /api/clock`` — move the simulated clock forward (never backward)."""

    advance_seconds: float = Field(ge=0, le=10 * 365 * 24 * 3600)

    @field_validator("advance_seconds")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value
