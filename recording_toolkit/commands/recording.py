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
from collections.abc import Mapping
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


def _client(args: argparse.Namespace, environ: Mapping[str, str] | None,
            transport: Any, **options: Any) -> Any:
    from ..client import RecordingClient
    from ..journal import RequestJournal

    credentials = api_credentials(args, environ)
    client = RecordingClient(credentials.auth_id, credentials.auth_token, base_url=args.base_url,
                             timeout=args.timeout, environ=environ, transport=transport,
                             **options)
    if args.journal is not None:
        # open it before sending: a start whose outcome cannot be journalled is not sent
        try:
            journal = RequestJournal(args.journal).open()
        except BaseException:
            client.close()
            raise
        client.journal, client._owns_journal = journal, True
    return client


def _print(data: Mapping[str, Any], out: Any) -> None:
    print(json.dumps(data, ensure_ascii=False), file=out or sys.stdout, flush=True)


def run_start(args: argparse.Namespace, *, environ: Mapping[str, str] | None = None,
              transport: Any = None, out: Any = None) -> int:
    """Start the recording and print the result; errors propagate to the dispatcher."""
    from ..errors import ValidationError

    if args.transcription_url and not args.transcribe:
        raise ValidationError("--transcription-url", "is only used with --transcribe (Plivo"
                              " posts the transcript there); add --transcribe")
    if args.transcribe and not args.transcription_url:
        raise ValidationError("--transcribe", "needs --transcription-url URL: where Plivo posts"
                              " the transcript")
    with _client(args, environ, transport, retry_unsafe=args.retry_unsafe) as client:
        result = client.start_recording(
            args.conference, file_format=args.file_format,
            transcription_type="auto" if args.transcribe else None,
            transcription_url=args.transcription_url, callback_url=args.callback_url,
            callback_method=args.callback_method)
    _print(result.to_dict(), out)
    return 0


def run_stop(args: argparse.Namespace, *, environ: Mapping[str, str] | None = None,
             transport: Any = None, out: Any = None) -> int:
    """Stop the recording and print the result; errors propagate to the dispatcher."""
    with _client(args, environ, transport) as client:
        result = client.stop_recording(args.conference)
    _print(result.to_dict(), out)
    return 0
