"""Run an ASGI app under uvicorn in a background thread (receiver and sandbox in notebooks).

The socket is bound before the thread starts, so ``port=0`` gets a free port from the OS and the
real address is known at once; ``start()`` returns only when uvicorn is serving, ``stop()`` waits
for it to finish. Binding defaults to 127.0.0.1.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

from .errors import ConfigurationError

__all__ = ["BackgroundServer", "GuardedServer", "bind_socket"]

_NO_CYCLE = object()


class GuardedServer(uvicorn.Server):
    """uvicorn that also closes connections which take too long to send a request's headers.

    uvicorn times out a keep-alive connection only until its next request's first byte, and a
    new connection not at all: a client that connects and sends nothing, or half its headers,
    holds a connection slot and a file descriptor for as long as it likes. With
    ``request_timeout`` (seconds), a connection that carries no request for that long (since it
    was opened, or since its last answer) is closed. Once a whole request's headers are in, the
    app is in charge (the receiver times out slow bodies itself).

    The check runs on uvicorn's own once-a-second tick over the open connections, so requests
    pay nothing for it; a connection is closed within a second after its time.
    """

    def __init__(self, config: uvicorn.Config, *, request_timeout: float | None = None) -> None:
        super().__init__(config)
        self.request_timeout = request_timeout
        # connection -> (the request cycle it was waiting after, when first seen waiting)
        self._waiting: dict[Any, tuple[Any, float]] = {}

    async def on_tick(self, counter: int) -> bool:
        if self.request_timeout is not None and counter % 10 == 0:
            self.close_slow_connections(time.monotonic())
        return await super().on_tick(counter)

    def close_slow_connections(self, now: float) -> int:
        """Close the connections that have waited for a request past the timeout; how many."""
        if self.request_timeout is None:
            return 0
        waiting: dict[Any, tuple[Any, float]] = {}
        closed = 0
        for connection in list(self.server_state.connections):
            cycle = getattr(connection, "cycle", _NO_CYCLE)
            if cycle is _NO_CYCLE or (cycle is not None and not cycle.response_complete):
                continue  # not an HTTP connection, or a request in progress
            since = self._waiting.get(connection)
            if since is None or since[0] is not cycle:
                since = (cycle, now)  # newly waiting: a new connection, or one just answered
            elif now - since[1] >= self.request_timeout:
                connection.transport.close()
                closed += 1
                continue
            waiting[connection] = since
        self._waiting = waiting
        return closed


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening-ready TCP socket bound to ``host:port`` (``port=0``: a free one)."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigurationError(f"port: {port!r} is not a port number (0 to 65535; 0 picks a"
                                 " free one)")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.set_inheritable(True)
    except BaseException:
        sock.close()  # a port in use must not leak the socket
        raise
    return sock


class BackgroundServer:
    """uvicorn serving ``app`` from a daemon thread; ``request_timeout``: see
    :class:`GuardedServer`.

    Examples
    --------
    >>> from starlette.applications import Starlette
    >>> with BackgroundServer(Starlette()) as server:
    ...     server.url.startswith("http://127.0.0.1:")
    True
    """

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0,
                 log_level: str = "warning", name: str = "server",
                 request_timeout: float | None = None, **uvicorn_options: Any) -> None:
        self.app = app
        self.request_timeout = request_timeout
        self.host = host
        self._requested_port = port
        self._log_level = log_level
        self._options = uvicorn_options
        self._name = name
        self._server: GuardedServer | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` of the running server."""
        if self.port is None:
            raise RuntimeError(f"{self._name} is not running")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        if self.running:
            return self
        self._socket = bind_socket(self.host, self._requested_port)
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(self.app, log_level=self._log_level, lifespan="auto",
                                access_log=False, **self._options)
        self._server = GuardedServer(config, request_timeout=self.request_timeout)
        sock = self._socket
        server = self._server
        self._thread = threading.Thread(target=lambda: server.run(sockets=[sock]),
                                        name=f"recording_toolkit-{self._name}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"{self._name} failed to start on {self.host}:{self.port}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self._name} did not start within {timeout} s")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self._thread = None
        self._server = None
        self._socket = None

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self.url if self.running else "stopped"
        return f"<{type(self).__name__} {self._name} {state}>"
