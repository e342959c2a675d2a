"""The sandbox's HTTP face: Plivo's Record and Recording APIs, plus a small admin API.

=============================================================  ===============================
``GET    /v1/Account/{auth_id}/``, ``.../Subaccount/...``      the account resource (``_account``)
``POST   /v1/Account/{auth_id}/Conference/{name}/Record/``     start: 202 + JSON
``DELETE /v1/Account/{auth_id}/Conference/{name}/Record/``     stop: 204, empty body
``GET    /v1/Account/{auth_id}/Recording/``                    list (filters, paging, windows)
``GET    /v1/Account/{auth_id}/Recording/{recording_id}/``     one recording
``DELETE /v1/Account/{auth_id}/Recording/{recording_id}/``     delete it: 204, empty body
``GET    /v1/Account/{auth_id}/Recording/{recording_id}.mp3``  its audio (``.wav`` likewise)
``GET    /v1/Account/{auth_id}/Transcription/{recording_id}/`` its transcription (``_transcriptions``)
``POST   /_sandbox/conferences/{name}``                        open a conference (live)
``DELETE /_sandbox/conferences/{name}``                        close it (its recordings end)
``GET    /_sandbox/conferences``, ``/_sandbox/ground_truth``   what the sandbox knows
``GET    /_sandbox/health``                                    liveness (no auth)
=============================================================  ===============================

The list's filters and objects are described in ``_listing``, the audio in ``_media``. A start
drawn for the ``async_answer`` fault is answered ``{"api_id", "message": "async api spawned"}``
(202) without ``recording_id`` and ``url``; the recording runs and its callbacks carry that
``api_id``. Media URLs need no credentials unless the sandbox has ``media_auth`` (then the
account's Basic auth, 401 with ``WWW-Authenticate: Basic`` without it); a deleted or not yet
stored recording's media is 404.

Every error is JSON ``{"api_id": ..., "error": ...}`` with Plivo's status: 400 (the field named
first in the text), 401, 404 (unknown path, a conference that is not live, an unknown
recording), 405 (with ``Allow``), 429 / 503 with ``Retry-After``, 500. Checks run in this order:
authentication, path and method, fault injection, the request's fields, the conference.

Paths are matched on the raw, percent-encoded path one segment at a time, so a conference name
holding ``/``, ``?`` or ``#`` (sent as ``%2F``...) is read back exactly. The trailing ``/`` that
Plivo's URLs end with is optional here.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._account import AccountBook, account_resource
from ._dispatch import retry_settings
from ._listing import MAX_LIST_DAYS, REFUSED, ParameterError, parse_list_query, recording_object
from ._media import MEDIA_TYPES, media_bytes, media_seconds
from ._state import Recording, StartRequest
from ._transcriptions import transcription_object

if TYPE_CHECKING:
    from ._sandbox import SandboxCore

__all__ = ["MAX_LIST_DAYS", "create_sandbox_app", "parse_start_request"]

MAX_BODY_BYTES = 64 * 1024
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_MEDIA_NAME = re.compile(r"^(?P<id>[^./]+)\.(?P<format>mp3|wav)$")


class _Invalid(Exception):
    """A field Plivo would reject: becomes a 400 naming it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


# -- request parsing ---------------------------------------------------------------------------

def _check_url(field: str, value: str) -> str:
    if _CONTROL.search(value):
        raise _Invalid(field, f"{value[:200]!r} contains spaces or control characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise _Invalid(field, f"{value[:200]!r} is not a valid URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise _Invalid(field, f"{value[:200]!r} is not an absolute http(s) URL")
    try:
        retry_settings(value)
    except ValueError as exc:
        raise _Invalid(field, str(exc)) from None
    return value


def _choice(field: str, value: str | None, allowed: tuple[str, ...], default: str | None, *,
            upper: bool = False) -> str | None:
    if value is None or value == "":
        return default
    normal = value.upper() if upper else value.lower()
    if normal not in allowed:
        raise _Invalid(field, f"{value[:100]!r} is not allowed; use {' or '.join(allowed)}")
    return normal


def parse_start_request(fields: Mapping[str, Any], conference_name: str) -> StartRequest:
    """Validate a start request's fields the way the sandbox does (``_Invalid`` -> 400).

    Unknown fields are ignored, as Plivo does. Values must be text (JSON numbers are accepted
    for ``time_limit``); JSON ``null`` means absent.

    >>> parse_start_request({"file_format": "WAV", "callback_url": "https://h/cb#rc=2"}, "r")
    StartRequest(file_format='wav', transcription_type=None, transcription_url=None, \
callback_url='https://h/cb#rc=2', callback_method='POST', time_limit_s=None)
    """
    text: dict[str, str | None] = {}
    for key, value in fields.items():
        if value is None:
            text[key] = None
        elif isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _Invalid(key, f"{value!r} is not a text value")
        else:
            text[key] = str(value) if not isinstance(value, float) else repr(value)
    named = text.get("conference_name")
    if named not in (None, "") and named != conference_name:
        raise _Invalid("conference_name", f"{named[:100]!r} in the body does not match"
                       f" {conference_name[:100]!r} in the URL")
    file_format = _choice("file_format", text.get("file_format"), ("mp3", "wav"), "mp3")
    transcription_type = _choice("transcription_type", text.get("transcription_type"),
                                 ("auto",), None)
    _choice("transcription_method", text.get("transcription_method"), ("GET", "POST"), "POST",
            upper=True)
    callback_method = _choice("callback_method", text.get("callback_method"), ("GET", "POST"),
                              "POST", upper=True)
    urls = {}
    for name in ("transcription_url", "callback_url"):
        value = text.get(name)
        urls[name] = None if value in (None, "") else _check_url(name, value)
    time_limit = None
    raw_limit = text.get("time_limit")
    if raw_limit not in (None, ""):
        if not (raw_limit.isascii() and raw_limit.isdigit() and int(raw_limit) >= 1):
            raise _Invalid("time_limit", f"{raw_limit[:50]!r} is not a whole number of seconds"
                           " >= 1")
        time_limit = int(raw_limit)
    assert file_format is not None and callback_method is not None
    return StartRequest(file_format=file_format, transcription_type=transcription_type,
                        transcription_url=urls["transcription_url"],
                        callback_url=urls["callback_url"], callback_method=callback_method,
                        time_limit_s=time_limit)


async def _body_fields(request: Request) -> dict[str, Any]:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise _Invalid("body", f"is over {MAX_BODY_BYTES} bytes")
    if not body.strip():
        return {}
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    looks_json = body.lstrip()[:1] in (b"{", b"[")
    if ctype == "application/json" or ctype.endswith("+json") or (not ctype and looks_json):
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _Invalid("body", f"is not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise _Invalid("body", "must be a JSON object of fields")
        return data
    if ctype in ("application/x-www-form-urlencoded", ""):
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _Invalid("body", f"is not form-encoded ({exc})") from None
        fields: dict[str, Any] = {}
        for key, value in pairs:
            if key in fields and fields[key] != value:
                raise _Invalid(key, "is given more than once with different values")
            fields[key] = value
        return fields
    raise _Invalid("body", f"content type {ctype!r} is not supported; send JSON or form fields")


def _single_params(request: Request) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key in params and params[key] != value:
            raise _Invalid(key, "is given more than once with different values")
        params[key] = value
    return params


# -- responses -----------------------------------------------------------------------------------

def _error(core: SandboxCore, status: int, message: str, *,
           headers: Mapping[str, str] | None = None, api_id: str | None = None) -> JSONResponse:
    return JSONResponse({"api_id": api_id or core.new_api_id(), "error": message}, status,
                        headers=dict(headers or {}))


def _authenticated(request: Request, core: SandboxCore) -> bool:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    user, sep, password = decoded.partition(":")
    # evaluate both comparisons: no early exit that would time the auth id alone
    same_user = hmac.compare_digest(user.encode(), core.auth_id.encode())
    same_token = hmac.compare_digest(password.encode(), core.auth_token.encode())
    return bool(sep) and same_user and same_token


def _segments(request: Request) -> list[str]:
    raw = request.scope.get("raw_path") or request.scope["path"].encode("utf-8")
    path = raw.decode("latin-1").split("?", 1)[0]
    parts = path.split("/")[1:]
    if parts and parts[-1] == "":
        parts.pop()
    return [unquote(p, encoding="utf-8", errors="surrogateescape") for p in parts]


def _recording_object(core: SandboxCore, recording: Recording, now_ms: int) -> dict[str, Any]:
    return recording_object(recording, now_ms=now_ms, rates=core.config.rates,
                            auth_id=core.auth_id, add_time_offset=core.config.add_time_offset)


# -- handlers ------------------------------------------------------------------------------------

async def _record(request: Request, core: SandboxCore, name: str) -> Response:
    is_start = request.method == "POST"
    decision = core.api_faults.decide(request.method, f"Conference/{name}/Record",
                                      is_start=is_start)
    if decision.latency_s:
        await asyncio.sleep(decision.latency_s)
    if decision.status is not None and not decision.process_anyway:
        return _fault(core, decision.status, decision.retry_after_s, decision.reason)
    if not is_start:
        if not core.state.is_live(name):
            return _not_live(core, name)
        core.stop(name)
        return Response(status_code=204)
    try:
        options = parse_start_request(await _body_fields(request), name)
    except _Invalid as exc:
        return _error(core, 400, str(exc))
    if not core.state.is_live(name):
        return _not_live(core, name)
    recording = core.start(name, options, answered=decision.status is None)
    if decision.status is not None:  # an injected 500 after the recording had started
        return _fault(core, decision.status, decision.retry_after_s, decision.reason)
    if decision.async_answer:  # Plivo's asynchronous shape: the ids come with the callbacks
        return JSONResponse({"api_id": recording.api_id, "message": "async api spawned"}, 202)
    return JSONResponse({"api_id": recording.api_id, "message": "conference recording started",
                         "recording_id": recording.recording_id, "url": recording.record_url},
                        202)


def _fault(core: SandboxCore, status: int, retry_after: int | None, reason: str) -> Response:
    texts = {429: "too many requests", 500: "internal server error", 502: "bad gateway",
             503: "service unavailable", 504: "gateway timeout"}
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return _error(core, status, f"{texts.get(status, 'error')} ({reason})", headers=headers)


def _not_live(core: SandboxCore, name: str) -> Response:
    return _error(core, 404, f"conference {name[:200]!r} not found: it is not live")


async def _served(core: SandboxCore, method: str, path: str) -> Response | None:
    """The fault answer for a Recording API request, or None to serve it."""
    decision = core.api_faults.decide(method, path, is_start=False)
    if decision.latency_s:
        await asyncio.sleep(decision.latency_s)
    if decision.status is not None:
        return _fault(core, decision.status, decision.retry_after_s, decision.reason)
    return None


async def _list(request: Request, core: SandboxCore) -> Response:
    refused = await _served(core, "GET", "Recording")
    if refused is not None:
        return refused
    core.settle()
    now_ms = core.clock.now_ms()
    try:
        params = _single_params(request)
        query = parse_list_query(params, now_ms)
    except (_Invalid, ParameterError) as exc:
        return _error(core, 400, str(exc))
    matches = core.state.listed(now_ms, query.matches, key=query.key)
    limit, offset = query.limit, query.offset
    page = matches[offset:offset + limit]
    base = f"/v1/Account/{core.auth_id}/Recording/"
    kept = {k: v for k, v in params.items() if k not in ("limit", "offset")}

    def link(at: int) -> str:
        return base + "?" + urlencode({**kept, "limit": limit, "offset": at})

    meta = {"limit": limit, "offset": offset,
            "next": link(offset + limit) if offset + limit < len(matches) else None,
            "previous": link(max(0, offset - limit)) if offset > 0 else None,
            "total_count": len(matches)}
    return JSONResponse({"api_id": core.new_api_id(), "meta": meta,
                         "objects": [_recording_object(core, r, now_ms) for r in page]})


def _missing(core: SandboxCore, recording_id: str) -> Response:
    return _error(core, 404, f"recording {recording_id[:100]!r} not found")


async def _get(request: Request, core: SandboxCore, recording_id: str) -> Response:
    refused = await _served(core, "GET", f"Recording/{recording_id}")
    if refused is not None:
        return refused
    core.settle()
    now_ms = core.clock.now_ms()
    recording = core.state.visible(recording_id, now_ms)
    if recording is None:
        return _missing(core, recording_id)
    return JSONResponse({"api_id": core.new_api_id(), **_recording_object(core, recording, now_ms)})


async def _delete(request: Request, core: SandboxCore, recording_id: str) -> Response:
    """Delete a stored recording: 204 with no body; 404 when unknown or deleted before. The
    SDK sends its arguments as a JSON body (``recording_id``, maybe ``callback_url``)."""
    refused = await _served(core, "DELETE", f"Recording/{recording_id}")
    if refused is not None:
        return refused
    try:
        fields = await _body_fields(request)
        named = fields.get("recording_id")
        if named not in (None, "") and named != recording_id:
            raise _Invalid("recording_id", f"{str(named)[:100]!r} in the body does not match"
                           f" {recording_id[:100]!r} in the URL")
        for name in ("callback_url", "callback_method"):
            if fields.get(name):
                raise _Invalid(name, REFUSED[name])
    except _Invalid as exc:
        return _error(core, 400, str(exc))
    core.settle()
    if core.delete(recording_id) is None:
        return _missing(core, recording_id)
    return Response(status_code=204)


async def _transcription(request: Request, core: SandboxCore, recording_id: str) -> Response:
    """A recording's transcription (see ``_transcriptions``); no query parameter is simulated."""
    refused = await _served(core, "GET", f"Transcription/{recording_id}")
    if refused is not None:
        return refused
    for name in request.query_params:
        return _error(core, 400, f"{name}: not simulated by the sandbox's Transcription API")
    core.settle()
    now_ms = core.clock.now_ms()
    obj = transcription_object(core, core.state.get(recording_id), now_ms)
    if obj is None:
        return _error(core, 404, f"transcription of recording {recording_id[:100]!r} not found")
    return JSONResponse({"api_id": core.new_api_id(), **obj})


async def _media(request: Request, core: SandboxCore, recording_id: str,
                 file_format: str) -> Response:
    """The recording's audio (see ``_media``); 404 unless stored, not deleted, and asked for in
    its own format."""
    core.settle()
    recording = core.state.visible(recording_id, core.clock.now_ms())
    if recording is None or recording.options.file_format != file_format:
        return _error(core, 404, f"recording file {recording_id[:100]}.{file_format} not found")
    assert recording.duration_ms is not None
    body = media_bytes(file_format, media_seconds(recording.duration_ms))
    return Response(body if request.method == "GET" else b"", 200,
                    media_type=MEDIA_TYPES[file_format],
                    headers={"Content-Length": str(len(body))})


async def _admin(request: Request, core: SandboxCore, rest: list[str]) -> Response:
    if rest == ["health"]:
        if request.method != "GET":
            return _error(core, 405, f"method {request.method} not allowed; use GET",
                          headers={"Allow": "GET"})
        return JSONResponse({"status": "ok", "now": core.clock.now().isoformat()})
    if not _authenticated(request, core):
        return _unauthorised(core)
    if rest == ["ground_truth"] or rest == ["conferences"]:
        if request.method != "GET":
            return _error(core, 405, f"method {request.method} not allowed; use GET",
                          headers={"Allow": "GET"})
        if rest == ["ground_truth"]:
            return JSONResponse(core.ground_truth())
        return JSONResponse({"conferences": core.state.conferences()})
    if len(rest) == 2 and rest[0] == "conferences" and rest[1]:
        name = rest[1]
        if request.method == "POST":
            created = core.open_conference(name)
            return JSONResponse({"conference_name": name, "live": True}, 201 if created else 200)
        if request.method == "DELETE":
            ended = core.close_conference(name)
            return JSONResponse({"conference_name": name, "live": False,
                                 "recordings_ended": len(ended)})
        return _error(core, 405, f"method {request.method} not allowed; use POST or DELETE",
                      headers={"Allow": "POST, DELETE"})
    return _error(core, 404, "resource not found")


def _unauthorised(core: SandboxCore) -> Response:
    return _error(core, 401, "authentication failed: wrong auth id or auth token",
                  headers={"WWW-Authenticate": 'Basic realm="recording_toolkit sandbox"'})


def create_sandbox_app(core: SandboxCore) -> Starlette:
    """The ASGI app serving ``core`` (see the module docstring for the routes)."""

    accounts = AccountBook()

    async def handle(request: Request) -> Response:
        segments = _segments(request)
        if segments[:1] == ["_sandbox"]:
            return await _admin(request, core, segments[1:])
        if len(segments) < 3 or segments[:2] != ["v1", "Account"]:
            return _error(core, 404, "resource not found")
        rest = segments[3:]
        method = request.method
        media = _MEDIA_NAME.match(rest[1]) if len(rest) == 2 and rest[0] == "Recording" else None
        if media is not None:
            if core.config.media_auth and not _authenticated(request, core):
                return _unauthorised(core)
            if segments[2] != core.auth_id:
                return _error(core, 404, "resource not found")
            if method not in ("GET", "HEAD"):
                return _error(core, 405, f"method {method} not allowed; use GET",
                              headers={"Allow": "GET, HEAD"})
            return await _media(request, core, media["id"], media["format"])
        if not rest or rest[0] == "Subaccount":  # its own authentication: sub-accounts too
            return await account_resource(request, core, accounts, segments[2], rest)
        if not _authenticated(request, core) or segments[2] != core.auth_id:
            return _unauthorised(core)
        if len(rest) == 3 and rest[0] == "Conference" and rest[2] == "Record" and rest[1]:
            if method not in ("POST", "DELETE"):
                return _error(core, 405, f"method {method} not allowed; use POST (start) or"
                              " DELETE (stop)", headers={"Allow": "POST, DELETE"})
            return await _record(request, core, rest[1])
        if rest == ["Recording"]:
            if method != "GET":
                return _error(core, 405, f"method {method} not allowed; use GET",
                              headers={"Allow": "GET"})
            return await _list(request, core)
        if len(rest) == 2 and rest[0] == "Recording" and rest[1]:
            if method == "GET":
                return await _get(request, core, rest[1])
            if method == "DELETE":
                return await _delete(request, core, rest[1])
            return _error(core, 405, f"method {method} not allowed; use GET or DELETE",
                          headers={"Allow": "GET, DELETE"})
        if len(rest) == 2 and rest[0] == "Transcription" and rest[1]:
            if method != "GET":
                return _error(core, 405, f"method {method} not allowed; use GET",
                              headers={"Allow": "GET"})
            return await _transcription(request, core, rest[1])
        return _error(core, 404, "resource not found")

    app = Starlette(routes=[Route("/{path:path}", handle, methods=_METHODS)])
    app.router.redirect_slashes = False
    app.state.core = core
    app.state.accounts = accounts
    return app
