"""The widgets' former attribute names, kept for code written against them.

The panel's buttons were once ``start`` and ``stop`` (read beside ``CallbackReceiver.start()``,
a method), and the dashboard's chart menu and latest-callbacks table ``metric`` and ``recent``
(the names of the plain values its constructor takes). The new names say what the attribute
is; the old ones still work and warn once per use.
"""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["renamed"]


def renamed(widget: Any, old: str, new: str) -> Any:
    """``widget.<new>``, with a :class:`DeprecationWarning` naming both names."""
    warnings.warn(f"{type(widget).__name__}.{old} is deprecated; use .{new}",
                  DeprecationWarning, stacklevel=3)
    return getattr(widget, new)
