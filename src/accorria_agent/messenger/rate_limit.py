"""Per-Page send rate limiting, shared by every process that sends for a Page.

Meta throttles a Page that sends too fast (error 613, and ``estimated_time_to_regain_access`` in the
``X-Business-Use-Case-Usage`` header), and a throttled Page answers nobody. So before each Send API call
the sender asks :meth:`RateLimiter.acquire`: ``0.0`` means "go" and one unit was consumed; a positive number
is how many seconds to wait, and nothing was consumed (the caller re-defers or sleeps, then asks again).

Windows are **sliding** (a log of grant times per Page): "at most 20 in any 60 seconds" holds for *every*
60-second interval, not just per calendar minute, so there is no double burst at a window boundary, and
the wait returned is exact — the moment the oldest send that matters leaves the window. The price is one
timestamp per send kept for a day, so memory is bounded twice: at most :data:`MAX_GRANTS_PER_PAGE` per Page
(a longer window's limit beyond that is left to Meta's own throttle and its usage headers, which
``pause_until`` honours), and every :data:`SWEEP_EVERY` grants the in-memory limiter drops the expired
grants of *every* Page — a Page that stopped sending no longer keeps a day of timestamps.

The defaults (:class:`RateLimits`) are sized from Meta's documented limit of 300 Send API calls per second
per Page for text: the danger they catch is our bot running away across a Page, while a runaway *thread*
is stopped by the conversation job's loop breaker. The seed's 20/min, 200/h, 1,000/day remain a per-Page
setting (``MessengerSettings.rate_limit_per_*``, :data:`CONSERVATIVE`).

* :class:`InMemoryRateLimiter` — one process (the embedded deployment, tests).
* :class:`RedisRateLimiter` — every process shares one sorted set per Page; a Lua script checks the three
  windows and records the grant atomically, using Redis's clock so that process clocks never disagree.

:meth:`RateLimiter.pause_until` blocks a Page for ``seconds`` (Meta's ``estimated_time_to_regain_access``,
converted from minutes by the caller); a later, shorter pause never shortens a longer one.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from redis.asyncio import Redis

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0


# Meta: 300 Send API calls per second per Page (text). Sustained for a minute, an hour, a day.
META_CALLS_PER_SECOND = 300
# Grants kept per Page (memory bound; ~2.4 MB of floats at most), and how often all Pages are swept.
MAX_GRANTS_PER_PAGE = 100_000
SWEEP_EVERY = 1_000


@dataclass(frozen=True)
class RateLimits:
    """How many sends a Page may make in any sliding minute, hour and day (defaults: Meta's limit)."""

    per_minute: int = META_CALLS_PER_SECOND * 60
    per_hour: int = META_CALLS_PER_SECOND * 3600
    per_day: int = META_CALLS_PER_SECOND * 86400

    def windows(self) -> tuple[tuple[float, int], ...]:
        """(window seconds, limit) pairs, shortest first."""
        return ((MINUTE, self.per_minute), (HOUR, self.per_hour), (DAY, self.per_day))


# The seed's limits, still available per Page for a seller who wants a slow, cautious bot.
CONSERVATIVE = RateLimits(per_minute=20, per_hour=200, per_day=1000)


class RateLimiter(Protocol):
    """What the sender needs; the in-memory and Redis limiters both provide it."""

    async def acquire(self, page_id: str, limits: RateLimits) -> float:
        """0.0 and one send consumed if allowed now; otherwise the seconds to wait, nothing consumed."""
        ...

    async def pause_until(self, page_id: str, seconds: float) -> None:
        """Refuse every send for this Page for ``seconds`` (extends, never shortens, a current pause)."""
        ...


def _wait_for(times: list[float], now: float, windows: tuple[tuple[float, int], ...]) -> float:
    """Seconds until a send fits every window, given the sorted grant ``times`` (0.0: fits now)."""
    wait = 0.0
    for window, limit in windows:
        if limit <= 0:
            return window  # this window allows nothing: ask again when it has passed
        first = bisect_right(times, now - window)  # grants at t > now - window are inside the window
        count = len(times) - first
        if count >= limit:
            # The (count - limit + 1)-th oldest grant in the window must leave it before one more fits.
            wait = max(wait, times[first + count - limit] + window - now)
    return wait


class InMemoryRateLimiter:
    """Sliding-window limiter for one process. ``clock`` is injectable (monotonic seconds) for tests."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._grants: dict[str, list[float]] = {}
        self._paused_until: dict[str, float] = {}
        self._since_sweep = 0

    async def acquire(self, page_id: str, limits: RateLimits) -> float:
        # No await between the check and the append: on one event loop this is atomic.
        now = self._clock()
        paused = self._paused_until.get(page_id, 0.0) - now
        if paused > 0:
            return paused
        windows = limits.windows()
        times = self._grants.setdefault(page_id, [])
        longest = max(window for window, _ in windows)
        expired = bisect_right(times, now - longest)
        if expired:
            del times[:expired]
        wait = _wait_for(times, now, windows)
        if wait > 0:
            return wait
        times.append(now)
        if len(times) > MAX_GRANTS_PER_PAGE:
            del times[: len(times) - MAX_GRANTS_PER_PAGE]
        self._since_sweep += 1
        if self._since_sweep >= SWEEP_EVERY:
            self._sweep(now, longest)
        return 0.0

    def _sweep(self, now: float, longest: float) -> None:
        """Drop every Page's expired grants and ended pauses (amortised: once per SWEEP_EVERY grants)."""
        self._since_sweep = 0
        for page_id in list(self._grants):
            times = self._grants[page_id]
            expired = bisect_right(times, now - max(longest, DAY))
            if expired:
                del times[:expired]
            if not times:
                del self._grants[page_id]
        for page_id, until in list(self._paused_until.items()):
            if until <= now:
                del self._paused_until[page_id]

    def tracked(self) -> tuple[int, int]:
        """(Pages tracked, grants kept): what the memory bound is about (tests, metrics)."""
        return len(self._grants), sum(len(times) for times in self._grants.values())

    async def pause_until(self, page_id: str, seconds: float) -> None:
        until = self._clock() + max(0.0, seconds)
        self._paused_until[page_id] = max(self._paused_until.get(page_id, 0.0), until)


# KEYS: 1 grants (sorted set: score = grant time in ms), 2 pause (expiring key), 3 sequence (unique members)
# ARGV: window_ms, limit pairs. Returns 0 (granted, recorded) or the wait in ms (nothing recorded).
# Times are integer milliseconds (~1.7e12): Lua 5.1 prints numbers with %.14g, exact below 1e14, so the
# '(' exclusive bounds built by concatenation stay exact (microseconds would not).
_ACQUIRE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then
    return paused
end
local longest = 0
for i = 1, #ARGV, 2 do
    longest = math.max(longest, tonumber(ARGV[i]))
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - longest)
local wait = 0
for i = 1, #ARGV, 2 do
    local window = tonumber(ARGV[i])
    local limit = tonumber(ARGV[i + 1])
    if limit <= 0 then
        return window
    end
    local count = redis.call('ZCOUNT', KEYS[1], '(' .. (now - window), '+inf')
    if count >= limit then
        local oldest = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - window), '+inf',
                                  'WITHSCORES', 'LIMIT', count - limit, 1)
        local until_free = tonumber(oldest[2]) + window - now
        if until_free > wait then
            wait = until_free
        end
    end
end
if wait > 0 then
    return wait
end
local seq = redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[1], now, now .. '-' .. seq)
-- Keep at most MAX_GRANTS_PER_PAGE grants (the newest): the memory bound.
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -MAX_GRANTS_PER_PAGE_PLUS_ONE)
redis.call('PEXPIRE', KEYS[1], longest + 1000)
redis.call('PEXPIRE', KEYS[3], longest + 1000)
return 0
"""

# KEYS: 1 pause. ARGV: 1 pause in ms. Only ever lengthens the pause.
_PAUSE_LUA = """
local wanted = tonumber(ARGV[1])
if wanted <= 0 then
    return 0
end
if redis.call('PTTL', KEYS[1]) < wanted then
    redis.call('SET', KEYS[1], '1', 'PX', wanted)
end
return 1
"""


class RedisRateLimiter:
    """Sliding-window limiter shared by every process through Redis (one sorted set per Page)."""

    def __init__(self, redis: Redis, *, prefix: str = "accorria:ratelimit") -> None:
        self._redis = redis
        self._prefix = prefix
        self._acquire: Any = redis.register_script(
            _ACQUIRE_LUA.replace("MAX_GRANTS_PER_PAGE_PLUS_ONE", str(MAX_GRANTS_PER_PAGE + 1))
        )
        self._pause: Any = redis.register_script(_PAUSE_LUA)

    def _keys(self, page_id: str) -> list[str]:
        # The {hash tag} keeps a Page's keys in one slot, so the script also runs on Redis Cluster.
        base = f"{self._prefix}:{{{page_id}}}"
        return [f"{base}:grants", f"{base}:pause", f"{base}:seq"]

    async def acquire(self, page_id: str, limits: RateLimits) -> float:
        args: list[int] = []
        for window, limit in limits.windows():
            args += [int(window * 1000), int(limit)]
        wait_ms = int(await self._acquire(keys=self._keys(page_id), args=args))
        return wait_ms / 1000.0

    async def pause_until(self, page_id: str, seconds: float) -> None:
        await self._pause(keys=self._keys(page_id)[1:2], args=[math.ceil(max(0.0, seconds) * 1000)])
