"""Setup and auxiliary Graph endpoints: profile, subscriptions, OAuth, debug_token, handover."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from accorria_agent.simulator import PAGE_INBOX_APP_ID, Simulator
from accorria_agent.simulator.oauth_dialog import authorize

from .helpers import APP_ID, APP_SECRET, PAGE_ID, PAGE_TOKEN, Recorder, V, graph_error, send_api

G = f"/graph/{V}"
AUTH = {"access_token": PAGE_TOKEN}


async def test_messenger_profile_roundtrip(client: httpx.AsyncClient) -> None:
    body = {
        "get_started": {"payload": "GET_STARTED"},
        "greeting": [{"locale": "default", "text": "Hi {{user_first_name}}! Ask us about our cars."}],
        "ice_breakers": [{"question": "Is it still available?", "payload": "AVAILABLE"}],
        "persistent_menu": [
            {
                "locale": "default",
                "composer_input_disabled": False,
                "call_to_actions": [{"type": "postback", "title": "Book a test drive", "payload": "BOOK"}],
            }
        ],
    }
    r = await client.post(f"{G}/me/messenger_profile", params=AUTH, json=body)
    assert r.status_code == 200 and r.json() == {"result": "success"}
    got = (
        await client.get(f"{G}/me/messenger_profile", params={**AUTH, "fields": "get_started,greeting"})
    ).json()
    assert got == {"data": [{"get_started": body["get_started"], "greeting": body["greeting"]}]}
    refused = await client.request(
        "DELETE", f"{G}/me/messenger_profile", params=AUTH, json={"fields": ["get_started"]}
    )
    assert graph_error(refused)["code"] == 100  # the persistent menu needs Get Started
    deleted = await client.request(
        "DELETE",
        f"{G}/{PAGE_ID}/messenger_profile",
        params=AUTH,
        json={"fields": ["persistent_menu", "get_started"]},
    )
    assert deleted.json() == {"result": "success"}
    left = (await client.get(f"{G}/me/messenger_profile", params={**AUTH, "fields": "get_started"})).json()
    assert left == {"data": []}


async def test_messenger_profile_validation(client: httpx.AsyncClient) -> None:
    cases = [
        {"greeting": [{"locale": "default", "text": "x" * 161}]},
        {"greeting": [{"locale": "en_US", "text": "hi"}]},
        {
            "persistent_menu": [
                {"locale": "default", "call_to_actions": [{"type": "postback", "title": "A", "payload": "A"}]}
            ]
        },
        {"ice_breakers": [{"question": f"q{i}", "payload": "p"} for i in range(5)]},
        {"get_started": {"payload": ""}},
        {"bogus_field": 1},
        {},
    ]
    for body in cases:
        r = await client.post(f"{G}/me/messenger_profile", params=AUTH, json=body)
        assert r.status_code == 400, body
        assert graph_error(r)["code"] == 100
    assert graph_error(await client.get(f"{G}/me/messenger_profile", params=AUTH))["code"] == 100
    no_token = await client.post(f"{G}/me/messenger_profile", json={"get_started": {"payload": "X"}})
    assert graph_error(no_token)["code"] == 190


async def test_persistent_menu_postback_title_used_by_buyer(
    sim: Simulator, client: httpx.AsyncClient, recorder: Recorder
) -> None:
    menu = [
        {
            "locale": "default",
            "call_to_actions": [{"type": "postback", "title": "Talk to a human", "payload": "HUMAN"}],
        }
    ]
    await client.post(
        f"{G}/me/messenger_profile",
        params=AUTH,
        json={"get_started": {"payload": "GO"}, "persistent_menu": menu},
    )
    await sim.send_buyer_message("1001", postback="HUMAN")
    await sim.send_buyer_message("1001", postback="GO")
    titles = [e["postback"]["title"] for e in recorder.events("postback")]
    assert titles == ["Talk to a human", "Get Started"]


async def test_subscribed_apps(client: httpx.AsyncClient) -> None:
    r = await client.post(
        f"{G}/{PAGE_ID}/subscribed_apps",
        params={**AUTH, "subscribed_fields": "messages,message_echoes,messaging_postbacks"},
    )
    assert r.json() == {"success": True}
    data = (await client.get(f"{G}/{PAGE_ID}/subscribed_apps", params=AUTH)).json()["data"]
    assert data == [
        {
            "id": APP_ID,
            "name": f"App {APP_ID}",
            "subscribed_fields": ["messages", "message_echoes", "messaging_postbacks"],
        }
    ]
    bad = await client.post(
        f"{G}/{PAGE_ID}/subscribed_apps", params={**AUTH, "subscribed_fields": "everything"}
    )
    assert graph_error(bad)["code"] == 100
    missing = await client.post(f"{G}/{PAGE_ID}/subscribed_apps", params=AUTH)
    assert graph_error(missing)["code"] == 100
    assert (await client.request("DELETE", f"{G}/{PAGE_ID}/subscribed_apps", params=AUTH)).json() == {
        "success": True
    }


async def test_oauth_exchange_and_debug_token(sim: Simulator, client: httpx.AsyncClient) -> None:
    app_creds = {"client_id": APP_ID, "client_secret": APP_SECRET}
    app_token = (
        await client.get(f"{G}/oauth/access_token", params={**app_creds, "grant_type": "client_credentials"})
    ).json()["access_token"]
    assert app_token == f"{APP_ID}|{APP_SECRET}"
    exchanged = (
        await client.get(
            f"{G}/oauth/access_token",
            params={**app_creds, "grant_type": "fb_exchange_token", "fb_exchange_token": PAGE_TOKEN},
        )
    ).json()
    assert exchanged["token_type"] == "bearer" and exchanged["access_token"] != PAGE_TOKEN
    # A code exists only once the dialog issued it, is bound to its redirect_uri and single-use.
    redirect = authorize(sim, state="s", redirect_uri="https://x/cb", pages=[PAGE_ID], granted_scopes=["a"])
    code = parse_qs(urlsplit(redirect).query)["code"][0]
    wrong_uri = await client.get(
        f"{G}/oauth/access_token", params={**app_creds, "code": code, "redirect_uri": "https://evil/cb"}
    )
    assert graph_error(wrong_uri)["error_subcode"] == 36008
    short = (
        await client.get(
            f"{G}/oauth/access_token", params={**app_creds, "code": code, "redirect_uri": "https://x/cb"}
        )
    ).json()
    assert 0 < short["expires_in"] <= 3 * 3600
    reused = await client.get(
        f"{G}/oauth/access_token", params={**app_creds, "code": code, "redirect_uri": "https://x/cb"}
    )
    assert graph_error(reused)["error_subcode"] == 36009
    unknown = await client.get(
        f"{G}/oauth/access_token", params={**app_creds, "code": "abc", "redirect_uri": "https://x/cb"}
    )
    assert graph_error(unknown)["code"] == 100
    user = (
        await client.get(
            f"{G}/oauth/access_token",
            params={
                **app_creds,
                "grant_type": "fb_exchange_token",
                "fb_exchange_token": short["access_token"],
            },
        )
    ).json()
    assert user["expires_in"] > 50 * 86400

    info = (
        await client.get(
            f"{G}/debug_token", params={"input_token": exchanged["access_token"], "access_token": app_token}
        )
    ).json()
    assert info["data"]["is_valid"] is True and info["data"]["type"] == "PAGE"
    assert info["data"]["profile_id"] == PAGE_ID and "pages_messaging" in info["data"]["scopes"]
    user_info = (
        await client.get(
            f"{G}/debug_token", params={"input_token": user["access_token"], "access_token": app_token}
        )
    ).json()
    assert user_info["data"]["type"] == "USER" and user_info["data"]["expires_at"] > 0
    invalid = (
        await client.get(f"{G}/debug_token", params={"input_token": "bogus", "access_token": app_token})
    ).json()
    assert invalid["data"]["is_valid"] is False and invalid["data"]["error"]["code"] == 190
    assert graph_error(await client.get(f"{G}/debug_token", params={"input_token": "x"}))["code"] == 190

    bad_secret = await client.get(
        f"{G}/oauth/access_token", params={"client_id": APP_ID, "client_secret": "nope", "code": "x"}
    )
    assert graph_error(bad_secret)["code"] == 1
    bad_app = await client.get(
        f"{G}/oauth/access_token", params={"client_id": "1", "client_secret": APP_SECRET, "code": "x"}
    )
    assert graph_error(bad_app)["code"] == 101
    bad_exchange = await client.get(
        f"{G}/oauth/access_token",
        params={**app_creds, "grant_type": "fb_exchange_token", "fb_exchange_token": "nope"},
    )
    assert graph_error(bad_exchange)["code"] == 190


async def test_exchanged_page_token_works_for_send_api(sim: Simulator, client: httpx.AsyncClient) -> None:
    await sim.send_buyer_message("1001", "hi")
    params = {
        "client_id": APP_ID,
        "client_secret": APP_SECRET,
        "grant_type": "fb_exchange_token",
        "fb_exchange_token": PAGE_TOKEN,
    }
    token = (await client.get(f"{G}/oauth/access_token", params=params)).json()["access_token"]
    assert (await send_api(client, "1001", {"text": "hello"}, token=token)).status_code == 200


async def test_user_profile_and_page_node(sim: Simulator, client: httpx.AsyncClient) -> None:
    await sim.send_buyer_message("1001", "hi", name="Maria de la Cruz")
    profile = (await client.get(f"{G}/1001", params=AUTH)).json()
    assert profile["first_name"] == "Maria" and profile["last_name"] == "de la Cruz"
    assert profile["profile_pic"].startswith("https://") and profile["id"] == "1001"
    assert (await client.get(f"{G}/me", params=AUTH)).json() == {"name": "Accorria Motors", "id": PAGE_ID}
    unknown_field = await client.get(f"{G}/1001", params={**AUTH, "fields": "ssn"})
    assert graph_error(unknown_field)["code"] == 100
    unknown_user = await client.get(f"{G}/4242", params=AUTH)
    assert graph_error(unknown_user)["error_subcode"] == 33
    assert graph_error(await client.get(f"{G}/1001"))["code"] == 190


async def test_graph_handover(sim: Simulator, client: httpx.AsyncClient, recorder: Recorder) -> None:
    await sim.send_buyer_message("1001", "I want a human")
    r = await client.post(
        f"{G}/me/pass_thread_control",
        params=AUTH,
        json={"recipient": {"id": "1001"}, "target_app_id": PAGE_INBOX_APP_ID, "metadata": "escalated"},
    )
    assert r.json() == {"success": True}
    owner = (await client.get(f"{G}/me/thread_owner", params={**AUTH, "recipient": "1001"})).json()
    assert owner == {"data": [{"thread_owner": {"app_id": PAGE_INBOX_APP_ID}}]}
    await sim.send_buyer_message("1001", "hello?")
    assert "standby" in recorder.payloads[-1]["entry"][0]
    r = await client.post(f"{G}/me/take_thread_control", params=AUTH, json={"recipient": {"id": "1001"}})
    assert r.json() == {"success": True}
    owner = (await client.get(f"{G}/me/thread_owner", params={**AUTH, "recipient": "1001"})).json()
    assert owner["data"][0]["thread_owner"]["app_id"] == int(APP_ID)
    missing = await client.post(
        f"{G}/me/pass_thread_control", params=AUTH, json={"recipient": {"id": "1001"}}
    )
    assert graph_error(missing)["code"] == 100
    unknown = await client.post(f"{G}/me/take_thread_control", params=AUTH, json={"recipient": {"id": "9"}})
    assert graph_error(unknown)["error_subcode"] == 2018001
    log = sim.state.handover_log
    assert [h["action"] for h in log] == ["pass_thread_control", "take_thread_control"]
