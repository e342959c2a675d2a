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
- **Vectorised**: counts, matches and snippets come from ``pyarrow.compute`` over the whole
  Arrow string column (the dtype ``schema.TRANSCRIPTIONS`` gives it); only the matching rows
  are cut into snippets. ``benchmarks/bench_search.py`` measures it against a plain Python
  loop.

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


def _searchable(frame: pd.DataFrame) -> tuple[Any, np.ndarray, dict[str, int]]:
    """The text as an Arrow array, which rows are searched, and the counts of each kind."""
    import pyarrow as pa

    text = pa.array(frame["transcription"].astype(pd.StringDtype("pyarrow")))
    if text.type != pa.large_string():
        text = text.cast(pa.large_string())
    has_text = frame["transcription"].notna().to_numpy(dtype=bool)
    if "error" in frame.columns:
        failed = frame["error"].notna().to_numpy(dtype=bool)
    else:
        failed = np.zeros(len(frame), dtype=bool)
    searched = has_text & ~failed
    counts = {"searched": int(searched.sum()), "failed": int(failed.sum()),
              "without_text": int((~has_text & ~failed).sum())}
    return text, searched, counts


def _counts(text: Any, pattern: tuple[str, str], searched: np.ndarray) -> np.ndarray:
    """Non-overlapping matches of ``pattern`` per row; 0 for rows not searched.

    Which rows match at all is found first (the engine stops at a row's first match); only
    those are counted, so a rare word costs little more than reading the text once.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    full = "".join(pattern)
    found = _as_numpy(pc.match_substring_regex(text, full))
    matching = found & searched
    counts = np.zeros(len(searched), dtype=np.int64)
    rows = np.flatnonzero(matching)
    if rows.size:
        subset = text.take(pa.array(rows))
        counts[rows] = _as_numpy(pc.count_substring_regex(subset, full))
    return counts


def _as_numpy(result: Any) -> np.ndarray:
    """An Arrow kernel's result as a numpy array, missing as 0 / False."""
    import pyarrow as pa

    return np.asarray(result.fill_null(pa.scalar(0).cast(result.type))
                      .to_numpy(zero_copy_only=False))


def _gather(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> Any:
    """The byte ranges ``[starts, ends)`` of ``data`` (UTF-8 cut at character boundaries) as
    an Arrow string array, line breaks and tabs made spaces."""
    import pyarrow as pa

    lengths = ends - starts
    offsets = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    picked = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1], dtype=np.int64)
    chunk = data[picked]
    chunk[(chunk == 10) | (chunk == 13) | (chunk == 9)] = 32  # \n \r \t -> space
    return pa.LargeStringArray.from_buffers(lengths.size, pa.py_buffer(offsets),
                                            pa.py_buffer(chunk))


def _to_boundary(data: np.ndarray, at: np.ndarray, limit: np.ndarray, step: int,
                 row_end: np.ndarray) -> np.ndarray:
    """``at`` moved by ``step`` (towards ``limit``) off UTF-8 continuation bytes, so that a cut
    there does not split a character (at most 3 bytes: a character is at most 4); the end of
    a row is a boundary."""
    for _ in range(3):
        inside = (at != limit) & (at < row_end)
        probe = np.where(inside, at, 0)
        continuation = inside & ((data[probe] & 0xC0) == 0x80)
        at = at + step * continuation
    return at


def _snippets(text: Any, pattern: tuple[str, str], context: int
              ) -> tuple[Any, np.ndarray, np.ndarray]:
    """The snippet of each text (all of them match): up to ``context`` characters either side
    of the first match, line breaks and tabs as spaces, :data:`ELLIPSIS` where text was cut;
    and where the match starts and ends in it (character offsets).

    The engine gives where the first match starts (in bytes) and what it matched; the text
    around it is cut straight from the Arrow buffers (``context`` bytes either side when the
    text is ASCII, four times that otherwise, then trimmed to ``context`` characters).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    flags, body = pattern
    text = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    whole = pa.scalar("", pa.large_string())
    if len(text) == 0:
        empty = pa.array([], pa.large_string())
        return empty, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    first = np.asarray(pc.find_substring_regex(text, f"{flags}{body}")
                       .to_numpy(zero_copy_only=False), dtype=np.int64)
    matched = pc.struct_field(pc.extract_regex(text, f"{flags}(?P<match>{body})"), "match")
    length = np.asarray(pc.binary_length(matched).to_numpy(zero_copy_only=False),
                        dtype=np.int64)
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)[text.offset:
                                                                text.offset + len(text) + 1]
    data = np.frombuffer(text.buffers()[2], dtype=np.uint8)
    row_start, row_end = offsets[:-1], offsets[1:]
    match_start = row_start + first
    match_end = match_start + length
    ascii_only = bool(pc.all(pc.string_is_ascii(text)).as_py())
    reach = context if ascii_only else 4 * context
    lo = _to_boundary(data, np.maximum(row_start, match_start - reach), match_start, 1,
                      row_end)
    hi = _to_boundary(data, np.minimum(row_end, match_end + reach), match_end, -1,
                      row_end)
    before = _gather(data, lo, match_start)
    after = _gather(data, match_end, hi)
    cut_before, cut_after = lo > row_start, hi < row_end
    if not ascii_only:  # trim the wide windows to ``context`` characters
        cut_before |= np.asarray(pc.greater(pc.utf8_length(before), context)
                                 .to_numpy(zero_copy_only=False), dtype=bool)
        cut_after |= np.asarray(pc.greater(pc.utf8_length(after), context)
                                .to_numpy(zero_copy_only=False), dtype=bool)
        before = pc.utf8_slice_codeunits(before, -context) if context else \
            pc.utf8_slice_codeunits(before, 0, 0)
        after = pc.utf8_slice_codeunits(after, 0, context)
    match = _gather(data, match_start, match_end)
    cut = pa.scalar(ELLIPSIS, pa.large_string())
    lead = pc.if_else(pa.array(cut_before), cut, whole)
    tail = pc.if_else(pa.array(cut_after), cut, whole)
    snippet = pc.binary_join_element_wise(lead, before, match, after, tail, whole)
    start = pc.add(pc.utf8_length(lead), pc.utf8_length(before))
    end = pc.add(start, pc.utf8_length(match))
    return (snippet, np.asarray(start.to_numpy(zero_copy_only=False), dtype=np.int64),
            np.asarray(end.to_numpy(zero_copy_only=False), dtype=np.int64))


def _recording_columns(ids: pd.Series, recordings: Any) -> dict[str, pd.Series]:
    """``conference_name`` and ``recording_start`` of each recording id (missing where the
    recording callback is not among ``recordings``; the first row of a repeated id)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    require(recordings, ["recording_id", "conference_name", "recording_start"],
            "recordings")
    known = to_pandas(recordings, ["recording_id", "conference_name", "recording_start"])
    text = pd.StringDtype("pyarrow")
    # The hits are few next to the recordings: hash the hits' ids and look each recording up
    # in them, rather than hash every recording id.
    hit_ids = pa.array(ids.astype(text))
    distinct = pc.unique(hit_ids.drop_null())
    hit_of = _as_numpy(pc.index_in(hit_ids, value_set=distinct).fill_null(-1))
    in_hits = _as_numpy(pc.index_in(pa.array(known["recording_id"].astype(text)),
                                    value_set=distinct).fill_null(-1))
    rows = np.flatnonzero(in_hits >= 0)
    values, first = np.unique(in_hits[rows], return_index=True)  # a repeated id: its first row
    row_of = np.full(len(distinct), -1, dtype=np.int64)
    row_of[values] = rows[first]
    positions = np.where(hit_of >= 0, row_of[np.maximum(hit_of, 0)], -1)
    found = positions >= 0
    at = np.where(found, positions, -1)  # -1 is no row: missing
    return {name: known[name].reset_index(drop=True).reindex(at).reset_index(drop=True)
            for name in ("conference_name", "recording_start")}


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
    import pyarrow as pa

    pattern = _pattern(query, regex=regex, case_sensitive=case_sensitive)
    columns = [c for c in ("recording_id", "transcription", "error")
               if c in transcriptions.columns]
    frame = to_pandas(transcriptions, columns)
    text, searched, tally = _searchable(frame)
    counts = _counts(text, pattern, searched)
    positions = np.flatnonzero(counts > 0)
    snippet, start, end = _snippets(text.take(pa.array(positions)), pattern, int(context))
    ids = frame["recording_id"].iloc[positions].reset_index(drop=True)
    out: dict[str, Any] = {"recording_id": ids.astype(pd.StringDtype("pyarrow"))}
    if recordings is not None:
        out.update(_recording_columns(ids, recordings))
    out["count"] = pd.array(counts[positions], dtype="Int64")
    out["snippet"] = pd.array(snippet, dtype=pd.StringDtype("pyarrow"))
    out["match_start"] = pd.array(start, dtype="Int64")
    out["match_end"] = pd.array(end, dtype="Int64")
    hits = pd.DataFrame(out)
    if recordings is not None:
        hits = hits.sort_values(["recording_start", "recording_id"], na_position="last",
                                kind="stable", ignore_index=True)
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
    patterns = {term: _pattern(term, regex=regex, case_sensitive=case_sensitive, what="term")
                for term in listed}
    columns = [c for c in ("recording_id", "transcription", "error")
               if c in transcriptions.columns]
    frame = to_pandas(transcriptions, columns)
    text, searched, tally = _searchable(frame)
    placed = _recording_columns(frame["recording_id"].reset_index(drop=True), recordings)
    if by == "conference":
        key = placed["conference_name"].rename("conference_name")
    else:
        key = period_start(placed["recording_start"], "D").rename("day")
    counts = pd.DataFrame({term: _counts(text, pattern, searched)
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
