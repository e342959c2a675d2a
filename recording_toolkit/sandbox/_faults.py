"""API-side misbehaviour: injected error statuses, added latency and an optional rate limit.

Callback faults (dropped, duplicated, delayed deliveries) live in the dispatcher; this module
decides, for each Record / Recording API request, whether it is served.

Decisions are keyed by the request (method, path) and how many identical requests came before
it, never by arrival order across different requests: the same sequence of calls against the
same seed meets the same faults, and a client's retry of a failed call is a new draw.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ._config import Faults
from ._simulation import Simulation

__all__ = ["ApiFaults", "FaultDecision"]


@dataclass(frozen=True)
class FaultDecision:
    """What happens to one API request before (or instead of) serving it."""

    latency_s: float = 0.0
    status: int | None = None          # an error status to answer with, or None: serve it
    retry_after_s: int | None = None
    reason: str = ""
    process_anyway: bool = False       # an injected 500 on a start that did start a recording
    async_answer: bool = False         # a served start answered without recording_id and url


class ApiFaults:
    """Decides the fate of each API request (thread-safe)."""

    def __init__(self, faults: Faults, simulation: Simulation, *,
                 rate_limit: tuple[int, float] | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.faults = faults
        self._sim = simulation
        self._rate_limit = rate_limit
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._seen: collections.Counter[tuple[str, str]] = collections.Counter()
        self._window: collections.deque[float] = collections.deque()
        self.injected: collections.Counter[int] = collections.Counter()
        self.rate_limited = 0
        self._arrivals: list[float] = []   # monotonic time of every API request, in order

    def request_times(self) -> list[float]:
        """When each API request arrived (``time.monotonic`` seconds, ascending): what a test
        checks a client's rate limit against, as Plivo would count it on its side."""
        with self._lock:
            return list(self._arrivals)

    def decide(self, method: str, path: str, *, is_start: bool) -> FaultDecision:
        faults = self.faults
        with self._lock:
            self._arrivals.append(self._monotonic())
            number = self._seen[(method, path)]
            self._seen[(method, path)] += 1
            limited = self._over_limit()
            if limited is not None:
                self.rate_limited += 1
        latency = 0.0
        low, high = faults.latency_ms
        if high > 0:
            latency = self._sim.fault_rng("latency", method, path, number).uniform(low, high) / 1000
        if limited is not None:
            return FaultDecision(latency_s=latency, status=429, retry_after_s=limited,
                                 reason="rate limit exceeded")
        if faults.api_error_rate and self._sim.fault("api", method, path,
                                                     number) < faults.api_error_rate:
            rng = self._sim.fault_rng("api_status", method, path, number)
            status = rng.choice(faults.api_error_statuses)
            retry_after = faults.retry_after_s if status in (429, 503) else None
            process = (status == 500 and is_start
                       and rng.random() < faults.started_share_on_500)
            with self._lock:
                self.injected[status] += 1
            return FaultDecision(latency_s=latency, status=status, retry_after_s=retry_after,
                                 reason="injected fault", process_anyway=process)
        async_answer = bool(is_start and faults.async_answer_rate and self._sim.fault(
            "async_answer", method, path, number) < faults.async_answer_rate)
        return FaultDecision(latency_s=latency, async_answer=async_answer)

    def _over_limit(self) -> int | None:
        """Seconds to wait if this request is over the rate limit, else None (records it)."""
        if self._rate_limit is None:
            return None
        count, window = self._rate_limit
        now = self._monotonic()
        while self._window and self._window[0] <= now - window:
            self._window.popleft()
        if len(self._window) >= count:
            return max(1, math.ceil(self._window[0] + window - now))
        self._window.append(now)
        return None

    def counts(self) -> dict[str, object]:
        with self._lock:
            return {"injected": {str(k): v for k, v in sorted(self.injected.items())},
                    "rate_limited": self.rate_limited}
