"""A person playing the buyer in the simulator's chat page sees the agent's reply on that page."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.browser


def test_a_message_typed_in_the_chat_page_gets_the_agents_reply(demo_server: str, browser_page: Any) -> None:
    page = browser_page
    page.goto(f"{demo_server}/simulator/")
    page.fill("#message-input", "Hi, is the car still available?")
    page.click("#send-button")
    page.wait_for_selector(".message.from-buyer", timeout=10_000)
    reply = page.wait_for_selector(".message.from-page", timeout=15_000)
    text = reply.inner_text()
    assert "Civic" in text
    assert "automated assistant" in text
    buyer_text = page.inner_text(".message.from-buyer")
    assert "still available" in buyer_text
    # The same exchange is visible through the simulator's JSON API.
    state = httpx.get(f"{demo_server}/simulator/api/threads", timeout=5).json()
    assert state


def test_the_json_api_round_trip(demo_server: str) -> None:
    state = httpx.get(f"{demo_server}/simulator/api/state", timeout=5).json()
    assert state["page_id"] and state["listing_id"]
    answer = httpx.post(
        f"{demo_server}/simulator/api/buyers/9001/messages", json={"text": "hello"}, timeout=10
    )
    assert answer.json()["status"] == 200
    requests: list[dict[str, Any]] = []
    for _ in range(100):
        requests = httpx.get(
            f"{demo_server}/simulator/api/sent", params={"recipient": "9001"}, timeout=5
        ).json()
        if requests:
            break
        time.sleep(0.1)
    assert len(requests) == 1
    assert requests[0]["messaging_type"] == "RESPONSE"
    assert requests[0]["tag"] is None
    assert "Civic" in requests[0]["message"]["text"]
