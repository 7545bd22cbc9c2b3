"""The seller opens the dashboard of a real ``accorria-agent demo`` in headless Chromium and replies."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from accorria_agent.dashboard.auth import issue_seller_token
from accorria_agent.demo import DEMO_PAGE_ID
from accorria_agent.settings import Settings

pytestmark = pytest.mark.browser

HOSTILE = "<img src=x onerror=\"document.title='pwned'\"> is it available?"


def demo_token(data_dir: Path) -> str:
    """The token the demo prints, rebuilt from its data directory (the fixture keeps stdout to itself)."""
    stored = json.loads((data_dir / "demo-secrets.json").read_text())
    secret = os.environ.get("JWT_SECRET") or stored["jwt_secret"]
    with sqlite3.connect(data_dir / "accorria.db") as db:
        (seller_id,) = db.execute(
            "SELECT seller_id FROM messenger_tenants WHERE page_id = ?", (DEMO_PAGE_ID,)
        ).fetchone()
    settings = Settings(_env_file=None, JWT_SECRET=secret)
    return issue_seller_token(settings, int(seller_id), timedelta(minutes=10))


def page_texts(base: str, psid: str) -> list[str]:
    thread = httpx.get(f"{base}/simulator/api/threads/{psid}", timeout=5).json()
    return [m["text"] or "" for m in thread["messages"] if m["from"] == "page"]


def test_the_seller_sees_a_buyer_and_replies_from_the_dashboard(
    demo_server: str, browser_page: Any, tmp_path: Path
) -> None:
    page = browser_page
    token = demo_token(tmp_path / "data")
    answer = httpx.post(
        f"{demo_server}/simulator/api/buyers/9201/messages", json={"text": HOSTILE}, timeout=10
    )
    assert answer.json()["status"] == 200

    page.goto(f"{demo_server}/dashboard/#token={token}")
    item = page.wait_for_selector(".conversation-item", timeout=10_000)
    assert "window closes in 23 h" in item.inner_text() or "window closes in 24 h" in item.inner_text()
    assert token not in page.url  # the token left the address bar at once
    item.click()
    buyer = page.wait_for_selector(".message.from-buyer", timeout=10_000)
    # The buyer's markup is shown as text and never runs.
    assert "<img src=x" in buyer.inner_text()
    assert page.query_selector("#messages img") is None
    assert page.title() != "pwned"
    page.wait_for_selector(".message.from-bot", timeout=15_000)

    page.fill("#reply-input", "Hi, the owner here. Yes, it's available!")
    page.click("#reply-send")
    page.wait_for_selector("#reply-status:has-text('Sent')", timeout=10_000)
    page.wait_for_selector(".message.from-seller", timeout=10_000)
    page.wait_for_selector("#conversation-mode .mode-paused", timeout=10_000)

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if "Hi, the owner here. Yes, it's available!" in page_texts(demo_server, "9201"):
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the seller's reply never reached the buyer's thread: {page_texts(demo_server, '9201')}")
    sent = httpx.get(f"{demo_server}/simulator/api/sent", params={"recipient": "9201"}, timeout=5).json()
    seller_send = [s for s in sent if (s["message"] or {}).get("text", "").startswith("Hi, the owner")]
    assert [(s["messaging_type"], s["tag"], s["status"]) for s in seller_send] == [("RESPONSE", None, 200)]


def test_the_dashboard_without_a_token_asks_for_a_session_link(demo_server: str, browser_page: Any) -> None:
    page = browser_page
    page.goto(f"{demo_server}/dashboard/")
    page.wait_for_selector("#auth-error", state="visible", timeout=10_000)
    page.goto(f"{demo_server}/dashboard/#token=forged.token.value")
    page.wait_for_selector("#auth-error", state="visible", timeout=10_000)
    assert page.query_selector(".conversation-item") is None
