"""``recording-toolkit demo``: the whole workflow against a local sandbox, with a report.

Exit codes: 0 when every recording was started and every callback arrived within
``--timeout``; 1 when time ran out first (the report is still written, for what arrived, and
one error line on stderr says what was left undone) or on any other error; 2 for a usage error
(``--count 0``, ``--conferences 0``, ``--timeout 0``).
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any


def _at_least_one(text: str) -> int:
    """argparse type: a whole number >= 1.

    >>> _at_least_one("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: 0 is not a whole number >= 1
    """
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a whole number >= 1")
    return value


def _seconds(text: str) -> float:
    """argparse type: a number of seconds > 0 (not nan, not inf)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds > 0")
    return value

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the whole workflow on a local sandbox and write reports/demo/",
        description=(
            "Start a sandbox (a simulated Plivo) and a callback receiver on 127.0.0.1, start"
            " recordings across a few dozen conferences through the bulk client, wait for their"
            " recording and transcription callbacks, load the log and write summary.json and an"
            " HTML report with charts. Needs no Plivo account and no network."
        ),
        epilog="Faults: a preset (none, light, heavy) and/or key=value pairs, e.g."
               " --faults light,drop=0.05 (see `recording-toolkit sandbox --help`). Exit code:"
               " 0 when everything was started and arrived in time, 1 when --timeout ran out"
               " first (the report covers what arrived) or on an error, 2 for a usage error.",
    )
    parser.add_argument("--count", type=_at_least_one, default=200,
                        help="recordings to start, at least 1 (default: %(default)s)")
    parser.add_argument("--conferences", type=_at_least_one, default=None,
                        help="conferences to spread them over, at least 1 (default: one per ~6"
                             " recordings, at most 36)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds the requests and the sandbox (default: %(default)s)")
    parser.add_argument("--faults", default=None, metavar="SPEC",
                        help="sandbox fault injection (default: none)")
    parser.add_argument("--out", default="reports/demo",
                        help="output folder (default: %(default)s)")
    parser.add_argument("--timeout", type=_seconds, default=120.0,
                        help="real seconds the run may take to start every recording and"
                             " receive every callback (default: %(default)s); when time runs"
                             " out, the meetings still running are ended, the report is"
                             " written for what arrived, and the command exits 1")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bars (they are drawn only when stderr is a"
                             " terminal)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, *, stream: Any = None, err: Any = None) -> int:
    """Run the demo; 1 (after one error line) when time ran out before it was done."""
    from ..demo import run_demo
    from ..sandbox import Faults
    from ._options import check_output_folder, named_by_flags, progress_wanted

    with named_by_flags({"faults": "--faults"}):
        faults = Faults.parse(args.faults)  # before --out is made or cleared
    check_output_folder("--out", args.out)
    with named_by_flags({"out": "--out"}):
        result = run_demo(count=args.count, seed=args.seed, faults=faults, out=args.out,
                          conferences=args.conferences,
                          progress=progress_wanted(args.progress),
                          stream=stream, timeout=args.timeout)
    shortfall = result.shortfall()
    if shortfall is None:
        return 0
    print(f"recording-toolkit demo: error: {shortfall}", file=err or sys.stderr, flush=True)
    return 1
