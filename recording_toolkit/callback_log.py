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
- **Group commit.** One writer thread owns the files. Requests enqueue their line and wait; the
  writer takes everything queued, writes it with one ``write`` per file and one ``fsync`` per
  file, then wakes every waiter of that batch. While one ``fsync`` runs the next batch fills up,
  so throughput grows with concurrency instead of collapsing to one ``fsync`` per callback. No
  waiter is woken before its batch is durable.
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
import os
import queue
import re
import secrets
import socket
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from .callbacks import CallbackEvent, EventKind, normalise_callback
from .errors import CallbackError, ConfigurationError

__all__ = [
    "AppendResult",
    "CallbackLog",
    "default_instance_id",
    "envelope_digest",
    "format_timestamp",
]

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


def format_timestamp(moment: datetime) -> str:
    """``2026-11-24T10:15:02.123456Z`` (UTC, microseconds): the log's time format."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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
    text = json.dumps([kind, payload], sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode("ascii"), digest_size=16).digest()


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


@dataclass
class _Item:
    category: Category
    day: str
    data: bytes
    future: Future[Any]
    result: Any
    digest: bytes | None = None


_STOP = object()


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
        self.instance_id = default_instance_id() if instance_id is None else instance_id
        if not _INSTANCE_ID.match(self.instance_id):
            raise ConfigurationError(
                f"instance_id: {self.instance_id!r} is not usable in a file name (letters, digits,"
                " '.', '_' and '-'; at most 80 characters, starting with a letter or digit)"
            )
        self._clock = clock or (lambda: datetime.now(UTC))
        try:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            (self.log_dir / REJECTED_DIR).mkdir(exist_ok=True)
            (self.log_dir / QUARANTINE_DIR).mkdir(exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(f"log_dir {os.fspath(self.log_dir)!r}: {exc}") from exc
        self._lock_fd = self._take_instance_lock()
        self._lock = threading.Lock()
        self._index: set[bytes] = set()
        self._pending: dict[bytes, Future[AppendResult]] = {}
        self._counts = {"stored": 0, "duplicates": 0, "rejected": 0, "quarantined": 0,
                        "batches": 0}
        self.index_stats: dict[str, int] = {"files": 0, "lines": 0, "unreadable_lines": 0}
        try:
            self._rebuild_index()
        except BaseException:
            self._release_instance_lock()
            raise
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
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
        if category == "callbacks":
            return self.log_dir / f"callbacks-{day}-{self.instance_id}.jsonl"
        if category == "rejected":
            return self.log_dir / REJECTED_DIR / f"rejected-{day}-{self.instance_id}.jsonl"
        return self.log_dir / QUARANTINE_DIR / f"quarantine-{day}-{self.instance_id}.jsonl"

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
        was not stored and must not be acknowledged.
        """
        if not isinstance(event, CallbackEvent):
            event = normalise_callback(event)
        moment = format_timestamp(self._clock())
        digest = envelope_digest(event.kind, event.payload)
        envelope = {"event": event.kind, "received_at": moment, "verified": bool(verified),
                    "source": "callback", "payload": event.payload}
        data = _encode_line(envelope)
        future: Future[AppendResult] = Future()
        duplicate = AppendResult(stored=False, event=event.kind,
                                 recording_id=event.payload.get("recording_id", ""),
                                 received_at=moment)
        with self._lock:
            self._ensure_open()
            if digest in self._index:
                self._counts["duplicates"] += 1
                future.set_result(duplicate)
                return future
            original = self._pending.get(digest)
            if original is not None:
                self._counts["duplicates"] += 1
                original.add_done_callback(lambda done: _chain_duplicate(done, future, duplicate))
                return future
            self._pending[digest] = future
            day = moment[:10]
            stored = AppendResult(stored=True, event=event.kind,
                                  recording_id=duplicate.recording_id, received_at=moment,
                                  path=self.path_for(day))
            self._queue.put(_Item("callbacks", day, data, future, stored, digest))
        return future

    def append(self, event: CallbackEvent | Mapping[str, Any], *, verified: bool = True,
               timeout: float | None = None) -> AppendResult:
        """Store one callback and return once it is on disk (see :meth:`submit`)."""
        return self.submit(event, verified=verified).result(timeout)

    async def append_async(self, event: CallbackEvent | Mapping[str, Any], *,
                           verified: bool = True) -> AppendResult:
        """:meth:`append` for async code: the event loop keeps serving while the batch syncs.

        A cancelled caller (a client that hung up) does not cancel the write: the line is still
        stored, and a redelivery is then recognised as a duplicate.
        """
        return await asyncio.shield(asyncio.wrap_future(self.submit(event, verified=verified)))

    def reject(self, record: Mapping[str, Any]) -> Path:
        """Append a refused request's record to ``_rejected/``; return the file once durable."""
        return self._submit_record("rejected", record).result()

    async def reject_async(self, record: Mapping[str, Any]) -> Path:
        return await asyncio.shield(asyncio.wrap_future(self._submit_record("rejected", record)))

    def quarantine(self, record: Mapping[str, Any]) -> Path:
        """Append a malformed callback (raw request and reason) to ``_quarantine/``."""
        return self._submit_record("quarantine", record).result()

    async def quarantine_async(self, record: Mapping[str, Any]) -> Path:
        return await asyncio.shield(asyncio.wrap_future(self._submit_record("quarantine",
                                                                             record)))

    def close(self, timeout: float | None = 30.0) -> None:
        """Write what is queued, stop the writer thread and close the files. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
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

    def _submit_record(self, category: Category, record: Mapping[str, Any]) -> Future[Path]:
        moment = format_timestamp(self._clock())
        body: dict[str, Any] = {"time": moment}
        body.update((key, value) for key, value in record.items() if key != "time")
        # ASCII-only JSON: a record may quote undecodable input, and must still be writable
        data = (json.dumps(body, ensure_ascii=True, default=str) + "\n").encode("ascii")
        future: Future[Path] = Future()
        day = moment[:10]
        with self._lock:
            self._ensure_open()
            self._queue.put(_Item(category, day, data, future, self.path_for(day, category)))
        return future

    def _run(self) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is _STOP:
                break
            batch = [item]
            size = len(item.data)
            while len(batch) < _MAX_BATCH_ITEMS and size < _MAX_BATCH_BYTES:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stopping = True
                    break
                batch.append(nxt)
                size += len(nxt.data)
            try:
                self._commit(batch)
            except BaseException as exc:  # never leave a waiter hanging on a dead writer
                with self._lock:
                    for item in batch:
                        if item.digest is not None:
                            self._pending.pop(item.digest, None)
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(OSError(f"callback log writer failed: {exc!r}"))
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

    def _commit(self, batch: list[_Item]) -> None:
        """Write a batch, one write and one fsync per file, then wake its waiters."""
        groups: dict[tuple[Category, str], list[_Item]] = {}
        for item in batch:
            if item.future.set_running_or_notify_cancel():
                groups.setdefault((item.category, item.day), []).append(item)
            elif item.digest is not None:
                with self._lock:
                    self._pending.pop(item.digest, None)
        failures: dict[tuple[Category, str], BaseException] = {}
        written: list[tuple[tuple[Category, str], _OpenFile]] = []
        for key, items in groups.items():
            handle = None
            try:
                handle = self._file(*key)
                handle.write(b"".join(item.data for item in items))
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
        with self._lock:
            self._counts["batches"] += 1
            for key, items in groups.items():
                ok = key not in failures
                for item in items:
                    if item.digest is not None:
                        self._pending.pop(item.digest, None)
                        if ok:
                            self._index.add(item.digest)
                    if ok:
                        counter = {"callbacks": "stored", "rejected": "rejected",
                                   "quarantine": "quarantined"}[item.category]
                        self._counts[counter] += 1
        for key, items in groups.items():
            error = failures.get(key)
            for item in items:
                if error is None:
                    item.future.set_result(item.result)
                else:
                    item.future.set_exception(error)

    def _forget(self, category: Category) -> None:
        current = self._files.pop(category, None)
        if current is not None:
            current[1].close()


def _chain_duplicate(original: Future[AppendResult], future: Future[AppendResult],
                     duplicate: AppendResult) -> None:
    """Resolve a duplicate that arrived while its original was being written."""
    if original.cancelled():
        future.set_exception(OSError("the original write of this callback was cancelled"))
    elif original.exception() is not None:
        future.set_exception(original.exception())  # not stored: the sender must retry
    else:
        future.set_result(duplicate)


def _encode_line(envelope: Mapping[str, Any]) -> bytes:
    text = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
    try:
        return (text + "\n").encode("utf-8")
    except UnicodeEncodeError:
        payload = envelope.get("payload", {})
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
