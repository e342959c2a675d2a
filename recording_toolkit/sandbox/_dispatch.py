"""The callback dispatcher: signed deliveries on sandbox time, Plivo's retry rules, faults.

One thread runs one event loop (uvloop when it is installed, as it is with ``uvicorn[standard]``)
with one ``aiohttp.ClientSession``. Work is a heap of timed items in sandbox time: a recording's
planned end, or one attempt of one delivery of one callback. When an item is due the loop acts
on it: a delivery goes into a first-in, first-out queue that ``max_concurrency`` workers take
from, over a connection pool of the same size, so at most that many are in flight and those
due first go out first. aiohttp rather than httpx because this is server-side machinery, not
the user's client: on one core it sends well over ten times as many requests per second, which
lets tens of thousands of callbacks keep up with a fast sandbox clock
(``benchmarks/bench_sandbox.py``).

Each callback is planned once, when its recording ends:

- fault injection decides (from the seed, per callback) whether it is dropped (never sent),
  delayed (its first delivery held back) or duplicated (a second delivery shortly after);
- each delivery is an HTTP request to the callback URL with ``callback_method`` (recording
  callbacks; transcription callbacks are always POST), form-encoded (POST) or as query parameters
  (GET), V3-signed with the account token over the URL *as configured* and a fresh nonce;
- the URL's fragment (``#ct=2000&rt=10000&rc=3&rp=ct,rt,5xx&tt=55000``) is never sent; it sets
  the connect / read timeouts (real ms), the retry count, what to retry on and the total time,
  exactly as Plivo documents (``docs/plivo.md``). Retry *n* goes out ``n x retry_delay_s``
  sandbox seconds later.

Every attempt is recorded for the ground truth: its nonce, when it was sent, and the status or
the error (``connect: <exception>`` when no connection was made, ``read: <exception>`` when the
request may have reached the receiver but no complete answer came back).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import itertools
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, urlsplit, urlunsplit

import aiohttp
from yarl import URL

from .. import __version__
from ..signature import MA_SIGNATURE_HEADER, NONCE_HEADER, SIGNATURE_HEADER, sign_v3
from ._clock import SandboxClock
from ._config import Faults, Timing
from ._simulation import Simulation

__all__ = ["CallbackPlan", "Delivery", "Dispatcher", "RetrySettings", "retry_settings"]

_USER_AGENT = f"recording_toolkit-sandbox/{__version__}"
CALLBACK_KINDS = ("recording", "transcription")


# -- the callback-retry fragment ---------------------------------------------------------------

_RANGES = {"ct": (100, 10_000), "rt": (100, 40_000), "tt": (100, 55_000), "rc": (0, 5)}
_RETRY_ON = frozenset({"4xx", "5xx", "ct", "rt", "all"})


@dataclass(frozen=True)
class RetrySettings:
    """Delivery settings of one callback URL (Plivo's defaults unless its fragment says)."""

    ct: int = 2000
    rt: int = 40_000
    tt: int = 55_000
    rc: int = 1
    rp: frozenset[str] = frozenset({"ct", "rt"})

    def retries_on(self, condition: str) -> bool:
        return "all" in self.rp or condition in self.rp


def retry_settings(url: str) -> RetrySettings:
    """The delivery settings in ``url``'s fragment; ``ValueError`` naming what is wrong.

    >>> retry_settings("https://h/cb?x=1#ct=500&rc=3&rp=5xx,ct").rc
    3
    >>> retry_settings("https://h/cb#rc=9")
    Traceback (most recent call last):
    ...
    ValueError: callback-retry setting rc=9 is out of range (0 to 5)
    """
    fragment = urlsplit(url).fragment
    values: dict[str, Any] = {}
    if not fragment:
        return RetrySettings()
    for pair in fragment.split("&"):
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"callback-retry setting {pair!r} is not key=value")
        if key in values:
            raise ValueError(f"callback-retry setting {key!r} is given twice")
        if key in _RANGES:
            low, high = _RANGES[key]
            if not (value.isascii() and value.isdigit() and low <= int(value) <= high):
                raise ValueError(f"callback-retry setting {key}={value} is out of range"
                                 f" ({low} to {high})")
            values[key] = int(value)
        elif key == "rp":
            chosen = frozenset(value.split(","))
            unknown = sorted(chosen - _RETRY_ON)
            if unknown:
                raise ValueError(f"callback-retry setting rp={value} has unknown condition(s)"
                                 f" {unknown}; allowed: {', '.join(sorted(_RETRY_ON))}")
            values[key] = chosen
        elif key == "er":
            if not value:
                raise ValueError("callback-retry setting er is empty")
        else:
            raise ValueError(f"callback-retry setting {key!r} is unknown; known: ct, rt, tt, rc,"
                             " rp, er")
    return RetrySettings(**values)


def masked(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for the ground truth)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


# -- plans ---------------------------------------------------------------------------------------

@dataclass
class Delivery:
    """One delivery of a callback (the original, or an injected duplicate) and its attempts."""

    number: int
    due_ms: int
    attempts: list[dict[str, Any]] = field(default_factory=list)
    outcome: str | None = None            # delivered | given_up
    first_real: float | None = None       # monotonic time of the first attempt (for tt)

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "due_ms": self.due_ms, "outcome": self.outcome or "pending",
                "attempts": list(self.attempts)}


@dataclass
class CallbackPlan:
    """One callback of one recording: where it goes, what it says, what happens to it."""

    kind: str
    recording_id: str
    url: str
    method: str
    fields: dict[str, str]
    due_ms: int
    retry: RetrySettings
    dropped: bool = False
    delayed_ms: int = 0
    duplicated: bool = False
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.dropped:
            return "dropped"
        outcomes = [d.outcome for d in self.deliveries]
        if "delivered" in outcomes:
            return "delivered"
        if None in outcomes:
            return "pending"
        return "given_up"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "recording_id": self.recording_id, "method": self.method,
                "url": masked(self.url), "due_ms": self.due_ms, "status": self.status,
                "dropped": self.dropped, "delayed_ms": self.delayed_ms,
                "duplicated": self.duplicated,
                "deliveries": [d.to_dict() for d in self.deliveries]}


def _send_url(url: str) -> str:
    """The URL without its fragment (Plivo never sends the fragment)."""
    return url.split("#", 1)[0]


# what ``urllib.parse.quote_plus`` does to each ASCII character, as one translation table
_FORM_ESCAPES = str.maketrans({
    chr(c): chr(c) if chr(c).isalnum() or chr(c) in "_.-~" else "+" if c == 32 else f"%{c:02X}"
    for c in range(128)})


def _form_value(text: str) -> str:
    return text.translate(_FORM_ESCAPES) if text.isascii() else quote_plus(text)


def form_encode(fields: Mapping[str, str]) -> str:
    """``urlencode(fields)``, byte for byte, in a fraction of its time (every callback is
    encoded once per attempt).

    >>> form_encode({"a b": "x/y+z", "k": "ü&1"})
    'a+b=x%2Fy%2Bz&k=%C3%BC%261'
    """
    return "&".join([f"{_form_value(k)}={_form_value(v)}" for k, v in fields.items()])


# characters that may stand in a request target as they are; anything else (non-ASCII, a stray
# "%") is escaped first
_WIRE_READY = re.compile(r"[A-Za-z0-9\-._~:/?\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2}")


@functools.lru_cache(maxsize=512)  # a run posts to a few callback URLs over and over
def _target(url: str) -> URL:
    """``url`` (fragment removed) as aiohttp sends it: byte for byte as configured when it is
    ready for the wire, so percent-escapes stay as they are (yarl would decode ``%2F`` in a
    query, for one); otherwise with what cannot go on the wire (non-ASCII, a stray ``%``)
    percent-encoded by yarl."""
    sent = _send_url(url)
    if _WIRE_READY.sub("", sent) == "":
        return URL(sent, encoded=True)
    return URL(sent)


def _query_target(url: str, params: Mapping[str, str]) -> URL:
    """A GET callback's URL: the configured URL's query, then the parameters, form-encoded."""
    base = _target(url)
    if not params:
        return base
    text = str(base)
    joiner = "&" if base.raw_query_string else ("" if text.endswith("?") else "?")
    return URL(text + joiner + form_encode(params), encoded=True)


# -- the dispatcher ------------------------------------------------------------------------------

#: The loop the dispatcher thread runs: uvloop's when installed (it comes with uvicorn[standard]
#: on the platforms it supports), asyncio's otherwise.
try:
    import uvloop

    _new_loop: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
except ImportError:  # pragma: no cover - e.g. Windows, where uvicorn[standard] has no uvloop
    _new_loop = asyncio.new_event_loop

#: The dispatcher's loop wakes at most this often (real seconds) for items falling due on a
#: running clock, and then sends every one that is due: a batch instead of a wake-up per item.
_MIN_WAIT_S = 0.002

_FORM = {"Content-Type": "application/x-www-form-urlencoded"}

#: One queued attempt: (plan, delivery, attempt number, due time in sandbox ms).
_Attempt = tuple["CallbackPlan", Delivery, int, int]


class Dispatcher:
    """Runs timed work (recording ends, callback deliveries) in its own thread and loop.

    Parameters
    ----------
    clock, simulation, faults, timing
        Sandbox time, the seeded decisions, fault injection and retry spacing.
    auth_token
        Signs every callback (``X-Plivo-Signature-V3`` and ``-Ma-V3``).
    on_planned_end
        Called (in the dispatcher thread) with a recording id when its planned end is reached.
    max_concurrency
        Deliveries in flight at once (the workers, and the connections in the pool).
    """

    def __init__(self, *, clock: SandboxClock, simulation: Simulation, faults: Faults,
                 timing: Timing, auth_token: str, on_planned_end: Callable[[str], None],
                 max_concurrency: int = 64) -> None:
        self._clock = clock
        self._sim = simulation
        self._faults = faults
        self._timing = timing
        self._token = auth_token
        self._on_planned_end = on_planned_end
        self._max_concurrency = max_concurrency
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._heap: list[tuple[int, int, str, Any]] = []
        self._seq = itertools.count()
        self._queued_deliveries = 0
        self._in_flight = 0
        self._delivered = 0  # callbacks with an acknowledged delivery (see delivered())
        self._plans: list[CallbackPlan] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopping = False
        self._error: BaseException | None = None
        self._timeouts: dict[tuple[int, int], aiohttp.ClientTimeout] = {}
        clock.subscribe(self._poke)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._thread_main, name="sandbox-dispatcher",
                                        daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the sandbox dispatcher did not start")
        if self._error is not None:
            raise RuntimeError(f"the sandbox dispatcher failed: {self._error!r}")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop; deliveries still queued or in flight are cancelled (the ground truth says
        pending)."""
        self._stopping = True
        self._poke()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _thread_main(self) -> None:
        try:
            with asyncio.Runner(loop_factory=_new_loop) as runner:
                runner.run(self._main())
        except BaseException as exc:  # noqa: BLE001 - reported to start() / ground truth
            self._error = exc
            self._ready.set()

    def _poke(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(wake.set)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = wake = asyncio.Event()
        queue: asyncio.Queue[_Attempt] = asyncio.Queue()
        # no cookies kept between callbacks, no proxy from the environment, no redirects
        # followed (per request): Plivo posts to the URL it was given
        connector = aiohttp.TCPConnector(limit=self._max_concurrency, ttl_dns_cache=60)
        async with aiohttp.ClientSession(connector=connector, trust_env=False,
                                         cookie_jar=aiohttp.DummyCookieJar(),
                                         headers={"User-Agent": _USER_AGENT}) as session:
            workers = [asyncio.create_task(self._worker(session, queue))
                       for _ in range(self._max_concurrency)]
            self._ready.set()
            try:
                while not self._stopping:
                    wake.clear()
                    for kind, payload in self._pop_due():
                        if kind == "end":
                            try:
                                self._on_planned_end(payload)
                            except Exception as exc:  # noqa: BLE001 - keep delivering the rest
                                self._error = exc
                            finally:
                                self._done_with_one()
                        else:
                            queue.put_nowait(payload)
                    wait = self._next_wait()
                    if wait is not None:
                        wait = max(wait, _MIN_WAIT_S)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), wait)
            finally:
                for worker in workers:
                    worker.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
                with self._changed:  # what never left stays pending, and is no longer in flight
                    self._in_flight -= queue.qsize()
                    self._changed.notify_all()

    # -- scheduling (any thread) -----------------------------------------------------------------

    def _push(self, due_ms: int, kind: str, payload: Any) -> None:
        heapq.heappush(self._heap, (due_ms, next(self._seq), kind, payload))

    def schedule_end(self, due_ms: int, recording_id: str) -> None:
        with self._lock:
            self._push(due_ms, "end", recording_id)
        self._poke()

    def add(self, plan: CallbackPlan) -> CallbackPlan:
        """Apply fault injection to a new callback and queue its deliveries."""
        faults, timing, sim = self._faults, self._timing, self._sim
        key = (plan.kind, plan.recording_id)
        if sim.fault("drop", *key) < faults.drop_rate:
            plan.dropped = True
        else:
            due = plan.due_ms
            if sim.fault("delay", *key) < faults.delay_rate:
                plan.delayed_ms = int(sim.fault_rng("delay_s", *key).uniform(*faults.delay_s) * 1000)
                due += plan.delayed_ms
            plan.deliveries.append(Delivery(number=0, due_ms=due))
            if sim.fault("duplicate", *key) < faults.duplicate_rate:
                plan.duplicated = True
                gap = sim.fault_rng("duplicate_gap", *key).uniform(*timing.duplicate_gap_s)
                plan.deliveries.append(Delivery(number=1, due_ms=due + int(gap * 1000)))
        with self._changed:
            self._plans.append(plan)
            for delivery in plan.deliveries:
                self._push(delivery.due_ms, "deliver", (plan, delivery, 0, delivery.due_ms))
                self._queued_deliveries += 1
            if not self._in_flight:  # waiters only care once nothing is in flight (see wait)
                self._changed.notify_all()
        self._poke()
        return plan

    def _pop_due(self) -> list[tuple[str, Any]]:
        now = self._clock.now_ms()
        due: list[tuple[str, Any]] = []
        with self._lock:
            while self._heap and self._heap[0][0] <= now:
                _, _, kind, payload = heapq.heappop(self._heap)
                if kind == "deliver":
                    self._queued_deliveries -= 1
                # a planned end counts as in flight too, until its callbacks are planned:
                # between the two the dispatcher would otherwise look idle with work to come
                self._in_flight += 1
                due.append((kind, payload))
        return due

    def _done_with_one(self) -> None:
        with self._changed:
            self._in_flight -= 1
            if not self._in_flight:
                self._changed.notify_all()

    def _next_wait(self) -> float | None:
        with self._lock:
            if not self._heap:
                return None
            due = self._heap[0][0]
        return self._clock.seconds_until(due)

    # -- delivering ------------------------------------------------------------------------------

    async def _worker(self, session: aiohttp.ClientSession, queue: asyncio.Queue[_Attempt]
                      ) -> None:
        """Take queued attempts in turn, one at a time, until cancelled."""
        while True:
            plan, delivery, attempt, due_ms = await queue.get()
            retry_at: int | None = None
            try:
                retry_at = await self._send(session, plan, delivery, attempt, due_ms)
            except Exception as exc:  # noqa: BLE001 - a bug must not take a worker away
                self._error = exc
                delivery.attempts.append({"attempt": attempt, "error": f"dispatcher: {exc!r}"})
                delivery.outcome = "given_up"
            finally:
                with self._changed:
                    self._in_flight -= 1
                    if retry_at is not None and not self._stopping:
                        self._push(retry_at, "deliver", (plan, delivery, attempt + 1, retry_at))
                        self._queued_deliveries += 1
                    if not self._in_flight:
                        self._changed.notify_all()
            if retry_at is not None and self._wake is not None:
                self._wake.set()  # this loop's own event: the retry may be the next thing due

    def _timeout(self, connect_ms: int, read_ms: int) -> aiohttp.ClientTimeout:
        """The attempt's timeouts (real seconds), cached: most attempts use their URL's own."""
        key = (connect_ms, read_ms)
        timeout = self._timeouts.get(key)
        if timeout is None:
            timeout = self._timeouts[key] = aiohttp.ClientTimeout(
                total=None, connect=None, sock_connect=connect_ms / 1000.0,
                sock_read=read_ms / 1000.0)
        return timeout

    async def _send(self, session: aiohttp.ClientSession, plan: CallbackPlan,
                    delivery: Delivery, attempt: int, due_ms: int) -> int | None:
        """One HTTP attempt; returns when to retry (sandbox ms), or None when done."""
        settings = plan.retry
        nonce = self._sim.nonce(plan.kind, plan.recording_id, delivery.number, attempt)
        now_real = time.monotonic()
        if delivery.first_real is None:
            delivery.first_real = now_real
        # the read timeout never runs past the total time (tt) since the first attempt
        remaining_ms = settings.tt - (now_real - delivery.first_real) * 1000.0
        read_ms = max(1, int(min(settings.rt, remaining_ms)))
        timeout = self._timeout(min(settings.ct, read_ms), read_ms)
        # one token signs both headers (the sandbox's account is its own main account)
        signature = sign_v3(self._token, nonce, plan.method, plan.url, plan.fields)
        headers = {SIGNATURE_HEADER: signature, NONCE_HEADER: nonce,
                   MA_SIGNATURE_HEADER: signature}
        record: dict[str, Any] = {"attempt": attempt, "nonce": nonce,
                                  "sent_ms": self._clock.moment_of(due_ms)}
        condition: str
        request: Coroutine[Any, Any, tuple[int, bytes]]
        if plan.method == "GET":
            request = self._request(session, "GET", _query_target(plan.url, plan.fields),
                                    headers, None, timeout)
        else:
            headers.update(_FORM)
            body = form_encode(plan.fields).encode("ascii")
            request = self._request(session, "POST", _target(plan.url), headers, body, timeout)
        try:
            status, _ = await request
            record["status"] = status
            condition = f"{status // 100}xx"
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError,
                aiohttp.InvalidURL) as exc:  # no connection made: nothing was sent
            record["error"], condition = f"connect: {type(exc).__name__}", "ct"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            # read timeouts, a connection dropped mid-answer, an answer that is not HTTP
            record["error"], condition = f"read: {type(exc).__name__}", "rt"
        delivery.attempts.append(record)
        if condition == "2xx":
            if not any(d.outcome == "delivered" for d in plan.deliveries):
                self._delivered += 1
            delivery.outcome = "delivered"
            return None
        elapsed_ms = (time.monotonic() - delivery.first_real) * 1000.0
        if attempt < settings.rc and settings.retries_on(condition) and elapsed_ms < settings.tt:
            return int(record["sent_ms"] + int(self._timing.retry_delay_s * (attempt + 1) * 1000))
        delivery.outcome = "given_up"
        return None

    @staticmethod
    async def _request(session: aiohttp.ClientSession, method: str, url: URL,
                       headers: dict[str, str], body: bytes | None,
                       timeout: aiohttp.ClientTimeout) -> tuple[int, bytes]:
        """Send; read the whole answer (so its connection goes back to the pool)."""
        async with session.request(method, url, headers=headers, data=body, timeout=timeout,
                                   allow_redirects=False) as response:
            return response.status, await response.read()

    # -- state -----------------------------------------------------------------------------------

    def idle(self) -> bool:
        """No delivery in flight, and none queued that time will reach on its own."""
        with self._lock:
            return self._idle_locked()

    def _idle_locked(self) -> bool:
        if self._in_flight:
            return False
        if not self._queued_deliveries:
            return True
        # a scaled clock reaches every queued delivery; a manual one only those already due
        return not any(kind == "deliver" and self._clock.seconds_until(due) is not None
                       for due, _, kind, _ in self._heap)

    def next_due_ms(self, after: int) -> int | None:
        """The earliest moment after ``after`` with something scheduled (a planned end, a
        delivery or a retry), or None."""
        with self._lock:
            return min((due for due, _, _, _ in self._heap if due > after), default=None)

    def wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Block until ``predicate()``, checked every 50 ms and whenever the last delivery in
        flight ends or a callback is planned with none in flight: the moments the dispatcher
        may have become idle. (Waking the waiter on every delivery would cost the dispatcher
        the time it needs for the deliveries themselves.)"""
        deadline = time.monotonic() + timeout
        while True:
            if predicate():  # outside the lock: it may call back into the dispatcher
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._changed:
                self._changed.wait(min(remaining, 0.05))

    def delivered(self) -> int:
        """Callbacks delivered so far (any delivery acknowledged with a 2xx): what
        :meth:`counts` sums as ``delivered``, without walking every plan."""
        return self._delivered

    @property
    def error(self) -> BaseException | None:
        return self._error

    def plans(self) -> list[CallbackPlan]:
        with self._lock:
            return list(self._plans)

    def counts(self) -> dict[str, dict[str, int]]:
        """Per kind: callbacks planned, dropped, delayed, duplicated; deliveries and attempts."""
        with self._lock:  # copied under the lock, counted outside it: deliveries go on meanwhile
            plans = list(self._plans)
        result = {}
        for kind in CALLBACK_KINDS:
            mine = [p for p in plans if p.kind == kind]
            statuses = Counter(p.status for p in mine)
            outcomes = Counter(d.outcome for p in mine for d in p.deliveries)
            result[kind] = {
                "planned": len(mine),
                "dropped": sum(p.dropped for p in mine),
                "delayed": sum(p.delayed_ms > 0 for p in mine),
                "duplicated": sum(p.duplicated for p in mine),
                "deliveries": sum(len(p.deliveries) for p in mine),
                "attempts": sum(len(d.attempts) for p in mine for d in p.deliveries),
                "deliveries_delivered": outcomes["delivered"],
                "deliveries_given_up": outcomes["given_up"],
                "deliveries_pending": outcomes[None],
                "delivered": statuses["delivered"],
                "given_up": statuses["given_up"],
                "pending": statuses["pending"],
            }
        return result
