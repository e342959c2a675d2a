"""When to retry a Plivo API call, and how long to wait first.

A duplicate recording costs money, so the policy separates failures by what they prove:

- *never processed*: a 429, a connection that was never made, a 503 that came with ``Retry-After``
  (the server asking to come back later). Retrying these is always safe.
- *maybe processed*: any other 5xx, or a request that was sent but whose answer was lost (read
  timeout, dropped connection). A start-recording POST is retried on these only when the caller
  opts in with ``retry_unsafe=True``; stopping a recording, listing and fetching are idempotent, so
  they are retried.

Waiting is exponential back-off with full jitter (``random() * min(cap, base * 2**(n-1))``),
unless the server said how long to wait with ``Retry-After`` (seconds or an HTTP date), which is
honoured exactly, up to ``max_retry_after`` seconds: a longer wait is not done silently, the error
is raised with its ``retry_after`` instead.

Everything that touches time (``sleep``, ``async_sleep``, ``wall_clock``) and chance (``random``)
is injectable, so tests never wait.

Examples
--------
>>> policy = RetryPolicy(max_retries=2, random=lambda: 1.0)
>>> policy.delay("start", 1, status=429)
0.5
>>> policy.delay("start", 1, status=502) is None     # may have started a recording
True
>>> policy.delay("stop", 2, status=502)
1.0
>>> policy.delay("stop", 3, status=502) is None      # out of retries
True
"""

from __future__ import annotations

import asyncio
import math
import random as _random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Literal

from .errors import ConfigurationError

__all__ = [
    "NOT_SENT",
    "SENT",
    "RetryPolicy",
    "may_have_been_processed",
    "parse_retry_after",
]

#: The two kinds of transport failure, :data:`NOT_SENT` and :data:`SENT`.
TransportFailure = Literal["not_sent", "sent"]
#: A transport failure before the request reached the server (connect error, pool timeout).
NOT_SENT: TransportFailure = "not_sent"
#: A transport failure after the request was (maybe partly) sent: read timeout, dropped connection.
SENT: TransportFailure = "sent"


def may_have_been_processed(status: int, retry_after: float | None) -> bool:
    """Whether an error status leaves open that the server acted on the request.

    4xx answers are rejections; a 503 with ``Retry-After`` is the server declining the work. Any
    other 5xx (500, 502, 504, ...) may come after the work was done.

    >>> may_have_been_processed(500, None), may_have_been_processed(503, 2.0)
    (True, False)
    """
    return status >= 500 and not (status == 503 and retry_after is not None)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    ``now`` is the current Unix time (for the date form). Returns None for a missing or unreadable
    header; a date in the past means 0.

    >>> parse_retry_after("3")
    3.0
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0)
    10.0
    >>> parse_retry_after("soon") is None
    True
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # RFC 9110 dates are GMT
        return None
    current = time.time() if now is None else now
    return max(0.0, moment.timestamp() - current)


@dataclass(frozen=True)
class RetryPolicy:
    """Which failures to retry and how long to wait; pure apart from the injected callables.

    Parameters
    ----------
    max_retries
        Retries after the first attempt (``3`` means at most 4 attempts).
    backoff_base, backoff_cap
        Back-off before retry ``n`` is ``random() * min(backoff_cap, backoff_base * 2**(n-1))``.
    max_retry_after
        Longest ``Retry-After`` the client waits out; beyond it the error is raised.
    retry_unsafe
        Also retry a start whose outcome is unknown (500/502/504, read timeouts). A retried start
        that had in fact been processed starts a second, billed recording.
    random, sleep, async_sleep, wall_clock
        Injected for tests; defaults are :func:`random.random`, :func:`time.sleep`,
        :func:`asyncio.sleep` and :func:`time.time` (for ``Retry-After`` dates).
    """

    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    max_retry_after: float = 60.0
    retry_unsafe: bool = False
    random: Callable[[], float] = field(default=_random.random, repr=False, compare=False)
    sleep: Callable[[float], object] = field(default=time.sleep, repr=False, compare=False)
    async_sleep: Callable[[float], Awaitable[object]] = field(default=asyncio.sleep, repr=False,
                                                              compare=False)
    wall_clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (not isinstance(self.max_retries, int) or isinstance(self.max_retries, bool)
                or self.max_retries < 0):
            raise ConfigurationError(
                f"max_retries: {self.max_retries!r} is not a whole number >= 0")
        for name in ("backoff_base", "backoff_cap", "max_retry_after"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ConfigurationError(f"{name}: {value!r} is not a number of seconds >= 0")

    def retryable(self, action: str, *, status: int | None = None,
                  transport: TransportFailure | None = None,
                  retry_after: float | None = None) -> bool:
        """Whether this kind of failure may be retried for ``action`` (ignoring the count).

        ``action`` is ``"start"`` for a start-recording POST; anything else (``"stop"``,
        ``"list"``, ``"get"``) is idempotent.
        """
        unsafe_ok = action != "start" or self.retry_unsafe
        if transport is not None:
            return transport == NOT_SENT or unsafe_ok
        if status is None:
            return False
        if status == 429:
            return True
        if status >= 500:
            return not may_have_been_processed(status, retry_after) or unsafe_ok
        return False

    def delay(self, action: str, attempt: int, *, status: int | None = None,
              transport: TransportFailure | None = None,
              retry_after: float | None = None) -> float | None:
        """Seconds to wait before the next attempt after attempt ``attempt`` (1-based) failed,
        or None when the failure is final."""
        if attempt > self.max_retries:
            return None
        if not self.retryable(action, status=status, transport=transport, retry_after=retry_after):
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        return self.backoff(attempt)

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential back-off before retry number ``attempt`` (1-based)."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2.0 ** min(attempt - 1, 62))
        return self.random() * ceiling
