"""Token health: debug_token finds invalid, expiring or under-scoped tokens; the Page goes needs_reauth."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from accorria_agent.conversations.models import Message
from accorria_agent.mail.interface import InMemoryMailer
from accorria_agent.messenger.graph_client import TokenInfo
from accorria_agent.pages.service import REQUIRED_SCOPES
from accorria_agent.pages.tasks import check_token_health, token_problem
from accorria_agent.sellers.models import MessengerTenant
from accorria_agent.sellers.notifications import SellerNotification
from accorria_agent.settings import Settings
from tests.pages.helpers import LOGIN_URL, LOT_A, LOT_B, add_lots, connect, new_seller
from tests.sim_harness import SimHarness, sim_harness

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _info(
    valid: bool = True, days: float | None = None, scopes: tuple[str, ...] = REQUIRED_SCOPES
) -> TokenInfo:
    expires = int((NOW + timedelta(days=days)).timestamp()) if days is not None else None
    return TokenInfo(is_valid=valid, expires_at=expires, scopes=scopes)


def test_token_problem_rules() -> None:
    assert token_problem(_info(), NOW, 7) is None
    assert token_problem(_info(days=30), NOW, 7) is None
    assert "expires" in (token_problem(_info(days=3), NOW, 7) or "")
    assert "no longer accepts" in (token_problem(_info(valid=False), NOW, 7) or "")
    assert "pages_messaging" in (token_problem(_info(scopes=REQUIRED_SCOPES[1:]), NOW, 7) or "")


@given(
    valid=st.booleans(),
    days=st.one_of(st.none(), st.floats(min_value=-30, max_value=90)),
    scopes=st.sets(st.sampled_from([*REQUIRED_SCOPES, "pages_show_list"])),
)
def test_a_healthy_verdict_means_valid_unexpiring_and_fully_scoped(
    valid: bool, days: float | None, scopes: set[str]
) -> None:
    info = _info(valid, days, tuple(scopes))
    healthy = token_problem(info, NOW, 7) is None
    assert healthy == (valid and set(REQUIRED_SCOPES) <= scopes and (days is None or days > 7))


async def _status(h: SimHarness, page_id: str) -> MessengerTenant:
    async with h.runtime.session_factory() as session:
        return (
            await session.execute(select(MessengerTenant).where(MessengerTenant.page_id == page_id))
        ).scalar_one()


async def _run(h: SimHarness, mailer: InMemoryMailer | None = None) -> list[str]:
    r = h.runtime
    report = await check_token_health(r.session_factory, r.graph, r.cipher, r.settings, r.clock, mailer)
    return report.needs_reauth


async def test_revoked_token_holds_replies_until_reconnected(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    async with sim_harness(make_settings, database_url, FACEBOOK_LOGIN_URL=LOGIN_URL) as h:
        add_lots(h)
        _, headers = await new_seller(h, "Health Check")
        await connect(h, headers, [LOT_A, LOT_B])
        assert await _run(h) == []

        h.sim.state.revoke_page_tokens(LOT_A)
        mailer = InMemoryMailer()
        assert await _run(h, mailer) == [LOT_A]
        assert (await _status(h, LOT_A)).status == "needs_reauth"
        assert (await _status(h, LOT_B)).status == "active"
        assert len(mailer.sent) == 1 and mailer.sent[0].to == "health-check@example.com"
        assert "Reconnect" in mailer.sent[0].subject
        async with h.runtime.session_factory() as session:
            kinds = (await session.execute(select(SellerNotification.kind))).scalars().all()
        assert "needs_reauth" in kinds
        assert await _run(h, mailer) == []  # told once, not on every run
        assert len(mailer.sent) == 1
        pages = {p["page_id"]: p for p in (await h.client.get("/api/pages", headers=headers)).json()}
        assert pages[LOT_A]["status"] == "needs_reauth" and pages[LOT_A]["status_reason"]

        # A buyer writes meanwhile: the reply is held, not sent with a dead token.
        await h.sim.send_buyer_message("7101", "Hi, is it available?", page_id=LOT_A)
        await h.settle()
        assert h.sent_texts("7101") == []
        async with h.runtime.session_factory() as session:
            held = (await session.execute(select(Message.id).where(Message.status == "held"))).scalars().all()
        assert held

        # Reconnecting through Facebook Login refreshes the token and releases what was held.
        result = await connect(h, headers, [LOT_A])
        assert result["pages"][0]["result"] == "reconnected"
        await h.settle()
        assert (await _status(h, LOT_A)).status == "active"
        assert h.sent_texts("7101"), "the held reply is sent after reconnecting"


async def test_expiring_or_under_scoped_token_needs_reauth(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    async with sim_harness(
        make_settings, database_url, FACEBOOK_LOGIN_URL=LOGIN_URL, TOKEN_EXPIRY_WARNING_DAYS=7
    ) as h:
        add_lots(h)
        _, headers = await new_seller(h, "Expiry")
        await connect(h, headers, [LOT_A, LOT_B])
        now_ms = h.sim.state.now_ms()
        for issued in h.sim.state.tokens.values():
            if issued.kind == "PAGE" and issued.page_id == LOT_A:
                issued.expires_ms = now_ms + 3 * 86_400_000  # expires in three days
            if issued.kind == "PAGE" and issued.page_id == LOT_B:
                issued.scopes = ("pages_messaging",)
        assert sorted(await _run(h)) == sorted([LOT_A, LOT_B])
        a, b = await _status(h, LOT_A), await _status(h, LOT_B)
        assert "expires" in (a.status_reason or "")
        assert "pages_manage_metadata" in (b.status_reason or "")
