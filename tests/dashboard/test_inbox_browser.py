"""The inbox's server-side search, filters and assignment in headless Chromium on a real demo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.test_dashboard_pages_browser import (
    buyer_says,
    open_live_inbox_on_a_phone,
    serious_axe_violations,
    wait_until,
)

pytestmark = pytest.mark.browser


def shown_names(page: Any) -> list[str]:
    """The buyers listed (their PSIDs: the demo fetches no profile names)."""
    return [
        n.inner_text().removeprefix("Buyer ") for n in page.query_selector_all(".conversation-item .name")
    ]


def test_search_filters_and_assignment_from_the_inbox(
    demo_server: str, browser_page: Any, tmp_path: Path
) -> None:
    page = browser_page
    errors = open_live_inbox_on_a_phone(page, demo_server, tmp_path)
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
