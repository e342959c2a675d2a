"""The former name of :mod:`recording_toolkit.server`, kept so that existing imports still work.

Import from :mod:`recording_toolkit.server` instead.
"""

from __future__ import annotations

from .server import STALLED_AFTER, BackgroundServer, GuardedServer, bind_socket

__all__ = ["STALLED_AFTER", "BackgroundServer", "GuardedServer", "bind_socket"]
