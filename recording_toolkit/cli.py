"""The ``recording-toolkit`` command: a thin dispatcher over :mod:`recording_toolkit.commands`.

Errors the toolkit raises on purpose, and operating-system errors (a file that cannot be
written, a folder that does not exist), end the command with a one-line message on stderr and
exit code 1; usage errors exit 2 (argparse's convention); a closed pipe (``... | head``) ends it
quietly with 141, as for other command-line tools.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from ._version import __version__
from .commands import COMMAND_MODULES

__all__ = ["build_parser", "main"]


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit 2), not argparse's
    usage block and error: the line names the command and what was wrong, and points to
    ``--help`` for the usage. Sub-command parsers are made with the same class."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="recording-toolkit",
        description="Start Plivo conference recordings, receive their callbacks, analyse them.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__package__}.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__package__}.commands.{name}":
                continue  # that area's command is not part of this build
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from .errors import RecordingToolkitError

    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # named by the command they were given to, as its own usage errors are
        command = getattr(args, "command", None)
        prog = f"{parser.prog} {command}" if command else parser.prog
        OneLineParser(prog=prog).error(f"unrecognized arguments: {' '.join(unknown)}")
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except RecordingToolkitError as exc:
        print(f"recording-toolkit {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # the reader went away (``... | head``): stop quietly, as command-line tools do
        _silence_stdout()
        return 141
    except OSError as exc:
        print(f"recording-toolkit {args.command}: error: {describe_os_error(exc)}",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"recording-toolkit {args.command}: interrupted", file=sys.stderr)
        return 130


def describe_os_error(exc: OSError) -> str:
    """An operating-system error as one line naming the file: ``reports/x.html: Permission
    denied``.

    Examples
    --------
    >>> describe_os_error(FileNotFoundError(2, "No such file or directory", "/proc/x/r.html"))
    '/proc/x/r.html: No such file or directory'
    """
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is None:
        return reason
    where = os.fspath(exc.filename)
    if exc.filename2 is not None:
        where += f" -> {os.fspath(exc.filename2)}"
    return f"{where}: {reason}"


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a file descriptor (tests)
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
