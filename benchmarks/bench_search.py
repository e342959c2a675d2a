"""``analytics.search_transcripts`` on a million transcriptions against a plain Python loop.

The text is the sandbox's (its phrase bank per kind of meeting, over the sample data's
conference names and duration model), so the words, their frequencies and the lengths are
those of the demo's searches: ``--distinct`` transcripts are drawn, then repeated to ``--n``
rows (the search reads every row's text all the same). 2% of the transcriptions failed (empty
text, an error) and 1% have no text, as in the sample data.

For each query, in the same process, each round times:

- ``loop``: the plain Python loop a person would write: for each transcription that succeeded
  and has text, ``re.findall`` with the query (escaped unless it is a pattern; ``re.IGNORECASE``)
  for the count, ``re.search`` for the first match and its snippet, then the hits sorted by
  recording start: the baseline;
- ``search``: ``search_transcripts(transcriptions, query, recordings=recordings)``, the same
  hits (checked: same recordings, same counts, same order) with conference names and starts;
- ``floor``: ``pyarrow.compute.match_substring`` (``match_substring_regex`` for the pattern)
  over the same column: only which rows match, nothing counted, cut or ordered. No search can
  be much faster than reading the text once, so search / floor shows how close to the
  machine's limit (as loaded at that moment) the search is.

It prints each round (with the load average when it began), then the medians and the ratios
loop / search (the goal: the search under 1 s and at least 10x the loop) and search / floor.
The machine is shared: read the ratios.

Usage::

    .venv/bin/python benchmarks/bench_search.py [--n 1000000] [--rounds 3] [--distinct 20000]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import time
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from recording_toolkit import analytics, schema
from recording_toolkit.sandbox import DurationModel
from recording_toolkit.sandbox._phrases import DEPARTMENT_TOPICS, KINDS, transcript

#: (label, query, regex): a rare word (3% of transcriptions), a common one (15%), a pattern
#: (12%), and a word in nearly every transcription (93%), whose hits are each counted, cut
#: into a snippet and ordered.
QUERIES = (("rare word", "invoice", False), ("common word", "budget", False),
           ("pattern", r"outage|refund(s)?", True), ("stop word", "the", False))
CONTEXT = 40
DURATIONS = DurationModel(median_s=1800, sigma=0.9, short_share=0.03, long_share=0.006)


def frames(n: int, distinct: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` recordings and their transcriptions, the text from the sandbox's phrase bank."""
    rng = random.Random(seed)
    names = [f"{d}-{k}" for d in DEPARTMENT_TOPICS if d != "general"
             for k in KINDS if k != "general"]
    conference = [rng.choice(names) for _ in range(distinct)]
    texts = [transcript(rng, name, DURATIONS.draw_ms(rng)) for name in conference]
    pick = np.random.default_rng(seed).integers(0, distinct, n)
    ids = np.array([f"rec-{i:08d}" for i in range(n)])
    starts = pd.Timestamp("2026-11-01", tz="UTC") + pd.to_timedelta(
        np.random.default_rng(seed + 1).integers(0, 30 * 86400 * 1000, n), unit="ms")
    recordings = schema.coerce(pd.DataFrame({
        "recording_id": ids, "conference_name": np.array(conference, dtype=object)[pick],
        "recording_start": starts}), schema.RECORDINGS)
    text = np.array(texts, dtype=object)[pick]
    state = np.random.default_rng(seed + 2).random(n)
    failed = state < 0.02
    text[failed] = ""
    text[(state >= 0.02) & (state < 0.03)] = None
    transcriptions = schema.coerce(pd.DataFrame({
        "recording_id": ids, "transcription": text,
        "error": np.where(failed, "Recording duration too short for transcription", None),
    }), schema.TRANSCRIPTIONS)
    return recordings, transcriptions


def loop_search(transcriptions: pd.DataFrame, recordings: pd.DataFrame, query: str,
                regex: bool) -> list[tuple[str, int, str]]:
    """The baseline: one transcription at a time in Python."""
    pattern = re.compile(query if regex else re.escape(query), re.IGNORECASE)
    starts = dict(zip(recordings["recording_id"], recordings["recording_start"], strict=True))
    hits = []
    for rid, text, error in zip(transcriptions["recording_id"], transcriptions["transcription"],
                                transcriptions["error"], strict=True):
        if text is pd.NA or error is not pd.NA:
            continue
        count = len(pattern.findall(text))
        if count:
            first = pattern.search(text)
            assert first is not None
            lo, hi = max(0, first.start() - CONTEXT), first.end() + CONTEXT
            snippet = ("…" if lo else "") + text[lo:hi].replace("\n", " ") + \
                ("…" if hi < len(text) else "")
            hits.append((starts.get(rid), rid, count, snippet))
    hits.sort(key=lambda h: (h[0], h[1]))
    return [(rid, count, snippet) for _, rid, count, snippet in hits]


def fast_search(transcriptions: pd.DataFrame, recordings: pd.DataFrame, query: str,
                regex: bool) -> pd.DataFrame:
    return analytics.search_transcripts(transcriptions, query, recordings=recordings,
                                        regex=regex, context=CONTEXT)


def floor(text: Any, query: str, regex: bool) -> Any:
    """Which rows match, and nothing more: the least any search has to do."""
    import pyarrow.compute as pc

    if regex:
        return pc.match_substring_regex(text, f"(?si){query}")
    return pc.match_substring(text, query, ignore_case=True)


def timed(function: Any, *args: Any) -> tuple[float, Any]:
    began = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - began, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--distinct", type=int, default=20_000)
    args = parser.parse_args(argv)
    recordings, transcriptions = frames(args.n, args.distinct)
    text_mb = transcriptions["transcription"].str.len().sum() / 1e6
    column = pa.array(transcriptions["transcription"])
    times: dict[str, tuple[list[float], list[float], list[float]]] = {
        label: ([], [], []) for label, *_ in QUERIES}
    hits: dict[str, int] = {}
    print(f"# Transcript search: {args.n:,} transcriptions ({text_mb:,.0f} million characters"
          f" of the sandbox's text, {args.distinct:,} distinct), case-insensitive, with"
          " recordings")
    print(f"(2 cores shared; {args.rounds} rounds, each query's loop and search back to back;"
          " load average (1 min) at the start of each round)")
    print()
    print("| round | load average | query | python loop s | search_transcripts s | ratio |"
          " floor s | search / floor |")
    print("|---|---|---|---|---|---|---|---|")
    for round_number in range(1, args.rounds + 1):
        load = os.getloadavg()[0]
        for label, query, regex in QUERIES:
            loop_s, expected = timed(loop_search, transcriptions, recordings, query, regex)
            search_s, found = timed(fast_search, transcriptions, recordings, query, regex)
            floor_s, _ = timed(floor, column, query, regex)
            got = list(zip(found["recording_id"], found["count"], strict=True))
            if got != [(rid, count) for rid, count, _ in expected]:
                raise SystemExit(f"{label}: the search and the loop disagree")
            times[label][0].append(loop_s)
            times[label][1].append(search_s)
            times[label][2].append(floor_s)
            hits[label] = len(found)
            print(f"| {round_number} | {load:.1f} | {label} | {loop_s:.3f} | {search_s:.3f} |"
                  f" {loop_s / search_s:.1f}x | {floor_s:.3f} | {search_s / floor_s:.1f}x |",
                  flush=True)
    print()
    print(f"#### Medians of {args.rounds} rounds")
    print()
    print("| query | pattern | hits | python loop s | search_transcripts s | ratio | floor s |"
          " search / floor |")
    print("|---|---|---|---|---|---|---|---|")
    for label, query, _ in QUERIES:
        loop_s, search_s, floor_s = (statistics.median(v) for v in times[label])
        shown = query.replace("|", "\\|")  # a pipe in a table cell is escaped
        print(f"| {label} | `{shown}` | {hits[label]:,} | {loop_s:.3f} | {search_s:.3f} |"
              f" **{loop_s / search_s:.1f}x** | {floor_s:.3f} | {search_s / floor_s:.1f}x |")
    print()
    print("ratio = python loop / search_transcripts, same process, same rows, same hits"
          " (goal: search under 1 s and >= 10x); floor = pyarrow's match_substring alone over"
          f" the same column; load average (1 min) at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
