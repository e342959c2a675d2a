"""``recording-toolkit start`` and ``recording-toolkit stop``: one Record API call each.

The answer is printed as one JSON object on stdout; a failure ends the command with a one-line
error on stderr and exit code 1 (the dispatcher turns any toolkit error into that). Credentials
come from ``PLIVO_AUTH_ID`` / ``PLIVO_AUTH_TOKEN``: there is deliberately no token flag, so the
token never shows in the process list or the shell history.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any

from . import add_api_options, api_credentials

__all__ = ["register", "run_start", "run_stop"]


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("conference", metavar="CONFERENCE", help="name of the live conference")
    add_api_options(parser, timeout_help="seconds to wait for Plivo's answer")
    parser.add_argument("--journal", default=None, metavar="PATH",
                        help="append the call's outcome to this JSON Lines request journal")


def register(subparsers: Any) -> None:
    start = subparsers.add_parser(
        "start", help="start recording a live conference",
        description="Start recording a live Plivo conference and print Plivo's answer as JSON"
                    " (recording_id, api_id, url, ...).")
    _common(start)
    start.add_argument("--file-format", default="mp3", type=str.lower, choices=["mp3", "wav"],
                       help="recording file format (default: %(default)s)")
    start.add_argument("--transcribe", action="store_true",
                       help="ask Plivo for a transcript (English; needs --transcription-url)")
    start.add_argument("--transcription-url", default=None, metavar="URL",
                       help="where Plivo posts the transcript (with --transcribe)")
    start.add_argument("--callback-url", default=None, metavar="URL",
                       help="where Plivo posts the recording callback; may end with Plivo's"
                            " retry settings, e.g. '#ct=2000&rc=3'")
    start.add_argument("--callback-method", default="POST", type=str.upper,
                       choices=["GET", "POST"],
                       help="HTTP method of the recording callback (default: %(default)s)")
    start.add_argument("--retry-unsafe", action="store_true",
                       help="also retry when Plivo's answer leaves open whether the recording"
                            " started (may start a second, billed recording)")
    start.set_defaults(func=run_start)

    stop = subparsers.add_parser(
        "stop", help="stop recording a conference",
        description="Stop recording a Plivo conference; prints the outcome as JSON.")
    _common(stop)
    stop.set_defaults(func=run_stop)


#: The command line's name for each field the client's errors name.
_CLI_NAMES = {"conference_name": "CONFERENCE", "transcription_url": "--transcription-url",
              "callback_url": "--callback-url", "callback_method": "--callback-method",
              "file_format": "--file-format"}


@contextmanager
def _named_for_the_command_line() -> Iterator[None]:
    """Re-raise the client's validation errors naming the argument or flag, not the parameter
    (``CONFERENCE: ...`` rather than ``conference_name: ...``)."""
    from ..errors import ValidationError

    try:
        yield
    except ValidationError as exc:
        name = _CLI_NAMES.get(exc.field)
        if name is None:
            raise
        message = str(exc).removeprefix(f"{exc.field}: ")
        raise ValidationError(name, message, value=exc.value, allowed=exc.allowed) from None


@contextmanager
def _client(args: argparse.Namespace, environ: Mapping[str, str] | None,
            transport: Any, **options: Any) -> Iterator[Any]:
    """A client for the command, its journal opened first: a start whose outcome cannot be
    journalled is never sent (the journal check is the clients' own, naming ``--journal``)."""
    from ..client import RecordingClient
    from ..journal import RequestJournal

    credentials = api_credentials(args, environ)
    with ExitStack() as stack:
        journal = None
        if args.journal is not None:
            journal = stack.enter_context(RequestJournal(args.journal).open(option="--journal"))
        client = stack.enter_context(RecordingClient(
            credentials.auth_id, credentials.auth_token, base_url=args.base_url,
            timeout=args.timeout, environ=environ, transport=transport, journal=journal,
            **options))
        with _named_for_the_command_line():
            yield client


def _print(data: Mapping[str, Any], out: Any) -> None:
    print(json.dumps(data, ensure_ascii=False), file=out or sys.stdout, flush=True)


def run_start(args: argparse.Namespace, *, environ: Mapping[str, str] | None = None,
              transport: Any = None, out: Any = None) -> int:
    """Start the recording and print the result; errors propagate to the dispatcher.

    Every argument is checked before anything is touched: no journal is created and no
    request sent for a command that cannot run.
    """
    from ..errors import ValidationError
    from ..validation import validate_conference_name, validate_start_options

    if args.transcription_url and not args.transcribe:
        raise ValidationError("--transcription-url", "is only used with --transcribe (Plivo"
                              " posts the transcript there); add --transcribe")
    if args.transcribe and not args.transcription_url:
        raise ValidationError("--transcribe", "needs --transcription-url URL: where Plivo posts"
                              " the transcript")
    options = {"file_format": args.file_format,
               "transcription_type": "auto" if args.transcribe else None,
               "transcription_url": args.transcription_url, "callback_url": args.callback_url,
               "callback_method": args.callback_method}
    with _named_for_the_command_line():
        validate_conference_name(args.conference)
        validate_start_options(**options)
    with _client(args, environ, transport, retry_unsafe=args.retry_unsafe) as client:
        result = client.start_recording(args.conference, **options)
    _print(result.to_dict(), out)
    return 0


def run_stop(args: argparse.Namespace, *, environ: Mapping[str, str] | None = None,
             transport: Any = None, out: Any = None) -> int:
    """Stop the recording and print what Plivo answered, e.g. ``{"conference_name": "weekly
    sync", "stopped": true, "status_code": 204, "requested_at": "..."}`` (``api_id`` and
    ``message`` only when Plivo's answer had them); errors propagate to the dispatcher."""
    from ..validation import validate_conference_name

    with _named_for_the_command_line():
        validate_conference_name(args.conference)
    with _client(args, environ, transport) as client:
        result = client.stop_recording(args.conference)
    _print(result.to_dict(), out)
    return 0
