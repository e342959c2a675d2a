"""``recording-toolkit search SOURCE QUERY``: which transcriptions mention a word or a pattern.

Loads the callback logs of ``SOURCE`` (a file, folder or glob, as ``report`` reads them) and
runs :func:`recording_toolkit.analytics.search_transcripts` with the recordings, so each hit
has its conference and recording start. Without an output flag a table goes to stdout (start,
conference, recording id, matches, snippet) with a line saying how many were searched and how
many could not be (failed transcriptions, missing text). ``--json`` prints one object:
``{"query", "matches", "hits": [{"recording_id", "conference_name", "recording_start",
"count", "snippet"}, ...]}``, hits ordered by recording start; ``--csv FILE`` writes the hits'
rows with the same columns.

The query is checked before the logs are loaded: an empty one, bytes that are not UTF-8, or a
pattern the regular-expression engine refuses is one error naming the query (exit 1). A
search that finds nothing is not an error: an empty table (or ``"hits": []``), exit 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ._options import check_output_file, progress_wanted

__all__ = ["HIT_COLUMNS", "hit_records", "hits_table", "register", "run_search"]

#: The columns of a hit in the JSON and CSV outputs, in order.
HIT_COLUMNS = ("recording_id", "conference_name", "recording_start", "count", "snippet")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "search", help="find the transcriptions that mention a word, a phrase or a pattern",
        description="Search the transcription text in callback logs (files, folders, globs;"
                    " JSON Lines, CSV or Parquet). QUERY is matched literally and regardless"
                    " of case unless --regex or --case-sensitive is given; failed"
                    " transcriptions are not searched.",
        epilog="--regex reads QUERY in RE2's syntax (Python's, less look-arounds and"
               " back-references). Hits are ordered by recording start.")
    parser.add_argument("source", metavar="SOURCE", help="callback log file, folder or glob")
    parser.add_argument("query", metavar="QUERY", help="the word, phrase or pattern to find")
    parser.add_argument("--regex", action="store_true",
                        help="read QUERY as a regular expression (RE2 syntax)")
    parser.add_argument("--case-sensitive", action="store_true",
                        help="match upper and lower case exactly (default: ignore case)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true",
                        help="print the query, the number of matching transcriptions and the"
                             " hits as one JSON object")
    output.add_argument("--csv", default=None, metavar="FILE",
                        help="write the hits to this CSV file, one row per transcription")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bar (it is drawn only when stderr is a terminal)")
    parser.set_defaults(func=run_search)


def _checked_query(args: argparse.Namespace) -> None:
    """Refuse a query that cannot be searched for, naming it, before any log is read."""
    from .. import schema
    from ..analytics import search_transcripts
    from ..errors import ConfigurationError

    try:
        args.query.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigurationError(f"QUERY {args.query!r}: not UTF-8 text (the terminal sent other"
                                 " bytes), so no transcription can hold it") from None
    try:
        search_transcripts(schema.empty(schema.TRANSCRIPTIONS), args.query, regex=args.regex,
                           case_sensitive=args.case_sensitive)
    except ValueError as exc:  # "query ..." as the analytics say it, named as the argument
        message = str(exc)
        raise ConfigurationError("QUERY" + message.removeprefix("query")
                                 if message.startswith("query") else f"QUERY: {message}"
                                 ) from None


def _load(args: argparse.Namespace) -> Any:
    from ..errors import LoadError
    from ..load import load_callbacks

    try:
        result = load_callbacks([args.source], progress=progress_wanted(args.progress))
    except FileNotFoundError as exc:  # a mistyped path: one line, not a traceback
        raise LoadError(str(exc)) from None
    if result.stats.files == 0:
        raise LoadError(f"source {args.source!r}: no log files found (.jsonl, .csv, .parquet)")
    return result


def hit_records(hits: Any) -> list[dict[str, Any]]:
    """The hits as plain JSON values: :data:`HIT_COLUMNS`, times as ISO 8601, missing as
    None."""
    import pandas as pd

    records = []
    for row in hits[list(HIT_COLUMNS)].itertuples(index=False):
        start = row.recording_start
        records.append({
            "recording_id": row.recording_id,
            "conference_name": None if pd.isna(row.conference_name) else row.conference_name,
            "recording_start": None if pd.isna(start) else start.isoformat(),
            "count": int(row.count),
            "snippet": row.snippet,
        })
    return records


def hits_table(hits: Any) -> str:
    """The hits as an aligned text table, formatted for reading."""
    from .. import formatting as fmt
    from .recordings import text_table

    headings = [fmt.label("recording_start"), fmt.label("conference_name"),
                fmt.label("recording_id"), "Matches", "Snippet"]
    rows = [[fmt.timestamp(row.recording_start),
             fmt.MISSING if fmt.is_missing(row.conference_name) else str(row.conference_name),
             str(row.recording_id), fmt.count(row.count), str(row.snippet)]
            for row in hits.itertuples(index=False)]
    return "\n".join(text_table(headings, rows, right={3}))


def _footer(hits: Any) -> str:
    from .. import formatting as fmt

    attrs = hits.attrs
    found = len(hits)
    matches = int(hits["count"].sum()) if found else 0
    line = (f"{fmt.count(found)} transcription{'' if found == 1 else 's'} of"
            f" {fmt.count(attrs['searched'])} searched mention {attrs['query']!r}"
            f" ({fmt.count(matches)} time{'' if matches == 1 else 's'})")
    skipped = [f"{fmt.count(attrs[key])} {words}" for key, words in
               (("failed", "failed"), ("without_text", "without text")) if attrs[key]]
    if skipped:
        line += f"; not searched: {', '.join(skipped)}"
    return line


def run_search(args: argparse.Namespace, *, out: Any = None, err: Any = None) -> int:
    """Check the query and the output, load, search, write what was asked for."""
    from ..analytics import search_transcripts

    out = out or sys.stdout
    err = err or sys.stderr
    _checked_query(args)
    csv_path = check_output_file("--csv", args.csv) if args.csv is not None else None
    result = _load(args)
    if result.stats.lines and result.stats.quarantined == result.stats.lines:
        print(f"recording-toolkit search: warning: all {result.stats.lines:,} lines were"
              " quarantined; is this a callback log?", file=err, flush=True)
    hits = search_transcripts(result.transcriptions, args.query, recordings=result.recordings,
                              regex=args.regex, case_sensitive=args.case_sensitive)
    if args.json:
        document = {"query": args.query, "matches": len(hits), "hits": hit_records(hits)}
        print(json.dumps(document, ensure_ascii=False), file=out, flush=True)
    elif csv_path is not None:
        _write_csv(csv_path, hits)
        print(f"recording-toolkit search: wrote {len(hits):,} hits to {csv_path}", file=err,
              flush=True)
    else:
        if len(hits):
            print(hits_table(hits), file=out)
        print(_footer(hits), file=out, flush=True)
    return 0


def _write_csv(path: Any, hits: Any) -> None:
    import csv

    with open(path, "w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(HIT_COLUMNS))
        writer.writeheader()
        for record in hit_records(hits):
            writer.writerow({k: "" if v is None else v for k, v in record.items()})
