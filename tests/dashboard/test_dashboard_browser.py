"""The seller opens the dashboard of a real ``accorria-agent demo`` in headless Chromium and replies."""

from __future__ import annotations

import asyncio
import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from accorria_agent.dashboard.auth import dashboard_link
from accorria_agent.demo import DEMO_PAGE_ID
from accorria_agent.settings import Settings

pytestmark = pytest.mark.browser

HOSTILE = "<img src=x onerror=\"document.title='pwned'\"> is it available?"


def demo_sign_in_link(data_dir: Path, base: str) -> str:
    """A one-time sign-in link like the one the demo prints (the fixture keeps stdout to itself)."""
    settings = Settings(_env_file=None, ACCORRIA_DATA_DIR=str(data_dir))
    # Playwright's sync API runs an event loop in this thread: make the link in another one.
    with ThreadPoolExecutor(1) as pool:
        link = pool.submit(
            asyncio.run, dashboard_link(settings, base, DEMO_PAGE_ID, timedelta(minutes=10))
        ).result()
    assert link is not None and "/auth/link?token=" in link
    return link


def page_texts(base: str, psid: str) -> list[str]:
    thread = httpx.get(f"{base}/simulator/api/threads/{psid}", timeout=5).json()
    return [m["text"] or "" for m in thread["messages"] if m["from"] == "page"]


def test_the_seller_sees_a_buyer_and_replies_from_the_dashboard(
    demo_server: str, browser_page: Any, tmp_path: Path
) -> None:
    page = browser_page
    link = demo_sign_in_link(tmp_path / "data", demo_server)
    answer = httpx.post(
        f"{demo_server}/simulator/api/buyers/9201/messages", json={"text": HOSTILE}, timeout=10
    )
    assert answer.json()["status"] == 200

    page.goto(link)
    item = page.wait_for_selector(".conversation-item", timeout=10_000)
    assert "window closes in 23 h" in item.inner_text() or "window closes in 24 h" in item.inner_text()
    assert page.url == f"{demo_server}/dashboard/"  # the link's token is not in the address bar
    # The session cookie is HttpOnly: the page's scripts cannot read it, only the CSRF cookie.
    assert "accorria_session" not in page.evaluate("document.cookie")
    assert "accorria_csrf=" in page.evaluate("document.cookie")
    page.click(".conversation-item")  # by selector: the 2-second poll re-renders the list
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


def test_the_dashboard_without_a_session_asks_to_sign_in(
    demo_server: str, browser_page: Any, tmp_path: Path
) -> None:
    page = browser_page
    page.goto(f"{demo_server}/dashboard/")
    page.wait_for_selector("#auth-error", state="visible", timeout=10_000)
    link = demo_sign_in_link(tmp_path / "data", demo_server)
    page.goto(link)
    page.wait_for_selector(".conversation-item, #conversation-empty", timeout=10_000)
    # The link is single-use: a second visit (e.g. from another browser) is refused.
    page.context.clear_cookies()
    page.goto(link)
    assert "/auth/" in page.url and "error=invalid_token" in page.url
    # The sign-in page is styled by its own stylesheet (the CSP allows 'self' styles only), readable on a
    # phone, and passes the accessibility check.
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_selector("#message.error", timeout=10_000)
    form_style = "getComputedStyle(document.querySelector('form:not([hidden])')).backgroundColor"
    assert page.evaluate(form_style) == "rgb(255, 255, 255)"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    from tests.dashboard.test_dashboard_pages_browser import serious_axe_violations  # it imports this module

    assert serious_axe_violations(page) == []
    shots = os.environ.get("ACCORRIA_SCREENSHOTS")
    if shots:
        page.screenshot(path=str(Path(shots) / "sign-in-phone.png"), full_page=True)
    page.goto(f"{demo_server}/dashboard/")
    page.wait_for_selector("#auth-error", state="visible", timeout=10_000)
    assert page.query_selector(".conversation-item") is None
