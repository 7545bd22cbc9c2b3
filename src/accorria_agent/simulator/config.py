"""Configuration of the Messenger simulator (the fake Page, app and webhook target)."""

from __future__ import annotations

from dataclasses import dataclass

#: App id Meta uses for messages a human types in Page Inbox / Meta Business Suite.
PAGE_INBOX_APP_ID = 263902037430900

#: Sticker id of the Messenger "like" (thumbs-up) sticker.
LIKE_STICKER_ID = 369239263222822


@dataclass(frozen=True)
class SimulatorConfig:
    """Identity of the simulated Page/app and where signed webhooks are delivered.

    ``page_access_token`` and ``app_secret`` are secrets: they are compared and used
    for signing, never logged or echoed back by any endpoint.
    """

    app_id: str
    app_secret: str
    page_id: str
    page_name: str
    page_access_token: str
    listing_id: int | None
    webhook_url: str
    graph_version: str = "v23.0"
    emit_echoes: bool = True
    emit_deliveries: bool = True
