"""``recording-toolkit receive``: run the callback receiver in the foreground.

It prints the callback URLs to give Plivo, serves until Ctrl-C or SIGTERM, lets in-flight
callbacks finish, closes the log and exits 0. Every callback answered 2xx is on disk. With
``--workers N`` several processes share the port (see :mod:`._receiving`).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Mapping
from typing import Any

from . import port_number

__all__ = ["register", "run"]

_WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})
# the receiver's defaults, repeated here: command modules import only the standard library
_DEFAULT_BODY_TIMEOUT = 15.0
_DEFAULT_MAX_CONNECTIONS = 500
#: More worker processes than this gain nothing on any machine the receiver is meant for, and
#: each holds its own files and connections.
MAX_WORKERS = 64


def _seconds(text: str) -> float:
    """argparse type for ``--body-timeout``: seconds, more than 0 and at most an hour."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= 3600):
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds (more than 0, at most"
                                         " 3600)")
    return value


def _connections(text: str) -> int:
    """argparse type for ``--max-connections``: a whole number, 1 or more."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a whole number of connections (1 or"
                                         " more)")
    return value


def _workers(text: str) -> int:
    """argparse type for ``--workers``: a whole number from 1 to :data:`MAX_WORKERS`."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"{text} is not a number of worker processes (1 to"
                                         f" {MAX_WORKERS})")
    return value


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "receive",
        help="receive Plivo recording and transcription callbacks into a log folder",
        description=(
            "Serve POST|GET /callbacks/recording and POST /callbacks/transcription, verify Plivo's"
            " V3 signatures and append each callback to the JSON Lines log once it is on disk."
            " Runs until Ctrl-C or SIGTERM."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=port_number, default=8000,
                        help="port to listen on; 0 picks a free one (default: %(default)s)")
    parser.add_argument("--log-dir", default=None,
                        help="callback log folder (default: $RECORDING_TOOLKIT_DATA_DIR/callbacks,"
                             " else ./recording_data/callbacks)")
    parser.add_argument("--auth-token", action="append", default=None, metavar="TOKEN",
                        help="token Plivo signs callbacks with; repeat (or comma-separate) while"
                             " rotating (default: $PLIVO_AUTH_TOKEN, which keeps it out of the"
                             " process list)")
    parser.add_argument("--main-account-token", action="append", default=None, metavar="TOKEN",
                        help="token for X-Plivo-Signature-Ma-V3 when it differs (sub-accounts)")
    parser.add_argument("--public-url", default=None,
                        help="base URL Plivo calls, e.g. https://callbacks.example.com; signatures"
                             " are checked against it (default: this server's own URL)")
    parser.add_argument("--no-verify", dest="verify", action="store_false",
                        help="accept unsigned callbacks (tests only); lines say verified: false")
    parser.add_argument("--trust-forwarded", action="store_true",
                        help="without --public-url, rebuild the URL from X-Forwarded-Proto and"
                             " X-Forwarded-Host (only behind a proxy you control)")
    parser.add_argument("--instance-id", default=None,
                        help="id in the log's file names; with --workers, worker N writes under"
                             " INSTANCE_ID-N (default: host-pid-random, per process)")
    parser.add_argument("--workers", type=_workers, default=1, metavar="N",
                        help="serve with N processes sharing the port (SO_REUSEPORT), each"
                             " writing its own log files; --max-connections applies to each"
                             " (default: %(default)s)")
    parser.add_argument("--body-timeout", type=_seconds, default=_DEFAULT_BODY_TIMEOUT,
                        metavar="SECONDS",
                        help="seconds a request's body may take once its headers are in; a"
                             " sender that stalls longer gets 408 and is disconnected (recorded"
                             " under _rejected/, not in the log). A connection that sends no"
                             " complete headers for as long is closed (default: %(default)g)")
    parser.add_argument("--max-connections", type=_connections, default=None, metavar="N",
                        help="connections served at once; when one more opens, the one stuck"
                             " longest on its headers or body is closed to make room, and only"
                             " if none is stuck does the newcomer get 503 (default:"
                             f" {_DEFAULT_MAX_CONNECTIONS}, or half the open-file limit,"
                             " 'ulimit -n', when that is lower)")
    parser.add_argument("--log-level", default="warning",
                        choices=["critical", "error", "warning", "info", "debug"],
                        help="uvicorn's log level (default: %(default)s)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, *, environ: Mapping[str, str] | None = None,
        out: Any = None) -> int:
    """Serve until interrupted; return the exit code."""
    from ..callback_log import check_instance_id, log_dir_problem
    from ..config import resolve_data_dir
    from ..errors import ConfigurationError
    from ..receiver import (
        RECORDING_PATH,
        TRANSCRIPTION_PATH,
        check_body_timeout,
        normalise_public_url,
        require_auth_tokens,
        resolve_auth_tokens,
        resolve_max_connections,
    )
    from ..server import bind_socket
    from ._receiving import ServeOptions, serve, serve_workers

    out = out or sys.stdout
    env = os.environ if environ is None else environ
    workers = getattr(args, "workers", 1)
    # every option is checked before anything is created, bound or written
    tokens = require_auth_tokens(args.auth_token, verify=args.verify, environ=env,
                                 flags={"auth_token": "--auth-token", "verify": "--no-verify"})
    ma_tokens = (None if args.main_account_token is None
                 else resolve_auth_tokens(args.main_account_token, environ={}))
    if args.verify and ma_tokens is not None and not ma_tokens:
        raise ConfigurationError("--main-account-token: given but empty")
    public_url = normalise_public_url(args.public_url, "--public-url")
    body_timeout = check_body_timeout(args.body_timeout, "--body-timeout")
    max_connections = resolve_max_connections(args.max_connections, "--max-connections")
    if args.instance_id is not None:
        check_instance_id(args.instance_id, "--instance-id")
        if workers > 1:  # worker N writes under INSTANCE_ID-N
            check_instance_id(f"{args.instance_id}-{workers}", "--instance-id")
    log_dir = args.log_dir or (resolve_data_dir(environ=env) / "callbacks")
    log_dir_name = "--log-dir" if args.log_dir else "the log folder (set --log-dir)"
    problem = log_dir_problem(log_dir)
    if problem is not None:
        raise ConfigurationError(f"{log_dir_name}: {problem}")
    sockets = []
    try:
        try:
            if workers > 1 and args.port != 0:
                # a port shared with SO_REUSEPORT would also admit a second receiver started
                # by mistake: the port must be free first
                bind_socket(args.host, args.port).close()
            sockets.append(bind_socket(args.host, args.port, reuse_port=workers > 1))
            port = sockets[0].getsockname()[1]
            while len(sockets) < workers:  # the others on the port the first one got
                sockets.append(bind_socket(args.host, port, reuse_port=True))
        except OSError as exc:
            raise ConfigurationError(f"cannot listen on {args.host}:{args.port}: {exc}") from None
        host = f"[{args.host}]" if ":" in args.host else args.host
        local_url = f"http://{host}:{port}"
        if public_url is None and args.host not in _WILDCARD_HOSTS:
            public_url = local_url  # what it hands out is what it verifies against
        shown = public_url or f"http://<this host>:{port}"
        options = ServeOptions(
            log_dir=os.fspath(log_dir), log_dir_option=log_dir_name,
            instance_id=args.instance_id, tokens=tokens, ma_tokens=ma_tokens,
            public_url=public_url, trust_forwarded=args.trust_forwarded, verify=args.verify,
            body_timeout=body_timeout, max_connections=max_connections,
            log_level=args.log_level)

        def ready(instance_ids: list[str], pids: list[int] | None = None) -> None:
            verify = "on" if args.verify else "OFF (unsigned callbacks accepted)"
            instances = ", ".join(instance_ids)
            print(f"recording-toolkit receive: listening on {local_url}", file=out)
            print(f"  log folder:         {os.fspath(log_dir)} (instance"
                  f"{'s' if len(instance_ids) > 1 else ''} {instances})", file=out)
            if pids is not None:
                print(f"  workers:            {len(pids)} processes sharing the port (pids"
                      f" {', '.join(map(str, pids))})", file=out)
            print(f"  signatures:         {verify}", file=out)
            print(f"  recording callback: {shown}{RECORDING_PATH}", file=out)
            print(f"  transcription:      {shown}{TRANSCRIPTION_PATH}", file=out)
            print("  press Ctrl-C to stop", file=out, flush=True)

        if workers == 1:
            stopped_by, counts = serve(options, sockets[0],
                                       on_ready=lambda instance_id: ready([instance_id]))
        else:
            stopped_by, counts = serve_workers(options, sockets, on_ready=ready)
        print(f"recording-toolkit receive: stopped ({stopped_by or 'shutdown'});"
              f" stored {counts['recording']} recording and {counts['transcription']}"
              f" transcription callbacks, {counts['duplicates']} duplicates,"
              f" {counts['rejected']} rejected, {counts['malformed']} malformed",
              file=out, flush=True)
    finally:
        for sock in sockets:
            sock.close()
    return 0
