"""The callback receiver: an ASGI app that verifies, normalises and durably logs Plivo callbacks.

Routes:

======================================  ====================================================
``POST|GET /callbacks/recording``       recording callbacks (``callback_method`` may be GET)
``POST /callbacks/transcription``       transcription callbacks (Plivo always POSTs them)
``GET /healthz``                        liveness, with the counts
======================================  ====================================================

What each request gets, in the order it is checked (no input ever gets a 500):

- **413** the body is over 1 MiB (enforced while reading; Content-Length is not trusted);
  recorded in ``_rejected/``.
- **408** the body did not arrive within ``body_timeout`` seconds (default 15) of the headers:
  the connection is closed, the attempt recorded in ``_rejected/``; nothing goes into the log.
  A client that sends its headers and part of a body, then waits, would otherwise hold its
  connection (and a file descriptor) for as long as it likes.
- **403** the V3 signature is missing, has no nonce or does not match; nothing goes into the log,
  the attempt (headers without signature values, body length, reason) goes into ``_rejected/``.
- **400** the payload cannot be used (unparseable body, no ``recording_id``, fields of the other
  kind, a field given twice with different values...): the reason is in the answer and the raw
  request is kept in ``_quarantine/``.
- **200** ``{"status": "stored"}`` once the line is fsync'd, or ``{"status": "duplicate"}`` for
  a callback already in the log (Plivo retries).
- **503** the log could not be written (disk full...): nothing acknowledged, the sender retries.
- 404 unknown path, 405 wrong method.

The server in front of the app (:class:`CallbackReceiver`, ``recording-toolkit receive``) also
serves at most ``max_connections`` connections at once, so open sockets stay well under the
process's open-file limit: when one more opens, the connection stuck longest on its headers or
body is closed to make room (only when none is stuck is the newcomer answered 503, which Plivo
does not retry by default); and it closes a connection that sends no complete request headers
within ``body_timeout`` (see :class:`~recording_toolkit.server.GuardedServer`).

The signature is checked against the URL Plivo called: ``public_url`` (the base URL under which
Plivo reaches this app, e.g. ``https://callbacks.example.com``) plus the route and the request's
query. Without ``public_url`` the URL is rebuilt from the request (its ``Host`` header, or, with
``trust_forwarded=True`` behind a proxy you control, ``X-Forwarded-Proto`` / ``X-Forwarded-Host``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import math
import os
import resource
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from json.encoder import encode_basestring_ascii as _json_text
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .callback_log import CallbackLog
from .callbacks import EventKind, field_text, normalise_callback
from .config import missing_credential
from .errors import CallbackError, ConfigurationError, SignatureError
from .server import BackgroundServer
from .signature import MA_SIGNATURE_HEADER, SIGNATURE_HEADER, SignatureVerifier

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_MAX_CONNECTIONS",
    "MAX_BODY_BYTES",
    "RECORDING_PATH",
    "TRANSCRIPTION_PATH",
    "CallbackReceiver",
    "ReceiverApp",
    "ReceiverCounts",
    "check_body_timeout",
    "check_max_connections",
    "create_receiver_app",
    "default_max_connections",
    "normalise_public_url",
    "resolve_auth_tokens",
]

logger = logging.getLogger(__name__)

RECORDING_PATH = "/callbacks/recording"
TRANSCRIPTION_PATH = "/callbacks/transcription"
HEALTH_PATH = "/healthz"
#: Largest request body accepted (1 MiB); Plivo's callbacks are a few hundred bytes.
MAX_BODY_BYTES = 1024 * 1024
#: Seconds a request's body may take to arrive once its headers are in. Plivo's callbacks are a
#: few hundred bytes and arrive in milliseconds; the limit only ends stalled senders.
DEFAULT_BODY_TIMEOUT = 15.0
#: Connections served at once by default (lower when the open-file limit is: see
#: :func:`default_max_connections`).
DEFAULT_MAX_CONNECTIONS = 500
# file descriptors kept free for everything but client sockets: the listening socket, the log's
# files and lock, standard streams, the event loop's own
_RESERVED_FDS = 32

_REDACTED_HEADERS = frozenset({SIGNATURE_HEADER.lower(), MA_SIGNATURE_HEADER.lower(),
                               "authorization", "proxy-authorization", "cookie"})
_COUNT_NAMES = ("recording", "transcription", "duplicates", "rejected", "malformed")


class ReceiverCounts:
    """Thread-safe counts of what the receiver answered, with a way to wait for them.

    ``recording`` / ``transcription``: callbacks stored; ``duplicates``: redeliveries answered
    without writing; ``rejected``: 403 and 413; ``malformed``: 400.
    """

    def __init__(self) -> None:
        self._values = dict.fromkeys(_COUNT_NAMES, 0)
        self._changed = threading.Condition()

    def add(self, name: str) -> None:
        with self._changed:
            self._values[name] += 1
            self._changed.notify_all()

    def snapshot(self) -> dict[str, int]:
        with self._changed:
            return dict(self._values)

    def wait(self, timeout: float | None = None) -> dict[str, int]:
        """Block until a count changes (or ``timeout`` s pass); return the counts."""
        with self._changed:
            self._changed.wait(timeout)
            return dict(self._values)

    def __repr__(self) -> str:
        return f"ReceiverCounts({self.snapshot()})"


@dataclass
class ReceiverSettings:
    """What the app checks requests against (no token ever shown in its repr)."""

    auth_tokens: tuple[str, ...]
    main_account_tokens: tuple[str, ...] | None
    public_url: str | None
    trust_forwarded: bool
    verify: bool
    max_body_bytes: int = MAX_BODY_BYTES
    body_timeout: float = DEFAULT_BODY_TIMEOUT

    def __repr__(self) -> str:
        return (f"ReceiverSettings(tokens={len(self.auth_tokens)}, public_url={self.public_url!r},"
                f" trust_forwarded={self.trust_forwarded}, verify={self.verify},"
                f" body_timeout={self.body_timeout:g})")


def resolve_auth_tokens(auth_token: str | Sequence[str] | None, *,
                        environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The token(s) to verify with: the argument, else ``PLIVO_AUTH_TOKEN``.

    A comma-separated value (argument or environment) gives several tokens, for rotation.

    Examples
    --------
    >>> resolve_auth_tokens(None, environ={"PLIVO_AUTH_TOKEN": "old,new"})
    ('old', 'new')
    """
    env = os.environ if environ is None else environ
    given: Sequence[str]
    if auth_token is None:
        given = [env.get("PLIVO_AUTH_TOKEN", "")]
    elif isinstance(auth_token, str):
        given = [auth_token]
    else:
        given = list(auth_token)
    tokens: list[str] = []
    for value in given:
        if not isinstance(value, str):
            raise ConfigurationError(f"auth_token: expected text, got {type(value).__name__}")
        tokens.extend(part.strip() for part in value.split(",") if part.strip())
    return tuple(tokens)


def _open_file_limit() -> int | None:
    """The process's soft limit on open files; None when unlimited."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft


def default_max_connections() -> int:
    """:data:`DEFAULT_MAX_CONNECTIONS`, or half the open-file limit when that is lower.

    Every connection holds a file descriptor; past the limit ``accept()`` fails and the log may
    not be able to open its next file, so a flood of idle sockets must be refused well before.
    """
    limit = _open_file_limit()
    if limit is None:
        return DEFAULT_MAX_CONNECTIONS
    return max(1, min(DEFAULT_MAX_CONNECTIONS, limit // 2))


def check_body_timeout(value: Any, name: str = "body_timeout") -> float:
    """``value`` as seconds, or a :class:`ConfigurationError` naming ``name`` (the parameter, or
    the command-line flag)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            math.isfinite(value) and 0 < value <= 3600):
        raise ConfigurationError(f"{name}: {value!r} is not a number of seconds (more than 0, at"
                                 " most 3600)")
    return float(value)


def check_max_connections(value: Any, name: str = "max_connections") -> int:
    """``value`` as a connection count the open-file limit can hold, or a
    :class:`ConfigurationError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{name}: {value!r} is not a whole number of connections (1 or"
                                 " more)")
    limit = _open_file_limit()
    if limit is not None and value > limit - _RESERVED_FDS:
        raise ConfigurationError(
            f"{name}: {value} connections need more file descriptors than this process may open"
            f" ({limit}, see 'ulimit -n'); give at most {max(1, limit - _RESERVED_FDS)} or raise"
            " the limit"
        )
    return value


def normalise_public_url(public_url: str | None, name: str = "public_url") -> str | None:
    """The base URL Plivo calls, without a trailing slash; a :class:`ConfigurationError` naming
    ``name`` (the parameter, or the command-line flag) when it is not one."""
    if public_url is None:
        return None
    try:
        parts = urlsplit(public_url)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except (ValueError, TypeError):
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"{name}: {public_url!r} is not an absolute http(s) URL (the base URL Plivo calls,"
            " e.g. 'https://callbacks.example.com')"
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(
            f"{name}: {public_url!r} must be a base URL without '?query' or '#fragment'; add"
            " those to the callback URLs you give Plivo instead"
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def create_receiver_app(
    log: CallbackLog,
    *,
    auth_tokens: str | Sequence[str] | None,
    main_account_tokens: str | Sequence[str] | None = None,
    public_url: str | None = None,
    trust_forwarded: bool = False,
    verify: bool = True,
    counts: ReceiverCounts | None = None,
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
) -> ReceiverApp:
    """The receiver as an ASGI app writing into ``log``.

    ``auth_tokens`` verify ``X-Plivo-Signature-V3`` (several while rotating);
    ``main_account_tokens`` verify ``X-Plivo-Signature-Ma-V3`` (default: the same tokens).
    ``verify=False`` accepts unsigned callbacks and marks their lines ``"verified": false``.
    ``body_timeout``: seconds a body may take once the headers are in; later, 408.
    The app's ``state`` holds ``log``, ``settings`` and ``counts``.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder, CallbackLog(folder) as log:
    ...     app = create_receiver_app(log, auth_tokens="token")
    ...     sorted(route.path for route in app.routes)
    ['/callbacks/recording', '/callbacks/transcription', '/healthz']
    """
    tokens = resolve_auth_tokens(auth_tokens, environ={}) if auth_tokens is not None else ()
    ma_tokens = (None if main_account_tokens is None
                 else resolve_auth_tokens(main_account_tokens, environ={}))
    if verify and not tokens:
        # the app reads no environment: its caller resolved the tokens (CallbackReceiver, the CLI)
        raise ConfigurationError(
            "auth_tokens: missing; signature verification needs the auth token(s) Plivo signs"
            " with (pass auth_tokens=...), or verify=False for unsigned tests"
        )
    if verify and ma_tokens is not None and not ma_tokens:
        raise ConfigurationError("main_account_tokens: given but empty")
    settings = ReceiverSettings(auth_tokens=tokens, main_account_tokens=ma_tokens,
                                public_url=normalise_public_url(public_url),
                                trust_forwarded=trust_forwarded, verify=verify,
                                body_timeout=check_body_timeout(body_timeout))
    counts = counts if counts is not None else ReceiverCounts()

    async def health(request: Request) -> Response:
        return _json({"status": "ok", "instance_id": log.instance_id, "counts": counts.snapshot(),
                      "log": log.counts})

    verifier = SignatureVerifier(tokens, ma_tokens) if verify else None
    context = _Context(log, settings, counts, verifier, _BodyDeadlines(settings.body_timeout))
    endpoints = {path: _CallbackEndpoint(context, kind, path)
                 for kind, path in (("recording", RECORDING_PATH),
                                    ("transcription", TRANSCRIPTION_PATH))}
    app = Starlette(routes=[
        Route(RECORDING_PATH, endpoints[RECORDING_PATH], methods=["GET", "POST"]),
        Route(TRANSCRIPTION_PATH, endpoints[TRANSCRIPTION_PATH], methods=["POST"]),
        Route(HEALTH_PATH, health, methods=["GET"]),
    ])
    # "/callbacks/recording/" is not the URL Plivo was given (nor what it signed): 404, not 307
    app.router.redirect_slashes = False
    app.state.log = log
    app.state.settings = settings
    app.state.counts = counts
    return ReceiverApp(app, endpoints)


class ReceiverApp:
    """The receiver's ASGI app: callback requests go straight to their endpoint, everything
    else (health, unknown paths, lifespan) to the Starlette app behind it.

    Callbacks are the hot path, and the framework's middleware and router around them cost as
    much as the endpoint's own work; they never raise (every input gets an answer), so the
    framework's error handling has nothing to add there. ``routes``, ``state`` and ``router``
    are the Starlette app's.
    """

    def __init__(self, app: Starlette, endpoints: Mapping[str, _CallbackEndpoint]) -> None:
        self.app = app
        self.endpoints = dict(endpoints)
        self.state = app.state
        self.routes = app.routes
        self.router = app.router

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            root = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root):]
            endpoint = self.endpoints.get(path)
            if endpoint is not None:
                await endpoint(scope, receive, send)
                return
        await self.app(scope, receive, send)


# -- request handling -------------------------------------------------------------------------

class _TooLarge(Exception):
    def __init__(self, size: int, declared: bool) -> None:
        self.size = size
        self.declared = declared


class _Disconnected(Exception):
    """The client hung up before its body was read."""


class _BodyTimeout(Exception):
    def __init__(self, size: int) -> None:
        self.size = size


class _BodyDeadlines:
    """Ends body reads that run past ``timeout`` seconds.

    Each read registers its task here; one timer per event loop, ticking only while reads are
    in flight, cancels the reads past their deadline, and :func:`_read_body` turns that
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


@dataclass(frozen=True)
class _Context:
    """What every callback request needs: the log, the settings, the counters, the
    signature verifier (None when verification is off) and the body deadlines."""

    log: CallbackLog
    settings: ReceiverSettings
    counts: ReceiverCounts
    verifier: SignatureVerifier | None
    deadlines: _BodyDeadlines


class _Incoming:
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


class _Answer:
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
    def accepted(cls, stored: bool, kind: EventKind, recording_id: str) -> _Answer:
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


class _CallbackEndpoint:
    """The ASGI app of one callback route."""

    def __init__(self, context: _Context, kind: EventKind, route_path: str) -> None:
        self.context = context
        self.kind = kind
        self.route_path = route_path

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        answer = await _handle_callback(_Incoming(scope), receive, self.context, self.kind,
                                        self.route_path)
        await answer.send(send)


@dataclass
class _Parsed:
    fields: list[tuple[str, Any]]
    signed_params: list[tuple[str, str]] | None  # None: GET, the URL's query is everything
    error: str | None = None


def _json(body: Mapping[str, Any], status: int = 200, headers: Mapping[str, str] | None = None
          ) -> Response:
    # ASCII-only: a reason may quote undecodable input and must still be sendable
    return Response(json.dumps(body, ensure_ascii=True), status_code=status,
                    media_type="application/json", headers=headers)


async def _read_body(request: _Incoming, receive: Any, limit: int,
                     deadlines: _BodyDeadlines) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge(int(declared), declared=True)
    chunks: list[bytes] = []
    size = 0
    task = deadlines.enter()
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _TooLarge(size, declared=False)
            if chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
    except asyncio.CancelledError:
        if deadlines.expired(task):
            raise _BodyTimeout(size) from None
        raise
    finally:
        deadlines.leave(task)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _strict_pairs(text: str, what: str) -> list[tuple[str, str]]:
    """``k=v&...`` pairs as ``parse_qsl(keep_blank_values=True)`` reads them, but refusing text
    that is not UTF-8 once percent-decoded instead of replacing it (values are kept as received).

    Examples
    --------
    >>> _strict_pairs("a=1&b=x+y%21&&c", "form body")
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


def _parse(method: str, content_type: str, body: bytes, raw_query: bytes) -> _Parsed:
    """The request's callback fields, and the parameters its signature covers."""
    try:
        query_text = raw_query.decode("utf-8")
    except UnicodeDecodeError:
        return _Parsed([], None if method == "GET" else [], "the query string is not valid UTF-8")
    try:
        query = _strict_pairs(query_text, "query string")
    except ValueError as exc:
        return _Parsed([], None if method == "GET" else [], str(exc))
    if method == "GET":
        return _Parsed(list(query), None)
    media = content_type.split(";", 1)[0].strip().lower()
    if not body.strip():
        if query:
            return _Parsed(list(query), [])
        return _Parsed([], [], "the request has no body and no query parameters")
    if media == "application/json" or media.endswith("+json") or (
            not media and body.lstrip()[:1] == b"{"):
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as exc:
            return _Parsed([], [], f"the body is not valid JSON: {exc}")
        if not isinstance(data, dict):
            return _Parsed([], [], f"the JSON body is a {type(data).__name__}, not an object")
        pairs = [(key, field_text(value)) for key, value in data.items()]
        return _Parsed(list(query) + list(data.items()), pairs)
    if media in ("", "application/x-www-form-urlencoded"):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return _Parsed([], [], "the form body is not valid UTF-8")
        try:
            form = _strict_pairs(text, "form body")
        except ValueError as exc:
            return _Parsed([], [], str(exc))
        return _Parsed(list(query) + form, form)
    return _Parsed([], [], f"unsupported Content-Type {media!r}: send"
                           " application/x-www-form-urlencoded or application/json")


def _verify_url(request: _Incoming, settings: ReceiverSettings, route_path: str) -> str:
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


def _headers_for_record(request: _Incoming) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw_name, raw_value in request.scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        value = "[redacted]" if name in _REDACTED_HEADERS else raw_value.decode("latin-1")
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def _request_record(request: _Incoming, *, status: int, reason: str, body_length: int,
                    kind: EventKind, error: str | None = None) -> dict[str, Any]:
    client = request.scope.get("client")
    return {
        "status": status,
        "reason": reason,
        "error": error,
        "event": kind,
        "method": request.method,
        "path": request.scope.get("path", ""),
        "remote": f"{client[0]}:{client[1]}" if client else None,
        "headers": _headers_for_record(request),
        "body_length": body_length,
    }


async def _reject(request: _Incoming, context: _Context, *, status: int, reason: str,
                  body_length: int, kind: EventKind, error: str,
                  headers: Mapping[str, str] | None = None) -> _Answer:
    context.counts.add("rejected")
    record = _request_record(request, status=status, reason=reason, body_length=body_length,
                             kind=kind, error=error)
    try:
        await context.log.reject_async(record)
    except (OSError, RuntimeError) as exc:  # the answer does not depend on this record
        logger.error("could not record a rejected request: %s", exc)
    logger.info("rejected %s %s with %d: %s", request.method, record["path"], status, reason)
    return _Answer(status, {"error": reason}, headers)


async def _malformed(request: _Incoming, context: _Context, *, reason: str, body: bytes,
                     kind: EventKind, verified: bool) -> _Answer:
    context.counts.add("malformed")
    record = _request_record(request, status=400, reason=reason, body_length=len(body),
                             kind=kind, error="CallbackError")
    record["verified"] = verified
    record["query"] = request.query_string.decode("latin-1")
    record["content_type"] = request.headers.get("content-type")
    try:
        record["body"] = body.decode("utf-8")
    except UnicodeDecodeError:
        record["body_base64"] = base64.b64encode(body).decode("ascii")
    try:
        await context.log.quarantine_async(record)
    except (OSError, RuntimeError) as exc:
        logger.error("could not quarantine a malformed callback: %s", exc)
        return _Answer(503, {"error": "the callback log is unavailable; retry later"})
    logger.info("quarantined a malformed %s callback: %s", kind, reason)
    return _Answer(400, {"error": reason})


async def _handle_callback(request: _Incoming, receive: Any, context: _Context,
                           kind: EventKind, route_path: str) -> _Answer:
    method = request.method
    # POST everywhere, GET on the recording route; not HEAD (which Starlette adds to GET routes)
    if method != "POST" and (method != "GET" or route_path != RECORDING_PATH):
        allowed = "GET, POST" if route_path == RECORDING_PATH else "POST"
        return _Answer(405, {"error": f"method {method} not allowed"}, {"Allow": allowed})
    settings = context.settings
    try:
        body = await _read_body(request, receive, settings.max_body_bytes, context.deadlines)
    except _TooLarge as exc:
        how = "declared by Content-Length" if exc.declared else "read"
        return await _reject(request, context, status=413, error="BodyTooLarge",
                             body_length=exc.size, kind=kind,
                             reason=f"the body ({exc.size} bytes {how}) is over the"
                                    f" {settings.max_body_bytes} byte limit")
    except _Disconnected:
        return _Answer(400, None)
    except _BodyTimeout as exc:
        declared = request.headers.get("content-length", "")
        expected = f" of the {declared} declared" if declared.isdigit() else ""
        # the rest of the body may still come: close rather than read it as the next request
        return await _reject(request, context, status=408, error="BodyTimeout",
                             body_length=exc.size, kind=kind, headers={"Connection": "close"},
                             reason=f"the body did not arrive within {settings.body_timeout:g} s"
                                    f" ({exc.size}{expected} bytes came)")
    try:
        parsed = _parse(method, request.headers.get("content-type", ""), body,
                        request.query_string)
    except Exception as exc:  # noqa: BLE001 - no input may cause a 500
        parsed = _Parsed([], None if method == "GET" else [],
                         f"the request could not be parsed: {exc!r}")
    if context.verifier is not None:
        try:
            context.verifier.verify(request.headers, method=method,
                                    url=_verify_url(request, settings, route_path),
                                    params=parsed.signed_params)
        except SignatureError as exc:
            return await _reject(request, context, status=403, reason=str(exc),
                                 body_length=len(body), kind=kind, error=type(exc).__name__)
        except ValueError as exc:  # a Host / X-Forwarded-Host that is not a URL authority
            return await _reject(request, context, status=403, body_length=len(body), kind=kind,
                                 error="SignatureMismatchError",
                                 reason=f"cannot rebuild the URL to verify against: {exc}")
    if parsed.error is not None:
        return await _malformed(request, context, reason=parsed.error, body=body, kind=kind,
                                verified=settings.verify)
    try:
        event = normalise_callback(parsed.fields, kind=kind)
        result = await context.log.append_async(event, verified=settings.verify)
    except CallbackError as exc:
        return await _malformed(request, context, reason=exc.reason, body=body, kind=kind,
                                verified=settings.verify)
    except (OSError, RuntimeError) as exc:
        logger.error("could not store a %s callback: %s", kind, exc)
        return _Answer(503, {"error": "the callback log is unavailable; retry later"})
    except Exception as exc:  # noqa: BLE001 - no input may cause a 500
        return await _malformed(request, context, body=body, kind=kind, verified=settings.verify,
                                reason=f"the callback could not be used: {exc!r}")
    context.counts.add(kind if result.stored else "duplicates")
    return _Answer.accepted(result.stored, kind, result.recording_id)


# -- the notebook receiver ----------------------------------------------------------------------

class CallbackReceiver:
    """The receiver for notebooks: the app under uvicorn in a background thread.

    Parameters
    ----------
    log_dir
        The callback log folder (see :class:`~recording_toolkit.callback_log.CallbackLog`).
    auth_token
        The token(s) Plivo signs callbacks with: text (comma-separated for several), a list, or
        None to read ``PLIVO_AUTH_TOKEN`` from ``environ``.
    main_account_token
        Token(s) for ``X-Plivo-Signature-Ma-V3`` when it differs (sub-accounts).
    public_url
        The base URL Plivo calls (a tunnel or proxy in front of this machine). None: the
        receiver's own loopback URL, which is what it then hands out and verifies against.
    verify
        Check V3 signatures (default). False accepts unsigned callbacks, marked unverified.
    host, port
        Where to listen; default 127.0.0.1 and a free port.
    trust_forwarded
        With no ``public_url``, rebuild the URL from ``X-Forwarded-Proto`` / ``-Host``.
    instance_id, environ, log_level
        File-name id for the log; the environment to read the token from; uvicorn's log level.
    body_timeout
        Seconds a request's body may take once its headers are in (default 15); a sender that
        stalls longer gets 408 and its connection is closed. A connection that sends no
        complete request headers for as long (since it opened, or since its last answer) is
        closed too.
    max_connections
        Connections served at once (default :func:`default_max_connections`: 500, or half the
        open-file limit when that is lower). When one more opens, the connection stuck longest
        on its headers or body is closed to make room; if none is stuck, the newcomer gets 503.
    clock
        What stamps ``received_at`` (a callable returning an aware UTC datetime); default the
        wall clock. Against a :class:`~recording_toolkit.sandbox.Sandbox` pass ``sandbox.now``:
        its recordings carry sandbox time, and turnaround (``received_at`` minus the recording's
        end) is only meaningful on the same clock.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with CallbackReceiver(folder, auth_token="token") as receiver:
    ...         receiver.recording_callback_url.endswith("/callbacks/recording")
    True
    """

    def __init__(
        self,
        log_dir: str | os.PathLike[str],
        *,
        auth_token: str | Sequence[str] | None = None,
        main_account_token: str | Sequence[str] | None = None,
        public_url: str | None = None,
        verify: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        trust_forwarded: bool = False,
        instance_id: str | None = None,
        environ: Mapping[str, str] | None = None,
        log_level: str = "warning",
        clock: Callable[[], datetime] | None = None,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        max_connections: int | None = None,
    ) -> None:
        self.log_dir = log_dir
        self._clock = clock
        self._tokens = resolve_auth_tokens(auth_token, environ=environ)
        self._ma_tokens = main_account_token
        if verify and not self._tokens:
            raise missing_credential("auth_token",
                                     otherwise="verify=False to accept unsigned callbacks")
        self._public_url = normalise_public_url(public_url)
        self.body_timeout = check_body_timeout(body_timeout)
        self.max_connections = check_max_connections(
            default_max_connections() if max_connections is None else max_connections)
        self.verify = verify
        self.host = host
        self.port = port
        self.trust_forwarded = trust_forwarded
        self.instance_id = instance_id
        self._log_level = log_level
        self.counts_tracker = ReceiverCounts()
        self.log: CallbackLog | None = None
        self._server: BackgroundServer | None = None

    # -- lifecycle --

    def start(self) -> CallbackReceiver:
        """Open the log and start serving; returns self. Idempotent."""
        if self._server is not None:
            return self
        log = CallbackLog(self.log_dir, instance_id=self.instance_id, clock=self._clock)
        try:
            app = create_receiver_app(log, auth_tokens=self._tokens,
                                      main_account_tokens=self._ma_tokens,
                                      public_url=self._public_url,
                                      trust_forwarded=self.trust_forwarded, verify=self.verify,
                                      counts=self.counts_tracker,
                                      body_timeout=self.body_timeout)
            server = BackgroundServer(app, host=self.host, port=self.port,
                                      log_level=self._log_level, name="callback receiver",
                                      request_timeout=self.body_timeout,
                                      max_connections=self.max_connections)
            server.start()
        except BaseException:
            log.close()
            raise
        if self._public_url is None:
            # Hand out and verify against the loopback URL itself (known once bound).
            app.state.settings.public_url = server.url
        self.log = log
        self._server = server
        return self

    def stop(self) -> None:
        """Stop serving (in-flight requests finish), then flush and close the log."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()
        if self.log is not None:
            self.log.close()

    close = stop

    def __enter__(self) -> CallbackReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None and self._server.running

    # -- addresses --

    @property
    def url(self) -> str:
        """The loopback URL the server listens on (``http://127.0.0.1:PORT``)."""
        if self._server is None:
            raise RuntimeError("the receiver is not running; call start() or use 'with'")
        return self._server.url

    @property
    def public_url(self) -> str:
        """The base URL handed out in callback URLs: ``public_url``, else :attr:`url`."""
        return self._public_url or self.url

    @property
    def recording_callback_url(self) -> str:
        """Give this to ``start_recording(callback_url=...)``."""
        return self.public_url + RECORDING_PATH

    @property
    def transcription_callback_url(self) -> str:
        """Give this to ``start_recording(transcription_url=...)``."""
        return self.public_url + TRANSCRIPTION_PATH

    # -- progress --

    @property
    def counts(self) -> dict[str, int]:
        """``recording``, ``transcription`` (stored), ``duplicates``, ``rejected``, ``malformed``."""
        return self.counts_tracker.snapshot()

    def wait_for(self, *, recordings: int = 0, transcriptions: int = 0, timeout: float = 60,
                 progress: bool = False) -> bool:
        """Block until at least this many callbacks were stored; False on timeout.

        With ``progress=True`` a ``tqdm.auto`` bar counts them.
        """
        target = recordings + transcriptions
        deadline = time.monotonic() + timeout
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=target, desc="callbacks", unit="cb")
        try:
            counts = self.counts
            while True:
                got = min(counts["recording"], recordings) + min(counts["transcription"],
                                                                 transcriptions)
                if bar is not None and got > bar.n:
                    bar.update(got - bar.n)
                if counts["recording"] >= recordings and counts["transcription"] >= transcriptions:
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                counts = self.counts_tracker.wait(min(remaining, 0.5))
        finally:
            if bar is not None:
                bar.close()

    def __repr__(self) -> str:
        state = self.url if self.running else "stopped"
        return (f"<CallbackReceiver {state} log_dir={os.fspath(self.log_dir)!r}"
                f" verify={self.verify} tokens={len(self._tokens)} counts={self.counts}>")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m recording_toolkit.receiver ...``: the same as ``recording-toolkit receive``."""
    from .cli import main as cli_main

    return cli_main(["receive", *(argv or [])])


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.exit(main(sys.argv[1:]))
