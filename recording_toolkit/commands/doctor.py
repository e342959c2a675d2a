"""``recording-toolkit doctor``: check a set-up before the first real recording.

One line per check on stdout (``ok`` / ``warning`` / ``failed`` / ``skipped``, what was found,
and the fix), then a summary; ``--json`` prints the same as one JSON object. Exit code 0 when
no check failed, 1 when one did (or an option was not well-formed), 2 for a usage error. The
checks are :func:`recording_toolkit.preflight`'s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Mapping
from typing import Any

from . import add_api_options

__all__ = ["register", "run"]

#: The flag naming each preflight parameter in errors and findings.
FLAGS = {"public_url": "--public-url", "log_dir": "--log-dir", "auth_id": "--auth-id",
         "base_url": "--base-url", "timeout": "--timeout", "journal": "--journal"}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check credentials, the callback path, the log folder and the clock",
        description=(
            "Check a set-up for a real Plivo account: the credentials (one GET of the account"
            " resource: main or sub-account), the clock against the API's, the callback path end"
            " to end (with --public-url: a signed test callback to the running receiver, which"
            " the loader and the analytics leave out), the log folder (writable, fsync, free"
            " space, filesystem) and the rate card and journal settings."
        ),
        epilog="Exit code: 0 when no check failed, 1 when one did, 2 for a usage error. The"
               " token is read from $PLIVO_AUTH_TOKEN only.",
    )
    parser.add_argument("--public-url", default=None, metavar="URL",
                        help="the base URL Plivo calls, as given to `receive --public-url`; a"
                             " signed test callback goes to URL/callbacks/recording (default:"
                             " no callback check)")
    parser.add_argument("--log-dir", default=None, metavar="DIR",
                        help="callback log folder to check (default:"
                             " $RECORDING_TOOLKIT_DATA_DIR/callbacks, else"
                             " ./recording_data/callbacks, as `receive`)")
    add_api_options(parser, timeout_help="seconds each request may take")
    parser.add_argument("--rates", default=None, metavar="FILE",
                        help="a rate card TOML file to check, as `report --rates` reads it")
    parser.add_argument("--journal", default=None, metavar="PATH",
                        help="a request journal to check, as `start --journal` writes it")
    parser.add_argument("--json", action="store_true",
                        help="print the checks as one JSON object instead of lines")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, *, environ: Mapping[str, str] | None = None,
        transport: Any = None, out: Any = None) -> int:
    """Run the checks, print them, return the exit code."""
    from ..doctor import preflight

    result = preflight(public_url=args.public_url, log_dir=args.log_dir, auth_id=args.auth_id,
                       base_url=args.base_url, rates=args.rates, journal=args.journal,
                       timeout=args.timeout, environ=environ, transport=transport, flags=FLAGS)
    stream = out if out is not None else sys.stdout
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False), file=stream)
    else:
        # wrapped to the terminal for a person; one line per check for a pipe or a file
        width = shutil.get_terminal_size().columns if _is_terminal(stream) else None
        for line in result.lines(width):
            print(line, file=stream)
        print(f"{'ready' if result.ok else 'not ready'}: {result.summary()}", file=stream)
    return result.exit_code


def _is_terminal(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
