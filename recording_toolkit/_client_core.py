"""The I/O-free half of the Plivo Record API clients.

:class:`BaseRecordingClient` holds what :class:`~recording_toolkit.client.RecordingClient` and
:class:`~recording_toolkit.client.AsyncRecordingClient` share: settings, building requests,
mapping error answers and failures to exceptions, deciding retries and writing the journal. The
two clients hand-write only the lines that do I/O (the httpx design), so the twins stay small and
cannot drift apart. The parts it builds on live beside it, one job each:

- :mod:`recording_toolkit.validation`: every option checked before anything is sent;
- :mod:`recording_toolkit._urls`: the API paths, and URLs with their passwords masked;
- :mod:`recording_toolkit._calls`: one prepared request and the trace of its attempts;
- :mod:`recording_toolkit._results`: the results returned, read from Plivo's answers;
- :mod:`recording_toolkit.windows` and :mod:`recording_toolkit._listing`: the Recording list
  API's times, windows, filters and pages;
- :mod:`recording_toolkit._bulk`: the bulk calls' checks and rows.

What goes on the wire is what the official SDK (plivo-python 4.63) sends, checked by capturing
its requests: ``POST {base}/v1/Account/{auth_id}/Conference/{name}/Record/`` with Basic auth and a
JSON body that repeats ``conference_name``; ``DELETE`` on the same URL to stop. Two deliberate
differences: the conference name is percent-encoded as one path segment (the SDK sends a name with
``/``, ``?`` or ``#`` to the wrong URL), and every option is validated before anything is sent.
"""

from __future__ import annotations

import base64
import json
import math
import os
import platform
import warnings
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from ._bulk import check_concurrency, delete_requests, start_requests
from ._calls import PreparedCall, Trace
from ._http import httpx
from ._listing import RecordingPager, recording_pager
from ._ratelimit import DEFAULT_RATE_LIMIT, RateLimiter
from ._results import (
    DeleteResult,
    RecordingResult,
    StopResult,
    response_json,
    snippet,
    text_or_none,
)
from ._retry import (
    NOT_SENT,
    SENT,
    RetryPolicy,
    TransportFailure,
    may_have_been_processed,
    parse_retry_after,
)
from ._urls import conference_path, recording_path, transcription_path
from ._version import __version__
from .config import resolve_base_url, resolve_credentials
from .errors import (
    ConfigurationError,
    ConnectError,
    PlivoAPIError,
    RequestTimeoutError,
    TransportError,
    ValidationError,
    api_error_for_status,
)
from .journal import RequestJournal, format_time, journal_record
from .validation import validate_conference_name, validate_recording_id, validate_start_options

__all__ = ["BaseRecordingClient"]


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

    See :class:`recording_toolkit.client.RecordingClient` for the parameters. A subclass opens
    its httpx client in :meth:`_open_http` and writes the I/O: sending with retries, and the
    public methods around it.
    """

    _http: httpx.Client | httpx.AsyncClient


    def __init__(self, auth_id: str | None = None, auth_token: str | None = None, *,
                 base_url: str | None = None, timeout: float = 10.0,
                 max_retries: int | RetryPolicy = 3,
                 rate_limit: tuple[int, float] | RateLimiter | None = DEFAULT_RATE_LIMIT,
                 transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
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
                "User-Agent": (f"recording_toolkit/{__version__}"
                               f" ({httpx.__name__}/{httpx.__version__};"
                               f" Python {platform.python_version()})"),
            },
            "timeout": self.timeout,
            "limits": httpx.Limits(max_connections=100, max_keepalive_connections=100),
            "follow_redirects": False,
            "transport": transport,
        }
        self._host = urlsplit(self.base_url).hostname or self.base_url
        self._closed = False
        self.journal, self._owns_journal = _open_journal(journal)
        try:
            self._http = self._open_http(self._http_options)
        except BaseException:
            self._close_journal()
            raise

    def _open_http(self, options: dict[str, Any]) -> httpx.Client | httpx.AsyncClient:
        """The client's own httpx client, made from ``options``: the one thing the sync and the
        async client open differently."""
        raise NotImplementedError

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
        rid = validate_recording_id(recording_id)
        return PreparedCall("get", "GET", recording_path(self.auth_id, rid))

    def _prepare_get_transcription(self, recording_id: object) -> PreparedCall:
        # Plivo's Transcription resource is addressed by the recording's id (docs/plivo.md)
        self._ensure_open()
        rid = validate_recording_id(recording_id)
        return PreparedCall("get", "GET", transcription_path(self.auth_id, rid))

    def _prepare_delete(self, recording_id: object) -> PreparedCall:
        self._ensure_open()
        rid = validate_recording_id(recording_id)
        return PreparedCall("delete", "DELETE", recording_path(self.auth_id, rid),
                            recording_id=rid)

    def _pager(self, *, since: object, until: object, limit: object,
               filters: Mapping[str, object]) -> RecordingPager:
        """See :func:`~recording_toolkit._listing.recording_pager`."""
        self._ensure_open()
        return recording_pager(self.auth_id, since=since, until=until, limit=limit,
                               filters=filters)

    # answers -------------------------------------------------------------------------------------

    def _assess_response(self, call: PreparedCall, trace: Trace,
                         response: httpx.Response) -> tuple[PlivoAPIError, float | None]:
        """The error for an error status, and the wait before retrying (None: do not)."""
        status = response.status_code
        trace.status = status
        body = response_json(response)
        retry_after = parse_retry_after(response.headers.get("Retry-After"),
                                        now=self.retry_policy.wall_clock())
        if isinstance(body, dict) and body.get("error") not in (None, "", []):
            text = body["error"]
        elif isinstance(body, dict) and body.get("message"):
            text = body["message"]
        elif response.content and not response.text.lstrip().startswith("<"):
            text = snippet(response)
        else:
            text = response.reason_phrase or "no error text"
        if call.action == "start" and may_have_been_processed(status, retry_after):
            trace.may_have_started = True
        error = api_error_for_status(status)(
            text, status_code=status,
            api_id=text_or_none(body.get("api_id")) if isinstance(body, dict) else None,
            conference_name=call.conference_name, method=call.method, retry_after=retry_after,
            may_have_started=trace.may_have_started)
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
            failure: TransportFailure = NOT_SENT
            cls: type[TransportError] = ConnectError
            message = f"could not connect to {self._host}: {detail}"
        elif isinstance(exc, httpx.TimeoutException):
            failure, cls = SENT, RequestTimeoutError
            message = (f"no answer from {self._host} within {self.timeout:g} s"
                       f" ({type(exc).__name__})")
        elif isinstance(exc, httpx.TransportError):
            failure, cls = SENT, TransportError
            message = (f"the connection to {self._host} failed after the request was sent"
                       f" ({type(exc).__name__}: {detail})")
        else:  # DecodingError, a stream error, ...: the request went out, the answer is unusable
            failure, cls = SENT, TransportError
            message = (f"the answer from {self._host} could not be read"
                       f" ({type(exc).__name__}: {detail})")
        if call.action == "start" and failure == SENT:
            trace.may_have_started = True
        error = cls(message, conference_name=call.conference_name, method=call.method,
                    may_have_started=trace.may_have_started)
        return error, self.retry_policy.delay(call.action, trace.attempts, transport=failure)

    def _build_request(self, call: PreparedCall) -> httpx.Request:
        """The httpx request for ``call``; any failure here means nothing was sent.

        Options are validated before a call is prepared, so this fails only for what validation
        cannot foresee; it is still a toolkit error, and one that never says the recording may
        have started.
        """
        try:
            return self._http.build_request(
                call.method, call.path, content=call.content, params=call.params,
                headers=call.headers)
        except (httpx.InvalidURL, httpx.HTTPError, ValueError) as exc:
            field = "conference_name" if call.conference_name is not None else "request"
            raise ValidationError(
                field, f"cannot make the {call.method} request to {self._host}"
                f" ({type(exc).__name__}: {exc}); nothing was sent",
                value=call.conference_name) from None

    def _retry_delay(self, call: PreparedCall, trace: Trace, *,
                     response: httpx.Response | None = None,
                     failure: Exception | None = None) -> float:
        """After an attempt that was refused (``response``) or failed (``failure``): the wait
        before the next attempt, or the call's error raised when the retry policy gives up."""
        if failure is not None:
            error, delay = self._assess_transport(call, trace, failure)
            if delay is None:
                raise error from failure
            return delay
        assert response is not None
        refusal, delay = self._assess_response(call, trace, response)
        if delay is None:
            raise refusal
        return delay

    @staticmethod
    def _answers(call: PreparedCall, response: httpx.Response) -> bool:
        """True when ``response`` is the call's answer rather than an error: any 2xx, and for
        a delete also a 404 (nothing by that id: already gone, which is what was asked)."""
        return response.is_success or (call.action == "delete" and response.status_code == 404)

    # journal -------------------------------------------------------------------------------------

    def _journal(self, call: PreparedCall, trace: Trace, *,
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
            may_have_started = trace.may_have_started or getattr(
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

    def _prepare_starts(self, items: Any, defaults: Mapping[str, Any],
                      concurrency: object) -> list[tuple[Any, PreparedCall | Exception]]:
        """Validate every item up front (no I/O): ``(name, call or the item's error)`` per item."""
        self._ensure_open()
        check_concurrency(concurrency)
        return start_requests(items, defaults, self._prepare_start)

    def _prepare_deletes(self, ids: Any,
                         concurrency: object) -> list[tuple[Any, PreparedCall | Exception]]:
        """Validate every id up front (no I/O): ``(id, call or the id's error)`` per id."""
        self._ensure_open()
        check_concurrency(concurrency)
        return delete_requests(ids, self._prepare_delete)
