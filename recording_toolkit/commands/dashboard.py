"""``recording-toolkit dashboard SOURCE``: the Dashboard in a browser tab, without code.

Serves :class:`~recording_toolkit.widgets.Dashboard` over the callback logs of ``SOURCE`` with
Voilà (:mod:`recording_toolkit.app`): the same filters, charts, transcript search, export and
live mode as in a notebook, on loopback unless ``--host`` says otherwise. ``--teams FILE`` adds
the team filter and the cost by team chart; ``--sandbox`` a RecordingPanel wired to an embedded
sandbox and receiver, for training.

Every argument is checked before the server starts, each failure one line naming the option:
usage errors exit 2, a source with no log, a journal that is not one, a bad rate card or teams
file, or Voilà not installed exit 1. Ctrl-C or SIGTERM stops the server and its kernels (exit 0).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from typing import Any

from . import port_number

__all__ = ["register", "run_dashboard"]

#: Hosts that mean "this computer only".
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dashboard", help="serve the Dashboard of callback logs as a web page (no code shown)",
        description="Serve the Dashboard (filters, summary, charts, transcript search, export,"
                    " live mode) of callback logs as a web page, with Voilà. Listens on this"
                    " computer only unless --host is given; Ctrl-C stops it.")
    parser.add_argument("source", metavar="SOURCE",
                        help="callback log file, folder or glob (JSON Lines, CSV or Parquet)")
    parser.add_argument("--journal", default=None, metavar="PATH",
                        help="the client's request journal: tells pending transcriptions from"
                             " ones never requested")
    parser.add_argument("--rates", default=None, metavar="FILE",
                        help="rate card TOML file (top-level keys or a [rates] table; default:"
                             " the documented rates, then $RECORDING_TOOLKIT_RATE_*)")
    parser.add_argument("--teams", default=None, metavar="FILE",
                        help="TOML teams file ([teams] Name = [\"glob\", ...]): adds the team"
                             " filter and the cost by team chart")
    parser.add_argument("--live", action="store_true",
                        help="start in live mode: reload the logs every few seconds")
    parser.add_argument("--sandbox", action="store_true",
                        help="add a recording panel on an embedded sandbox and receiver, for"
                             " training (nothing reaches Plivo)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: %(default)s, this computer only)")
    parser.add_argument("--port", type=port_number, default=8866,
                        help="port to listen on (default: %(default)s; 0 picks a free one)")
    parser.set_defaults(func=run_dashboard)


def _checked_host(host: str) -> str:
    from ..errors import ConfigurationError

    if host == "localhost":
        return "127.0.0.1"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ConfigurationError(f"--host: {host!r} is not an IP address (e.g. 127.0.0.1)"
                                 ) from None
    return host


#: What a log file's name ends with (before any compression suffix).
_LOG_KINDS = (".jsonl", ".json", ".csv", ".parquet", ".ndjson")


def _is_log(name: str) -> bool:
    stem = name.lower()
    for suffix in (".gz", ".bz2", ".xz", ".zst"):
        stem = stem.removesuffix(suffix)
    return stem.endswith(_LOG_KINDS) and not name.startswith((".", "_"))


def _checked_source(source: str) -> str:
    """SOURCE must name at least one log file: found now, not in the browser later."""
    import glob

    from ..errors import ConfigurationError

    if not source.strip():
        raise ConfigurationError("SOURCE: an empty path; give a log file, folder or glob")
    if os.path.isdir(source):
        for _folder, dirs, files in os.walk(source):
            dirs[:] = [d for d in dirs if not d.startswith((".", "_"))]
            if any(_is_log(name) for name in files):
                return os.path.abspath(source)
        raise ConfigurationError(f"SOURCE {source!r}: no log files found in the folder"
                                 " (.jsonl, .csv, .parquet)")
    if os.path.isfile(source):
        return os.path.abspath(source)
    if glob.has_magic(source):
        if any(os.path.isfile(p) for p in glob.glob(source, recursive=True)):
            return source
        raise ConfigurationError(f"SOURCE {source!r}: the pattern matches no file")
    raise ConfigurationError(f"SOURCE {source!r}: no such file or folder")


def _absolute(path: str | None) -> str | None:
    return None if path is None else os.path.abspath(path)


def run_dashboard(args: argparse.Namespace, *, err: Any = None) -> int:
    """Check every argument, then serve until stopped."""
    import importlib.util

    from ..errors import ConfigurationError
    from ._options import journal_option

    err = err or sys.stderr
    host = _checked_host(args.host)
    source = _checked_source(args.source)
    if args.journal is not None:
        journal_option(args.journal, command="dashboard", err=err)
    from ..config import RateCard

    RateCard.resolve(path=args.rates)  # the file and the RECORDING_TOOLKIT_RATE_* variables
    if args.teams is not None:
        from ..teams import load_teams

        load_teams(args.teams)
    for module, extra in (("voila", "notebook"), ("ipywidgets", "notebook")):
        if importlib.util.find_spec(module) is None:
            raise ConfigurationError(f"{module} is not installed; install the '{extra}' extra:"
                                     " pip install 'recording_toolkit[notebook]'")
    if args.port:
        from ..app import port_taken

        if port_taken(host, args.port):
            raise ConfigurationError(f"--port: {args.port} is in use on {host}; choose another"
                                     " or 0 for a free one")
    from ..app import AppSettings, serve

    settings = AppSettings(source=source, journal=_absolute(args.journal),
                           rates=_absolute(args.rates), teams=_absolute(args.teams),
                           live=args.live, sandbox=args.sandbox)
    if host not in LOOPBACK:
        print(f"recording-toolkit dashboard: warning: listening on {host}: anyone who can reach"
              " this address sees the logs' figures and transcripts", file=err, flush=True)

    def ready(url: str) -> None:
        print(f"recording-toolkit dashboard: serving {source} at {url} (Ctrl-C to stop)",
              file=err, flush=True)

    code = serve(settings, host=host, port=args.port, ready=ready)
    print("recording-toolkit dashboard: stopped", file=err, flush=True)
    return code
