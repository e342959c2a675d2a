"""A small reverse proxy for tests: the usual ways a proxy changes a request on its way.

It serves under ``prefix`` (``/rt`` -> requests to ``/rt/callbacks/recording`` reach the
upstream as ``/callbacks/recording``; anything else is 404, as an nginx ``location`` would), and
rewrites the ``Host`` header to the upstream's (nginx's default, without
``proxy_set_header Host $host``) unless ``keep_host``. ``forwarded`` adds ``X-Forwarded-Proto``
(the scheme given) and ``X-Forwarded-Host`` (the host the client asked for).
``date_shift`` moves the upstream's ``Date`` header by that many seconds, a clock that is off.
It runs on 127.0.0.1 on a free port, in a background thread, and stops on ``__exit__``.
"""

from __future__ import annotations

import email.utils
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from recording_toolkit.server import BackgroundServer

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
               "proxy-authorization", "proxy-authenticate", "content-length", "host"}


class ReverseProxy:
    def __init__(self, upstream: str, *, prefix: str = "", keep_host: bool = False,
                 forwarded: str | None = None, date_shift: float = 0.0) -> None:
        self.upstream = upstream.rstrip("/")
        self.prefix = prefix.rstrip("/")
        self.keep_host = keep_host
        self.forwarded = forwarded
        self.date_shift = date_shift
        self.seen_hosts: list[str] = []  # the Host header each forwarded request carried
        app = Starlette(routes=[Route("/{path:path}", self._forward,
                                      methods=["GET", "POST", "PUT", "DELETE", "HEAD"])])
        self._server = BackgroundServer(app, name="test proxy", date_header=False,
                                        server_header=False)

    @property
    def url(self) -> str:
        """The proxy's base URL, with its prefix (what a client is given)."""
        return self._server.url + self.prefix

    async def _forward(self, request: Request) -> Response:
        path = request.url.path
        if self.prefix and not (path == self.prefix or path.startswith(self.prefix + "/")):
            return Response(b"not found", 404)
        path = path[len(self.prefix):] or "/"
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        asked_host = request.headers.get("host", "")
        host = asked_host if self.keep_host else httpx.URL(self.upstream).netloc.decode()
        headers["host"] = host
        self.seen_hosts.append(host)
        if self.forwarded is not None:
            headers["x-forwarded-proto"] = self.forwarded
            headers["x-forwarded-host"] = asked_host
        query = request.url.query
        target = self.upstream + path + (f"?{query}" if query else "")
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.request(request.method, target, headers=headers,
                                          content=await request.body())
        out = {k: v for k, v in answer.headers.items()
               if k.lower() not in _HOP_BY_HOP and k.lower() not in ("date", "server",
                                                                       "content-encoding")}
        date = answer.headers.get("date")
        if date is not None:
            stamp = email.utils.parsedate_to_datetime(date).timestamp() + self.date_shift
            out["date"] = email.utils.formatdate(stamp, usegmt=True)
        return Response(answer.content, answer.status_code, headers=out)

    def __enter__(self) -> ReverseProxy:
        self._server.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.stop()
