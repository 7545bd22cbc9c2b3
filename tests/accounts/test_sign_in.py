"""Sign up, verify by the emailed link, sign in and out; CSRF; revocation; expiry; throttling; reset."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from accorria_agent.accounts.models import AuthSession, MailOutbox, Member, OneTimeToken
from accorria_agent.settings import Settings
from accorria_agent.simulator.mailbox import LocalMailbox
from tests.accounts.conftest import BASE, PASSWORD, accounts_app, csrf, login, signup

Make = Callable[..., Settings]


async def test_signup_verify_login_me_logout(
    database_url: str, make_settings: Make, mailbox: LocalMailbox
) -> None:
    async with accounts_app(make_settings, database_url, mailbox) as h:
        browser = h.client()
        me = await signup(browser, "  Dana@Example.COM ", name="Dana  Dealer")
        assert me["member"]["email"] == "dana@example.com"  # normalised
        assert me["role"] == "owner" and me["email_verified"] is False
        session_cookie = browser.cookies.get("accorria_session")
        assert session_cookie and browser.cookies.get("accorria_csrf")

        mail = (await h.mails(1))[0]
        assert mail.to == ["dana@example.com"] and "Confirm your email" in mail.subject
        (link,) = [x for x in mail.links if "/auth/verify?token=" in x]
        assert link.startswith(f"{BASE}/auth/verify?token=")
        async with h.runtime.session_factory() as session:
            # Only hashes are stored: neither the cookie nor the link's token is in the database.
            hashes = set((await session.execute(select(AuthSession.token_hash))).scalars())
            hashes |= set((await session.execute(select(OneTimeToken.token_hash))).scalars())
            assert session_cookie not in hashes and all(link.split("token=")[1] not in x for x in hashes)
            (sent,) = (await session.execute(select(MailOutbox))).scalars()
            assert sent.sent_at is not None and sent.text == ""  # the link is not kept once mailed

        verify = await browser.get(link.removeprefix(BASE))
        assert verify.status_code == 303 and verify.headers["location"] == "/dashboard/?verified=1"
        again = await browser.get(link.removeprefix(BASE))  # single use
        assert again.status_code == 303 and "error=invalid_token" in again.headers["location"]

        assert (await browser.post("/api/auth/logout", headers=csrf(browser))).status_code == 204
        assert (await browser.get("/api/me")).status_code == 401
        assert "accorria_session" not in browser.cookies

        other = h.client()
        response = await login(other, "DANA@example.com")
        assert response.status_code == 200, response.text
        me = (await other.get("/api/me")).json()
        assert me["email_verified"] is True and me["account"]["name"] == "Dana Dealer"
        set_cookie = [v for k, v in response.headers.multi_items() if k == "set-cookie"]
        session_header = next(v for v in set_cookie if v.startswith("accorria_session="))
        csrf_header = next(v for v in set_cookie if v.startswith("accorria_csrf="))
        assert "HttpOnly" in session_header and "samesite=lax" in session_header.lower()
        assert "HttpOnly" not in csrf_header
        assert "Secure" not in session_header  # test settings: plain http
        # The old session stays dead even if its cookie is replayed.
        replay = h.client()
        replay.cookies.set("accorria_session", session_cookie)
        assert (await replay.get("/api/me")).status_code == 401


async def test_secure_cookies_in_production_settings(
    database_url: str, make_settings: Make, mailbox: LocalMailbox
) -> None:
    async with accounts_app(make_settings, database_url, mailbox, SESSION_COOKIE_SECURE=True) as h:
        browser = h.client()
        response = await browser.post(
            "/api/auth/signup", json={"name": "S", "email": "s@example.com", "password": PASSWORD}
        )
        cookies = [v for k, v in response.headers.multi_items() if k == "set-cookie"]
        assert cookies and all("Secure" in v for v in cookies)


async def test_csrf_is_required_for_cookie_sessions(
    database_url: str, make_settings: Make, mailbox: LocalMailbox
) -> None:
    async with accounts_app(make_settings, database_url, mailbox) as h:
        browser = h.client()
        await signup(browser, "csrf@example.com")
        token = browser.cookies.get("accorria_csrf") or ""
        refusals = [
            {},
            {"X-CSRF-Token": ""},
            {"X-CSRF-Token": token[:-1] + ("A" if token[-1] != "A" else "B")},
            {"X-CSRF-Token": token, "Origin": "https://evil.example"},
            {"X-CSRF-Token": token, "Referer": "https://evil.example/page"},
        ]
        for headers in refusals:
            response = await browser.post("/api/auth/logout-all", headers=headers)
            assert response.status_code == 403, headers
            assert response.json()["code"] in ("csrf", "csrf_origin")
        # A form post may carry the token as a field instead.
        refused_form = await browser.post("/api/auth/logout", data={"csrf_token": "wrong"})
        assert refused_form.status_code == 403
        assert (await browser.get("/api/me")).status_code == 200  # still signed in: nothing happened
        # Sign-in from another site's page is refused too (login CSRF).
        evil = await h.client().post(
            "/api/auth/login",
            json={"email": "csrf@example.com", "password": PASSWORD},
            headers={"Origin": "https://evil.example"},
        )
        assert evil.status_code == 403
        ok = await browser.post("/api/auth/logout", data={"csrf_token": token}, headers={"Origin": BASE})
        assert ok.status_code == 204


async def test_logout_all_and_password_change_end_sessions(
    database_url: str, make_settings: Make, mailbox: LocalMailbox
) -> None:
    async with accounts_app(make_settings, database_url, mailbox) as h:
        laptop, phone, tablet = h.client(), h.client(), h.client()
        await signup(laptop, "rev@example.com")
        assert (await login(phone, "rev@example.com")).status_code == 200
        assert (await login(tablet, "rev@example.com")).status_code == 200

        weak = await laptop.post(
            "/api/auth/password",
            json={"current_password": PASSWORD, "new_password": "short"},
            headers=csrf(laptop),
        )
        assert weak.status_code == 422 and weak.json()["code"] == "weak_password"
        wrong = await laptop.post(
            "/api/auth/password",
            json={"current_password": "not it at all", "new_password": "a brand new passphrase"},
            headers=csrf(laptop),
        )
        assert wrong.status_code == 422 and wrong.json()["code"] == "bad_credentials"
        changed = await laptop.post(
            "/api/auth/password",
            json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
            headers=csrf(laptop),
        )
        assert changed.status_code == 200 and changed.json() == {"sessions_ended": 2}
        assert (await laptop.get("/api/me")).status_code == 200  # this session stays
        assert (await phone.get("/api/me")).status_code == 401
        assert (await tablet.get("/api/me")).status_code == 401
        assert (await login(phone, "rev@example.com")).status_code == 401
        assert (await login(phone, "rev@example.com", "a brand new passphrase")).status_code == 200

        everywhere = await laptop.post("/api/auth/logout-all", headers=csrf(laptop))
        assert everywhere.status_code == 200 and everywhere.json() == {"sessions_ended": 2}
        assert (await laptop.get("/api/me")).status_code == 401
        assert (await phone.get("/api/me")).status_code == 401


async def test_sessions_expire_when_idle_and_at_their_absolute_end(
    database_url: str, make_settings: Make, mailbox: LocalMailbox
) -> None:
    settings = {"SESSION_IDLE_MINUTES": 30, "SESSION_MAX_AGE_HOURS": 1}
    async with accounts_app(make_settings, database_url, mailbox, **settings) as h:
        active, idle = h.client(), h.client()
        await signup(active, "exp@example.com")
        assert (await login(idle, "exp@example.com")).status_code == 200
        for _ in range(2):  # used every 20 minutes: the idle timeout slides
            h.clock.advance(minutes=20)
            assert (await active.get("/api/me")).status_code == 200
        assert (await idle.get("/api/me")).status_code == 401  # 40 minutes without use
        h.clock.advance(minutes=21)  # 61 minutes after sign-in: past the absolute lifetime
        response = await active.get("/api/me")
        assert response.status_code == 401 and response.json()["code"] == "session_expired"


async def test_sign_in_is_throttled_per_account_and_per_address_across_processes(
    database_url: str, make_settings: Make, mailbox: LocalMailbox
) -> None:
    async with accounts_app(make_settings, database_url, mailbox) as h:
        await signup(h.client(), "victim@example.com")
        attacker = h.client()
        for _ in range(5):
            assert (await login(attacker, "victim@example.com", "guess guess guess")).status_code == 401
        throttled = await login(attacker, "victim@example.com")  # even the right password waits
        assert throttled.status_code == 429
        assert 0 < int(throttled.headers["Retry-After"]) <= 15 * 60 + 1
        # Another process on the same database sees the same count.
        async with accounts_app(make_settings, database_url, mailbox) as other_process:
            other_process.clock.now = h.clock.now
            assert (await login(other_process.client(), "victim@example.com")).status_code == 429
        h.clock.advance(minutes=16)
        assert (await login(h.client(), "victim@example.com")).status_code == 200

        # Per address: many accounts tried from one client address.
        for index in range(20):
            await login(attacker, f"nobody{index}@example.com", "guess guess guess")
        assert (await login(attacker, "someone-else@example.com", "x" * 12)).status_code == 429
        async with h.runtime.session_factory() as session:
            members = (await session.execute(select(func.count()).select_from(Member))).scalar_one()
            assert members == 1  # nothing about the unknown emails was created


async def test_password_reset_by_emailed_link(
    database_url: str, make_settings: Make, mailbox: LocalMailbox
) -> None:
    async with accounts_app(make_settings, database_url, mailbox) as h:
        old = h.client()
        await signup(old, "forgetful@example.com")
        await h.mails(1)  # the verification mail
        anonymous = h.client()
        unknown = await anonymous.post("/api/auth/password-reset", json={"email": "nobody@example.com"})
        known = await anonymous.post("/api/auth/password-reset", json={"email": "Forgetful@example.com"})
        assert unknown.status_code == known.status_code == 202
        assert unknown.json() == known.json()  # no account enumeration
        token = await h.link_token(1, "/auth/reset?token=")
        assert len(await h.mails(2)) == 2  # nothing was mailed for the unknown address

        weak = await anonymous.post(
            "/api/auth/password-reset/confirm", json={"token": token, "password": "123"}
        )
        assert weak.status_code == 422
        done = await anonymous.post(
            "/api/auth/password-reset/confirm", json={"token": token, "password": "my new long password"}
        )
        assert done.status_code == 200, done.text
        reused = await anonymous.post(
            "/api/auth/password-reset/confirm", json={"token": token, "password": "another long password"}
        )
        assert reused.status_code == 400 and reused.json()["code"] == "invalid_token"
        assert (await old.get("/api/me")).status_code == 401  # the reset ended every session
        assert (await login(h.client(), "forgetful@example.com")).status_code == 401
        assert (await login(h.client(), "forgetful@example.com", "my new long password")).status_code == 200

        # An expired link is refused.
        await anonymous.post("/api/auth/password-reset", json={"email": "forgetful@example.com"})
        late = await h.link_token(2, "/auth/reset?token=")
        h.clock.advance(minutes=31)
        expired = await anonymous.post(
            "/api/auth/password-reset/confirm", json={"token": late, "password": "yet another password"}
        )
        assert expired.status_code == 400


BAD_INPUTS: list[tuple[str, str, object]] = [
    ("POST", "/api/auth/signup", {"name": "x", "email": "not-an-email", "password": PASSWORD}),
    ("POST", "/api/auth/signup", {"name": "   ", "email": "a@example.com", "password": PASSWORD}),
    ("POST", "/api/auth/signup", {"name": "x", "email": "a@example.com", "password": "password123"}),
    ("POST", "/api/auth/signup", {"name": "x", "email": "a@example.com", "password": "p" * 129}),
    ("POST", "/api/auth/signup", {"name": "x", "email": "a@example.com"}),
    ("POST", "/api/auth/signup", ["not", "an", "object"]),
    ("POST", "/api/auth/signup", {"name": "x", "email": "a@example.com", "password": PASSWORD, "role": 1}),
    ("POST", "/api/auth/login", {"email": 5, "password": None}),
    ("POST", "/api/auth/login", {"email": "x" * 400, "password": "y"}),
    ("POST", "/api/auth/login", {"email": "nobody@example.com", "password": "whatever"}),
    ("POST", "/api/auth/password-reset", {"email": "nope"}),
    ("POST", "/api/auth/password-reset/confirm", {"token": "x" * 500, "password": PASSWORD}),
    ("POST", "/api/auth/password-reset/confirm", {"token": "not valid!", "password": PASSWORD}),
    ("POST", "/api/auth/accept-invitation", {"token": "abc", "name": "n", "password": PASSWORD}),
    ("GET", "/api/me", None),
    ("GET", "/api/members", None),
    ("PATCH", "/api/members/0", {"role": "owner"}),
    ("DELETE", "/api/members/99999999999", None),
    ("GET", "/api/audit?before=-1", None),
    ("GET", "/auth/verify?token=" + "z" * 300, None),
    ("GET", "/auth/link?token=garbage", None),
]


async def test_bad_inputs_get_a_clear_4xx(
    database_url: str, make_settings: Make, mailbox: LocalMailbox
) -> None:
    async with accounts_app(make_settings, database_url, mailbox) as h:
        for cookie in (None, "forged", "%%%" * 50):
            client = h.client()
            if cookie:
                client.cookies.set("accorria_session", cookie)
            for method, path, body in BAD_INPUTS:
                response = await client.request(method, path, json=body)
                assert 300 <= response.status_code < 500, (path, response.status_code, response.text)
                if response.headers.get("content-type", "").startswith("application/json"):
                    assert "detail" in response.json()
