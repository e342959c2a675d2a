"""Sandbox time: a scaled clock for live runs and a manual clock for reproducible ones.

Every timestamp the sandbox hands out (``recording_start_ms``, ``recording_end_ms``, ``add_time``)
and every moment it schedules (a recording ending, a callback going out) is *sandbox time*, read
from one of these clocks, never from the wall clock directly:

- :class:`ScaledClock` starts at the wall-clock time (or a given ``start``) and runs
  ``time_scale`` times faster, so a simulated hour passes in ``3600 / time_scale`` real seconds.
  It runs ahead of the wall clock; a receiver that should agree with the sandbox's timestamps
  stamps its lines with the same clock (``CallbackLog(..., clock=sandbox.clock)``).
- :class:`ManualClock` moves only when told (:meth:`ManualClock.advance`, :meth:`ManualClock.set`).
  Everything is then a function of the requests and the seed, which is how the committed sample
  data regenerates byte for byte.

Both give whole milliseconds (Plivo's resolution) and notify subscribers when time jumps, so the
dispatcher can wake up.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from ..errors import ConfigurationError

__all__ = ["ManualClock", "SandboxClock", "ScaledClock", "from_ms", "to_ms"]


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime (naive means UTC).

    >>> to_ms(datetime(2026, 11, 2, tzinfo=UTC))
    1793577600000
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def from_ms(ms: float) -> datetime:
    """The UTC datetime of epoch milliseconds.

    >>> from_ms(1793577600000).isoformat()
    '2026-11-02T00:00:00+00:00'
    """
    return datetime.fromtimestamp(int(ms) // 1000, UTC).replace(microsecond=int(ms) % 1000 * 1000)


class SandboxClock(Protocol):
    """What the sandbox needs from a clock."""

    def now_ms(self) -> int:
        """Sandbox time, epoch milliseconds."""

    def seconds_until(self, due_ms: float) -> float | None:
        """Real seconds to wait until ``due_ms``; None: only an explicit advance gets there."""

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (from any thread) whenever time jumps."""

    def moment_of(self, due_ms: int) -> int:
        """The sandbox time at which something due at ``due_ms`` happens, once it is due."""

    def now(self) -> datetime:
        """Sandbox time as an aware UTC datetime (the ``clock`` a callback log takes)."""


class ScaledClock:
    """Sandbox time running ``time_scale`` times as fast as the wall clock.

    Parameters
    ----------
    time_scale
        Simulated seconds per real second (> 0). 60 makes a simulated minute last a second;
        3600 makes an hour-long recording end in one second.
    start
        The sandbox time at creation (default: now on the wall clock).
    monotonic
        The real-time source (injectable for tests).

    Examples
    --------
    >>> ticks = iter([0.0, 2.0])
    >>> clock = ScaledClock(60, start=datetime(2026, 11, 2, tzinfo=UTC), monotonic=lambda: next(ticks))
    >>> clock.now().isoformat()   # two real seconds later: two simulated minutes
    '2026-11-02T00:02:00+00:00'
    """

    def __init__(self, time_scale: float = 60.0, *, start: datetime | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if (not isinstance(time_scale, int | float) or isinstance(time_scale, bool)
                or not math.isfinite(time_scale) or time_scale <= 0):
            raise ConfigurationError(f"time_scale: {time_scale!r} is not a number > 0")
        self.time_scale = float(time_scale)
        self._monotonic = monotonic
        self._start_ms = to_ms(start) if start is not None else int(time.time() * 1000)
        self._t0 = monotonic()

    def now_ms(self) -> int:
        return self._start_ms + int((self._monotonic() - self._t0) * 1000.0 * self.time_scale)

    def seconds_until(self, due_ms: float) -> float | None:
        return max(0.0, (due_ms - self.now_ms()) / 1000.0 / self.time_scale)

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Nothing to do: scaled time never jumps."""

    def moment_of(self, due_ms: int) -> int:
        """Now: time runs on its own, so a due thing happens when it is done."""
        return max(due_ms, self.now_ms())

    def now(self) -> datetime:
        return from_ms(self.now_ms())

    def __repr__(self) -> str:
        return f"ScaledClock(time_scale={self.time_scale:g}, now={self.now().isoformat()})"


class ManualClock:
    """Sandbox time that moves only when told to: the clock of reproducible runs.

    Examples
    --------
    >>> clock = ManualClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    >>> clock.advance(90)
    >>> clock.now().isoformat()
    '2026-11-02T09:01:30+00:00'
    """

    def __init__(self, start: datetime) -> None:
        self._ms = to_ms(start)
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    @property
    def time_scale(self) -> float:
        """Not meaningful for a manual clock; kept for display (0)."""
        return 0.0

    def now_ms(self) -> int:
        return self._ms

    def seconds_until(self, due_ms: float) -> float | None:
        return 0.0 if due_ms <= self._ms else None

    def subscribe(self, listener: Callable[[], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    def now(self) -> datetime:
        return from_ms(self._ms)

    def moment_of(self, due_ms: int) -> int:
        """``due_ms`` itself: between two jumps time stands still, so whatever fell due in the
        jump happened at its own due time (this is what makes manual runs reproducible)."""
        return min(due_ms, self._ms)

    def set(self, moment: datetime | int) -> None:
        """Move to ``moment`` (a datetime or epoch ms); time never goes backwards."""
        ms = moment if isinstance(moment, int) else to_ms(moment)
        with self._lock:
            if ms < self._ms:
                raise ValueError(f"the clock cannot go back from {from_ms(self._ms).isoformat()}"
                                 f" to {from_ms(ms).isoformat()}")
            self._ms = ms
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    def advance(self, seconds: float) -> None:
        """Move forward by ``seconds`` of sandbox time."""
        if seconds < 0:
            raise ValueError(f"seconds: {seconds!r} is negative; the clock only moves forward")
        self.set(self._ms + round(seconds * 1000))

    def __repr__(self) -> str:
        return f"ManualClock(now={self.now().isoformat()})"
