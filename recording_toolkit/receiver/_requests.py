"""The receiver's HTTP side: reading a request's body within its limits, parsing its fields,
rebuilding the URL its signature covers, and the answers sent back.

Callbacks are the receiver's hot path, so this works on the ASGI scope and messages directly
instead of building Starlette's ``Request`` and ``Response`` objects: the handler then costs a
fraction of what the framework would around it. Nothing here writes anything; what a request
leads to is decided in :mod:`recording_toolkit.receiver._app`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as _json_text
from typing import Any
from urllib.parse import unquote_to_bytes

from ..callbacks import EventKind, field_text
from ..signature import MA_SIGNATURE_HEADER, SIGNATURE_HEADER
from ._settings import ReceiverSettings

__all__ = [
    "Answer",
    "BodyDeadlines",
    "BodyTimeout",
    "Disconnected",
    "Incoming",
    "Parsed",
    "TooLarge",
    "headers_for_record",
    "parse",
    "read_body",
    "strict_pairs",
    "verify_url",
]

_REDACTED_HEADERS = frozenset({SIGNATURE_HEADER.lower(), MA_SIGNATURE_HEADER.lower(),
                               "authorization", "proxy-authorization", "cookie"})



class TooLarge(Exception):
    def __init__(self, size: int, declared: bool) -> None:
        self.size = size
        self.declared = declared


class Disconnected(Exception):
    """The client hung up before its body was read."""


class BodyTimeout(Exception):
    def __init__(self, size: int) -> None:
        self.size = size


class BodyDeadlines:
    """Ends body reads that run past ``timeout`` seconds.

    Each read registers its task here; one timer per event loop, ticking only while reads are
    in flight, cancels the reads past their deadline, and :func:`read_body` turns that
    cancellation into a 408. A timer per request (``asyncio.timeout``) costs ten times as much,
    and the hot path is a request whose body is already there: it pays two dict operations.
    A deadline is met within one tick (at most a second) of its time.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._tick = min(1.0, timeout / 4)
        self._reads: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._timers: dict[asyncio.AbstractEventLoop, asyncio.TimerHandle] = {}

    def enter(self) -> asyncio.Task[Any] | None:
        """Start the clock for the current task's read (None outside a task: no deadline)."""
        task = asyncio.current_task()
        if task is None:
            return None
        loop = task.get_loop()
        self._reads[task] = loop.time() + self.timeout
        if loop not in self._timers:
            for closed in [other for other in self._timers if other.is_closed()]:
                del self._timers[closed]  # its timer died with it (tests run many loops)
            self._timers[loop] = loop.call_later(self._tick, self._sweep, loop)
        return task

    def leave(self, task: asyncio.Task[Any] | None) -> None:
        if task is not None:
            del self._reads[task]
            self._expired.discard(task)

    def expired(self, task: asyncio.Task[Any] | None) -> bool:
        """Whether ``task`` was cancelled for its deadline (and only for it)."""
        return task in self._expired and task is not None and task.uncancel() == 0

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        waiting = False
        for task, deadline in list(self._reads.items()):
            if task.get_loop() is not loop:
                continue
            waiting = True
            if deadline <= now and task not in self._expired:
                self._expired.add(task)
                task.cancel()
        if waiting:
            self._timers[loop] = loop.call_later(self._tick, self._sweep, loop)
        else:
            del self._timers[loop]




class Incoming:
    """The parts of an ASGI request the handler reads.

    Callbacks are the receiver's hot path, so it reads the ASGI scope directly instead of
    building Starlette's ``Request`` and ``Response`` objects: the handler costs a fraction of
    what the framework would around it. Header names are lower-case (ASGI guarantees it); a
    repeated header keeps its first value, as ``Request.headers.get`` does.
    """

    __slots__ = ("headers", "method", "query_string", "scope")

    def __init__(self, scope: Mapping[str, Any]) -> None:
        self.scope = scope
        self.method: str = scope["method"]
        self.query_string: bytes = scope.get("query_string", b"")
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope.get("headers", ()):
            headers.setdefault(raw_name.decode("latin-1"), raw_value.decode("latin-1"))
        self.headers = headers


class Answer:
    """A JSON answer, encoded once and sent straight through ASGI."""

    __slots__ = ("data", "headers", "status")

    def __init__(self, status: int, body: Mapping[str, Any] | None,
                 headers: Mapping[str, str] | None = None) -> None:
        # ASCII-only: a reason may quote undecodable input and must still be sendable
        self.status = status
        self.data = b"" if body is None else json.dumps(body, ensure_ascii=True).encode()
        raw = [(b"content-length", str(len(self.data)).encode())]
        if body is not None:
            raw.append((b"content-type", b"application/json"))
        for name, value in (headers or {}).items():
            raw.append((name.lower().encode("latin-1"), value.encode("latin-1")))
        self.headers = raw

    @classmethod
    def accepted(cls, stored: bool, kind: EventKind, recording_id: str) -> Answer:
        """The 200 of a stored or duplicate callback: the same JSON ``json.dumps`` would give,
        built without the general encoder (this is the answer to nearly every request)."""
        answer = cls.__new__(cls)
        answer.status = 200
        answer.data = (f'{{"status": "{"stored" if stored else "duplicate"}", "event": "{kind}",'
                       f' "recording_id": {_json_text(recording_id)}}}').encode("ascii")
        answer.headers = [(b"content-length", str(len(answer.data)).encode("ascii")),
                          (b"content-type", b"application/json")]
        return answer

    async def send(self, send: Any) -> None:
        await send({"type": "http.response.start", "status": self.status,
                    "headers": self.headers})
        await send({"type": "http.response.body", "body": self.data})




@dataclass
class Parsed:
    fields: list[tuple[str, Any]]
    signed_params: list[tuple[str, str]] | None  # None: GET, the URL's query is everything
    error: str | None = None



async def read_body(request: Incoming, receive: Any, limit: int,
                     deadlines: BodyDeadlines) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(int(declared), declared=True)
    chunks: list[bytes] = []
    size = 0
    task = deadlines.enter()
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise TooLarge(size, declared=False)
            if chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
    except asyncio.CancelledError:
        if deadlines.expired(task):
            raise BodyTimeout(size) from None
        raise
    finally:
        deadlines.leave(task)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def strict_pairs(text: str, what: str) -> list[tuple[str, str]]:
    """``k=v&...`` pairs as ``parse_qsl(keep_blank_values=True)`` reads them, but refusing text
    that is not UTF-8 once percent-decoded instead of replacing it (values are kept as received).

    Examples
    --------
    >>> strict_pairs("a=1&b=x+y%21&&c", "form body")
    [('a', '1'), ('b', 'x y!'), ('c', '')]
    """
    pairs: list[tuple[str, str]] = []
    try:
        for field in text.split("&"):  # a hand-rolled loop: twice as fast as parse_qsl
            if not field:
                continue
            name, _, value = field.partition("=")
            if "+" in name:
                name = name.replace("+", " ")
            if "%" in name:  # unquote_to_bytes + a strict decode: unquote() is slower
                name = unquote_to_bytes(name).decode("utf-8")
            if "+" in value:
                value = value.replace("+", " ")
            if "%" in value:
                value = unquote_to_bytes(value).decode("utf-8")
            pairs.append((name, value))
    except UnicodeDecodeError:
        raise ValueError(f"the {what} is not valid UTF-8 once percent-decoded") from None
    return pairs


def parse(method: str, content_type: str, body: bytes, raw_query: bytes) -> Parsed:
    """The request's callback fields, and the parameters its signature covers."""
    try:
        query_text = raw_query.decode("utf-8")
    except UnicodeDecodeError:
        return Parsed([], None if method == "GET" else [], "the query string is not valid UTF-8")
    try:
        query = strict_pairs(query_text, "query string")
    except ValueError as exc:
        return Parsed([], None if method == "GET" else [], str(exc))
    if method == "GET":
        return Parsed(list(query), None)
    media = content_type.split(";", 1)[0].strip().lower()
    if not body.strip():
        if query:
            return Parsed(list(query), [])
        return Parsed([], [], "the request has no body and no query parameters")
    if media == "application/json" or media.endswith("+json") or (
            not media and body.lstrip()[:1] == b"{"):
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as exc:
            return Parsed([], [], f"the body is not valid JSON: {exc}")
        if not isinstance(data, dict):
            return Parsed([], [], f"the JSON body is a {type(data).__name__}, not an object")
        pairs = [(key, field_text(value)) for key, value in data.items()]
        return Parsed(list(query) + list(data.items()), pairs)
    if media in ("", "application/x-www-form-urlencoded"):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return Parsed([], [], "the form body is not valid UTF-8")
        try:
            form = strict_pairs(text, "form body")
        except ValueError as exc:
            return Parsed([], [], str(exc))
        return Parsed(list(query) + form, form)
    return Parsed([], [], f"unsupported Content-Type {media!r}: send"
                           " application/x-www-form-urlencoded or application/json")


def verify_url(request: Incoming, settings: ReceiverSettings, route_path: str) -> str:
    if settings.public_url is not None:
        base = settings.public_url
    else:
        headers = request.headers
        scheme = request.scope.get("scheme", "http")
        host = headers.get("host")
        if settings.trust_forwarded:
            scheme = headers.get("x-forwarded-proto", scheme).split(",")[0].strip() or scheme
            host = headers.get("x-forwarded-host", host or "").split(",")[0].strip() or host
        if not host:
            server = request.scope.get("server") or ("localhost", None)
            host = f"{server[0]}:{server[1]}" if server[1] else str(server[0])
        base = f"{scheme}://{host}"
    query = request.query_string.decode("latin-1")
    return base + route_path + (f"?{query}" if query else "")


def headers_for_record(request: Incoming) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw_name, raw_value in request.scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        value = "[redacted]" if name in _REDACTED_HEADERS else raw_value.decode("latin-1")
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out

