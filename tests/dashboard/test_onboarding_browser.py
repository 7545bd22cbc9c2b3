"""Onboarding in headless Chromium against a real demo: sign up → the checklist → connect a Page in the
simulator's Login dialog → add the first listing (validation messages shown) → try the assistant in the
preview chat (nothing reaches Messenger) → go live; then, as that new seller, the live inbox: a buyer writes
in the simulator → the message appears without a reload → take over and reply → the buyer sees it → resume
→ the bot answers; and the same in co-pilot mode with an edited draft. No console error, no failed request
but the one deliberate 422."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.dashboard.test_dashboard_pages_browser import wait_until

pytestmark = pytest.mark.browser


def test_a_new_seller_goes_from_sign_up_to_a_live_listing(demo_server: str, browser_page: Any) -> None:
    page = browser_page
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.set_viewport_size({"width": 390, "height": 844})

    # 1. Sign up: the new account lands on the checklist (nothing is set up yet).
    page.goto(f"{demo_server}/auth/#signup")
    page.fill("#signup input[name=name]", "Dana Dealer")
    page.fill("#signup input[name=email]", "dana@example.test")
    page.fill("#signup input[name=password]", "a long enough password")
    page.click("#signup button[type=submit]")
    page.wait_for_selector("#onboarding", timeout=15_000)
    assert page.locator("#onboarding .step.done").count() == 1  # the account only

    # 2. Connect a Page through the simulator's Login dialog.
    page.click("#onboarding a[href='/connect/facebook']")
    page.click("#continue", timeout=10_000)
    page.wait_for_selector("#connect", timeout=10_000)
    # The choice form, posted natively by the browser: it repeats the session's CSRF token as a field
    # (Chromium sends "Origin: null" under the page's no-referrer policy, so the token decides).
    assert page.locator("form input[name=csrf_token]").get_attribute("value")
    page.click("#connect")
    page.wait_for_selector("[data-result='connected']", timeout=10_000)
    page.goto(f"{demo_server}/dashboard/#/start")
    page.wait_for_selector("#onboarding .step.done >> nth=1", timeout=10_000)

    # 3. The first listing: a bad form shows the API's reason, a good one is saved.
    page.goto(f"{demo_server}/dashboard/#/listings/new")
    page.fill("#listing-year", "2017")
    page.fill("#listing-make", "Mazda")
    page.fill("#listing-model", "CX-5")
    page.fill("#listing-asking-price", "15000")
    page.fill("#listing-price-floor", "16000")  # above the asking price: refused
    page.click("#listing-form button[type=submit]")
    page.wait_for_selector("#listing-status.error", timeout=10_000)
    assert "price_floor" in page.inner_text("#listing-status")
    # The browser logs that deliberate 422 as a failed resource; nothing else may fail.
    assert [p for p in problems if "422" not in p] == []
    problems.clear()
    page.fill("#listing-price-floor", "13500")
    page.click("#listing-form button[type=submit]")
    page.wait_for_url(re.compile(r".*#/listings/\d+$"), timeout=10_000)
    listing_id = page.evaluate("location.hash.split('/')[2]")

    # 4. Try the assistant: a lowball gets a counter at or above the floor; nothing goes to Messenger.
    sent_before = len(httpx.get(f"{demo_server}/simulator/api/sent", timeout=5).json())
    page.goto(f"{demo_server}/dashboard/#/start/preview/{listing_id}")
    page.fill("#preview-input", "Would you take 9000?")
    page.click("#preview-form button[type=submit]")
    reply = page.wait_for_selector("#preview-messages .message.from-bot", timeout=10_000).inner_text()
    assert "13,500" not in reply and "9,000" not in reply
    assert len(httpx.get(f"{demo_server}/simulator/api/sent", timeout=5).json()) == sent_before

    # 5. Go live: the checklist shows the Page connected, the listing and its rules, and live.
    page.goto(f"{demo_server}/dashboard/#/start")
    page.wait_for_selector("#onboarding", timeout=10_000)
    page.wait_for_timeout(300)
    assert page.locator("#onboarding .step.done").count() == 5  # all but "try" (a rehearsal leaves no trace)
    assert [p for p in problems if "422" not in p] == []
    problems.clear()

    # 6. Live: a buyer writes to the Page just connected; the conversation appears without a reload.
    page_id = page.evaluate("fetch('/api/settings').then((r) => r.json()).then((b) => b[0].page_id)")
    psid = "77001"
    page.goto(f"{demo_server}/dashboard/#/inbox")
    page.wait_for_selector("#view > *", timeout=10_000)
    page.evaluate("window.__noReload = true")
    say(demo_server, psid, "Hi, is the Mazda CX-5 still available?", page_id)
    page.wait_for_selector(".conversation-item", timeout=15_000).inner_text()
    page.click(".conversation-item a")
    page.wait_for_selector(".message.from-buyer:has-text('CX-5')", timeout=10_000)
    page.wait_for_selector(".message.from-bot", timeout=15_000)

    # 7. Take over and reply: the buyer sees it in the simulator's chat.
    page.click("#pause-button")
    page.wait_for_selector("#conversation-mode .mode-paused", timeout=10_000)
    reply = "Dana here: yes, it is. Come and see it."
    page.fill("#reply-input", reply)
    page.click("#reply-send")
    page.wait_for_selector("#reply-status:has-text('Sent')", timeout=10_000)
    wait_until(lambda: reply in chat(demo_server, psid), "the seller's reply")

    # 8. Resume: the bot answers the buyer's next message.
    bot_texts = len(chat(demo_server, psid))
    page.click("#resume-button")
    page.wait_for_selector("#conversation-mode .mode-bot", timeout=10_000)
    say(demo_server, psid, "Does it have a backup camera?", page_id)
    wait_until(lambda: len(chat(demo_server, psid)) > bot_texts, "the bot's answer")

    # 9. Co-pilot: the bot's draft waits in the thread; the seller edits it and sends; the buyer sees it.
    page.goto(f"{demo_server}/dashboard/#/settings")
    page.wait_for_selector("select[name=reply_mode]", timeout=10_000).select_option("copilot")
    page.click("form.card button[type=submit]")
    page.wait_for_selector("form.card .status:has-text('Settings saved')", timeout=10_000)
    page.goto(f"{demo_server}/dashboard/#/inbox")
    page.wait_for_selector(".conversation-item", timeout=10_000)
    page.click(".conversation-item a")
    before = chat(demo_server, psid)
    say(demo_server, psid, "Would you take 14000?", page_id)
    page.wait_for_selector("#draft-box:not([hidden])", timeout=15_000)
    assert chat(demo_server, psid) == before  # a draft reaches nobody
    edit = "Thanks! I could do $14,800 for the CX-5, it is in great shape."
    page.fill("#draft-text", edit)
    page.click("#draft-send")
    page.wait_for_selector("#reply-status:has-text('Draft sent')", timeout=10_000)
    wait_until(lambda: chat(demo_server, psid) == [*before, edit], "the edited draft in the buyer's chat")
    assert page.evaluate("window.__noReload") is True  # all of steps 6-9 without a reload
    assert problems == []


def say(base: str, psid: str, text: str, page_id: str) -> None:
    """The buyer ``psid`` writes ``text`` to the Page ``page_id`` in the simulator."""
    answer = httpx.post(
        f"{base}/simulator/api/buyers/{psid}/messages", json={"text": text, "page_id": page_id}, timeout=10
    )
    assert answer.json()["status"] == 200, answer.text


def chat(base: str, psid: str) -> list[str]:
    """What the Page has said to ``psid`` in the simulator's chat, oldest first."""
    thread = httpx.get(f"{base}/simulator/api/threads/{psid}", timeout=5).json()
    return [m["text"] or "" for m in thread["messages"] if m["from"] == "page"]
