"""Hostile and malformed input: always a 4xx in the right format, never a 500."""

from __future__ import annotations

import json
import random
from typing import Any

import httpx
import pytest

from .helpers import PAGE_TOKEN, V, graph_error, send_api

SEND = f"/graph/{V}/me/messages"
API = "/simulator/api"


@pytest.fixture
async def known(client: httpx.AsyncClient) -> str:
    assert (await client.post(f"{API}/buyers/1001/messages", json={"text": "hi"})).status_code == 200
    return "1001"


@pytest.mark.parametrize(
    ("content", "ctype"),
    [
        (b"{not json", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b'"just a string"', "application/json"),
        (b"\xff\xfe\x00garbage", "application/json"),
        (b"[" * 50_000 + b"]" * 50_000, "application/json"),
        (b"recipient=%ZZ&message=%FF", "application/x-www-form-urlencoded"),
        (b'{"a": "' + b"x" * 1_100_000 + b'"}', "application/json"),
    ],
)
async def test_malformed_graph_bodies_are_graph_errors(
    client: httpx.AsyncClient, content: bytes, ctype: str
) -> None:
    response = await client.post(
        SEND, params={"access_token": PAGE_TOKEN}, content=content, headers={"Content-Type": ctype}
    )
    assert response.status_code == 400
    assert graph_error(response)["code"] == 100
    # Even unparseable requests land in the sent log.
    assert (await client.get(f"{API}/sent")).json()[-1]["status"] == 400


@pytest.mark.parametrize(
    "body",
    [
        {"recipient": "1001", "messaging_type": "RESPONSE", "message": {"text": "x"}},
        {"recipient": {"id": ["1001"]}, "messaging_type": "RESPONSE", "message": {"text": "x"}},
        {"recipient": {"id": True}, "messaging_type": "RESPONSE", "message": {"text": "x"}},
        {"recipient": {"id": "1001"}, "messaging_type": "RESPONSE", "message": "hello"},
        {"recipient": {"id": "1001"}, "messaging_type": "RESPONSE", "message": {"text": 42}},
        {"recipient": {"id": "1001"}, "messaging_type": 7, "message": {"text": "x"}},
        {
            "recipient": {"id": "1001"},
            "messaging_type": "RESPONSE",
            "message": {"text": "x", "quick_replies": {}},
        },
        {
            "recipient": {"id": "1001"},
            "messaging_type": "RESPONSE",
            "message": {"text": "x", "quick_replies": [1]},
        },
        {"recipient": {"id": "1001"}, "messaging_type": "RESPONSE", "message": {"attachment": "img"}},
        {
            "recipient": {"id": "1001"},
            "messaging_type": "RESPONSE",
            "message": {"attachment": {"type": "image"}},
        },
        {
            "recipient": {"id": "1001"},
            "messaging_type": "RESPONSE",
            "message": {"text": "x", "metadata": {"a": 1}},
        },
        {"recipient": {"id": "1001"}, "sender_action": ["typing_on"]},
        {"recipient": {"id": "1" * 5000}, "messaging_type": "RESPONSE", "message": {"text": "x"}},
    ],
)
async def test_wrong_types_are_code_100(client: httpx.AsyncClient, known: str, body: dict[str, Any]) -> None:
    response = await client.post(SEND, params={"access_token": PAGE_TOKEN}, json=body)
    assert response.status_code == 400, response.text
    assert graph_error(response)["code"] == 100


async def test_unicode_text_at_the_limit_is_accepted(client: httpx.AsyncClient, known: str) -> None:
    text = "🚗é李" * 666 + "ok"  # 2000 characters, far more bytes
    assert len(text) == 2000
    assert (await send_api(client, known, {"text": text})).status_code == 200
    assert (await send_api(client, known, {"text": text + "!"})).status_code == 400


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(8 if depth < 3 else 5)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([True, False, 0, -1, 2**70, 1.5e308, ""])
    if choice == 2:
        return "".join(rng.choice('aZ0 🚗\u0000"\\/<>{}é') for _ in range(rng.randrange(30)))
    if choice == 3:
        return rng.choice(
            ["RESPONSE", "MESSAGE_TAG", "HUMAN_AGENT", "typing_on", "1001", "template", "button"]
        )
    if choice == 4:
        return rng.randrange(-5, 3000)
    if choice == 5:
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(5))]
    keys = [
        "recipient",
        "id",
        "message",
        "text",
        "attachment",
        "payload",
        "template_type",
        "buttons",
        "elements",
        "quick_replies",
        "title",
        "messaging_type",
        "tag",
        "sender_action",
        "type",
        "url",
    ]
    return {rng.choice(keys): _random_json(rng, depth + 1) for _ in range(rng.randrange(6))}


async def test_fuzzed_send_api_bodies_never_500(client: httpx.AsyncClient, known: str) -> None:
    rng = random.Random(20240601)
    for _ in range(300):
        body = _random_json(rng)
        if isinstance(body, dict) and rng.random() < 0.7:
            body["recipient"] = {"id": known}
            body.setdefault("messaging_type", "RESPONSE")
        response = await client.post(SEND, params={"access_token": PAGE_TOKEN}, content=json.dumps(body))
        assert response.status_code in (200, 400), (body, response.text)
        if response.status_code == 400:
            graph_error(response)


async def test_fuzzed_ui_bodies_never_500(client: httpx.AsyncClient, known: str) -> None:
    rng = random.Random(7)
    paths = [
        f"{API}/buyers/1001/messages",
        f"{API}/buyers/1001/events",
        f"{API}/inbox/1001/messages",
        f"{API}/inbox/1001/handover",
        f"{API}/faults",
        f"{API}/clock",
    ]
    for _ in range(300):
        response = await client.post(rng.choice(paths), content=json.dumps(_random_json(rng)))
        assert response.status_code in (200, 400, 404), response.text
        if response.status_code != 200:
            assert "message" in response.json()["error"]


@pytest.mark.parametrize("psid", ["abc", "12a", "1" * 33, "-1", "%2e%2e", "١٢٣"])
async def test_bad_psids_rejected(client: httpx.AsyncClient, psid: str) -> None:
    response = await client.post(f"{API}/buyers/{psid}/messages", json={"text": "x"})
    assert response.status_code in (400, 404)


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"{oops", 400),
        (b"[]", 400),
        (json.dumps({"text": "x" * 20_001}).encode(), 400),
        (json.dumps({"text": "x", "name": "n" * 101}).encode(), 400),
        (json.dumps({"text": "x", "admin": True}).encode(), 400),
        (json.dumps({}).encode(), 400),
        (json.dumps({"postback": "A", "text": "B"}).encode(), 400),
        (json.dumps({"attachment": {"type": "hologram"}}).encode(), 400),
        (json.dumps({"attachment": {"type": "location", "lat": 1000}}).encode(), 400),
    ],
)
async def test_bad_buyer_bodies_are_400(client: httpx.AsyncClient, content: bytes, status: int) -> None:
    response = await client.post(f"{API}/buyers/1001/messages", content=content)
    assert response.status_code == status
    assert response.json()["error"]["message"]


async def test_hostile_names_and_text_are_stored_verbatim(client: httpx.AsyncClient) -> None:
    name = "<script>alert(1)</script> 🚗 O'Brien \u202e"
    text = "<img src=x onerror=alert(1)> \u0000 end"
    r = await client.post(f"{API}/buyers/1001/messages", json={"text": text, "name": name})
    assert r.status_code == 200
    thread = (await client.get(f"{API}/threads/1001")).json()
    assert thread["first_name"] == "<script>alert(1)</script>"
    assert thread["messages"][0]["text"] == text
