"""Text -> typed columns, in Arrow.

Every callback value arrives as text. The text readers (``_jsonl``, ``_csv``) turn a
file into *raw batches*: Arrow tables with one string column per known field (snake_case names,
:data:`RAW_COLUMNS`). This module decides each row's kind, checks it, and casts its fields to the
types of ``schema.RECORDINGS`` / ``schema.TRANSCRIPTIONS`` with ``pyarrow.compute``, so pandas
only ever sees typed columns (converting types in pandas is about 1.5x slower,
``docs/performance.md``).

Each cast tries the cheap whole-column form first (``"345100"`` -> int64) and only a column that
fails takes the next form (decimal strings such as ``"345100.00000"`` through float64), and only
a column that fails that too is checked value by value, so a single bad value costs one column of
one batch, not the file. Rows that cannot be used are returned as *rejected* with the reason,
worded as :func:`recording_toolkit.callbacks.normalise_callback` words it where it applies.

Numbers with a fraction where the schema wants whole numbers (``"22.78"`` seconds) are rounded
half up; empty text is a missing value, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import schema
from ..callbacks import (
    EVENT_KINDS,
    RECORDING_FIELDS,
    TRANSCRIPTION_FIELDS,
    normalise_callback,
)
from ..errors import CallbackError

__all__ = [
    "FIELDS",
    "QUARANTINE_ARROW",
    "RAW_COLUMNS",
    "RECORDINGS_ARROW",
    "TRANSCRIPTIONS_ARROW",
    "Rejected",
    "Typed",
    "WIDE_ARROW",
    "empty_raw",
    "type_events",
]

#: Payload fields the loader reads (``message`` only helps to tell the kind).
FIELDS: tuple[str, ...] = tuple(sorted(RECORDING_FIELDS | TRANSCRIPTION_FIELDS | {"message"}))
#: Envelope columns of a raw batch, then the fields; every one is a string column.
ENVELOPE: tuple[str, ...] = ("event", "received_at", "source")
RAW_COLUMNS: tuple[str, ...] = (*ENVELOPE, *FIELDS)
RAW_SCHEMA = pa.schema([(name, pa.string()) for name in RAW_COLUMNS])

# The same fields infer_kind looks at (callbacks._ONLY_RECORDING / _ONLY_TRANSCRIPTION).
_ONLY_RECORDING = ("record_url", "recording_duration_ms", "recording_start_ms",
                   "recording_end_ms", "recording_duration")
_ONLY_TRANSCRIPTION = ("transcription", "transcription_charge", "transcription_rate")

_UTC_MS = pa.timestamp("ms", "UTC")
_UTC_US = pa.timestamp("us", "UTC")
_FORMAT_TYPE = pa.dictionary(pa.int8(), pa.string())
_FORMATS = pa.array(list(schema.FILE_FORMATS), pa.string())

RECORDINGS_ARROW = pa.schema([
    ("recording_id", pa.string()),
    ("conference_name", pa.string()),
    ("api_id", pa.string()),
    ("record_url", pa.string()),
    ("file_format", _FORMAT_TYPE),
    ("recording_duration", pa.int64()),
    ("recording_duration_ms", pa.int64()),
    ("recording_start", _UTC_MS),
    ("recording_end", _UTC_MS),
    ("received_at", _UTC_US),
    ("backfilled", pa.bool_()),
])
TRANSCRIPTIONS_ARROW = pa.schema([
    ("recording_id", pa.string()),
    ("call_uuid", pa.string()),
    ("transcription", pa.string()),
    ("transcription_charge", pa.float64()),
    ("transcription_rate", pa.float64()),
    ("duration", pa.int64()),
    ("error", pa.string()),
    ("received_at", _UTC_US),
])
QUARANTINE_ARROW = pa.schema([
    ("file", pa.string()),
    ("line", pa.int64()),
    ("event", pa.string()),
    ("reason", pa.string()),
    ("raw", pa.string()),
])
#: Both kinds' columns in one table (see :class:`Typed`).
WIDE_ARROW = pa.schema([*RECORDINGS_ARROW,
                        *(f for f in TRANSCRIPTIONS_ARROW if f.name not in RECORDINGS_ARROW.names)])
assert list(RECORDINGS_ARROW.names) == list(schema.RECORDINGS)
assert list(TRANSCRIPTIONS_ARROW.names) == list(schema.TRANSCRIPTIONS)
assert list(QUARANTINE_ARROW.names) == list(schema.QUARANTINE)

_NUMBER = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
_INT64_LIMIT = 2.0**63


@dataclass
class Rejected:
    """Rows of a raw batch that cannot be used: their indices, reasons and kinds (if known)."""

    rows: list[int] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    events: list[str | None] = field(default_factory=list)

    def add(self, row: int, reason: str, event: str | None) -> None:
        self.rows.append(int(row))
        self.reasons.append(reason)
        self.events.append(event)

    def __len__(self) -> int:
        return len(self.rows)

    def sorted(self) -> Rejected:
        order = sorted(range(len(self.rows)), key=self.rows.__getitem__)
        return Rejected([self.rows[i] for i in order], [self.reasons[i] for i in order],
                        [self.events[i] for i in order])


#: Row kinds in a typed batch.
RECORDING, TRANSCRIPTION, REJECTED = 0, 1, -1


@dataclass
class Typed:
    """One raw batch, typed: a *wide* table holding the columns of both kinds for every row,
    the kind of each row (:data:`RECORDING`, :data:`TRANSCRIPTION` or :data:`REJECTED`), and
    the rejected rows with their reasons.

    Rows are not split by kind here: splitting copies every string, and the loader copies the
    chosen rows once anyway, after sorting and deduplication (:mod:`._dedup`).
    """

    wide: pa.Table
    kinds: np.ndarray
    rejected: Rejected

    def recordings(self) -> pa.Table:
        """The recording rows alone (a copy; for tests and small batches)."""
        return self.wide.select(RECORDINGS_ARROW.names).filter(pa.array(self.kinds == RECORDING))

    def transcriptions(self) -> pa.Table:
        """The transcription rows alone (a copy; for tests and small batches)."""
        return self.wide.select(TRANSCRIPTIONS_ARROW.names).filter(
            pa.array(self.kinds == TRANSCRIPTION))


def empty_raw() -> pa.Table:
    """A raw batch with no rows."""
    return RAW_SCHEMA.empty_table()


def _bools(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """An Arrow boolean column as a numpy bool array, missing as False."""
    if array.null_count:
        array = pc.fill_null(array, False)
    if isinstance(array, pa.ChunkedArray):
        if array.num_chunks == 0:
            return np.zeros(0, dtype=bool)
        array = array.combine_chunks() if array.num_chunks > 1 else array.chunk(0)
    return array.to_numpy(zero_copy_only=False)


def _present(raw: pa.Table, names: tuple[str, ...]) -> np.ndarray:
    out = np.zeros(raw.num_rows, dtype=bool)
    for name in names:
        column = raw.column(name)
        if column.null_count < len(column):
            out |= _bools(column.is_valid())
    return out


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _row_payload(raw: pa.Table, row: int) -> dict[str, str]:
    """One raw row's present fields (what the callback carried), for wording its reason."""
    values = raw.slice(row, 1).to_pylist()[0]
    return {name: values[name] for name in FIELDS if values.get(name) is not None}


def type_events(raw: pa.Table, *, known: dict[int, str] | None = None) -> Typed:
    """Split a raw batch by kind, check and type it.

    Parameters
    ----------
    raw
        A table with the string columns :data:`RAW_COLUMNS`.
    known
        Rows already known to be unusable (row -> reason), e.g. a field given twice with
        different values; they are rejected with that reason.
    """
    n = raw.num_rows
    rejected = Rejected()
    if n == 0:
        return Typed(WIDE_ARROW.empty_table(), np.zeros(0, dtype=np.int8), rejected)
    event = raw.column("event")
    given = _bools(event.is_valid()) if event.null_count else np.ones(n, dtype=bool)
    is_rec = _bools(pc.equal(event, "recording")) if event.null_count < n else np.zeros(n, bool)
    is_tr = _bools(pc.equal(event, "transcription")) if event.null_count < n else np.zeros(n, bool)
    has_rec = _present(raw, _ONLY_RECORDING)
    has_tr = _present(raw, _ONLY_TRANSCRIPTION)
    inferred_tr = has_tr & ~has_rec
    record_done = np.zeros(n, dtype=bool)
    message = raw.column("message")
    if message.null_count < n:
        record_done = _bools(pc.equal(message, "record_done"))
    # what callbacks.infer_kind decides from the fields alone
    inferred_rec = (has_rec & ~has_tr) | (~inferred_tr & record_done)
    kind_rec = np.where(given, is_rec, inferred_rec)
    kind_tr = np.where(given, is_tr, inferred_tr)
    # what callbacks.normalise_callback refuses: an unknown kind, a kind that cannot be told,
    # a kind that contradicts the fields
    bad = (given & ~is_rec & ~is_tr) | (~given & ~inferred_rec & ~inferred_tr) \
        | (is_rec & inferred_tr) | (is_tr & inferred_rec)
    recording_id = raw.column("recording_id")
    if recording_id.null_count:
        bad |= ~_bools(recording_id.is_valid())
    if recording_id.null_count < n:
        blank = pc.or_(pc.equal(pc.utf8_length(recording_id), 0), pc.utf8_is_space(recording_id))
        bad |= _bools(blank)
    if known:
        rows = np.fromiter(known, dtype=np.int64, count=len(known))
        bad[rows] = True
    if bad.any():
        _explain(raw, np.flatnonzero(bad), known or {}, rejected)
        kind_rec &= ~bad
        kind_tr &= ~bad
    kinds = np.full(n, REJECTED, dtype=np.int8)
    kinds[kind_rec] = RECORDING
    kinds[kind_tr] = TRANSCRIPTION
    wide = _wide(raw, kinds, rejected)
    return Typed(wide, kinds, rejected.sorted())


def _explain(raw: pa.Table, rows: np.ndarray, known: dict[int, str], rejected: Rejected) -> None:
    """Word the reason of each rejected row, through normalise_callback where it applies."""
    events = raw.column("event")
    for row in rows.tolist():
        event = _text(events[row].as_py())
        reason = known.get(row)
        if reason is None:
            try:
                normalise_callback(_row_payload(raw, row), kind=event)  # type: ignore[arg-type]
            except CallbackError as exc:
                reason = exc.reason
            else:  # pragma: no cover - the vectorised checks above mirror normalise_callback
                reason = "the callback cannot be used"
        kind = event if event in EVENT_KINDS else None
        rejected.add(row, reason, kind)


def _reject_values(raw: pa.Table, column: str, bad: np.ndarray, kinds: np.ndarray, kind: int,
                   message: str, rejected: Rejected) -> None:
    """Reject the rows of ``kind`` whose ``column`` did not parse (first problem per row)."""
    rows = np.flatnonzero(bad & (kinds == kind))
    name = "recording" if kind == RECORDING else "transcription"
    for row in rows.tolist():
        rejected.add(row, message.format(field=column, value=raw.column(column)[row].as_py()), name)
    kinds[rows] = REJECTED


_NOT_A_NUMBER = "{field}: {value!r} is not a number"
_NOT_A_TIME = "received_at: {value!r} is not a time (ISO 8601 expected)"


def _wide(raw: pa.Table, kinds: np.ndarray, rejected: Rejected) -> pa.Table:
    """Every column of both kinds, typed, for every row; rows that fail a parse are rejected.

    A field of the other kind (a recording field on a transcription row) is typed too but
    never rejects the row: only the row's own fields count.
    """
    typed: dict[str, Any] = {}
    checks = [("recording_duration", parse_int, RECORDING),
              ("recording_duration_ms", parse_int, RECORDING),
              ("recording_start_ms", parse_int, RECORDING),
              ("recording_end_ms", parse_int, RECORDING),
              ("transcription_charge", parse_float, TRANSCRIPTION),
              ("transcription_rate", parse_float, TRANSCRIPTION),
              ("duration", parse_int, TRANSCRIPTION)]
    for name, parse, kind in checks:
        values, bad = parse(raw.column(name))
        if bad is not None:
            _reject_values(raw, name, bad, kinds, kind, _NOT_A_NUMBER, rejected)
        typed[name] = values
    received, bad = parse_time(raw.column("received_at"))
    if bad is not None:
        for kind in (RECORDING, TRANSCRIPTION):
            _reject_values(raw, "received_at", bad, kinds, kind, _NOT_A_TIME, rejected)
    source = raw.column("source")
    if source.null_count == len(source):
        backfilled: Any = pa.array(np.zeros(len(source), dtype=bool))
    else:
        backfilled = pc.fill_null(pc.equal(source, "backfill"), False)
    return pa.Table.from_arrays([
        raw.column("recording_id"),
        raw.column("conference_name"),
        raw.column("api_id"),
        raw.column("record_url"),
        file_format(raw.column("record_url")),
        typed["recording_duration"],
        typed["recording_duration_ms"],
        pc.cast(typed["recording_start_ms"], _UTC_MS),
        pc.cast(typed["recording_end_ms"], _UTC_MS),
        received,
        backfilled,
        raw.column("call_uuid"),
        raw.column("transcription"),
        typed["transcription_charge"],
        typed["transcription_rate"],
        typed["duration"],
        empty_as_missing(raw.column("error")),
    ], schema=WIDE_ARROW)


# -- column parsers: (typed column, bad-row mask or None) ----------------------------------------

def _all_null(column: pa.ChunkedArray | pa.Array) -> bool:
    return column.null_count == len(column)


def _clean_text(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Whitespace trimmed, empty text as missing."""
    trimmed = pc.utf8_trim_whitespace(column)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def _number_text(column: pa.ChunkedArray | pa.Array) -> tuple[pa.ChunkedArray | pa.Array,
                                                              np.ndarray]:
    """Floats of the values that look like numbers, and the mask of those that do not."""
    text = _clean_text(column)
    looks = pc.match_substring_regex(text, _NUMBER)
    bad = _bools(pc.and_(text.is_valid(), pc.invert(pc.fill_null(looks, False))))
    kept = pc.if_else(pc.fill_null(looks, False), text, pa.scalar(None, pa.string()))
    return pc.cast(kept, pa.float64()), bad


def parse_int(column: pa.ChunkedArray | pa.Array) -> tuple[pa.ChunkedArray | pa.Array,
                                                           np.ndarray | None]:
    """Whole numbers from text: ``"345100"``, ``"345100.00000"``, ``" 7 "``; fractions rounded.

    Examples
    --------
    >>> values, bad = parse_int(pa.array(["345100", "345100.00000", "", "x", "2.5"]))
    >>> values.to_pylist(), bad.tolist()
    ([345100, 345100, None, None, 3], [False, False, False, True, False])
    """
    if _all_null(column):
        return pa.nulls(len(column), pa.int64()), None
    try:
        return pc.cast(column, pa.int64()), None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    bad: np.ndarray | None = None
    try:
        floats = pc.cast(column, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        floats, bad = _number_text(column)
    unusable = pc.or_(pc.invert(pc.is_finite(floats)),
                      pc.greater_equal(pc.abs(floats), _INT64_LIMIT))
    if pc.any(unusable).as_py():
        out_of_range = _bools(unusable)
        bad = out_of_range if bad is None else bad | out_of_range
        floats = pc.if_else(pc.fill_null(unusable, False), pa.scalar(None, pa.float64()), floats)
    whole = pc.cast(pc.round(floats, 0, round_mode="half_up"), pa.int64())
    return whole, bad


def parse_float(column: pa.ChunkedArray | pa.Array) -> tuple[pa.ChunkedArray | pa.Array,
                                                             np.ndarray | None]:
    """Finite floats from text (``"0.05000"``); empty is missing, the rest is bad.

    Examples
    --------
    >>> values, bad = parse_float(pa.array(["0.05", "", "nan", "1e400"]))
    >>> values.to_pylist(), bad.tolist()
    ([0.05, None, None, None], [False, False, True, True])
    """
    if _all_null(column):
        return pa.nulls(len(column), pa.float64()), None
    bad: np.ndarray | None = None
    try:
        floats = pc.cast(column, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        floats, bad = _number_text(column)
    infinite = pc.invert(pc.is_finite(floats))
    if pc.any(infinite).as_py():
        bad = _bools(infinite) if bad is None else bad | _bools(infinite)
        floats = pc.if_else(pc.fill_null(infinite, False), pa.scalar(None, pa.float64()), floats)
    return floats, bad


def parse_time(column: pa.ChunkedArray | pa.Array) -> tuple[pa.ChunkedArray | pa.Array,
                                                            np.ndarray | None]:
    """``2026-11-24T10:15:02.123456Z`` -> timestamp[us, UTC]; a time without a zone is UTC.

    Examples
    --------
    >>> values, bad = parse_time(pa.array(["2026-11-24T10:15:02.5Z", "2026-11-24 10:15", "x"]))
    >>> [str(v) for v in values.to_pylist()], bad.tolist()
    (['2026-11-24 10:15:02.500000+00:00', '2026-11-24 10:15:00+00:00', 'None'], [False, False, True])
    """
    if _all_null(column):
        return pa.nulls(len(column), _UTC_US), None
    try:
        return pc.cast(column, _UTC_US), None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    text = _clean_text(column)
    series = pd.Series(text.to_pylist(), dtype=object)
    parsed = pd.to_datetime(series, format="ISO8601", utc=True, errors="coerce")
    missing = parsed.isna().to_numpy()
    bad = _bools(text.is_valid()) & missing
    values = pa.array(parsed.dt.as_unit("us"), type=_UTC_US, from_pandas=True)
    return values, (bad if bad.any() else None)


def file_format(record_url: pa.ChunkedArray | pa.Array) -> pa.Array:
    """``mp3`` / ``wav`` from the record URL's extension (query and fragment ignored).

    Examples
    --------
    >>> file_format(pa.array(["https://h/R/a.mp3", "https://h/R/b.WAV?x=1", "https://h/R/c",
    ...                       None])).to_pylist()
    ['mp3', 'wav', None, None]
    """
    n = len(record_url)
    codes = np.full(n, -1, dtype=np.int8)
    if not _all_null(record_url):
        mp3 = _bools(pc.ends_with(record_url, ".mp3"))
        wav = _bools(pc.ends_with(record_url, ".wav"))
        codes[mp3] = 0
        codes[wav] = 1
        other = ~(mp3 | wav) & _bools(record_url.is_valid())
        if other.any():
            rows = np.flatnonzero(other)
            urls = pc.take(record_url, pa.array(rows))
            ext = pc.struct_field(
                pc.extract_regex(urls, r"(?i)\.(?P<ext>[a-z0-9]+)(?:[?#].*)?$"), [0])
            lower = pc.utf8_lower(ext)
            codes[rows[_bools(pc.equal(lower, "mp3"))]] = 0
            codes[rows[_bools(pc.equal(lower, "wav"))]] = 1
    indices = pa.array(codes, mask=codes < 0, type=pa.int8())
    return pa.DictionaryArray.from_arrays(indices, _FORMATS)


def empty_as_missing(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Empty or blank text as missing (``error`` is <NA> on success)."""
    if _all_null(column):
        return column
    blank = pc.or_(pc.equal(pc.utf8_length(column), 0), pc.utf8_is_space(column))
    if not pc.any(blank).as_py():
        return column
    return pc.if_else(blank, pa.scalar(None, pa.string()), column)
