"""``recording-toolkit backfill``: fetch recordings whose callbacks never came into the log.

Reads the request journal, finds the recordings it started that have no recording event in the
log folder, fetches them from the Recording API and appends them to
``{log_dir}/backfill-YYYY-MM-DD.jsonl`` marked as backfilled. Running it again adds nothing. The
outcome is printed as one JSON object on stdout; when some recordings could not be backfilled,
one error line goes to stderr, the summary shows the first :data:`SHOWN_IDS` of them and every
one is listed in a file (``--failed-ids``, default ``LOG_DIR/backfill-failed.txt``). Credentials come from ``PLIVO_AUTH_ID`` /
``PLIVO_AUTH_TOKEN`` (no token flag: it would show in the process list).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import add_api_options, api_credentials

__all__ = ["FAILED_IDS_NAME", "SHOWN_IDS", "register", "run"]

#: How many recording ids the summary and the error line show (a lost hour can be thousands).
SHOWN_IDS = 20
#: The default file, in the log folder, listing every recording that could not be backfilled
#: (``.txt``: the loader takes only log extensions, so it never reads it as a log).
FAILED_IDS_NAME = "backfill-failed.txt"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "backfill", help="fetch recordings whose callbacks never came into the log",
        description="Find the recordings the request journal started that have no recording"
                    " callback in LOG_DIR, fetch them from Plivo's Recording API and append them"
                    " to LOG_DIR/backfill-YYYY-MM-DD.jsonl, marked as backfilled. Idempotent."
                    " Prints a JSON summary on stdout; exits 1, with one error line on stderr,"
                    " while some recordings could not be backfilled (see --failed-ids).")
    parser.add_argument("log_dir", metavar="LOG_DIR", help="the callback log folder")
    parser.add_argument("--journal", required=True, action="append", metavar="PATH",
                        help="the client's request journal (repeat for several)")
    parser.add_argument("--since", default=None,
                        help="list recordings added from this UTC time (default: the earliest"
                             " start in the journal, less 10 minutes)")
    parser.add_argument("--until", default=None,
                        help="list recordings added before this UTC time (default: now)")
    parser.add_argument("--method", choices=["list", "get"], default="list",
                        help="list: the Recording list API, then single lookups for the rest;"
                             " get: one lookup per recording (default: %(default)s)")
    add_api_options(parser, timeout_help="seconds to wait for each answer")
    parser.add_argument("--failed-ids", default=None, metavar="PATH",
                        help="where every recording that could not be backfilled is listed, one"
                             " 'recording_id<TAB>reason' a line, when some could not (the JSON"
                             " summary and the error line show the first"
                             f" {SHOWN_IDS}; default: LOG_DIR/{FAILED_IDS_NAME}, removed by"
                             " a run that leaves nothing missing)")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, *, environ: Mapping[str, str] | None = None,
        transport: Any = None, out: Any = None, err: Any = None) -> int:
    """Backfill and print the outcome; exit 0 when nothing is left missing, else 1.

    Every flag is checked before anything is read or asked for; a mistyped log folder or a file
    that is not a request journal is refused, not taken as "everything is missing" or "nothing
    is".
    """
    from ..backfill import START_SLACK, _missing_among, backfill_recordings, default_since
    from ..client import RecordingClient
    from ..errors import ConfigurationError
    from ..load import load_callbacks

    err = err or sys.stderr
    folder = Path(args.log_dir)
    _check_flags(args, folder)
    journal = _load_journal(args.journal, err)
    since = args.since
    if since is None:
        since = default_since(journal)
        try:
            _check_window(since, args.until)
        except ConfigurationError:
            raise ConfigurationError(f"--until: {args.until} is before the journal's first start"
                                     f" ({since:%Y-%m-%d %H:%M:%S} with {START_SLACK} of slack);"
                                     " give --since as well") from None
    credentials = api_credentials(args, environ)
    with RecordingClient(credentials.auth_id, credentials.auth_token, base_url=args.base_url,
                         timeout=args.timeout, environ=environ, transport=transport) as client:
        recordings = load_callbacks(folder, progress=False).recordings
        if recordings.empty:
            print(f"recording-toolkit backfill: warning: log folder {folder} holds no recording"
                  " callbacks yet; every recording the journal started counts as missing",
                  file=err, flush=True)
        missing = _missing_among(recordings, journal)
        result = backfill_recordings(client, folder, missing, since=since, until=args.until,
                                     method=args.method, progress=args.progress)
    failed = {rid: "not found in the Recording API" for rid in result.not_found}
    failed.update(result.invalid)
    failed_path = Path(args.failed_ids) if args.failed_ids else folder / FAILED_IDS_NAME
    if not failed:
        if not args.failed_ids:
            # an earlier run's list would now be wrong: everything it named is in the log
            failed_path.unlink(missing_ok=True)
        failed_path = None
    else:
        failed_path.write_text("".join(f"{rid}\t{reason}\n" for rid, reason in failed.items()),
                               encoding="utf-8")
    summary = {"missing": len(missing), **_summary(result.to_dict()),
               "failed_ids_file": None if failed_path is None else str(failed_path)}
    print(json.dumps(summary, ensure_ascii=False), file=out or sys.stdout, flush=True)
    if not failed:
        return 0
    print(f"recording-toolkit backfill: error: {_failure_line(result, len(missing))};"
          f" all {len(failed):,} listed in {failed_path}", file=err, flush=True)
    return 1


def _check_flags(args: argparse.Namespace, folder: Path) -> None:
    from ..errors import ConfigurationError

    if not folder.exists():
        raise ConfigurationError(f"log folder {folder} does not exist")
    if not folder.is_dir():
        raise ConfigurationError(f"log folder {folder} is not a folder")
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        raise ConfigurationError(f"--timeout: {args.timeout} is not a number of seconds > 0")
    if args.failed_ids is not None and Path(args.failed_ids).is_dir():
        raise ConfigurationError(f"--failed-ids: {args.failed_ids} is a folder, not a file")
    _check_window(args.since, args.until)


def _check_window(since: Any, until: Any) -> None:
    """Refuse a ``--since`` / ``--until`` the Recording list API could not be asked for."""
    from .._client_core import recording_windows
    from ..errors import ConfigurationError, ValidationError

    if since is None and until is None:
        return
    try:
        recording_windows(since, until)
    except ValidationError as exc:
        raise ConfigurationError(f"--{exc}") from None


def _load_journal(paths: list[str], err: Any) -> Any:
    """The journal frame; an error when a file is missing or holds no start request."""
    from ..errors import ConfigurationError
    from ..load import load_journal

    named = ", ".join(paths)
    try:
        journal = load_journal(paths)
    except FileNotFoundError as exc:
        reason = str(exc).removeprefix("source ")
        raise ConfigurationError(f"journal {reason}") from None
    quarantine = journal.attrs.get("quarantine")
    unusable = 0 if quarantine is None else len(quarantine)
    if not (journal["action"] == "start").any():
        detail = f" ({_lines(unusable)} unusable)" if unusable else ""
        raise ConfigurationError(f"journal {named}: no start requests in it{detail}; is this a"
                                 " request journal?")
    if unusable:
        first = quarantine.iloc[0]
        print(f"recording-toolkit backfill: warning: journal {named}: {_lines(unusable)} unusable,"
              f" skipped (first: {first['file']} line {first['line']}: {first['reason']})",
              file=err, flush=True)
    return journal


def _lines(count: int) -> str:
    return f"{count:,} line" if count == 1 else f"{count:,} lines"


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    """The result with its id lists cut to :data:`SHOWN_IDS`, each with its full count."""
    not_found, invalid = result["not_found"], result["invalid"]
    return {**result, "not_found": not_found[:SHOWN_IDS], "not_found_count": len(not_found),
            "invalid": dict(list(invalid.items())[:SHOWN_IDS]), "invalid_count": len(invalid)}


def _failure_line(result: Any, missing: int) -> str:
    parts = []
    if result.not_found:
        shown = ", ".join(result.not_found[:3])
        more = " ..." if len(result.not_found) > 3 else ""
        parts.append(f"{len(result.not_found):,} of {missing:,} missing recordings were not found"
                     f" in the Recording API (first: {shown}{more})")
    if result.invalid:
        rid, reason = next(iter(result.invalid.items()))
        parts.append(f"{len(result.invalid):,} of {missing:,} came back unusable (first: {rid}:"
                     f" {reason})")
    return "; ".join(parts)
