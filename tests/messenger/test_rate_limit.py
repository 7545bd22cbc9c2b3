"""Per-Page send rate limiting: one behaviour suite for the in-memory and the Redis limiter.

Redis runs on its own clock, so its tests check the *waits* it returns rather than moving time; the
in-memory limiter takes a fake clock, which lets a property test compare it with a brute-force model.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accorria_agent.messenger.rate_limit import (
    DAY,
    HOUR,
    MINUTE,
    InMemoryRateLimiter,
    RateLimiter,
    RateLimits,
    RedisRateLimiter,
)
from tests.conftest import skip_or_fail

REDIS_URL = os.environ.get("ACCORRIA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@dataclass
class Limiters:
    """``make()`` returns another limiter sharing the same state (another process, for Redis)."""

    kind: str
    make: Callable[[], RateLimiter]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def limiters(request: pytest.FixtureRequest) -> AsyncIterator[Limiters]:
    if request.param == "memory":
        shared = InMemoryRateLimiter()
        yield Limiters("memory", lambda: shared)
        return
    from redis.asyncio import Redis

    prefix = f"accorria-test:{uuid.uuid4().hex}"
    clients: list[Redis] = []
    probe: Redis = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await probe.ping()
    except Exception as error:  # any connection problem means: no server here
        await probe.aclose()
        skip_or_fail(f"Redis not reachable at {REDIS_URL}: {type(error).__name__}")

    def make() -> RateLimiter:
        client: Redis = Redis.from_url(REDIS_URL)
        clients.append(client)
        return RedisRateLimiter(client, prefix=prefix)

    yield Limiters("redis", make)
    keys = [key async for key in probe.scan_iter(match=f"{prefix}:*")]
    if keys:
        await probe.delete(*keys)
    for client in clients:
        await client.aclose()
    await probe.aclose()


def page() -> str:
    return str(uuid.uuid4().int)[:15]


async def test_grants_up_to_the_limit_then_says_how_long_to_wait(limiters: Limiters) -> None:
    limiter, p = limiters.make(), page()
    limits = RateLimits(per_minute=3, per_hour=100, per_day=1000)
    granted = [await limiter.acquire(p, limits) for _ in range(3)]
    refused = await limiter.acquire(p, limits)
    assert granted == [0.0, 0.0, 0.0]
    assert MINUTE - 2 < refused <= MINUTE  # the first send leaves the minute window in ~60 s


async def test_a_refusal_consumes_nothing(limiters: Limiters) -> None:
    limiter, p = limiters.make(), page()
    tight = RateLimits(per_minute=2, per_hour=100, per_day=1000)
    assert [await limiter.acquire(p, tight) for _ in range(2)] == [0.0, 0.0]
    for _ in range(10):
        assert await limiter.acquire(p, tight) > 0
    # Had the refusals been counted, a limit of 3 would be exhausted too; exactly one more fits.
    looser = RateLimits(per_minute=3, per_hour=100, per_day=1000)
    assert await limiter.acquire(p, looser) == 0.0
    assert await limiter.acquire(p, looser) > 0


async def test_the_tightest_window_decides_the_wait(limiters: Limiters) -> None:
    limiter, p = limiters.make(), page()
    hourly = RateLimits(per_minute=100, per_hour=2, per_day=1000)
    assert [await limiter.acquire(p, hourly) for _ in range(2)] == [0.0, 0.0]
    assert HOUR - 2 < await limiter.acquire(p, hourly) <= HOUR
    daily = RateLimits(per_minute=100, per_hour=100, per_day=2)
    assert DAY - 2 < await limiter.acquire(p, daily) <= DAY


async def test_pages_are_limited_independently(limiters: Limiters) -> None:
    limiter = limiters.make()
    limits = RateLimits(per_minute=1, per_hour=10, per_day=10)
    first, second = page(), page()
    assert await limiter.acquire(first, limits) == 0.0
    assert await limiter.acquire(first, limits) > 0
    assert await limiter.acquire(second, limits) == 0.0


async def test_a_pause_refuses_sends_until_it_ends(limiters: Limiters) -> None:
    limiter, p = limiters.make(), page()
    limits = RateLimits(per_minute=20)
    await limiter.pause_until(p, 0.4)
    await limiter.pause_until(p, 0.1)  # a shorter pause must not shorten the current one
    wait = await limiter.acquire(p, limits)
    assert 0.2 < wait <= 0.4
    await asyncio.sleep(wait + 0.05)
    assert await limiter.acquire(p, limits) == 0.0
    # Nothing was consumed while paused: 19 more fit in this minute, not fewer.
    assert [await limiter.acquire(p, limits) for _ in range(19)] == [0.0] * 19
    assert await limiter.acquire(p, limits) > 0


async def test_concurrent_senders_never_get_more_than_the_limit(limiters: Limiters) -> None:
    p = page()
    limits = RateLimits(per_minute=7, per_hour=100, per_day=1000)
    senders = [limiters.make() for _ in range(4)]  # for Redis: four clients, as four processes would be
    results = await asyncio.gather(*(senders[i % 4].acquire(p, limits) for i in range(60)))
    assert sum(1 for wait in results if wait == 0.0) == 7
    assert all(wait > 0 for wait in results if wait != 0.0)


# ------------------------------------------------------------------------------- in-memory properties


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _model_wait(grants: list[float], now: float, limits: RateLimits) -> float:
    """Brute force: the earliest moment >= now at which one more grant keeps every window within limit."""
    candidates = sorted({now} | {t + w for t in grants for w, _ in limits.windows() if t + w > now})
    for moment in candidates:
        if all(sum(1 for t in grants if t > moment - w) < limit for w, limit in limits.windows()):
            return moment - now
    raise AssertionError("unreachable: every grant eventually leaves every window")


@settings(max_examples=200, deadline=None)
@given(
    limits=st.builds(
        RateLimits,
        per_minute=st.integers(1, 4),
        per_hour=st.integers(1, 8),
        per_day=st.integers(1, 12),
    ),
    steps=st.lists(
        st.tuples(st.sampled_from([0.0, 0.5, 7.0, 59.0, 60.0, 600.0, 3600.0, 40000.0]), st.booleans())
    ),
)
def test_in_memory_limiter_matches_a_sliding_window_model(
    limits: RateLimits, steps: list[tuple[float, bool]]
) -> None:
    """Every answer equals the model's; no sliding window ever holds more than its limit; waits are exact."""

    async def run() -> None:
        clock = FakeClock()
        limiter = InMemoryRateLimiter(clock)
        grants: list[float] = []
        for advance, wait_it_out in steps:
            clock.now += advance
            expected = _model_wait(grants, clock.now, limits)
            got = await limiter.acquire("p", limits)
            assert got == pytest.approx(expected, abs=1e-9)
            if got == 0.0:
                grants.append(clock.now)
            elif wait_it_out:
                clock.now += got  # waiting exactly as long as told is enough
                assert await limiter.acquire("p", limits) == 0.0
                grants.append(clock.now)
            for window, limit in limits.windows():
                assert sum(1 for t in grants if t > clock.now - window) <= limit

    asyncio.run(run())
