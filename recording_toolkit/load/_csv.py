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
from ._file import FileTables, from_typed
from ._quarantine import Quarantine
from ._sources import SourceFile, open_binary
from ._typing import RAW_COLUMNS, RAW_SCHEMA, type_events

__all__ = ["column_name", "read_csv"]

#: Names of the Recording API (and its CSV export) for the callback's fields.
ALIASES = {"recording_url": "record_url"}
_KNOWN = frozenset(RAW_COLUMNS)


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


def read_csv(source: SourceFile, *, strict: bool = False,
             on_bytes: Callable[[int], None] | None = None) -> FileTables:
    """One CSV file (``.gz`` / ``.zst`` too) -> :class:`FileTables`."""
    with open_binary(source) as stream:
        data = stream.read()
    if on_bytes is not None:
        on_bytes(len(data))
    quarantine = Quarantine(source.name)
    if not data.strip():
        return from_typed([], [], quarantine, lines=0)
    headers = _header(data, source.name)
    skipped: list[tuple[int, str]] = []

    def invalid(row: pcsv.InvalidRow) -> str:
        skipped.append((int(row.number) - 1, row.text))
        return "skip"

    try:
        table = pcsv.read_csv(
            pa.py_buffer(data),
            read_options=pcsv.ReadOptions(use_threads=False, column_names=headers,
                                          skip_rows=1),
            parse_options=pcsv.ParseOptions(newlines_in_values=True, invalid_row_handler=invalid),
            convert_options=pcsv.ConvertOptions(column_types={h: pa.string() for h in headers},
                                                strings_can_be_null=True))
    except pa.ArrowInvalid as exc:
        raise LoadError(f"not a readable CSV file: {exc}", file=source.name) from None
    n_rows = table.num_rows + len(skipped)
    for number, text in skipped:
        quarantine.add(number, f"expected {len(headers)} cells as in the header, got"
                               f" {len(next(csv.reader([text]), []))}", text)
    numbers = np.setdiff1d(np.arange(1, n_rows + 1), [n for n, _ in skipped])
    raw = _raw_columns(table, headers, source.name)
    typed = type_events(raw)
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
    return from_typed([typed.wide], [typed.kinds], quarantine, lines=n_rows)
