"""The callback log: append-only JSON Lines, durable before acknowledged, idempotent.

Layout (``docs/CONTRACTS.md``)::

    {log_dir}/callbacks-{YYYY-MM-DD}-{instance_id}.jsonl        one line per stored callback
    {log_dir}/_rejected/rejected-{YYYY-MM-DD}-{instance_id}.jsonl     requests refused (403, 413)
    {log_dir}/_quarantine/quarantine-{YYYY-MM-DD}-{instance_id}.jsonl  malformed callbacks, raw

The day is the UTC day of ``received_at``. The instance id is unique per writer
(``{hostname}-{pid}-{random4}`` unless given), so several receivers (processes, or hosts sharing a
folder behind a load balancer) never write into the same file; a lock file makes a second writer
with the same id fail at once instead of interleaving lines.

Why each design choice:

- **Durable before acknowledged.** :meth:`CallbackLog.append` returns only after its line was
  written and ``fsync``'d, so a receiver that answers 2xx after it has promised the line survives
  a crash or power loss. Plivo does not redeliver a callback it got a 2xx for.
- **Group commit.** One writer thread owns the files. It takes everything queued, writes it
  with one ``write`` per file and one ``fsync`` per file, then wakes every waiter of that batch.
  While one ``fsync`` runs the next batch fills up, so throughput grows with concurrency instead
  of collapsing to one ``fsync`` per callback. No waiter is woken before its batch is durable.
- **Batched on the event loop.** Async callers (the receiver) do not hand the writer one line
  each: their lines collect on their own event loop, which passes the writer one batch at a
  time and is woken once per batch with all of its answers. Handing lines over one by one made
  the writer thread compete with the event loop for the interpreter lock on every callback;
  that contention, not the disk, was what limited the receiver's throughput.
- **Idempotent.** Plivo retries callbacks, so one callback can arrive twice. A digest of (kind,
  payload) identifies it (the payload holds ``recording_id``); a callback whose digest is already
  on disk is answered as a duplicate and not written again. The digests are rebuilt from the
  existing ``callbacks-*.jsonl`` files at start, so this holds across restarts. A duplicate that
  arrives while its original is still being written waits for that write and reports a
  duplicate only once the original is durable.
- **Torn last line.** A crash (or a full disk) can leave a partial last line. The writer never
  appends onto it: it starts a fresh line after it, so only that line is damaged; the loader
  quarantines it with its reason.

Examples
--------
>>> import tempfile
>>> from recording_toolkit.callbacks import normalise_callback
>>> with tempfile.TemporaryDirectory() as folder, CallbackLog(folder, instance_id="doc") as log:
...     event = normalise_callback({"recording_id": "r1", "recording_duration_ms": "5000"})
...     first, again = log.append(event), log.append(event)
...     (first.stored, again.stored, first.path.name.endswith("-doc.jsonl"))
(True, False, True)
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import queue
import re
import secrets
import socket
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from .callbacks import EVENT_KINDS, CallbackEvent, EventKind, normalise_callback
from .errors import CallbackError, ConfigurationError

__all__ = [
    "AppendResult",
    "CallbackLog",
    "check_instance_id",
    "default_instance_id",
    "encode_envelope",
    "envelope_digest",
    "format_timestamp",
    "log_dir_problem",
]

logger = logging.getLogger(__name__)

#: Sub-folders beside the log (the loader skips folders starting with ``_``).
REJECTED_DIR = "_rejected"
QUARANTINE_DIR = "_quarantine"

_INSTANCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
_MAX_BATCH_ITEMS = 2048
_MAX_BATCH_BYTES = 8 * 1024 * 1024

Category = Literal["callbacks", "rejected", "quarantine"]


def default_instance_id() -> str:
    """``{hostname}-{pid}-{random4}``: unique per process, readable in a file listing."""
    host = re.sub(r"[^A-Za-z0-9-]+", "-", socket.gethostname()).strip("-")[:40] or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(2)}"


def check_instance_id(instance_id: str, name: str = "instance_id") -> str:
    """``instance_id`` when it can go into a file name; else a :class:`ConfigurationError` naming
    ``name`` (the parameter, or the command-line flag)."""
    if not isinstance(instance_id, str) or not _INSTANCE_ID.match(instance_id):
        raise ConfigurationError(
            f"{name}: {instance_id!r} is not usable in a file name (letters, digits, '.', '_' and"
            " '-'; at most 80 characters, starting with a letter or digit)"
        )
    return instance_id


def log_dir_problem(log_dir: str | os.PathLike[str]) -> str | None:
    """Why ``log_dir`` cannot be the log folder, found without creating anything; None when it
    can be (an existing, writable folder, or one that can be created).

    Examples
    --------
    >>> log_dir_problem("/dev/null")
    "'/dev/null' is a file, not a folder"
    >>> log_dir_problem("/dev/null/logs")
    "'/dev/null' is a file, not a folder"
    """
    path = Path(log_dir)
    for sub in (path / REJECTED_DIR, path / QUARANTINE_DIR, path, *path.parents):
        try:
            exists = sub.exists()
        except OSError as exc:  # a name too long, a loop of links...
            return f"{os.fspath(sub)!r}: {exc.strerror or exc}"
        if not exists:
            continue
        if not sub.is_dir():
            return f"{os.fspath(sub)!r} is a file, not a folder"
        if sub.parent == path:
            continue  # an existing _rejected/ or _quarantine/: the folder itself is checked next
        if not os.access(sub, os.W_OK | os.X_OK):
            what = "is not writable" if sub == path else "is not writable, so cannot hold it"
            return f"{os.fspath(sub)!r} {what}"
        return None
    return None


def format_timestamp(moment: datetime) -> str:
    """``2026-11-24T10:15:02.123456Z`` (UTC, microseconds): the log's time format.

    Examples
    --------
    >>> format_timestamp(datetime(2026, 11, 24, 10, 15, 2, tzinfo=UTC))
    '2026-11-24T10:15:02.000000Z'
    """
    # This runs once per callback: plain isoformat() (it ends in "+00:00" once in UTC) is the
    # fastest of the ways to get this text.
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    text = moment.isoformat()[:-6]
    return f"{text}Z" if moment.microsecond else f"{text}.000000Z"


def envelope_digest(kind: str, payload: Mapping[str, str]) -> bytes:
    """The identity of a callback for de-duplication: kind and payload, key order ignored.

    Examples
    --------
    >>> envelope_digest("recording", {"a": "1", "b": "2"}) == envelope_digest(
    ...     "recording", {"b": "2", "a": "1"})
    True
    >>> envelope_digest("recording", {"a": "1"}) == envelope_digest("transcription", {"a": "1"})
    False
    """
    text = _dumps_sorted([kind, payload])
    return hashlib.blake2b(text.encode("ascii"), digest_size=16).digest()


def _reusable_encoder(**options: Any) -> Callable[[Any], str]:
    """``json.JSONEncoder(**options).encode``, with its C encoder built once.

    ``JSONEncoder.encode`` builds a new C encoder on every call, which for a callback's few
    hundred bytes costs as much as the encoding; this module encodes twice per callback (its
    digest and its line). The C encoder is an implementation detail of ``json``, so it is
    used only if it gives exactly what ``encode`` gives; otherwise ``encode`` it is. Without
    circular-reference checks: what is encoded here is text, mappings and lists of text.
    """
    encoder = json.JSONEncoder(separators=(",", ":"), **options)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return encoder.encode
    try:
        quote = (json.encoder.encode_basestring_ascii if encoder.ensure_ascii
                 else json.encoder.encode_basestring)
        built = make(None, encoder.default, quote, None, encoder.key_separator,
                     encoder.item_separator, encoder.sort_keys, encoder.skipkeys,
                     encoder.allow_nan)

        def encode(value: Any) -> str:
            return "".join(built(value, 0))

        sample = ["k", {"b": "\u00e9\"\n", "a": "1", "c": ["x", "\ud800"]}]
        if encode(sample) != encoder.encode(sample):
            return encoder.encode
    except Exception:  # noqa: BLE001 - any doubt: the documented encoder
        return encoder.encode
    return encode


_dumps_sorted = _reusable_encoder(sort_keys=True, ensure_ascii=True)


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


#: Someone waiting for an item: a future, the event loop it belongs to (None for a
#: ``concurrent.futures.Future``), and what it gets once the item is durable.
_Waiter = tuple[Any, "asyncio.AbstractEventLoop | None", Any]


@dataclass(slots=True)
class _Item:
    category: Category
    day: str
    data: bytes
    waiters: list[_Waiter]
    digest: bytes | None = None


#: What the writer reports for a batch: the error of each (category, day) file that failed.
_Failures = dict[tuple[Category, str], OSError]


@dataclass(slots=True)
class _Job:
    """Items for the writer, and what to call (on the writer thread) once they are durable or
    failed. The call must not raise."""

    items: list[_Item]
    done: Callable[[list[_Item], _Failures], None]


_STOP = object()


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
        self.items: list[_Item] = []
        self.busy = False

    def add(self, item: _Item) -> None:
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
        self.log._jobs.put(_Job(items, self._written))

    def _written(self, items: list[_Item], failures: _Failures) -> None:
        """On the writer thread: book the batch, wake this loop once with its answers."""
        outcomes = self.log._book(items, failures)
        mine = [(future, value) for future, loop, value in outcomes if loop is self.loop]
        _settle([waiter for waiter in outcomes if waiter[1] is not self.loop])
        try:
            self.loop.call_soon_threadsafe(self._deliver, mine)
        except RuntimeError:  # the loop is closed: nobody waits there any more
            with self.log._lock:
                if self.log._batches.get(self.loop) is self:
                    del self.log._batches[self.loop]

    def _deliver(self, entries: list[tuple[Any, Any]]) -> None:
        _set_all(entries)
        self.flush()


class _OpenFile:
    """One append-only file the writer thread owns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        existed = path.exists()
        self.fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        if not existed:
            try:
                _fsync_dir(path.parent)  # the new file's name is durable too
            except OSError:
                self.close()
                raise
        self.check_tail = True  # a torn last line may be there (a crash, a failed write)
        self.size: int | None = None  # known end of the file (one writer appends to it)
        self.rollback_to = 0

    def write(self, data: bytes) -> None:
        """Append ``data``, first ending a torn last line so no line is glued onto it."""
        if self.size is None:
            self.size = os.fstat(self.fd).st_size
        if self.check_tail:
            if self.size and os.pread(self.fd, 1, self.size - 1) != b"\n":
                data = b"\n" + data
            self.check_tail = False
        self.rollback_to = self.size
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]
            self.size += written

    def sync(self) -> None:
        os.fsync(self.fd)

    def roll_back(self) -> None:
        """Drop what the failed batch may have left (nobody was told it is stored), best effort.

        Otherwise the sender's retry would be written a second time after it.
        """
        with contextlib.suppress(OSError):
            os.ftruncate(self.fd, self.rollback_to)
            os.fsync(self.fd)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
        self._lock_fd = self._take_instance_lock()
        self._lock = threading.Lock()
        self._index: set[bytes] = set()
        self._pending: dict[bytes, _Item] = {}
        self._paths: dict[tuple[str, str], Path] = {}
        self._counts = {"stored": 0, "duplicates": 0, "rejected": 0, "quarantined": 0,
                        "batches": 0}
        self.index_stats: dict[str, int] = {"files": 0, "lines": 0, "unreadable_lines": 0}
        try:
            self._rebuild_index()
        except BaseException:
            self._release_instance_lock()
            raise
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        # one per event loop with lines in flight; dropped when idle, so no loop is kept alive
        self._batches: dict[asyncio.AbstractEventLoop, _LoopBatch] = {}
        self._files: dict[Category, tuple[str, _OpenFile]] = {}
        self._closed = False
        self._writer = threading.Thread(target=self._run, name=f"callback-log-{self.instance_id}",
                                        daemon=True)
        self._writer.start()

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
                self._jobs.put(_Job(leftovers, self._finish_on_writer))
            self._jobs.put(_STOP)
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
                    for batch in self._batches.values():
                        if batch.items:
                            batch.hand_over()
                return None
            day = moment[:10]
            stored = AppendResult(True, event.kind, recording_id, moment,
                                  self.path_for(day))
            item = _Item("callbacks", day, data, [(future, loop, stored)], digest)
            self._pending[digest] = item
            if loop is None:
                self._jobs.put(_Job([item], self._finish_on_writer))
            else:
                batch = self._batches.get(loop)
                if batch is None:
                    batch = self._batches[loop] = _LoopBatch(self, loop)
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
            item = _Item(category, day, data, [(future, loop, self.path_for(day, category))])
            self._jobs.put(_Job([item], self._finish_on_writer))

    def _run(self) -> None:
        """The writer thread: take every queued job, write and sync them as one batch."""
        stopping = False
        while not stopping:
            job = self._jobs.get()
            if job is _STOP:
                break
            jobs = [job]
            count, size = len(job.items), _size(job)
            while count < _MAX_BATCH_ITEMS and size < _MAX_BATCH_BYTES:
                try:
                    nxt = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stopping = True
                    break
                jobs.append(nxt)
                count += len(nxt.items)
                size += _size(nxt)
            items = [item for job in jobs for item in job.items]
            try:
                failures = self._write(items)
            except BaseException as exc:  # never leave a waiter hanging on a dead writer
                error = OSError(f"callback log writer failed: {exc!r}")
                failures = {(item.category, item.day): error for item in items}
            with self._lock:
                self._counts["batches"] += 1
            for job in jobs:
                try:
                    job.done(job.items, failures)
                except BaseException:  # a waiter's problem must not stop the writer
                    logger.exception("callback log: could not report a batch")
        for _, handle in self._files.values():
            handle.close()
        self._files.clear()

    def _file(self, category: Category, day: str) -> _OpenFile:
        current = self._files.get(category)
        if current is not None and current[0] == day:
            return current[1]
        if current is not None:
            current[1].close()
            del self._files[category]
        handle = _OpenFile(self.path_for(day, category))
        self._files[category] = (day, handle)
        return handle

    def _write(self, items: list[_Item]) -> _Failures:
        """Write a batch, one write and one fsync per file; return the files that failed."""
        groups: dict[tuple[Category, str], list[bytes]] = {}
        for item in items:
            key = (item.category, item.day)
            lines = groups.get(key)
            if lines is None:
                groups[key] = [item.data]
            else:
                lines.append(item.data)
        failures: _Failures = {}
        written: list[tuple[tuple[Category, str], _OpenFile]] = []
        for key, lines in groups.items():
            handle = None
            try:
                handle = self._file(*key)
                handle.write(b"".join(lines))
                written.append((key, handle))
            except OSError as exc:
                failures[key] = exc
                if handle is not None:
                    handle.roll_back()
                self._forget(key[0])
        for key, handle in written:
            try:
                handle.sync()
            except OSError as exc:
                # After a failed fsync the page cache cannot be trusted: reopen next time.
                failures[key] = exc
                handle.roll_back()
                self._forget(key[0])
        return failures

    def _finish_on_writer(self, items: list[_Item], failures: _Failures) -> None:
        _settle(self._book(items, failures))

    def _book(self, items: list[_Item], failures: _Failures) -> list[_Waiter]:
        """Book a written batch (index, counts); return what each of its waiters gets."""
        outcomes: list[_Waiter] = []
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

    def _forget(self, category: Category) -> None:
        current = self._files.pop(category, None)
        if current is not None:
            current[1].close()


def _size(job: _Job) -> int:
    return sum(len(item.data) for item in job.items)


_COUNTERS: dict[str, str] = {"callbacks": "stored", "rejected": "rejected",
                             "quarantine": "quarantined"}


def _settle(outcomes: list[_Waiter]) -> None:
    """Hand each waiter its result (or exception): one wake-up per event loop, not per waiter."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Any, Any]]] = {}
    for future, loop, value in outcomes:
        if loop is None:
            _set(future, value)
        else:
            by_loop.setdefault(loop, []).append((future, value))
    for loop, entries in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a loop already closed has nobody waiting
            loop.call_soon_threadsafe(_set_all, entries)


def _set_all(entries: list[tuple[Any, Any]]) -> None:
    for future, value in entries:
        _set(future, value)


def _set(future: Any, value: Any) -> None:
    if future.done():  # the caller stopped waiting (cancelled); the write stands
        return
    try:
        if isinstance(value, BaseException):
            future.set_exception(value)
        else:
            future.set_result(value)
    except (InvalidStateError, asyncio.InvalidStateError):  # cancelled meanwhile
        pass


_dumps_compact = _reusable_encoder(ensure_ascii=False)


def encode_envelope(kind: str, received_at: str, verified: bool, payload: Mapping[str, str],
                    *, source: str = "callback") -> bytes:
    """One envelope line (``docs/CONTRACTS.md``), payload keys in the order received; ``source``
    is ``callback`` or ``backfill`` (lines recovered from the Recording API)."""
    # kind, received_at and source are known-safe text; only the payload needs a JSON encoder
    text = (f'{{"event":"{kind}","received_at":"{received_at}",'
            f'"verified":{"true" if verified else "false"},"source":"{source}",'
            f'"payload":{_dumps_compact(payload)}}}\n')
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        bad = next((key for key, value in payload.items()
                    if not _encodable(key) or not _encodable(value)), "?")
        raise CallbackError(
            f"field {bad.encode('ascii', 'backslashreplace').decode()!r} is not valid Unicode"
            " text (it holds a lone surrogate); it cannot be stored as UTF-8"
        ) from None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
