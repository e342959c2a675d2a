"""The request journal: one JSON line per start, stop or delete call, after its retries.

It is the client's own record of what it asked Plivo to do, so that recordings whose callbacks
never came can be found later (reconciliation joins it with the callback log by ``api_id`` and
``recording_id``). The line format is fixed by ``docs/CONTRACTS.md``::

    {"time": "2026-11-24T10:15:02.123456Z", "action": "start", "conference_name": "weekly sync",
     "options": {"file_format": "mp3", "transcription_type": null, "transcription_url": null,
                 "callback_url": null, "callback_method": "POST"},
     "ok": true, "status": 202, "api_id": "...", "recording_id": "...", "error_type": null,
     "error": null, "may_have_started": false, "attempts": 1, "latency_ms": 41.7}

Never a token or an Authorization header: the journal only ever sees the request options (with any
password in a callback URL masked) and the outcome. Appends are thread-safe and each line is
written with a single ``write`` on a file opened for appending, so lines from several clients or
processes never interleave.

A delete line (``"action": "delete"``) names the ``recording_id`` and has a null
``conference_name`` and null options; ``ok`` with ``status`` 404 means it was already deleted. Lines are handed to the OS at once (a crash of the Python process
loses nothing); the file is fsync'd on :meth:`RequestJournal.close`.

Examples
--------
>>> import json, tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "journal.jsonl")
>>> with RequestJournal(path) as journal:
...     journal.append(journal_record(action="stop", conference_name="weekly sync", ok=True,
...                                   status=204, attempts=1, latency_ms=12.5,
...                                   time="2026-11-24T10:15:02.000000Z"))
>>> with open(path) as fh:
...     json.loads(fh.readline())["status"]
204
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigurationError
from .timestamps import format_timestamp

__all__ = ["JOURNAL_OPTION_KEYS", "RequestJournal", "format_time", "journal_record",
           "unwritable_journal"]

#: The keys of a line's ``options`` object, in order (all present; null when not given).
JOURNAL_OPTION_KEYS = ("file_format", "transcription_type", "transcription_url", "callback_url",
                       "callback_method")


#: The journal's time format; the same function as
#: :func:`recording_toolkit.timestamps.format_timestamp` (the one format of the toolkit's files).
format_time = format_timestamp


def journal_record(*, action: str, conference_name: str | None, ok: bool, time: str,
                   options: Mapping[str, Any] | None = None, status: int | None = None,
                   api_id: str | None = None, recording_id: str | None = None,
                   error_type: str | None = None, error: str | None = None,
                   may_have_started: bool = False, attempts: int = 0,
                   latency_ms: float | None = None) -> dict[str, Any]:
    """One journal line as a dict, with exactly the contract's keys in the contract's order.

    ``options`` keys outside :data:`JOURNAL_OPTION_KEYS` are an error (the journal must not become
    a place where anything, a secret included, can be dropped in by accident).
    """
    given = dict(options or {})
    unknown = sorted(set(given) - set(JOURNAL_OPTION_KEYS))
    if unknown:
        raise ValueError(f"journal options: unknown key(s) {unknown}; known: {list(JOURNAL_OPTION_KEYS)}")
    return {
        "time": time,
        "action": action,
        "conference_name": conference_name,
        "options": {key: given.get(key) for key in JOURNAL_OPTION_KEYS},
        "ok": bool(ok),
        "status": status,
        "api_id": api_id,
        "recording_id": recording_id,
        "error_type": error_type,
        "error": error,
        "may_have_started": bool(may_have_started),
        "attempts": int(attempts),
        "latency_ms": None if latency_ms is None else round(float(latency_ms), 3),
    }


def unwritable_journal(option: str, path: str | os.PathLike[str], exc: Exception) -> str:
    """The one-line reason a journal path cannot be written, naming ``option`` and the path.

    >>> unwritable_journal("--journal", "/tmp", IsADirectoryError(21, "Is a directory"))
    "--journal: '/tmp' is a folder; give a file path in it, e.g. '/tmp/journal.jsonl'"
    """
    shown = os.fspath(path)
    if isinstance(exc, IsADirectoryError) or (shown and os.path.isdir(shown)):
        example = os.path.join(shown, "journal.jsonl")
        return f"{option}: {shown!r} is a folder; give a file path in it, e.g. {example!r}"
    if isinstance(exc, FileExistsError | NotADirectoryError):
        for parent in Path(shown).parents:  # mkdir met a file where a folder should be
            if parent.exists() and not parent.is_dir():
                return (f"{option}: cannot write {shown!r}: {os.fspath(parent)!r} is a file,"
                        " not a folder")
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"{option}: cannot write {shown!r}: {reason or type(exc).__name__}"


class RequestJournal:
    """Append-only JSON Lines journal of start, stop and delete calls.

    :meth:`open` checks that the journal can be written and is where an unwritable path is
    refused; the clients and the ``start``/``stop`` commands call it before any request, so a
    recording is never started without a place to record it. The file itself appears with its
    first line, so a journal that was never used is not mistaken for an empty one.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._empty = os.fspath(path) == ""  # Path("") would quietly mean the current folder
        self.path = Path(path)
        self._fd: int | None = None
        self._checked = False
        self._lock = threading.Lock()
        self._closed = False

    def open(self, *, option: str = "journal") -> RequestJournal:
        """Check now, not at the first append, that the journal can be written; returns self.

        An existing file is opened for appending; otherwise its missing folders are created and
        a file is created there and removed again, to prove the first line can be written.
        Checking twice does nothing.

        Raises :class:`~recording_toolkit.errors.ConfigurationError` naming ``option`` (the
        parameter or flag the path came from) and the path when the journal cannot be written
        (a folder, a path through a file, no permission, a read-only disk) or was closed, so
        that a request whose outcome could not be recorded is never sent.
        """
        with self._lock:
            if self._closed:
                raise ConfigurationError(
                    f"{option}: the request journal {os.fspath(self.path)!r} is closed; give a"
                    " path or an open RequestJournal")
            if self._empty:
                raise ConfigurationError(f"{option}: is empty; give a file path such as"
                                         " 'logs/journal.jsonl'")
            if self._fd is None and not self._checked:
                try:
                    self._fd = self._check_file()
                except (OSError, ValueError) as exc:
                    raise ConfigurationError(unwritable_journal(option, self.path, exc)) from None
                self._checked = True
        return self

    def _check_file(self) -> int | None:
        """The file opened for appending if it exists; else None once a file has been created
        (and removed) beside where it will be."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return os.open(self.path, os.O_WRONLY | os.O_APPEND)
        except FileNotFoundError:
            pass
        fd, probe = tempfile.mkstemp(prefix=".journal-check-", suffix=".tmp",
                                     dir=self.path.parent)
        os.close(fd)
        os.unlink(probe)
        return None

    def _open_file(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def append(self, record: Mapping[str, Any]) -> None:
        """Write one line (``record`` as compact JSON, UTF-8, ``\\n``-terminated)."""
        data = (json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
                + "\n").encode("utf-8")
        with self._lock:
            if self._closed:
                raise ValueError(f"request journal {os.fspath(self.path)!r} is closed")
            if self._fd is None:
                self._fd = self._open_file()
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]

    def close(self) -> None:
        """Flush the file to disk and close it; appending afterwards is an error."""
        with self._lock:
            self._closed = True
            if self._fd is not None:
                try:
                    os.fsync(self._fd)
                finally:
                    os.close(self._fd)
                    self._fd = None

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> RequestJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<RequestJournal {os.fspath(self.path)!r} {state}>"
