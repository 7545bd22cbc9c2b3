"""The Settings page in headless Chromium against a real ``accorria-agent demo``, on a phone.

The demo seller (an owner) sets the weekly test-drive hours and a day off and sees them after a reload,
gives the demo Page its own hours (the API then answers ``source: "page"``) and goes back to the
seller's, invites a member (the simulator's mailbox receives the invitation), changes their own email
notifications (the API returns them), sees a refusal in words, and downloads the export (JSON with the
account). axe-core finds no serious violation, nothing scrolls sideways at 390 × 844, no console error.
With ``ACCORRIA_SCREENSHOTS=<dir>`` it saves ``settings-phone.png`` and ``settings-desktop.png`` there.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from accorria_agent.demo import DEMO_PAGE_ID
from tests.dashboard.test_dashboard_pages_browser import (
    DESKTOP,
    PHONE,
    serious_axe_violations,
    sign_in_on_a_phone,
    wait_until,
)

pytestmark = pytest.mark.browser


def api_get(page: Any, path: str) -> Any:
    """GET an API path with the browser's own session cookie."""
    script = (
        "async (p) => { const r = await fetch('/api/' + p);"
        " return {status: r.status, body: await r.json()}; }"
    )
    return page.evaluate(script, path)


def open_settings(page: Any, base: str) -> None:
    page.goto(f"{base}/dashboard/#/settings")
    page.reload()  # a fresh page (the same hash would not render again), at the top
    page.wait_for_selector("[aria-labelledby=data-title]", timeout=15_000)  # the last section: all are there


def test_settings_hours_override_members_notifications_and_export(
    demo_server: str, browser_page: Any, tmp_path: Path
) -> None:
    page = browser_page
    errors = sign_in_on_a_phone(page, demo_server, tmp_path / "data")
    open_settings(page, demo_server)

    # 1. The seller's weekly hours, a day off and a longer test drive, saved and shown after a reload.
    page.fill("#availability-mon", "08:30-12:00, 13:00-17:30")
    page.fill("#availability-sun", "")
    page.fill("#availability-exceptions", "2031-12-24 off")
    page.fill("#availability-slot", "60")
    page.fill("#availability-area", "Near Main St station")
    page.click("#availability-form button[type=submit]")
    page.wait_for_selector("#availability-status:has-text('saved')", timeout=10_000)
    (tenant,) = api_get(page, "settings")["body"]
    prefix = f"#page-{tenant['tenant_id']}-hours-"
    # The Page inherits them: its section shows the new hours at once.
    page.wait_for_function(
        f"document.querySelector('{prefix}mon')?.value === '08:30-12:00, 13:00-17:30'", timeout=5_000
    )
    # A malformed day is refused in words, before and without a request.
    page.fill("#availability-tue", "9 to 5")
    page.click("#availability-form button[type=submit]")
    page.wait_for_selector("#availability-status.error:has-text('Tuesday')", timeout=5_000)
    page.reload()
    page.wait_for_selector("#delete-form", timeout=15_000)
    assert page.input_value("#availability-mon") == "08:30-12:00, 13:00-17:30"
    assert page.input_value("#availability-sun") == ""
    assert page.input_value("#availability-exceptions") == "2031-12-24 off"
    assert page.input_value("#availability-slot") == "60"
    saved = api_get(page, "availability")["body"]
    assert saved["weekly_hours"]["mon"] == [["08:30", "12:00"], ["13:00", "17:30"]]
    assert saved["exceptions"] == [{"date": "2031-12-24", "hours": []}] and saved["is_default"] is False

    # 2. The demo Page gets its own hours, then uses the seller's again.
    assert "your hours for all Pages" in page.inner_text(prefix + "source")
    page.fill(prefix + "sat", "10:00-14:00")
    page.click(f"{prefix}form button[type=submit]")
    page.wait_for_selector(f"{prefix}status:has-text('saved')", timeout=10_000)
    assert "its own hours" in page.inner_text(prefix + "source")
    override = api_get(page, f"availability/pages/{DEMO_PAGE_ID}")["body"]
    assert override["source"] == "page" and override["weekly_hours"]["sat"] == [["10:00", "14:00"]]
    page.reload()
    page.wait_for_selector("#delete-form", timeout=15_000)
    assert page.input_value(prefix + "sat") == "10:00-14:00"
    page.click(prefix + "reset")
    page.wait_for_selector(f"{prefix}status:has-text('again')", timeout=10_000)
    assert api_get(page, f"availability/pages/{DEMO_PAGE_ID}")["body"]["source"] == "seller"
    # The Page's send limits are shown (read-only).
    assert "Messages per minute" in page.inner_text(f"form[aria-label='Settings of {tenant['page_name']}']")

    # 3. Invite a member: the mailbox receives the invitation; a bad address is refused in words.
    page.fill("#invite-email", "sam@dealer.example")
    page.press("#invite-email", "Enter")  # the keyboard alone sends it
    page.wait_for_selector("#invite-status:has-text('Invitation sent to sam@dealer.example')", timeout=10_000)
    wait_until(
        lambda: any(
            "sam@dealer.example" in mail["to"]
            for mail in httpx.get(f"{demo_server}/simulator/api/mailbox", timeout=5).json()
        ),
        "the invitation in the mailbox",
    )
    assert page.query_selector_all("#members .member")  # the owner is listed
    # The last owner cannot demote themselves: the refusal is shown in words, not as a code.
    me = api_get(page, "me")["body"]["member"]["id"]
    page.select_option(f"#member-{me}-role", "staff")
    page.click(f"li[data-member='{me}'] form button[type=submit]")
    row = page.locator(f"li[data-member='{me}'] .status.error")
    row.wait_for(timeout=10_000)
    assert "Not changed:" in row.inner_text() and len(row.inner_text()) > len("Not changed: ") + 5
    # The refused PATCH (409) is expected: drop its failed response and the browser's console line for it.
    errors[:] = [e for e in errors if "/api/members/" not in e and "409 (Conflict)" not in e]

    # 4. My notifications: digest, only hand-offs and bookings.
    page.focus("#notify-mode-immediate")
    page.keyboard.press("ArrowDown")  # radio buttons move with the arrow keys
    assert page.is_checked("#notify-mode-digest")
    for box in page.query_selector_all("#notify-form input[name=email_kinds]"):
        box.uncheck()
    page.check("#notify-kind-handoff")
    page.check("#notify-kind-booking")
    page.click("#notify-form button[type=submit]")
    page.wait_for_selector("#notify-status:has-text('saved')", timeout=10_000)
    prefs = api_get(page, "notification-preferences")["body"]
    assert prefs["email_mode"] == "digest" and prefs["email_kinds"] == ["handoff", "booking"]

    # 5. The export downloads as JSON with the account in it.
    with page.expect_download(timeout=15_000) as info:
        page.click("#export-button")
    exported = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    assert info.value.suggested_filename == "accorria-export.json"
    assert "access_token" not in json.dumps(exported)
    assert exported["account"] and "exported_at" in exported
    # Deletion needs the exact phrase (nothing is sent without it).
    page.fill("#delete-confirm", "delete")
    page.click("#delete-form button[type=submit]")
    page.wait_for_selector("#delete-status.error:has-text('DELETE MY ACCOUNT')", timeout=5_000)

    # 6. Phone first, accessible, no console error; screenshots on request.
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"settings scrolls sideways at 390 px ({width} > {inner})"
    assert serious_axe_violations(page) == []
    shots = os.environ.get("ACCORRIA_SCREENSHOTS")
    if shots:
        open_settings(page, demo_server)
        page.screenshot(path=str(Path(shots) / "settings-phone.png"), full_page=True)
        page.set_viewport_size(DESKTOP)
        open_settings(page, demo_server)
        page.wait_for_timeout(300)
        page.screenshot(path=str(Path(shots) / "settings-desktop.png"), full_page=False)
    assert errors == []


def test_staff_see_the_settings_but_cannot_change_them(
    demo_server: str, browser_page: Any, tmp_path: Path
) -> None:
    owner = browser_page
    sign_in_on_a_phone(owner, demo_server, tmp_path / "data")
    open_settings(owner, demo_server)
    owner.fill("#invite-email", "staff@dealer.example")
    owner.click("#invite-form button[type=submit]")
    owner.wait_for_selector("#invite-status:has-text('Invitation sent')", timeout=10_000)

    def invitation_link() -> str | None:
        for mail in httpx.get(f"{demo_server}/simulator/api/mailbox", timeout=5).json():
            if "staff@dealer.example" in mail["to"]:
                return next((link for link in mail["links"] if "/auth/invitation" in link), None)
        return None

    wait_until(lambda: invitation_link() is not None, "the invitation in the mailbox")
    staff = owner.context.browser.new_page(viewport=PHONE)  # a browser of its own (no owner cookie)
    errors: list[str] = []
    staff.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    staff.on("pageerror", lambda e: errors.append(str(e)))
    staff.goto(str(invitation_link()))
    staff.fill("#invitation input[name=name]", "Sam Staff")
    staff.fill("#invitation input[name=password]", "a long staff password 42")
    staff.click("#invitation button[type=submit]")
    staff.wait_for_url("**/dashboard/**", timeout=15_000)
    open_settings(staff, demo_server)

    # Everything is shown, nothing can be changed, and the page says why.
    assert staff.is_disabled("#availability-mon") and staff.is_disabled("select[name=reply_mode]")
    assert staff.query_selector("#invite-form") is None and staff.query_selector("#export-button") is None
    assert staff.query_selector("#members button") is None  # no role change, no removal
    text = staff.inner_text("#view")
    assert "Only owners change test-drive hours." in text and "Only owners invite" in text
    assert "Sam Staff" in text and "Demo Seller" in text
    # A staff member still chooses their own notifications.
    staff.check("#notify-mode-off")
    staff.click("#notify-form button[type=submit]")
    staff.wait_for_selector("#notify-status:has-text('saved')", timeout=10_000)
    width, inner = staff.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner
    assert serious_axe_violations(staff) == []
    assert errors == []

    # An owner's own row offers no "Remove" (the account would lose the person changing it).
    assert owner.locator("li.member:has-text('(you)') button.danger").count() == 0
    # The owner removes the staff member (a second click confirms): their session ends at once.
    staff_id = next(m["member_id"] for m in api_get(owner, "members")["body"] if m["name"] == "Sam Staff")
    open_settings(owner, demo_server)
    remove = f"li[data-member='{staff_id}'] button.danger"
    owner.click(remove)
    assert "Click again" in owner.inner_text(remove)
    owner.click(remove)
    owner.wait_for_selector(f"li[data-member='{staff_id}']", state="detached", timeout=10_000)
    assert api_get(staff, "me")["status"] == 401

    # The owner deletes the whole account with the exact phrase; the session is gone with it.
    owner.fill("#delete-confirm", "DELETE MY ACCOUNT")
    owner.click("#delete-form button[type=submit]")
    owner.wait_for_selector("#delete-status:has-text('are deleted')", timeout=10_000)
    assert api_get(owner, "me")["status"] == 401
    # The live stream ends with the session: the page stops reconnecting and says so.
    owner.wait_for_selector("#live-state:has-text('signed out')", timeout=30_000)
