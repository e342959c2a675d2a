"""Client-side rate limit: at most ``limit`` requests in any ``period`` seconds.

Plivo allows 300 conference/recording API requests per 5 seconds per account and answers 429
beyond that. Staying under the limit on our side is cheaper than being told off: a 429 costs a
round trip and a back-off. The limiter keeps the send times of the last ``limit`` requests (a
sliding-window log), so *no* window of ``period`` seconds ever holds more than ``limit`` sends,
not merely each fixed 5-second bucket. Every attempt, retries included, takes a slot.

One limiter serves threads (``acquire``) and coroutines (``acquire_async``) alike: the bookkeeping
runs under a short lock that is never held while waiting. Clock and sleeps are injectable.

Examples
--------
>>> now = [0.0]
>>> limiter = RateLimiter(2, 1.0, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
>>> for _ in range(3):
...     limiter.acquire()
>>> now[0]          # the third request waited until the first left the window
1.0
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable

from .errors import ConfigurationError

__all__ = ["DEFAULT_RATE_LIMIT", "RateLimiter"]

#: Plivo's documented limit for the conference and recording APIs: 300 requests per 5 seconds.
DEFAULT_RATE_LIMIT = (300, 5.0)


class RateLimiter:
    """At most ``limit`` acquisitions in any window of ``period`` seconds.

    Parameters
    ----------
    limit, period
        ``limit`` sends per ``period`` seconds.
    clock
        Monotonic seconds (default :func:`time.monotonic`).
    sleep, async_sleep
        How to wait (defaults :func:`time.sleep` and :func:`asyncio.sleep`).
    """

    def __init__(self, limit: int = 300, period: float = 5.0, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], object] = time.sleep,
                 async_sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ConfigurationError(f"rate_limit: limit {limit!r} is not a whole number >= 1")
        if not isinstance(period, int | float) or not math.isfinite(period) or period <= 0:
            raise ConfigurationError(f"rate_limit: period {period!r} is not a number of seconds > 0")
        self.limit = limit
        self.period = float(period)
        self._clock = clock
        self._sleep = sleep
        self._async_sleep = async_sleep
        self._sends: deque[float] = deque()
        self._lock = threading.Lock()

    @classmethod
    def from_setting(cls, setting: object) -> RateLimiter | None:
        """A limiter from the client's ``rate_limit`` argument.

        ``None`` disables limiting; ``(limit, period)`` builds a limiter; a ``RateLimiter`` is used
        as given (several clients can then share one account's budget).
        """
        if setting is None:
            return None
        if isinstance(setting, RateLimiter):
            return setting
        if isinstance(setting, tuple | list) and len(setting) == 2:
            return cls(setting[0], setting[1])
        raise ConfigurationError(
            f"rate_limit: {setting!r} is not (requests, seconds), a RateLimiter or None")

    def _claim(self) -> float:
        """Take a slot now and return 0, or return how long to wait before asking again."""
        with self._lock:
            now = self._clock()
            sends = self._sends
            horizon = now - self.period
            while sends and sends[0] <= horizon:
                sends.popleft()
            if len(sends) < self.limit:
                sends.append(now)
                return 0.0
            return max(sends[0] - horizon, 1e-6)

    def acquire(self) -> None:
        """Block the calling thread until a request may be sent, and count it."""
        while (wait := self._claim()) > 0:
            self._sleep(wait)

    async def acquire_async(self) -> None:
        """Wait (without blocking the event loop) until a request may be sent, and count it."""
        while (wait := self._claim()) > 0:
            await self._async_sleep(wait)

    def __repr__(self) -> str:
        return f"RateLimiter({self.limit}, {self.period:g})"
