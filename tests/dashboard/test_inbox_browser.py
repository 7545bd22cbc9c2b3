"""The inbox's server-side search, filters and assignment in headless Chromium on a real demo."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.test_dashboard_browser import page_texts
from tests.dashboard.test_dashboard_pages_browser import (
    buyer_says,
    serious_axe_violations,
    sign_in_on_a_phone,
    wait_until,
)

pytestmark = pytest.mark.browser


Inbox = tuple[Any, list[str]]


@pytest.fixture
def inbox(demo_server: str, browser_page: Any, tmp_path: Path) -> Inbox:
    """The demo seller's inbox open on a phone, and the console/page/response errors collected since."""
    return browser_page, sign_in_on_a_phone(browser_page, demo_server, tmp_path / "data")


def shown_names(page: Any) -> list[str]:
    """The buyers listed (their PSIDs: the demo fetches no profile names)."""
    return [
        n.inner_text().removeprefix("Buyer ") for n in page.query_selector_all(".conversation-item .name")
    ]


def test_search_filters_and_assignment_from_the_inbox(demo_server: str, inbox: Inbox) -> None:
    page, errors = inbox
    buyer_says(demo_server, "9501", "is it 100% rust free?")
    buyer_says(demo_server, "9502", "hello there, any_thing new?")
    wait_until(lambda: len(shown_names(page)) == 2, "both conversations in the inbox")

    # Search is the server's: "%" and "_" are taken literally.
    page.fill("#search", "100%")
    wait_until(lambda: shown_names(page) == ["9501"], "the search result")
    page.fill("#search", "_")
    wait_until(lambda: shown_names(page) == ["9502"], "the underscore search result")
    page.fill("#search", "")
    wait_until(lambda: len(shown_names(page)) == 2, "the whole list again")

    # Assign 9502's conversation to the signed-in owner; "Assigned to me" shows only that one.
    page.click(".conversation-item:has-text('9502') a")
    page.wait_for_selector("#assign-select:not([disabled])", timeout=10_000)
    options = page.eval_on_selector_all("#assign-select option", "os => os.map(o => o.value)")
    assert options[0] == "" and len(options) >= 2
    page.select_option("#assign-select", options[1])
    page.wait_for_selector("#reply-status:has-text('Assigned to')", timeout=10_000)
    # (On a phone the list is hidden while a thread is open: attached, not visible.)
    page.wait_for_selector(".conversation-item:has-text('9502') .assignee", state="attached", timeout=10_000)
    assert serious_axe_violations(page) == []
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner
    page.goto(f"{demo_server}/dashboard/#/inbox")
    page.wait_for_selector("#filter", timeout=10_000)
    page.select_option("#filter", "assigned_me")
    wait_until(lambda: shown_names(page) == ["9502"], "only the conversation assigned to me")
    page.select_option("#filter", "unassigned")
    wait_until(lambda: shown_names(page) == ["9501"], "only the unassigned one")
    assert errors == []


def test_a_long_thread_loads_earlier_messages_on_demand(
    demo_server: str, inbox: Inbox, tmp_path: Path
) -> None:
    page, errors = inbox
    buyer_says(demo_server, "9601", "hello, is it available?")
    wait_until(lambda: len(shown_names(page)) == 1, "the conversation")
    cid = int(page.get_attribute(".conversation-item", "data-id") or 0)
    wait_until(lambda: len(page_texts(demo_server, "9601")) >= 1, "the bot's answer")
    # 300 more messages written straight into the demo's store (a long thread, without 300 bot turns).
    with sqlite3.connect(tmp_path / "data" / "accorria.db", timeout=10) as db:
        tenant_id, before = db.execute(
            "SELECT tenant_id, count(*) FROM messenger_messages WHERE conversation_id = ? GROUP BY tenant_id",
            (cid,),
        ).fetchone()
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        db.executemany(
            "INSERT INTO messenger_messages (tenant_id, conversation_id, direction, author, mid, text,"
            " payload, status, sent_at, created_at, updated_at)"
            " VALUES (?, ?, 'inbound', 'buyer', ?, ?, '{}', 'received', ?, ?, ?)",
            [(tenant_id, cid, f"long-{n}", f"long message {n}", stamp, stamp, stamp) for n in range(300)],
        )
    page.goto(f"{demo_server}/dashboard/#/inbox/{cid}")
    page.wait_for_selector("#load-earlier:not([hidden])", timeout=10_000)
    total = len(page.query_selector_all("#messages .message"))
    assert total == 200
    page.click("#load-earlier")
    wait_until(lambda: len(page.query_selector_all("#messages .message")) == 300, "the next 100")
    page.click("#load-earlier")
    wait_until(lambda: page.is_hidden("#load-earlier"), "the beginning of the thread")
    ids = page.eval_on_selector_all("#messages .message", "ms => ms.map(m => Number(m.dataset.id))")
    assert len(ids) == 300 + before and ids == sorted(set(ids))
    assert page.inner_text("#messages .message .text") == "hello, is it available?"
    assert errors == []
