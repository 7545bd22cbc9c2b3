"""The chat and inbox pages in headless Chromium, against a real uvicorn server.

A tiny fake agent answers every buyer text through the real Send API (over HTTP) with
quick replies, so the test covers page → JSON API → signed webhook → Send API → page.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response

from accorria_agent.simulator import Simulator

from .helpers import CONFIG, PAGE_TOKEN, V

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("ACCORRIA_REQUIRE_SERVICES") == "1":
            pytest.fail("chromium missing (ACCORRIA_REQUIRE_SERVICES=1 forbids skipping)")
        pytest.skip("chromium not installed")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    received: list[dict[str, Any]] = []
    from dataclasses import replace

    sim = Simulator(replace(CONFIG, webhook_url=f"{base}/webhook"), httpx.AsyncClient())
    app = FastAPI()
    app.include_router(sim.graph_router, prefix="/graph")
    app.include_router(sim.ui_router, prefix="/simulator")
    tasks: set[asyncio.Task[None]] = set()

    async def reply(psid: str, text: str) -> None:
        message = {
            "text": f"Bot heard: {text}",
            "quick_replies": [{"content_type": "text", "title": "Test drive", "payload": "TEST_DRIVE"}],
        }
        async with httpx.AsyncClient() as c:
            await c.post(
                f"{base}/graph/{V}/me/messages",
                params={"access_token": PAGE_TOKEN},
                json={"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": message},
            )

    @app.post("/webhook")
    async def webhook(request: Request) -> Response:
        payload = await request.json()
        for entry in payload["entry"]:
            for event in entry.get("messaging", []):
                received.append(event)
                message = event.get("message", {})
                if "text" in message and not message.get("is_echo") and "quick_reply" not in message:
                    task = asyncio.create_task(reply(event["sender"]["id"], message["text"]))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
        return Response("EVENT_RECEIVED")

    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uv.started
    yield f"{base}/simulator", received
    uv.should_exit = True
    thread.join(timeout=10)


def test_chat_and_inbox_pages(server: tuple[str, list[dict[str, Any]]]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, received = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(f"{base}/")
        page.fill("#psid-input", "5550001")
        page.fill("#name-input", "<b>Eve</b> 🚗")
        page.fill("#message-input", "Is the <i>Civic</i> available?")
        page.click("#send-button")
        expect(page.locator(".message.from-buyer").first).to_have_text("Is the <i>Civic</i> available?")
        expect(page.locator(".message.from-page").first).to_contain_text("Bot heard: Is the <i>Civic</i>")
        page.locator(".quick-reply", has_text="Test drive").click()
        expect(page.locator(".message.from-buyer")).to_have_count(2)
        expect(page.locator(".message.from-buyer").nth(1)).to_have_text("Test drive")
        assert page.locator("b, i").count() == 0  # data never became markup

        inbox = browser.new_page()
        inbox.goto(f"{base}/inbox")
        inbox.locator(".thread-item", has_text="<b>Eve</b>").click()
        inbox.fill("#inbox-input", "Hi, Sam the owner here")
        inbox.click("#inbox-send")
        expect(page.locator(".message.from-page", has_text="Sam the owner")).to_have_count(1)
        browser.close()
    quick = [e for e in received if e.get("message", {}).get("quick_reply")]
    assert quick[0]["message"]["quick_reply"] == {"payload": "TEST_DRIVE"}
    echoes = [e["message"] for e in received if e.get("message", {}).get("is_echo")]
    assert any(m["app_id"] == 263902037430900 for m in echoes)
