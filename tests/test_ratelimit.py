"""The client-side rate limit (_ratelimit.py), on a fake clock: no window ever holds too many."""

from __future__ import annotations

import asyncio
import random
import threading

import pytest

from recording_toolkit._ratelimit import DEFAULT_RATE_LIMIT, RateLimiter
from recording_toolkit.errors import ConfigurationError


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now = max(self.now, self.now + seconds)
        await asyncio.sleep(0)


def busiest_window(times: list[float], period: float) -> int:
    """Most sends inside any half-open window [t, t + period), by two pointers over the times."""
    times = sorted(times)
    best, left = 0, 0
    for right, t in enumerate(times):
        while times[left] <= t - period:
            left += 1
        best = max(best, right - left + 1)
    return best


def test_plivos_limit_is_never_exceeded_in_any_five_second_window():
    clock = FakeClock()
    limiter = RateLimiter(*DEFAULT_RATE_LIMIT, clock=clock, sleep=clock.sleep)
    rng = random.Random(7)
    sent = []
    for _ in range(2000):
        clock.now += rng.choice([0.0] * 40 + [0.001, 0.01, 0.5])  # bursts and pauses
        limiter.acquire()
        sent.append(clock.now)
    assert clock.sleeps  # the limit was reached, so it really had to hold requests back
    assert busiest_window(sent, 5.0) == 300
    # and it does not wait longer than needed: a full burst waits for exactly the first to expire
    burst = RateLimiter(300, 5.0, clock=clock, sleep=clock.sleep)
    start = clock.now = 1000.0
    for _ in range(301):
        burst.acquire()
    assert clock.now == pytest.approx(start + 5.0)


def test_a_held_slot_counts_from_its_answer_not_from_its_send():
    # Plivo counts a request when it arrives, some time before its answer: counting each slot
    # from the answer keeps any window of arrivals within the limit, whatever the latency
    clock = FakeClock()
    limiter = RateLimiter(2, 1.0, clock=clock, sleep=clock.sleep)
    first, second = limiter.acquire(hold=True), limiter.acquire(hold=True)
    clock.now = 3.0  # both still in flight long after send-time windows would have ended
    limiter.release(first)
    clock.now = 3.5
    limiter.release(second)
    limiter.release(second)  # twice is harmless
    limiter.acquire()
    assert clock.now == 4.0  # the first slot's window ran from its answer at 3.0
    limiter.acquire()
    assert clock.now == 4.5


def test_with_every_slot_in_flight_it_waits_for_an_answer():
    clock = FakeClock()

    def sleep(seconds: float) -> None:  # the answer comes while the next request waits
        clock.sleep(seconds)
        limiter.release(held)

    limiter = RateLimiter(1, 1.0, clock=clock, sleep=sleep)
    held = limiter.acquire(hold=True)
    limiter.acquire()
    assert clock.sleeps[0] == RateLimiter.IN_FLIGHT_POLL_S
    assert clock.now == pytest.approx(RateLimiter.IN_FLIGHT_POLL_S + 1.0)


def test_a_burst_is_spread_over_windows():
    clock = FakeClock()
    limiter = RateLimiter(3, 1.0, clock=clock, sleep=clock.sleep)
    sent = []
    for _ in range(9):
        limiter.acquire()
        sent.append(clock.now)
    assert sent == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0]


def test_async_acquire_holds_the_limit_across_concurrent_tasks():
    clock = FakeClock()
    limiter = RateLimiter(10, 5.0, clock=clock, async_sleep=clock.async_sleep,
                          sleep=lambda s: pytest.fail("blocking sleep in async code"))
    sent: list[float] = []

    async def task(n: int) -> None:
        for _ in range(n):
            await limiter.acquire_async()
            sent.append(clock.now)  # no await since the claim: this is the claim time
            await asyncio.sleep(0)

    async def main() -> None:
        await asyncio.gather(*(task(7) for _ in range(20)))

    asyncio.run(main())
    assert len(sent) == 140
    assert busiest_window(sent, 5.0) == 10
    assert max(sent) == pytest.approx(65.0)  # 140 sends at 10 per 5 s: the last at 13 * 5 s


def test_threads_share_one_budget():
    """Claims under contention: record each thread's own successful claim time via the clock."""
    lock = threading.Lock()
    now = [0.0]
    last_read: dict[int, float] = {}

    def clock() -> float:
        with lock:
            last_read[threading.get_ident()] = now[0]
            return now[0]

    def sleep(seconds: float) -> None:
        with lock:
            now[0] += seconds / 8  # several sleepers each move time a little: still monotonic

    limiter = RateLimiter(7, 1.0, clock=clock, sleep=sleep)
    sent: list[float] = []

    def work() -> None:
        for _ in range(25):
            limiter.acquire()
            with lock:
                sent.append(last_read[threading.get_ident()])

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert len(sent) == 200
    assert busiest_window(sent, 1.0) <= 7


def test_settings():
    assert RateLimiter.from_setting(None) is None
    shared = RateLimiter(1, 1.0)
    assert RateLimiter.from_setting(shared) is shared
    made = RateLimiter.from_setting((60, 1))
    assert (made.limit, made.period) == (60, 1.0)
    assert repr(made) == "RateLimiter(60, 1)"
    for bad in [(0, 5.0), (300, 0), (300, -1.0), (1.5, 5.0), (300, float("nan")), "300/5s", 300,
                (1, 2, 3)]:
        with pytest.raises(ConfigurationError, match="rate_limit"):
            RateLimiter.from_setting(bad)
