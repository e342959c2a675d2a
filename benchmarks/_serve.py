"""The benchmarks' server side: an ASGI app under uvicorn on a free loopback port.

Each benchmark runs its server in a child process, so the server does not share the measuring
process's interpreter. uvicorn's ``auto`` settings pick uvloop and httptools when installed
(they come with ``uvicorn[standard]``), the stack the receiver and sandbox are served with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def serve_on_free_port(app: Any, port_file: str | Path, *, port: Any = None) -> None:
    """Serve ``app`` on 127.0.0.1 until terminated, writing the port to ``port_file`` once the
    socket is bound. ``port`` may be a socket already bound (when the app must know its own
    address)."""
    import uvicorn

    from recording_toolkit.server import bind_socket

    sock = port if port is not None else bind_socket("127.0.0.1", 0)
    Path(port_file).write_text(str(sock.getsockname()[1]))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])
