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
    # The fault harness serves 1,000 tenants with one configured token: let it act for every Page's
    # threads. Off everywhere else, so the demo still refuses a token used on another Page's buyer.
    token_acts_for_every_page: bool = False
