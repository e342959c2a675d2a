"""The callback log of one writer: admitting callbacks (duplicates answered at once, lines
batched per event loop), the index of what is on disk, and the log's public surface.

The files are written by the thread in :mod:`._writer`; the lines and file names come from
:mod:`._format`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..callbacks import EVENT_KINDS, CallbackEvent, EventKind, normalise_callback
from ..errors import CallbackError, ConfigurationError
from ..timestamps import format_timestamp
from ._format import (
    QUARANTINE_DIR,
    REJECTED_DIR,
    Category,
    check_instance_id,
    default_instance_id,
    encode_envelope,
    envelope_digest,
    log_dir_problem,
)
from ._writer import Failures, Item, Job, Waiter, Writer, set_all, settle

__all__ = ["AppendResult", "CallbackLog"]


@dataclass(frozen=True)
class AppendResult:
    """What happened to one callback handed to :meth:`CallbackLog.append`.

    ``stored`` is False for a duplicate (already on disk, not written again); ``path`` is the file
    the new line went to (None for a duplicate); ``received_at`` is the time stamped on the line.
    """

    stored: bool
    event: EventKind
    recording_id: str
    received_at: str
    path: Path | None = None

    @property
    def duplicate(self) -> bool:
        return not self.stored


class _LoopBatch:
    """The lines of one event loop's callers, handed to the writer one batch at a time.

    The first line of an idle loop schedules a flush with ``call_soon``, so every request the
    loop is processing in this iteration joins the batch. While the writer has the batch, new
    lines collect here; once the batch is durable the writer books it and passes the loop its
    answers in one ``call_soon_threadsafe`` (one wake-up per batch), and the loop then flushes
    what collected meanwhile. ``items`` and ``busy`` are guarded by the log's lock (``close``
    and blocking callers may take the items from any thread).
    """

    __slots__ = ("busy", "items", "log", "loop")

    def __init__(self, log: CallbackLog, loop: asyncio.AbstractEventLoop) -> None:
        self.log = log
        self.loop = loop
        self.items: list[Item] = []
        self.busy = False

    def add(self, item: Item) -> None:
        """Called with the log's lock held, on this loop's thread."""
        self.items.append(item)
        if not self.busy:
            self.busy = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        with self.log._lock:
            if self.items:
                self.hand_over()
            else:
                self.busy = False
                if self.log._batches.get(self.loop) is self:
                    del self.log._batches[self.loop]

    def hand_over(self) -> None:
        """Give the collected lines to the writer; called with the log's lock held (so never
        after ``close`` has queued the writer's stop)."""
        items, self.items = self.items, []
        self.log._writer.put(Job(items, self._written))

    def _written(self, items: list[Item], failures: Failures) -> None:
        """On the writer thread: book the batch, wake this loop once with its answers."""
        outcomes = self.log._book(items, failures)
        mine = [(future, value) for future, loop, value in outcomes if loop is self.loop]
        settle([waiter for waiter in outcomes if waiter[1] is not self.loop])
        try:
            self.loop.call_soon_threadsafe(self._deliver, mine)
        except RuntimeError:  # the loop is closed: nobody waits there any more
            with self.log._lock:
                if self.log._batches.get(self.loop) is self:
                    del self.log._batches[self.loop]

    def _deliver(self, entries: list[tuple[Any, Any]]) -> None:
        set_all(entries)
        self.flush()


class CallbackLog:
    """The append-only callback log of one writer, usable from sync and async code.

    Parameters
    ----------
    log_dir
        The log folder; created when missing. Several writers may share it.
    instance_id
        Goes into every file name; default :func:`default_instance_id`. Two open logs with the
        same id on one folder are refused (:class:`ConfigurationError`). Reusing an id after a
        crash continues its files, starting a fresh line after a torn one.
    clock
        Returns the current time (UTC); injectable for tests.

    Methods block (``append``, ``reject``, ``quarantine``) or are awaited (``*_async``) until
    the line is durable. Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, log_dir: str | os.PathLike[str], *, instance_id: str | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.log_dir = Path(log_dir)
        self.instance_id = check_instance_id(
            default_instance_id() if instance_id is None else instance_id)
        self._clock = clock or (lambda: datetime.now(UTC))
        try:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            (self.log_dir / REJECTED_DIR).mkdir(exist_ok=True)
            (self.log_dir / QUARANTINE_DIR).mkdir(exist_ok=True)
        except OSError as exc:
            reason = log_dir_problem(self.log_dir) or (
                f"{os.fspath(self.log_dir)!r}: {exc.strerror or exc}")
            raise ConfigurationError(f"log_dir: {reason}") from None
        self._lock_fd: int | None = self._take_instance_lock()
        self._lock = threading.Lock()
        self._index: set[bytes] = set()
        self._pending: dict[bytes, Item] = {}
        self._paths: dict[tuple[str, str], Path] = {}
        self._counts = {"stored": 0, "duplicates": 0, "rejected": 0, "quarantined": 0,
                        "batches": 0}
        self.index_stats: dict[str, int] = {"files": 0, "lines": 0, "unreadable_lines": 0}
        try:
            self._rebuild_index()
        except BaseException:
            self._release_instance_lock()
            raise
        # one per event loop with lines in flight; dropped when idle, so no loop is kept alive
        self._batches: dict[asyncio.AbstractEventLoop, _LoopBatch] = {}
        self._closed = False
        self._writer = Writer(self.path_for, name=f"callback-log-{self.instance_id}",
                              on_batch=self._count_batch)

    # -- setup -------------------------------------------------------------------------------

    def _take_instance_lock(self) -> int:
        fd = os.open(self._lock_path(), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ConfigurationError(
                f"instance_id {self.instance_id!r} is already writing to"
                f" {os.fspath(self.log_dir)!r}; give each writer its own instance id"
            ) from None
        return fd

    def _release_instance_lock(self) -> None:
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                self._lock_path().unlink()  # still held: nobody else can own it meanwhile
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)
            self._lock_fd = None

    def _lock_path(self) -> Path:
        return self.log_dir / f".callbacks-{self.instance_id}.lock"

    def _rebuild_index(self) -> None:
        """Digests of every callback already in the folder's callback files (any instance)."""
        for path in sorted(self.log_dir.glob("callbacks-*.jsonl")):
            self.index_stats["files"] += 1
            with open(path, "rb") as fh:
                for raw in fh:
                    if not raw.strip():
                        continue
                    self.index_stats["lines"] += 1
                    try:
                        record = json.loads(raw)
                        kind, payload = record["event"], record["payload"]
                        if not isinstance(kind, str) or not isinstance(payload, dict):
                            raise TypeError
                    except (ValueError, KeyError, TypeError):
                        # torn or foreign line: the loader quarantines it
                        self.index_stats["unreadable_lines"] += 1
                        continue
                    self._index.add(envelope_digest(kind, payload))

    # -- the public surface ---------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def counts(self) -> dict[str, int]:
        """Lines stored, duplicates skipped, rejected and quarantined records, fsync batches."""
        with self._lock:
            return dict(self._counts)

    def __len__(self) -> int:
        """Number of distinct callbacks known: on disk at start plus stored since."""
        with self._lock:
            return len(self._index)

    def path_for(self, day: str, category: Category = "callbacks") -> Path:
        """The file this writer uses for a UTC day (``YYYY-MM-DD``)."""
        key = (day, category)
        path = self._paths.get(key)
        if path is None:  # built once per day: pathlib is slow on the hot path
            if category == "callbacks":
                path = self.log_dir / f"callbacks-{day}-{self.instance_id}.jsonl"
            elif category == "rejected":
                path = self.log_dir / REJECTED_DIR / f"rejected-{day}-{self.instance_id}.jsonl"
            else:
                path = self.log_dir / QUARANTINE_DIR / f"quarantine-{day}-{self.instance_id}.jsonl"
            if len(self._paths) > 64:
                self._paths.clear()
            self._paths[key] = path
        return path

    def files(self) -> list[Path]:
        """This writer's callback files, oldest day first."""
        return sorted(self.log_dir.glob(f"callbacks-*-{self.instance_id}.jsonl"))

    def contains(self, event: CallbackEvent) -> bool:
        """True when this callback is already durable in the log (it would be a duplicate)."""
        with self._lock:
            return envelope_digest(event.kind, event.payload) in self._index

    def submit(self, event: CallbackEvent | Mapping[str, Any], *, verified: bool = True
               ) -> Future[AppendResult]:
        """Queue one callback; the future resolves once its line is durable (or it is a duplicate).

        A mapping is normalised first (:func:`~recording_toolkit.callbacks.normalise_callback`).
        Raises :class:`CallbackError` at once for a payload that cannot be stored as UTF-8 JSON.
        The future's exception is an :class:`OSError` when the disk write failed: the callback
        was not stored and must not be acknowledged. Once submitted the line is written even if
        the caller stops waiting (cancels the future); a redelivery is then a duplicate.
        """
        future: Future[AppendResult] = Future()
        immediate = self._admit(event, verified, future, None)
        if immediate is not None:
            future.set_result(immediate)
        return future

    def append(self, event: CallbackEvent | Mapping[str, Any], *, verified: bool = True,
               timeout: float | None = None) -> AppendResult:
        """Store one callback and return once it is on disk (see :meth:`submit`)."""
        return self.submit(event, verified=verified).result(timeout)

    async def append_async(self, event: CallbackEvent | Mapping[str, Any], *,
                           verified: bool = True) -> AppendResult:
        """:meth:`append` for async code: the event loop keeps serving while the batch syncs.

        The writer wakes each event loop once per batch, not once per callback. A cancelled
        caller (a client that hung up) does not cancel the write: the line is still stored, and
        a redelivery is then recognised as a duplicate.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[AppendResult] = loop.create_future()
        immediate = self._admit(event, verified, future, loop)
        if immediate is not None:
            return immediate
        return await future

    def reject(self, record: Mapping[str, Any]) -> Path:
        """Append a refused request's record to ``_rejected/``; return the file once durable."""
        future: Future[Path] = Future()
        self._submit_record("rejected", record, future, None)
        return future.result()

    async def reject_async(self, record: Mapping[str, Any]) -> Path:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Path] = loop.create_future()
        self._submit_record("rejected", record, future, loop)
        return await future

    def quarantine(self, record: Mapping[str, Any]) -> Path:
        """Append a malformed callback (raw request and reason) to ``_quarantine/``."""
        future: Future[Path] = Future()
        self._submit_record("quarantine", record, future, None)
        return future.result()

    async def quarantine_async(self, record: Mapping[str, Any]) -> Path:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Path] = loop.create_future()
        self._submit_record("quarantine", record, future, loop)
        return await future

    def close(self, timeout: float | None = 30.0) -> None:
        """Write what is queued, stop the writer thread and close the files. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            # lines still collecting on an event loop (one that stopped, say) are written too
            leftovers = [item for batch in self._batches.values() for item in batch.items]
            for batch in self._batches.values():
                batch.items = []
            if leftovers:
                self._writer.put(Job(leftovers, self._finish_on_writer))
            self._writer.stop()
        self._writer.join(timeout)
        self._release_instance_lock()

    def __enter__(self) -> CallbackLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (f"<CallbackLog {os.fspath(self.log_dir)!r} instance={self.instance_id!r} {state}"
                f" known={len(self._index)}>")

    # -- internals ------------------------------------------------------------------------------

    def _ensure_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"{self!r} is closed; open a new CallbackLog to write")

    def _admit(self, event: CallbackEvent | Mapping[str, Any], verified: bool, future: Any,
               loop: asyncio.AbstractEventLoop | None) -> AppendResult | None:
        """Queue a callback for ``future``; return the answer at once for a known duplicate."""
        if not isinstance(event, CallbackEvent):
            event = normalise_callback(event)
        if event.kind not in EVENT_KINDS:
            raise CallbackError(f"unknown event kind {event.kind!r}; expected one of {EVENT_KINDS}")
        moment = format_timestamp(self._clock())
        digest = envelope_digest(event.kind, event.payload)
        data = encode_envelope(event.kind, moment, bool(verified), event.payload)
        recording_id = event.payload.get("recording_id", "")
        with self._lock:
            self._ensure_open()
            if digest in self._index:
                self._counts["duplicates"] += 1
                return AppendResult(False, event.kind, recording_id, moment)
            original = self._pending.get(digest)
            if original is not None:
                # The same callback is being written right now: answer once it is durable.
                self._counts["duplicates"] += 1
                original.waiters.append(
                    (future, loop, AppendResult(False, event.kind, recording_id, moment)))
                if loop is None:
                    # A blocking caller may be the thread of the loop whose lines these are;
                    # that loop cannot flush them while it waits, so hand them over now.
                    for collecting in self._batches.values():
                        if collecting.items:
                            collecting.hand_over()
                return None
            day = moment[:10]
            stored = AppendResult(True, event.kind, recording_id, moment,
                                  self.path_for(day))
            item = Item("callbacks", day, data, [(future, loop, stored)], digest)
            self._pending[digest] = item
            if loop is None:
                self._writer.put(Job([item], self._finish_on_writer))
            else:
                batch = self._batches.get(loop)
                if batch is None:
                    batch = _LoopBatch(self, loop)
                    self._batches[loop] = batch
                batch.add(item)
        return None

    def _submit_record(self, category: Category, record: Mapping[str, Any], future: Any,
                       loop: asyncio.AbstractEventLoop | None) -> None:
        moment = format_timestamp(self._clock())
        body: dict[str, Any] = {"time": moment}
        body.update((key, value) for key, value in record.items() if key != "time")
        # ASCII-only JSON: a record may quote undecodable input, and must still be writable
        data = (json.dumps(body, ensure_ascii=True, default=str) + "\n").encode("ascii")
        day = moment[:10]
        with self._lock:
            self._ensure_open()
            item = Item(category, day, data, [(future, loop, self.path_for(day, category))])
            self._writer.put(Job([item], self._finish_on_writer))

    def _count_batch(self) -> None:
        """Called by the writer after each batch (the ``batches`` count)."""
        with self._lock:
            self._counts["batches"] += 1

    def _finish_on_writer(self, items: list[Item], failures: Failures) -> None:
        settle(self._book(items, failures))

    def _book(self, items: list[Item], failures: Failures) -> list[Waiter]:
        """Book a written batch (index, counts); return what each of its waiters gets."""
        outcomes: list[Waiter] = []
        with self._lock:  # after this, a redelivery sees the index instead of the pending item
            for item in items:
                error = failures.get((item.category, item.day)) if failures else None
                if item.digest is not None:
                    self._pending.pop(item.digest, None)
                    if error is None:
                        self._index.add(item.digest)
                if error is None:
                    self._counts[_COUNTERS[item.category]] += 1
                    outcomes.extend(item.waiters)
                else:  # not stored: every waiter must hear so (the sender retries)
                    outcomes.extend((future, loop, error) for future, loop, _ in item.waiters)
        return outcomes


_COUNTERS: dict[str, str] = {"callbacks": "stored", "rejected": "rejected",
                             "quarantine": "quarantined"}


