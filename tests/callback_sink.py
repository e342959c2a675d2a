"""A callback sink for the sandbox tests: keeps every request exactly as it arrived.

``Sink()`` serves any path on 127.0.0.1 (GET and POST) from a background uvicorn and answers 200,
or the statuses queued in ``answers[path]`` first, so a test can make deliveries fail. With a
``clock`` (a ``() -> epoch ms`` callable, e.g. a sandbox clock's ``now_ms``) every request is
stamped on arrival.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from recording_toolkit.server import BackgroundServer


class Sink:
    """Keeps every request; ``answers[path]`` lists statuses to answer in turn (then 200)."""

    def __init__(self, clock: Callable[[], int] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: dict[str, list[int]] = {}
        self.clock = clock
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self.server = BackgroundServer(Starlette(routes=[
            Route("/{path:path}", self._handle, methods=["GET", "POST"])]), name="sink")

    async def _handle(self, request: Request) -> Response:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            body = (await request.body()).decode()
            await asyncio.sleep(0.001)  # let concurrent deliveries overlap, as on a network
            query = request.url.query
            record = {
                "method": request.method, "path": request.url.path,
                "query": query, "headers": dict(request.headers), "body": body,
                "received_ms": self.clock() if self.clock else None,
                "params": dict(parse_qsl(body if request.method == "POST" else query,
                                         keep_blank_values=True)),
            }
            with self._lock:
                self.requests.append(record)
                queue = self.answers.get(request.url.path, [])
                status = queue.pop(0) if queue else 200
            return Response(status_code=status)
        finally:
            with self._lock:
                self.in_flight -= 1

    def url(self, path: str) -> str:
        return self.server.url + path

    def of(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == path]

    def __enter__(self) -> Sink:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
