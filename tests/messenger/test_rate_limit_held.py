"""Replies held by a Page's send rate limit: shown with their time, released first buyer first."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from accorria_agent.db.engine import transaction
from accorria_agent.messenger.rate_limit import InMemoryRateLimiter
from accorria_agent.sellers.models import MessengerSettings, Seller
from accorria_agent.sending.held import rate_limit_hold, release_order
from accorria_agent.settings import Settings
from tests.dashboard.conftest import auth_for_tenant
from tests.sim_harness import SimHarness, sim_harness

Make = Callable[..., Settings]


class _Clock:
    """A monotonic clock the test moves (the limiter's sliding windows)."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def _throttled(
    make_settings: Make, database_url: str, per_minute: int, timezone: str = "America/Detroit"
) -> AsyncIterator[tuple[SimHarness, _Clock]]:
    """A harness whose Page may send ``per_minute`` replies a minute, on a limiter clock the test moves."""
    async with sim_harness(make_settings, database_url) as h:
        clock = _Clock()
        h.runtime.delivery._limiter = InMemoryRateLimiter(clock=clock)
        async with transaction(h.runtime.session_factory) as session:
            await session.execute(update(MessengerSettings).values(rate_limit_per_minute=per_minute))
            await session.execute(update(Seller).values(timezone=timezone))
        yield h, clock


def _bot_sends(h: object) -> list[str]:
    sent = h.sim.state.sent  # type: ignore[attr-defined]
    return [e.recipient for e in sent if e.status == 200 and e.message and "text" in e.message]


async def test_throttled_replies_are_shown_held_and_released_first_buyer_first(
    database_url: str, make_settings: Make
) -> None:
    async with _throttled(make_settings, database_url, 2, "Europe/Berlin") as (h, clock):
        for psid in ("1301", "1302", "1303", "1304"):
            await h.say(psid, "hello")
        assert _bot_sends(h) == ["1301", "1302"]
        # 1303 writes again while its first reply waits: its new reply queues behind 1304's.
        await h.say("1303", "is it still available?")
        assert _bot_sends(h) == ["1301", "1302"]

        headers = await auth_for_tenant(h, h.tenant_id)
        conversation_id = (await h.conversation("1303")).id
        detail = (await h.client.get(f"/api/conversations/{conversation_id}", headers=headers)).json()
        held = [m for m in detail["messages"] if m["author"] == "bot"]
        assert [m["status"] for m in held] == ["held", "held"]
        for message in held:
            until = datetime.fromisoformat(message["held_until"])
            local = until.astimezone(ZoneInfo("Europe/Berlin"))
            assert message["status_reason"] == f"held by the rate limit until {local:%H:%M}"
            assert 0 < (until - h.runtime.clock()).total_seconds() <= 61
        listed = (await h.client.get("/api/conversations", headers=headers)).json()
        by_psid = {c["buyer_psid"]: c for c in listed}
        assert by_psid["1304"]["held_until"] is not None
        assert by_psid["1304"]["last_message"]["status_reason"].startswith("held by the rate limit until ")
        assert by_psid["1301"]["held_until"] is None

        # The minute passes: two slots; the oldest buyer messages go first (1303's first, then 1304).
        clock.now += 61
        assert await h.runtime.delivery.release_rate_limited(h.tenant_id) == 2
        await h.settle()
        assert _bot_sends(h) == ["1301", "1302", "1303", "1304"]
        clock.now += 61
        assert await h.runtime.delivery.release_rate_limited(h.tenant_id) == 1
        assert _bot_sends(h) == ["1301", "1302", "1303", "1304", "1303"]
        detail = (await h.client.get(f"/api/conversations/{conversation_id}", headers=headers)).json()
        bot = [m["status"] for m in detail["messages"] if m["author"] == "bot"]
        assert len(bot) == 2 and set(bot) <= {"sent", "delivered"}
        assert all(m["held_until"] is None for m in detail["messages"])


def test_release_order_is_by_buyer_message_then_id_and_the_text_falls_back_to_utc() -> None:
    rows = [
        (5, {"buyer_at": "2026-12-02T10:00:05+00:00"}),
        (3, {"buyer_at": "2026-12-02T10:00:09+00:00"}),
        (4, {"buyer_at": "2026-12-02T10:00:05+00:00"}),
        (2, {}),
        (1, None),
    ]
    assert release_order(rows) == [4, 5, 3, 1, 2]
    payload = {"held_until": "2026-12-02T10:07:30+00:00"}
    until, text = rate_limit_hold("held", "held by the rate limit", payload, None)
    assert until is not None and text == "held by the rate limit until 10:07 UTC"
    assert rate_limit_hold("held", "held by the rate limit", payload, "Not/AZone")[1] == (
        "held by the rate limit until 10:07 UTC"
    )
    assert rate_limit_hold("held", "held: sending halted (x)", payload, None) == (None, None)


async def test_a_release_that_fails_before_sending_puts_the_reply_back_in_line(
    database_url: str, make_settings: Make
) -> None:
    async with _throttled(make_settings, database_url, 1) as (h, clock):
        await h.say("1601", "hello")
        await h.say("1602", "hello")
        clock.now += 61

        async def broken(*_args: object, **_kwargs: object) -> float:
            raise RuntimeError("the rate limiter's store went away")

        h.runtime.delivery._limiter.acquire = broken  # type: ignore[method-assign]
        with pytest.raises(RuntimeError):  # the failure reaches the job, which the queue retries
            await h.runtime.delivery.release_rate_limited(h.tenant_id)
        (bot,) = [m for m in await h.messages("1602") if m.author == "bot"]
        # Claimed, then given back: nothing was sent under the claim.
        assert (bot.status, bot.status_reason) == ("held", "held by the rate limit")


async def test_a_release_that_fails_in_the_send_api_call_keeps_the_claim_and_sends_it_once_stale(
    database_url: str, make_settings: Make
) -> None:
    """The Send API call itself broke: Meta may have the reply, so it is not put back in line (that would
    send it again at once); it stays claimed, and the delivery scheduled for its stale claim sends it
    unless an echo came."""
    from accorria_agent.conversations.models import SENDING, SENDING_CLAIM_TIMEOUT_SECONDS
    from accorria_agent.jobs.interface import JobRequest

    async with _throttled(make_settings, database_url, 1) as (h, clock):
        await h.say("1611", "hello")
        await h.say("1612", "hello")
        clock.now += 61
        delivery = h.runtime.delivery
        real_send = delivery._send_with_retries
        deferred: list[JobRequest] = []
        real_defer = delivery._defer

        async def broken(*_args: object, **_kwargs: object) -> None:
            raise RuntimeError("the process's HTTP client broke")

        async def recording(session: object, request: JobRequest) -> None:
            deferred.append(request)

        delivery._send_with_retries = broken  # type: ignore[method-assign, assignment]
        delivery._defer = recording
        with pytest.raises(RuntimeError):
            await delivery.release_rate_limited(h.tenant_id)
        (bot,) = [m for m in await h.messages("1612") if m.author == "bot"]
        assert bot.status == SENDING
        (job,) = deferred
        assert job.task == "deliver_outbound" and job.args["message_ids"] == [bot.id]
        assert job.delay_seconds > SENDING_CLAIM_TIMEOUT_SECONDS

        delivery._send_with_retries = real_send  # type: ignore[method-assign]
        delivery._defer = real_defer
        await delivery.deliver(h.tenant_id, [bot.id])  # too early: the claim may still be live
        assert _bot_sends(h) == ["1611"]
        h.sim.state.advance(SENDING_CLAIM_TIMEOUT_SECONDS + 1)
        clock.now += 61
        await delivery.deliver(h.tenant_id, [bot.id])  # the scheduled delivery
        await delivery.deliver(h.tenant_id, [bot.id])
        assert _bot_sends(h) == ["1611", "1612"]
