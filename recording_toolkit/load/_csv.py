"""CSV callback exports -> typed tables.

A header row names the columns with Plivo's field names, in any spelling the callbacks use
(``recording_id``, ``RecordingID``, ``Recording ID``), or the Recording API's ``recording_url``
for ``record_url``; optional ``event``, ``received_at`` and ``source`` columns play the
envelope's part (without ``event`` the kind is told from the fields, as for flat lines).
Columns the loader does not know are ignored. Every value is read as text and typed like a
JSON Lines value (:mod:`._typing`); empty cells are missing values.

A row with the wrong number of cells is quarantined (its ``line`` is the data row, counted
after the header), as is a row that cannot be used, with the row's text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from ..callbacks import snake_case
from ..errors import LoadError
from ._decode import DamagedStreamError
from ._file import FileTables, combine, from_typed
from ._quarantine import Quarantine
from ._sources import SourceFile, open_binary
from ._typing import RAW_COLUMNS, RAW_SCHEMA, type_events

__all__ = ["column_name", "read_csv"]

#: Names of the Recording API (and its CSV export) for the callback's fields.
ALIASES = {"recording_url": "record_url"}
_KNOWN = frozenset(RAW_COLUMNS)
_STEP = 1 << 20


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


def _parse(data: bytes, headers: list[str], kind: pa.DataType,
           invalid: Callable[[pcsv.InvalidRow], str]) -> pa.Table:
    return pcsv.read_csv(
        pa.py_buffer(data),
        read_options=pcsv.ReadOptions(use_threads=False, column_names=headers, skip_rows=1),
        parse_options=pcsv.ParseOptions(newlines_in_values=True, invalid_row_handler=invalid),
        convert_options=pcsv.ConvertOptions(column_types={h: kind for h in headers},
                                            strings_can_be_null=True))


def _as_text(table: pa.Table, headers: list[str]) -> tuple[pa.Table, dict[int, str]]:
    """Binary columns -> text; a cell that is not UTF-8 is shown with ``\\xNN`` escapes and its
    row is a known-bad row (its reason names the column)."""
    bad: dict[int, str] = {}
    columns = []
    for header, column in zip(headers, table.columns, strict=True):
        try:
            columns.append(column.cast(pa.string()))
            continue
        except pa.ArrowInvalid:
            pass
        values = []
        for row, value in enumerate(column.to_pylist()):
            try:
                values.append(None if value is None else value.decode("utf-8"))
            except UnicodeDecodeError as exc:
                bad.setdefault(row, f"column {header!r}: not valid UTF-8 text ({exc.reason}"
                                    f" at byte {exc.start})")
                values.append(value.decode("utf-8", errors="backslashreplace"))
        columns.append(pa.array(values, pa.string()))
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

    bad: dict[int, str] = {}
    try:
        try:
            table = _parse(data, headers, pa.string(), invalid)
        except pa.ArrowInvalid as exc:
            if "UTF8" not in str(exc):
                raise
            skipped.clear()
            table, bad = _as_text(_parse(data, headers, pa.binary(), invalid), headers)
    except pa.ArrowInvalid as exc:
        raise LoadError(f"not a readable CSV file: {exc}", file=source.name) from None
    n_rows = table.num_rows + len(skipped)
    for number, text in skipped:
        quarantine.add(number, f"expected {len(headers)} cells as in the header, got"
                               f" {len(next(csv.reader([text]), []))}", text)
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
