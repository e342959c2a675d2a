"""JSON Lines callback logs -> typed Arrow tables, at the JSON reader's speed, nothing lost.

The file is read in pieces of about 16 MB cut at line ends. Each piece goes to
``pyarrow.json.read_json`` with an explicit schema where every field is a string (everything
arrives as text; a schema of numbers cannot read ``"123"``), and fields the schema does not name
(CamelCase spellings, flat lines) are inferred and renamed on the column names with
:func:`~recording_toolkit.callbacks.snake_case`, not per row.

A piece the reader refuses (a torn or non-JSON line, a number where text was expected, a
duplicated key) is not read line by line as a whole: it is cut into groups of
:data:`GROUP_LINES` lines, each group goes to the reader again, and only a group that still
fails is read line by line with :mod:`json`, where each bad line is quarantined with its reason
and the good ones are kept. One bad line in a 450 MB file costs one re-read piece and one small
group, not the file. The line-by-line path is the reference meaning of a line; the Arrow path
gives the same rows for every line it accepts.

Row -> line numbers: the reader skips blank lines and would read two objects on one line as two
rows. A piece whose row count equals its line count maps row *i* to line *i*; a piece where they
differ, or one with a row to quarantine, is checked line by line (each non-blank line must hold
one object) before its line numbers are trusted, and goes the slow way if it fails the check.

A last line without its ``\\n`` is read (it may be a complete line whose newline has not been
written yet) but not *consumed*: the cache keeps only bytes up to the last newline, so a line
that was torn by a crash, or is being appended right now, is looked at again next time.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Sequence
from concurrent import futures
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from ..callbacks import normalise_fields, snake_case
from ..errors import CallbackError
from ._convert import ENVELOPE, FIELDS, RAW_SCHEMA, Typed, type_events
from ._decode import DamagedStreamError
from ._quarantine import Quarantine
from ._sources import SourceFile, open_binary
from ._threads import helpers

__all__ = ["CHUNK_BYTES", "GROUP_LINES", "JsonlRead", "json_kind", "parse_line", "read_jsonl"]

CHUNK_BYTES = 16 << 20
GROUP_LINES = 2000

_FIELD_SET = frozenset(FIELDS)
_TOP_KEYS = frozenset({*ENVELOPE, "verified", "payload"})
_PARSE = pj.ParseOptions(
    explicit_schema=pa.schema([
        ("event", pa.string()),
        ("received_at", pa.string()),
        ("source", pa.string()),
        ("payload", pa.struct([(name, pa.string()) for name in FIELDS])),
    ]),
    unexpected_field_behavior="infer",
)
_READ = pj.ReadOptions(use_threads=True, block_size=1 << 20)
_LOOK = 64 << 10
_RELEASE_SECONDS = 60.0
_WHITESPACE = b" \t\r"
_COUNT_BLOCK = 256 << 10
_CONFLICT = "a field is given more than once with different values; refusing to pick one"


class _Fallback(Exception):
    """The Arrow table cannot be turned into raw columns; read these lines one by one."""


@dataclass
class JsonlRead:
    """What reading (part of) one JSON Lines file gave.

    ``batches`` are typed wide tables (``_convert.Typed``) with the kind of each row in
    ``kinds``. ``consumed`` is the byte offset just past the last ``\\n`` read (only meaningful
    for an uncompressed file), ``next_line`` the number of the line that starts there. What an
    unterminated last line gave is in ``tail_*`` (never cached). ``error`` says why the rest of
    the file, from line ``next_line``, could not be read (a corrupt compressed stream, an I/O
    error), or is None; ``error_raw`` holds the bytes of the line that was being read then.
    """

    batches: list[pa.Table] = field(default_factory=list)
    kinds: list[np.ndarray] = field(default_factory=list)
    quarantine: Quarantine | None = None
    lines: int = 0
    blank_lines: int = 0
    consumed: int = 0
    next_line: int = 1
    tail_batches: list[pa.Table] = field(default_factory=list)
    tail_kinds: list[np.ndarray] = field(default_factory=list)
    tail_quarantine: Quarantine | None = None
    tail_lines: int = 0
    error: str | None = None
    error_raw: bytes = b""


# -- one line, the reference meaning ---------------------------------------------------------------

class _Pairs(list[tuple[str, Any]]):
    """A JSON object as its (key, value) pairs, so repeated keys are seen, not overwritten."""


def _plain(value: Any) -> Any:
    if isinstance(value, _Pairs):
        return {key: _plain(item) for key, item in value}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def json_kind(value: Any) -> str:
    """What JSON calls the type of a parsed value: ``null``, ``array``, ``number``...

    >>> [json_kind(json.loads(text)) for text in ("null", "[1]", "2.5", "true", '"x"')]
    ['null', 'array', 'number', 'boolean', 'string']
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array"


def _envelope_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, _Pairs | list):
        return json.dumps(_plain(value), ensure_ascii=False)
    return str(value)


def parse_line(line: bytes | bytearray | str) -> tuple[dict[str, str] | None, str | None, str | None]:
    """One log line -> (raw row, None, event) or (None, reason, event).

    Enveloped lines (``{"event", "received_at", "source", "payload": {...}}``) and flat lines
    (just the callback's fields) are both read; names are normalised to snake_case; JSON null is
    an absent field.

    Examples
    --------
    >>> parse_line(b'{"event": "recording", "payload": {"RecordingID": "r1"}}')[0]["recording_id"]
    'r1'
    >>> parse_line(b'{"recording_id": "r1", "RecordingID": "r2"}')[1]
    "field 'recording_id' is given more than once with different values: 'r1' (as \
'recording_id') and 'r2' (as 'RecordingID'); refusing to pick one"
    >>> parse_line(b'{"event": "recording", "payl')[1]
    'not valid JSON: Unterminated string starting at: line 1 column 24 (char 23)'
    """
    try:
        obj = json.loads(line, object_pairs_hook=_Pairs)
    except RecursionError:
        return None, "not valid JSON: nested too deeply", None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        if isinstance(exc, UnicodeDecodeError):
            return None, f"not valid UTF-8 text: {exc}", None
        return None, f"not valid JSON: {exc}", None
    if not isinstance(obj, _Pairs):
        return None, f"not a JSON object (a JSON {json_kind(obj)})", None
    envelope: dict[str, str | None] = {}
    fields: list[tuple[str, Any]] = []
    payload: Any = None
    has_payload = False
    for key, value in obj:
        if key in ENVELOPE:
            text = _envelope_text(value)
            if key in envelope and envelope[key] != text:
                return None, (f"field {key!r} is given more than once with different values;"
                              " refusing to pick one"), None
            envelope[key] = text
        elif key == "payload":
            if has_payload and _plain(payload) != _plain(value):
                return None, ("field 'payload' is given more than once with different values;"
                              " refusing to pick one"), envelope.get("event")
            payload, has_payload = value, True
        elif key != "verified":
            fields.append((key, value))
    event = envelope.get("event")
    if payload is not None:
        if not isinstance(payload, _Pairs):
            return None, "payload is not a JSON object", event
        fields = list(payload)
    wanted = [(key, _plain(value)) for key, value in fields
              if value is not None and snake_case(key) in _FIELD_SET]
    try:
        values = normalise_fields(wanted)
    except CallbackError as exc:
        return None, exc.reason, event
    row: dict[str, str] = {key: text for key, text in envelope.items() if text is not None}
    row.update(values)
    for key, text in row.items():
        if not _is_unicode(text):
            return None, (f"field {key!r} holds an unpaired surrogate escape (such as"
                          " \\ud800): not valid Unicode text"), event
    return row, None, event


def _is_unicode(text: str) -> bool:
    """False for text holding a lone surrogate (JSON ``"\\ud800"`` decodes to one), which
    cannot be stored as UTF-8."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# -- Arrow table -> raw columns --------------------------------------------------------------------

def _as_text(array: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array | None:
    kind = array.type
    if pa.types.is_null(kind):
        return None
    if pa.types.is_string(kind):
        return array
    if (pa.types.is_large_string(kind) or pa.types.is_boolean(kind) or pa.types.is_integer(kind)
            or pa.types.is_floating(kind)):
        return pc.cast(array, pa.string())
    raise _Fallback(f"a field holds {kind} values")


def _bool_mask(array: pa.ChunkedArray | pa.Array) -> np.ndarray:
    if array.null_count:
        array = pc.fill_null(array, False)
    return np.asarray(array.to_numpy(zero_copy_only=False) if isinstance(array, pa.Array)
                      else array.to_numpy(), dtype=bool)


def _merge(candidates: list[tuple[str, pa.ChunkedArray | pa.Array]], name: str,
           scope: np.ndarray | None, known: dict[int, str]) -> pa.ChunkedArray | pa.Array | None:
    """One column from several spellings of a field; rows where they disagree are known-bad."""
    texts = [(label, text) for label, array in candidates
             if (text := _as_text(array)) is not None]
    if not texts:
        return None
    if len(texts) == 1:
        return texts[0][1]
    conflict = np.zeros(len(texts[0][1]), dtype=bool)
    for i, (_, a) in enumerate(texts):
        for _, b in texts[i + 1:]:
            conflict |= _bool_mask(pc.not_equal(a, b))  # null where either is missing
    if scope is not None:
        conflict &= scope
    for row in np.flatnonzero(conflict).tolist():
        # the reason shows the values in the line's order, which only the line itself tells:
        # the reader asks parse_line for it (rows like this are rare)
        known.setdefault(row, _CONFLICT)
    return pc.coalesce(*(text for _, text in texts))


def canonical(table: pa.Table) -> tuple[pa.Table, dict[int, str]]:
    """The reader's table as raw columns (``_convert.RAW_COLUMNS``) and known-bad rows."""
    n = table.num_rows
    names = table.column_names
    columns: dict[str, Any] = {}
    for name in ENVELOPE:
        text = _as_text(table.column(name)) if name in names else None
        columns[name] = text if text is not None else pa.nulls(n, pa.string())
    payload = table.column("payload") if "payload" in names else None
    if payload is not None and not pa.types.is_struct(payload.type):
        raise _Fallback("payload is not an object")
    enveloped: np.ndarray | None = None  # None: every row enveloped, or none
    use_payload = payload is not None and payload.null_count < n
    use_top = payload is None or payload.null_count > 0
    if use_payload and use_top:
        assert payload is not None
        enveloped = _bool_mask(payload.is_valid())
    in_payload: dict[str, list[tuple[str, Any]]] = {}
    if use_payload:
        assert payload is not None
        for index, child in enumerate(payload.type):
            snake = snake_case(child.name)
            if snake in _FIELD_SET:
                in_payload.setdefault(snake, []).append(
                    (child.name, pc.struct_field(payload, [index])))
    on_top: dict[str, list[tuple[str, Any]]] = {}
    if use_top:
        for name in names:
            if name in _TOP_KEYS:
                continue
            snake = snake_case(name)
            if snake in _FIELD_SET:
                on_top.setdefault(snake, []).append((name, table.column(name)))
    known: dict[int, str] = {}
    for name in FIELDS:
        inner = _merge(in_payload.get(name, []), name, enveloped, known)
        outer = _merge(on_top.get(name, []), name,
                       None if enveloped is None else ~enveloped, known)
        if inner is not None and outer is not None:
            value = pc.if_else(pa.array(enveloped), inner, outer)
        else:
            value = inner if inner is not None else outer
        columns[name] = value if value is not None else pa.nulls(n, pa.string())
    return pa.Table.from_pydict(columns, schema=RAW_SCHEMA), known


def _blocks_start_with_objects(data: bytes | memoryview) -> bool:
    """True when the first value of every block pyarrow's reader parses is an object.

    pyarrow 26 crashes the process (a segmentation fault, no exception) when a block's first
    value is ``null`` (a line ``null``, even after blank lines). Its reader cuts the data at
    multiples of the block size and parses the line that straddles each cut, then the lines
    after it. So the line at the start, and the lines on either side of each cut, must open an
    object; anything else goes the line-by-line way (a first value that is not an object
    fails the reader anyway). A line longer than :data:`_LOOK` across a cut is not searched
    for: such a piece goes the line-by-line way too.
    """
    size = len(data)
    starts = {0}
    for cut in range(_READ.block_size, size, _READ.block_size):
        base = max(0, cut - _LOOK)
        window = bytes(data[base:min(size, cut + _LOOK)])
        before = window.rfind(b"\n", 0, cut - base)
        after = window.find(b"\n", cut - base - 1)
        if (before < 0 and base > 0) or after < 0:
            return False
        starts.update((base + before + 1, base + after + 1))
    for start in starts:
        if start >= size:
            continue
        head = bytes(data[start:start + _LOOK]).lstrip(b" \t\r\n")
        if head[:1] != b"{":
            return False
    return True


def _read_arrow(data: bytes | memoryview) -> pa.Table | None:
    if not _blocks_start_with_objects(data):
        return None
    with memoryview(data) as mine:
        try:
            return pj.read_json(pa.BufferReader(pa.py_buffer(mine)), read_options=_READ,
                                parse_options=_PARSE)
        except (pa.ArrowException, ValueError):
            _wait_for_release(mine)
            return None


def _wait_for_release(view: memoryview) -> None:
    """Release ``view`` once pyarrow lets go of it.

    When one block fails, ``read_json`` raises while its tasks for other blocks may still
    hold the buffer for a moment (seen under CPU contention: about a millisecond). Releasing
    the reader's reused buffer then fails with ``BufferError``, and writing the next piece
    into it could change bytes a task is still reading: wait for them instead (bounded).
    """
    deadline = time.monotonic() + _RELEASE_SECONDS
    while True:
        try:
            view.release()
            return
        except BufferError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.0005)


def _one_object(line: bytes | bytearray) -> bool:
    text = line.strip(_WHITESPACE)
    return text[:1] == b"{" and text[-1:] == b"}"


def _blank(line: bytes | bytearray) -> bool:
    return not line.strip(_WHITESPACE)


# -- a file ---------------------------------------------------------------------------------------

def count_lines(buf: bytearray | bytes, end: int) -> int:
    """How many ``\\n`` ``buf[:end]`` holds (numpy, a block at a time: about twice as fast
    as ``bytes.count``)."""
    data = np.frombuffer(buf, dtype=np.uint8, count=end)
    found = np.empty(min(end, _COUNT_BLOCK), dtype=bool)
    total = 0
    for start in range(0, end, _COUNT_BLOCK):
        block = data[start:start + _COUNT_BLOCK]
        hits = found[:len(block)]
        np.equal(block, 10, out=hits)
        total += int(np.count_nonzero(hits))
    return total


def parse_piece(buf: bytearray, cut: int) -> pa.Table | None:
    """``buf[:cut]`` through the Arrow reader, or None when it refuses it (nothing kept)."""
    with memoryview(buf) as view, view[:cut] as data:
        return _read_arrow(data)


class _Reader:
    def __init__(self, source: SourceFile, *, strict: bool, first_line: int = 1) -> None:
        self.source = source
        self.strict = strict
        self.line = first_line  # the number of the next piece's first line
        self.out = JsonlRead(quarantine=Quarantine(source.name))

    def _check_strict(self, quarantine: Quarantine) -> None:
        if self.strict and len(quarantine):
            error = quarantine.first_error()
            assert error is not None
            raise error

    def _keep(self, typed: Any, tail: bool) -> None:
        if not len(typed.kinds):
            return
        (self.out.tail_batches if tail else self.out.batches).append(typed.wide)
        (self.out.tail_kinds if tail else self.out.kinds).append(typed.kinds)

    def piece(self, buf: bytearray, cut: int, table: pa.Table | None) -> None:
        """The next lines of the file, ``buf[:cut]`` (ending with ``\\n``), and what
        :func:`parse_piece` made of them (None: the reader refused the piece).

        Pieces must come in file order (each one's first line number is the count so far).
        ``buf`` is one of the reader's reusable buffers: nothing here keeps a reference to it.
        """
        first_line = self.line
        n_lines = count_lines(buf, cut)
        self.line += n_lines
        if table is not None:
            try:
                raw, known = canonical(table)
            except _Fallback:
                raw = None
            if raw is not None:
                lines: Sequence[bytes | bytearray] | None = None
                rows: np.ndarray | None = None
                if raw.num_rows != n_lines:
                    lines = buf[:cut].split(b"\n")[:-1]
                    rows = self._row_lines(lines, raw.num_rows)
                if raw.num_rows == n_lines or rows is not None:
                    typed: Typed | None = type_events(raw, known=known)
                    assert typed is not None
                    if typed.rejected and lines is None:
                        lines = buf[:cut].split(b"\n")[:-1]
                        if all(map(_one_object, lines)):
                            rows = np.arange(len(lines))
                        else:
                            typed = None  # rows may not be lines: read this piece the slow way
                    if typed is not None:
                        self._emit(typed, rows, lines, first_line, raw.num_rows,
                                   n_lines - raw.num_rows)
                        return
        self._fallback([bytes(line) for line in buf[:cut].split(b"\n")[:-1]], first_line)

    @staticmethod
    def _row_lines(lines: Sequence[bytes | bytearray], n_rows: int) -> np.ndarray | None:
        """Line index of each row when each non-blank line holds one object, else None."""
        rows = [i for i, line in enumerate(lines) if not _blank(line)]
        if len(rows) != n_rows or not all(_one_object(lines[i]) for i in rows):
            return None
        return np.asarray(rows, dtype=np.int64)

    def _emit(self, typed: Any, rows: np.ndarray | None, lines: Sequence[bytes | bytearray] | None,
              first_line: int, n_rows: int, n_blank: int, *, tail: bool = False) -> None:
        quarantine = Quarantine(self.source.name)
        if typed.rejected:
            assert lines is not None
            for row, reason, event in zip(typed.rejected.rows, typed.rejected.reasons,
                                          typed.rejected.events, strict=True):
                index = int(rows[row]) if rows is not None else row
                if reason == _CONFLICT:
                    reason = parse_line(lines[index])[1] or _CONFLICT
                quarantine.add(first_line + index, reason, lines[index], event)
        self._check_strict(quarantine)
        self._keep(typed, tail)
        self._count(n_rows, n_blank, tail)
        self._merge_quarantine(quarantine, tail)

    def _count(self, n_rows: int, n_blank: int, tail: bool) -> None:
        if tail:
            self.out.tail_lines += n_rows
        else:
            self.out.lines += n_rows
            self.out.blank_lines += n_blank

    def _merge_quarantine(self, quarantine: Quarantine, tail: bool) -> None:
        if not len(quarantine):
            return
        if tail:
            self.out.tail_quarantine = quarantine
            return
        target = self.out.quarantine
        assert target is not None
        target.lines += quarantine.lines
        target.events += quarantine.events
        target.reasons += quarantine.reasons
        target.raws += quarantine.raws

    def _fallback(self, lines: list[bytes], first_line: int) -> None:
        for start in range(0, len(lines), GROUP_LINES):
            group = lines[start:start + GROUP_LINES]
            if not self._group_arrow(group, first_line + start):
                self.python_lines(group, first_line + start)

    def _group_arrow(self, group: list[bytes], first_line: int) -> bool:
        rows = [i for i, line in enumerate(group) if not _blank(line)]
        if not rows or not all(_one_object(group[i]) for i in rows):
            return False
        table = _read_arrow(b"\n".join(group) + b"\n")
        if table is None or table.num_rows != len(rows):
            return False
        try:
            raw, known = canonical(table)
        except _Fallback:
            return False
        typed = type_events(raw, known=known)
        self._emit(typed, np.asarray(rows, dtype=np.int64), group, first_line, len(rows),
                   len(group) - len(rows))
        return True

    def python_lines(self, lines: list[bytes], first_line: int, *, torn: bool = False) -> None:
        """The reference path: each line with :func:`parse_line`."""
        quarantine = Quarantine(self.source.name)
        good: list[dict[str, str]] = []
        good_rows: list[int] = []
        n_rows = 0
        for index, line in enumerate(lines):
            if _blank(line):
                continue
            n_rows += 1
            row, reason, event = parse_line(line)
            if row is None:
                assert reason is not None
                if torn and reason.startswith("not valid JSON"):
                    reason = f"torn last line (no newline at the end of the file): {reason}"
                quarantine.add(first_line + index, reason, line, event)
            else:
                good.append(row)
                good_rows.append(index)
        typed = type_events(pa.Table.from_pylist(good, schema=RAW_SCHEMA))
        for good_row, reason, event in zip(typed.rejected.rows, typed.rejected.reasons,
                                           typed.rejected.events, strict=True):
            index = good_rows[good_row]
            quarantine.add(first_line + index, reason, lines[index], event)
        self._check_strict(quarantine)
        self._keep(typed, torn)
        self._count(n_rows, len(lines) - n_rows, torn)
        self._merge_quarantine(quarantine, torn)


def read_jsonl(source: SourceFile, *, offset: int = 0, first_line: int = 1, strict: bool = False,
               on_bytes: Callable[[int], None] | None = None,
               chunk_bytes: int = CHUNK_BYTES) -> JsonlRead:
    """Read a JSON Lines file from byte ``offset`` (whose first line is ``first_line``).

    Raises :class:`~recording_toolkit.errors.LoadError` on the first bad line when ``strict``.
    A missing file raises :class:`FileNotFoundError`; a file that stops being readable part of
    the way (a truncated or corrupt gzip or zstd stream, an I/O error) keeps every complete
    line read before the damage and says why in ``error`` (the unfinished line's bytes in
    ``error_raw``).
    """
    reader = _Reader(source, strict=strict, first_line=first_line)
    out = reader.out
    out.consumed = offset
    buf, spare = bytearray(chunk_bytes), bytearray(chunk_bytes)
    have = 0  # bytes of an unfinished line at the start of buf
    failure: BaseException | None = None
    opened: contextlib.AbstractContextManager[Any]
    try:
        opened = open_binary(source, offset=offset)
    except FileNotFoundError:
        raise
    except (OSError, pa.ArrowException) as exc:  # a folder, no permission: nothing to read
        opened, failure = contextlib.nullcontext(None), exc
    with _Pipeline() as pipeline, opened as stream:
        while failure is None:
            if have == len(buf):  # a line longer than the buffer: make room
                buf.extend(bytes(len(buf)))
            count, failure = _fill(stream, buf, have)
            if not count:
                break
            if on_bytes is not None:
                on_bytes(count)
            end = have + count
            cut = buf.rfind(b"\n", 0, end) + 1
            if cut == 0:
                have = end
                continue
            table = parse_piece(buf, cut)
            pipeline.wait()  # the previous piece is done with: its buffer is free again
            pipeline.start(reader.piece, buf, cut, table)
            out.consumed += cut
            have = end - cut
            if len(spare) < have:
                spare.extend(bytes(have - len(spare)))
            spare[:have] = buf[cut:end]
            buf, spare = spare, buf
        pipeline.wait()
    out.next_line = reader.line
    rest = bytes(buf[:have])
    if failure is not None:
        out.error = f"the file cannot be read from here on: {_describe(failure)}"
        out.error_raw = rest
        return out
    if rest and not _blank(rest):  # blank text without a newline is not a line (yet)
        reader.python_lines([rest], reader.line, torn=True)
    return out


class _Pipeline:
    """A helper thread (:mod:`._threads`) types a piece while the caller reads and parses the
    next one.

    ``pyarrow.json`` parses a piece on every core; typing it (``pyarrow.compute``, which
    releases the GIL, and numpy) would otherwise leave a core idle for as long. At most one
    piece is being typed at a time, so pieces are typed in file order and the caller may
    reuse a piece's buffer once :meth:`wait` has returned. An error raised while typing (a
    strict load's first bad line) is raised by the next :meth:`wait`.
    """

    def __init__(self) -> None:
        self._pending: Future[None] | None = None

    def start(self, work: Callable[..., None], *args: Any) -> None:
        assert self._pending is None
        self._pending = helpers().submit(work, *args)

    def wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> _Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:  # never leave a thread reading a buffer
            futures.wait([pending])


def _describe(exc: BaseException) -> str:
    if isinstance(exc, DamagedStreamError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _fill(stream: Any, buf: bytearray, start: int) -> tuple[int, BaseException | None]:
    """Fill ``buf[start:]`` from ``stream`` until it is full or the stream ends: (bytes read,
    the error that stopped it or None). What was read before an error is kept."""
    total = 0
    while start + total < len(buf):
        try:
            count = _read_into(stream, buf, start + total)
        except (OSError, EOFError, pa.ArrowException) as exc:
            return total, exc
        if not count:
            break
        total += count
    return total, None


def _read_into(stream: Any, buf: bytearray, start: int) -> int:
    """Fill ``buf[start:]`` from ``stream`` (as far as one read goes); bytes read."""
    with memoryview(buf) as view, view[start:] as target:
        readinto = getattr(stream, "readinto", None)
        if readinto is not None:
            return readinto(target) or 0
        block = stream.read(len(target))
        target[:len(block)] = block
        return len(block)
