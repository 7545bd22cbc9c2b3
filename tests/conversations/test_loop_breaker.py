"""The per-thread loop breaker: a buyer (or another bot) drawing too many bot replies a minute is handed to
the seller, once; the Page's other buyers are unaffected; the in-memory limiter's memory stays bounded."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from accorria_agent.conversations.models import Conversation, Message
from accorria_agent.messenger import rate_limit
from accorria_agent.messenger.rate_limit import InMemoryRateLimiter, RateLimits
from accorria_agent.sellers.notifications import SellerNotification
from accorria_agent.settings import Settings
from tests.fakes.graph import FakeGraph
from tests.helpers import delivery, harness, text_event


async def test_a_flooding_buyer_draws_a_bounded_number_of_replies_and_is_handed_to_the_seller(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    graph = FakeGraph()
    async with harness(make_settings(DATABASE_URL=database_url), graph.transport) as h:
        limit = h.runtime.conversation_deps.loop_limit_per_minute
        for n in range(50):
            response = await h.post_signed(delivery(text_event("flood", f"hello {n}, is it available?")))
            assert response.status_code == 200
            await h.idle()  # one turn per message: nothing coalesces, the worst case
        bot_messages = len(graph.messages("flood"))
        assert limit <= bot_messages <= limit + 1
        async with h.runtime.session_factory() as session:
            conversation = (
                await session.execute(select(Conversation).where(Conversation.buyer_psid == "flood"))
            ).scalar_one()
            notices = (
                await session.execute(
                    select(func.count())
                    .select_from(SellerNotification)
                    .where(SellerNotification.conversation_id == conversation.id)
                )
            ).scalar_one()
            inbound = (
                await session.execute(
                    select(func.count())
                    .select_from(Message)
                    .where(Message.conversation_id == conversation.id, Message.direction == "inbound")
                )
            ).scalar_one()
        assert conversation.mode == "handed_off" and conversation.paused_reason == "loop"
        assert notices == 1  # the seller is told once
        assert inbound == 50  # every message is still recorded for the seller
        # Another buyer of the same Page is answered as usual.
        await h.post_signed(delivery(text_event("calm", "Is it still available?")))
        await h.idle()
        assert len(graph.messages("calm")) == 1


def test_the_default_limits_are_sized_from_metas_300_calls_per_second() -> None:
    assert RateLimits().per_minute == 300 * 60
    assert rate_limit.CONSERVATIVE == RateLimits(per_minute=20, per_hour=200, per_day=1000)


async def test_the_in_memory_limiter_forgets_pages_that_stopped_sending() -> None:
    now = [0.0]
    limiter = InMemoryRateLimiter(clock=lambda: now[0])
    limits = RateLimits()
    for page in range(50):
        assert await limiter.acquire(f"idle-{page}", limits) == 0.0
    now[0] = rate_limit.DAY + 1
    for _ in range(rate_limit.SWEEP_EVERY):
        assert await limiter.acquire("busy", limits) == 0.0
    pages, grants = limiter.tracked()
    assert pages == 1 and grants == rate_limit.SWEEP_EVERY


async def test_the_in_memory_limiter_keeps_at_most_its_cap_per_page(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(rate_limit, "MAX_GRANTS_PER_PAGE", 10)
    limiter = InMemoryRateLimiter(clock=lambda: 5.0)
    for _ in range(25):
        await limiter.acquire("p", RateLimits())
    assert limiter.tracked() == (1, 10)
