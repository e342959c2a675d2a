"""CSV callback exports -> typed tables.

A header row names the columns with Plivo's field names, in any spelling the callbacks use
(``recording_id``, ``RecordingID``, ``Recording ID``), or the Recording API's ``recording_url``
for ``record_url``; optional ``event``, ``received_at`` and ``source`` columns play the
envelope's part (without ``event`` the kind is told from the fields, as for flat lines).
Columns the loader does not know are ignored. Every value is read as text and typed like a
JSON Lines value (:mod:`._convert`); empty cells are missing values.

A row with the wrong number of cells is quarantined (its ``line`` is the data row, counted
after the header), as is a row that cannot be used, with the row's text.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from ..callbacks import snake_case
from ..errors import LoadError
from ._convert import RAW_COLUMNS, RAW_SCHEMA, type_events
from ._decode import DamagedStreamError
from ._file import FileTables, combine, from_typed
from ._quarantine import Quarantine
from ._sources import SourceFile, open_binary

__all__ = ["column_name", "read_csv"]

#: Names of the Recording API (and its CSV export) for the callback's fields.
ALIASES = {"recording_url": "record_url"}
_KNOWN = frozenset(RAW_COLUMNS)
_STEP = 1 << 20
#: Put before each byte that is not UTF-8 (a noncharacter: never in a real export).
_MARK = "\U0010fffe"
_ESCAPED = re.compile("[\udc80-\udcff]+")


def column_name(header: str) -> str:
    """A CSV header -> the field it holds (``"Recording ID"`` -> ``recording_id``).

    Examples
    --------
    >>> [column_name(h) for h in ("RecordingID", "Recording ID", "record-url", "recording_url")]
    ['recording_id', 'recording_id', 'record_url', 'record_url']
    """
    words = header.strip().lstrip("\ufeff").replace("-", " ").split()
    name = "_".join(snake_case(word) for word in words)
    return ALIASES.get(name, name)


def _header(data: bytes, name: str) -> list[str]:
    first = data.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    try:
        return next(csv.reader(io.StringIO(first)))
    except (StopIteration, csv.Error) as exc:
        raise LoadError(f"no CSV header row ({exc or 'empty file'})", file=name, line=None
                        ) from None


def _raw_columns(table: pa.Table, headers: list[str], name: str) -> pa.Table:
    """The table's known columns under their field names, the missing ones as nulls."""
    chosen: dict[str, pa.ChunkedArray] = {}
    for header, column in zip(headers, table.columns, strict=True):
        field = column_name(header)
        if field not in _KNOWN:
            continue
        if field in chosen:
            raise LoadError(f"columns {header!r} and another both hold {field!r}", file=name)
        chosen[field] = column
    n = table.num_rows
    return pa.Table.from_arrays(
        [chosen.get(field, pa.nulls(n, pa.string())) for field in RAW_COLUMNS],
        schema=RAW_SCHEMA)


def _read_all(source: SourceFile, on_bytes: Callable[[int], None] | None
              ) -> tuple[bytes, BaseException | None]:
    """The file's bytes, and the error that stopped reading (a torn ``.gz``) or None.

    Read in steps, so the rows before damage in a compressed file are kept."""
    parts: list[bytes] = []
    failure: BaseException | None = None
    with open_binary(source) as stream:
        while True:
            try:
                block = stream.read(_STEP)
            except (OSError, EOFError, pa.ArrowException) as exc:
                failure = exc
                break
            if not block:
                break
            parts.append(block)
            if on_bytes is not None:
                on_bytes(len(block))
    return b"".join(parts), failure


def _parse(data: bytes, headers: list[str], invalid: Callable[[pcsv.InvalidRow], str]
           ) -> pa.Table:
    return pcsv.read_csv(
        pa.py_buffer(data),
        read_options=pcsv.ReadOptions(use_threads=False, column_names=headers, skip_rows=1),
        parse_options=pcsv.ParseOptions(newlines_in_values=True, invalid_row_handler=invalid),
        convert_options=pcsv.ConvertOptions(column_types={h: pa.string() for h in headers},
                                            strings_can_be_null=True))


def _mark_invalid(data: bytes) -> bytes | None:
    """``data`` with every byte that is not UTF-8 written as ``\\xNN`` after :data:`_MARK`, or
    None when it is all UTF-8. (pyarrow cannot hand a row that is not UTF-8 to Python.)"""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="surrogateescape")
        text = _ESCAPED.sub(lambda m: "".join(f"{_MARK}\\x{ord(c) - 0xDC00:02x}"
                                              for c in m.group()), text)
        return text.encode("utf-8")
    return None


def _marked_rows(table: pa.Table, headers: list[str]) -> tuple[pa.Table, dict[int, str]]:
    """Rows holding a cell that was not UTF-8 (row -> reason naming the column); the marks are
    taken out, the ``\\xNN`` escapes stay for the quarantine's raw text."""
    bad: dict[int, str] = {}
    columns = []
    for header, column in zip(headers, table.columns, strict=True):
        hit = pc.fill_null(pc.match_substring(column, _MARK), False)
        if pc.any(hit).as_py():
            for row in np.flatnonzero(hit.to_numpy(zero_copy_only=False)).tolist():
                bad.setdefault(row, f"column {header!r}: not valid UTF-8 text")
            column = pc.replace_substring(column, _MARK, "")
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names), bad


def read_csv(source: SourceFile, *, strict: bool = False,
             on_bytes: Callable[[int], None] | None = None) -> FileTables:
    """One CSV file (``.gz`` / ``.zst`` too) -> :class:`FileTables`.

    A compressed file that is cut short or damaged keeps every row up to the last complete
    line before the damage; the rest is one quarantined line saying why.
    """
    data, failure = _read_all(source, on_bytes)
    torn = b""
    if failure is not None:
        cut = data.rfind(b"\n") + 1
        data, torn = data[:cut], data[cut:]
    quarantine = Quarantine(source.name)
    if not data.strip():
        tables = from_typed([], [], quarantine, lines=0)
        return _with_failure(tables, source, failure, torn, 1, strict=strict)
    headers = _header(data, source.name)
    skipped: list[tuple[int, str]] = []

    def invalid(row: pcsv.InvalidRow) -> str:
        skipped.append((int(row.number) - 1, row.text))
        return "skip"

    marked = _mark_invalid(data)
    try:
        table = _parse(data if marked is None else marked, headers, invalid)
    except pa.ArrowInvalid as exc:
        raise LoadError(f"not a readable CSV file: {exc}", file=source.name) from None
    bad: dict[int, str] = {}
    if marked is not None:
        table, bad = _marked_rows(table, headers)
    n_rows = table.num_rows + len(skipped)
    for number, text in skipped:
        reason = (f"expected {len(headers)} cells as in the header, got"
                  f" {len(next(csv.reader([text]), []))}")
        if _MARK in text:
            reason += "; not valid UTF-8 text"
        quarantine.add(number, reason, text.replace(_MARK, ""))
    numbers = np.setdiff1d(np.arange(1, n_rows + 1), [n for n, _ in skipped])
    raw = _raw_columns(table, headers, source.name)
    typed = type_events(raw, known=bad or None)
    if typed.rejected:
        for row, reason, event in zip(typed.rejected.rows, typed.rejected.reasons,
                                      typed.rejected.events, strict=True):
            values = table.slice(row, 1).to_pylist()[0]
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="").writerow(
                ["" if values[h] is None else values[h] for h in headers])
            quarantine.add(int(numbers[row]), reason, buffer.getvalue(), event)
    if strict and len(quarantine):
        error = quarantine.first_error()
        assert error is not None
        raise error
    tables = from_typed([typed.wide], [typed.kinds], quarantine, lines=n_rows)
    return _with_failure(tables, source, failure, torn, n_rows + 1, strict=strict)


def _with_failure(tables: FileTables, source: SourceFile, failure: BaseException | None,
                  torn: bytes, line: int, *, strict: bool) -> FileTables:
    """``tables`` plus one quarantined line for the unreadable rest of the file, if any."""
    if failure is None:
        return tables
    reason = str(failure) if isinstance(failure, DamagedStreamError) else \
        f"{type(failure).__name__}: {failure}"
    rest = Quarantine(source.name)
    rest.add(line, f"the file cannot be read from here on: {reason}", torn)
    if strict:
        error = rest.first_error()
        assert error is not None
        raise error
    return combine([tables, FileTables(tables.recordings.schema.empty_table(),
                                       tables.transcriptions.schema.empty_table(),
                                       rest.table(), lines=1)])
