"""``recording-toolkit report LOG...``: the summary of callback logs as JSON, HTML or CSV.

``--json`` prints one JSON object with the stable summary keys (``report.Summary.to_dict()``,
documented in the README); without an output flag a readable list of the key figures goes to
stdout. ``--html FILE`` writes the self-contained HTML report, ``--csv DIR`` every table behind
the figures. The rate card is the defaults, then ``--rates FILE`` (TOML), then the
``RECORDING_TOOLKIT_RATE_*`` environment variables, then the price flags. ``--teams FILE`` adds
cost by team: a top-level ``teams`` object in the JSON (team -> ``recordings``,
``billed_minutes``, ``transcription_charge``), a section of the HTML report and ``by_team.csv``;
without it every output is as before.

Sources with no log file in them (a glob matching nothing, an empty folder) are an error (exit
1), as are an output that cannot be written and a ``--journal`` that is not a request journal;
these are checked before the logs are loaded, as is the teams file. When every line read was quarantined (a journal
or some other JSON given as a callback log), or the selection (``--conference``, ``--since``,
``--until``) matches no recording, the report is still written, and exits 0, after a one-line
warning on stderr.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Mapping
from typing import Any

__all__ = ["register", "run_report"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report", help="summarize callback logs (JSON, HTML report, CSV tables)",
        description="Load callback logs (files, folders, globs; JSON Lines, CSV or Parquet) and"
                    " report recordings, minutes, transcription outcomes, turnaround and cost.",
        epilog="Dates are UTC (YYYY-MM-DD or an ISO time); --until is exclusive. Transcriptions"
               " follow their recordings through --since/--until/--conference.")
    parser.add_argument("logs", nargs="+", metavar="LOG", help="callback log file, folder or glob")
    out = parser.add_argument_group("output")
    out.add_argument("--json", action="store_true",
                     help="print the summary as one JSON object on stdout")
    out.add_argument("--details", action="store_true",
                     help="print the JSON summary with the figures that depend on the rate card"
                          " and the journal (cost, billing audit, eligibility, reconciliation,"
                          " quality); implies --json")
    out.add_argument("--html", default=None, metavar="FILE",
                     help="write the HTML report (charts, tables, data-quality findings)")
    out.add_argument("--csv", default=None, metavar="DIR", help="write every table as CSV")
    choose = parser.add_argument_group("selection")
    choose.add_argument("--since", default=None, metavar="DATE",
                        help="only recordings started at or after DATE")
    choose.add_argument("--until", default=None, metavar="DATE",
                        help="only recordings started before DATE")
    choose.add_argument("--conference", action="append", default=None, metavar="NAME",
                        help="only this conference (repeat for several)")
    rates = parser.add_argument_group("rate card (defaults are documented assumptions)")
    rates.add_argument("--rates", default=None, metavar="FILE",
                       help="TOML file: top-level keys or a [rates] table")
    rates.add_argument("--transcription-rate", type=float, default=None, metavar="PRICE",
                       help="price per billed transcription minute")
    rates.add_argument("--storage-rate", type=float, default=None, metavar="PRICE",
                       help="storage price per rounded minute per month")
    rates.add_argument("--free-storage-days", type=int, default=None, metavar="DAYS",
                       help="days a recording is stored for free")
    rates.add_argument("--currency", default=None,
                       help="3-letter currency code, a label only (default: USD)")
    parser.add_argument("--journal", default=None, metavar="PATH",
                        help="the client's request journal: adds reconciliation (recordings"
                             " started with no callback, callbacks nobody started, missing"
                             " transcriptions)")
    parser.add_argument("--teams", default=None, metavar="FILE",
                        help="TOML teams file ([teams] Name = [\"glob\", ...]): adds cost by"
                             " team (recordings, billed minutes, charges, storage) to the"
                             " JSON, HTML and CSV")
    parser.add_argument("--engine", choices=["pandas", "dask"], default="pandas",
                        help="load with pandas (default) or Dask")
    parser.add_argument("--strict", action="store_true",
                        help="stop at the first unusable line instead of quarantining it")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bar (it is drawn only when stderr is a terminal)")
    parser.set_defaults(func=run_report)


def _time(flag: str, value: str | None) -> Any:
    if value is None:
        return None
    import pandas as pd

    from ..errors import ConfigurationError

    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{flag}: {value!r} is not a date or time"
                                 " (YYYY-MM-DD or ISO 8601)") from None
    if pd.isna(stamp):
        raise ConfigurationError(f"{flag}: {value!r} is not a date or time")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _rate_card(args: argparse.Namespace, environ: Mapping[str, str] | None) -> Any:
    from ..config import RateCard

    return RateCard.resolve(path=args.rates, environ=environ,
                            transcription_per_minute=args.transcription_rate,
                            storage_per_minute_month=args.storage_rate,
                            free_storage_days=args.free_storage_days, currency=args.currency,
                            flags=RATE_FLAGS)


#: The flag that sets each rate card field, to name it in errors.
RATE_FLAGS = {"transcription_per_minute": "--transcription-rate",
              "storage_per_minute_month": "--storage-rate",
              "free_storage_days": "--free-storage-days", "currency": "--currency"}


_READABLE = [
    ("recordings", "recordings.count"),
    ("conferences", "recordings.conferences"),
    ("recorded minutes", "recordings.total_minutes"),
    ("billed minutes", "recordings.billed_minutes"),
    ("median duration", "recordings.duration_seconds.median"),
    ("transcriptions", "transcriptions.received"),
    ("success rate", "transcriptions.success_rate"),
    ("coverage", "transcriptions.coverage"),
    ("charges", "transcriptions.charge_total"),
    ("median turnaround", "transcriptions.turnaround_seconds.median"),
    ("lines read", "source.lines"),
    ("quarantined", "source.quarantined"),
    ("duplicates", "source.duplicates"),
    ("test callbacks", "source.test_callbacks"),
]
#: Shown only when not zero (the JSON always has them): test callbacks are in a log only where
#: ``doctor`` sent some.
_WHEN_NOT_ZERO = frozenset({"source.test_callbacks"})


def _readable(summary: Any) -> str:
    """The key figures for a person, formatted as the HTML report shows them."""
    from ..report import figure_text

    return "\n".join(f"{label + ':':<20}{figure_text(summary, key)}" for label, key in _READABLE
                     if key not in _WHEN_NOT_ZERO or summary.get(key))


def _readable_teams(costs: Any) -> str:
    """Each team's recordings, billed minutes and charges, one line each, for a person."""
    from .. import formatting as fmt

    lines = ["", "cost by team:"]
    def padded(n: Any) -> str:
        return f"{fmt.count(n):>8}"

    for team, row in costs.table.iterrows():
        recordings = fmt.counted(row["recordings"], "recording", digits=padded)
        lines.append(f"  {str(team) + ':':<18}{recordings:<19}"
                     f"{fmt.count(row['billed_minutes']):>10} billed min"
                     f"{fmt.money(row['transcription_charge'], costs.currency):>14}")
    return "\n".join(lines)


#: How many of the logs' conferences a warning about an unknown one lists.
SHOWN_CONFERENCES = 5


def _warn_unknown_conferences(wanted: list[str], recordings: Any, err: Any) -> bool:
    """One warning line for the ``--conference`` names no recording in the logs has; True if
    it was printed."""
    from ..analytics.engine import is_dask

    column = recordings["conference_name"].dropna().unique()
    known = set((column.compute() if is_dask(recordings) else column).tolist())
    unknown = [name for name in dict.fromkeys(wanted) if name not in known]
    if not unknown:
        return False
    listed = ", ".join(repr(name) for name in unknown)
    # the names most like the ones asked for first (a typo), then the rest in order
    close = [match for name in unknown
             for match in difflib.get_close_matches(name, known, n=3, cutoff=0.6)]
    some = list(dict.fromkeys(close + sorted(known)))[:SHOWN_CONFERENCES]
    more = f", ... ({len(known):,} in all)" if len(known) > len(some) else ""
    available = f"; the logs have {', '.join(some)}{more}" if some else \
        "; the logs have no conference names"
    print(f"recording-toolkit report: warning: --conference {listed}: no recording of"
          f" {'this conference' if len(unknown) == 1 else 'these conferences'} in the"
          f" logs{available}", file=err, flush=True)
    return True


def _is_text(value: str) -> bool:
    """False for a command-line argument holding bytes that were not UTF-8 (Python keeps them
    as lone surrogates, which no log line can hold)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _selected(args: argparse.Namespace) -> str:
    """The selection options given, as the user typed them (empty when none was)."""
    parts = [f"--since {args.since}" if args.since else "",
             f"--until {args.until}" if args.until else "",
             *(f"--conference {name}" for name in args.conference or [])]
    return " ".join(part for part in parts if part)


def _span(recordings: Any) -> str:
    """``from 2026-11-02 07:01 to 2026-11-15 16:59 UTC``: when the logs' recordings started."""
    start = recordings["recording_start"]
    first, last = start.min(), start.max()
    if hasattr(first, "compute"):
        first, last = first.compute(), last.compute()
    import pandas as pd

    if pd.isna(first) or pd.isna(last):
        return "with no start time"
    return f"started from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC"


def run_report(args: argparse.Namespace, *, environ: Mapping[str, str] | None = None,
               out: Any = None, err: Any = None) -> int:
    """Load, summarize and write what was asked for; errors propagate to the dispatcher."""
    from ..load import load_callbacks
    from ..report import cost_by_team, summarize, write_csv, write_html
    from ._options import check_output_file, check_output_folder, journal_option, progress_wanted

    out = out or sys.stdout
    err = err or sys.stderr
    since, until = _time("--since", args.since), _time("--until", args.until)
    if since is not None and until is not None and until <= since:
        from ..errors import ConfigurationError

        raise ConfigurationError(f"--until ({args.until}) must be later than --since"
                                 f" ({args.since})")
    rates = _rate_card(args, environ)
    for name in args.conference or []:
        if not _is_text(name):
            from ..errors import ConfigurationError

            raise ConfigurationError(f"--conference {name!r}: not UTF-8 text (the terminal sent"
                                     " other bytes), so no conference in the logs has it")
    # outputs and the journal first: a long load must not end in "cannot write" or "not a
    # journal"
    if args.html is not None:
        check_output_file("--html", args.html, makes_folders=True)
    if args.csv is not None:
        check_output_folder("--csv", args.csv)
    journal = journal_option(args.journal, command="report", err=err) if args.journal else None
    teams = None
    if args.teams is not None:
        from ..teams import load_teams

        teams = load_teams(args.teams)
    try:
        result = load_callbacks(list(args.logs), engine=args.engine, strict=args.strict,
                                progress=progress_wanted(args.progress))
    except FileNotFoundError as exc:  # a mistyped path: one line, not a traceback
        from ..errors import LoadError

        raise LoadError(str(exc)) from None
    if result.stats.files == 0:  # only existing folders with no log in them get here
        from ..errors import LoadError

        named = ", ".join(repr(str(log)) for log in args.logs)
        raise LoadError(f"source {named}: no log files found (.jsonl, .csv, .parquet)")
    if result.stats.lines and result.stats.quarantined == result.stats.lines:
        print(f"recording-toolkit report: warning: all {result.stats.lines:,} lines were"
              " quarantined; is this a"
              " callback log?", file=err, flush=True)
    warned = bool(args.conference) and _warn_unknown_conferences(args.conference,
                                                                 result.recordings, err)
    summary = summarize(result, rates=rates, journal=journal, since=since, until=until,
                        conferences=args.conference)
    if (_selected(args) and not warned and not summary.get("recordings.count")
            and len(result.recordings)):
        print(f"recording-toolkit report: warning: the selection {_selected(args)} matches no"
              f" recording; the logs hold recordings {_span(result.recordings)}", file=err,
              flush=True)
    costs = None if teams is None else cost_by_team(summary, teams)
    if args.json or args.details:  # --details implies --json
        data = summary.to_dict(details=args.details)
        if costs is not None:
            data["teams"] = costs.to_dict()
            if args.details:
                data["details"]["teams"] = costs.details()
        print(json.dumps(data, ensure_ascii=False), file=out, flush=True)
    elif not (args.html or args.csv):
        print(_readable(summary), file=out, flush=True)
        if costs is not None:
            print(_readable_teams(costs), file=out, flush=True)
    if args.html:
        path = write_html(summary, args.html, teams=costs)
        print(f"recording-toolkit report: wrote {path}", file=err)
    if args.csv:
        written = write_csv(summary, args.csv, teams=costs)
        print(f"recording-toolkit report: wrote {len(written)} tables to {args.csv}", file=err)
    return 0
