"""Notification preferences and the account webhook as the API reads and writes them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, HttpUrl, field_validator

from accorria_agent.notifications.models import NOTIFICATION_KINDS


class PreferencesIn(BaseModel):
    """Which kinds this member gets by email, and whether at once or in one mail a day."""

    email_kinds: list[str] = Field(max_length=len(NOTIFICATION_KINDS))
    email_mode: Literal["immediate", "digest", "off"]

    @field_validator("email_kinds")
    @classmethod
    def known_kinds(cls, kinds: list[str]) -> list[str]:
        unknown = sorted(set(kinds) - set(NOTIFICATION_KINDS))
        if unknown:
            raise ValueError(f"unknown kinds {unknown}; known: {list(NOTIFICATION_KINDS)}")
        return sorted(set(kinds), key=NOTIFICATION_KINDS.index)


class PreferencesOut(PreferencesIn):
    member_id: int
    available_kinds: list[str] = list(NOTIFICATION_KINDS)


class WebhookIn(BaseModel):
    """The account's outgoing webhook; the secret signs each POST (never shown back)."""

    url: HttpUrl
    secret: str = Field(min_length=16, max_length=200)
    enabled: bool = True


class WebhookOut(BaseModel):
    url: str | None
    enabled: bool
