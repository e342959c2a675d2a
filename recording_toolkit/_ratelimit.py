"""Client-side rate limit: at most ``limit`` requests in any ``period`` seconds.

Plivo allows 300 conference/recording API requests per 5 seconds per account and answers 429
beyond that. Staying under the limit on our side is cheaper than being told off: a 429 costs a
round trip and a back-off. The limiter keeps the send times of the last ``limit`` requests (a
sliding-window log), so *no* window of ``period`` seconds ever holds more than ``limit`` sends,
not merely each fixed 5-second bucket. Every attempt, retries included, takes a slot.

Plivo counts requests when they *arrive*, and a request arrives some time between being sent
and being answered. A limit on send times alone is therefore exceeded on the server whenever
latency varies (a burst queued on the way, then fresh requests that go straight through). So
the client *holds* its slot while the request is in flight (``acquire(hold=True)``) and
``release`` restarts the slot's window at the moment the answer came: if every slot counts from
its answer, any ``period`` seconds of arrivals hold at most ``limit`` requests, whatever the
latency.

One limiter serves threads (``acquire``) and coroutines (``acquire_async``) alike: the bookkeeping
runs under a short lock that is never held while waiting. Clock and sleeps are injectable.

Examples
--------
>>> now = [0.0]
>>> limiter = RateLimiter(2, 1.0, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
>>> for _ in range(3):
...     _ = limiter.acquire()
>>> now[0]          # the third request waited until the first left the window
1.0
"""

from __future__ import annotations

import asyncio
import itertools
import math
import threading
import time
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
        # slot -> when its window started: the send, or the answer once released; inf while held
        self._slots: dict[int, float] = {}
        self._keys = itertools.count()
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

    #: How often to look again when every slot is held by a request still in flight.
    IN_FLIGHT_POLL_S = 0.01

    def _claim(self, hold: bool) -> tuple[float, int | None]:
        """Take a slot now: ``(0, key)``; or ``(seconds to wait before asking again, None)``."""
        with self._lock:
            now = self._clock()
            horizon = now - self.period
            slots = self._slots
            if len(slots) >= self.limit:
                for key in [k for k, started in slots.items() if started <= horizon]:
                    del slots[key]
            if len(slots) < self.limit:
                key = next(self._keys)
                slots[key] = math.inf if hold else now
                return 0.0, key
            counted = [started for started in slots.values() if started != math.inf]
            if not counted:
                return self.IN_FLIGHT_POLL_S, None
            return max(min(counted) - horizon, 1e-6), None

    def acquire(self, *, hold: bool = False) -> int:
        """Block the calling thread until a request may be sent, and count it.

        With ``hold=True`` the slot stays taken until :meth:`release` is called with the key
        returned here (call it when the answer came, or the request failed).
        """
        while True:
            wait, key = self._claim(hold)
            if key is not None:
                return key
            self._sleep(wait)

    async def acquire_async(self, *, hold: bool = False) -> int:
        """Wait (without blocking the event loop) until a request may be sent, and count it;
        ``hold`` as in :meth:`acquire`."""
        while True:
            wait, key = self._claim(hold)
            if key is not None:
                return key
            await self._async_sleep(wait)

    def release(self, key: int) -> None:
        """The request of a held slot is over: its window runs from now. Idempotent."""
        with self._lock:
            if self._slots.get(key) == math.inf:
                self._slots[key] = self._clock()

    def __repr__(self) -> str:
        return f"RateLimiter({self.limit}, {self.period:g})"
