"""Long-lived helper threads the loader overlaps its work on.

``pyarrow.json`` keeps every core busy while it parses a piece; typing the previous piece, and
picking recordings and transcriptions side by side, run in Arrow and numpy kernels that release
the GIL, so they can run beside it. The threads live as long as the process: a fresh thread
per load would start with an empty allocator cache (pyarrow's mimalloc keeps one per thread)
and pay for new memory pages on every load.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

__all__ = ["helpers"]

_state: dict[str, ThreadPoolExecutor] = {}
_lock = threading.Lock()


def helpers() -> ThreadPoolExecutor:
    """The shared pool (started on first use). Work given to it must not wait on the pool."""
    with _lock:
        pool = _state.get("pool")
        if pool is None:
            pool = ThreadPoolExecutor(max(2, os.cpu_count() or 2),
                                      thread_name_prefix="recording-toolkit-load")
            _state["pool"] = pool
        return pool


def _forget_after_fork() -> None:
    """A forked child has none of its parent's threads: start a new pool when needed."""
    global _lock  # noqa: PLW0603 - a lock held by a parent's thread would never be released
    _state.clear()
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
