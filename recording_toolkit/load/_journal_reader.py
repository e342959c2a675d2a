"""The request journal (``docs/CONTRACTS.md``) -> a typed frame (``schema.JOURNAL``).

This reads what :mod:`recording_toolkit.journal` writes (the client's ``RequestJournal``).

The journal is the client's own record of what it asked for: one line per start, stop or
delete call, a few thousand lines where the callback log has millions, so each line is read
with :mod:`json` and checked field by field. A line that cannot be used (not JSON, a torn last line, no
``time``, an unknown ``action``, a field of the wrong type) is not dropped in silence: it goes
to the quarantine frame in ``df.attrs["quarantine"]`` (``schema.QUARANTINE``: file, line,
reason, raw), or, with ``strict=True``, raises :class:`~recording_toolkit.errors.LoadError`
naming file and line.

A file none of whose lines is a journal entry is not a journal (a callback log, random bytes, a
file of some other program): reconciling against it would count every callback as one nobody
started, so it is refused with a :class:`~recording_toolkit.errors.LoadError` naming the file,
as is a journal with no entry at all. This one check serves every reader of journals: the
``report`` and ``backfill`` commands, ``report.summarize(journal=path)`` and
``load.join_recordings(journal=path)``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import schema
from ..errors import LoadError
from ..journal import JOURNAL_OPTION_KEYS
from ._convert import QUARANTINE_ARROW, parse_time
from ._frames import to_frame
from ._jsonl import json_kind
from ._quarantine import Quarantine
from ._sources import open_binary, resolve_sources

__all__ = ["JOURNAL_ARROW", "load_journal"]

JOURNAL_ARROW = pa.schema([
    ("time", pa.timestamp("us", "UTC")),
    ("action", pa.string()),
    ("conference_name", pa.string()),
    ("file_format", pa.string()),
    ("transcription_type", pa.string()),
    ("transcription_url", pa.string()),
    ("callback_url", pa.string()),
    ("callback_method", pa.string()),
    ("ok", pa.bool_()),
    ("status", pa.int64()),
    ("api_id", pa.string()),
    ("recording_id", pa.string()),
    ("error_type", pa.string()),
    ("error", pa.string()),
    ("may_have_started", pa.bool_()),
    ("attempts", pa.int64()),
    ("latency_ms", pa.float64()),
])
assert list(JOURNAL_ARROW.names) == list(schema.JOURNAL)

#: The calls a journal records (a delete line names its recording_id, no conference).
ACTIONS = ("start", "stop", "delete")
_TEXT = ("conference_name", "api_id", "recording_id", "error_type", "error")
_FLAGS = ("ok", "may_have_started")
_WHOLE = ("status", "attempts")


def _check(obj: Any) -> tuple[dict[str, Any] | None, str | None]:
    """One parsed line -> (row, None) or (None, reason)."""
    if not isinstance(obj, dict):
        return None, f"not a JSON object (a JSON {json_kind(obj)})"
    if not isinstance(obj.get("time"), str) or not obj["time"].strip():
        return None, "time is missing or not text"
    if obj.get("action") not in ACTIONS:
        return None, (f"unknown action {obj.get('action')!r}; expected 'start', 'stop' or"
                      " 'delete'")
    options = obj.get("options") or {}
    if not isinstance(options, Mapping):
        return None, "options is not a JSON object"
    row: dict[str, Any] = {"time": obj["time"], "action": obj["action"]}
    for key in JOURNAL_OPTION_KEYS:
        value = options.get(key)
        if value is not None and not isinstance(value, str):
            return None, f"options.{key}: expected text or null, got {value!r}"
        row[key] = value or None
    for key in _TEXT:
        value = obj.get(key)
        if value is not None and not isinstance(value, str):
            return None, f"{key}: expected text or null, got {value!r}"
        row[key] = value
    for key in _FLAGS:
        value = obj.get(key)
        if value is not None and not isinstance(value, bool):
            return None, f"{key}: expected true or false, got {value!r}"
        row[key] = value
    for key in _WHOLE:
        value = obj.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            return None, f"{key}: expected a whole number or null, got {value!r}"
        row[key] = value
    latency = obj.get("latency_ms")
    if latency is not None and (isinstance(latency, bool) or not isinstance(latency, int | float)):
        return None, f"latency_ms: expected a number or null, got {latency!r}"
    row["latency_ms"] = None if latency is None else float(latency)
    return row, None


def _is_callback(obj: Any) -> bool:
    """A line of the callback log (``{"event": ..., "payload": {...}}``), not of a journal."""
    return isinstance(obj, dict) and "event" in obj and isinstance(obj.get("payload"), dict)


@dataclass
class _Read:
    """What reading one journal file met: its non-blank lines and how many were callbacks."""

    lines: int = 0
    callbacks: int = 0


def _read(path: Any, rows: list[dict[str, Any]], where: list[tuple[int, bytes]],
          quarantine: Quarantine, *, strict: bool) -> _Read:
    with open_binary(path) as stream:
        data = stream.read()
    lines = data.split(b"\n")
    torn = bool(lines[-1].strip())
    if not torn:
        lines.pop()
    seen = _Read()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        seen.lines += 1
        reason: str | None
        try:
            obj = json.loads(line)
        except ValueError as exc:
            row, reason = None, f"not valid JSON: {exc}"
            if torn and number == len(lines):
                reason = f"torn last line (no newline at the end of the file): {reason}"
        else:
            row, reason = _check(obj)
            if row is None and _is_callback(obj):
                seen.callbacks += 1
                reason = f"a callback log line, not a journal entry ({reason})"
        if row is None:
            assert reason is not None
            quarantine.add(number, reason, line)
            if strict:
                error = quarantine.first_error()
                assert error is not None
                raise error
        else:
            rows.append(row)
            where.append((number, line))
    return seen


def _not_a_journal(name: str, seen: _Read, quarantine: Quarantine) -> LoadError:
    """The error for a file none of whose lines is a journal entry: it is something else."""
    if seen.callbacks * 2 >= seen.lines:  # mostly callbacks: a log with a few bad lines too
        which = "its lines are" if seen.callbacks == seen.lines else \
            f"{seen.callbacks:,} of its {_lines(seen.lines)} are"
        return LoadError(f"a callback log, not a request journal ({which} recording and"
                         " transcription callbacks)", file=name)
    first = quarantine.first_error()
    assert first is not None
    reason = first.reason if len(first.reason) <= 120 else first.reason[:117] + "..."
    return LoadError(f"none of its {_lines(seen.lines)} is a start, stop or"
                     f" delete entry (line {first.line}: {reason}); is this a request journal?",
                     file=name)


def _lines(count: int) -> str:
    return "1 line" if count == 1 else f"{count:,} lines"


def load_journal(path_or_paths: Any, *, strict: bool = False,
                 storage_options: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Read request journal file(s) into one frame of ``schema.JOURNAL``, ordered by time.

    Parameters
    ----------
    path_or_paths
        A journal file, a glob, or a list of them (local paths or fsspec URLs).
    strict
        Raise :class:`~recording_toolkit.errors.LoadError` (file, line, reason) on the first
        line that cannot be used instead of quarantining it.

    Returns
    -------
    DataFrame
        One row per call; ``df.attrs["quarantine"]`` holds the unusable lines
        (``schema.QUARANTINE``), empty when there were none.

    Raises
    ------
    LoadError
        A file has lines but none of them is a start, stop or delete entry (it is not a journal), or
        the files hold no entry at all (nothing to reconcile against); with ``strict=True``,
        the first unusable line.
    FileNotFoundError
        A path or glob that names no file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "journal.jsonl"
    >>> _ = path.write_text(
    ...     '{"time": "2026-11-24T10:15:02.000000Z", "action": "start", "conference_name": "a",'
    ...     ' "options": {"file_format": "mp3", "transcription_type": "auto"}, "ok": true,'
    ...     ' "status": 202, "recording_id": "r1", "attempts": 1, "latency_ms": 41.7}\\n'
    ...     '{"time": "2026-11-24T10:16:00.000000Z", "action": "reboot"}\\n')
    >>> journal = load_journal(path)
    >>> journal[["action", "recording_id", "transcription_type", "status"]]
      action recording_id transcription_type  status
    0  start           r1               auto     202
    >>> journal.attrs["quarantine"][["line", "reason"]].to_dict("records")
    [{'line': 2, 'reason': "unknown action 'reboot'; expected 'start', 'stop' or 'delete'"}]
    """
    quarantines: list[pa.Table] = []
    tables: list[pa.Table] = []
    names: list[str] = []
    for source in resolve_sources(path_or_paths, storage_options=storage_options):
        rows: list[dict[str, Any]] = []
        where: list[tuple[int, bytes]] = []
        quarantine = Quarantine(source.name)
        names.append(source.name)
        seen = _read(source, rows, where, quarantine, strict=strict)
        raw = pa.Table.from_pylist(rows, schema=JOURNAL_ARROW.set(
            0, pa.field("time", pa.string())))
        times, bad = parse_time(raw.column("time"))
        if bad is not None:
            for index in bad.nonzero()[0].tolist():
                number, line = where[index]
                quarantine.add(number, f"time: {rows[index]['time']!r} is not a time"
                                       " (ISO 8601 expected)", line)
            if strict:
                error = quarantine.first_error()
                assert error is not None
                raise error
            raw = raw.filter(pa.array(~bad))
            times = pc.filter(times, pa.array(~bad))
        if seen.lines and not raw.num_rows:
            raise _not_a_journal(source.name, seen, quarantine)
        tables.append(raw.set_column(0, JOURNAL_ARROW.field("time"), times))
        if len(quarantine):
            quarantines.append(quarantine.table())
    table = pa.concat_tables(tables) if tables else JOURNAL_ARROW.empty_table()
    if not names:  # a folder with no file in it
        shown = path_or_paths if isinstance(path_or_paths, str | os.PathLike) else \
            ", ".join(map(os.fspath, path_or_paths))
        raise LoadError("no journal file in it", file=os.fspath(shown))
    if not table.num_rows:  # only empty files: reconciling against nothing would be all wrong
        raise LoadError("empty: no start or stop requests in it", file=", ".join(names))
    if table.num_rows:
        order = pc.sort_indices(table, sort_keys=[("time", "ascending")])
        table = table.take(order)
    frame = to_frame(table, schema.JOURNAL)
    quarantine_table = pa.concat_tables(quarantines) if quarantines else \
        QUARANTINE_ARROW.empty_table()
    frame.attrs["quarantine"] = to_frame(quarantine_table, schema.QUARANTINE)
    return frame
