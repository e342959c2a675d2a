"""The summary and the HTML / CSV report writers (moved to recording_toolkit/report/_summary.py)."""

from ._summary import *  # noqa: F403
from ._summary import NO_RECORDING_CALLBACK, _stable, __all__  # noqa: F401
