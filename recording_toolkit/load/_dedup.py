"""Order by time once, drop repeated callbacks, copy the chosen rows once.

Plivo retries callbacks and several receivers may store the same one, so a recording or
transcription can appear more than once (``docs/plivo.md``, "Delivery"). The rules:

- recordings: one row per ``recording_id``, the first received kept;
- transcriptions: one row per ``recording_id``, a success (no ``error``) preferred over an
  error, else the first received.

"First received" is the order of ``received_at``, ties (and rows without a time, which sort
last) in the order the files were given and the lines were read. Both rules pick the least row
by a total order, so applying them per file and then across files gives the same rows as
applying them once (the cache relies on that).

Typed rows arrive as *parts*: a table plus the indices of the rows of the kind wanted (the
typed wide tables hold both kinds). The selection is computed on indices and the columns are
copied once, with :meth:`pyarrow.Table.take`, at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Part", "Selected", "select"]


@dataclass
class Part:
    """Rows of one kind: ``table`` (at least the kind's columns) and the rows to use (all when
    ``rows`` is None)."""

    table: pa.Table
    rows: np.ndarray | None = None

    def __len__(self) -> int:
        return self.table.num_rows if self.rows is None else len(self.rows)


@dataclass
class Selected:
    """The chosen rows, ordered by time, and how many duplicates were dropped."""

    table: pa.Table
    duplicates: int


def _numpy(column: pa.ChunkedArray) -> np.ndarray:
    if column.num_chunks == 0:
        return np.zeros(0)
    return column.to_numpy()


def _first_occurrence(codes: np.ndarray) -> np.ndarray:
    """Mask of the first row of each code, for codes numbered in order of first appearance
    (what ``dictionary_encode`` gives)."""
    first = np.empty(len(codes), dtype=bool)
    if len(codes):
        first[0] = True
        first[1:] = codes[1:] > np.maximum.accumulate(codes)[:-1]
    return first


def _codes(values: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, int]:
    encoded = pc.dictionary_encode(values)
    if isinstance(encoded, pa.ChunkedArray):
        if encoded.num_chunks == 0:
            return np.zeros(0, dtype=np.int32), 0
        size = len(encoded.chunk(0).dictionary)
        codes = np.concatenate([c.indices.to_numpy(zero_copy_only=False)
                                for c in encoded.chunks])
        size = max(size, max(len(c.dictionary) for c in encoded.chunks))
        return codes, size
    return encoded.indices.to_numpy(zero_copy_only=False), len(encoded.dictionary)


def _rows_of(data: pa.Table | pa.ChunkedArray, rows: np.ndarray) -> pa.Table | pa.ChunkedArray:
    """``data`` at ``rows``: a filter when the rows are ascending (the usual case, logs are
    written in time order; about twice as fast as a take on string columns), else a take."""
    if len(rows) > 1 and bool(np.all(rows[1:] > rows[:-1])):
        mask = np.zeros(len(data), dtype=bool)
        mask[rows] = True
        return data.filter(pa.array(mask))
    return data.take(pa.array(rows))


def select(parts: Sequence[Part], columns: Sequence[str], *, prefer_success: bool = False
           ) -> Selected:
    """Rows of ``parts`` (in order) sorted by ``received_at`` and deduplicated.

    ``prefer_success`` applies the transcription rule (rows whose ``error`` is missing first).
    The result has exactly ``columns``.

    Examples
    --------
    >>> import pyarrow as pa
    >>> t = pa.table({"recording_id": ["a", "b", "a"], "error": ["x", None, None],
    ...               "received_at": pa.array([1, 2, 3], pa.timestamp("us", "UTC"))})
    >>> picked = select([Part(t)], ["recording_id", "error"], prefer_success=True)
    >>> picked.table.to_pylist(), picked.duplicates
    ([{'recording_id': 'b', 'error': None}, {'recording_id': 'a', 'error': None}], 1)
    """
    parts = [p for p in parts if len(p)]
    if not parts:
        raise ValueError("select() needs at least one non-empty part")
    table = pa.concat_tables([p.table.select(columns if "received_at" in columns
                                             else [*columns, "received_at"])
                              for p in parts]) if len(parts) > 1 else \
        parts[0].table
    rows: np.ndarray | None
    if all(p.rows is None for p in parts):
        rows = None
    else:
        offsets = np.cumsum([0] + [p.table.num_rows for p in parts[:-1]])
        rows = np.concatenate([
            (np.arange(p.table.num_rows) if p.rows is None else p.rows) + offset
            for p, offset in zip(parts, offsets, strict=True)])
    received = table.column("received_at")
    times = _numpy(received).view(np.int64)
    if rows is not None:
        times = times[rows]
    n = len(times)
    missing = received.null_count > 0
    if missing or (n > 1 and not bool(np.all(times[1:] >= times[:-1]))):
        if missing:
            valid = received.is_valid().to_numpy(zero_copy_only=False)
            valid = valid if rows is None else valid[rows]
            # rows without a time sort last, in reading order
            times = np.where(valid, times, np.iinfo(np.int64).max)
        order = np.argsort(times, kind="stable")
        rows = order if rows is None else rows[order]
    ids = table.column("recording_id")
    ids_in_order = ids if rows is None else _rows_of(ids, rows)
    codes, n_ids = _codes(ids_in_order)
    keep: np.ndarray | None = None
    if n_ids < n:
        first = _first_occurrence(codes)
        if prefer_success:
            errors = table.column("error")
            failed = errors.is_valid().to_numpy(zero_copy_only=False) if errors.null_count \
                < len(errors) else np.zeros(len(errors), dtype=bool)
            if rows is not None:
                failed = failed[rows]
            if failed.any():
                ok = np.flatnonzero(~failed)
                ok_codes, _ = _codes(_rows_of(ids_in_order, ok))
                chosen_ok = ok[_first_occurrence(ok_codes)]
                has_ok = np.zeros(n_ids, dtype=bool)
                has_ok[codes[ok]] = True
                only_failed = np.flatnonzero(first & ~has_ok[codes])
                keep = np.sort(np.concatenate([chosen_ok, only_failed]))
        if keep is None:
            keep = np.flatnonzero(first)
        rows = keep if rows is None else rows[keep]
    out = table.select(list(columns))
    if rows is not None:
        out = _rows_of(out, rows)
    return Selected(out, n - (len(rows) if rows is not None else n))
