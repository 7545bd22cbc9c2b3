"""The rebuilt dashboard in headless Chromium against a real ``accorria-agent demo``.

One flow carries the issue's acceptance: a buyer writes in the simulator and the message appears in the
open dashboard without a reload (Server-Sent Events); the seller takes over and replies; the buyer sees
it in the simulator; the seller resumes; the bot answers the buyer's next message. Then every page at
390 × 844 (nothing scrolls sideways), hostile buyer names and texts rendered as text (a ``window.__xss``
canary stays unset), axe-core with no serious or critical violation, and no console error. With
``ACCORRIA_SCREENSHOTS=<dir>`` the test also saves each page at phone and desktop size there.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.dashboard.test_dashboard_browser import demo_sign_in_link, page_texts

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
XSS_NAME = '<img src=x onerror="window.__xss=1">Mallory'
XSS_TEXT = '<script>window.__xss=2</script><svg onload="window.__xss=3"> is the Civic available?'
PAGES = ["inbox", "inbox/{cid}", "listings", "listings/1", "listings/new", "settings", "analytics", "start"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}


def buyer_says(base: str, psid: str, text: str, name: str | None = None) -> None:
    body: dict[str, Any] = {"text": text}
    if name is not None:
        body["name"] = name
    answer = httpx.post(f"{base}/simulator/api/buyers/{psid}/messages", json=body, timeout=10)
    assert answer.json()["status"] == 200, answer.text


def wait_until(predicate: Any, what: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def serious_axe_violations(page: Any) -> list[str]:
    # Evaluated through the DevTools protocol: the page's strict CSP (rightly) refuses an inline script tag.
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate("(source) => (0, eval)(source)", AXE.read_text(encoding="utf-8"))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def sign_in_on_a_phone(page: Any, base: str, data_dir: Path) -> list[str]:
    """Sign the demo seller in at 390 × 844 and wait for the live stream; returns the page's problems
    as they come (console errors, page errors, failed requests)."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.set_viewport_size(PHONE)
    page.goto(demo_sign_in_link(data_dir, base))
    page.wait_for_selector("#live-state.live-on", timeout=15_000)  # the EventSource is open
    return errors


def test_live_inbox_takeover_reply_resume_and_every_page_on_a_phone(
    demo_server: str, browser_page: Any, tmp_path: Path
) -> None:
    page = browser_page
    errors = sign_in_on_a_phone(page, demo_server, tmp_path / "data")
    page.evaluate("window.__noReload = true")

    # 1. A buyer writes (hostile name and text): the conversation appears in the open inbox.
    buyer_says(demo_server, "9401", XSS_TEXT, name=XSS_NAME)
    item = page.wait_for_selector(".conversation-item", timeout=15_000)
    # (Names are not fetched from Meta's profile API yet; the hostile one is sent along regardless.)
    assert "9401" in item.inner_text() or "Mallory" in item.inner_text()
    cid = item.get_attribute("data-id")
    page.click(".conversation-item a")
    buyer = page.wait_for_selector(".message.from-buyer", timeout=10_000)
    assert "<script>window.__xss=2</script>" in buyer.inner_text()
    page.wait_for_selector(".message.from-bot", timeout=15_000)
    assert page.query_selector("#messages img, #messages svg, #messages script") is None

    # 2. The seller takes over and replies; the buyer sees it in the simulator's chat.
    page.click("#pause-button")
    page.wait_for_selector("#conversation-mode .mode-paused", timeout=10_000)
    page.fill("#reply-input", "Owner here: yes, come see it tomorrow.")
    page.click("#reply-send")
    page.wait_for_selector("#reply-status:has-text('Sent')", timeout=10_000)
    page.wait_for_selector(".message.from-seller", timeout=10_000)
    wait_until(
        lambda: "Owner here: yes, come see it tomorrow." in page_texts(demo_server, "9401"),
        "the seller's reply in the buyer's chat",
    )

    # 3. A buyer message while paused shows up live and gets no bot answer.
    bots_before = len(page.query_selector_all(".message.from-bot"))
    buyer_says(demo_server, "9401", "Great, what time works?")
    page.wait_for_selector(".message.from-buyer:has-text('what time works')", timeout=10_000)

    # 4. Resume: the bot answers the buyer's next message, live.
    page.click("#resume-button")
    page.wait_for_selector("#conversation-mode .mode-bot", timeout=10_000)
    buyer_says(demo_server, "9401", "Would you take 11000?")
    page.wait_for_selector(".message.from-buyer:has-text('11000')", timeout=10_000)
    wait_until(
        lambda: len(page.query_selector_all(".message.from-bot")) > bots_before, "the bot's answer", 20
    )
    assert page.evaluate("window.__noReload") is True  # all of the above without a reload

    # 5. Every page: no sideways scrolling at 390 px, no script from buyer data, axe clean.
    shots = os.environ.get("ACCORRIA_SCREENSHOTS")
    for viewport, label in ((PHONE, "phone"), (DESKTOP, "desktop")):
        page.set_viewport_size(viewport)
        for route in PAGES:
            path = route.format(cid=cid)
            page.goto(f"{demo_server}/dashboard/#/{path}")
            page.wait_for_selector("#view > *", timeout=10_000)
            page.wait_for_timeout(400)
            if label == "phone":
                width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
                assert width <= inner, f"{path} scrolls sideways at 390 px ({width} > {inner})"
                assert serious_axe_violations(page) == [], path
            if route == "listings/1":  # the QR code really renders (a namespaced SVG), not a broken image
                page.wait_for_function("document.querySelector('img.qr')?.complete", timeout=5000)
                assert page.evaluate("document.querySelector('img.qr').naturalWidth") > 0
            if shots:
                name = route.replace("/", "-").replace("{cid}", "thread")
                page.screenshot(path=str(Path(shots) / f"{name}-{label}.png"), full_page=label == "phone")
    assert page.evaluate("window.__xss") is None
    assert errors == []


def test_staff_never_see_the_floor_in_the_inbox(demo_server: str, tmp_path: Path) -> None:
    """The floor is in the owners' conversation view only (the API strips it for staff)."""
    link = demo_sign_in_link(tmp_path / "data", demo_server)
    with httpx.Client(base_url=demo_server, follow_redirects=True, timeout=10) as client:
        client.get(link)
        buyer_says(demo_server, "9402", "hi")
        wait_until(lambda: bool(client.get("/api/conversations").json()), "the conversation")
        (summary,) = client.get("/api/conversations").json()
        assert summary["listing"]["price_floor"] is not None  # the demo seller is an owner
        features = client.get("/api/dashboard/features").json()
        assert set(features) >= {"deals", "bookings", "analytics", "preview"}
        assert all(isinstance(v, bool) for v in features.values())
        assert features["preview"] and features["analytics"] and features["deals"]  # all on this server
        preview = client.post(
            "/api/listings/1/preview",
            json={"messages": ["hi"]},
            headers={"X-CSRF-Token": client.cookies.get("accorria_csrf") or ""},
        )
        assert preview.status_code == 200 and preview.json()["sent"] is False
