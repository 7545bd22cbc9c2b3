"""Pydantic shapes of the Pages API (``/api/pages``): never a token."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ConnectedPage(BaseModel):
    """One Page of this account, as ``GET /api/pages`` lists it."""

    page_id: str
    name: str
    status: str
    status_reason: str | None
    token_expires_at: datetime | None
    token_checked_at: datetime | None
    granted_scopes: list[str]
    connected_at: datetime | None


class AvailablePage(BaseModel):
    """A Page the person just granted (``GET /api/pages/available``); ``connected`` says to whom."""

    page_id: str
    name: str
    tasks: list[str]
    # "this_account" | "another_account" | None (not connected anywhere)
    connected: str | None


class AvailablePages(BaseModel):
    """The Pages of the latest grant, and the permissions granted with it."""

    grant_id: int
    expires_at: datetime
    granted_scopes: list[str]
    pages: list[AvailablePage]


class ConnectRequest(BaseModel):
    """``POST /api/pages``: which of the granted Pages to connect."""

    model_config = ConfigDict(extra="forbid")

    page_ids: list[str] = Field(min_length=1, max_length=100)


class ConnectOutcome(BaseModel):
    """What happened to one chosen Page: connected, reconnected, or refused (and why)."""

    page_id: str
    name: str
    # connected | reconnected | refused | failed
    result: str
    detail: str | None = None


class ConnectResult(BaseModel):
    """``POST /api/pages`` answer."""

    pages: list[ConnectOutcome]
