"""The Page's Messenger profile and m.me listing links, including a round trip through the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st

from accorria_agent.messenger.graph_client import GraphClient
from accorria_agent.messenger.page_setup import (
    configure_page,
    get_started,
    greeting,
    ice_breakers,
    m_me_link,
    messenger_profile,
    parse_listing_ref,
    persistent_menu,
)
from accorria_agent.messenger.send_api import SendApiValidationError
from accorria_agent.simulator import Simulator
from tests.simulator.helpers import CONFIG, PAGE_TOKEN, Recorder, V, make_agent_app

GREETING = "Hi {{user_first_name}}! Ask me anything about the car — I answer day and night."


@pytest.fixture
async def sim_client() -> AsyncIterator[tuple[Simulator, httpx.AsyncClient]]:
    """The simulator's Graph API hosted in a FastAPI app, reached through ASGI (no sockets)."""
    agent = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=make_agent_app(Recorder())), base_url="http://a"
    )
    simulator = Simulator(CONFIG, agent)
    app = FastAPI()
    app.include_router(simulator.graph_router, prefix="/graph")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sim.test"
    ) as client:
        yield simulator, client
    await simulator.aclose()
    await agent.aclose()


async def test_configure_page_posts_the_profile_and_graph_returns_it(
    sim_client: tuple[Simulator, httpx.AsyncClient],
) -> None:
    _, client = sim_client
    graph = GraphClient(f"http://sim.test/graph/{V}", client)
    posted = await configure_page(graph, PAGE_TOKEN, GREETING)

    fields = "get_started,persistent_menu,greeting,ice_breakers"
    response = await client.get(
        f"/graph/{V}/me/messenger_profile", params={"fields": fields, "access_token": PAGE_TOKEN}
    )
    assert response.status_code == 200, response.text
    (stored,) = response.json()["data"]
    assert stored == posted == messenger_profile(GREETING)
    assert stored["get_started"] == {"payload": "GET_STARTED"}
    assert stored["greeting"] == [{"locale": "default", "text": GREETING}]
    menu = stored["persistent_menu"][0]
    assert menu["composer_input_disabled"] is False
    assert [(a["title"], a["payload"]) for a in menu["call_to_actions"]] == [
        ("View car details", "VIEW_DETAILS"),
        ("Schedule a test drive", "SCHEDULE_TEST_DRIVE"),
        ("Talk to the seller", "TALK_TO_SELLER"),
    ]


async def test_configure_page_with_appsecret_proof_as_in_production(
    sim_client: tuple[Simulator, httpx.AsyncClient],
) -> None:
    _, client = sim_client
    graph = GraphClient(f"http://sim.test/graph/{V}", client, app_secret=CONFIG.app_secret)
    assert await configure_page(graph, PAGE_TOKEN, GREETING) == messenger_profile(GREETING)


async def test_a_bad_greeting_is_refused_before_any_graph_call() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json={"result": "success"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        graph = GraphClient("https://graph.test/v23.0", http)
        with pytest.raises(SendApiValidationError) as info:
            await configure_page(graph, "token", "x" * 161)
    assert info.value.field == "greeting[0].text"
    assert calls == []


def test_profile_parts() -> None:
    assert get_started() == {"payload": "GET_STARTED"}
    (menu,) = persistent_menu()
    assert menu["locale"] == "default" and menu["composer_input_disabled"] is False
    assert all(a["type"] == "postback" and len(a["title"]) <= 30 for a in menu["call_to_actions"])
    (breakers,) = ice_breakers()
    assert breakers["locale"] == "default"
    assert [q["question"] for q in breakers["call_to_actions"]] == [
        "Is it still available?",
        "What's the mileage?",
        "Can I see it this week?",
        "What's your best price?",
    ]
    payloads = [q["payload"] for q in breakers["call_to_actions"]]
    assert len(set(payloads)) == 4 and all(payloads)


def test_greeting_limits_and_placeholders() -> None:
    assert greeting("x" * 160) == [{"locale": "default", "text": "x" * 160}]
    assert greeting("Hi {{user_full_name}}, {{user_last_name}}")[0]["text"].startswith("Hi {{user_full")
    for bad in ("x" * 161, "", "   ", "Hi {{first_name}}!", "Hi {{user_first_name }}"):
        with pytest.raises(SendApiValidationError) as info:
            greeting(bad)
        assert info.value.field == "greeting[0].text"


def test_m_me_link() -> None:
    assert m_me_link("accorria.motors", 42) == "https://m.me/accorria.motors?ref=listing_42"
    assert m_me_link("104000000000001", 7) == "https://m.me/104000000000001?ref=listing_7"
    for page in ("", "accorria/motors", "a b", "evil?ref=x", "страница"):
        with pytest.raises(SendApiValidationError):
            m_me_link(page, 42)
    for listing_id in (0, -1, True, 2**63):
        with pytest.raises(SendApiValidationError):
            m_me_link("accorria", listing_id)


def test_parse_listing_ref_accepts_only_the_canonical_form() -> None:
    assert parse_listing_ref("listing_42") == 42
    assert parse_listing_ref(f"listing_{2**63 - 1}") == 2**63 - 1
    rejected = [
        "",
        "listing_",
        "listing_0",
        "listing_007",
        "listing_-4",
        "listing_+4",
        "listing_4 ",
        " listing_4",
        "listing_4\n",
        "LISTING_4",
        "listing_4x",
        "listing_٤",  # Arabic-Indic digit: int() would accept it
        "listing_¹",
        f"listing_{2**63}",
        "listing_" + "9" * 3000,
        "ad_123",
        "listing_4_extra",
    ]
    assert [parse_listing_ref(r) for r in rejected] == [None] * len(rejected)


@given(st.integers(min_value=1, max_value=2**63 - 1))
def test_links_round_trip_to_the_listing(listing_id: int) -> None:
    link = m_me_link("accorria.motors", listing_id)
    assert len(link) <= 2083
    assert parse_listing_ref(httpx.URL(link).params["ref"]) == listing_id


@given(st.text(max_size=40))
def test_parse_listing_ref_never_raises(ref: str) -> None:
    value = parse_listing_ref(ref)
    assert value is None or (ref == f"listing_{value}" and value > 0)
