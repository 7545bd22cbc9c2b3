"""The inbox at scale: assignment to a member, server-side search and filters, keyset paging of the
conversation list and of a thread, and tenant isolation of all of it, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

from accorria_agent.accounts.models import Member, Membership
from accorria_agent.accounts.service import start_session
from accorria_agent.conversations.models import Conversation, Message
from accorria_agent.db.engine import transaction
from accorria_agent.live.bus import ensure_listening
from accorria_agent.sellers.notifications import notify_seller
from accorria_agent.settings import Settings
from tests.dashboard.conftest import auth_for_tenant, other_seller, seller_of
from tests.sim_harness import SimHarness, sim_harness

Make = Callable[..., Settings]


async def add_member(h: SimHarness, seller_id: int, name: str, role: str = "staff") -> int:
    """A member of ``seller_id``'s account (the first owner added is who a bearer token acts as)."""
    async with transaction(h.runtime.session_factory) as session:
        person = Member(email=f"{name.lower().replace(' ', '.')}@example.com", name=name, password_hash="x")
        session.add(person)
        await session.flush()
        session.add(Membership(seller_id=seller_id, member_id=person.id, role=role))
        return person.id


async def owner_and_staff(h: SimHarness) -> int:
    """Olga (owner, whom the bearer token acts as) and Sam (staff) in the harness seller's account;
    returns Sam's member id."""
    seller_id = await seller_of(h, h.tenant_id)
    await add_member(h, seller_id, "Olga Owner", role="owner")
    return await add_member(h, seller_id, "Sam Staff")


async def add_conversations(
    h: SimHarness, tenant_id: int, names: list[str], *, texts: list[str] | None = None, **fields: Any
) -> list[int]:
    """Conversations with one buyer message each, one second apart (the last one the most recent)."""
    now = h.runtime.clock()
    ids = []
    async with transaction(h.runtime.session_factory) as session:
        for index, name in enumerate(names):
            at = now - timedelta(seconds=len(names) - index)
            conversation = Conversation(
                tenant_id=tenant_id,
                buyer_psid=f"p{tenant_id}-{index}-{len(name)}-{id(name)}",
                buyer_name=name,
                negotiation_state={},
                last_buyer_message_at=at,
                created_at=at,
                updated_at=at,
                **fields,
            )
            session.add(conversation)
            await session.flush()
            session.add(
                Message(
                    tenant_id=tenant_id,
                    conversation_id=conversation.id,
                    direction="inbound",
                    author="buyer",
                    mid=f"m{conversation.id}",
                    text=texts[index] if texts else f"hello from {name}",
                    payload={},
                    sent_at=at,
                    status="received",
                )
            )
            ids.append(conversation.id)
    return ids


async def all_pages(h: SimHarness, headers: dict[str, str], **params: Any) -> list[list[int]]:
    pages: list[list[int]] = []
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await h.client.get("/api/conversations", params=query, headers=headers)
        assert response.status_code == 200, response.text
        pages.append([c["id"] for c in response.json()])
        cursor = response.headers.get("X-Next-Cursor")
        if cursor is None:
            return pages
        assert f"cursor={cursor}" in response.headers["Link"]


# --- assignment ---------------------------------------------------------------------------------------


async def test_assign_to_a_member_shows_filters_audits_announces_and_refuses_others(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        seller_id = await seller_of(h, h.tenant_id)
        owner_id = await add_member(h, seller_id, "Olga Owner", role="owner")
        staff_id = await add_member(h, seller_id, "Sam Staff")
        other = await other_seller(h)
        foreign_member = await add_member(h, await seller_of(h, other.tenant_id), "Foreign Fred")
        first, second, third = await add_conversations(h, h.tenant_id, ["Ann", "Ben", "Cat"])
        headers = await auth_for_tenant(h, h.tenant_id)
        hub = await ensure_listening(h.runtime.engine)
        subscription = hub.subscribe(seller_id)
        try:
            assigned = await h.client.post(
                f"/api/conversations/{first}/assign", json={"member_id": staff_id}, headers=headers
            )
            assert assigned.status_code == 200, assigned.text
            body = assigned.json()
            assert body["assigned_member_id"] == staff_id
            assert body["assignee"] == {"member_id": staff_id, "name": "Sam Staff"}
            live = await subscription.next(2.0)
            assert live is not None and (live.kind, live.conversation_id) == ("conversation", first)
        finally:
            hub.unsubscribe(subscription)

        mine = await h.client.post(
            f"/api/conversations/{second}/assign", json={"member_id": owner_id}, headers=headers
        )
        assert mine.status_code == 200
        listed = {c["id"]: c for c in (await h.client.get("/api/conversations", headers=headers)).json()}
        assert listed[first]["assignee"]["name"] == "Sam Staff" and listed[third]["assignee"] is None
        thread = (await h.client.get(f"/api/conversations/{first}", headers=headers)).json()
        assert thread["assignee"] == {"member_id": staff_id, "name": "Sam Staff"}

        # The bearer token acts as the account's first owner: "assigned to me" is Olga's.
        to_me = (await h.client.get("/api/conversations?assigned=me", headers=headers)).json()
        assert [c["id"] for c in to_me] == [second]
        nobody = (await h.client.get("/api/conversations?assigned=none", headers=headers)).json()
        assert [c["id"] for c in nobody] == [third]

        refusals = [
            (first, {"member_id": foreign_member}, 404),  # a member of another account
            (first, {"member_id": 999_999}, 404),
            (other.conversation_id, {"member_id": staff_id}, 404),  # another seller's conversation
            (first, {}, 422),
            (first, {"member_id": "2"}, 422),
            (first, {"member_id": 0}, 422),
            (first, {"member_id": 2**40}, 422),
            (first, {"member_id": staff_id, "extra": 1}, 422),
        ]
        for conversation, payload, expected in refusals:
            refused = await h.client.post(
                f"/api/conversations/{conversation}/assign", json=payload, headers=headers
            )
            assert refused.status_code == expected, (payload, refused.text)
        assert (await h.client.get("/api/conversations?assigned=someone", headers=headers)).status_code == 422

        unassigned = await h.client.post(
            f"/api/conversations/{first}/assign", json={"member_id": None}, headers=headers
        )
        assert unassigned.status_code == 200 and unassigned.json()["assignee"] is None
        # Seller B cannot assign A's conversation to B's own member either.
        across = await h.client.post(
            f"/api/conversations/{first}/assign", json={"member_id": foreign_member}, headers=other.headers
        )
        assert across.status_code == 404

        events = (await h.client.get("/api/audit", params={"limit": 50}, headers=headers)).json()["events"]
        assigns = [e for e in events if e["action"] == "conversation.assign"]
        assert [(e["subject_id"], e["details"]["assignee_id"]) for e in assigns] == [
            (str(first), None),
            (str(second), owner_id),
            (str(first), staff_id),
        ]
        assert all(e["actor_kind"] == "member" and e["actor_id"] == owner_id for e in assigns)


async def test_a_removed_member_is_no_longer_shown_as_the_assignee(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        staff_id = await owner_and_staff(h)
        (cid,) = await add_conversations(h, h.tenant_id, ["Ann"])
        headers = await auth_for_tenant(h, h.tenant_id)
        await h.client.post(f"/api/conversations/{cid}/assign", json={"member_id": staff_id}, headers=headers)
        assert (await h.client.delete(f"/api/members/{staff_id}", headers=headers)).status_code == 204
        (summary,) = (await h.client.get("/api/conversations", headers=headers)).json()
        assert summary["assignee"] is None and summary["assigned_member_id"] is None


# --- search and filters -------------------------------------------------------------------------------


async def test_search_takes_wildcards_literally_and_returns_html_as_text(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        script = "<script>alert('x')</script>"
        names = ["Percy 100% Cash", "under_score", "underXscore", script, "Plain Paula", "back\\slash"]
        texts = ["hi", "hi", "hi", "hi", "is the <b>price</b> firm? 50%", "hi"]
        seeded = await add_conversations(h, h.tenant_id, names, texts=texts, listing_id=h.listing_id)
        ids = dict(zip(names, seeded, strict=True))
        other = await other_seller(h)  # B's buyer wrote "B's private buyer message"
        headers = await auth_for_tenant(h, h.tenant_id)

        async def found(q: str) -> set[int]:
            response = await h.client.get("/api/conversations", params={"q": q}, headers=headers)
            assert response.status_code == 200, response.text
            return {c["id"] for c in response.json()}

        assert await found("%") == {ids["Percy 100% Cash"], ids["Plain Paula"]}
        assert await found("_") == {ids["under_score"]}
        assert await found("under_") == {ids["under_score"]}
        assert await found("\\") == {ids["back\\slash"]}
        assert await found("PERCY") == {ids["Percy 100% Cash"]}  # case-insensitive
        assert await found("<b>price") == {ids["Plain Paula"]}  # message text
        assert await found("<script>") == {ids[script]}
        assert await found("civic") == set(ids.values())  # the listing's model
        assert await found("private buyer") == set()  # B's message is not A's
        assert await found("   ") == set(ids.values())  # blank: no search
        (html,) = (await h.client.get("/api/conversations", params={"q": "alert("}, headers=headers)).json()
        assert html["buyer_name"] == script  # stored and returned as the text it is
        assert (
            await h.client.get("/api/conversations", params={"q": "x" * 201}, headers=headers)
        ).status_code == 422
        b_found = (await h.client.get("/api/conversations", params={"q": "%"}, headers=other.headers)).json()
        assert {c["id"] for c in b_found} == set()


async def test_filters_needs_me_handed_off_deals_and_listing(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url) as h:
        quiet, handed, paused, deal, noted = await add_conversations(
            h, h.tenant_id, ["Quiet", "Handed", "Paused", "Deal", "Noted"]
        )
        async with transaction(h.runtime.session_factory) as session:
            rows = {
                c.id: c
                for c in (
                    await session.execute(select(Conversation).where(Conversation.tenant_id == h.tenant_id))
                )
                .scalars()
                .all()
            }
            rows[handed].mode = "handed_off"
            rows[paused].mode = "paused"
            rows[deal].negotiation_state = {"agreed_price": "9000", "buyer_offers": []}
            rows[quiet].listing_id = h.listing_id
            await notify_seller(session, h.tenant_id, noted, "question", "a question")
        headers = await auth_for_tenant(h, h.tenant_id)

        async def ids(**params: Any) -> set[int]:
            response = await h.client.get("/api/conversations", params=params, headers=headers)
            assert response.status_code == 200, response.text
            return {c["id"] for c in response.json()}

        assert await ids(needs_me="true") == {handed, paused, noted}
        assert await ids(handed_off="true") == {handed}
        assert await ids(deals="true") == {deal}
        assert await ids(listing_id=h.listing_id) == {quiet}
        assert await ids(listing_id=h.listing_id, needs_me="true") == set()
        other = await other_seller(h)
        for foreign in (999_999, other.listing_id):
            response = await h.client.get(
                "/api/conversations", params={"listing_id": foreign}, headers=headers
            )
            assert response.status_code == 404
        b_sees = (
            await h.client.get("/api/conversations", params={"deals": "true"}, headers=other.headers)
        ).json()
        assert b_sees == []


# --- paging -------------------------------------------------------------------------------------------


async def test_pages_have_no_duplicates_or_gaps_while_messages_arrive(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        ids = await add_conversations(h, h.tenant_id, [f"Buyer {i}" for i in range(23)])
        headers = await auth_for_tenant(h, h.tenant_id)
        pages = await all_pages(h, headers, limit=5)
        assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
        assert [c for p in pages for c in p] == list(reversed(ids))

        # Page through again; between pages a buyer not yet seen writes (that conversation becomes the
        # most recent): every other conversation still comes exactly once, the active one is at the top.
        first = await h.client.get("/api/conversations", params={"limit": 5}, headers=headers)
        seen = [c["id"] for c in first.json()]
        cursor = first.headers["X-Next-Cursor"]
        active = ids[3]
        await h.say("9999", "hi")  # a brand-new conversation too
        async with transaction(h.runtime.session_factory) as session:
            row = await session.get(Conversation, active)
            assert row is not None
            row.last_buyer_message_at = h.runtime.clock()  # updated_at moves with the write
        while cursor:
            response = await h.client.get(
                "/api/conversations", params={"limit": 5, "cursor": cursor}, headers=headers
            )
            seen.extend(c["id"] for c in response.json())
            cursor = response.headers.get("X-Next-Cursor")
        assert len(seen) == len(set(seen))
        assert set(ids) - {active} <= set(seen)
        top = (await h.client.get("/api/conversations", params={"limit": 2}, headers=headers)).json()
        assert active in {c["id"] for c in top}

        # Filters page the same way.
        filtered = await all_pages(h, headers, limit=2, q="Buyer 1")  # Buyer 1, 10 … 19
        flat = [c for p in filtered for c in p]
        assert len(flat) == len(set(flat)) == 11

        for bad in ("nonsense", "e30", "WyJ4IiwxXQ", "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwxXQ"):
            response = await h.client.get("/api/conversations", params={"cursor": bad}, headers=headers)
            assert response.status_code == 400 and response.json()["code"] == "invalid_cursor", bad
        for limit in ("0", "501", "x"):
            response = await h.client.get("/api/conversations", params={"limit": limit}, headers=headers)
            assert response.status_code == 422


async def test_another_sellers_cursor_shows_only_their_own_conversations(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        await add_conversations(h, h.tenant_id, [f"A{i}" for i in range(4)])
        other = await other_seller(h)
        headers = await auth_for_tenant(h, h.tenant_id)
        response = await h.client.get("/api/conversations", params={"limit": 1}, headers=headers)
        cursor = response.headers["X-Next-Cursor"]
        theirs = await h.client.get("/api/conversations", params={"cursor": cursor}, headers=other.headers)
        assert theirs.status_code == 200
        assert {c["id"] for c in theirs.json()} <= {other.conversation_id}


async def test_a_page_costs_the_same_statements_for_5_or_40_conversations(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        headers = await auth_for_tenant(h, h.tenant_id)
        statements: list[str] = []

        @event.listens_for(h.runtime.engine.sync_engine, "before_cursor_execute")
        def capture(_c: Any, _cur: Any, statement: str, _p: Any, _ctx: Any, _many: bool) -> None:
            statements.append(statement)

        counts = []
        for size in (5, 40):
            await add_conversations(h, h.tenant_id, [f"N{size}-{i}" for i in range(size)])
            statements.clear()
            response = await h.client.get("/api/conversations", params={"limit": 50}, headers=headers)
            assert response.status_code == 200
            # The notification dispatcher polls its outbox on its own timer, whatever the page does.
            selects = [
                s
                for s in statements
                if s.lstrip().upper().startswith("SELECT") and "FROM notification_deliveries" not in s
            ]
            counts.append(len(selects))
        event.remove(h.runtime.engine.sync_engine, "before_cursor_execute", capture)
        assert counts[0] == counts[1] and counts[1] <= 12, counts


# --- the thread, paged ---------------------------------------------------------------------------------


async def test_thread_messages_page_back_from_the_latest_100(database_url: str, make_settings: Make) -> None:
    async with sim_harness(make_settings, database_url) as h:
        (cid,) = await add_conversations(h, h.tenant_id, ["Chatty"])
        now = h.runtime.clock()
        async with transaction(h.runtime.session_factory) as session:
            for index in range(1, 250):
                session.add(
                    Message(
                        tenant_id=h.tenant_id,
                        conversation_id=cid,
                        direction="inbound",
                        author="buyer",
                        mid=f"chatty-{index}",
                        text=f"message {index}",
                        payload={},
                        sent_at=now + timedelta(seconds=index),
                        status="received",
                    )
                )
        headers = await auth_for_tenant(h, h.tenant_id)
        url = f"/api/conversations/{cid}/messages"
        latest = (await h.client.get(url, headers=headers)).json()
        assert len(latest["messages"]) == 100 and latest["messages"][-1]["text"] == "message 249"
        collected = latest["messages"]
        before = latest["next_before"]
        while before is not None:
            older = (await h.client.get(url, params={"before": before}, headers=headers)).json()
            collected = older["messages"] + collected
            before = older["next_before"]
        ids = [m["id"] for m in collected]
        assert len(ids) == 250 and ids == sorted(ids) and len(set(ids)) == 250
        small = (await h.client.get(url, params={"limit": 3}, headers=headers)).json()
        assert [m["text"] for m in small["messages"]] == ["message 247", "message 248", "message 249"]
        other = await other_seller(h)
        assert (await h.client.get(url, headers=other.headers)).status_code == 404
        for params in ({"limit": 0}, {"limit": 501}, {"before": 0}, {"before": "x"}):
            assert (await h.client.get(url, params=params, headers=headers)).status_code == 422
        await asyncio.sleep(0)


async def test_on_sqlite_a_page_reads_conversations_through_the_keyset_index(
    sqlite_template: Path, tmp_path: Path, make_settings: Make
) -> None:
    """The embedded store's plan (no ANALYZE): the page walks ``ix_messenger_conversations_tenant_updated``
    and nothing but the search scans a table of tenant data."""
    path = tmp_path / "plans.db"
    shutil.copy(sqlite_template, path)
    async with sim_harness(make_settings, f"sqlite+aiosqlite:///{path}") as h:
        await add_conversations(h, h.tenant_id, [f"P{i}" for i in range(30)])
        headers = await auth_for_tenant(h, h.tenant_id)
        first = await h.client.get("/api/conversations", params={"limit": 10}, headers=headers)
        statements: list[tuple[str, Any]] = []

        @event.listens_for(h.runtime.engine.sync_engine, "before_cursor_execute")
        def capture(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
            if statement.lstrip().upper().startswith("SELECT"):
                statements.append((statement, params))

        for params in (
            {"limit": 10, "cursor": first.headers["X-Next-Cursor"]},
            {"limit": 10, "needs_me": "true"},
            {"limit": 10, "assigned": "me"},
        ):
            assert (
                await h.client.get("/api/conversations", params=params, headers=headers)
            ).status_code == 200
        event.remove(h.runtime.engine.sync_engine, "before_cursor_execute", capture)
    with sqlite3.connect(path) as connection:
        plans = [
            [row[3] for row in connection.execute("EXPLAIN QUERY PLAN " + statement, parameters)]
            for statement, parameters in statements
            if "FROM messenger_conversations" in statement
        ]
    assert len(plans) == 3
    keyset, needs_me, assigned = plans
    assert any("ix_messenger_conversations_tenant_updated" in step for step in keyset), keyset
    assert any("ix_messenger_conversations_tenant_updated" in step for step in needs_me), needs_me
    assert any("ix_messenger_conversations_tenant_assigned" in step for step in assigned), assigned
    for plan in plans:
        assert not [s for s in plan if s.startswith("SCAN ") and "USING" not in s], plan


async def test_a_staff_member_assigns_to_themselves_and_sees_their_own_queue(
    database_url: str, make_settings: Make
) -> None:
    async with sim_harness(make_settings, database_url) as h:
        staff_id = await owner_and_staff(h)
        first, second = await add_conversations(h, h.tenant_id, ["Ann", "Ben"], listing_id=h.listing_id)
        async with transaction(h.runtime.session_factory) as session:
            link = (
                await session.execute(select(Membership).where(Membership.member_id == staff_id))
            ).scalar_one()
            opened = await start_session(session, h.runtime.settings, staff_id, link, h.runtime.clock())
        staff = {"Cookie": f"accorria_session={opened.token}; accorria_csrf=c", "X-CSRF-Token": "c"}
        owner = await auth_for_tenant(h, h.tenant_id)

        mine = await h.client.post(
            f"/api/conversations/{first}/assign", json={"member_id": staff_id}, headers=staff
        )
        assert mine.status_code == 200, mine.text
        assert mine.json()["assignee"]["name"] == "Sam Staff"
        assert mine.json()["listing"]["price_floor"] is None  # staff never see the floor
        queue = (await h.client.get("/api/conversations?assigned=me", headers=staff)).json()
        assert [c["id"] for c in queue] == [first]
        owners = (await h.client.get("/api/conversations?assigned=me", headers=owner)).json()
        assert owners == []
        unassigned = (await h.client.get("/api/conversations?assigned=none", headers=staff)).json()
        assert [c["id"] for c in unassigned] == [second]
