"""Helpers for the Facebook-connect tests: a new seller signed in, and one full trip through the dialog."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from accorria_agent.dashboard.auth import issue_seller_token
from accorria_agent.db.engine import transaction
from accorria_agent.pages.service import REQUIRED_SCOPES
from accorria_agent.sellers import service as sellers
from tests.sim_harness import BASE, SimHarness

LOT_A = "200000000000001"
LOT_B = "200000000000002"
LOGIN_URL = f"{BASE}/simulator/oauth/dialog"


async def new_seller(h: SimHarness, name: str) -> tuple[int, dict[str, str]]:
    """A seller account with no Page yet, and the headers of its signed-in owner."""
    async with transaction(h.runtime.session_factory) as session:
        seller = await sellers.create_seller(session, name, f"{name.lower().replace(' ', '-')}@example.com")
        seller_id = seller.id
    token = issue_seller_token(h.runtime.settings, seller_id, timedelta(hours=1))
    return seller_id, {"Authorization": f"Bearer {token}"}


def add_lots(h: SimHarness) -> None:
    """The simulated Facebook user manages two more Pages."""
    h.sim.state.add_page("Lot A Cars", LOT_A)
    h.sim.state.add_page("Lot B Motors", LOT_B)


async def start(h: SimHarness, headers: dict[str, str], **params: str) -> dict[str, str]:
    """``GET /connect/facebook`` → the dialog's query parameters (asserting the redirect)."""
    response = await h.client.get("/connect/facebook", headers=headers, params=params)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(LOGIN_URL + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def authorize(
    h: SimHarness,
    dialog: dict[str, str],
    pages: list[str],
    scopes: list[str] | tuple[str, ...] = REQUIRED_SCOPES,
    **extra: Any,
) -> str:
    """The simulator's dialog automation → the callback URL (path and query on the agent)."""
    response = await h.client.post(
        "/simulator/api/oauth/authorize",
        json={
            "state": dialog["state"],
            "redirect_uri": dialog["redirect_uri"],
            "pages": pages,
            "granted_scopes": list(scopes),
            **extra,
        },
    )
    assert response.status_code == 200, response.text
    redirect: str = response.json()["redirect"]
    assert redirect.startswith(dialog["redirect_uri"])
    return redirect


async def callback(h: SimHarness, redirect: str, headers: dict[str, str]) -> httpx.Response:
    return await h.client.get(redirect, headers=headers)


async def connect(h: SimHarness, headers: dict[str, str], pages: list[str]) -> dict[str, Any]:
    """The whole happy path: dialog, callback, choice (JSON API); returns ``POST /api/pages``'s body."""
    dialog = await start(h, headers)
    response = await callback(h, await authorize(h, dialog, pages), headers)
    assert response.status_code == 200, response.text
    chosen = await h.client.post("/api/pages", json={"page_ids": pages}, headers=headers)
    assert chosen.status_code == 200, chosen.text
    body: dict[str, Any] = chosen.json()
    return body
