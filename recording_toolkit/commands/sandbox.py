"""``recording-toolkit sandbox``: run the local simulated Plivo in the foreground.

It prints its base URL and the (made-up) credentials to configure clients with, serves until
Ctrl-C or SIGTERM, then prints what it did. An address it cannot listen on (a port in use, a
host that is not this machine's) is one error line naming ``--port`` or ``--host``.
"""

from __future__ import annotations

import argparse
import errno
import math
import signal
import socket
import sys
import threading
from typing import Any

from . import port_number
from ._options import named_by_flags

__all__ = ["register", "run"]


#: The flag for each parameter of ``Sandbox`` the command passes, to name it in errors.
_FLAGS = {"auth_id": "--auth-id", "auth_token": "--auth-token", "seed": "--seed",
          "time_scale": "--time-scale", "faults": "--faults", "host": "--host", "port": "--port",
          "rate_limit": "--rate-limit"}


def _rate_limit(text: str) -> tuple[int, float] | None:
    if text.lower() in ("", "none", "off"):
        return None
    count, sep, window = text.partition("/")
    try:
        limit = (int(count), float(window) if sep else 5.0)
    except ValueError:
        limit = (0, 0.0)
    if not (limit[0] >= 1 and math.isfinite(limit[1]) and limit[1] > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not REQUESTS/SECONDS (at least 1"
                                         " request, seconds > 0), e.g. 300/5")
    return limit


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sandbox",
        help="run a local simulated Plivo (Record and Recording APIs, signed callbacks)",
        description=(
            "Serve Plivo's conference Record API and Recording API on this machine and post"
            " V3-signed recording and transcription callbacks, so the toolkit (or the official"
            " plivo SDK) runs with no Plivo account. The auth id and token it prints are made up"
            " for this local sandbox (generated unless given): they are shown so you can"
            " configure clients, and they are not Plivo credentials. Runs until Ctrl-C."
        ),
        epilog=("Faults: a preset (none, light, heavy) and/or key=value pairs: api_error,"
                " drop, duplicate, delay (rates 0-1), latency_ms=LOW-HIGH, delay_s=LOW-HIGH,"
                " statuses=500/503/429, retry_after=SECONDS, async_answer (a share 0-1 of starts"
                " answered 202 without recording_id, as Plivo's asynchronous answer)."
                " Example: --faults light,drop=0.1"),
    )
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=port_number, default=8100,
                        help="port to listen on; 0 picks a free one (default: %(default)s)")
    parser.add_argument("--auth-id", default=None,
                        help="the account id clients use (default: a generated MA... id)")
    parser.add_argument("--auth-token", default=None,
                        help="the token clients use and callbacks are signed with (default:"
                             " generated; it is a local made-up token and is printed)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds ids, durations, transcripts and faults (default: %(default)s)")
    parser.add_argument("--time-scale", type=float, default=None,
                        help="simulated seconds per real second (default: 60; 3600 makes an"
                             " hour-long recording end in a second)")
    parser.add_argument("--strict", action="store_true",
                        help="only conferences opened with POST /_sandbox/conferences/NAME are"
                             " live; others get 404 (default: any name is live)")
    parser.add_argument("--faults", default=None, metavar="SPEC",
                        help="fault injection (see below; default: none)")
    parser.add_argument("--media-auth", action="store_true",
                        help="recording files at recording_url ask for Basic auth (401 with"
                             " WWW-Authenticate) as some Plivo accounts' media does (default:"
                             " served without auth)")
    parser.add_argument("--rate-limit", type=_rate_limit, default=None, metavar="N/SECONDS",
                        help="answer 429 past N requests per SECONDS, like Plivo's 300/5"
                             " (default: off)")
    parser.add_argument("--transcription-rate", type=float, default=None, metavar="PRICE",
                        help="transcription price per minute (default: the rate card's,"
                             " RECORDING_TOOLKIT_RATE_TRANSCRIPTION_PER_MINUTE or 0.05)")
    parser.add_argument("--log-level", default="warning",
                        choices=["critical", "error", "warning", "info", "debug"],
                        help="uvicorn's log level (default: %(default)s)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, *, out: Any = None,
        stop: threading.Event | None = None) -> int:
    """Serve until interrupted (or until ``stop`` is set); return the exit code."""
    from ..config import RateCard
    from ..errors import ConfigurationError
    from ..sandbox import DEFAULT_TIME_SCALE, Faults, Sandbox

    out = out or sys.stdout
    _check_text(args)
    rates = RateCard.resolve(transcription_per_minute=args.transcription_rate,
                             flags={"transcription_per_minute": "--transcription-rate"})
    time_scale = DEFAULT_TIME_SCALE if args.time_scale is None else args.time_scale
    with named_by_flags(_FLAGS):
        faults = Faults.parse(args.faults)
        sandbox = Sandbox(auth_id=args.auth_id, auth_token=args.auth_token, seed=args.seed,
                          time_scale=time_scale, strict=args.strict, faults=faults,
                          rates=rates, host=args.host, port=args.port,
                          rate_limit=args.rate_limit, log_level=args.log_level,
                          media_auth=args.media_auth)
    stop = stop or threading.Event()
    try:
        sandbox.start()
    except OSError as exc:
        raise ConfigurationError(_bind_error(args.host, args.port, exc)) from None
    handlers = _install_handlers(stop) if threading.current_thread() is threading.main_thread() \
        else {}
    try:
        with sandbox:
            _print_banner(sandbox, time_scale, out)
            while not stop.wait(0.5):
                pass
            truth = sandbox.ground_truth(details=False)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    recordings, callbacks = truth["recordings"], truth["callbacks"]
    delivered = sum(c["delivered"] for c in callbacks.values())
    dropped = sum(c["dropped"] for c in callbacks.values())
    pending = sum(c["pending"] for c in callbacks.values())
    print(f"recording-toolkit sandbox: stopped; started {recordings['started']} recordings,"
          f" delivered {delivered} callbacks ({dropped} dropped by fault injection,"
          f" {pending} still pending)", file=out, flush=True)
    return 0


def _check_text(args: argparse.Namespace) -> None:
    """Refuse an empty ``--host`` (Python would listen on every interface) or credential
    (``"$TOKEN"`` of an unset variable), and one that is not UTF-8 text (no client could send
    it, and callbacks could not be signed with it)."""
    from ..errors import ConfigurationError

    for flag, value, instead in (("--host", args.host, "give an address such as 127.0.0.1"
                                  " (0.0.0.0 for every interface)"),
                                 ("--auth-id", args.auth_id, "leave it out to have one made up"),
                                 ("--auth-token", args.auth_token,
                                  "leave it out to have one made up")):
        if value is None:
            continue
        if not value.strip():
            raise ConfigurationError(f"{flag}: empty; {instead}")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ConfigurationError(f"{flag}: {value!r} is not UTF-8 text (the terminal sent"
                                     " other bytes)") from None


def _bind_error(host: str, port: int, exc: OSError) -> str:
    """Why the sandbox could not listen on ``host:port``, and what to do about it."""
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return (f"--port: {where} is already in use (another sandbox?); stop what holds it,"
                " or pick another --port (--port 0 picks a free one)")
    if isinstance(exc, socket.gaierror):
        return f"--host: {host!r} is not a host name or address ({exc.strerror or exc})"
    if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
        return f"--host: cannot listen on {host!r}: not an address of this machine"
    if exc.errno == errno.EACCES:
        return (f"--port: {where}: permission denied (ports below 1024 need privileges); pick"
                " another --port (--port 0 picks a free one)")
    return f"cannot listen on {where}: {exc.strerror or exc}"


def _install_handlers(stop: threading.Event) -> dict[int, Any]:
    def handler(signum: int, frame: Any) -> None:
        stop.set()

    previous: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, handler)
    return previous


def _print_banner(sandbox: Any, time_scale: float, out: Any) -> None:
    config = sandbox.config
    mode = ("strict (open conferences with POST /_sandbox/conferences/NAME)" if config.strict
            else "demo (any conference name is live)")
    lines = [
        f"recording-toolkit sandbox: a simulated Plivo on {sandbox.base_url}",
        f"  auth id:     {sandbox.auth_id}",
        f"  auth token:  {sandbox.auth_token}  (made up for this local sandbox, not a Plivo"
        " credential)",
        f"  mode:        {mode}",
        f"  time scale:  {time_scale:g}x (sandbox time starts now and runs {time_scale:g} times"
        " faster)",
        f"  seed:        {config.seed}",
        f"  faults:      {config.faults.describe()}",
        "  point a client at it:",
        f"    export PLIVO_API_BASE_URL={sandbox.base_url}",
        f"    export PLIVO_AUTH_ID={sandbox.auth_id}",
        f"    export PLIVO_AUTH_TOKEN={sandbox.auth_token}",
        "  press Ctrl-C to stop",
    ]
    print("\n".join(lines), file=out, flush=True)
