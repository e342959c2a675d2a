"""What the sandbox simulates and how it misbehaves: plain, validated settings.

- :class:`Faults`: API errors, added latency, dropped / duplicated / delayed callbacks. All off by
  default; every decision is drawn from the seed (see ``_simulation``), so a faulty run repeats.
- :class:`DurationModel`: how long a recording runs when nobody stops it.
- :class:`Timing`: how long after a recording ends its callbacks go out.
- :class:`SandboxConfig`: all of the above plus the seed, strict mode and the rate card.

Durations and delays here are *sandbox* seconds (see ``_clock``); latency and Retry-After are
real seconds, because they are what an HTTP client waits for.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ..config import RateCard
from ..errors import ConfigurationError

__all__ = ["FAULT_PRESETS", "DurationModel", "Faults", "SandboxConfig", "Timing"]

#: Statuses the API fault injection can answer with.
API_FAULT_STATUSES = (429, 500, 502, 503, 504)


def _rate(name: str, value: Any) -> float:
    if (not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value)
            or not 0.0 <= value <= 1.0):
        raise ConfigurationError(f"{name}: {value!r} is not a rate from 0 to 1")
    return float(value)


def _span(name: str, value: Any) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{name}: {value!r} is not a (low, high) pair of numbers") from None
    if not (math.isfinite(low) and math.isfinite(high)) or low < 0 or high < low:
        raise ConfigurationError(f"{name}: {value!r} must satisfy 0 <= low <= high")
    return (low, high)


def _positive(name: str, value: Any, *, zero: bool = False) -> float:
    if (not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value)
            or value < 0 or (value == 0 and not zero)):
        raise ConfigurationError(f"{name}: {value!r} is not a number {'>=' if zero else '>'} 0")
    return float(value)


@dataclass(frozen=True)
class Faults:
    """Fault injection, all off by default; every decision is drawn from the sandbox's seed.

    Attributes
    ----------
    api_error_rate
        Share of API requests (Record and Recording APIs) answered with one of
        ``api_error_statuses`` instead of being served.
    api_error_statuses
        Drawn from evenly. 429 and 503 carry ``Retry-After: retry_after_s``.
    started_share_on_500
        Share of injected 500s on a start whose recording *did* start before the error (Plivo
        may have processed a request it answers 500 to): these callbacks arrive all the same.
    latency_ms
        ``(low, high)`` real milliseconds added to every API answer, uniformly.
    drop_rate, duplicate_rate, delay_rate
        Share of callbacks never sent, sent twice (a second delivery shortly after the first), or
        held back by ``delay_s`` (sandbox seconds) before their first delivery.
    async_answer_rate
        Share of successful starts answered the way Plivo answers its asynchronous record APIs:
        ``{"api_id", "message": "async api spawned"}`` with neither ``recording_id`` nor ``url``.
        The recording starts all the same and its callbacks carry that ``api_id``, so a client
        must match them by ``api_id`` (spec key ``async_answer``; ``1`` for every start).

    Examples
    --------
    >>> Faults.parse("drop=0.02,duplicate=0.05,api_error=0.01,latency_ms=5-20").latency_ms
    (5.0, 20.0)
    >>> Faults.parse("light").enabled
    True
    """

    api_error_rate: float = 0.0
    api_error_statuses: tuple[int, ...] = (500, 503, 429)
    retry_after_s: int = 1
    started_share_on_500: float = 0.5
    latency_ms: tuple[float, float] = (0.0, 0.0)
    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    delay_rate: float = 0.0
    delay_s: tuple[float, float] = (60.0, 1800.0)
    async_answer_rate: float = 0.0

    def __post_init__(self) -> None:
        for name in ("api_error_rate", "started_share_on_500", "drop_rate", "duplicate_rate",
                     "delay_rate", "async_answer_rate"):
            object.__setattr__(self, name, _rate(name, getattr(self, name)))
        statuses = tuple(self.api_error_statuses)
        if not statuses or any(s not in API_FAULT_STATUSES for s in statuses):
            raise ConfigurationError(f"api_error_statuses: {self.api_error_statuses!r}; each must be"
                                     f" one of {API_FAULT_STATUSES}")
        object.__setattr__(self, "api_error_statuses", statuses)
        if (not isinstance(self.retry_after_s, int) or isinstance(self.retry_after_s, bool)
                or self.retry_after_s < 0):
            raise ConfigurationError(f"retry_after_s: {self.retry_after_s!r} is not a whole"
                                     " number of seconds >= 0")
        object.__setattr__(self, "latency_ms", _span("latency_ms", self.latency_ms))
        object.__setattr__(self, "delay_s", _span("delay_s", self.delay_s))

    @property
    def enabled(self) -> bool:
        """True when any fault can happen."""
        return bool(self.api_error_rate or self.latency_ms[1] or self.drop_rate
                    or self.duplicate_rate or self.delay_rate or self.async_answer_rate)

    _KEYS = {"api_error": "api_error_rate", "drop": "drop_rate", "duplicate": "duplicate_rate",
             "delay": "delay_rate", "latency_ms": "latency_ms", "delay_s": "delay_s",
             "statuses": "api_error_statuses", "retry_after": "retry_after_s",
             "started_on_500": "started_share_on_500", "async_answer": "async_answer_rate"}

    @classmethod
    def parse(cls, spec: str | None) -> Faults:
        """Faults from a preset name (``none``, ``light``, ``heavy``) or ``key=value`` pairs.

        Keys: ``api_error``, ``drop``, ``duplicate``, ``delay``, ``started_on_500``,
        ``async_answer`` (rates),
        ``latency_ms`` and ``delay_s`` (``low-high`` or one number), ``statuses``
        (``500/503/429``), ``retry_after`` (seconds). A preset may come first and be
        overridden: ``light,drop=0.1``.
        """
        if spec is None or not spec.strip():
            return cls()
        values: dict[str, Any] = {}
        for index, part in enumerate(p.strip() for p in spec.split(",")):
            if not part:
                continue
            key, sep, text = part.partition("=")
            if not sep:
                if index == 0 and part in FAULT_PRESETS:
                    values.update(FAULT_PRESETS[part].changed_fields())
                    continue
                raise ConfigurationError(
                    f"faults: {part!r} is neither a preset ({', '.join(FAULT_PRESETS)}) nor"
                    " key=value")
            key = key.strip()
            if key not in cls._KEYS:
                raise ConfigurationError(f"faults: unknown key {key!r}; known: {', '.join(cls._KEYS)}")
            name = cls._KEYS[key]
            text = text.strip()
            try:
                if name in ("latency_ms", "delay_s"):
                    low, _, high = text.partition("-")
                    values[name] = (float(low), float(high or low))
                elif name == "api_error_statuses":
                    values[name] = tuple(int(s) for s in re.split(r"[/|;]", text) if s)
                elif name == "retry_after_s":
                    values[name] = int(text)
                else:
                    values[name] = float(text)
            except ValueError:
                raise ConfigurationError(f"faults: {key}={text!r} is not a valid value") from None
        try:
            return cls(**values)
        except ConfigurationError as exc:
            # name the key of the spec the user wrote, not the field it sets
            message = str(exc)
            for key, name in cls._KEYS.items():
                if message.startswith(f"{name}:"):
                    raise ConfigurationError(f"faults: {key}{message[len(name):]}") from None
            raise

    def changed_fields(self) -> dict[str, Any]:
        """The fields that differ from the defaults."""
        default = Faults()
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) != getattr(default, f.name)}

    def describe(self) -> str:
        """The faults as a ``--faults`` spec (``none`` when nothing is injected): what the
        sandbox command prints, and what :meth:`parse` reads back.

        >>> Faults.parse("drop=0.1,statuses=503/429,latency_ms=5-20").describe()
        'statuses=503/429, latency_ms=5-20, drop=0.1'
        >>> spec = Faults.parse("heavy").describe()
        >>> Faults.parse(spec) == Faults.parse("heavy")
        True
        """
        if not self.enabled:
            return "none"
        keys = {name: key for key, name in self._KEYS.items()}

        def text(value: Any) -> str:
            if isinstance(value, tuple) and all(isinstance(v, int) for v in value):
                return "/".join(str(v) for v in value)
            if isinstance(value, tuple):
                return "-".join(f"{v:g}" for v in value)
            return f"{value:g}" if isinstance(value, float) else str(value)

        return ", ".join(f"{keys[name]}={text(value)}"
                         for name, value in self.changed_fields().items())


#: Named fault mixes for the CLI (``--faults light``).
FAULT_PRESETS: dict[str, Faults] = {
    "none": Faults(),
    "light": Faults(api_error_rate=0.02, drop_rate=0.01, duplicate_rate=0.03, delay_rate=0.05),
    "heavy": Faults(api_error_rate=0.10, drop_rate=0.05, duplicate_rate=0.10, delay_rate=0.20,
                    latency_ms=(0.0, 30.0)),
}


@dataclass(frozen=True)
class DurationModel:
    """How long a recording runs when nobody stops it (sandbox seconds).

    A log-normal body (``median_s``, ``sigma``) kept within ``body_s``, plus two small tails that
    make Plivo's transcription limits visible: ``short_share`` of recordings last ``short_ms``
    (500 ms or less: too short to transcribe) and ``long_share`` last ``long_s`` (4 hours or more:
    too long).

    Examples
    --------
    >>> model = DurationModel()
    >>> 1_000 <= model.draw_ms(random.Random(1)) <= 4 * 3600 * 1000
    True
    """

    median_s: float = 900.0
    sigma: float = 1.0
    body_s: tuple[float, float] = (1.0, 4 * 3600.0 - 60.0)
    short_share: float = 0.02
    short_ms: tuple[float, float] = (100.0, 500.0)
    long_share: float = 0.005
    long_s: tuple[float, float] = (4 * 3600.0, 6 * 3600.0)

    def __post_init__(self) -> None:
        _positive("median_s", self.median_s)
        _positive("sigma", self.sigma, zero=True)
        for name in ("body_s", "short_ms", "long_s"):
            object.__setattr__(self, name, _span(name, getattr(self, name)))
        _rate("short_share", self.short_share)
        _rate("long_share", self.long_share)
        if self.short_share + self.long_share > 1:
            raise ConfigurationError("short_share + long_share is over 1")

    def draw_ms(self, rng: random.Random) -> int:
        """One duration in milliseconds (at least 1)."""
        pick = rng.random()
        if pick < self.short_share:
            value = rng.uniform(*self.short_ms)
        elif pick < self.short_share + self.long_share:
            value = rng.uniform(*self.long_s) * 1000.0
        else:
            seconds = rng.lognormvariate(math.log(self.median_s), self.sigma)
            value = min(max(seconds, self.body_s[0]), self.body_s[1]) * 1000.0
        return max(1, int(value))


#: A duration model: a :class:`DurationModel` or any ``rng -> seconds`` callable.
Durations = DurationModel | Callable[[random.Random], float]


@dataclass(frozen=True)
class Timing:
    """When things happen after a recording ends (sandbox seconds).

    Attributes
    ----------
    callback_delay_s
        ``(low, high)`` from the end of a recording to its callback (the file being stored);
        the recording's ``add_time`` in the Recording API is the same moment.
    turnaround_base_s, turnaround_per_recorded_s, turnaround_jitter_s
        A successful transcription arrives ``base + per_recorded x duration + U(0, jitter)``
        after the recording ends: "under 5 minutes, growing linearly with duration".
    error_turnaround_s
        ``(low, high)`` for a transcription that fails (ineligible recordings fail fast).
    duplicate_gap_s
        ``(low, high)`` between a delivery and its injected duplicate.
    retry_delay_s
        Wait before retry *n* of a failed delivery: ``n x retry_delay_s``.
    """

    callback_delay_s: tuple[float, float] = (1.0, 5.0)
    turnaround_base_s: float = 20.0
    turnaround_per_recorded_s: float = 0.06
    turnaround_jitter_s: float = 30.0
    error_turnaround_s: tuple[float, float] = (2.0, 20.0)
    duplicate_gap_s: tuple[float, float] = (0.2, 10.0)
    retry_delay_s: float = 5.0

    def __post_init__(self) -> None:
        for name in ("callback_delay_s", "error_turnaround_s", "duplicate_gap_s"):
            object.__setattr__(self, name, _span(name, getattr(self, name)))
        for name in ("turnaround_base_s", "turnaround_per_recorded_s", "turnaround_jitter_s",
                     "retry_delay_s"):
            _positive(name, getattr(self, name), zero=True)


_OFFSET = re.compile(r"^[+-]([01]\d|2[0-3]):[0-5]\d$")


@dataclass(frozen=True)
class SandboxConfig:
    """Everything the sandbox simulates, apart from where it listens and its credentials.

    Attributes
    ----------
    seed
        Seeds every random decision (ids, durations, transcripts, faults): the same seed and the
        same requests give the same recordings and callbacks.
    strict
        False (demo mode): any conference name is live unless it was closed. True: only
        conferences opened through the admin or Python API are live; others get 404.
    faults, durations, timing
        See :class:`Faults`, :class:`DurationModel`, :class:`Timing`.
    rates
        The rate card whose ``transcription_per_minute`` is charged (see
        :class:`~recording_toolkit.config.RateCard`), and whose storage rate the Recording API
        reports.
    rate_limit
        ``(requests, seconds)`` enforced with 429 like Plivo's 300 per 5 s, or None (default).
    add_time_offset
        UTC offset of ``add_time`` in the Recording API (Plivo reports local time with an offset;
        ``+05:30`` as in Plivo's own example).
    media_url
        Base of ``record_url`` (default: the sandbox's own URL, which serves a generated tone of
        the recording's format there).
    media_auth
        True: the media URLs ask for the account's Basic auth (401 with ``WWW-Authenticate:
        Basic`` without it), as Plivo does for accounts that protect their recordings. False
        (default): media is served to anyone holding the URL.
    max_concurrent_callbacks
        Callback deliveries in flight at once.
    """

    seed: int = 0
    strict: bool = False
    faults: Faults = field(default_factory=Faults)
    rates: RateCard = field(default_factory=RateCard)
    durations: Durations = field(default_factory=DurationModel)
    timing: Timing = field(default_factory=Timing)
    rate_limit: tuple[int, float] | None = None
    add_time_offset: str = "+05:30"
    media_url: str | None = None
    max_concurrent_callbacks: int = 64
    media_auth: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ConfigurationError(f"seed: {self.seed!r} is not a whole number")
        if not isinstance(self.faults, Faults):
            raise ConfigurationError(f"faults: {self.faults!r} is not a Faults")
        if not isinstance(self.rates, RateCard):
            raise ConfigurationError(f"rates: {self.rates!r} is not a RateCard")
        if not isinstance(self.durations, DurationModel) and not callable(self.durations):
            raise ConfigurationError(f"durations: {self.durations!r} is neither a DurationModel"
                                     " nor a callable rng -> seconds")
        if not isinstance(self.timing, Timing):
            raise ConfigurationError(f"timing: {self.timing!r} is not a Timing")
        if self.rate_limit is not None:
            try:
                count, window = self.rate_limit
                ok = int(count) == count and count >= 1 and float(window) > 0
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ConfigurationError(f"rate_limit: {self.rate_limit!r} is not (requests >= 1,"
                                         " seconds > 0) or None")
        if not _OFFSET.match(self.add_time_offset):
            raise ConfigurationError(f"add_time_offset: {self.add_time_offset!r} is not an offset"
                                     " like +05:30")
        if self.media_url is not None and not re.match(r"^https?://[^/\s]+", self.media_url):
            raise ConfigurationError(f"media_url: {self.media_url!r} is not an absolute http(s)"
                                     " URL")
        if (not isinstance(self.max_concurrent_callbacks, int)
                or self.max_concurrent_callbacks < 1):
            raise ConfigurationError(f"max_concurrent_callbacks: {self.max_concurrent_callbacks!r}"
                                     " is not a whole number >= 1")
        if not isinstance(self.media_auth, bool):
            raise ConfigurationError(f"media_auth: {self.media_auth!r} is not True or False")

    def updated(self, **changes: Any) -> SandboxConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)
