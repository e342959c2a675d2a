"""Sub-commands of the ``recording-toolkit`` CLI, one module per area.

Each module defines ``register(subparsers)``, which adds its parsers and sets ``func`` on them: a
callable taking the parsed ``argparse.Namespace`` and returning the exit code. Modules import only
the standard library at import time, so ``recording-toolkit --help`` stays fast; heavy imports
happen inside the command functions.
"""

#: The command modules, in the order their commands are listed in ``--help``.
COMMAND_MODULES = ("recording", "receive", "sandbox", "demo", "report", "backfill")
