"""Sub-commands of the ``recording-toolkit`` CLI, one module per area.

Each module defines ``register(subparsers)``, which adds its parsers and sets ``func`` on them: a
callable taking the parsed ``argparse.Namespace`` and returning the exit code. Modules import only
the standard library at import time, so ``recording-toolkit --help`` stays fast; heavy imports
happen inside the command functions.
"""

#: The command modules, in the order their commands are listed in ``--help``.
COMMAND_MODULES = ("recording", "receive", "sandbox", "demo", "report", "backfill")


def port_number(text: str) -> int:
    """argparse type for ``--port``: a whole number from 0 (any free port) to 65535.

    >>> port_number("8000")
    8000
    >>> port_number("99999")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: 99999 is not a port number (0 to 65535; 0 picks a free one)
    """
    import argparse

    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(
            f"{text} is not a port number (0 to 65535; 0 picks a free one)")
    return value
