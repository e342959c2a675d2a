"""Checks on what a client is asked to send, made before anything is sent.

Each check raises one :class:`~recording_toolkit.errors.ValidationError` naming the field and
what would have been accepted, so a mistyped option never costs a request (or a recording). The
clients call these; the commands call the same ones to check their flags before they make a
client, so a flag and a keyword argument are refused alike.

Examples
--------
>>> validate_start_options(file_format="WAV").file_format
'wav'
>>> validate_start_options(file_format="ogg")
Traceback (most recent call last):
...
recording_toolkit.errors.ValidationError: file_format: 'ogg' is not a recording format; use 'mp3' or 'wav' (case-insensitive)
>>> validate_recording_id("")
Traceback (most recent call last):
...
recording_toolkit.errors.ValidationError: recording_id: is empty; give a recording id, as the Recording API lists it
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from ._urls import mask_url, path_segment
from .errors import ValidationError

__all__ = [
    "CALLBACK_METHODS",
    "FILE_FORMATS",
    "MAX_CONFERENCE_NAME_BYTES",
    "MAX_RECORDING_ID_BYTES",
    "START_OPTIONS",
    "TRANSCRIPTION_TYPES",
    "StartOptions",
    "brief_repr",
    "check_unicode",
    "parse_retry_fragment",
    "validate_callback_url",
    "validate_conference_name",
    "validate_recording_id",
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

#: Control characters, refused in names, ids, URLs and list filters.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
_REGION = re.compile(r"^[A-Za-z0-9_-]+$")


#: Longest conference name the clients send, counted in bytes once percent-encoded into the
#: request URL (``caf\u00e9`` is ``caf%C3%A9``: 9 bytes; an emoji takes 12). Plivo documents no
#: limit, while HTTP servers and proxies refuse request lines past 8 KB (nginx's and Apache's
#: defaults) and httpx refuses URLs past 64 KB; 4 KB keeps every Record and Recording list URL
#: well inside all of them: 4,096 ASCII letters, 682 accented letters or 341 emoji.
MAX_CONFERENCE_NAME_BYTES = 4096


def brief_repr(text: str, limit: int = 60) -> str:
    """``repr(text)``, cut to about ``limit`` characters, for messages about long values.

    >>> brief_repr("x" * 100, limit=5)
    "'xxxxx'... (100 characters)"
    """
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"


def check_unicode(text: str, *, field: str) -> None:
    """A :class:`ValidationError` naming ``field`` unless ``text`` can be sent as UTF-8.

    Python holds text that was not valid UTF-8 (``sys.argv`` from a shell in another encoding,
    a file read with ``errors="surrogateescape"``) as lone surrogates, which no request can
    carry: say which byte it was rather than fail while encoding the request.

    >>> check_unicode("caf\\udce9", field="conference_name")
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
        raise ValidationError(field, f"{brief_repr(text)} is not valid Unicode text: character"
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
        raise ValidationError(field, f"{brief_repr(repr(name))} is not a string", value=name,
                              allowed="a text name")
    check_unicode(name, field=field)
    if not name.strip():
        raise ValidationError(field, "is empty; give the name of a live conference", value=name,
                              allowed="a non-empty name")
    encoded = len(path_segment(name))
    if encoded > MAX_CONFERENCE_NAME_BYTES:
        raise ValidationError(
            field, f"is too long: its {len(name):,} characters take {encoded:,} bytes"
            f" percent-encoded in the request URL; the limit is {MAX_CONFERENCE_NAME_BYTES:,}"
            " bytes, which keeps the URL inside what HTTP servers and proxies accept",
            value=name, allowed=f"at most {MAX_CONFERENCE_NAME_BYTES} bytes percent-encoded")
    if CONTROL_CHARACTERS.search(name):
        raise ValidationError(field, f"{brief_repr(name)} contains control characters", value=name,
                              allowed="printable text")
    return name


#: Longest recording id the clients send, in bytes once percent-encoded into the request URL.
#: Plivo's ids are 36-character UUIDs; the limit is only there to keep the URL inside what HTTP
#: servers and proxies accept (see :data:`MAX_CONFERENCE_NAME_BYTES`).
MAX_RECORDING_ID_BYTES = MAX_CONFERENCE_NAME_BYTES


def validate_recording_id(recording_id: object, *, field: str = "recording_id") -> str:
    """``recording_id`` if it can address one recording (``/Recording/{id}/``), else a
    :class:`ValidationError` naming ``field``.

    An id must be valid Unicode text, not blank, free of control characters and at most
    :data:`MAX_RECORDING_ID_BYTES` bytes once percent-encoded into the URL. Any other text is
    sent (percent-encoded as one path segment): Plivo, not the client, says whether such a
    recording exists.

    >>> validate_recording_id("c2186400-1c8c-11e4-a664-0026b945b52x")
    'c2186400-1c8c-11e4-a664-0026b945b52x'
    >>> validate_recording_id(7)
    Traceback (most recent call last):
    ...
    recording_toolkit.errors.ValidationError: recording_id: 7 is not a string
    """
    if not isinstance(recording_id, str):
        raise ValidationError(field, f"{repr(recording_id)[:60]} is not a string",
                              value=recording_id, allowed="a recording id (text)")
    check_unicode(recording_id, field=field)
    if not recording_id.strip():
        raise ValidationError(field, "is empty; give a recording id, as the Recording API lists"
                              " it", value=recording_id, allowed="a non-empty id")
    encoded = len(path_segment(recording_id))
    if encoded > MAX_RECORDING_ID_BYTES:
        raise ValidationError(
            field, f"is too long: {encoded:,} bytes percent-encoded in the request URL; the limit"
            f" is {MAX_RECORDING_ID_BYTES:,} bytes", value=recording_id,
            allowed=f"at most {MAX_RECORDING_ID_BYTES} bytes percent-encoded")
    if CONTROL_CHARACTERS.search(recording_id):
        raise ValidationError(field, f"{brief_repr(recording_id)} contains control characters",
                              value=recording_id, allowed="printable text")
    return recording_id


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
    check_unicode(url, field=field)
    shown = mask_url(url)
    if not url or url != url.strip() or CONTROL_CHARACTERS.search(url) or " " in url:
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
        if self.transcription_type is not None and self.transcription_url is not None:
            body["transcription_type"] = self.transcription_type
            body["transcription_url"] = self.transcription_url
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
            else mask_url(self.transcription_url),
            "callback_url": None if self.callback_url is None else mask_url(self.callback_url),
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
    transcript_to = None
    if transcription_url is not None:
        transcript_to = validate_callback_url(transcription_url, field="transcription_url")
        if transcription_type is None:
            raise ValidationError("transcription_url", "given without transcription_type='auto':"
                                  " Plivo would not transcribe, so nothing would be posted there",
                                  value=mask_url(str(transcription_url)),
                                  allowed="with transcription_type='auto'")
    elif transcription_type is not None:
        raise ValidationError("transcription_type", "'auto' needs a transcription_url (where"
                              " Plivo posts the transcript)", value=transcription_type,
                              allowed="with transcription_url")
    callback_to = None if callback_url is None else validate_callback_url(
        callback_url, field="callback_url")
    return StartOptions(
        file_format=file_format.lower(),
        transcription_type=None if transcription_type is None else "auto",
        transcription_url=transcript_to,
        callback_url=callback_to,
        callback_method=callback_method.upper(),
    )
