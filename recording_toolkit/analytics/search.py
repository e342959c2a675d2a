"""What was said: transcript search and keyword counts over the transcription callbacks' text.

The transcription callback carries the text (``schema.TRANSCRIPTIONS``, column
``transcription``). :func:`search_transcripts` finds the transcriptions that mention a word,
a phrase or a pattern, one row per matching transcription with the number of matches and a
snippet around the first; :func:`keyword_counts` counts several terms per conference or per day,
for a chart.

How text is matched, in one place for both:

- **Literal by default**, case-insensitive unless ``case_sensitive=True``. ``regex=True`` reads
  the query as a regular expression in RE2's syntax (the engine Arrow uses: Python's syntax
  less look-arounds and back-references). A pattern RE2 refuses, or one that matches empty
  text (it would match every transcription), is one ``ValueError`` naming the query.
- **Matches are counted without overlap**, left to right: ``"aa"`` occurs twice in
  ``"aaaa"``.
- **What is searched**: transcriptions that succeeded and have text. A failed transcription
  (``error`` set; its text is empty) and one whose text is missing (``<NA>``) are never
  matched; they are counted, not dropped: the result's ``attrs`` hold ``searched``, ``failed``
  and ``without_text``, which add up to the transcriptions given.
- **Vectorised**: the whole Arrow string column (the dtype ``schema.TRANSCRIPTIONS`` gives
  it) is read at once. A literal query is found byte for byte in its buffer with numpy, with
  RE2's outcome (:func:`_query` says when); a pattern is counted and found by
  ``pyarrow.compute``. Snippets are cut from the same buffer for the matching rows, all at
  once. ``benchmarks/bench_search.py`` measures it against a plain Python loop.

Examples
--------
>>> import pandas as pd
>>> tr = pd.DataFrame({"recording_id": ["a", "b", "c"],
...                    "transcription": ["Speaker 0: The budget is late.\\nSpeaker 1: Budget?",
...                                      "Speaker 0: No news.", None]})
>>> hits = search_transcripts(tr, "budget")
>>> hits[["recording_id", "count", "snippet"]].to_dict("records")
[{'recording_id': 'a', 'count': 2, 'snippet': 'Speaker 0: The budget is late. Speaker 1: Budget?'}]
>>> hits.attrs["searched"], hits.attrs["without_text"]
(2, 1)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ._common import is_dask, needs, period_start, require, to_pandas

__all__ = ["ELLIPSIS", "keyword_counts", "search_selection", "search_transcripts"]

#: What stands for text cut off before or after a snippet.
ELLIPSIS = "…"

_TEXT = ("recording_id", "transcription")
#: Characters RE2 reads as syntax outside a character class.
_SPECIAL = set("\\.^$|?*+()[]{}")


def _escape(text: str) -> str:
    """``text`` as an RE2 pattern matching it literally.

    >>> _escape("a.b (c)")
    'a\\\\.b \\\\(c\\\\)'
    """
    return "".join("\\" + c if c in _SPECIAL else c for c in text)


def _non_capturing(pattern: str) -> str:
    """``pattern`` with its unnamed groups made non-capturing (``(`` -> ``(?:``), so that it
    can sit inside the named groups the snippet is cut with (Arrow refuses unnamed ones).
    Escapes, ``\\Q...\\E`` and character classes are left as they are.

    >>> _non_capturing(r"(a|b)\\(c\\)[(]x(?:y)")
    '(?:a|b)\\\\(c\\\\)[(]x(?:y)'
    """
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        c = pattern[i]
        if pattern.startswith("\\Q", i):
            end = pattern.find("\\E", i + 2)
            end = n if end < 0 else end + 2
            out.append(pattern[i:end])
            i = end
            continue
        if c == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":  # a ']' first in a class is a literal
                out.append(pattern[i:j + 1])
                i = j + 1
                continue
        elif c == "(" and not pattern.startswith("?", i + 1):
            out.append("(?:")
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _pattern(query: Any, *, regex: bool, case_sensitive: bool, what: str = "query"
             ) -> tuple[str, str]:
    """The RE2 flags and pattern for ``query``, checked: one ``ValueError`` naming the query
    when it is not text, empty, not a pattern RE2 reads, or one that matches empty text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not isinstance(query, str):
        raise ValueError(f"{what}: {query!r} is not text")
    if query == "":
        raise ValueError(f"{what}: an empty {what} would match every transcription; give a word"
                         " or a pattern")
    pattern = _non_capturing(query) if regex else _escape(query)
    flags = "(?s)" if case_sensitive else "(?si)"
    empty = pa.array([""], pa.string())
    try:
        pc.extract_regex(empty, f"{flags}(?P<m>{pattern})")
        matches_empty = pc.count_substring_regex(empty, f"{flags}{pattern}")[0].as_py()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        # RE2 says what is wrong, then the pattern it was given (with the flags added here)
        reason = str(exc).removeprefix("Invalid regular expression: ").split(": ", 1)[0]
        raise ValueError(f"{what} {query!r} is not a regular expression RE2 accepts ({reason})"
                         ) from None
    if matches_empty:
        raise ValueError(f"{what} {query!r} matches empty text, so it would match every"
                         " transcription; make it match at least one character")
    return flags, pattern


@dataclass(frozen=True)
class _Query:
    """A query as the search reads it: RE2 flags and pattern, and, when the query can be
    matched byte for byte, the bytes to look for (ASCII lower case when ``fold``)."""

    flags: str
    body: str
    needle: bytes | None
    fold: bool
    chars: int
    #: The needle has a ``k`` or an ``s``, which RE2 also finds as the Kelvin sign or the long s:
    #: byte for byte only in text without them.
    wide_fold: bool = False

    @property
    def full(self) -> str:
        return self.flags + self.body


def _query(query: Any, *, regex: bool, case_sensitive: bool, what: str = "query") -> _Query:
    """:func:`_pattern`, plus whether the query can be matched byte for byte.

    A literal query is matched byte for byte, with the same outcome as RE2's, when the case
    counts (UTF-8 is matched exactly), or when it is ASCII (RE2 folds case by Unicode's rules,
    under which only two ASCII letters have a form outside ASCII: ``k``, the Kelvin sign, and
    ``s``, the long s; a query with either is matched byte for byte only in text without
    them). Its occurrences must not overlap one another (no proper prefix that is also a
    suffix, as in ``"aa"``), so that every occurrence counts.

    >>> _query("budget", regex=False, case_sensitive=False).needle
    b'budget'
    >>> _query("Kiosk", regex=False, case_sensitive=False).wide_fold
    True
    >>> _query("aa", regex=False, case_sensitive=False).needle is None
    True
    """
    flags, body = _pattern(query, regex=regex, case_sensitive=case_sensitive, what=what)
    needle: bytes | None = None
    fold = wide_fold = False
    if not regex:
        if case_sensitive:
            needle = query.encode()
        elif query.isascii():
            needle, fold = query.lower().encode(), True
            wide_fold = bool(set(query.lower()) & {"k", "s"})
        if needle is not None and any(needle[p:] == needle[:len(needle) - p]
                                      for p in range(1, len(needle))):
            needle = None
    return _Query(flags, body, needle, fold, len(query), wide_fold)


def _searchable(frame: pd.DataFrame) -> tuple[list[Any], np.ndarray, dict[str, int]]:
    """The text as Arrow arrays (its chunks), which rows are searched, and the counts of each
    kind."""
    import pyarrow as pa

    text = pa.array(frame["transcription"].astype(pd.StringDtype("pyarrow")))
    if text.type != pa.large_string():
        text = text.cast(pa.large_string())
    chunks = list(text.chunks) if isinstance(text, pa.ChunkedArray) else [text]
    has_text = frame["transcription"].notna().to_numpy(dtype=bool)
    if "error" in frame.columns:
        failed = frame["error"].notna().to_numpy(dtype=bool)
    else:
        failed = np.zeros(len(frame), dtype=bool)
    searched = has_text & ~failed
    counts = {"searched": int(searched.sum()), "failed": int(failed.sum()),
              "without_text": int((~has_text & ~failed).sum())}
    return chunks, searched, counts


def _as_numpy(result: Any) -> np.ndarray:
    """An Arrow kernel's result as a numpy array, missing as 0 / False."""
    import pyarrow as pa

    return np.asarray(result.fill_null(pa.scalar(0).cast(result.type))
                      .to_numpy(zero_copy_only=False))


class _Chunk:
    """One Arrow string array seen as numpy views of its offsets and bytes, and new arrays over
    the same bytes (no copy) for the kernels to read."""

    def __init__(self, array: Any) -> None:
        import pyarrow as pa

        self.size = len(array)
        buffers = array.buffers()
        self.offsets = np.frombuffer(buffers[1], dtype=np.int64)[
            array.offset:array.offset + self.size + 1]
        self.buffer = buffers[2] if buffers[2] is not None else pa.py_buffer(b"")
        self.data = np.frombuffer(self.buffer, dtype=np.uint8)

    def is_ascii(self) -> bool:
        """Whether the rows' text is all ASCII (a byte is a character)."""
        region = self.data[self.offsets[0]:self.offsets[-1]] if self.size else self.data[:0]
        return not region.size or int(region.max()) < 0x80

    def has_folded_letters(self) -> bool:
        """Whether the text holds a Kelvin sign or a long s (RE2 reads them as ``k``, ``s``
        when the case does not count)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        array = pa.LargeStringArray.from_buffers(
            self.size, pa.py_buffer(np.ascontiguousarray(self.offsets)), self.buffer)
        return bool(pc.any(pc.match_substring_regex(array, "\u212a|\u017f")).as_py())

    def rows(self, keep: np.ndarray) -> Any:
        """The array with only the rows ``keep`` marks (the others are missing, so kernels
        skip them)."""
        import pyarrow as pa

        return pa.LargeStringArray.from_buffers(
            self.size, pa.py_buffer(np.ascontiguousarray(self.offsets)), self.buffer,
            null_bitmap=pa.py_buffer(np.packbits(keep, bitorder="little")))

    def pieces(self, starts: np.ndarray, ends: np.ndarray) -> Any:
        """The byte ranges ``[starts, ends)`` (in order, not overlapping) as the even rows of an
        array whose odd rows (the bytes between them) are missing."""
        import pyarrow as pa

        n = starts.size
        offsets = np.empty(2 * n + 1, dtype=np.int64)
        offsets[0:2 * n:2] = starts
        offsets[1:2 * n:2] = ends
        offsets[2 * n] = ends[-1] if n else 0
        valid = np.full((2 * n + 7) // 8, 0x55, dtype=np.uint8)
        return pa.LargeStringArray.from_buffers(2 * n, pa.py_buffer(offsets), self.buffer,
                                                null_bitmap=pa.py_buffer(valid))


#: ASCII letters and the space, most frequent first in English: the rarest byte of a needle is
#: looked for first.
_COMMON = b" etaoinsrhldcumfpgwybvkxjqz"
#: Bytes scanned at a time for a needle's first byte, and snippets dressed at a time (so that
#: the work stays in a core's cache).
_BLOCK = 1 << 20
_ROWS = 1 << 13


def _occurrences(data: np.ndarray, lo: int, hi: int, needle: bytes, fold: bool) -> np.ndarray:
    """Where ``needle`` occurs in ``data[lo:hi]`` (sorted byte positions), ASCII letters
    compared in either case when ``fold``. The rarest byte of the needle is looked for block by
    block; the other bytes are checked only where it is, in the same block."""
    k = len(needle)
    last = hi - k  # the last position a needle can start at
    if last < lo:
        return np.zeros(0, dtype=np.int64)

    def rarity(i: int) -> int:
        at = _COMMON.find(bytes([needle[i]]))
        return len(_COMMON) if at < 0 else at

    order = sorted(range(k), key=rarity, reverse=True)
    anchor = order[0]
    byte = needle[anchor]
    letter = fold and 97 <= byte <= 122
    folded = np.empty(_BLOCK, dtype=np.uint8)
    equal = np.empty(_BLOCK, dtype=bool)
    found = []
    for start in range(lo + anchor, last + anchor + 1, _BLOCK):
        stop = min(start + _BLOCK, last + anchor + 1)
        part = data[start:stop]
        same = equal[:stop - start]
        if letter:
            np.bitwise_or(part, 0x20, out=folded[:stop - start])
            np.equal(folded[:stop - start], byte, out=same)
        else:
            np.equal(part, byte, out=same)
        at = np.flatnonzero(same) + (start - anchor)
        for i in order[1:]:  # the other bytes, while the block is in the cache
            got = data[at + i]
            if fold and 97 <= needle[i] <= 122:
                got |= 0x20
            at = at[got == needle[i]]
        found.append(at)
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


@dataclass
class _Found:
    """What one chunk's rows say about a query: matches per row, and for the rows that match,
    where the first match starts and ends (bytes in the chunk's data) and its characters."""

    counts: np.ndarray
    rows: np.ndarray
    first: np.ndarray
    end: np.ndarray
    chars: np.ndarray


def _find(chunk: _Chunk, query: _Query, searched: np.ndarray, *, where: bool = True) -> _Found:
    """Count the matches in each searched row of ``chunk`` and, with ``where``, locate the
    first one in each row that has one."""
    import pyarrow.compute as pc

    if query.needle is not None and not (query.wide_fold and chunk.has_folded_letters()):
        # byte for byte, over the chunk's bytes at once
        k = len(query.needle)
        at = _occurrences(chunk.data, int(chunk.offsets[0]), int(chunk.offsets[-1]),
                          query.needle, query.fold)
        row_start, row_end = chunk.offsets[:-1], chunk.offsets[1:]
        below = np.searchsorted(at, row_start)
        counts = np.maximum(np.searchsorted(at, row_end - k + 1) - below, 0)
        counts[~searched] = 0
        rows = np.flatnonzero(counts)
        first = at[below[rows]] if where else rows
        return _Found(counts, rows, first, first + k, np.full(rows.size, query.chars))
    counts = _as_numpy(pc.count_substring_regex(chunk.rows(searched), query.full))
    counts = counts.astype(np.int64)
    rows = np.flatnonzero(counts)
    if not where or not rows.size:
        return _Found(counts, rows, rows, rows, rows)
    hits = chunk.rows(counts > 0)
    first = _as_numpy(pc.find_substring_regex(hits, query.full))[rows] + chunk.offsets[rows]
    matched = pc.struct_field(pc.extract_regex(hits, f"{query.flags}(?P<match>{query.body})"),
                              "match")
    length = _as_numpy(pc.binary_length(matched))[rows]
    chars = _as_numpy(pc.utf8_length(matched))[rows]
    return _Found(counts, rows, first.astype(np.int64), first + length, chars)


def _counts(chunks: list[Any], query: _Query, searched: np.ndarray) -> np.ndarray:
    """Non-overlapping matches of ``query`` per row; 0 for rows not searched."""
    out, base = [], 0
    for array in chunks:
        chunk = _Chunk(array)
        out.append(_find(chunk, query, searched[base:base + chunk.size], where=False).counts)
        base += chunk.size
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def _dress(body: Any, cut_before: np.ndarray, cut_after: np.ndarray) -> Any:
    """``body`` (text cut from the transcriptions) with line breaks and tabs as spaces and
    :data:`ELLIPSIS` before and after where the text was cut, in one pass over its bytes."""
    import pyarrow as pa

    n = len(body)
    buffers = body.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64)[body.offset:body.offset + n + 1]
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else \
        np.zeros(0, dtype=np.uint8)
    ellipsis = np.frombuffer(ELLIPSIS.encode(), dtype=np.uint8)
    wide = ellipsis.size
    sizes = np.diff(offsets) + wide * (cut_before.astype(np.int64) + cut_after)
    out_offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(sizes, out=out_offsets[1:])
    out = np.empty(int(out_offsets[-1]), dtype=np.uint8)
    step = np.arange(wide)
    for first in range(0, n, _ROWS):  # a block of snippets at a time stays in the cache
        last = min(n, first + _ROWS)
        begin = out_offsets[first]
        part = out[begin:out_offsets[last]]
        lead_rows, tail_rows = cut_before[first:last], cut_after[first:last]
        lead = (out_offsets[first:last][lead_rows][:, None] - begin + step).ravel()
        tail = (out_offsets[first + 1:last + 1][tail_rows][:, None] - begin - wide
                + step).ravel()
        text = np.ones(part.size, dtype=bool)
        text[lead] = False
        text[tail] = False
        part[text] = data[offsets[first]:offsets[last]]
        breaks = part == 10  # line breaks and tabs (\n, \r, \t) are shown as spaces
        breaks |= part == 13
        breaks |= part == 9
        np.copyto(part, 32, where=breaks)
        part[lead] = np.tile(ellipsis, int(lead_rows.sum()))
        part[tail] = np.tile(ellipsis, int(tail_rows.sum()))
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(out_offsets), pa.py_buffer(out))


@dataclass
class _Cuts:
    """Where each snippet of one chunk is cut (bytes of the chunk's data), whether text goes on
    before and after it, and where the first match is in it (characters)."""

    lo: np.ndarray
    hi: np.ndarray
    cut_before: np.ndarray
    cut_after: np.ndarray
    start: np.ndarray
    end: np.ndarray


def _cuts(chunk: _Chunk, found: _Found, context: int) -> _Cuts:
    """Where to cut the snippet of each row that matches: up to ``context`` characters either
    side of the first match; and where the match starts and ends in the snippet.

    Where the text is ASCII a character is a byte. Elsewhere Arrow's character slicing walks
    ``context`` characters back from the match and on from its end, on arrays over the
    transcriptions' own bytes (no copy), so a cut never splits a character.
    """
    import pyarrow.compute as pc

    rows, first, end = found.rows, found.first, found.end
    row_start, row_end = chunk.offsets[rows], chunk.offsets[rows + 1]
    if context and chunk.is_ascii():
        lo = np.maximum(row_start, first - context)
        hi = np.minimum(row_end, end + context)
        shown_before = first - lo
    elif context:
        before = pc.utf8_slice_codeunits(chunk.pieces(row_start, first), -context)
        after = pc.utf8_slice_codeunits(chunk.pieces(end, row_end), 0, context)
        lo = first - _as_numpy(pc.binary_length(before))[::2]
        hi = end + _as_numpy(pc.binary_length(after))[::2]
        shown_before = _as_numpy(pc.utf8_length(before))[::2].astype(np.int64)
    else:
        lo, hi, shown_before = first, end, np.zeros(rows.size, dtype=np.int64)
    cut_before, cut_after = lo > row_start, hi < row_end
    start = cut_before + shown_before
    return _Cuts(lo, hi, cut_before, cut_after, start, start + found.chars)


def _cut_out(chunks: list[_Chunk], cuts: list[_Cuts], order: np.ndarray | None) -> Any:
    """Every snippet, in ``order`` (of the hits of all chunks, one after another): line breaks
    and tabs as spaces, :data:`ELLIPSIS` where text was cut.

    When the chunks are slices of one buffer (as a column read at once is), the snippets are
    copied out of it once, already in order; otherwise chunk by chunk, then ordered.
    """
    import pyarrow as pa

    if not chunks:
        return pa.array([], pa.large_string())
    lo, hi = _joined([c.lo for c in cuts]), _joined([c.hi for c in cuts])
    cut_before = np.concatenate([c.cut_before for c in cuts])
    cut_after = np.concatenate([c.cut_after for c in cuts])
    base = chunks[0].buffer
    shared = all(c.buffer.address == base.address and c.buffer.size == base.size
                 for c in chunks) and bool(np.all(lo[1:] >= hi[:-1]))
    if shared:
        pick = np.arange(lo.size) if order is None else order
        body = chunks[0].pieces(lo, hi).take(pa.array(2 * pick))
    else:
        body = pa.concat_arrays([
            chunk.pieces(c.lo, c.hi).take(pa.array(np.arange(0, 2 * c.lo.size, 2)))
            for chunk, c in zip(chunks, cuts, strict=True)])
        if order is not None:
            body = body.take(pa.array(order))
    if order is not None:
        cut_before, cut_after = cut_before[order], cut_after[order]
    return _dress(body, cut_before, cut_after)


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    """Per-chunk numbers as one array."""
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)


def _recording_columns(ids: pd.Series, recordings: Any) -> dict[str, Any]:
    """``conference_name`` and ``recording_start`` of each recording id (missing where the
    recording callback is not among ``recordings``; the first row of a repeated id)."""
    known, at = _recording_rows(ids, recordings)
    return {name: known[name].array.take(at, allow_fill=True)
            for name in ("conference_name", "recording_start")}


def _recording_rows(ids: pd.Series, recordings: Any) -> tuple[pd.DataFrame, np.ndarray]:
    """The recordings' columns the hits need, and each id's row in them (-1 where the
    recording callback is not among ``recordings``; the first row of a repeated id)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    require(recordings, ["recording_id", "conference_name", "recording_start"],
            "recordings")
    known = to_pandas(recordings, ["recording_id", "conference_name", "recording_start"])
    text = pd.StringDtype("pyarrow")
    hit_ids = pa.array(ids.astype(text))
    known_ids = pa.array(known["recording_id"].astype(text))
    if 4 * len(hit_ids) >= len(known_ids):
        # Hits about as many as the recordings: look each hit up among the recordings (the
        # engine gives a repeated value its first position).
        positions = _as_numpy(pc.index_in(hit_ids, value_set=known_ids).fill_null(-1))
    else:
        # Few hits: hash the hits' ids and look each recording up in them, rather than hash
        # every recording id.
        distinct = pc.unique(hit_ids.drop_null())
        hit_of = _as_numpy(pc.index_in(hit_ids, value_set=distinct).fill_null(-1))
        in_hits = _as_numpy(pc.index_in(known_ids, value_set=distinct).fill_null(-1))
        rows = np.flatnonzero(in_hits >= 0)
        values, first = np.unique(in_hits[rows], return_index=True)  # a repeated id: first row
        row_of = np.full(len(distinct), -1, dtype=np.int64)
        row_of[values] = rows[first]
        positions = np.where(hit_of >= 0, row_of[np.maximum(hit_of, 0)], -1)
    return known, np.asarray(positions, dtype=np.int64)


def _by_start(ids: Any, starts: Any) -> np.ndarray:
    """The order of hits by recording start (missing last), then recording id, stable.

    The starts are sorted as numbers; only hits sharing a start (those without one among them)
    are then put in order of both keys.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    def both_keys(rows: np.ndarray) -> np.ndarray:
        keys = pa.table({"start": pa.array(starts.take(rows)), "id": pa.array(ids.take(rows))})
        order = pc.sort_indices(keys, sort_keys=[("start", "ascending", "at_end"),
                                                 ("id", "ascending", "at_end")])
        return rows[np.asarray(order.to_numpy(zero_copy_only=False), dtype=np.int64)]

    everything = np.arange(len(ids))
    if not hasattr(starts, "asi8"):  # not datetimes: both keys for every hit
        return both_keys(everything)
    key = np.where(np.asarray(pd.isna(starts)), np.iinfo(np.int64).max, starts.asi8)
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    tie = ordered[1:] == ordered[:-1]
    shared = np.zeros(len(order), dtype=bool)
    shared[1:] |= tie
    shared[:-1] |= tie
    where = np.flatnonzero(shared)
    if where.size:
        order[where] = both_keys(order[where])
    return order


@needs(*_TEXT)
def search_transcripts(transcriptions: Any, query: str, *, recordings: Any = None,
                       regex: bool = False, case_sensitive: bool = False,
                       context: int = 40) -> pd.DataFrame:
    """One row per transcription that mentions ``query``, with a snippet around the first match.

    Parameters
    ----------
    transcriptions
        ``schema.TRANSCRIPTIONS`` rows (pandas or Dask): ``recording_id`` and ``transcription``;
        ``error`` when present marks failed transcriptions, which are not searched.
    query
        A word or phrase (matched literally), or with ``regex=True`` an RE2 regular expression.
    recordings
        ``schema.RECORDINGS`` rows: adds each hit's ``conference_name`` and ``recording_start``
        (missing when its recording callback never came) and orders the hits by recording start.
    regex, case_sensitive
        How ``query`` is read (see the module docstring); case-insensitive by default.
    context
        Characters shown either side of the first match in ``snippet`` (0 or more).

    Returns
    -------
    DataFrame
        Columns ``recording_id``, then ``conference_name`` and ``recording_start`` when
        ``recordings`` are given, ``count`` (non-overlapping matches in the transcription),
        ``snippet`` (the first match with up to ``context`` characters either side, line breaks
        as spaces, :data:`ELLIPSIS` where the text goes on) and ``match_start``/``match_end``
        (where the first match is in ``snippet``, as Python string offsets, to mark it). Rows
        are ordered by ``recording_start`` (missing last), then ``recording_id``; without
        ``recordings``, in the transcriptions' order. ``attrs``: ``query``, ``searched``,
        ``failed``, ``without_text`` (see the module docstring).

    Examples
    --------
    >>> import pandas as pd
    >>> tr = pd.DataFrame({"recording_id": ["a", "b"],
    ...                    "transcription": ["Ship the release on Thursday.", "Release notes."],
    ...                    "error": [None, None]})
    >>> rec = pd.DataFrame({"recording_id": ["a", "b"], "conference_name": ["eng", "ops"],
    ...     "recording_start": pd.to_datetime(["2026-11-03 09:00", "2026-11-02 09:00"],
    ...                                       utc=True)})
    >>> hits = search_transcripts(tr, r"release\\b", recordings=rec, regex=True, context=5)
    >>> hits[["conference_name", "count", "snippet"]].to_dict("records")
    [{'conference_name': 'ops', 'count': 1, 'snippet': 'Release note…'}, {'conference_name': 'eng', 'count': 1, 'snippet': '… the release on T…'}]
    >>> snippet, start, end = hits.iloc[1][["snippet", "match_start", "match_end"]]
    >>> snippet[start:end]
    'release'
    """
    if isinstance(context, bool) or not isinstance(context, (int, np.integer)) or context < 0:
        raise ValueError(f"context: {context!r} is not a whole number of characters >= 0")
    parsed = _query(query, regex=regex, case_sensitive=case_sensitive)
    columns = [c for c in ("recording_id", "transcription", "error")
               if c in transcriptions.columns]
    frame = to_pandas(transcriptions, columns)
    chunks, searched, tally = _searchable(frame)
    views: list[_Chunk] = []
    found_rows, found_counts, cuts = [], [], []
    base = 0
    for array in chunks:
        chunk = _Chunk(array)
        found = _find(chunk, parsed, searched[base:base + chunk.size])
        views.append(chunk)
        cuts.append(_cuts(chunk, found, int(context)))
        found_rows.append(found.rows + base)
        found_counts.append(found.counts[found.rows])
        base += chunk.size
    positions = _joined(found_rows)
    ids = frame["recording_id"].array.take(positions).astype(pd.StringDtype("pyarrow"))
    out: dict[str, Any] = {"recording_id": ids}
    order: np.ndarray | None = None
    if recordings is not None:
        known, at = _recording_rows(pd.Series(ids), recordings)
        began = known["recording_start"].array.take(at, allow_fill=True)
        order = _by_start(ids, began)
        out = {"recording_id": ids.take(order),
               "conference_name": known["conference_name"].array.take(at[order],
                                                                      allow_fill=True),
               "recording_start": began.take(order)}
    snippet = _cut_out(views, cuts, order)
    numbers = {"count": _joined(found_counts), "match_start": _joined([c.start for c in cuts]),
               "match_end": _joined([c.end for c in cuts])}
    if order is not None:
        numbers = {name: values[order] for name, values in numbers.items()}
    out["count"] = pd.array(numbers["count"], dtype="Int64")
    out["snippet"] = pd.array(snippet, dtype=pd.StringDtype("pyarrow"))
    out["match_start"] = pd.array(numbers["match_start"], dtype="Int64")
    out["match_end"] = pd.array(numbers["match_end"], dtype="Int64")
    hits = pd.DataFrame(out)
    hits.attrs.update({"query": query, **tally})
    return hits


@needs("recording_id")
def search_selection(recordings: Any, transcriptions: Any, query: str, *, since: Any = None,
                     until: Any = None, conferences: Iterable[str] | None = None,
                     regex: bool = False, case_sensitive: bool = False,
                     context: int = 40) -> pd.DataFrame:
    """:func:`search_transcripts` over a selection: the recordings started in ``[since,
    until)`` in ``conferences`` (as :func:`~recording_toolkit.analytics.select` chooses them, the
    arguments a Dashboard's ``filters()`` returns), and their transcriptions.

    With a filter given, transcriptions whose recording is not among the selected ones are
    left out (a filtered selection cannot place them); with none, every transcription is
    searched and those without a recording callback come last, with no conference or start.

    Examples
    --------
    >>> import pandas as pd
    >>> rec = pd.DataFrame({"recording_id": ["a", "b"], "conference_name": ["eng", "ops"],
    ...     "recording_start": pd.to_datetime(["2026-11-02 09:00", "2026-11-03 09:00"],
    ...                                       utc=True)})
    >>> tr = pd.DataFrame({"recording_id": ["a", "b"],
    ...                    "transcription": ["The deploy is done.", "Deploy at noon."]})
    >>> search_selection(rec, tr, "deploy", conferences=["ops"])["recording_id"].tolist()
    ['b']
    """
    from .selection import select

    chosen, transcribed = select(recordings, transcriptions, since=since, until=until,
                                 conferences=conferences)
    return search_transcripts(transcribed, query, recordings=chosen, regex=regex,
                              case_sensitive=case_sensitive, context=context)


def _terms(terms: str | Iterable[str]) -> list[str]:
    listed = [terms] if isinstance(terms, str) else list(terms)
    if not listed:
        raise ValueError("terms: none given; give at least one word or pattern")
    return list(dict.fromkeys(listed))


@needs(*_TEXT)
def keyword_counts(transcriptions: Any, terms: str | Iterable[str], *, recordings: Any = None,
                   by: Literal["conference", "day"] = "conference", regex: bool = False,
                   case_sensitive: bool = False) -> pd.DataFrame:
    """How many times each of ``terms`` is said, per conference or per day.

    Parameters
    ----------
    transcriptions
        ``schema.TRANSCRIPTIONS`` rows (pandas or Dask). Failed transcriptions and missing
        text count nothing (see the module docstring).
    terms
        A word, phrase or (``regex=True``) pattern, or several; each is matched as
        :func:`search_transcripts` matches its query. Repeated terms count once.
    recordings
        ``schema.RECORDINGS`` rows: where each transcription's conference and start come from
        (a transcription callback names neither). Required.
    by
        ``"conference"``: a row per conference, by name. ``"day"``: a row per UTC day of the
        recordings' start, every day from the first to the last (days with nothing said are
        0).

    Returns
    -------
    DataFrame
        Indexed by ``conference_name`` or ``day`` (naive UTC midnights), a column per term
        (``Int64`` counts of non-overlapping matches). Transcriptions whose recording is not
        among ``recordings`` (or whose recording has no conference name or start) are counted in
        a last row with a missing index value, present only when there are some. ``attrs``:
        ``searched``, ``failed``, ``without_text``, and ``unplaced`` (how many transcriptions
        searched that last row holds).

    Examples
    --------
    >>> import pandas as pd
    >>> rec = pd.DataFrame({"recording_id": ["a", "b", "c"],
    ...     "conference_name": ["eng", "eng", "hr"],
    ...     "recording_start": pd.to_datetime(["2026-11-02 09:00", "2026-11-04 09:00",
    ...                                        "2026-11-02 10:00"], utc=True)})
    >>> tr = pd.DataFrame({"recording_id": ["a", "b", "c"], "transcription": [
    ...     "Deploy, then deploy again.", "The budget.", "Budget and deploy."]})
    >>> keyword_counts(tr, ["deploy", "budget"], recordings=rec).to_dict("index")
    {'eng': {'deploy': 2, 'budget': 1}, 'hr': {'deploy': 1, 'budget': 1}}
    >>> keyword_counts(tr, "budget", recordings=rec, by="day")["budget"].tolist()
    [1, 0, 1]
    """
    if by not in ("conference", "day"):
        raise ValueError(f"by: {by!r} is not 'conference' or 'day'")
    if recordings is None:
        raise ValueError(f"recordings: keyword_counts by {by} needs the recordings (a"
                         " transcription callback names neither its conference nor its start)")
    if is_dask(recordings) or is_dask(transcriptions):
        recordings = to_pandas(recordings, ["recording_id", "conference_name", "recording_start"])
    listed = _terms(terms)
    patterns = {term: _query(term, regex=regex, case_sensitive=case_sensitive, what="term")
                for term in listed}
    columns = [c for c in ("recording_id", "transcription", "error")
               if c in transcriptions.columns]
    frame = to_pandas(transcriptions, columns)
    chunks, searched, tally = _searchable(frame)
    placed = _recording_columns(frame["recording_id"].reset_index(drop=True), recordings)
    if by == "conference":
        key = pd.Series(placed["conference_name"], name="conference_name")
    else:
        key = period_start(pd.Series(placed["recording_start"]), "D").rename("day")
    counts = pd.DataFrame({term: _counts(chunks, pattern, searched)
                           for term, pattern in patterns.items()})
    table = counts[searched].groupby(key[searched], dropna=False, sort=True).sum()
    if by == "conference":
        names = to_pandas(recordings, ["conference_name"])["conference_name"].dropna()
        index = pd.Index(sorted(set(names)), name="conference_name",
                         dtype=pd.StringDtype("pyarrow"))
    else:
        starts = to_pandas(recordings, ["recording_start"])["recording_start"].dropna()
        days = period_start(starts, "D")
        index = pd.date_range(days.min(), days.max(), freq="D", name="day") if len(days) \
            else pd.DatetimeIndex([], name="day")
    unplaced = int((searched & key.isna().to_numpy(dtype=bool)).sum())
    if unplaced:
        index = index.append(pd.Index([None], dtype=index.dtype))
    table = table.reindex(index, fill_value=0).astype("Int64")
    table.index.name = "conference_name" if by == "conference" else "day"
    table.columns.name = None
    table.attrs.update({**tally, "unplaced": unplaced})
    return table
