"""``python -m recording_toolkit`` runs the CLI."""

import sys

from .cli import main

sys.exit(main())
