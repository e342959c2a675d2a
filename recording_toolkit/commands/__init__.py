"""Sub-commands of the ``recording-toolkit`` CLI, one module per area.

Each module defines ``register(subparsers)``, which adds its parsers and sets ``func`` on them: a
callable taking the parsed ``argparse.Namespace`` and returning the exit code. Modules import only
the standard library at import time, so ``recording-toolkit --help`` stays fast; heavy imports
happen inside the command functions.
"""

import argparse
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..config import Credentials

#: The command modules, in the order their commands are listed in ``--help``.
COMMAND_MODULES = ("recording", "receive", "sandbox", "demo", "report", "search", "dashboard",
                   "backfill", "recordings", "retention", "doctor")


def port_number(text: str) -> int:
    """argparse type for ``--port``: a whole number from 0 (any free port) to 65535.

    >>> port_number("8000")
    8000
    >>> port_number("99999")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: 99999 is not a port number (0 to 65535; 0 picks a free one)
    """
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(
            f"{text} is not a port number (0 to 65535; 0 picks a free one)")
    return value


def add_api_options(parser: argparse.ArgumentParser, *, timeout_help: str) -> None:
    """``--base-url``, ``--auth-id`` and ``--timeout``: how a command reaches Plivo's API (the
    token only ever comes from ``$PLIVO_AUTH_TOKEN``, never the process list)."""
    parser.add_argument("--base-url", default=None,
                        help="API root (default: $PLIVO_API_BASE_URL, else https://api.plivo.com;"
                             " point it at the sandbox to run without an account)")
    parser.add_argument("--auth-id", default=None,
                        help="Plivo auth id (default: $PLIVO_AUTH_ID); the token is read from"
                             " $PLIVO_AUTH_TOKEN only")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help=f"{timeout_help} (default: %(default)s)")


#: The flag for each credential on the commands :func:`add_api_options` equips: only the auth id
#: has one, the token is read from ``$PLIVO_AUTH_TOKEN`` only.
API_CREDENTIAL_FLAGS = {"auth_id": "--auth-id"}


def api_credentials(args: argparse.Namespace, environ: Mapping[str, str] | None
                    ) -> "Credentials":
    """The :class:`~recording_toolkit.config.Credentials` of a command with
    :func:`add_api_options`: ``--auth-id``, else ``$PLIVO_AUTH_ID``, and ``$PLIVO_AUTH_TOKEN``.

    Resolved here rather than by the client so that what is missing is named as the user can fix
    it on the command line (``--auth-id: missing; ...``), not by the client's parameter names.
    """
    from ..config import resolve_credentials

    return resolve_credentials(args.auth_id, None, environ=environ, flags=API_CREDENTIAL_FLAGS)
