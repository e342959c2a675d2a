"""The receiver's ASGI app: what each callback request leads to (stored, duplicate, rejected,
quarantined, 503), and the counts of those answers.

The request is read and parsed by :mod:`._requests`; here the signature is checked, the
callback normalised and handed to the :class:`~recording_toolkit.callback_log.CallbackLog`,
and refused requests recorded under ``_rejected/`` or ``_quarantine/``. A test callback
(:mod:`recording_toolkit.probes`, what ``recording-toolkit doctor`` sends) goes the same way;
only its answer (200 or 403) adds the URL the signature was checked against.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..callback_log import CallbackLog
from ..callbacks import EventKind, normalise_callback
from ..errors import CallbackError, ConfigurationError, SignatureError
from ..probes import is_test_callback, is_test_recording_id
from ..signature import SignatureVerifier
from ._requests import (
    Answer,
    BodyDeadlines,
    BodyTimeout,
    Disconnected,
    Incoming,
    Parsed,
    TooLarge,
    headers_for_record,
    parse,
    read_body,
    verify_url,
)
from ._settings import (
    DEFAULT_BODY_TIMEOUT,
    HEALTH_PATH,
    RECORDING_PATH,
    TRANSCRIPTION_PATH,
    ReceiverSettings,
    check_body_timeout,
    normalise_public_url,
    resolve_auth_tokens,
)

__all__ = ["ReceiverApp", "ReceiverCounts", "create_receiver_app"]

logger = logging.getLogger("recording_toolkit.receiver")

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
    context = _Context(log, settings, counts, verifier, BodyDeadlines(settings.body_timeout))
    routes: tuple[tuple[EventKind, str], ...] = (("recording", RECORDING_PATH),
                                                 ("transcription", TRANSCRIPTION_PATH))
    endpoints = {path: _CallbackEndpoint(context, kind, path) for kind, path in routes}
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




@dataclass(frozen=True)
class _Context:
    """What every callback request needs: the log, the settings, the counters, the
    signature verifier (None when verification is off) and the body deadlines."""

    log: CallbackLog
    settings: ReceiverSettings
    counts: ReceiverCounts
    verifier: SignatureVerifier | None
    deadlines: BodyDeadlines




class _CallbackEndpoint:
    """The ASGI app of one callback route."""

    def __init__(self, context: _Context, kind: EventKind, route_path: str) -> None:
        self.context = context
        self.kind = kind
        self.route_path = route_path

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        answer = await _handle_callback(Incoming(scope), receive, self.context, self.kind,
                                        self.route_path)
        await answer.send(send)




def _json(body: Mapping[str, Any], status: int = 200, headers: Mapping[str, str] | None = None
          ) -> Response:
    # ASCII-only: a reason may quote undecodable input and must still be sendable
    return Response(json.dumps(body, ensure_ascii=True), status_code=status,
                    media_type="application/json", headers=headers)




def _request_record(request: Incoming, *, status: int, reason: str, body_length: int,
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
        "headers": headers_for_record(request),
        "body_length": body_length,
    }


async def _reject(request: Incoming, context: _Context, *, status: int, reason: str,
                  body_length: int, kind: EventKind, error: str,
                  headers: Mapping[str, str] | None = None,
                  test_callback_url: str | None = None) -> Answer:
    context.counts.add("rejected")
    record = _request_record(request, status=status, reason=reason, body_length=body_length,
                             kind=kind, error=error)
    try:
        await context.log.reject_async(record)
    except (OSError, RuntimeError) as exc:  # the answer does not depend on this record
        logger.error("could not record a rejected request: %s", exc)
    logger.info("rejected %s %s with %d: %s", request.method, record["path"], status, reason)
    answer: dict[str, Any] = {"error": reason}
    if test_callback_url is not None:
        answer.update(test_callback=True, rebuilt_url=test_callback_url)
    return Answer(status, answer, headers)


async def _malformed(request: Incoming, context: _Context, *, reason: str, body: bytes,
                     kind: EventKind, verified: bool) -> Answer:
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
        return Answer(503, {"error": "the callback log is unavailable; retry later"})
    logger.info("quarantined a malformed %s callback: %s", kind, reason)
    return Answer(400, {"error": reason})


async def _handle_callback(request: Incoming, receive: Any, context: _Context,
                           kind: EventKind, route_path: str) -> Answer:
    method = request.method
    # POST everywhere, GET on the recording route; not HEAD (which Starlette adds to GET routes)
    if method != "POST" and (method != "GET" or route_path != RECORDING_PATH):
        allowed = "GET, POST" if route_path == RECORDING_PATH else "POST"
        return Answer(405, {"error": f"method {method} not allowed"}, {"Allow": allowed})
    settings = context.settings
    try:
        body = await read_body(request, receive, settings.max_body_bytes, context.deadlines)
    except TooLarge as exc:
        how = "declared by Content-Length" if exc.declared else "read"
        return await _reject(request, context, status=413, error="BodyTooLarge",
                             body_length=exc.size, kind=kind,
                             reason=f"the body ({exc.size} bytes {how}) is over the"
                                    f" {settings.max_body_bytes} byte limit")
    except Disconnected:
        return Answer(400, None)
    except BodyTimeout as exc:
        declared = request.headers.get("content-length", "")
        expected = f" of the {declared} declared" if declared.isdigit() else ""
        # the rest of the body may still come: close rather than read it as the next request
        return await _reject(request, context, status=408, error="BodyTimeout",
                             body_length=exc.size, kind=kind, headers={"Connection": "close"},
                             reason=f"the body did not arrive within {settings.body_timeout:g} s"
                                    f" ({exc.size}{expected} bytes came)")
    try:
        parsed = parse(method, request.headers.get("content-type", ""), body,
                        request.query_string)
    except Exception as exc:  # noqa: BLE001 - no input may cause a 500
        parsed = Parsed([], None if method == "GET" else [],
                         f"the request could not be parsed: {exc!r}")
    if context.verifier is not None:
        url = None
        try:
            url = verify_url(request, settings, route_path)
            context.verifier.verify(request.headers, method=method, url=url,
                                    params=parsed.signed_params)
        except SignatureError as exc:
            return await _reject(request, context, status=403, reason=str(exc),
                                 body_length=len(body), kind=kind, error=type(exc).__name__,
                                 test_callback_url=_test_callback_url(parsed, url))
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
        return Answer(503, {"error": "the callback log is unavailable; retry later"})
    except Exception as exc:  # noqa: BLE001 - no input may cause a 500
        return await _malformed(request, context, body=body, kind=kind, verified=settings.verify,
                                reason=f"the callback could not be used: {exc!r}")
    context.counts.add(kind if result.stored else "duplicates")
    if is_test_recording_id(result.recording_id):
        return _test_callback_answer(result.stored, kind, result.recording_id, request,
                                     settings, route_path)
    return Answer.accepted(result.stored, kind, result.recording_id)


def _test_callback_url(parsed: Parsed, url: str | None) -> str | None:
    """The URL the signature was checked against, when the request is a test callback
    (:mod:`recording_toolkit.probes`): ``recording-toolkit doctor`` compares it with the URL it
    signed. Only for test callbacks, and never a secret: it is built from the settings and the
    request's own headers."""
    return url if url is not None and is_test_callback(parsed.fields) else None


def _test_callback_answer(stored: bool, kind: EventKind, recording_id: str, request: Incoming,
                          settings: ReceiverSettings, route_path: str) -> Answer:
    """The 200 of a test callback: what :meth:`Answer.accepted` says, plus that it was taken
    as a test callback, whether it was verified, and the URL verified against."""
    try:
        rebuilt: str | None = verify_url(request, settings, route_path)
    except ValueError:
        rebuilt = None
    return Answer(200, {"status": "stored" if stored else "duplicate", "event": kind,
                        "recording_id": recording_id, "test_callback": True,
                        "verified": settings.verify, "rebuilt_url": rebuilt})


