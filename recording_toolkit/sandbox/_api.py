"""The sandbox's HTTP face: Plivo's Record and Recording APIs, plus a small admin API.

=============================================================  ===============================
``POST   /v1/Account/{auth_id}/Conference/{name}/Record/``     start: 202 + JSON
``DELETE /v1/Account/{auth_id}/Conference/{name}/Record/``     stop: 204, empty body
``GET    /v1/Account/{auth_id}/Recording/``                    list (filters, paging, windows)
``GET    /v1/Account/{auth_id}/Recording/{recording_id}/``     one recording
``POST   /_sandbox/conferences/{name}``                        open a conference (live)
``DELETE /_sandbox/conferences/{name}``                        close it (its recordings end)
``GET    /_sandbox/conferences``, ``/_sandbox/ground_truth``   what the sandbox knows
``GET    /_sandbox/health``                                    liveness (no auth)
=============================================================  ===============================

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
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import rules
from ._clock import from_ms
from ._dispatch import retry_settings
from ._simulation import decimal_text
from ._state import Recording, StartRequest

if TYPE_CHECKING:
    from ._sandbox import SandboxCore

__all__ = ["MAX_LIST_DAYS", "create_sandbox_app", "parse_start_request"]

MAX_BODY_BYTES = 64 * 1024
MAX_PAGE = 20
MAX_LIST_DAYS = 30
DEFAULT_LIST_DAYS = 7
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")


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


def _parse_time(field: str, value: str) -> datetime:
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise _Invalid(field, f"{value[:60]!r} is not a UTC time like 'YYYY-MM-DD HH:MM[:ss[.uuuuuu]]'")


def _single_params(request: Request) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key in params and params[key] != value:
            raise _Invalid(key, "is given more than once with different values")
        params[key] = value
    return params


def _whole(field: str, value: str | None, default: int, low: int, high: int | None) -> int:
    if value is None or value == "":
        return default
    if not (value.isascii() and value.isdigit()) or int(value) < low or (
            high is not None and int(value) > high):
        bound = f"from {low} to {high}" if high is not None else f">= {low}"
        raise _Invalid(field, f"{value[:30]!r} is not a whole number {bound}")
    return int(value)


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
    """A Recording API object: numbers as Plivo sends them (decimal strings, offsets)."""
    assert recording.end_ms is not None and recording.add_ms is not None
    duration_ms = recording.end_ms - recording.start_ms
    rounded_minutes = rules.billed_minutes(duration_ms)
    rates = core.config.rates
    stored_days = max(0, (now_ms - recording.add_ms) // 86_400_000)
    storage_rate = Decimal(str(rates.storage_per_minute_month))
    monthly = storage_rate * rounded_minutes if stored_days > rates.free_storage_days else 0
    offset = core.config.add_time_offset
    sign = -1 if offset[0] == "-" else 1
    zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
    added = from_ms(recording.add_ms).astimezone(zone)
    return {
        "add_time": added.strftime("%Y-%m-%d %H:%M:%S.%f") + offset,
        "call_uuid": recording.call_uuid,
        "conference_name": recording.conference_name,
        "monthly_recording_storage_amount": float(monthly),
        "recording_duration_ms": decimal_text(duration_ms, 5),
        "recording_end_ms": decimal_text(recording.end_ms, 5),
        "recording_format": recording.options.file_format,
        "recording_id": recording.recording_id,
        "recording_start_ms": decimal_text(recording.start_ms, 5),
        "recording_storage_duration": int(stored_days),
        "recording_storage_rate": float(storage_rate),
        "recording_type": "conference",
        "recording_url": recording.record_url,
        "resource_uri": f"/v1/Account/{core.auth_id}/Recording/{recording.recording_id}/",
        "rounded_recording_duration": int(rounded_minutes) * 60,
    }


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


async def _list(request: Request, core: SandboxCore) -> Response:
    decision = core.api_faults.decide("GET", "Recording", is_start=False)
    if decision.latency_s:
        await asyncio.sleep(decision.latency_s)
    if decision.status is not None:
        return _fault(core, decision.status, decision.retry_after_s, decision.reason)
    try:
        params = _single_params(request)
        limit = _whole("limit", params.get("limit"), MAX_PAGE, 1, MAX_PAGE)
        offset = _whole("offset", params.get("offset"), 0, 0, None)
        if params.get("conference_uuid"):
            raise _Invalid("conference_uuid", "the sandbox does not simulate conference uuids;"
                           " filter by conference_name")
        bounds = {key: _parse_time(key, params[key]) for key in
                  ("add_time__gt", "add_time__gte", "add_time__lt", "add_time__lte")
                  if params.get(key)}
        now_ms = core.clock.now_ms()
        now = from_ms(now_ms)
        lows = [bounds[k] for k in ("add_time__gt", "add_time__gte") if k in bounds]
        highs = [bounds[k] for k in ("add_time__lt", "add_time__lte") if k in bounds]
        upper = min(highs) if highs else now
        lower = max(lows) if lows else upper - timedelta(days=DEFAULT_LIST_DAYS)
        if upper - lower > timedelta(days=MAX_LIST_DAYS):
            field = "add_time__gte" if lows else "add_time__lt"
            raise _Invalid(field, f"the add_time range {lower:%Y-%m-%d %H:%M:%S} to"
                           f" {upper:%Y-%m-%d %H:%M:%S} spans more than {MAX_LIST_DAYS} days;"
                           f" query windows of {MAX_LIST_DAYS} days or less")
    except _Invalid as exc:
        return _error(core, 400, str(exc))
    if not lows:
        bounds.setdefault("add_time__gte", lower)
    if not highs:
        bounds.setdefault("add_time__lte", upper)
    limits = {k: v.timestamp() * 1000 for k, v in bounds.items()}
    conference = params.get("conference_name")
    call_uuid = params.get("call_uuid")
    core.settle()
    matches = []
    for recording in core.state.stored(now_ms):
        add = recording.add_ms
        assert add is not None
        if ("add_time__gt" in limits and not add > limits["add_time__gt"]) or (
                "add_time__gte" in limits and not add >= limits["add_time__gte"]) or (
                "add_time__lt" in limits and not add < limits["add_time__lt"]) or (
                "add_time__lte" in limits and not add <= limits["add_time__lte"]):
            continue
        if conference is not None and recording.conference_name != conference:
            continue
        if call_uuid and recording.call_uuid != call_uuid:
            continue
        matches.append(recording)
    matches.sort(key=lambda r: (-(r.add_ms or 0), r.recording_id))
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


async def _get(request: Request, core: SandboxCore, recording_id: str) -> Response:
    decision = core.api_faults.decide("GET", f"Recording/{recording_id}", is_start=False)
    if decision.latency_s:
        await asyncio.sleep(decision.latency_s)
    if decision.status is not None:
        return _fault(core, decision.status, decision.retry_after_s, decision.reason)
    core.settle()
    now_ms = core.clock.now_ms()
    recording = core.state.get(recording_id)
    if recording is None or recording.add_ms is None or recording.add_ms > now_ms:
        return _error(core, 404, f"recording {recording_id[:100]!r} not found")
    return JSONResponse({"api_id": core.new_api_id(), **_recording_object(core, recording, now_ms)})


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

    async def handle(request: Request) -> Response:
        segments = _segments(request)
        if segments[:1] == ["_sandbox"]:
            return await _admin(request, core, segments[1:])
        if len(segments) < 3 or segments[:2] != ["v1", "Account"]:
            return _error(core, 404, "resource not found")
        if not _authenticated(request, core) or segments[2] != core.auth_id:
            return _unauthorised(core)
        rest = segments[3:]
        method = request.method
        if len(rest) == 3 and rest[0] == "Conference" and rest[2] == "Record" and rest[1]:
            if method not in ("POST", "DELETE"):
                return _error(core, 405, f"method {method} not allowed; use POST (start) or"
                              " DELETE (stop)", headers={"Allow": "POST, DELETE"})
            return await _record(request, core, rest[1])
        if rest[:1] == ["Recording"] and len(rest) in (1, 2):
            if method != "GET":
                return _error(core, 405, f"method {method} not allowed; use GET",
                              headers={"Allow": "GET"})
            if len(rest) == 1:
                return await _list(request, core)
            return await _get(request, core, rest[1])
        return _error(core, 404, "resource not found")

    app = Starlette(routes=[Route("/{path:path}", handle, methods=_METHODS)])
    app.router.redirect_slashes = False
    app.state.core = core
    return app
