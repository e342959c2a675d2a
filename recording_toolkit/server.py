"""Serve an ASGI app under uvicorn: guarded against stalled clients, in the foreground or in a
background thread (the receiver and the sandbox in notebooks, the ``receive`` command).

In :class:`BackgroundServer` the socket is bound before the thread starts, so ``port=0`` gets a free port from the OS and the
real address is known at once; ``start()`` returns only when uvicorn is serving, ``stop()`` waits
for it to finish. Binding defaults to 127.0.0.1.
"""

from __future__ import annotations

import heapq
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any, ClassVar, Self

import uvicorn

from .errors import ConfigurationError

__all__ = ["STALLED_AFTER", "BackgroundServer", "BackgroundService", "ForegroundServer",
           "GuardedServer", "bind_socket"]

_NO_CYCLE = object()
#: A connection that has been stuck this long (seconds) may be closed to make room for a new one.
STALLED_AFTER = 1.0

logger = logging.getLogger(__name__)


class GuardedServer(uvicorn.Server):
    """uvicorn that keeps slow or stalled clients from taking all its connections.

    uvicorn times out a keep-alive connection only until its next request's first byte, and a
    new connection not at all; a request's body may take forever. A client that connects and
    sends nothing, half its headers or half a body holds a connection slot and a file
    descriptor for as long as it likes, and a few hundred of them starve everyone else.

    - ``request_timeout`` (seconds): a connection that carries no request for that long (since
      it opened, or since its last answer) is closed. Once a request's headers are in, the app
      is in charge (the receiver answers a slow body 408 itself).
    - ``max_connections``: connections served at once. When one more opens, the connection
      stuck longest (for at least :data:`STALLED_AFTER` s) without sending complete headers or
      the rest of its body is closed to make room, so senders that finish their requests keep
      being served while stalled ones come and go; only when none is stuck does uvicorn answer
      the newcomer 503 (its ``limit_concurrency``).

    Connections are looked at on uvicorn's own once-a-second tick and as one opens, never per
    request, so requests pay nothing for it.
    """

    def __init__(self, config: uvicorn.Config, *, request_timeout: float | None = None,
                 max_connections: int | None = None) -> None:
        if max_connections is not None:
            # uvicorn counts the connection being answered: one more serves max_connections
            config.limit_concurrency = max_connections + 1
        super().__init__(config)
        self.request_timeout = request_timeout
        self.max_connections = max_connections
        # connection -> (its request cycle, whether that request is reading its body, since
        # when it has tried to get a request through: opened, last answered, or first seen)
        self._seen: dict[Any, tuple[Any, bool, float]] = {}
        self._made_room = 0

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        config = self.config
        if self.max_connections is not None and not getattr(config.http_protocol_class,
                                                            "_guarded", False):
            config.http_protocol_class = _guarded_protocol(config.http_protocol_class, self)
        await super().startup(sockets)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn waits for requests in flight to finish; a body stuck for a while will not:
        # stop waiting for it (its sender gets no answer, as it would on a crash)
        cutoff = time.monotonic() - STALLED_AFTER
        for connection, (cycle, in_body, since) in list(self._seen.items()):
            if in_body and since <= cutoff and self._state(connection) == (cycle, in_body):
                connection.transport.close()
        await super().shutdown(sockets)

    async def on_tick(self, counter: int) -> bool:
        if counter % 10 == 0 and (self.request_timeout is not None
                                  or self.max_connections is not None):
            self.close_slow_connections(time.monotonic())
        return await super().on_tick(counter)

    @staticmethod
    def _state(connection: Any) -> tuple[Any, bool | None]:
        """(cycle, whether it is stuck reading a body); None: a request it is handling."""
        cycle: Any = getattr(connection, "cycle", _NO_CYCLE)
        if cycle is None or cycle is _NO_CYCLE or cycle.response_complete:
            return cycle, False  # waiting for a request (headers)
        return cycle, (True if cycle.more_body else None)

    def close_slow_connections(self, now: float) -> int:
        """Close the connections that have waited for a request past ``request_timeout``, and
        note since when each is stuck; returns how many were closed."""
        seen: dict[Any, tuple[Any, bool, float]] = {}
        closed = 0
        for connection in list(self.server_state.connections):
            cycle, in_body = self._state(connection)
            if cycle is _NO_CYCLE or in_body is None:
                continue  # not an HTTP connection, or a request in the app's hands
            since = _stuck_since(self._seen.get(connection), cycle, in_body)
            if since is None:
                since = now  # new to us, or it got a request through since last looked at
            elif (not in_body and self.request_timeout is not None
                    and now - since >= self.request_timeout):
                connection.transport.close()
                closed += 1
                continue
            seen[connection] = (cycle, in_body, since)
        self._seen = seen
        self.make_room()
        if self._made_room:
            logger.warning("closed %d stalled connection(s) to make room for new ones"
                           " (max_connections=%s)", self._made_room, self.max_connections)
            self._made_room = 0
        return closed

    def opened(self, connection: Any) -> None:
        """A connection opened: note it (waiting for its first request) and make room."""
        self._seen[connection] = (None, False, time.monotonic())
        self.make_room()

    def make_room(self) -> None:
        """Past ``max_connections`` (a connection just opened, or some that never finished
        their headers are beyond the limit), close the ones stuck longest, stuck for at least
        :data:`STALLED_AFTER` s, until back at the limit or none is left to close."""
        connections = self.server_state.connections
        if self.max_connections is None or len(connections) <= self.max_connections:
            return
        excess = sum(not c.transport.is_closing() for c in connections) - self.max_connections
        if excess <= 0:
            return
        cutoff = time.monotonic() - STALLED_AFTER
        stuck = []
        for connection, before in self._seen.items():
            if before[2] > cutoff or connection not in connections \
                    or connection.transport.is_closing():
                continue
            since = _stuck_since(before, *self._state(connection))
            if since is not None and since <= cutoff:
                stuck.append((since, id(connection), connection))
        for _, _, connection in heapq.nsmallest(excess, stuck):
            connection.transport.close()
            # uvicorn forgets it once the close is done, a loop turn later; the newcomer's
            # headers may be counted against the limit before that
            connections.discard(connection)
            del self._seen[connection]
            self._made_room += 1


def _stuck_since(before: tuple[Any, bool, float] | None, cycle: Any,
                 in_body: bool | None) -> float | None:
    """Since when a connection now in state (``cycle``, ``in_body``) has been trying to get a
    request through, given what was noted ``before``; None when it made progress meanwhile
    (or is in the app's hands)."""
    if before is None or in_body is None or cycle is _NO_CYCLE:
        return None
    if before[0] is cycle and before[1] == in_body:
        return before[2]  # no change
    if in_body and not before[1]:
        return before[2]  # the headers it waited for came, its body is arriving: the same try
    return None


def _guarded_protocol(base: type, server: GuardedServer) -> type:
    """``base`` (uvicorn's HTTP protocol) telling ``server`` when a connection opens."""

    class Guarded(base):
        _guarded = True

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            server.opened(self)

    Guarded.__name__ = Guarded.__qualname__ = f"Guarded{base.__name__}"
    return Guarded


def bind_socket(host: str = "127.0.0.1", port: int = 0, *, reuse_port: bool = False
                ) -> socket.socket:
    """A listening-ready TCP socket bound to ``host:port`` (``port=0``: a free one).

    ``reuse_port``: bound with ``SO_REUSEPORT``, so that several processes, each with its own
    socket on the same port, share its connections (the kernel spreads new connections over
    them). Only processes of the same user can join such a port.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigurationError(f"port: {port!r} is not a port number (0 to 65535; 0 picks a"
                                 " free one)")
    if reuse_port and not hasattr(socket, "SO_REUSEPORT"):
        raise ConfigurationError("this system cannot share a port between processes"
                                 " (no SO_REUSEPORT); serve with one process")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.set_inheritable(True)
    except BaseException:
        sock.close()  # a port in use must not leak the socket
        raise
    return sock


class ForegroundServer(GuardedServer):
    """:class:`GuardedServer` for a command that holds its terminal: ``on_ready()`` is called
    once it serves, and Ctrl-C or SIGTERM end it quietly.

    uvicorn re-raises the stopping signal after a graceful shutdown; here the shutdown *is* the
    expected end, so the command can close its log and exit 0 instead of dying by the signal.
    ``stopped_by`` names the signal afterwards. A second Ctrl-C stops at once, without waiting
    for requests in flight.
    """

    def __init__(self, config: uvicorn.Config, *, on_ready: Callable[[], None] | None = None,
                 request_timeout: float | None = None,
                 max_connections: int | None = None) -> None:
        super().__init__(config, request_timeout=request_timeout,
                         max_connections=max_connections)
        self.on_ready = on_ready
        self.stopped_by: str | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.should_exit and self.on_ready is not None:
            self.on_ready()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.stopped_by = signal.Signals(sig).name
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        else:
            self.should_exit = True


class BackgroundServer:
    """uvicorn serving ``app`` from a daemon thread; ``request_timeout`` and
    ``max_connections``: see :class:`GuardedServer`.

    Examples
    --------
    >>> from starlette.applications import Starlette
    >>> with BackgroundServer(Starlette()) as server:
    ...     server.url.startswith("http://127.0.0.1:")
    True
    """

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0,
                 log_level: str = "warning", name: str = "server",
                 request_timeout: float | None = None, max_connections: int | None = None,
                 **uvicorn_options: Any) -> None:
        self.app = app
        self.request_timeout = request_timeout
        self.max_connections = max_connections
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
        self._server = GuardedServer(config, request_timeout=self.request_timeout,
                                     max_connections=self.max_connections)
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


class BackgroundService:
    """The lifecycle of an object that serves its app on a :class:`BackgroundServer` of its own
    (the callback receiver and the sandbox in notebooks), written once for all of them.

    :meth:`start` starts the server once, :meth:`stop` stops it, ``with`` does both,
    :meth:`close` is :meth:`stop`, :attr:`running` asks the server, and :meth:`_server_url` is
    the server's URL or one error saying how to start it. A subclass implements :meth:`_serve`
    (open what the app needs, start its server and return it), extends :meth:`stop` to release
    what it opened, and names itself in ``what``.
    """

    #: How errors name the service ("the receiver is not running").
    what: ClassVar[str] = "service"
    _server: BackgroundServer | None = None

    def _serve(self) -> BackgroundServer:
        """Open what the app needs and start its server (releasing all of it if that fails)."""
        raise NotImplementedError

    def start(self) -> Self:
        """Start serving; returns self. Idempotent."""
        if self._server is None:
            self._server = self._serve()
        return self

    def stop(self) -> None:
        """Stop serving; requests in flight finish first. Idempotent."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def close(self) -> None:
        """The same as :meth:`stop`."""
        self.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None and self._server.running

    def _server_url(self) -> str:
        """The running server's ``http://host:port``."""
        if self._server is None:
            raise RuntimeError(f"the {self.what} is not running; call start() or use 'with'")
        return self._server.url
