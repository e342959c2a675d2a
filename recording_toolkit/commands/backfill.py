"""``recording-toolkit backfill``: fetch recordings whose callbacks never came into the log.

Reads the request journal, finds the recordings it started that have no recording event in the
log folder, fetches them from the Recording API and appends them to
``{log_dir}/backfill-YYYY-MM-DD.jsonl`` marked as backfilled. Running it again adds nothing. The
outcome is printed as one JSON object. Credentials come from ``PLIVO_AUTH_ID`` /
``PLIVO_AUTH_TOKEN`` (no token flag: it would show in the process list).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import Any

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "backfill", help="fetch recordings whose callbacks never came into the log",
        description="Find the recordings the request journal started that have no recording"
                    " callback in LOG_DIR, fetch them from Plivo's Recording API and append them"
                    " to LOG_DIR/backfill-YYYY-MM-DD.jsonl, marked as backfilled. Idempotent.")
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
    parser.add_argument("--base-url", default=None,
                        help="API root (default: $PLIVO_API_BASE_URL, else https://api.plivo.com)")
    parser.add_argument("--auth-id", default=None,
                        help="Plivo auth id (default: $PLIVO_AUTH_ID); the token is read from"
                             " $PLIVO_AUTH_TOKEN only")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds to wait for each answer (default: %(default)s)")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, *, environ: Mapping[str, str] | None = None,
        transport: Any = None, out: Any = None) -> int:
    """Backfill and print the outcome; exit 0 when nothing is left missing, else 1."""
    from ..backfill import backfill_recordings, default_since, missing_recordings
    from ..client import RecordingClient
    from ..errors import ConfigurationError
    from ..load import load_journal

    try:
        journal = load_journal(args.journal)
    except FileNotFoundError as exc:
        raise ConfigurationError(f"--journal: {exc}") from None
    missing = missing_recordings(args.log_dir, journal)
    since = args.since if args.since is not None else default_since(journal)
    with RecordingClient(args.auth_id, None, base_url=args.base_url, timeout=args.timeout,
                         environ=environ, transport=transport) as client:
        result = backfill_recordings(client, args.log_dir, missing, since=since,
                                     until=args.until, method=args.method,
                                     progress=args.progress)
    summary = {"missing": len(missing), **result.to_dict()}
    print(json.dumps(summary, ensure_ascii=False), file=out or sys.stdout, flush=True)
    return 0 if not result.not_found and not result.invalid else 1
