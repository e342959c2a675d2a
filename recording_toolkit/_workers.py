"""Running a bulk call's items concurrently: on threads (the blocking client) or as tasks on the
running loop (the async client), each with a progress bar.

Bulk starts, deletes and downloads all work the same way: item ``index`` is taken by exactly one
worker, its outcome is stored at ``index`` (so rows come back in input order whatever the
workers did), and an interrupt lets the workers finish what is in flight and take no more.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["progress_bar", "run_tasks", "run_threads"]


def progress_bar(*, total: int | None, enabled: bool, desc: str, unit: str = "rec") -> Any:
    """A tqdm bar (drawn only when ``enabled``; left on screen only then)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, desc=desc, unit=unit, leave=enabled)


def run_threads(count: int, concurrency: int, one: Callable[[int], None], *, desc: str,
                progress: bool) -> None:
    """Call ``one(index)`` for every index below ``count`` on up to ``concurrency`` threads."""
    todo = iter(range(count))
    lock = threading.Lock()
    stopping = threading.Event()
    bar = progress_bar(total=count, enabled=progress, desc=desc)

    def work() -> None:
        while not stopping.is_set():
            with lock:
                index = next(todo, None)
            if index is None:
                return
            one(index)
            bar.update(1)

    workers = min(concurrency, count)
    try:
        if workers <= 1:
            work()
            return
        with ThreadPoolExecutor(workers, thread_name_prefix=desc) as pool:
            futures = [pool.submit(work) for _ in range(workers)]
            try:
                for future in futures:
                    future.result()
            except BaseException:
                stopping.set()  # interrupted: finish what is in flight, send no more
                raise
    finally:
        bar.close()


async def run_tasks(count: int, concurrency: int, one: Callable[[int], Awaitable[None]], *,
                    desc: str, progress: bool) -> None:
    """Await ``one(index)`` for every index below ``count`` on up to ``concurrency`` tasks."""
    todo = iter(range(count))  # shared: each index is taken by exactly one worker
    bar = progress_bar(total=count, enabled=progress, desc=desc)

    async def work() -> None:
        for index in todo:
            await one(index)
            bar.update(1)

    try:
        await asyncio.gather(*(work() for _ in range(min(concurrency, count))))
    finally:
        bar.close()
