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
typed wide tables hold both kinds). The selection is computed on indices (ids numbered through
a 64-bit hash of each, checked against the ids themselves, :class:`_Ids`) and the columns are
copied once, at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Part", "Selected", "id_keys", "select"]


@dataclass
class Part:
    """Rows of one kind: ``table`` (at least the kind's columns) and the rows to use (all when
    ``rows`` is None)."""

    table: pa.Table
    rows: np.ndarray | None = None
    #: :func:`id_keys` of the whole table's ``recording_id`` when already computed (``hashed``):
    #: the recordings and transcriptions of one typed table share them, so they are hashed once.
    keys: np.ndarray | None = None
    hashed: bool = False

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
    """Codes of ``values`` numbered in order of first appearance, and how many there are."""
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


_MIX = np.uint64(0x9E3779B97F4A7C15)
_SHIFT = np.uint64(29)


def _chunk_keys(chunk: pa.Array) -> np.ndarray | None:
    """A 64-bit hash of each string of ``chunk`` when they all have the same length in bytes
    (recording ids are UUIDs), read straight from the Arrow buffers; None otherwise."""
    if chunk.null_count or not (pa.types.is_string(chunk.type)
                                or pa.types.is_large_string(chunk.type)):
        return None
    n = len(chunk)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    width = 8 if pa.types.is_large_string(chunk.type) else 4
    offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64 if width == 8 else np.int32,
                            count=n + 1, offset=chunk.offset * width)
    lengths = np.diff(offsets)
    size = int(lengths[0])
    if not bool(np.all(lengths == size)):
        return None
    keys = np.full(n, size, dtype=np.uint64)
    if size == 0:
        return keys
    data = chunk.buffers()[2]
    start = int(offsets[0])
    dtype: np.dtype[Any]
    if size >= 8:  # 8-byte words, the last one overlapping when size is not a multiple of 8
        steps = [*range(0, size - 7, 8)] + ([size - 8] if size % 8 else [])
        dtype = np.dtype(np.uint64)
    else:
        steps, dtype = list(range(size)), np.dtype(np.uint8)
    for step in steps:
        word = np.ndarray((n,), dtype=dtype, buffer=data, offset=start + step, strides=(size,))
        keys ^= word
        keys *= _MIX
        keys ^= keys >> _SHIFT
    return keys


def id_keys(ids: pa.ChunkedArray | pa.Array) -> np.ndarray | None:
    """A 64-bit hash of each id (equal ids, equal keys; the length is hashed too), or None
    when some chunk holds a missing id or ids of different lengths."""
    chunks = ids.chunks if isinstance(ids, pa.ChunkedArray) else [ids]
    keys = []
    for chunk in chunks:
        one = _chunk_keys(chunk)
        if one is None:
            return None
        keys.append(one)
    if not keys:
        return np.zeros(0, dtype=np.uint64)
    return np.concatenate(keys)


def _joined(keys: list[np.ndarray | None]) -> np.ndarray | None:
    """The keys of tables concatenated from theirs (what :func:`id_keys` gives for the
    concatenated column: hashes are computed chunk by chunk, and None when any chunk has none)."""
    if any(one is None for one in keys):
        return None
    present = [one for one in keys if one is not None]
    if not present:
        return np.zeros(0, dtype=np.uint64)
    return present[0] if len(present) == 1 else np.concatenate(present)


class _Ids:
    """The ids of the rows in order, numbered in order of first appearance.

    The fast way numbers 64-bit hashes of the ids (:func:`id_keys`; hashing and numbering
    take about half the time of encoding the strings) and then checks every repeated hash against the row
    that first had it: only when all of them hold the same id are the numbers used; a hash
    collision (or ids of different lengths) falls back to encoding the strings themselves.
    Either way the codes are the same.
    """

    def __init__(self, ids: pa.ChunkedArray, rows: np.ndarray | None,
                 known: list[np.ndarray | None] | None = None) -> None:
        self.ids, self.rows = ids, rows
        keys = id_keys(ids) if known is None else _joined(known)
        self.keys = None if keys is None else keys if rows is None else keys[rows]
        self._in_order: pa.ChunkedArray | pa.Array | None = None
        self.codes, self.count = self.numbered(None)
        if self.keys is not None and self.count < len(self.codes) \
                and not self._same_ids(self.codes):
            self.keys = None
            self.codes, self.count = self.numbered(None)

    def in_order(self) -> pa.ChunkedArray | pa.Array:
        if self._in_order is None:
            self._in_order = self.ids if self.rows is None else _rows_of(self.ids, self.rows)
        return self._in_order

    def numbered(self, subset: np.ndarray | None) -> tuple[np.ndarray, int]:
        """Codes of the rows in order (or of their ``subset``) and how many distinct ids."""
        if self.keys is not None:
            codes, uniques = pd.factorize(self.keys if subset is None else self.keys[subset])
            return codes, len(uniques)
        ids = self.in_order()
        return _codes(ids if subset is None else _rows_of(ids, subset))

    def _same_ids(self, codes: np.ndarray) -> bool:
        """True when every row holds the same id as the first row of its code."""
        first = _first_occurrence(codes)
        repeated = np.flatnonzero(~first)
        origin = np.flatnonzero(first)[codes[repeated]]
        if self.rows is not None:
            repeated, origin = self.rows[repeated], self.rows[origin]
        # the few rows involved, filtered chunk by chunk (a take would join the chunks first)
        involved = np.unique(np.concatenate([repeated, origin]))
        mask = np.zeros(len(self.ids), dtype=bool)
        mask[involved] = True
        few = self.ids.filter(pa.array(mask)).combine_chunks()
        same = pc.equal(few.take(pa.array(np.searchsorted(involved, repeated))),
                        few.take(pa.array(np.searchsorted(involved, origin))))
        return bool(pc.all(same).as_py())


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
    known = [p.keys for p in parts] if all(p.hashed for p in parts) else None
    ids = _Ids(table.column("recording_id"), rows, known)
    codes, n_ids = ids.codes, ids.count
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
                ok_codes, _ = ids.numbered(ok)
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
