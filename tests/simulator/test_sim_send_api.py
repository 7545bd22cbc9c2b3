"""The fake Send API: success, echoes, validation errors, auth, windows, the sent log."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from accorria_agent.simulator import Simulator

from .helpers import APP_ID, PAGE_ID, PAGE_TOKEN, Recorder, V, graph_error, send_api

HOUR = 3600
DAY = 24 * HOUR


@pytest.fixture
async def buyer(sim: Simulator) -> str:
    assert await sim.send_buyer_message("1001", "Hi, is it available?", name="Dana Smith") == 200
    return "1001"


async def advance(client: httpx.AsyncClient, seconds: float) -> None:
    assert (await client.post("/simulator/api/clock", json={"advance_seconds": seconds})).status_code == 200


async def test_success_returns_ids_then_echo_and_delivery(
    sim: Simulator, recorder: Recorder, client: httpx.AsyncClient, buyer: str
) -> None:
    response = await send_api(client, buyer, {"text": "Yes! Want to see it?", "metadata": "flow:greet"})
    assert response.status_code == 200
    body = response.json()
    assert body["recipient_id"] == buyer and body["message_id"].startswith("m_")
    await sim.drain()
    echo = recorder.events("message")[-1]
    assert echo["sender"] == {"id": PAGE_ID} and echo["recipient"] == {"id": buyer}
    assert echo["message"] == {
        "mid": body["message_id"],
        "is_echo": True,
        "app_id": int(APP_ID),
        "metadata": "flow:greet",
        "text": "Yes! Want to see it?",
    }
    (delivery,) = recorder.events("delivery")
    assert delivery["delivery"]["mids"] == [body["message_id"]]
    assert isinstance(delivery["delivery"]["watermark"], int)
    assert recorder.bad_signatures == 0
    thread = (await client.get(f"/simulator/api/threads/{buyer}")).json()
    assert [m["from"] for m in thread["messages"]] == ["buyer", "page"]
    assert thread["messages"][1]["source"] == "bot"


async def test_page_id_path_and_bearer_and_form_encoding(client: httpx.AsyncClient, buyer: str) -> None:
    ok = await client.post(
        f"/graph/{V}/{PAGE_ID}/messages",
        headers={"Authorization": f"Bearer {PAGE_TOKEN}"},
        json={"recipient": {"id": buyer}, "messaging_type": "RESPONSE", "message": {"text": "a"}},
    )
    assert ok.status_code == 200
    # Meta's own curl examples: form fields carrying JSON, with single quotes.
    form = await client.post(
        f"/graph/{V}/me/messages",
        data={
            "recipient": f"{{'id':'{buyer}'}}",
            "messaging_type": "RESPONSE",
            "message": "{'text':'hello, world'}",
            "access_token": PAGE_TOKEN,
        },
    )
    assert form.status_code == 200, form.text


@pytest.mark.parametrize(
    ("token", "headers"),
    [(None, {}), ("wrong-token", {}), (None, {"Authorization": "Bearer nope"})],
)
async def test_bad_or_missing_token_is_190(
    client: httpx.AsyncClient, buyer: str, token: str | None, headers: dict[str, str]
) -> None:
    response = await client.post(
        f"/graph/{V}/me/messages",
        params={"access_token": token} if token else {},
        headers=headers,
        json={"recipient": {"id": buyer}, "messaging_type": "RESPONSE", "message": {"text": "x"}},
    )
    assert response.status_code == 400
    err = graph_error(response)
    assert err["code"] == 190 and err["type"] == "OAuthException"
    assert "invalid_token" in response.headers["www-authenticate"]


async def test_unknown_version_and_page(client: httpx.AsyncClient, buyer: str) -> None:
    r = await client.post("/graph/v2.0/me/messages", params={"access_token": PAGE_TOKEN}, json={})
    assert r.status_code == 400 and graph_error(r)["code"] == 2500
    r = await client.post(
        f"/graph/{V}/999/messages",
        params={"access_token": PAGE_TOKEN},
        json={"recipient": {"id": buyer}, "messaging_type": "RESPONSE", "message": {"text": "x"}},
    )
    assert r.status_code == 400 and graph_error(r)["code"] == 100
    r = await client.get(f"/graph/{V}/me/nonexistent_edge", params={"access_token": PAGE_TOKEN})
    assert r.status_code == 400 and graph_error(r)["error_subcode"] == 33


async def test_unknown_psid_is_2018001(client: httpx.AsyncClient) -> None:
    response = await send_api(client, "555", {"text": "hello?"})
    assert response.status_code == 400
    err = graph_error(response)
    assert (err["code"], err["error_subcode"]) == (100, 2018001)
    assert "No matching user found" in err["message"]


def _qr(n: int, title: str = "ok") -> list[dict[str, Any]]:
    return [{"content_type": "text", "title": title, "payload": f"P{i}"} for i in range(n)]


def _buttons(n: int) -> list[dict[str, Any]]:
    return [{"type": "postback", "title": f"B{i}", "payload": f"P{i}"} for i in range(n)]


def _button_template(text: str, buttons: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "attachment": {
            "type": "template",
            "payload": {"template_type": "button", "text": text, "buttons": buttons},
        }
    }


def _generic(title: str, subtitle: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"title": title}
    if subtitle is not None:
        element["subtitle"] = subtitle
    return {
        "attachment": {"type": "template", "payload": {"template_type": "generic", "elements": [element]}}
    }


@pytest.mark.parametrize(
    ("body", "needle", "subcode"),
    [
        ({"messaging_type": "RESPONSE", "message": {"text": "x"}}, "recipient is required", None),
        (
            {"recipient": {"id": "1001"}, "messaging_type": "RESPONSE"},
            "either message or sender_action",
            None,
        ),
        (
            {
                "recipient": {"id": "1001"},
                "messaging_type": "RESPONSE",
                "message": {"text": "x"},
                "sender_action": "typing_on",
            },
            "Only one of message or sender_action",
            None,
        ),
        ({"recipient": {"id": "1001"}, "message": {"text": "x"}}, "messaging_type is required", None),
        (
            {"recipient": {"id": "1001"}, "messaging_type": "PROMO", "message": {"text": "x"}},
            "messaging_type must",
            None,
        ),
        (
            {"recipient": {"id": "1001"}, "messaging_type": "RESPONSE", "message": {"text": "x" * 2001}},
            "2000",
            None,
        ),
        (
            {"recipient": {"id": "1001"}, "messaging_type": "RESPONSE", "message": {"text": ""}},
            "empty",
            2018034,
        ),
        ({"recipient": {"id": "1001"}, "messaging_type": "RESPONSE", "message": {}}, "empty", 2018034),
        (
            {
                "recipient": {"id": "1001"},
                "messaging_type": "RESPONSE",
                "message": {"text": "x", "quick_replies": _qr(14)},
            },
            "too many",
            None,
        ),
        (
            {
                "recipient": {"id": "1001"},
                "messaging_type": "RESPONSE",
                "message": {"text": "x", "quick_replies": _qr(1, "t" * 21)},
            },
            "[title] must be less than or equal to 20",
            None,
        ),
        (
            {
                "recipient": {"id": "1001"},
                "messaging_type": "RESPONSE",
                "message": _button_template("t" * 641, _buttons(1)),
            },
            "640",
            None,
        ),
        (
            {
                "recipient": {"id": "1001"},
                "messaging_type": "RESPONSE",
                "message": _button_template("ok", _buttons(4)),
            },
            "too many",
            None,
        ),
        (
            {
                "recipient": {"id": "1001"},
                "messaging_type": "RESPONSE",
                "message": _button_template("ok", []),
            },
            "at least 1",
            None,
        ),
        (
            {"recipient": {"id": "1001"}, "messaging_type": "RESPONSE", "message": _generic("t" * 81)},
            "80",
            None,
        ),
        (
            {"recipient": {"id": "1001"}, "messaging_type": "RESPONSE", "message": _generic("ok", "s" * 81)},
            "80",
            None,
        ),
        (
            {
                "recipient": {"id": "1001"},
                "messaging_type": "RESPONSE",
                "message": {"text": "x", "metadata": "m" * 1001},
            },
            "1000",
            None,
        ),
        ({"recipient": {"id": "1001"}, "sender_action": "dance"}, "sender_action must", None),
        (
            {"recipient": {"id": "1001"}, "messaging_type": "MESSAGE_TAG", "message": {"text": "x"}},
            "tag is required",
            None,
        ),
        (
            {
                "recipient": {"id": "1001"},
                "messaging_type": "MESSAGE_TAG",
                "tag": "SPAM_UPDATE",
                "message": {"text": "x"},
            },
            "tag must be one of",
            None,
        ),
    ],
)
async def test_validation_errors_are_code_100(
    client: httpx.AsyncClient, buyer: str, body: dict[str, Any], needle: str, subcode: int | None
) -> None:
    response = await client.post(f"/graph/{V}/me/messages", params={"access_token": PAGE_TOKEN}, json=body)
    assert response.status_code == 400
    err = graph_error(response)
    assert err["code"] == 100
    assert needle in err["message"]
    assert err.get("error_subcode") == subcode


@pytest.mark.parametrize("tag", ["ACCOUNT_UPDATE", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE"])
async def test_retired_tags_are_rejected(client: httpx.AsyncClient, buyer: str, tag: str) -> None:
    response = await send_api(client, buyer, {"text": "update"}, messaging_type="MESSAGE_TAG", tag=tag)
    assert response.status_code == 400
    err = graph_error(response)
    assert err["code"] == 100 and "no longer supported" in err["message"]


async def test_standard_window_is_24_hours(client: httpx.AsyncClient, buyer: str) -> None:
    await advance(client, 23 * HOUR)
    assert (await send_api(client, buyer, {"text": "still here"})).status_code == 200
    assert (await send_api(client, buyer, {"text": "fyi"}, messaging_type="UPDATE")).status_code == 200
    await advance(client, 1 * HOUR + 1)
    for mtype in ("RESPONSE", "UPDATE"):
        response = await send_api(client, buyer, {"text": "too late"}, messaging_type=mtype)
        assert response.status_code == 400
        err = graph_error(response)
        assert (err["code"], err["error_subcode"]) == (10, 2018278)
        assert "outside of allowed window" in err["message"]
    typing = await send_api(client, buyer, None, messaging_type=None, sender_action="typing_on")
    assert graph_error(typing)["code"] == 10


async def test_buyer_message_reopens_window(sim: Simulator, client: httpx.AsyncClient, buyer: str) -> None:
    await advance(client, 2 * DAY)
    assert (await send_api(client, buyer, {"text": "x"})).status_code == 400
    await sim.send_buyer_message(buyer, "still interested!")
    assert (await send_api(client, buyer, {"text": "great"})).status_code == 200


async def test_human_agent_tag_allowed_for_7_days(client: httpx.AsyncClient, buyer: str) -> None:
    await advance(client, 6 * DAY + 23 * HOUR)
    ok = await send_api(
        client, buyer, {"text": "A human here"}, messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT"
    )
    assert ok.status_code == 200
    await advance(client, 2 * HOUR)
    late = await send_api(
        client, buyer, {"text": "A human here"}, messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT"
    )
    assert late.status_code == 400
    assert graph_error(late)["error_subcode"] == 2018278


async def test_sender_actions(
    sim: Simulator, recorder: Recorder, client: httpx.AsyncClient, buyer: str
) -> None:
    for action, typing in (("typing_on", True), ("typing_off", False), ("mark_seen", False)):
        response = await send_api(client, buyer, None, messaging_type=None, sender_action=action)
        assert response.status_code == 200
        assert response.json() == {"recipient_id": buyer}
        thread = (await client.get(f"/simulator/api/threads/{buyer}")).json()
        assert thread["typing"] is typing
    assert thread["seen_at"] is not None
    await sim.drain()
    assert not recorder.events("delivery")  # sender actions produce no echo/delivery


async def test_sent_log_shape_and_order(client: httpx.AsyncClient, buyer: str) -> None:
    await send_api(client, buyer, {"text": "one", "metadata": "m1"})
    await send_api(client, buyer, {"text": "x" * 3000})
    await send_api(client, buyer, None, messaging_type=None, sender_action="typing_on")
    await send_api(client, "777", {"text": "other buyer"})
    rows = (await client.get("/simulator/api/sent", params={"recipient": buyer})).json()
    assert [r["status"] for r in rows] == [200, 400, 200]
    first, second, third = rows
    assert first["messaging_type"] == "RESPONSE" and first["tag"] is None
    assert first["message"] == {"text": "one", "metadata": "m1"} and first["metadata"] == "m1"
    assert first["error"] is None and first["message_id"].startswith("m_")
    assert first["received_at"].endswith("Z")
    assert second["error"]["code"] == 100 and second["message_id"] is None
    assert third["sender_action"] == "typing_on" and third["message"] is None
    everything = (await client.get("/simulator/api/sent")).json()
    assert len(everything) == 4 and everything[-1]["recipient"] == "777"
    assert all(PAGE_TOKEN not in str(r) for r in everything)


async def test_echo_and_delivery_can_be_disabled(recorder: Recorder) -> None:
    from dataclasses import replace

    from fastapi import FastAPI

    from .helpers import CONFIG, make_agent_app

    transport = httpx.ASGITransport(app=make_agent_app(recorder))
    async with httpx.AsyncClient(transport=transport, base_url="http://agent.test") as agent:
        simulator = Simulator(replace(CONFIG, emit_echoes=False, emit_deliveries=False), agent)
        app = FastAPI()
        app.include_router(simulator.graph_router, prefix="/graph")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
            await simulator.send_buyer_message("1001", "hi")
            assert (await send_api(c, "1001", {"text": "hello"})).status_code == 200
            await simulator.drain()
        await simulator.aclose()
    assert len(recorder.payloads) == 1  # only the buyer's message
