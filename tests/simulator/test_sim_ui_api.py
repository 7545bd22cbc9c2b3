"""The simulator's JSON API: buyers, events, Page Inbox, faults, clock, reset, pages."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from accorria_agent.simulator import PAGE_INBOX_APP_ID, Simulator

from .helpers import APP_ID, PAGE_ID, PAGE_TOKEN, Recorder, graph_error, send_api

API = "/simulator/api"


async def test_state_exposes_page_without_secrets(client: httpx.AsyncClient) -> None:
    state = (await client.get(f"{API}/state")).json()
    assert state["page_id"] == PAGE_ID and state["listing_id"] == 42
    assert state["page_name"] == "Accorria Motors" and state["app_id"] == APP_ID
    assert state["page_inbox_app_id"] == PAGE_INBOX_APP_ID
    dumped = json.dumps(state)
    assert PAGE_TOKEN not in dumped and "s3cret" not in dumped


async def test_buyer_message_endpoint(client: httpx.AsyncClient, recorder: Recorder) -> None:
    r = await client.post(f"{API}/buyers/1001/messages", json={"text": "Hello", "name": "Zoë Ñúñez-李"})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == 200 and body["mid"].startswith("m_") and body["error"] is None
    assert recorder.events("message")[0]["message"]["text"] == "Hello"
    profile = (
        await client.get(
            "/graph/v23.0/1001", params={"access_token": PAGE_TOKEN, "fields": "first_name,last_name"}
        )
    ).json()
    assert profile == {"first_name": "Zoë", "last_name": "Ñúñez-李", "id": "1001"}


async def test_buyer_attachments_like_and_postback_endpoint(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    await client.post(
        f"{API}/buyers/1001/messages", json={"attachment": {"type": "location", "lat": 1.5, "long": 2}}
    )
    await client.post(f"{API}/buyers/1001/messages", json={"like": True})
    await client.post(f"{API}/buyers/1001/messages", json={"postback": "GET_STARTED", "title": "Get Started"})
    location, like = (e["message"] for e in recorder.events("message"))
    assert location["attachments"][0]["payload"]["coordinates"] == {"lat": 1.5, "long": 2.0}
    assert like["sticker_id"] == 369239263222822
    assert recorder.events("postback")[0]["postback"]["title"] == "Get Started"


async def test_inbox_message_is_echoed_with_page_inbox_app_id(
    sim: Simulator, client: httpx.AsyncClient, recorder: Recorder
) -> None:
    await client.post(f"{API}/buyers/1001/messages", json={"text": "Can I talk to a person?"})
    r = await client.post(f"{API}/inbox/1001/messages", json={"text": "Hi, this is Sam, the owner."})
    assert r.status_code == 200
    await sim.drain()
    echo = recorder.events("message")[-1]
    assert echo["message"]["is_echo"] is True
    assert echo["message"]["app_id"] == 263902037430900
    assert echo["message"]["text"] == "Hi, this is Sam, the owner."
    assert echo["sender"] == {"id": PAGE_ID}
    thread = (await client.get(f"{API}/threads/1001")).json()
    assert thread["messages"][-1]["source"] == "inbox" and thread["messages"][-1]["from"] == "page"
    # Unknown buyer / empty text.
    assert (await client.post(f"{API}/inbox/999/messages", json={"text": "x"})).status_code == 404
    assert (await client.post(f"{API}/inbox/1001/messages", json={"text": "   "})).status_code == 400


async def test_buyer_events(sim: Simulator, client: httpx.AsyncClient, recorder: Recorder) -> None:
    await client.post(f"{API}/buyers/1001/messages", json={"text": "price?"})
    sent = await send_api(client, "1001", {"text": "$9,500"})
    page_mid = sent.json()["message_id"]
    await sim.drain()
    assert (await client.post(f"{API}/buyers/1001/events", json={"type": "read"})).json()["status"] == 200
    await client.post(f"{API}/buyers/1001/events", json={"type": "reaction", "reaction": "like"})
    await client.post(f"{API}/buyers/1001/events", json={"type": "edit", "text": "price for cash?"})
    await client.post(f"{API}/buyers/1001/events", json={"type": "referral"})
    await client.post(f"{API}/buyers/1001/events", json={"type": "delivery", "mids": [page_mid]})
    assert isinstance(recorder.events("read")[0]["read"]["watermark"], int)
    reaction = recorder.events("reaction")[0]["reaction"]
    assert reaction == {"mid": page_mid, "action": "react", "reaction": "like", "emoji": "\U0001f44d"}
    edit = recorder.events("message_edit")[0]["message_edit"]
    assert edit["text"] == "price for cash?" and edit["num_edit"] == 1
    assert recorder.events("referral")[0]["referral"] == {
        "ref": "42",
        "source": "SHORTLINK",
        "type": "OPEN_THREAD",
    }
    assert recorder.events("delivery")[-1]["delivery"]["mids"] == [page_mid]
    thread = (await client.get(f"{API}/threads/1001")).json()
    assert thread["messages"][0]["text"] == "price for cash?" and thread["messages"][0]["edits"] == 1
    assert (
        thread["messages"][1]["read"] is True and thread["messages"][1]["reactions"][0]["reaction"] == "like"
    )


async def test_events_need_known_buyer_and_valid_type(client: httpx.AsyncClient) -> None:
    assert (await client.post(f"{API}/buyers/1001/events", json={"type": "read"})).status_code == 404
    assert (await client.post(f"{API}/buyers/1001/events", json={"type": "explode"})).status_code == 400
    # A referral can open a brand-new thread.
    assert (
        await client.post(f"{API}/buyers/1001/events", json={"type": "referral", "ref": "x"})
    ).status_code == 200


async def test_inbox_handover_is_notified_and_switches_to_standby(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    await client.post(f"{API}/buyers/1001/messages", json={"text": "hello"})
    r = await client.post(f"{API}/inbox/1001/handover", json={"action": "take_thread_control"})
    assert r.json()["status"] == 200
    take = recorder.events("take_thread_control")[0]["take_thread_control"]
    assert take == {"previous_owner_app_id": int(APP_ID), "new_owner_app_id": PAGE_INBOX_APP_ID}
    await client.post(f"{API}/buyers/1001/messages", json={"text": "while a human has it"})
    assert "standby" in recorder.payloads[-1]["entry"][0]
    await client.post(
        f"{API}/inbox/1001/handover", json={"action": "pass_thread_control", "metadata": "done"}
    )
    passed = recorder.events("pass_thread_control")[0]["pass_thread_control"]
    assert passed["new_owner_app_id"] == int(APP_ID) and passed["metadata"] == "done"
    await client.post(f"{API}/buyers/1001/messages", json={"text": "back to bot"})
    assert "messaging" in recorder.payloads[-1]["entry"][0]


async def test_threads_list(client: httpx.AsyncClient) -> None:
    await client.post(f"{API}/buyers/1001/messages", json={"text": "a", "name": "Ann"})
    await client.post(f"{API}/buyers/2002/messages", json={"text": "b", "name": "Bob Lee"})
    rows = (await client.get(f"{API}/threads")).json()
    assert [r["psid"] for r in rows] == ["2002", "1001"]
    assert rows[0]["name"] == "Bob Lee" and rows[0]["last_message"]["text"] == "b"
    assert (await client.get(f"{API}/threads/3003")).status_code == 404


async def test_clock(client: httpx.AsyncClient) -> None:
    before = (await client.get(f"{API}/clock")).json()
    after = (await client.post(f"{API}/clock", json={"advance_seconds": 86400})).json()
    assert after["offset_seconds"] == 86400
    assert after["now_ms"] - before["now_ms"] >= 86400 * 1000
    for bad in ({"advance_seconds": -1}, {"advance_seconds": "soon"}, {}):
        assert (await client.post(f"{API}/clock", json=bad)).status_code == 400


async def test_clock_drives_webhook_timestamps(client: httpx.AsyncClient, recorder: Recorder) -> None:
    await client.post(f"{API}/clock", json={"advance_seconds": 10 * 86400})
    await client.post(f"{API}/buyers/1001/messages", json={"text": "future"})
    stamp = recorder.events("message")[0]["timestamp"]
    assert stamp > (time.time() + 9 * 86400) * 1000


async def test_reset_clears_threads_and_logs(client: httpx.AsyncClient) -> None:
    await client.post(f"{API}/buyers/1001/messages", json={"text": "a"})
    await send_api(client, "1001", {"text": "b"})
    assert (await client.post(f"{API}/reset")).status_code == 200
    assert (await client.get(f"{API}/threads")).json() == []
    assert (await client.get(f"{API}/sent")).json() == []
    assert (await client.get(f"{API}/webhooks")).json() == []
    # The buyer is unknown again.
    assert graph_error(await send_api(client, "1001", {"text": "c"}))["error_subcode"] == 2018001


# --- faults ---------------------------------------------------------------------------------------


async def set_faults(client: httpx.AsyncClient, **body: object) -> None:
    r = await client.post(f"{API}/faults", json=body)
    assert r.status_code == 200, r.text


async def test_fault_5xx(client: httpx.AsyncClient) -> None:
    await client.post(f"{API}/buyers/1001/messages", json={"text": "a"})
    await set_faults(client, error_rate=1, kinds=["5xx"])
    r = await send_api(client, "1001", {"text": "b"})
    assert r.status_code == 500
    err = graph_error(r)
    assert err["code"] == 2 and err["is_transient"] is True
    thread = (await client.get(f"{API}/threads/1001")).json()
    assert len(thread["messages"]) == 1  # nothing delivered
    assert (await client.get(f"{API}/sent")).json()[-1]["status"] == 500
    assert (await client.delete(f"{API}/faults")).json()["error_rate"] == 0
    assert (await send_api(client, "1001", {"text": "c"})).status_code == 200


async def test_fault_613_has_business_use_case_header(client: httpx.AsyncClient) -> None:
    await client.post(f"{API}/buyers/1001/messages", json={"text": "a"})
    await set_faults(client, error_rate=1, kinds=["613"])
    r = await send_api(client, "1001", {"text": "b"})
    assert graph_error(r)["code"] == 613
    usage = json.loads(r.headers["x-business-use-case-usage"])
    assert usage[PAGE_ID][0]["estimated_time_to_regain_access"] >= 1


async def test_fault_190_and_timeout(client: httpx.AsyncClient) -> None:
    await client.post(f"{API}/buyers/1001/messages", json={"text": "a"})
    await set_faults(client, error_rate=1, kinds=["190"])
    err = graph_error(await send_api(client, "1001", {"text": "b"}))
    assert err["code"] == 190 and err["error_subcode"] == 460
    await set_faults(client, error_rate=1, kinds=["timeout"], timeout_seconds=0.2)
    started = time.monotonic()
    r = await send_api(client, "1001", {"text": "c"})
    assert time.monotonic() - started >= 0.2
    assert r.status_code == 504 and graph_error(r)["code"] == 2


async def test_faults_are_deterministic_with_seed(client: httpx.AsyncClient) -> None:
    await client.post(f"{API}/buyers/1001/messages", json={"text": "a"})

    async def run() -> list[int]:
        await set_faults(client, error_rate=0.5, kinds=["5xx", "613"], seed=1234)
        return [(await send_api(client, "1001", {"text": str(i)})).status_code for i in range(12)]

    first, second = await run(), await run()
    assert first == second
    assert 200 in first and any(s != 200 for s in first)
    assert (await client.get(f"{API}/faults")).json()["injected"] == first.count(500) + first.count(400)


@pytest.mark.parametrize(
    "body",
    [
        {"error_rate": 2},
        {"error_rate": 0.5, "kinds": ["meteor"]},
        {"error_rate": 0.5, "kinds": []},
        {"kinds": ["5xx"]},
    ],
)
async def test_invalid_faults_rejected(client: httpx.AsyncClient, body: dict[str, object]) -> None:
    assert (await client.post(f"{API}/faults", json=body)).status_code == 400


# --- pages ----------------------------------------------------------------------------------------


async def test_pages_are_served_with_expected_ids(client: httpx.AsyncClient) -> None:
    chat = await client.get("/simulator/")
    assert chat.status_code == 200 and "text/html" in chat.headers["content-type"]
    for marker in ('id="message-input"', 'id="send-button"', 'src="static/chat.js"'):
        assert marker in chat.text
    inbox = await client.get("/simulator/inbox")
    for marker in ('id="inbox-input"', 'id="inbox-send"', 'src="static/inbox.js"'):
        assert marker in inbox.text
    for name in ("chat.js", "inbox.js", "common.js", "simulator.css"):
        assert (await client.get(f"/simulator/static/{name}")).status_code == 200
    assert (await client.get("/simulator/static/..%2Fcore.py")).status_code == 404
    assert (await client.get("/simulator/static/core.py")).status_code == 404


async def test_pages_never_use_inner_html() -> None:
    from pathlib import Path

    import accorria_agent.simulator as pkg

    static = Path(pkg.__file__).parent / "static"
    for script in static.glob("*.js"):
        text = script.read_text()
        assert "innerHTML" not in text and "insertAdjacentHTML" not in text and "document.write" not in text
        assert '"/api' not in text and "'/api" not in text  # relative URLs only


async def test_mount_without_trailing_slash_redirects_to_the_page(client: httpx.AsyncClient) -> None:
    """The pages use relative URLs, so ``/simulator`` must land on ``/simulator/``."""
    response = await client.get("/simulator", follow_redirects=False)
    assert response.status_code in (307, 308)
    assert response.headers["location"].endswith("/simulator/")
