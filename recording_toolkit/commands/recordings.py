"""``recording-toolkit recordings list`` and ``recordings download``: the Recording API by hand.

``list`` asks Plivo's Recording list API with any of its filters, one flag per filter, and shows
the recordings as a table (UTC times, minutes, the monthly storage amount), as JSON Lines
(``--json``, Plivo's objects unchanged) or as a CSV file (``--csv``, Plivo's raw values).
``download`` saves the audio of the given recordings into a folder, one line per recording and a
summary, and exits 1 when any download failed. Credentials come from ``PLIVO_AUTH_ID`` /
``PLIVO_AUTH_TOKEN`` (no token flag: it would show in the process list).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NoReturn

from . import add_api_options, api_credentials
from ._options import (
    check_output_file,
    check_output_folder,
    check_timeout,
    named_by_flags,
    progress_wanted,
)

__all__ = ["FILTER_FLAGS", "register", "run_download", "run_list"]

#: Each Recording list filter (Plivo's name) and its flag; the storage filters are shortened to
#: ``--storage-days`` because Plivo's ``recording_storage_duration`` counts whole days.
FILTER_FLAGS = {
    "conference_name": "--conference-name", "conference_uuid": "--conference-uuid",
    "call_uuid": "--call-uuid", "from_number": "--from-number", "to_number": "--to-number",
    "add_time": "--add-time", "add_time__gt": "--add-time-gt", "add_time__gte": "--add-time-gte",
    "add_time__lt": "--add-time-lt", "add_time__lte": "--add-time-lte",
    "recording_storage_duration": "--storage-days",
    "recording_storage_duration__gt": "--storage-days-gt",
    "recording_storage_duration__gte": "--storage-days-gte",
    "recording_storage_duration__lt": "--storage-days-lt",
    "recording_storage_duration__lte": "--storage-days-lte",
}
_FILTER_HELP = {
    "conference_name": "recordings of this conference", "conference_uuid": "of this conference"
    " uuid", "call_uuid": "of this call uuid", "from_number": "from this number",
    "to_number": "to this number",
    "add_time": "added at exactly this UTC time", "add_time__gt": "added after this UTC time",
    "add_time__gte": "added at or after this UTC time",
    "add_time__lt": "added before this UTC time",
    "add_time__lte": "added at or before this UTC time",
    "recording_storage_duration": "stored exactly this many days",
    "recording_storage_duration__gt": "stored more than this many days",
    "recording_storage_duration__gte": "stored this many days or more",
    "recording_storage_duration__lt": "stored fewer than this many days",
    "recording_storage_duration__lte": "stored this many days or fewer",
}
#: Flags for every client argument the commands pass, to name them in errors.
_FLAGS = {**FILTER_FLAGS, "since": "--since", "until": "--until", "base_url": "--base-url",
          "recording_id": "IDS", "concurrency": "--concurrency"}


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "recordings", help="list or download recordings from the Recording API",
        description="List the account's recordings with Plivo's filters (recordings list), or"
                    " download their audio (recordings download).")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")

    lister = actions.add_parser(
        "list", help="list recordings with Plivo's filters",
        description="List recordings from Plivo's Recording list API. Without an --add-time"
                    " filter, the recordings added from --since to --until (default: the last"
                    " 7 days) are asked for in windows of at most 30 days, the longest range"
                    " Plivo takes. Times are ISO dates or times; naive means UTC.")
    filters = lister.add_argument_group("filters (Plivo's Recording list filters)")
    for name, flag in FILTER_FLAGS.items():
        metavar = "DAYS" if flag.startswith("--storage") else \
            "TIME" if flag.startswith("--add-time") else "TEXT"
        filters.add_argument(flag, dest=name, default=None, metavar=metavar,
                             help=_FILTER_HELP[name])
    lister.add_argument("--since", default=None, metavar="TIME",
                        help="without an --add-time filter: list recordings added from this UTC"
                             " time (default: 7 days before --until)")
    lister.add_argument("--until", default=None, metavar="TIME",
                        help="without an --add-time filter: list recordings added before this"
                             " UTC time (default: now)")
    output = lister.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true",
                        help="print Plivo's objects unchanged, one JSON object a line")
    output.add_argument("--csv", default=None, metavar="FILE",
                        help="write Plivo's raw values to this CSV file, one row per recording")
    add_api_options(lister, timeout_help="seconds to wait for each answer")
    lister.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bar (it is drawn only when stderr is a terminal)")
    lister.set_defaults(func=run_list)

    download = actions.add_parser(
        "download", help="download recordings' audio into a folder",
        description="Download each recording's audio to DIR/{recording_id}.{format} (resumed"
                    " when a partial file is there, skipped when the whole file is). Prints one"
                    " line per recording and a summary; exits 1 when any download failed.")
    download.add_argument("ids", nargs="+", metavar="IDS", help="recording ids")
    download.add_argument("--to", required=True, metavar="DIR",
                          help="the folder the files go to (created when missing)")
    download.add_argument("--concurrency", default="4", metavar="N",
                          help="downloads at a time (default: %(default)s)")
    download.add_argument("--overwrite", action="store_true",
                          help="download again even when the whole file is there")
    add_api_options(download, timeout_help="seconds to wait for each answer")
    download.add_argument("--no-progress", dest="progress", action="store_false",
                          help="no progress bar (it is drawn only when stderr is a terminal)")
    download.set_defaults(func=run_download)

    def missing_action(args: argparse.Namespace) -> NoReturn:
        parser.error("the following arguments are required: ACTION (list or download)")
    parser.set_defaults(func=missing_action)


@contextmanager
def _client(args: argparse.Namespace, environ: Mapping[str, str] | None,
            transport: Any) -> Iterator[Any]:
    """A client for the command; its errors name the flags, not the client's parameters."""
    from ..client import RecordingClient

    check_timeout(args.timeout)
    credentials = api_credentials(args, environ)
    with named_by_flags(_FLAGS):
        client = RecordingClient(credentials.auth_id, credentials.auth_token,
                                 base_url=args.base_url, timeout=args.timeout, environ=environ,
                                 transport=transport)
    with client, named_by_flags(_FLAGS):
        yield client


def run_list(args: argparse.Namespace, *, environ: Mapping[str, str] | None = None,
             transport: Any = None, out: Any = None) -> int:
    """List the recordings; every flag is checked (the CSV file tried) before any request."""
    out = out or sys.stdout
    csv_path = check_output_file("--csv", args.csv) if args.csv is not None else None
    filters = {name: getattr(args, name) for name in FILTER_FLAGS
               if getattr(args, name) is not None}
    with _client(args, environ, transport) as client:
        found = client.iter_recordings(since=args.since, until=args.until,
                                       progress=progress_wanted(args.progress), **filters)
        if args.json:
            for recording in found:
                print(json.dumps(recording, ensure_ascii=False), file=out, flush=True)
            return 0
        recordings = list(found)
    if csv_path is not None:
        _write_csv(csv_path, recordings)
        print(f"{len(recordings):,} recordings written to {csv_path}", file=out, flush=True)
        return 0
    print(recordings_table(recordings), file=out, flush=True)
    return 0


def _write_csv(path: Any, recordings: list[dict[str, Any]]) -> None:
    """Plivo's values as they came (text stays text: no number or time is re-read)."""
    import csv

    columns: dict[str, None] = {}
    for recording in recordings:
        columns.update(dict.fromkeys(recording))
    with open(path, "w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(columns) or ["recording_id"])
        writer.writeheader()
        for recording in recordings:
            writer.writerow({k: "" if v is None else v for k, v in recording.items()})


def _table_row(recording: Mapping[str, Any]) -> list[str]:
    """One Recording API object as the human table's cells (:data:`_HEADINGS`)."""
    from .. import formatting as fmt

    duration_ms = _number(recording.get("recording_duration_ms"))
    added = recording.get("add_time")
    try:
        added_text = fmt.timestamp(added, seconds=True) if added else fmt.MISSING
    except ValueError:
        added_text = str(added)
    storage = _number(recording.get("monthly_recording_storage_amount"))
    return [str(recording.get("recording_id") or fmt.MISSING),
            str(recording.get("conference_name") or fmt.MISSING), added_text,
            fmt.minutes(None if duration_ms is None else duration_ms / 1000, decimals=2),
            str(recording.get("recording_format") or fmt.MISSING),
            fmt.count(_number(recording.get("recording_storage_duration"))),
            fmt.small_money(storage)]


_HEADINGS = ["recording_id", "conference", "added (UTC)", "duration", "format", "stored days",
             "storage / month"]


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def recordings_table(recordings: list[Mapping[str, Any]]) -> str:
    """Recording API objects as an aligned text table with a total line."""
    from .. import formatting as fmt

    rows = [_table_row(r) for r in recordings]
    total_ms = sum(_number(r.get("recording_duration_ms")) or 0.0 for r in recordings)
    footer = f"{fmt.count(len(recordings))} recording{'s' if len(recordings) != 1 else ''}," \
             f" {fmt.minutes(total_ms / 1000)}"
    if not rows:
        return footer
    return "\n".join([*text_table(_HEADINGS, rows, right={3, 5, 6}), footer])


def text_table(headings: list[str], rows: list[list[str]], *, right: set[int]) -> list[str]:
    """Lines of a plain aligned table; the columns in ``right`` are right-aligned (figures)."""
    widths = [max(len(str(row[i])) for row in [headings, *rows]) for i in range(len(headings))]

    def line(cells: list[str]) -> str:
        return "  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                         for i, (cell, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return [line(headings), line(["-" * w for w in widths]), *map(line, rows)]


def concurrency_option(text: str, flag: str = "--concurrency") -> int:
    """A whole number from 1 to 64, or one error naming ``flag``."""
    from ..errors import ConfigurationError

    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 64:
        raise ConfigurationError(f"{flag}: {text!r} is not a whole number from 1 to 64")
    return value


def run_download(args: argparse.Namespace, *, environ: Mapping[str, str] | None = None,
                 transport: Any = None, out: Any = None, err: Any = None) -> int:
    """Download the recordings; exit 0 when every one is in the folder, else 1 (with one error
    line on stderr naming the first failure)."""
    from .. import formatting as fmt
    from ..validation import validate_recording_id

    out, err = out or sys.stdout, err or sys.stderr
    concurrency = concurrency_option(args.concurrency)
    with named_by_flags(_FLAGS):
        ids = list(dict.fromkeys(validate_recording_id(rid)
                                 for rid in args.ids))
    folder = check_output_folder("--to", args.to)
    with _client(args, environ, transport) as client:
        result = client.download_recordings(ids, folder, concurrency=concurrency,
                                            progress=progress_wanted(args.progress),
                                            overwrite=args.overwrite)
    for row in result.itertuples(index=False):
        if row.status == "failed":
            parts = [row.recording_id, row.status, str(row.error)]
        else:
            parts = [row.recording_id, row.status, fmt.size(row.bytes), str(row.path)]
        print("  ".join(parts), file=out, flush=True)
    failed = result[result["status"] == "failed"]
    done = result[result["status"] != "failed"]
    downloaded = int((result["status"] == "downloaded").sum())
    print(f"{fmt.count(len(result))} recordings: {fmt.count(downloaded)} downloaded,"
          f" {fmt.count(len(done) - downloaded)} already complete, {fmt.count(len(failed))}"
          f" failed; {fmt.size(done['bytes'].sum())} in {folder}", file=out, flush=True)
    if failed.empty:
        return 0
    first = failed.iloc[0]
    print(f"recording-toolkit recordings: error: {len(failed):,} of {len(result):,} downloads"
          f" failed (first: {first['recording_id']}: {first['error']})", file=err, flush=True)
    return 1
