"""``recording-toolkit retention``: plan, and with ``--apply`` carry out, a "keep N days" policy.

Lists the account's recordings (from ``--since``, by default :data:`DEFAULT_LOOKBACK_DAYS`
days back, in windows of at most 30 days: Plivo takes no longer range, and without a time filter
it lists only the last 7 days), plans with
:func:`~recording_toolkit.analytics.retention.retention_plan` and prints the plan. Nothing is
deleted without ``--apply``. With it, the recordings that go are first downloaded when
``--download-to`` is given (a recording whose download failed is kept), then deleted; a
recording already deleted (by an earlier run) counts as deleted, so running it again is safe.
Exit 1, with one error line on stderr, when anything failed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from . import add_api_options, api_credentials
from ._options import check_output_folder, named_by_flags, progress_wanted

__all__ = ["DEFAULT_LOOKBACK_DAYS", "SHOWN", "register", "run"]

#: How far back recordings are listed by default: past a year of storage, so a policy of up to
#: a year finds everything it would delete.
DEFAULT_LOOKBACK_DAYS = 400
#: How many recordings the human plan lists by name.
SHOWN = 20
_FLAGS = {"since": "--since", "base_url": "--base-url", "conference_name": "--conference",
          "keep_days": "--keep-days"}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "retention", help="delete recordings older than N days (a dry run unless --apply)",
        description="Plan a 'keep N days' policy over the account's recordings: which go, their"
                    " minutes, and the monthly storage bill before and after. Deletes nothing"
                    " unless --apply; then downloads them first when --download-to is given (a"
                    " recording whose download failed is not deleted) and deletes them. Safe to"
                    " run again. Exits 1 when anything failed.")
    parser.add_argument("--keep-days", required=True, metavar="N",
                        help="keep recordings younger than N days (from add_time to now); 0"
                             " selects every recording that has ended")
    parser.add_argument("--conference", action="append", default=None, metavar="NAME",
                        help="only this conference's recordings (repeat for several)")
    parser.add_argument("--since", default=None, metavar="TIME",
                        help="list recordings added from this UTC time (default:"
                             f" {DEFAULT_LOOKBACK_DAYS} days ago)")
    parser.add_argument("--download-to", default=None, metavar="DIR",
                        help="with --apply: download each recording here before deleting it")
    parser.add_argument("--apply", action="store_true",
                        help="delete (without it, only the plan is printed)")
    parser.add_argument("--journal", default=None, metavar="PATH",
                        help="append each delete to this JSON Lines request journal")
    parser.add_argument("--json", action="store_true",
                        help="print a JSON summary instead of the text plan")
    add_api_options(parser, timeout_help="seconds to wait for each answer")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bars (they are drawn only when stderr is a terminal)")
    parser.set_defaults(func=run)


def keep_days_option(text: str) -> float:
    """``--keep-days``: a number of days, 0 or more, or one error naming the flag."""
    from ..errors import ConfigurationError

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise ConfigurationError(f"--keep-days: {text!r} is not a number of days, 0 or more")
    return value


def _check(args: argparse.Namespace, now: datetime) -> tuple[float, datetime, Any]:
    """Every flag, before any request: (keep days, since, download folder or None)."""
    from ..errors import ConfigurationError, ValidationError
    from ..validation import validate_conference_name
    from ..windows import as_utc
    from ._options import check_timeout

    keep_days = keep_days_option(args.keep_days)
    check_timeout(args.timeout)
    if args.download_to is not None and not args.apply:
        raise ConfigurationError("--download-to: downloads only with --apply (before deleting);"
                                 " add --apply, or leave it out for the plan")
    with named_by_flags(_FLAGS):
        for name in args.conference or []:
            validate_conference_name(name)
        try:
            since = as_utc(args.since, "since") if args.since is not None else \
                now - timedelta(days=DEFAULT_LOOKBACK_DAYS)
        except ValidationError as exc:
            raise ConfigurationError(f"--{exc}") from None
    if since >= now:
        raise ConfigurationError(f"--since: {args.since} is not before now"
                                 f" ({now:%Y-%m-%d %H:%M:%S} UTC)")
    folder = check_output_folder("--download-to", args.download_to) \
        if args.download_to is not None else None
    return keep_days, since, folder


def run(args: argparse.Namespace, *, environ: Mapping[str, str] | None = None,
        transport: Any = None, out: Any = None, err: Any = None) -> int:
    """Plan, and with ``--apply`` download and delete; print the outcome (text or JSON)."""
    from contextlib import ExitStack

    from ..analytics.retention import retention_plan
    from ..client import RecordingClient
    from ..config import RateCard
    from ..journal import RequestJournal

    out, err = out or sys.stdout, err or sys.stderr
    now = datetime.now(UTC)
    keep_days, since, folder = _check(args, now)
    rates = RateCard.resolve(environ=environ)
    credentials = api_credentials(args, environ)
    progress = progress_wanted(args.progress)
    with ExitStack() as stack:
        journal = None
        if args.journal is not None:
            journal = stack.enter_context(RequestJournal(args.journal).open(option="--journal"))
        with named_by_flags(_FLAGS):
            client = stack.enter_context(RecordingClient(
                credentials.auth_id, credentials.auth_token, base_url=args.base_url,
                timeout=args.timeout, environ=environ, transport=transport, journal=journal))
        listed = _list(client, since, now, args.conference, progress)
        plan = retention_plan(_frame(listed), keep_days=keep_days, now=now, rates=rates)
        outcome: dict[str, Any] = _apply(client, plan, listed, folder, progress) \
            if args.apply else {"downloaded": 0, "deleted": 0, "already_deleted": 0,
                                "failed": []}
    summary = {**plan.as_dict(), "applied": bool(args.apply), "listed": len(listed),
               "since": since.isoformat(), **outcome}
    if args.json:
        print(json.dumps(summary, ensure_ascii=False), file=out, flush=True)
    else:
        print(_text(summary, plan, folder), file=out, flush=True)
    failed = outcome["failed"]
    if not failed:
        return 0
    first = failed[0]
    print(f"recording-toolkit retention: error: {len(failed):,} of {plan.recordings:,}"
          f" recordings failed, not deleted (first: {first['recording_id']}: {first['stage']}:"
          f" {first['error']})", file=err, flush=True)
    return 1


def _list(client: Any, since: datetime, now: datetime, conferences: list[str] | None,
          progress: bool) -> list[dict[str, Any]]:
    """The recordings added from ``since`` to ``now``, once each (the client asks in windows of
    at most 30 days); one listing per ``--conference``, filtered by Plivo."""
    found: dict[str, dict[str, Any]] = {}
    with named_by_flags(_FLAGS):
        names: list[str | None] = [*conferences] if conferences else [None]
        for name in names:
            filters = {} if name is None else {"conference_name": name}
            for recording in client.iter_recordings(since=since, until=now, progress=progress,
                                                    **filters):
                found.setdefault(str(recording.get("recording_id")), recording)
    return list(found.values())


def _frame(listed: list[dict[str, Any]]) -> Any:
    import pandas as pd

    if not listed:
        return pd.DataFrame({"recording_id": pd.Series(dtype="string"),
                             "add_time": pd.Series(dtype="string"),
                             "rounded_recording_duration": pd.Series(dtype="float")})
    return pd.DataFrame(listed)


def _apply(client: Any, plan: Any, listed: list[dict[str, Any]], folder: Any,
           progress: bool) -> dict[str, Any]:
    """Download (when ``folder``) then delete the plan's recordings; a failed download keeps
    its recording. Returns the counts and every failure (recording id, stage, error)."""
    ids = [str(rid) for rid in plan.to_delete["recording_id"]]
    failed: list[dict[str, str]] = []
    downloaded = 0
    if folder is not None and ids:
        by_id = {str(r.get("recording_id")): r for r in listed}
        result = client.download_recordings([by_id[rid] for rid in ids], folder,
                                             progress=progress)
        bad = result[result["status"] == "failed"]
        failed += [{"recording_id": str(row.recording_id), "stage": "download",
                    "error": str(row.error)} for row in bad.itertuples(index=False)]
        downloaded = len(result) - len(bad)
        kept = set(bad["recording_id"].astype(str))
        ids = [rid for rid in ids if rid not in kept]
    deleted = already = 0
    if ids:
        result = client.delete_recordings(ids, progress=progress)
        deleted = int((result["status"] == "deleted").sum())
        already = int((result["status"] == "already_deleted").sum())
        bad = result[result["status"] == "failed"]
        failed += [{"recording_id": str(row.recording_id), "stage": "delete",
                    "error": str(row.error)} for row in bad.itertuples(index=False)]
    return {"downloaded": downloaded, "deleted": deleted + already, "already_deleted": already,
            "failed": failed}


def _text(summary: Mapping[str, Any], plan: Any, folder: Any) -> str:
    """The plan (and what was done) in words, figures formatted."""
    from .. import formatting as fmt
    from .recordings import text_table

    currency = summary["currency"]

    def money(amount: float) -> str:  # storage of a few recordings is fractions of a cent
        return fmt.small_money(amount, currency)

    keep = fmt.number(summary["keep_days"], decimals=0 if summary["keep_days"] % 1 == 0 else 1)
    lines = [f"Keep {keep} days: {fmt.count(summary['recordings'])} of"
             f" {fmt.count(summary['listed'])} recordings listed since"
             f" {fmt.timestamp(summary['since'])} UTC go"
             f" ({fmt.minutes(summary['minutes'] * 60)}).",
             f"Storage at this month's end: {money(summary['monthly_storage_cost_before'])}"
             f" now, {money(summary['monthly_storage_cost_after'])} with the policy;"
             f" {money(summary['saving'])} saved over {len(summary['months'])}"
             " months."]
    if summary["left_out"]:
        lines.append(f"{fmt.count(summary['left_out'])} recordings could not be planned (no"
                     " usable add_time or duration) and are kept.")
    rows = plan.to_delete.head(SHOWN)
    if len(rows):
        cells = [[str(r.recording_id), str(getattr(r, "conference_name", "") or fmt.MISSING),
                  fmt.number(r.age_days, decimals=1), fmt.minutes(r.billed_minutes * 60),
                  fmt.small_money(r.monthly_cost, currency)]
                 for r in rows.itertuples(index=False)]
        lines += ["", *text_table(["recording_id", "conference", "age (days)", "billed",
                                   "storage / month"], cells, right={2, 3, 4})]
        if plan.recordings > SHOWN:
            lines.append(f"... and {fmt.count(plan.recordings - SHOWN)} more")
    lines.append("")
    if not summary["applied"]:
        lines.append("Nothing deleted: add --apply to delete them.")
    else:
        if folder is not None:
            lines.append(f"Downloaded {fmt.count(summary['downloaded'])} to {folder}.")
        lines.append(f"Deleted {fmt.count(summary['deleted'])}"
                     f" ({fmt.count(summary['already_deleted'])} were deleted already);"
                     f" {fmt.count(len(summary['failed']))} failed.")
    return "\n".join(lines)
