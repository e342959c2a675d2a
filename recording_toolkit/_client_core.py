"""The I/O-free half of the Plivo Record API clients.

:class:`BaseRecordingClient` holds everything :class:`~recording_toolkit.client.RecordingClient`
and :class:`~recording_toolkit.client.AsyncRecordingClient` share: validating options, building
requests, mapping answers to results or exceptions, deciding retries, writing the journal and
shaping bulk results. The two clients hand-write only the lines that do I/O (the httpx design),
so the twins stay small and cannot drift apart.

What goes on the wire is what the official SDK (plivo-python 4.63) sends, checked by capturing
its requests: ``POST {base}/v1/Account/{auth_id}/Conference/{name}/Record/`` with Basic auth and a
JSON body that repeats ``conference_name``; ``DELETE`` on the same URL to stop. Two deliberate
differences: the conference name is percent-encoded as one path segment (the SDK sends a name with
``/``, ``?`` or ``#`` to the wrong URL), and every option is validated before anything is sent.

Examples
--------
>>> conference_path("MA" + "0" * 18, "My Conf Room")
'/v1/Account/MA000000000000000000/Conference/My%20Conf%20Room/Record/'
>>> validate_start_options(file_format="WAV").file_format
'wav'
>>> validate_start_options(file_format="ogg")
Traceback (most recent call last):
...
recording_toolkit.errors.ValidationError: file_format: 'ogg' is not a recording format; use 'mp3' or 'wav' (case-insensitive)
"""

from __future__ import annotations

import base64
import json
import math
import os
import platform
import re
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

from ._http import httpx
from ._ratelimit import DEFAULT_RATE_LIMIT, RateLimiter
from ._retry import NOT_SENT, SENT, RetryPolicy, may_have_been_processed, parse_retry_after
from ._version import __version__
from .config import resolve_base_url, resolve_credentials
from .errors import (
    ConfigurationError,
    ConnectError,
    PlivoAPIError,
    TimeoutError,
    TransportError,
    ValidationError,
    api_error_for_status,
)
from .journal import RequestJournal, format_time, journal_record

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BULK_COLUMNS",
    "CALLBACK_METHODS",
    "DELETE_COLUMNS",
    "DELETE_STATUSES",
    "LIST_FILTERS",
    "FILE_FORMATS",
    "MAX_CONFERENCE_NAME_BYTES",
    "START_OPTIONS",
    "TRANSCRIPTION_TYPES",
    "BaseRecordingClient",
    "DeleteResult",
    "PreparedCall",
    "RecordingResult",
    "StartOptions",
    "StopResult",
    "Trace",
    "conference_path",
    "parse_retry_fragment",
    "plivo_time",
    "recording_windows",
    "check_text",
    "validate_conference_name",
    "validate_list_filters",
    "validate_start_options",
]

FILE_FORMATS = ("mp3", "wav")
TRANSCRIPTION_TYPES = ("auto",)
CALLBACK_METHODS = ("GET", "POST")
START_OPTIONS = ("file_format", "transcription_type", "transcription_url", "callback_url",
                 "callback_method")

#: Plivo's callback-retry fragment (``https://host/cb#ct=2000&rc=3``): key -> allowed int range.
RETRY_FRAGMENT_RANGES = {"ct": (100, 10_000), "rt": (100, 40_000), "tt": (100, 55_000),
                         "rc": (0, 5)}
RETRY_FRAGMENT_KEYS = ("ct", "rt", "tt", "rc", "rp", "er")
RETRY_ON_VALUES = ("4xx", "5xx", "ct", "rt", "all")

#: Longest ``add_time`` range the Recording list API accepts in one query.
MAX_LIST_WINDOW = timedelta(days=30)
#: The Recording list API's default look-back, used when ``since`` is not given.
DEFAULT_LIST_LOOKBACK = timedelta(days=7)
MAX_PAGE_SIZE = 20

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_REGION = re.compile(r"^[A-Za-z0-9_-]+$")
_JSON_HEADERS = {"Content-Type": "application/json"}


# -- validation ------------------------------------------------------------------------------------

def _show_url(url: str) -> str:
    """``url`` with any password in it masked, for messages and the journal."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))
    except ValueError:
        return url


#: Longest conference name the clients send, counted in bytes once percent-encoded into the
#: request URL (``caf\u00e9`` is ``caf%C3%A9``: 9 bytes; an emoji takes 12). Plivo documents no
#: limit, while HTTP servers and proxies refuse request lines past 8 KB (nginx's and Apache's
#: defaults) and httpx refuses URLs past 64 KB; 4 KB keeps every Record and Recording list URL
#: well inside all of them: 4,096 ASCII letters, 682 accented letters or 341 emoji.
MAX_CONFERENCE_NAME_BYTES = 4096


def _brief(text: str, limit: int = 60) -> str:
    """``repr(text)``, cut to about ``limit`` characters, for messages about long values."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"


def check_text(text: str, *, field: str) -> None:
    """A :class:`ValidationError` naming ``field`` unless ``text`` can be sent as UTF-8.

    Python holds text that was not valid UTF-8 (``sys.argv`` from a shell in another encoding,
    a file read with ``errors="surrogateescape"``) as lone surrogates, which no request can
    carry: say which byte it was rather than fail while encoding the request.

    >>> check_text("caf\\udce9", field="conference_name")
    Traceback (most recent call last):
    ...
    recording_toolkit.errors.ValidationError: conference_name: 'caf\\udce9' is not valid Unicode text: character 4 stands for the byte 0xe9, which is not UTF-8 (text in another encoding, such as Latin-1?); give the text as UTF-8
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(text[exc.start])
        if 0xDC80 <= code <= 0xDCFF:
            what = (f"stands for the byte 0x{code - 0xDC00:02x}, which is not UTF-8 (text in"
                    " another encoding, such as Latin-1?)")
        else:
            what = f"is a lone surrogate (U+{code:04X}), which is not a character"
        raise ValidationError(field, f"{_brief(text)} is not valid Unicode text: character"
                              f" {exc.start + 1} {what}; give the text as UTF-8",
                              value=text, allowed="valid Unicode text") from None


def validate_conference_name(name: object, *, field: str = "conference_name") -> str:
    """``name`` if Plivo could take it as a conference name, else a :class:`ValidationError`.

    A name must be valid Unicode text, not blank, free of control characters and at most
    :data:`MAX_CONFERENCE_NAME_BYTES` bytes once percent-encoded into the URL.

    >>> validate_conference_name("   ")
    Traceback (most recent call last):
    ...
    recording_toolkit.errors.ValidationError: conference_name: is empty; give the name of a live conference
    >>> validate_conference_name("x" * 5000)
    Traceback (most recent call last):
    ...
    recording_toolkit.errors.ValidationError: conference_name: is too long: its 5,000 characters take 5,000 bytes percent-encoded in the request URL; the limit is 4,096 bytes, which keeps the URL inside what HTTP servers and proxies accept
    """
    if not isinstance(name, str):
        raise ValidationError(field, f"{_brief(repr(name))} is not a string", value=name,
                              allowed="a text name")
    check_text(name, field=field)
    if not name.strip():
        raise ValidationError(field, "is empty; give the name of a live conference", value=name,
                              allowed="a non-empty name")
    encoded = len(_segment(name))
    if encoded > MAX_CONFERENCE_NAME_BYTES:
        raise ValidationError(
            field, f"is too long: its {len(name):,} characters take {encoded:,} bytes"
            f" percent-encoded in the request URL; the limit is {MAX_CONFERENCE_NAME_BYTES:,}"
            " bytes, which keeps the URL inside what HTTP servers and proxies accept",
            value=name, allowed=f"at most {MAX_CONFERENCE_NAME_BYTES} bytes percent-encoded")
    if _CONTROL.search(name):
        raise ValidationError(field, f"{_brief(name)} contains control characters", value=name,
                              allowed="printable text")
    return name


def parse_retry_fragment(fragment: str, *, field: str = "callback_url") -> dict[str, str]:
    """Check a callback URL's retry fragment (``ct=2000&rc=3&rp=ct,rt``) against Plivo's table.

    Returns the settings as a dict; unknown or repeated keys and out-of-range values raise
    :class:`ValidationError` naming ``field``, the key and what is allowed.

    >>> parse_retry_fragment("ct=2000&rc=3&rp=ct,rt,5xx")
    {'ct': '2000', 'rc': '3', 'rp': 'ct,rt,5xx'}
    >>> parse_retry_fragment("rc=9")
    Traceback (most recent call last):
    ...
    recording_toolkit.errors.ValidationError: callback_url: callback-retry setting rc=9 is out of range; rc (retry count) must be a whole number from 0 to 5
    """
    settings: dict[str, str] = {}
    if not fragment:
        return settings
    names = {"ct": "connect timeout, ms", "rt": "read timeout, ms",
             "tt": "total timeout incl. retries, ms", "rc": "retry count"}
    for pair in fragment.split("&"):
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValidationError(
                field, f"callback-retry setting {pair!r} is not key=value (e.g. #ct=2000&rc=3)",
                value=fragment, allowed=list(RETRY_FRAGMENT_KEYS))
        if key not in RETRY_FRAGMENT_KEYS:
            raise ValidationError(
                field, f"callback-retry setting {key!r} is unknown; allowed keys: "
                f"{', '.join(RETRY_FRAGMENT_KEYS)}", value=fragment,
                allowed=list(RETRY_FRAGMENT_KEYS))
        if key in settings:
            raise ValidationError(field, f"callback-retry setting {key!r} is given twice",
                                  value=fragment)
        if key in RETRY_FRAGMENT_RANGES:
            low, high = RETRY_FRAGMENT_RANGES[key]
            if not (value.isascii() and value.isdigit() and low <= int(value) <= high):
                raise ValidationError(
                    field, f"callback-retry setting {key}={value} is out of range; {key}"
                    f" ({names[key]}) must be a whole number from {low} to {high}",
                    value=fragment, allowed=(low, high))
        elif key == "rp":
            chosen = value.split(",")
            wrong = [c for c in chosen if c not in RETRY_ON_VALUES]
            if wrong:
                raise ValidationError(
                    field, f"callback-retry setting rp={value} has unknown condition(s)"
                    f" {wrong}; rp is a comma list of {', '.join(RETRY_ON_VALUES)}",
                    value=fragment, allowed=list(RETRY_ON_VALUES))
        elif not _REGION.match(value):  # er
            raise ValidationError(
                field, f"callback-retry setting er={value!r} is not a region; use nearest, local"
                " or a region name", value=fragment, allowed="nearest, local or a region name")
        settings[key] = value
    return settings


def validate_callback_url(url: object, *, field: str) -> str:
    """``url`` if it is an absolute http(s) URL with a valid callback-retry fragment."""
    allowed = "an absolute http(s) URL, e.g. https://example.com/callbacks/recording"
    if not isinstance(url, str):
        raise ValidationError(field, f"{url!r} is not a URL; expected {allowed}", value=url,
                              allowed=allowed)
    check_text(url, field=field)
    shown = _show_url(url)
    if not url or url != url.strip() or _CONTROL.search(url) or " " in url:
        raise ValidationError(field, f"{shown!r} contains spaces or control characters; expected"
                              f" {allowed}", value=shown, allowed=allowed)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise ValidationError(field, f"{shown!r} is not a valid URL ({exc})", value=shown,
                              allowed=allowed) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValidationError(field, f"{shown!r} is not {allowed}", value=shown, allowed=allowed)
    parse_retry_fragment(parts.fragment, field=field)
    return url


@dataclass(frozen=True, slots=True)
class StartOptions:
    """Validated options of one start-recording request (see :func:`validate_start_options`)."""

    file_format: str = "mp3"
    transcription_type: str | None = None
    transcription_url: str | None = None
    callback_url: str | None = None
    callback_method: str = "POST"

    def body(self, conference_name: str) -> dict[str, str]:
        """The JSON body: the SDK's shape (``conference_name`` repeated, unset options left out).

        ``callback_method`` is sent only with a ``callback_url``; on its own it means nothing.
        """
        body = {"conference_name": conference_name, "file_format": self.file_format}
        if self.transcription_type is not None:
            body["transcription_type"] = self.transcription_type
            body["transcription_url"] = self.transcription_url  # type: ignore[assignment]
        if self.callback_url is not None:
            body["callback_url"] = self.callback_url
            body["callback_method"] = self.callback_method
        return body

    def journal_options(self) -> dict[str, str | None]:
        """The options as the journal records them (passwords in URLs masked)."""
        return {
            "file_format": self.file_format,
            "transcription_type": self.transcription_type,
            "transcription_url": None if self.transcription_url is None
            else _show_url(self.transcription_url),
            "callback_url": None if self.callback_url is None else _show_url(self.callback_url),
            "callback_method": self.callback_method,
        }


def validate_start_options(*, file_format: object = "mp3", transcription_type: object = None,
                           transcription_url: object = None, callback_url: object = None,
                           callback_method: object = "POST") -> StartOptions:
    """Check start-recording options the way Plivo would, before anything is sent.

    ``file_format`` and ``callback_method`` are case-insensitive and normalised (``"WAV"`` ->
    ``"wav"``, ``"get"`` -> ``"GET"``). Transcription needs both ``transcription_type="auto"``
    and a ``transcription_url``. Each failure is a :class:`ValidationError` naming the field and
    what is allowed.
    """
    if not isinstance(file_format, str) or file_format.lower() not in FILE_FORMATS:
        raise ValidationError("file_format", f"{file_format!r} is not a recording format; use"
                              " 'mp3' or 'wav' (case-insensitive)", value=file_format,
                              allowed=FILE_FORMATS)
    if transcription_type is not None and (
            not isinstance(transcription_type, str)
            or transcription_type.lower() not in TRANSCRIPTION_TYPES):
        raise ValidationError("transcription_type", f"{transcription_type!r} is not supported;"
                              " the only transcription type is 'auto' (or None for no"
                              " transcription)", value=transcription_type,
                              allowed=TRANSCRIPTION_TYPES)
    if not isinstance(callback_method, str) or callback_method.upper() not in CALLBACK_METHODS:
        raise ValidationError("callback_method", f"{callback_method!r} is not allowed; use 'GET'"
                              " or 'POST'", value=callback_method, allowed=CALLBACK_METHODS)
    if transcription_url is not None:
        validate_callback_url(transcription_url, field="transcription_url")
        if transcription_type is None:
            raise ValidationError("transcription_url", "given without transcription_type='auto':"
                                  " Plivo would not transcribe, so nothing would be posted there",
                                  value=_show_url(str(transcription_url)),
                                  allowed="with transcription_type='auto'")
    elif transcription_type is not None:
        raise ValidationError("transcription_type", "'auto' needs a transcription_url (where"
                              " Plivo posts the transcript)", value=transcription_type,
                              allowed="with transcription_url")
    if callback_url is not None:
        validate_callback_url(callback_url, field="callback_url")
    return StartOptions(
        file_format=file_format.lower(),
        transcription_type=None if transcription_type is None else "auto",
        transcription_url=transcription_url,  # type: ignore[arg-type]
        callback_url=callback_url,  # type: ignore[arg-type]
        callback_method=callback_method.upper(),
    )


# -- URLs ------------------------------------------------------------------------------------------

def _segment(text: str) -> str:
    """``text`` percent-encoded as one URL path segment (``/``, ``?``, ``#``, ``%`` included)."""
    if text in (".", ".."):  # dot segments would be collapsed out of the path
        return text.replace(".", "%2E")
    return quote(text, safe="")


def conference_path(auth_id: str, conference_name: str) -> str:
    """The Record API path for a conference (relative to the base URL, trailing slash)."""
    return f"/v1/Account/{auth_id}/Conference/{_segment(conference_name)}/Record/"


# -- results ---------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RecordingResult:
    """Plivo's answer to a start-recording request (HTTP 202, or any 2xx): it started.

    ``recording_id`` joins this to the recording and transcription callbacks; ``api_id`` is the
    one the recording callback repeats. ``requested_at`` is when the call began (UTC).

    Plivo may accept a start without naming the recording (``{"api_id": ..., "message":
    "async api spawned"}``, as its other record APIs answer when a callback URL is given):
    ``recording_id`` and ``url`` are then None and :attr:`pending` is True; the recording
    callback names it later, and reconciliation matches that callback to this start by
    ``api_id``.
    """

    api_id: str | None
    message: str | None
    recording_id: str | None
    url: str | None
    conference_name: str
    requested_at: datetime

    @property
    def pending(self) -> bool:
        """True when the answer had no ``recording_id``: the id comes with the callback."""
        return self.recording_id is None

    def to_dict(self) -> dict[str, str | bool | None]:
        """Plain data (``requested_at`` as ISO 8601 text), e.g. for JSON; ``"pending": true``
        is added when the recording id is still to come."""
        data: dict[str, str | bool | None] = {
            "conference_name": self.conference_name, "recording_id": self.recording_id,
            "api_id": self.api_id, "message": self.message, "url": self.url,
            "requested_at": format_time(self.requested_at)}
        if self.pending:
            data["pending"] = True
        return data


#: What :meth:`delete_recording` found: deleted now, or gone already (404); ``would_delete`` is
#: a dry run's row, ``failed`` a bulk row whose delete raised.
DELETE_STATUSES = ("deleted", "already_deleted", "would_delete", "failed")


@dataclass(frozen=True, slots=True)
class DeleteResult:
    """The outcome of deleting one recording: it is gone.

    ``status`` is ``"deleted"`` (Plivo answered 2xx, normally 204) or ``"already_deleted"``
    (404: nothing by that id, so deleting again is safe and not an error). ``status_code`` is
    what Plivo answered; ``requested_at`` when the call began (UTC).
    """

    recording_id: str
    status: str
    status_code: int | None
    requested_at: datetime
    api_id: str | None = None

    @property
    def ok(self) -> bool:
        """Always True: a delete that failed raises instead of returning a result."""
        return True

    @property
    def already_deleted(self) -> bool:
        return self.status == "already_deleted"

    def to_dict(self) -> dict[str, str | int | bool | None]:
        """Plain data for JSON."""
        return {"recording_id": self.recording_id, "ok": True, "status": self.status,
                "status_code": self.status_code, "api_id": self.api_id,
                "requested_at": format_time(self.requested_at)}


@dataclass(frozen=True, slots=True)
class StopResult:
    """Plivo's answer to a stop-recording request: the recording was stopped.

    Plivo answers ``204 No Content``, usually with no body: ``api_id`` and ``message`` are then
    None (some answers carry them in a JSON body). ``status_code`` is the HTTP status it answered.
    """

    conference_name: str
    api_id: str | None
    message: str | None
    requested_at: datetime
    status_code: int = 204

    @property
    def stopped(self) -> bool:
        """Always True: a stop that failed raises instead of returning a result."""
        return True

    def to_dict(self) -> dict[str, str | int | bool | None]:
        """Plain data for JSON: what Plivo answered and nothing it did not.

        ``api_id`` and ``message`` appear only when Plivo's answer had them.

        >>> StopResult("weekly sync", None, None, datetime(2026, 11, 24, tzinfo=UTC)).to_dict()
        {'conference_name': 'weekly sync', 'stopped': True, 'status_code': 204, \
'requested_at': '2026-11-24T00:00:00.000000Z'}
        """
        data: dict[str, str | int | bool | None] = {
            "conference_name": self.conference_name, "stopped": True,
            "status_code": self.status_code}
        if self.api_id is not None:
            data["api_id"] = self.api_id
        if self.message is not None:
            data["message"] = self.message
        data["requested_at"] = format_time(self.requested_at)
        return data


@dataclass(frozen=True, slots=True)
class PreparedCall:
    """One validated request, ready to send as many times as the retry policy allows."""

    action: str                      # start | stop | list | get | delete
    method: str
    path: str
    content: bytes | None = None
    params: Mapping[str, str] | None = None
    conference_name: str | None = None
    options: StartOptions | None = None
    recording_id: str | None = None

    @property
    def headers(self) -> Mapping[str, str] | None:
        return _JSON_HEADERS if self.content is not None else None


class Trace:
    """What happened during one call: attempts, the last status, timing."""

    __slots__ = ("attempts", "requested_at", "started", "status", "uncertain")

    def __init__(self) -> None:
        self.attempts = 0
        self.status: int | None = None
        #: an attempt (not necessarily the last) may have been acted on by the server
        self.uncertain = False
        self.begin()

    def begin(self) -> None:
        """Start the clock: called when the first attempt is sent (after any rate-limit wait),
        so latency is the API's and the retries', not the queue's."""
        self.requested_at = datetime.now(UTC)
        self.started = time.perf_counter()

    @property
    def latency_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000.0


def _json(response: httpx.Response) -> Any:
    content = response.content
    if not content:
        return None
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _snippet(response: httpx.Response) -> str:
    text = response.text.strip()
    return text if len(text) <= 200 else text[:200] + "..."


# -- listing recordings ----------------------------------------------------------------------------

#: Text filters of the Recording list API (sent as given).
TEXT_FILTERS = ("conference_name", "conference_uuid", "call_uuid", "from_number", "to_number")
#: Time filters: sent in Plivo's ``YYYY-MM-DD HH:MM[:ss[.uuuuuu]]``, UTC.
TIME_FILTERS = ("add_time", "add_time__gt", "add_time__gte", "add_time__lt", "add_time__lte")
#: Whole-day filters on how long a recording has been stored (1 on its first day).
STORAGE_FILTERS = ("recording_storage_duration", "recording_storage_duration__gt",
                   "recording_storage_duration__gte", "recording_storage_duration__lt",
                   "recording_storage_duration__lte")
#: Every filter ``iter_recordings`` accepts, as the official SDK's ``recordings.list`` names them.
LIST_FILTERS = TEXT_FILTERS + TIME_FILTERS + STORAGE_FILTERS
_MAX_FILTER_TEXT = 512


def _utc(value: object, field: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(field, f"{value!r} is not an ISO date or time (e.g."
                                  " '2026-11-24' or '2026-11-24T10:00:00Z')", value=value) from None
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        raise ValidationError(field, f"{value!r} is not a datetime, date or ISO text", value=value)
    if value.tzinfo is None:  # the Recording API filters in UTC; naive means UTC
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _plivo_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def plivo_time(value: object, *, field: str = "add_time") -> str:
    """``value`` (datetime, date or ISO text; naive means UTC) as a Recording list time filter.

    Plivo takes ``YYYY-MM-DD HH:MM[:ss[.uuuuuu]]`` in UTC: seconds always, microseconds only
    when there are some, so the filter means exactly the moment given.

    >>> plivo_time("2026-11-24T12:30:00+02:00")
    '2026-11-24 10:30:00'
    >>> plivo_time(datetime(2026, 11, 24, 10, 30, 5, 250))
    '2026-11-24 10:30:05.000250'
    """
    moment = _utc(value, field)
    text = _plivo_time(moment)
    return f"{text}.{moment.microsecond:06d}" if moment.microsecond else text


def validate_list_filters(filters: Mapping[str, object]) -> dict[str, str]:
    """The Recording list API query parameters for ``filters``, each checked and serialised.

    An unknown filter name is a :class:`ValidationError` naming it and the allowed ones (a typo
    must not silently widen the listing to every recording). None means "not given". Text
    filters must be non-empty printable text; time filters are serialised by
    :func:`plivo_time`; ``recording_storage_duration`` filters are whole days >= 0.

    >>> validate_list_filters({"add_time__gte": "2026-11-01", "recording_storage_duration__gt": 90})
    {'add_time__gte': '2026-11-01 00:00:00', 'recording_storage_duration__gt': '90'}
    >>> validate_list_filters({"conference": "x"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    recording_toolkit.errors.ValidationError: conference: is not a Recording list filter; allowed: conference_name, conference_uuid, ...
    """
    unknown = sorted(set(filters) - set(LIST_FILTERS))
    if unknown:
        raise ValidationError(unknown[0], f"is not a Recording list filter; allowed:"
                              f" {', '.join(LIST_FILTERS)}", value=filters[unknown[0]],
                              allowed=LIST_FILTERS)
    params: dict[str, str] = {}
    for name in LIST_FILTERS:
        value = filters.get(name)
        if value is None:
            continue
        if name == "conference_name":
            params[name] = validate_conference_name(value)
        elif name in TEXT_FILTERS:
            params[name] = _filter_text(value, name)
        elif name in TIME_FILTERS:
            params[name] = plivo_time(value, field=name)
        else:
            if (isinstance(value, bool) or not isinstance(value, int | str)
                    or (isinstance(value, str) and not (value.isascii() and value.isdigit()))
                    or int(value) < 0):
                raise ValidationError(name, f"{_brief(repr(value))} is not a whole number of"
                                      " days >= 0", value=value, allowed="a whole number >= 0")
            params[name] = str(int(value))
    return params


def _filter_text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, f"{_brief(repr(value))} is not text", value=value,
                              allowed="text")
    check_text(value, field=field)
    if not value.strip() or _CONTROL.search(value) or len(value) > _MAX_FILTER_TEXT:
        raise ValidationError(field, f"{_brief(value)} is empty, too long or contains control"
                              f" characters; give printable text of at most {_MAX_FILTER_TEXT}"
                              " characters", value=value, allowed="printable text")
    return value


def recording_windows(since: object = None, until: object = None, *,
                      now: datetime | None = None) -> list[tuple[str, str]]:
    """``(add_time__gte, add_time__lt)`` pairs of at most 30 days covering ``since``..``until``.

    Naive times are UTC; ``since`` defaults to 7 days before ``until`` (default: now). The ends are
    widened to whole seconds (Plivo's ``YYYY-MM-DD HH:MM:SS``), so nothing in the range is missed.

    >>> recording_windows("2026-01-01", "2026-03-01")
    [('2026-01-01 00:00:00', '2026-01-31 00:00:00'), ('2026-01-31 00:00:00', '2026-03-01 00:00:00')]
    """
    end = _utc(until, "until") if until is not None else (now or datetime.now(UTC))
    start = _utc(since, "since") if since is not None else end - DEFAULT_LIST_LOOKBACK
    start = start.replace(microsecond=0)
    if end.microsecond:
        end = end.replace(microsecond=0) + timedelta(seconds=1)
    if start >= end:
        raise ValidationError("since", f"{_plivo_time(start)} is not before until"
                              f" ({_plivo_time(end)})", value=since)
    windows = []
    while start < end:
        stop = min(start + MAX_LIST_WINDOW, end)
        windows.append((_plivo_time(start), _plivo_time(stop)))
        start = stop
    return windows


def _next_page(params: Mapping[str, str], next_url: object,
               count: int) -> dict[str, str] | None:
    """The next page's query from ``meta.next``, followed as given, or None at the end.

    ``meta.next`` is a URL whose query carries an opaque ``cursor`` or a plain ``offset`` (and
    perhaps a new ``limit``), as the official SDK's pager reads it (``plivo/base.py``
    ``_next_page_params``). A cursor replaces the offset (sending both would pin some servers
    to the first page); a ``next`` with neither moves the offset on by the page's size when
    walking by offset, and ends a cursor walk. An offset that is not a number ends the walk.
    """
    if not next_url:
        return None
    query = parse_qs(urlsplit(str(next_url)).query)
    following = dict(params)
    limit = query.get("limit", [None])[0]
    if limit is not None and limit.isascii() and limit.isdigit() \
            and 1 <= int(limit) <= MAX_PAGE_SIZE:
        following["limit"] = str(int(limit))
    cursor = query.get("cursor", [None])[0]
    if cursor:
        following.pop("offset", None)
        following["cursor"] = cursor
        return following
    offset = query.get("offset", [None])[0]
    if offset is not None:
        if not (offset.isascii() and offset.isdigit()):
            return None
        following["offset"] = str(int(offset))
        return following
    if "cursor" in params or "offset" not in params:
        return None
    following["offset"] = str(int(params["offset"]) + count)
    return following


class RecordingPager:
    """Walks the Recording list API: per window (or once, with no window), page after page.

    :meth:`first` gives the first call; :meth:`feed` takes a page's JSON and returns the new
    recordings on it plus the next call (or None at the end). Pages are followed through
    ``meta.next`` as given, by offset or by cursor (see :func:`_next_page`); a window ends when
    ``next`` is null, the page is empty, or ``next`` names a page already asked for (a server
    that repeats itself is never followed round in a loop). A recording seen twice (the list
    shifted while paging) is yielded once.

    ``windows`` are ``(add_time__gte, add_time__lt)`` pairs (see :func:`recording_windows`);
    ``[None]`` means one walk with ``filters`` alone.
    """

    def __init__(self, auth_id: str, windows: list[tuple[str, str]] | list[None], *,
                 conference_name: str | None = None, limit: int,
                 filters: Mapping[str, str] | None = None) -> None:
        self._path = f"/v1/Account/{auth_id}/Recording/"
        self._windows = list(windows)
        self._filters = dict(filters or {})
        if conference_name is not None:
            self._filters["conference_name"] = conference_name
        self._limit = limit
        self._window = 0
        self._seen: set[str] = set()
        self._asked: set[tuple[tuple[str, str], ...]] = set()

    def _call(self, params: dict[str, str]) -> PreparedCall:
        self._asked.add(tuple(sorted(params.items())))
        return PreparedCall("list", "GET", self._path, params=params)

    def _window_call(self) -> PreparedCall | None:
        if self._window >= len(self._windows):
            return None
        window = self._windows[self._window]
        params: dict[str, str] = {}
        if window is not None:
            params.update({"add_time__gte": window[0], "add_time__lt": window[1]})
        params.update({"limit": str(self._limit), "offset": "0"})
        params.update(self._filters)
        self._asked.clear()
        return self._call(params)

    def first(self) -> PreparedCall | None:
        return self._window_call()

    def feed(self, call: PreparedCall, body: Any) -> tuple[list[dict[str, Any]], PreparedCall | None]:
        if not isinstance(body, dict) or not isinstance(body.get("objects"), list):
            raise PlivoAPIError(f"the Recording list API answered without an 'objects' list:"
                                f" {str(body)[:200]}", api_id=_text(
                                    body.get("api_id")) if isinstance(body, dict) else None,
                                method="GET")
        fresh = []
        for obj in body["objects"]:
            if not isinstance(obj, dict):
                continue
            rid = obj.get("recording_id")
            if isinstance(rid, str):
                if rid in self._seen:
                    continue
                self._seen.add(rid)
            fresh.append(obj)
        meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
        following = None
        if body["objects"]:
            following = _next_page(call.params or {}, meta.get("next"), len(body["objects"]))
        if following is not None and tuple(sorted(following.items())) not in self._asked:
            return fresh, self._call(following)
        self._window += 1
        return fresh, self._window_call()


# -- bulk ------------------------------------------------------------------------------------------

#: Columns and dtypes of the frame ``start_recordings`` returns.
BULK_COLUMNS: Mapping[str, str] = {
    "conference_name": "string", "ok": "boolean", "recording_id": "string", "api_id": "string",
    "url": "string", "error_type": "string", "error": "string", "attempts": "Int64",
    "latency_ms": "Float64",
}

BulkRow = tuple[Any, ...]

#: Columns and dtypes of the frame ``delete_recordings`` returns (``status``: see
#: :data:`DELETE_STATUSES`; ``error`` is the exception's type and text when it failed).
DELETE_COLUMNS: Mapping[str, str] = {
    "recording_id": "string", "ok": "boolean", "status": "string", "status_code": "Int64",
    "error": "string",
}


def _bulk_items(items: Any) -> list[Any]:
    """``items`` as a list; a DataFrame gives one dict per row (missing cells left out)."""
    import pandas as pd

    if isinstance(items, pd.DataFrame):
        return [{k: v for k, v in row.items() if not _missing(v)}
                for row in items.to_dict("records")]
    if isinstance(items, str | bytes | Mapping):
        raise TypeError("items: give a list of conference names or of dicts of options, not a"
                        f" single {type(items).__name__}")
    return list(items)


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _bulk_frame(rows: list[BulkRow]) -> pd.DataFrame:
    return _typed_frame(rows, BULK_COLUMNS)


def _typed_frame(rows: list[BulkRow], spec: Mapping[str, str]) -> pd.DataFrame:
    import pandas as pd

    string = pd.StringDtype("pyarrow")
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(spec)
    data = {}
    for (name, dtype), values in zip(spec.items(), columns, strict=True):
        pinned = string if dtype == "string" else dtype
        data[name] = pd.array(list(values), dtype=pinned)
    return pd.DataFrame(data)


# -- the journal -----------------------------------------------------------------------------------

def _open_journal(journal: object) -> tuple[RequestJournal | None, bool]:
    """The client's journal, checked now, and whether the client owns (and so closes) it.

    Opening it when the client is made means a journal that cannot be written (a folder, a path
    through a file, no permission) is a :class:`ConfigurationError` naming ``journal`` before
    any request, never a recording started with nowhere to record it. Missing folders are
    created, as the ``--journal`` flag of the commands does.
    """
    if journal is None:
        return None, False
    if isinstance(journal, RequestJournal):
        return journal.open(), False
    if not isinstance(journal, str | os.PathLike):
        raise ConfigurationError(f"journal: {journal!r} is not a path; give a file path such as"
                                 " 'logs/journal.jsonl' or a RequestJournal")
    try:
        opened = RequestJournal(journal)
    except (TypeError, ValueError) as exc:  # a path-like whose __fspath__ is not text
        raise ConfigurationError(f"journal: {journal!r} is not a usable path: {exc}") from None
    return opened.open(), True


# -- the shared client -----------------------------------------------------------------------------

class BaseRecordingClient:
    """Everything the sync and async Plivo Record API clients share; no I/O of its own.

    See :class:`recording_toolkit.client.RecordingClient` for the parameters.
    """


    def __init__(self, auth_id: str | None = None, auth_token: str | None = None, *,
                 base_url: str | None = None, timeout: float = 10.0,
                 max_retries: int | RetryPolicy = 3,
                 rate_limit: tuple[int, float] | RateLimiter | None = DEFAULT_RATE_LIMIT,
                 transport: Any = None,
                 journal: str | os.PathLike[str] | RequestJournal | None = None,
                 environ: Mapping[str, str] | None = None, retry_unsafe: bool = False) -> None:
        credentials = resolve_credentials(auth_id, auth_token, environ=environ)
        self.auth_id = credentials.auth_id
        self.base_url = resolve_base_url(base_url, environ=environ)
        if (not isinstance(timeout, int | float) or isinstance(timeout, bool)
                or not math.isfinite(timeout) or timeout <= 0):
            raise ConfigurationError(f"timeout: {timeout!r} is not a number of seconds > 0")
        self.timeout = float(timeout)
        if isinstance(max_retries, RetryPolicy):
            policy = max_retries
            if retry_unsafe and not policy.retry_unsafe:
                policy = replace(policy, retry_unsafe=True)
        else:
            policy = RetryPolicy(max_retries=max_retries, retry_unsafe=bool(retry_unsafe))
        self.retry_policy = policy
        self.rate_limiter = RateLimiter.from_setting(rate_limit)
        try:
            userpass = f"{credentials.auth_id}:{credentials.auth_token}".encode()
        except UnicodeEncodeError:  # the token itself is never shown
            raise ConfigurationError("auth_token: is not valid Unicode text (bytes that are not"
                                     " UTF-8?); check PLIVO_AUTH_TOKEN") from None
        token = base64.b64encode(userpass).decode()
        self._http_options: dict[str, Any] = {
            "base_url": self.base_url,
            "headers": {
                "Authorization": f"Basic {token}",
                "Accept": "application/json",
                "User-Agent": (f"recording_toolkit/{__version__} ({httpx.__name__}/{httpx.__version__};"
                               f" Python {platform.python_version()})"),
            },
            "timeout": self.timeout,
            "limits": httpx.Limits(max_connections=100, max_keepalive_connections=100),
            "follow_redirects": False,
            "transport": transport,
        }
        self._host = urlsplit(self.base_url).hostname or self.base_url
        self._closed = False
        self.journal, self._owns_journal = _open_journal(journal)  # last: nothing else can fail

    def _close_journal(self) -> None:
        if self._owns_journal and self.journal is not None:
            self.journal.close()

    def _ensure_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"this {type(self).__name__} is closed; create a new one (or use"
                               " it inside its `with` block)")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(auth_id={self.auth_id!r}, base_url={self.base_url!r})"

    # requests ------------------------------------------------------------------------------------

    def _prepare_start(self, conference_name: object, **options: Any) -> PreparedCall:
        self._ensure_open()
        name = validate_conference_name(conference_name)
        opts = validate_start_options(**options)
        content = json.dumps(opts.body(name), ensure_ascii=False, separators=(",", ":")).encode()
        return PreparedCall("start", "POST", conference_path(self.auth_id, name), content=content,
                            conference_name=name, options=opts)

    def _prepare_stop(self, conference_name: object) -> PreparedCall:
        self._ensure_open()
        name = validate_conference_name(conference_name)
        content = json.dumps({"conference_name": name}, ensure_ascii=False,
                             separators=(",", ":")).encode()
        return PreparedCall("stop", "DELETE", conference_path(self.auth_id, name), content=content,
                            conference_name=name)

    def _prepare_get(self, recording_id: object) -> PreparedCall:
        self._ensure_open()
        rid = validate_conference_name(recording_id, field="recording_id")
        return PreparedCall("get", "GET", f"/v1/Account/{self.auth_id}/Recording/{_segment(rid)}/")

    def _prepare_get_transcription(self, recording_id: object) -> PreparedCall:
        # Plivo's Transcription resource is addressed by the recording's id (docs/plivo.md)
        self._ensure_open()
        rid = validate_conference_name(recording_id, field="recording_id")
        return PreparedCall("get", "GET",
                            f"/v1/Account/{self.auth_id}/Transcription/{_segment(rid)}/")

    def _prepare_delete(self, recording_id: object) -> PreparedCall:
        self._ensure_open()
        rid = validate_conference_name(recording_id, field="recording_id")
        return PreparedCall("delete", "DELETE",
                            f"/v1/Account/{self.auth_id}/Recording/{_segment(rid)}/",
                            recording_id=rid)

    def _pager(self, *, since: object, until: object, limit: object,
               filters: Mapping[str, object]) -> RecordingPager:
        """Check every listing argument now (no I/O) and return the pager for them.

        ``since``/``until`` are split into windows of at most 30 days; an ``add_time`` filter
        instead asks exactly what it says, so the two cannot be mixed.
        """
        self._ensure_open()
        if (not isinstance(limit, int) or isinstance(limit, bool)
                or not 1 <= limit <= MAX_PAGE_SIZE):
            raise ValidationError("limit", f"{limit!r} is not a page size from 1 to"
                                  f" {MAX_PAGE_SIZE} (Plivo's maximum)", value=limit,
                                  allowed=(1, MAX_PAGE_SIZE))
        params = validate_list_filters(filters)
        timed = [name for name in TIME_FILTERS if name in params]
        if timed and (since is not None or until is not None):
            field = "since" if since is not None else "until"
            raise ValidationError(field, f"give either since/until (split into windows of at"
                                  f" most 30 days) or {timed[0]}, not both",
                                  value=since if since is not None else until)
        low = next((params[n] for n in ("add_time__gte", "add_time__gt") if n in params), None)
        high = next((params[n] for n in ("add_time__lt", "add_time__lte") if n in params), None)
        if low is not None and high is not None and \
                _utc(high, "add_time__lt") - _utc(low, "add_time__gt") > MAX_LIST_WINDOW:
            name = "add_time__gte" if "add_time__gte" in params else "add_time__gt"
            raise ValidationError(name, f"{low} .. {high} is more than 30 days, which Plivo"
                                  " refuses; give since/until instead (listed in windows of at"
                                  " most 30 days)", value=filters.get(name))
        windows: list[tuple[str, str]] | list[None] = (
            [None] if timed else recording_windows(since, until))
        return RecordingPager(self.auth_id, windows, limit=limit, filters=params)

    # answers -------------------------------------------------------------------------------------

    def _assess_response(self, call: PreparedCall, trace: Trace,
                         response: httpx.Response) -> tuple[PlivoAPIError, float | None]:
        """The error for an error status, and the wait before retrying (None: do not)."""
        status = response.status_code
        trace.status = status
        body = _json(response)
        retry_after = parse_retry_after(response.headers.get("Retry-After"),
                                        now=self.retry_policy.wall_clock())
        if isinstance(body, dict) and body.get("error") not in (None, "", []):
            text = body["error"]
        elif isinstance(body, dict) and body.get("message"):
            text = body["message"]
        elif response.content and not response.text.lstrip().startswith("<"):
            text = _snippet(response)
        else:
            text = response.reason_phrase or "no error text"
        if call.action == "start" and may_have_been_processed(status, retry_after):
            trace.uncertain = True
        may_have_started = trace.uncertain  # this attempt or an earlier, retried one
        error = api_error_for_status(status)(
            text, status_code=status,
            api_id=_text(body.get("api_id")) if isinstance(body, dict) else None,
            conference_name=call.conference_name, method=call.method, retry_after=retry_after,
            may_have_started=may_have_started)
        delay = self.retry_policy.delay(call.action, trace.attempts, status=status,
                                        retry_after=retry_after)
        return error, delay

    def _assess_transport(self, call: PreparedCall, trace: Trace,
                          exc: Exception) -> tuple[TransportError, float | None]:
        """The toolkit error for any httpx failure while sending (transport, decoding, ...),
        and the wait before retrying."""
        trace.status = None
        detail = str(exc) or type(exc).__name__
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout
                      | httpx.UnsupportedProtocol):
            failure = NOT_SENT
            cls: type[TransportError] = ConnectError
            message = f"could not connect to {self._host}: {detail}"
        elif isinstance(exc, httpx.TimeoutException):
            failure, cls = SENT, TimeoutError
            message = f"no answer from {self._host} within {self.timeout:g} s ({type(exc).__name__})"
        elif isinstance(exc, httpx.TransportError):
            failure, cls = SENT, TransportError
            message = (f"the connection to {self._host} failed after the request was sent"
                       f" ({type(exc).__name__}: {detail})")
        else:  # DecodingError, a stream error, ...: the request went out, the answer is unusable
            failure, cls = SENT, TransportError
            message = (f"the answer from {self._host} could not be read"
                       f" ({type(exc).__name__}: {detail})")
        if call.action == "start" and failure == SENT:
            trace.uncertain = True
        error = cls(message, conference_name=call.conference_name, method=call.method,
                    may_have_started=trace.uncertain)
        return error, self.retry_policy.delay(call.action, trace.attempts, transport=failure)

    def _build_request(self, call: PreparedCall) -> httpx.Request:
        """The httpx request for ``call``; any failure here means nothing was sent.

        Options are validated before a call is prepared, so this fails only for what validation
        cannot foresee; it is still a toolkit error, and one that never says the recording may
        have started.
        """
        try:
            return self._http.build_request(  # type: ignore[attr-defined, no-any-return]
                call.method, call.path, content=call.content, params=call.params,
                headers=call.headers)
        except (httpx.InvalidURL, httpx.HTTPError, ValueError) as exc:
            field = "conference_name" if call.conference_name is not None else "request"
            raise ValidationError(
                field, f"cannot make the {call.method} request to {self._host}"
                f" ({type(exc).__name__}: {exc}); nothing was sent",
                value=call.conference_name) from None

    def _start_result(self, call: PreparedCall, trace: Trace,
                      response: httpx.Response) -> RecordingResult:
        """Any 2xx means Plivo took the start; an answer without ``recording_id`` (or without
        a JSON body) is a started recording whose id is pending (see :class:`RecordingResult`)."""
        trace.status = response.status_code
        body = _json(response)
        body = body if isinstance(body, dict) else {}
        rid = body.get("recording_id")
        assert call.conference_name is not None
        return RecordingResult(api_id=_text(body.get("api_id")), message=_text(body.get("message")),
                               recording_id=rid if isinstance(rid, str) and rid else None,
                               url=_text(body.get("url")) or None,
                               conference_name=call.conference_name,
                               requested_at=trace.requested_at)

    def _delete_result(self, call: PreparedCall, trace: Trace,
                       response: httpx.Response | None) -> DeleteResult:
        """``response`` None: Plivo answered 404, the recording is already gone."""
        assert call.recording_id is not None
        if response is not None:
            trace.status = response.status_code
        body = _json(response) if response is not None else None
        return DeleteResult(
            recording_id=call.recording_id,
            status="deleted" if response is not None else "already_deleted",
            status_code=trace.status, requested_at=trace.requested_at,
            api_id=_text(body.get("api_id")) if isinstance(body, dict) else None)

    def _stop_result(self, call: PreparedCall, trace: Trace,
                     response: httpx.Response) -> StopResult:
        trace.status = response.status_code
        body = _json(response)
        body = body if isinstance(body, dict) else {}
        assert call.conference_name is not None
        return StopResult(conference_name=call.conference_name, api_id=_text(body.get("api_id")),
                          message=_text(body.get("message")), requested_at=trace.requested_at,
                          status_code=response.status_code)

    def _json_object(self, call: PreparedCall, response: httpx.Response) -> dict[str, Any]:
        body = _json(response)
        if not isinstance(body, dict):
            raise PlivoAPIError(f"expected a JSON object, got: {_snippet(response) or 'empty body'}",
                                status_code=response.status_code, method=call.method)
        return body

    # journal -------------------------------------------------------------------------------------

    def _record(self, call: PreparedCall, trace: Trace, *,
                result: RecordingResult | StopResult | DeleteResult | None = None,
                error: BaseException | None = None) -> None:
        """Append the call's outcome to the journal (start, stop and delete; never raises for
        I/O). A delete's line names its ``recording_id`` and has no conference or options; a
        404 is journalled as ``ok`` (already deleted) with ``status`` 404.

        A call that failed before its first attempt was sent (the request could not be built,
        an interrupt while waiting for the rate limit) asked Plivo nothing, so, like a call
        refused by validation, it is not journalled: every line is a request the client set out
        to send.
        """
        if (self.journal is None or call.action not in ("start", "stop", "delete")
                or trace.attempts == 0):
            return
        if error is None or call.action == "delete":
            may_have_started = False
        else:
            # an interrupted start that got as far as sending may have started a recording
            may_have_started = trace.uncertain or getattr(
                error, "may_have_started", call.action == "start")
        record = journal_record(
            time=format_time(trace.requested_at), action=call.action,
            conference_name=None if call.action == "delete" else call.conference_name or "",
            options=call.options.journal_options() if call.options else None,
            ok=error is None, status=trace.status,
            api_id=getattr(result if error is None else error, "api_id", None),
            recording_id=call.recording_id or getattr(result, "recording_id", None),
            error_type=None if error is None else type(error).__name__,
            error=None if error is None else (str(error) or type(error).__name__),
            may_have_started=bool(may_have_started), attempts=trace.attempts,
            latency_ms=trace.latency_ms)
        try:
            self.journal.append(record)
        except (OSError, ValueError) as exc:
            what = call.recording_id if call.action == "delete" else call.conference_name
            warnings.warn(f"request journal {os.fspath(self.journal.path)!r}: could not record"
                          f" the {call.action} of {what!r}: {exc}",
                          RuntimeWarning, stacklevel=4)

    # bulk ----------------------------------------------------------------------------------------

    def _prepare_bulk(self, items: Any, defaults: Mapping[str, Any],
                      concurrency: object) -> list[tuple[Any, PreparedCall | Exception]]:
        """Validate every item up front (no I/O): ``(name, call or the item's error)`` per item."""
        self._ensure_open()
        unknown = sorted(set(defaults) - set(START_OPTIONS))
        if unknown:
            raise TypeError(f"start_recordings() got unexpected option(s) {unknown}; options are"
                            f" {', '.join(START_OPTIONS)}")
        if (not isinstance(concurrency, int) or isinstance(concurrency, bool)
                or concurrency < 1):
            raise ValidationError("concurrency", f"{concurrency!r} is not a whole number >= 1",
                                  value=concurrency)
        prepared: list[tuple[Any, PreparedCall | Exception]] = []
        for item in _bulk_items(items):
            if isinstance(item, Mapping):
                name = item.get("conference_name")
                extra = sorted(set(item) - {"conference_name", *START_OPTIONS})
            else:
                name, extra = item, []
            try:
                if extra:
                    raise ValidationError(extra[0], f"unknown option; options are"
                                          f" conference_name, {', '.join(START_OPTIONS)}")
                if isinstance(item, Mapping):
                    options = {**defaults, **{k: v for k, v in item.items()
                                              if k != "conference_name"}}
                else:
                    options = dict(defaults)
                prepared.append((name, self._prepare_start(name, **options)))
            except ValidationError as exc:
                prepared.append((name, exc))
        return prepared

    @staticmethod
    def _bulk_row(name: Any, outcome: RecordingResult | BaseException,
                  trace: Trace | None) -> BulkRow:
        # text that is not valid Unicode cannot be stored in the frame's column: escape it
        shown = (name.encode("utf-8", "backslashreplace").decode("utf-8")
                 if isinstance(name, str) else None)
        if isinstance(outcome, RecordingResult):
            assert trace is not None
            return (outcome.conference_name, True, outcome.recording_id, outcome.api_id,
                    outcome.url, None, None, trace.attempts, trace.latency_ms)
        api_id = getattr(outcome, "api_id", None)
        if trace is None:  # rejected before sending
            return (shown, False, None, None, None, type(outcome).__name__, str(outcome), 0, None)
        return (shown, False, None, api_id, None, type(outcome).__name__,
                str(outcome) or type(outcome).__name__, trace.attempts, trace.latency_ms)

    @staticmethod
    def _bulk_frame(rows: list[BulkRow]) -> pd.DataFrame:
        return _bulk_frame(rows)

    def _prepare_deletes(self, ids: Any,
                         concurrency: object) -> list[tuple[Any, PreparedCall | Exception]]:
        """Validate every id up front (no I/O): ``(id, call or the id's error)`` per id."""
        self._ensure_open()
        if isinstance(ids, str | bytes | Mapping):
            raise TypeError("ids: give a list of recording ids, not a single"
                            f" {type(ids).__name__}")
        if (not isinstance(concurrency, int) or isinstance(concurrency, bool)
                or concurrency < 1):
            raise ValidationError("concurrency", f"{concurrency!r} is not a whole number >= 1",
                                  value=concurrency)
        prepared: list[tuple[Any, PreparedCall | Exception]] = []
        for rid in list(ids):
            try:
                prepared.append((rid, self._prepare_delete(rid)))
            except ValidationError as exc:
                prepared.append((rid, exc))
        return prepared

    @staticmethod
    def _delete_row(rid: Any, outcome: DeleteResult | BaseException | None,
                    trace: Trace | None) -> BulkRow:
        """One row of :data:`DELETE_COLUMNS`; ``outcome`` None is a dry run's row."""
        shown = (rid.encode("utf-8", "backslashreplace").decode("utf-8")
                 if isinstance(rid, str) else (None if rid is None else repr(rid)))
        if outcome is None:
            return (shown, True, "would_delete", None, None)
        if isinstance(outcome, DeleteResult):
            return (outcome.recording_id, True, outcome.status, outcome.status_code, None)
        status = trace.status if trace is not None else None
        return (shown, False, "failed", status, f"{type(outcome).__name__}: {outcome}")

    @staticmethod
    def _delete_frame(rows: list[BulkRow]) -> pd.DataFrame:
        return _typed_frame(rows, DELETE_COLUMNS)
