"""Dealership members: invitations by email, roles, owner-only routes, the last owner, other accounts."""

from __future__ import annotations

from collections.abc import Callable

from accorria_agent.settings import Settings
from accorria_agent.simulator.mailbox import LocalMailbox
from tests.accounts.conftest import PASSWORD, accounts_app, csrf, login, signup

Make = Callable[..., Settings]


async def test_invitations_roles_and_owner_only_routes(
    database_url: str, make_settings: Make, mailbox: LocalMailbox
) -> None:
    async with accounts_app(make_settings, database_url, mailbox) as h:
        owner = h.client()
        await signup(owner, "owner@dealer.example", name="Olive Owner")
        invited = await owner.post(
            "/api/members/invitations",
            json={"email": "Staff@Dealer.example", "role": "staff"},
            headers=csrf(owner),
        )
        assert invited.status_code == 201 and invited.json()["email"] == "staff@dealer.example"
        mail = (await h.mails(2))[1]
        assert mail.to == ["staff@dealer.example"] and "Olive Owner" in mail.text
        token = await h.link_token(1, "/auth/invitation?token=")

        staff = h.client()
        weak = await staff.post(
            "/api/auth/accept-invitation", json={"token": token, "name": "Sam", "password": "1"}
        )
        assert weak.status_code == 422  # the token is not spent by a refused attempt
        joined = await staff.post(
            "/api/auth/accept-invitation", json={"token": token, "name": "Sam Staff", "password": PASSWORD}
        )
        assert joined.status_code == 200, joined.text
        assert joined.json()["role"] == "staff" and joined.json()["email_verified"] is True
        again = await h.client().post(
            "/api/auth/accept-invitation", json={"token": token, "name": "Eve", "password": PASSWORD}
        )
        assert again.status_code == 400  # single use

        team = (await staff.get("/api/members")).json()
        assert [(m["email"], m["role"]) for m in team] == [
            ("owner@dealer.example", "owner"),
            ("staff@dealer.example", "staff"),
        ]
        staff_id = team[1]["member_id"]
        owner_id = team[0]["member_id"]
        # Staff may not change members, Page settings or read the audit trail.
        for method, path, body in [
            ("POST", "/api/members/invitations", {"email": "x@example.com", "role": "owner"}),
            ("PATCH", f"/api/members/{owner_id}", {"role": "staff"}),
            ("DELETE", f"/api/members/{owner_id}", None),
            ("PATCH", "/api/settings/1", {"bot_enabled": False}),
            ("GET", "/api/audit", None),
        ]:
            response = await staff.request(method, path, json=body, headers=csrf(staff))
            assert response.status_code == 403, (method, path, response.text)

        # The last owner can be neither demoted nor removed.
        last = await owner.patch(f"/api/members/{owner_id}", json={"role": "staff"}, headers=csrf(owner))
        assert last.status_code == 409 and last.json()["code"] == "last_owner"
        assert (await owner.delete(f"/api/members/{owner_id}", headers=csrf(owner))).status_code == 409
        promoted = await owner.patch(f"/api/members/{staff_id}", json={"role": "owner"}, headers=csrf(owner))
        assert promoted.status_code == 200 and promoted.json()["role"] == "owner"
        assert (await staff.get("/api/audit")).status_code == 200  # the role applies at once
        demoted = await staff.patch(f"/api/members/{staff_id}", json={"role": "staff"}, headers=csrf(staff))
        assert demoted.status_code == 200
        assert (await staff.get("/api/audit")).status_code == 403

        removed = await owner.delete(f"/api/members/{staff_id}", headers=csrf(owner))
        assert removed.status_code == 204
        assert (await staff.get("/api/me")).status_code == 401  # their session in this account ended
        assert (await login(h.client(), "staff@dealer.example")).status_code == 401  # no account left

        trail = (await owner.get("/api/audit", params={"limit": 200})).json()["events"]
        actions = [e["action"] for e in reversed(trail)]
        for expected in (
            "account.sign_up",
            "member.invite",
            "member.join",
            "member.role_change",
            "member.remove",
        ):
            assert expected in actions
        assert all(e["actor_kind"] == "member" for e in trail)


async def test_an_existing_member_joins_with_their_own_password(
    database_url: str, make_settings: Make, mailbox: LocalMailbox
) -> None:
    async with accounts_app(make_settings, database_url, mailbox) as h:
        first, second = h.client(), h.client()
        await signup(first, "first@example.com")
        await signup(second, "second@example.com")
        await first.post(
            "/api/members/invitations",
            json={"email": "second@example.com", "role": "owner"},
            headers=csrf(first),
        )
        token = await h.link_token(2, "/auth/invitation?token=")
        wrong = await h.client().post(
            "/api/auth/accept-invitation", json={"token": token, "name": "", "password": "not the password"}
        )
        assert wrong.status_code == 422  # holding the link is not enough to take over an existing sign-in
        duplicate = await first.post(
            "/api/members/invitations",
            json={"email": "first@example.com", "role": "staff"},
            headers=csrf(first),
        )
        assert duplicate.status_code == 409


async def test_another_account_sees_and_changes_nothing_of_this_one(
    database_url: str, make_settings: Make, mailbox: LocalMailbox
) -> None:
    async with accounts_app(make_settings, database_url, mailbox) as h:
        alice, mallory = h.client(), h.client()
        await signup(alice, "alice@example.com")
        await signup(mallory, "mallory@example.com")
        alice_id = (await alice.get("/api/me")).json()["member"]["id"]
        alice_audit = (await alice.get("/api/audit")).json()["events"]

        assert [m["email"] for m in (await mallory.get("/api/members")).json()] == ["mallory@example.com"]
        for method, path, body in [
            ("PATCH", f"/api/members/{alice_id}", {"role": "staff"}),
            ("DELETE", f"/api/members/{alice_id}", None),
        ]:
            response = await mallory.request(method, path, json=body, headers=csrf(mallory))
            assert response.status_code == 404, response.text
        events = (await mallory.get("/api/audit")).json()["events"]
        assert {e["id"] for e in events}.isdisjoint({e["id"] for e in alice_audit})
        assert (await alice.get("/api/audit")).json()["events"] == alice_audit  # nothing changed
        assert (await alice.get("/api/me")).json()["role"] == "owner"


async def test_audit_trail_keyset_pagination(
    database_url: str, make_settings: Make, mailbox: LocalMailbox
) -> None:
    async with accounts_app(make_settings, database_url, mailbox) as h:
        owner = h.client()
        await signup(owner, "pages@example.com")
        for _ in range(4):
            assert (await login(h.client(), "pages@example.com")).status_code == 200
        seen: list[int] = []
        before: int | None = None
        while True:
            params = {"limit": 2} if before is None else {"limit": 2, "before": before}
            page = (await owner.get("/api/audit", params=params)).json()
            seen += [e["id"] for e in page["events"]]
            assert len(page["events"]) <= 2
            before = page["next_before"]
            if before is None:
                break
        assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) == 5
