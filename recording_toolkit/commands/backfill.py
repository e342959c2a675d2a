"""``recording-toolkit backfill``: fetch recordings whose callbacks never came into the log.

Reads the request journal, finds the recordings it started that have no recording event in the
log folder, fetches them from the Recording API and appends them to
``{log_dir}/backfill-YYYY-MM-DD.jsonl`` marked as backfilled. Running it again adds nothing. The
outcome is printed as one JSON object on stdout; when some recordings could not be backfilled,
one error line goes to stderr, the summary shows the first :data:`SHOWN_IDS` of them and every
one is listed in a file (``--failed-ids``, default ``LOG_DIR/backfill-failed.txt``; should it
fail to be written, the summary is still printed and the error line says why). Credentials come
from ``PLIVO_AUTH_ID`` / ``PLIVO_AUTH_TOKEN`` (no token flag: it would show in the process
list).

After the recordings, the transcriptions: those the journal's starts asked for
(``transcription_type``) with no transcription event in the log are fetched from Plivo's
Transcription API and appended the same way. The summary's ``transcriptions`` object counts them
(``missing``, ``requested``, ``present``, ``written``, ``not_found``, ``invalid``...). A
transcription not found is not a failure of the run (exit status and ``--failed-ids`` are about
recordings): Plivo answers 404 until a transcription is ready and for one that failed; a warning
line on stderr says how many.
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
from ._options import check_output_file, journal_option, named_by_flags, progress_wanted

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
                    " to LOG_DIR/backfill-YYYY-MM-DD.jsonl, marked as backfilled; then the"
                    " same for the transcriptions the journal asked for, from Plivo's"
                    " Transcription API. Idempotent."
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
                        help="no progress bar (it is drawn only when stderr is a terminal)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, *, environ: Mapping[str, str] | None = None,
        transport: Any = None, out: Any = None, err: Any = None) -> int:
    """Backfill and print the outcome; exit 0 when nothing is left missing, else 1.

    Every flag is checked before anything is read or asked for; a mistyped log folder, a file
    that is not a request journal or a ``--failed-ids`` that cannot be written is refused, not
    taken as "everything is missing" or "nothing is", nor found out after the API calls.
    """
    from ..backfill import (
        START_SLACK,
        backfill_recordings,
        backfill_transcriptions,
        default_since,
        missing_recordings_in_frames,
        missing_transcriptions_in_frames,
    )
    from ..client import RecordingClient
    from ..errors import ConfigurationError
    from ..load import load_callbacks

    err = err or sys.stderr
    folder = Path(args.log_dir)
    _check_flags(args, folder)
    failed_path = Path(args.failed_ids) if args.failed_ids else folder / FAILED_IDS_NAME
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
    with named_by_flags({"base_url": "--base-url"}):
        client = RecordingClient(credentials.auth_id, credentials.auth_token,
                                 base_url=args.base_url, timeout=args.timeout, environ=environ,
                                 transport=transport)
    with client:
        loaded = load_callbacks(folder, progress=False)
        recordings = loaded.recordings
        if recordings.empty:
            print(f"recording-toolkit backfill: warning: log folder {folder} holds no recording"
                  " callbacks yet; every recording the journal started counts as missing",
                  file=err, flush=True)
        missing = missing_recordings_in_frames(recordings, journal)
        result = backfill_recordings(client, folder, missing, since=since, until=args.until,
                                     method=args.method,
                                     progress=progress_wanted(args.progress))
        missing_tr = missing_transcriptions_in_frames(loaded.transcriptions, journal)
        transcribed = backfill_transcriptions(client, folder, missing_tr,
                                              progress=progress_wanted(args.progress))
    failed = {rid: "not found in the Recording API" for rid in result.not_found}
    failed.update(result.invalid)
    written, not_written = _write_failed(failed_path, failed, keep=bool(args.failed_ids))
    summary = {"missing": len(missing), **_summary(result.to_dict()),
               "failed_ids_file": None if written is None else str(written),
               "transcriptions": {"missing": len(missing_tr),
                                  **_summary(transcribed.to_dict())}}
    # the summary is printed whatever happened to the list: the work it reports is done
    print(json.dumps(summary, ensure_ascii=False), file=out or sys.stdout, flush=True)
    if transcribed.not_found or transcribed.invalid:
        print(f"recording-toolkit backfill: warning: {len(transcribed.not_found):,} of"
              f" {len(missing_tr):,} missing transcriptions not found in the Transcription API"
              f" (none, or not ready yet), {len(transcribed.invalid):,} unusable; see"
              " transcriptions in the summary", file=err, flush=True)
    if not failed:
        return 0
    where = f"all {len(failed):,} listed in {written}" if not_written is None else \
        f"they could not be listed: {not_written}"
    print(f"recording-toolkit backfill: error: {_failure_line(result, len(missing))}; {where}",
          file=err, flush=True)
    return 1


def _write_failed(path: Path, failed: dict[str, str], *, keep: bool
                  ) -> tuple[Path | None, str | None]:
    """Write the list of recordings that could not be backfilled; (the file written or None,
    why it could not be written or None).

    With nothing failed, no list is written, and the default one an earlier run left is
    removed (``keep`` False): everything it named is in the log now.
    """
    from ..cli import describe_os_error

    if not failed:
        if not keep:
            path.unlink(missing_ok=True)
        return None, None
    try:
        path.write_text("".join(f"{rid}\t{reason}\n" for rid, reason in failed.items()),
                        encoding="utf-8")
    except OSError as exc:  # checked before the work, yet the disk may have filled since
        return None, describe_os_error(exc)
    return path, None


def _check_flags(args: argparse.Namespace, folder: Path) -> None:
    from ..errors import ConfigurationError

    if not args.log_dir.strip():
        raise ConfigurationError("LOG_DIR: empty; give the callback log folder")
    if not folder.exists():
        raise ConfigurationError(f"log folder {folder} does not exist")
    if not folder.is_dir():
        raise ConfigurationError(f"log folder {folder} is not a folder")
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        raise ConfigurationError(f"--timeout: {args.timeout} is not a number of seconds > 0")
    # the log folder takes the backfilled lines, and the list of failures unless --failed-ids
    check_output_file("--failed-ids" if args.failed_ids else "LOG_DIR",
                      args.failed_ids or folder / FAILED_IDS_NAME)
    _check_window(args.since, args.until)


def _check_window(since: Any, until: Any) -> None:
    """Refuse a ``--since`` / ``--until`` the Recording list API could not be asked for."""
    from ..errors import ConfigurationError, ValidationError
    from ..windows import recording_windows

    if since is None and until is None:
        return
    try:
        recording_windows(since, until)
    except ValidationError as exc:
        raise ConfigurationError(f"--{exc}") from None


def _load_journal(paths: list[str], err: Any) -> Any:
    """The journal frame (checked as ``report --journal`` checks it); an error too when it
    holds only stop requests: nothing in it was started, so nothing can be backfilled."""
    from ..errors import ConfigurationError

    journal = journal_option(paths, command="backfill", err=err)
    if not (journal["action"] == "start").any():
        raise ConfigurationError(f"--journal: {', '.join(paths)}: only stop requests in it, no"
                                 " start request: nothing to backfill")
    return journal


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
