"""A deal through escrow in a real ``accorria-agent demo`` process (HTTP only, no browser)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

SOLD = "has just been sold"


def wait_for(probe: Callable[[], Any], seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def sent(base: str, psid: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = httpx.get(
        f"{base}/simulator/api/sent", params={"recipient": psid}, timeout=5
    ).json()
    return [e["message"] for e in entries if e.get("message") and e["status"] == 200]


def test_agree_pay_release_and_the_other_buyer_is_told_once(demo_server: str) -> None:
    base = demo_server
    say = f"{base}/simulator/api/buyers/{{}}/messages"
    assert (
        httpx.post(say.format("9101"), json={"text": "is it available?"}, timeout=10).json()["status"] == 200
    )
    wait_for(lambda: sent(base, "9101"))
    agreed = httpx.post(say.format("9102"), json={"text": "I'll take it for $12,500, deal"}, timeout=10)
    assert agreed.json()["status"] == 200

    (transaction,) = wait_for(lambda: httpx.get(f"{base}/simulator/api/escrow", timeout=5).json())
    button = wait_for(lambda: [m for m in sent(base, "9102") if "attachment" in m])[0]
    payload = button["attachment"]["payload"]
    assert payload["template_type"] == "button"
    assert payload["buttons"][0] == {
        "type": "web_url",
        "title": "Pay into escrow",
        "url": transaction["checkout_url"],
    }

    page = httpx.get(transaction["checkout_url"], timeout=5)
    assert page.status_code == 200 and "Pay $12,612.50" in page.text
    assert httpx.post(f"{transaction['checkout_url']}/pay", timeout=10).status_code == 303
    released = httpx.post(
        f"{base}/simulator/api/escrow/{transaction['id']}/status", json={"status": "released"}, timeout=10
    ).json()
    assert released["webhook"]["agent_status"] == 200
    (held,) = httpx.get(f"{base}/simulator/api/escrow", timeout=5).json()
    assert held["status"] == "released"
    assert [(w["status"], w["agent_status"]) for w in held["webhooks"]] == [
        ("funded", 200),
        ("released", 200),
    ]
    wait_for(lambda: [m for m in sent(base, "9101") if SOLD in m.get("text", "")])
    time.sleep(1.0)
    assert len([m for m in sent(base, "9101") if SOLD in m.get("text", "")]) == 1
    assert not [m for m in sent(base, "9102") if SOLD in m.get("text", "")]
