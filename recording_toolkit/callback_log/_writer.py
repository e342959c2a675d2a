"""The callback log's writer thread: group commit, one ``write`` and one ``fsync`` per file per
batch, and waking whoever waits for a line only once it is durable.

One thread owns the files. It takes everything queued, writes it with one ``write`` per file
and one ``fsync`` per file (and one of its folder when the file is new), then reports the batch
(to :class:`~._log.CallbackLog`, which wakes the waiters). A file replaced during a batch (the
day before, at midnight) is closed only after its ``fsync``. While one ``fsync`` runs the
next batch fills up, so throughput grows with concurrency instead of collapsing to one
``fsync`` per callback. A file whose write or ``fsync`` failed is rolled back to where the
batch began and reopened next time, and every waiter of its lines (and only of its lines)
hears of the failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import InvalidStateError
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._format import Category

__all__ = ["Failures", "Item", "Job", "Waiter", "Writer", "set_all", "settle"]

logger = logging.getLogger("recording_toolkit.callback_log")

_MAX_BATCH_ITEMS = 2048
_MAX_BATCH_BYTES = 8 * 1024 * 1024

#: Someone waiting for an item: a future, the event loop it belongs to (None for a
#: ``concurrent.futures.Future``), and what it gets once the item is durable.
Waiter = tuple[Any, "asyncio.AbstractEventLoop | None", Any]


@dataclass(slots=True)
class Item:
    """One line for the writer: its file (category and UTC day), its bytes, who waits for it,
    and, for a callback line, its digest (None for a rejected or quarantined record)."""

    category: Category
    day: str
    data: bytes
    waiters: list[Waiter]
    digest: bytes | None = None


#: What the writer reports for a batch: the error of each (category, day) file that failed.
Failures = dict[tuple[Category, str], OSError]


@dataclass(slots=True)
class Job:
    """Items for the writer, and what to call (on the writer thread) once they are durable or
    failed. The call must not raise."""

    items: list[Item]
    done: Callable[[list[Item], Failures], None]


class _OpenFile:
    """One append-only file the writer thread owns.

    ``created`` is True when this open made the file: its name is durable only once its
    folder has been synced too (the writer does that before acknowledging its lines).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        try:
            self.fd = os.open(path, flags | os.O_EXCL, 0o644)
            self.created = True
        except FileExistsError:
            self.fd = os.open(path, flags, 0o644)
            self.created = False
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
        """Close once: a second ``os.close`` could close a descriptor reused by another file."""
        fd, self.fd = self.fd, -1
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Writer:
    """The thread that owns a log's files and writes its batches.

    ``path_for(day, category)`` names the file for a UTC day; ``on_batch()`` is called (on the
    thread) after each batch, before its jobs hear how it went. Jobs queued before
    :meth:`stop` are still written.
    """

    def __init__(self, path_for: Callable[[str, Category], Path], *, name: str,
                 on_batch: Callable[[], None]) -> None:
        self._path_for = path_for
        self._on_batch = on_batch
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()  # None: stop
        self._files: dict[Category, tuple[str, _OpenFile]] = {}
        self._unnamed: set[Path] = set()  # files created whose folder has not been synced yet
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, job: Job) -> None:
        """Queue ``job``; its ``done`` is called on the thread once it is durable or failed."""
        self._jobs.put(job)

    def stop(self) -> None:
        """Finish what is queued, then close the files and end the thread."""
        self._jobs.put(None)

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        """The thread: take every queued job, write and sync them as one batch."""
        stopping = False
        while not stopping:
            job = self._jobs.get()
            if job is None:
                break
            jobs = [job]
            count, size = len(job.items), _size(job)
            while count < _MAX_BATCH_ITEMS and size < _MAX_BATCH_BYTES:
                try:
                    nxt = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
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
            self._on_batch()
            for job in jobs:
                try:
                    job.done(job.items, failures)
                except BaseException:  # a waiter's problem must not stop the writer
                    logger.exception("callback log: could not report a batch")
        for _, handle in self._files.values():
            handle.close()
        self._files.clear()

    def _file(self, category: Category, day: str, retired: list[_OpenFile]) -> _OpenFile:
        """The open file for ``(category, day)``.

        A file this replaces (the day before, at midnight) goes to ``retired`` and stays open:
        the batch may have written to it, and it is closed only after the batch's ``fsync``.
        A day older than the current one (a late line) gets a handle for this batch only.
        """
        current = self._files.get(category)
        if current is not None and current[0] == day:
            return current[1]
        handle = _OpenFile(self._path_for(day, category))
        if handle.created:
            self._unnamed.add(handle.path)
        if current is not None and day < current[0]:
            retired.append(handle)
        else:
            if current is not None:
                retired.append(current[1])
            self._files[category] = (day, handle)
        return handle

    def _write(self, items: list[Item]) -> Failures:
        """Write a batch, one write and one fsync per file; return the files that failed.

        Every file the batch wrote is synced before it is closed, and a new file's folder is
        synced before its lines count as durable; a file that failed fails only its own lines.
        """
        groups: dict[tuple[Category, str], list[bytes]] = {}
        for item in items:
            key = (item.category, item.day)
            lines = groups.get(key)
            if lines is None:
                groups[key] = [item.data]
            else:
                lines.append(item.data)
        failures: Failures = {}
        written: list[tuple[tuple[Category, str], _OpenFile]] = []
        retired: list[_OpenFile] = []  # replaced during this batch: closed once it is synced
        try:
            for key, lines in groups.items():
                handle = None
                try:
                    handle = self._file(*key, retired)
                    handle.write(b"".join(lines))
                    written.append((key, handle))
                except OSError as exc:
                    failures[key] = exc
                    if handle is not None:
                        self._fail(key[0], handle)
            synced: list[tuple[tuple[Category, str], _OpenFile]] = []
            for key, handle in written:
                try:
                    handle.sync()
                    synced.append((key, handle))
                except OSError as exc:
                    failures[key] = exc
                    self._fail(key[0], handle)
            self._sync_names(synced, failures)
        finally:
            for handle in retired:
                handle.close()
        return failures

    def _sync_names(self, synced: list[tuple[tuple[Category, str], _OpenFile]],
                    failures: Failures) -> None:
        """Sync the folder of each file created and not yet named durably, once per folder.

        A file whose folder sync failed fails its lines and stays in ``_unnamed``, so the
        retry syncs the folder again even though the file now exists.
        """
        folders: dict[Path, list[tuple[tuple[Category, str], _OpenFile]]] = {}
        for key, handle in synced:
            if handle.path in self._unnamed:
                folders.setdefault(handle.path.parent, []).append((key, handle))
        for folder, entries in folders.items():
            try:
                _fsync_dir(folder)
            except OSError as exc:
                for key, handle in entries:
                    failures[key] = exc
                    self._fail(key[0], handle)
            else:
                self._unnamed.difference_update(handle.path for _, handle in entries)

    def _fail(self, category: Category, handle: _OpenFile) -> None:
        """Roll back a file whose write or sync failed and close it; it is reopened next time
        (after a failed ``fsync`` its page cache cannot be trusted). Only this file is closed:
        the batch's other files still need their ``fsync``."""
        handle.roll_back()
        current = self._files.get(category)
        if current is not None and current[1] is handle:
            del self._files[category]
        handle.close()


def _size(job: Job) -> int:
    return sum(len(item.data) for item in job.items)


def settle(outcomes: list[Waiter]) -> None:
    """Hand each waiter its result (or exception): one wake-up per event loop, not per waiter."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Any, Any]]] = {}
    for future, loop, value in outcomes:
        if loop is None:
            _set(future, value)
        else:
            by_loop.setdefault(loop, []).append((future, value))
    for loop, entries in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a loop already closed has nobody waiting
            loop.call_soon_threadsafe(set_all, entries)


def set_all(entries: list[tuple[Any, Any]]) -> None:
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


