"""The simulated Facebook Login dialog: the HTML page, its form, Cancel, and the Graph calls after it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from accorria_agent.simulator import Simulator

from .helpers import APP_ID, APP_SECRET, PAGE_ID, V

CB = "https://agent.example/connect/facebook/callback"
SCOPES = "pages_messaging,pages_manage_metadata,pages_read_engagement"


async def test_dialog_page_form_and_cancel(sim: Simulator, client: httpx.AsyncClient) -> None:
    other = sim.state.add_page("Second <Lot>", "300000000000001")
    params = {
        "client_id": APP_ID,
        "redirect_uri": CB,
        "state": "st<ate>",
        "scope": SCOPES,
        "response_type": "code",
    }
    page = await client.get("/simulator/oauth/dialog", params=params)
    assert page.status_code == 200
    assert "Second &lt;Lot&gt;" in page.text and "<Lot>" not in page.text
    assert (
        "pages_read_engagement" in page.text
        and "frame-ancestors 'none'" in page.headers["content-security-policy"]
    )
    assert (
        await client.get("/simulator/oauth/dialog", params={**params, "client_id": "999"})
    ).status_code == 400

    form = [
        ("redirect_uri", CB),
        ("state", "st<ate>"),
        ("page", other.page_id),
        *[("requested", s) for s in SCOPES.split(",")],
        ("scope", "pages_messaging"),
        ("scope", "pages_manage_metadata"),
        ("action", "allow"),
    ]
    # Repeated fields (page, scope) as a browser sends them.
    done = await client.post(
        "/simulator/oauth/dialog",
        content=str(httpx.QueryParams(form)),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    location = done.headers["location"]
    query = parse_qs(urlsplit(location).query)
    assert location.startswith(CB) and query["state"] == ["st<ate>"]
    code = query["code"][0]

    # The code gives a user token whose permissions show the declined one, and whose accounts are the Page.
    creds = {"client_id": APP_ID, "client_secret": APP_SECRET, "redirect_uri": CB, "code": code}
    token = (await client.post(f"/graph/{V}/oauth/access_token", data=creds)).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    perms = (await client.get(f"/graph/{V}/me/permissions", headers=auth)).json()["data"]
    status = {p["permission"]: p["status"] for p in perms}
    assert status["pages_messaging"] == "granted" and status["pages_read_engagement"] == "declined"
    accounts = (await client.get(f"/graph/{V}/me/accounts", headers=auth)).json()["data"]
    assert [a["id"] for a in accounts] == [other.page_id]
    page_token = accounts[0]["access_token"]
    # That Page token acts for its own Page only.
    me = (await client.get(f"/graph/{V}/me", headers={"Authorization": f"Bearer {page_token}"})).json()
    assert me == {"name": "Second <Lot>", "id": other.page_id}
    wrong = await client.post(
        f"/graph/{V}/{PAGE_ID}/subscribed_apps",
        params={"subscribed_fields": "messages"},
        headers={"Authorization": f"Bearer {page_token}"},
    )
    assert wrong.json()["error"]["code"] == 100

    cancel = await client.post(
        "/simulator/oauth/dialog",
        content=str(httpx.QueryParams([("redirect_uri", CB), ("state", "s2"), ("action", "cancel")])),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert parse_qs(urlsplit(cancel.headers["location"]).query)["error"] == ["access_denied"]
    bad = await client.post("/simulator/api/oauth/authorize", json={"state": "s", "redirect_uri": "ftp://x"})
    assert bad.status_code == 400
    unknown = await client.post(
        "/simulator/api/oauth/authorize", json={"state": "s", "redirect_uri": CB, "pages": ["42"]}
    )
    assert unknown.status_code == 400
