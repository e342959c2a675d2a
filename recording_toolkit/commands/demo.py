"""``recording-toolkit demo``: the whole workflow against a local sandbox, with a report."""

from __future__ import annotations

import argparse
from typing import Any

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
               " --faults light,drop=0.05 (see `recording-toolkit sandbox --help`).",
    )
    parser.add_argument("--count", type=int, default=200,
                        help="recordings to start (default: %(default)s)")
    parser.add_argument("--conferences", type=int, default=None,
                        help="conferences to spread them over (default: one per ~6 recordings,"
                             " at most 36)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds the requests and the sandbox (default: %(default)s)")
    parser.add_argument("--faults", default=None, metavar="SPEC",
                        help="sandbox fault injection (default: none)")
    parser.add_argument("--out", default="reports/demo",
                        help="output folder (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds to wait for callbacks (default: %(default)s)")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, *, stream: Any = None) -> int:
    from ..demo import run_demo

    run_demo(count=args.count, seed=args.seed, faults=args.faults, out=args.out,
             conferences=args.conferences, progress=args.progress, stream=stream,
             timeout=args.timeout)
    return 0
