"""One exception tree for the whole toolkit.

Every error the toolkit raises on purpose is a :class:`RecordingToolkitError`::

    RecordingToolkitError
    ├── ConfigurationError            missing or malformed credentials, settings, rate cards
    ├── ValidationError (ValueError)  a request option that Plivo would reject; names the field
    ├── PlivoAPIError                 Plivo (or the sandbox) answered with an error status
    │   ├── BadRequestError           400
    │   ├── AuthenticationError       401
    │   ├── ForbiddenError            403
    │   ├── NotFoundError             404 (for a conference: it is not live)
    │   ├── InvalidRequestError       405, 409, 422
    │   ├── RateLimitError            429
    │   └── ServerError               5xx
    ├── TransportError                no HTTP answer at all
    │   ├── ConnectError              never reached the server: nothing was started
    │   ├── RequestTimeoutError       sent, no answer in time: it may have been processed
    │   └── DownloadError             a media download ended short of (or past) its Content-Length
    ├── SignatureError                a callback's V3 signature does not prove it came from Plivo
    │   ├── MissingSignatureError
    │   ├── MissingNonceError
    │   └── SignatureMismatchError
    ├── CallbackError (ValueError)    a callback payload that cannot be used (no recording_id, ...)
    └── LoadError (ValueError)        a log line or row that cannot be used, in strict loading
        └── SourceNotFoundError           a log file, folder or glob that is not there
                                          (also a FileNotFoundError)

Errors carry their context as attributes and show it in ``str()`` so a notebook cell's traceback
reads on its own. No error ever holds an auth token.

``TimeoutError`` is the former name of :class:`RequestTimeoutError`, kept as a deprecated alias
(using it warns): that name hid Python's own ``TimeoutError`` in any module that imported it,
without being one.
"""

from __future__ import annotations

import warnings
from typing import Any

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "CallbackError",
    "ConfigurationError",
    "ConnectError",
    "DownloadError",
    "ForbiddenError",
    "InvalidRequestError",
    "LoadError",
    "MissingNonceError",
    "MissingSignatureError",
    "NotFoundError",
    "PlivoAPIError",
    "RateLimitError",
    "RecordingToolkitError",
    "RequestTimeoutError",
    "ServerError",
    "SignatureError",
    "SignatureMismatchError",
    "SourceNotFoundError",
    "TransportError",
    "ValidationError",
    "api_error_for_status",
]


class RecordingToolkitError(Exception):
    """Base of every error the toolkit raises on purpose."""


class ConfigurationError(RecordingToolkitError):
    """Credentials, settings or a rate card are missing or malformed."""


class ValidationError(RecordingToolkitError, ValueError):
    """A request option Plivo would reject, caught before anything is sent.

    ``field`` names the option, ``value`` is what was given (never a secret), ``allowed`` describes
    what would have been accepted.
    """

    def __init__(self, field: str, message: str, *, value: Any = None, allowed: Any = None) -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field}: {message}")


def _format_error_text(error: Any) -> str:
    if error is None:
        return ""
    if isinstance(error, list | tuple):
        return "; ".join(str(e) for e in error)
    if isinstance(error, dict):
        return "; ".join(f"{k}: {v}" for k, v in error.items())
    return str(error)


class PlivoAPIError(RecordingToolkitError):
    """Plivo answered a request with an error status.

    Attributes: ``status_code``, ``api_id`` (from the error body, when there was one), ``error``
    (Plivo's text; a list is joined with ``; ``), ``conference_name``, ``method``, ``retry_after``
    (seconds, when the server sent ``Retry-After``) and ``may_have_started``: True when a start
    request got an answer that does not rule out that the recording began (a 500, 502 or 504).
    """

    status_code: int | None

    def __init__(
        self,
        error: Any = "",
        *,
        status_code: int | None = None,
        api_id: str | None = None,
        conference_name: str | None = None,
        method: str | None = None,
        retry_after: float | None = None,
        may_have_started: bool = False,
    ) -> None:
        self.error = _format_error_text(error)
        self.status_code = status_code
        self.api_id = api_id
        self.conference_name = conference_name
        self.method = method
        self.retry_after = retry_after
        self.may_have_started = may_have_started
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = []
        if self.status_code is not None:
            parts.append(f"HTTP {self.status_code}")
        if self.conference_name is not None:
            parts.append(f"conference {self.conference_name!r}")
        head = " for ".join(parts) if parts else type(self).__name__
        text = f"{head}: {self.error or 'no error text'}"
        if self.api_id:
            text += f" (api_id {self.api_id})"
        if self.may_have_started:
            text += (
                "; the recording may have started: check before starting it again"
                " (or pass retry_unsafe=True to let the client retry)"
            )
        return text


class BadRequestError(PlivoAPIError):
    """400: a parameter is missing or invalid."""


class AuthenticationError(PlivoAPIError):
    """401: the auth id or token was not accepted."""


class ForbiddenError(PlivoAPIError):
    """403: the account may not do this."""


class NotFoundError(PlivoAPIError):
    """404: the resource does not exist; for a conference, it is not live."""


class InvalidRequestError(PlivoAPIError):
    """405, 409 or 422: the request is not valid for the resource in its current state."""


class RateLimitError(PlivoAPIError):
    """429: over the account's request rate (300 requests per 5 s for conferences and recordings)."""


class ServerError(PlivoAPIError):
    """5xx: Plivo failed to handle the request."""


_STATUS_CLASSES: dict[int, type[PlivoAPIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: ForbiddenError,
    404: NotFoundError,
    405: InvalidRequestError,
    409: InvalidRequestError,
    422: InvalidRequestError,
    429: RateLimitError,
}


def api_error_for_status(status_code: int) -> type[PlivoAPIError]:
    """The exception class for an HTTP error status (any other 4xx maps to the base class)."""
    if status_code >= 500:
        return ServerError
    return _STATUS_CLASSES.get(status_code, PlivoAPIError)


class TransportError(RecordingToolkitError):
    """No HTTP answer was received.

    ``may_have_started`` tells whether the request could have reached the server and been processed
    (a read timeout after the request was sent), as opposed to a connection that was never made.
    """

    def __init__(
        self,
        message: str,
        *,
        conference_name: str | None = None,
        method: str | None = None,
        may_have_started: bool = False,
    ) -> None:
        self.conference_name = conference_name
        self.method = method
        self.may_have_started = may_have_started
        self.status_code = None
        self.api_id = None
        self.error = message
        text = message if conference_name is None else f"conference {conference_name!r}: {message}"
        if may_have_started:
            text += (
                "; the request was sent, so the recording may have started: check before starting"
                " it again (or pass retry_unsafe=True to let the client retry)"
            )
        super().__init__(text)


class ConnectError(TransportError):
    """The connection could not be made; the server never saw the request."""


class RequestTimeoutError(TransportError):
    """The request was sent but no answer came in time; it may have been processed.

    (httpx's own is ``httpx.TimeoutException``; the former name of this class, ``TimeoutError``,
    still works but warns.)
    """


class DownloadError(TransportError):
    """A recording's media download did not end as announced: the body was shorter (or longer)
    than its ``Content-Length``, or the server sent a range other than the one asked for.

    ``recording_id``, ``url`` (any password masked), ``expected_bytes`` and ``received_bytes``
    say which file and how far it got. No complete-looking file is left behind: a short body stays
    in its ``.part`` file, which the next download resumes.
    """

    def __init__(self, message: str, *, recording_id: str | None = None, url: str | None = None,
                 expected_bytes: int | None = None, received_bytes: int | None = None) -> None:
        self.recording_id = recording_id
        self.url = url
        self.expected_bytes = expected_bytes
        self.received_bytes = received_bytes
        super().__init__(message, method="GET")


class SignatureError(RecordingToolkitError):
    """A callback's V3 signature does not prove it came from Plivo."""


class MissingSignatureError(SignatureError):
    """Neither ``X-Plivo-Signature-V3`` nor ``X-Plivo-Signature-Ma-V3`` was present."""


class MissingNonceError(SignatureError):
    """``X-Plivo-Signature-V3-Nonce`` was absent or empty."""


class SignatureMismatchError(SignatureError):
    """No offered signature matched any configured token."""


class CallbackError(RecordingToolkitError, ValueError):
    """A callback payload that cannot be used; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class LoadError(RecordingToolkitError, ValueError):
    """A log line or row that cannot be used (raised by strict loading).

    ``file`` and ``line`` locate it (``line`` is 1-based), ``reason`` says what is wrong and ``raw``
    holds the offending text, cut to 200 characters in the message.
    """

    def __init__(self, reason: str, *, file: str | None = None, line: int | None = None,
                 raw: str | None = None) -> None:
        self.reason = reason
        self.file = file
        self.line = line
        self.raw = raw
        where = ""
        if file is not None:
            where = f"{file}:{line}: " if line is not None else f"{file}: "
        text = f"{where}{reason}"
        if raw:
            shown = raw if len(raw) <= 200 else raw[:200] + "..."
            text += f" (raw: {shown!r})"
        super().__init__(text)


class SourceNotFoundError(LoadError, FileNotFoundError):
    """A source to load that is not there: a missing file or folder, a dangling symlink, a glob
    that matches no log file. ``file`` (and ``filename``) is the path as given; it is also a
    :class:`FileNotFoundError`, so code that caught that still does."""

    def __init__(self, path: str, reason: str = "no such file or folder") -> None:
        super().__init__(f"source {path!r}: {reason}")
        self.file = path
        self.filename = path

    __str__ = Exception.__str__  # not OSError's "[Errno None] ..."


#: Former names still importable, each with the name that replaced it.
DEPRECATED_NAMES = {"TimeoutError": "RequestTimeoutError"}


def __getattr__(name: str) -> Any:
    """``errors.TimeoutError`` (the former name of :class:`RequestTimeoutError`), with a
    :class:`DeprecationWarning`."""
    new = DEPRECATED_NAMES.get(name)
    if new is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(f"recording_toolkit.errors.{name} is deprecated; use {new} (the old name hid"
                  " Python's built-in TimeoutError)", DeprecationWarning, stacklevel=2)
    return globals()[new]
