"""Buyer → agent webhooks: Meta's payload shapes and the X-Hub-Signature-256 signature."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx

from accorria_agent.simulator import LIKE_STICKER_ID, Simulator, encode, signature_headers

from .helpers import APP_SECRET, PAGE_ID, Recorder, send_api


async def test_text_message_is_signed_and_meta_shaped(sim: Simulator, recorder: Recorder) -> None:
    status = await sim.send_buyer_message("1001", "Is the Civic still available?", name="Dana Smith")
    assert status == 200
    assert recorder.bad_signatures == 0
    body, headers = recorder.raw[0]
    expected = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-hub-signature-256"] == f"sha256={expected}"
    assert headers["x-hub-signature"].startswith("sha1=")
    assert headers["content-type"] == "application/json"
    payload = recorder.payloads[0]
    assert payload["object"] == "page"
    (entry,) = payload["entry"]
    assert entry["id"] == PAGE_ID and isinstance(entry["time"], int)
    (event,) = entry["messaging"]
    assert event["sender"] == {"id": "1001"}
    assert event["recipient"] == {"id": PAGE_ID}
    assert isinstance(event["timestamp"], int)
    assert event["message"]["text"] == "Is the Civic still available?"
    assert event["message"]["mid"].startswith("m_")


async def test_body_is_encoded_like_meta(sim: Simulator, recorder: Recorder) -> None:
    """Non-ASCII is \\u-escaped and slashes are escaped, so re-serialising breaks the signature."""
    await sim.send_buyer_message("1001", "Prix: 5 000 € / négociable 🚗")
    body, _ = recorder.raw[0]
    assert body.isascii()
    assert b"\\u20ac" in body and b"\\/" in body
    assert json.loads(body)["entry"][0]["messaging"][0]["message"]["text"] == "Prix: 5 000 € / négociable 🚗"
    reserialised = json.dumps(json.loads(body)).encode()
    assert signature_headers(reserialised, APP_SECRET) != signature_headers(body, APP_SECRET)
    assert encode({"a": "/"}) == b'{"a":"\\/"}'


async def test_quick_reply_uses_offered_title(
    sim: Simulator, recorder: Recorder, client: httpx.AsyncClient
) -> None:
    await sim.send_buyer_message("1001", "hi")
    qr = [{"content_type": "text", "title": "Book a test drive", "payload": "BOOK"}]
    assert (await send_api(client, message={"text": "Pick one", "quick_replies": qr})).status_code == 200
    await sim.drain()
    await sim.send_buyer_message("1001", quick_reply="BOOK")
    await sim.send_buyer_message("1001", quick_reply="UNKNOWN_PAYLOAD")
    messages = [e["message"] for e in recorder.events("message") if not e["message"].get("is_echo")]
    assert messages[1]["text"] == "Book a test drive"
    assert messages[1]["quick_reply"] == {"payload": "BOOK"}
    assert messages[2]["text"] == "UNKNOWN_PAYLOAD"


async def test_postback_title_from_button_and_referral(
    sim: Simulator, recorder: Recorder, client: httpx.AsyncClient
) -> None:
    await sim.send_buyer_message("1001", "hi")
    template = {
        "type": "template",
        "payload": {
            "template_type": "button",
            "text": "What next?",
            "buttons": [{"type": "postback", "title": "See photos", "payload": "PHOTOS"}],
        },
    }
    assert (await send_api(client, message={"attachment": template})).status_code == 200
    await sim.send_buyer_message("1001", postback="PHOTOS")
    await sim.send_buyer_message(
        "1001", postback="GET_STARTED", referral={"ref": "42", "source": "SHORTLINK"}
    )
    postbacks = [e["postback"] for e in recorder.events("postback")]
    assert postbacks[0]["title"] == "See photos" and postbacks[0]["payload"] == "PHOTOS"
    assert postbacks[0]["mid"].startswith("m_")
    assert postbacks[1]["referral"] == {"ref": "42", "source": "SHORTLINK"}


async def test_like_attachments_and_reply_to(sim: Simulator, recorder: Recorder) -> None:
    await sim.send_buyer_message("1001", like=True)
    first_mid = recorder.events("message")[0]["message"]["mid"]
    await sim.send_buyer_message(
        "1001",
        "this one",
        attachments=[{"type": "image", "payload": {"url": "https://example.com/a.jpg"}}],
        reply_to=first_mid,
    )
    like, reply = (e["message"] for e in recorder.events("message"))
    assert like["sticker_id"] == LIKE_STICKER_ID
    assert like["attachments"][0]["type"] == "image"
    assert like["attachments"][0]["payload"]["sticker_id"] == LIKE_STICKER_ID
    assert reply["reply_to"] == {"mid": first_mid}
    assert reply["attachments"] == [{"type": "image", "payload": {"url": "https://example.com/a.jpg"}}]


async def test_agent_status_is_returned_and_logged(
    sim: Simulator, recorder: Recorder, client: httpx.AsyncClient
) -> None:
    recorder.status = 500
    assert await sim.send_buyer_message("1001", "hello") == 500
    hooks = (await client.get("/simulator/api/webhooks", params={"psid": "1001"})).json()
    assert hooks[0]["status"] == 500 and "500" in hooks[0]["error"]


async def test_unreachable_agent_reports_status_zero(recorder: Recorder) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as dead:
        from .helpers import CONFIG

        simulator = Simulator(CONFIG, dead)
        result = await simulator.buyer_message("1001", text="anyone there?")
        await simulator.aclose()
    assert result.status == 0 and result.error is not None and "ConnectError" in result.error
    # The buyer still sees their own message in the thread, as in Messenger.
    thread = simulator.state.thread("1001")
    assert thread is not None and thread.messages[0].text == "anyone there?"


async def test_wrong_secret_is_detected_by_agent(recorder: Recorder) -> None:
    from dataclasses import replace

    from .helpers import CONFIG, make_agent_app

    transport = httpx.ASGITransport(app=make_agent_app(recorder))
    async with httpx.AsyncClient(transport=transport, base_url="http://agent.test") as c:
        simulator = Simulator(replace(CONFIG, app_secret="not-the-agent-secret"), c)
        assert await simulator.send_buyer_message("1001", "hi") == 403
        await simulator.aclose()
    assert recorder.bad_signatures == 1
