"""Download (archive) recordings' audio files, one at a time or in bulk.

Used through the clients: :meth:`RecordingClient.download_recording` /
:meth:`RecordingClient.download_recordings` and their :class:`AsyncRecordingClient` twins. They
exist so that recordings can be archived before they are deleted to cut storage cost, so a
download must never leave a file that looks complete but is not, and a run that was interrupted
must be cheap to run again.

What a download does
--------------------
- **Names.** The file is ``{recording_id}.{format}`` in ``folder`` (created if missing). The
  format is the recording's ``recording_format``, else the media URL's extension. A recording id
  or format that could not be a plain file name is a
  :class:`~recording_toolkit.errors.ValidationError`: nothing is written outside ``folder``.
- **Atomic.** The body is streamed into ``{name}.part``, flushed and ``fsync``-ed, then renamed
  over ``{name}`` in one step. A failure midway leaves only the ``.part`` file.
- **Resumable.** An existing ``{name}`` whose size equals the server's ``Content-Length`` (asked
  with ``HEAD``; if the server answers no usable ``HEAD``, read from the ``GET``'s header before
  any of the body) is left alone: status ``already_complete``. An existing ``.part`` is resumed
  with ``Range: bytes={size}-``; a ``206`` whose ``Content-Range`` starts there is appended, a
  ``200`` (the server ignored ``Range``) starts the file over, a ``416`` with the ``.part``
  already at full size finishes it. ``overwrite=True`` downloads afresh.
- **Checked.** The bytes received must add up to ``Content-Length`` (or the ``Content-Range``
  total). A short body raises :class:`~recording_toolkit.errors.DownloadError` (a
  :class:`~recording_toolkit.errors.TransportError`) and keeps the ``.part`` for the next run; a
  body longer than announced is also a ``DownloadError`` and its ``.part`` is removed. Without
  any ``Content-Length`` (a chunked answer) the size cannot be checked and the body is kept as
  received.
- **Credentials only when asked.** Media URLs live on another host than the API
  (``media.plivo.com``) and, depending on the account's settings, may need HTTP Basic auth with
  the account's auth id and token. A download first asks without credentials; only when the media
  URL's own host (scheme, host and port) answers ``401`` with ``WWW-Authenticate: Basic`` is the
  request repeated with them. A redirect is followed (at most 5) but a host other than the media
  URL's never receives the credentials, even if it asks: its ``401`` is an
  :class:`~recording_toolkit.errors.AuthenticationError`. The token never appears in an error,
  a log or a repr.
- **Same settings, separate connection pool.** Media requests go through their own httpx client
  with the API client's timeout and transport (so a test's ``httpx.MockTransport`` sees them),
  with absolute URLs and no default ``Authorization`` header.

An error status is the toolkit's :class:`~recording_toolkit.errors.PlivoAPIError` subclass for it
(404: :class:`~recording_toolkit.errors.NotFoundError`), naming the recording and the URL. A
download is not retried inside one call: run it again and it resumes where it stopped.

The bulk form returns one row per input, in input order, whatever happened: ``recording_id``,
``path``, ``bytes`` (the file's size), ``status`` (``downloaded``, ``already_complete`` or
``failed``) and ``error`` (the failure's text). A failure never stops the others. The same
recording given twice is downloaded once; its second row reads ``already_complete``.

Examples
--------
>>> import httpx, tempfile
>>> from recording_toolkit.client import RecordingClient
>>> def media(request):
...     return httpx.Response(200, content=b"RIFF....WAVE")
>>> folder = tempfile.mkdtemp()
>>> with RecordingClient("MA" + "0" * 18, "token", transport=httpx.MockTransport(media)) as client:
...     path = client.download_recording(
...         {"recording_id": "r-1", "recording_format": "wav",
...          "recording_url": "https://media.plivo.com/v1/Account/MA/Recording/r-1.wav"}, folder)
>>> path.name, path.read_bytes()
('r-1.wav', b'RIFF....WAVE')
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from ._http import SEND_FAILURES, httpx
from ._urls import mask_url
from ._workers import run_tasks, run_threads
from .errors import (
    ConnectError,
    DownloadError,
    PlivoAPIError,
    RequestTimeoutError,
    TransportError,
    ValidationError,
    api_error_for_status,
)

if TYPE_CHECKING:
    import pandas as pd

    from .client import AsyncRecordingClient, RecordingClient

__all__ = ["DOWNLOAD_COLUMNS", "DOWNLOAD_STATUSES", "MediaTarget", "Outcome", "media_target"]

#: Columns of the frame the bulk download returns, in order.
DOWNLOAD_COLUMNS = ("recording_id", "path", "bytes", "status", "error")
#: The values of its ``status`` column.
DOWNLOAD_STATUSES = ("downloaded", "already_complete", "failed")

_MAX_REDIRECTS = 5
_REDIRECTS = {301, 302, 303, 307, 308}
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_SAFE_FORMAT = re.compile(r"^[a-z0-9]{1,8}$")
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)
_UNSATISFIED_RANGE = re.compile(r"^\s*bytes\s+\*/(\d+)\s*$", re.IGNORECASE)


# -- what to download, and where ------------------------------------------------------------------

@dataclass(frozen=True)
class MediaTarget:
    """One recording's media: where it comes from and where it goes."""

    recording_id: str
    url: str
    file_format: str
    path: Path

    @property
    def part(self) -> Path:
        """The file the body is streamed into before the rename."""
        return self.path.with_name(self.path.name + ".part")


def media_target(recording: Mapping[str, Any], folder: str | os.PathLike[str]) -> MediaTarget:
    """The :class:`MediaTarget` of a Recording API object (``recording_id``, ``recording_url``
    or ``record_url``, ``recording_format``), checked so the file lands inside ``folder``.

    >>> media_target({"recording_id": "r-1", "recording_url": "https://m.example/r-1.mp3"},
    ...              "archive").path.as_posix()
    'archive/r-1.mp3'
    """
    if not isinstance(recording, Mapping):
        raise ValidationError("recording", "expected a recording id or a Recording API object"
                              f" (a dict), got {type(recording).__name__}")
    rid = recording.get("recording_id")
    if not isinstance(rid, str) or not _SAFE_ID.match(rid):
        raise ValidationError("recording_id", f"{rid!r} is not a recording id that can name a"
                              " file (letters, digits, '.', '_', '-'; at most 200)", value=rid)
    url = recording.get("recording_url") or recording.get("record_url")
    if not isinstance(url, str) or not url:
        raise ValidationError("recording_url", f"recording {rid}: has no recording_url or"
                              " record_url to download", value=url)
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ValidationError("recording_url", f"recording {rid}: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("recording_url", f"recording {rid}: {mask_url(url)!r} is not an"
                              " http(s) URL", allowed="http://... or https://...")
    fmt = recording.get("recording_format")
    if not fmt:
        fmt = parts.path.rpartition("/")[2].rpartition(".")[2] if "." in parts.path else ""
    fmt = str(fmt).lower()
    if not _SAFE_FORMAT.match(fmt):
        raise ValidationError("recording_format", f"recording {rid}: {fmt!r} is not a file"
                              " format (give recording_format, e.g. 'mp3' or 'wav')", value=fmt)
    return MediaTarget(rid, url, fmt, Path(folder) / f"{rid}.{fmt}")


# -- HTTP, shared by both clients -----------------------------------------------------------------

def _origin(url: str) -> tuple[str, str, int | None]:
    parts = httpx.URL(url)
    return parts.scheme, parts.host, parts.port


class MediaAuth:
    """The client's Basic credentials, sent only to origins that asked for them with a 401.

    Holds the ready ``Authorization`` value (never shown); ``asked`` is the set of origins that
    asked, shared by the downloads of one bulk call so each host is asked about once.
    """

    __slots__ = ("_authorization", "asked")

    def __init__(self, authorization: str | None) -> None:
        self._authorization = authorization
        self.asked: set[tuple[str, str, int | None]] = set()

    def __repr__(self) -> str:
        return f"MediaAuth(asked={sorted(self.asked)!r})"

    def headers(self, url: str, media_origin: tuple[str, str, int | None]) -> dict[str, str]:
        origin = _origin(url)
        if self._authorization and origin == media_origin and origin in self.asked:
            return {"Authorization": self._authorization}
        return {}

    def should_retry(self, response: httpx.Response,
                     media_origin: tuple[str, str, int | None]) -> bool:
        """True when ``response`` is the media host's Basic challenge to a request sent without
        the credentials (so a request that carried them is never repeated)."""
        if (response.status_code != 401 or not self._authorization
                or "Authorization" in response.request.headers):
            return False
        origin = _origin(str(response.request.url))
        if origin != media_origin:
            return False
        challenge = response.headers.get("WWW-Authenticate", "")
        if not re.match(r"\s*basic\b", challenge, re.IGNORECASE):
            return False
        self.asked.add(origin)
        return True


def media_http_options(client: Any) -> dict[str, Any]:
    """httpx client options for media: the API client's timeout and transport, no auth header."""
    options = client._http_options
    headers = {"User-Agent": options["headers"]["User-Agent"], "Accept": "*/*",
               "Accept-Encoding": "identity"}
    return {"headers": headers, "timeout": options["timeout"], "limits": options["limits"],
            "follow_redirects": False, "transport": options["transport"]}


def media_auth(client: Any) -> MediaAuth:
    """The client's credentials for media hosts that ask (nothing is sent until one does)."""
    return MediaAuth(client._http_options["headers"].get("Authorization"))


def _next_url(response: httpx.Response) -> str | None:
    if response.status_code in _REDIRECTS and "Location" in response.headers:
        return urljoin(str(response.request.url), response.headers["Location"])
    return None


def _transport_error(exc: Exception, target: MediaTarget, timeout: float) -> TransportError:
    host = urlsplit(target.url).hostname
    where = f"recording {target.recording_id}"
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout
                  | httpx.UnsupportedProtocol):
        return ConnectError(f"{where}: could not connect to {host}: {exc or type(exc).__name__}",
                            method="GET")
    if isinstance(exc, httpx.TimeoutException):
        return RequestTimeoutError(f"{where}: no answer from {host} within {timeout:g} s"
                            f" ({type(exc).__name__})", method="GET")
    return TransportError(f"{where}: the download from {host} failed"
                          f" ({type(exc).__name__}: {exc})", method="GET")


def _status_error(response: httpx.Response, target: MediaTarget) -> PlivoAPIError:
    url = mask_url(str(response.request.url))
    text = f"recording {target.recording_id}: media {url} answered {response.reason_phrase}"
    if response.status_code == 401 and _origin(url) != _origin(target.url):
        text += " (credentials are only sent to the media URL's own host)"
    return api_error_for_status(response.status_code)(text, status_code=response.status_code,
                                                      method=response.request.method)


def _length(response: httpx.Response) -> int | None:
    value = response.headers.get("Content-Length", "").strip()
    if not value.isdigit() or response.headers.get("Content-Encoding", "identity") != "identity":
        return None
    return int(value)


@dataclass
class _Body:
    """How to take a GET's answer: write from ``start`` (0 truncates), expecting ``total``."""

    start: int
    total: int | None


def _plan(response: httpx.Response, target: MediaTarget, offset: int,
          existing: int | None) -> _Body | str:
    """What a GET's answer means: a :class:`_Body` to write, ``"complete"`` (the final file is
    already whole), ``"part-complete"`` (the ``.part`` is whole), ``"restart"`` (ask again
    without ``Range``); raises for an error status or a range other than the one asked."""
    status = response.status_code
    if status == 200:
        total = _length(response)
        if existing is not None and total is not None and total == existing:
            return "complete"
        return _Body(0, total)
    if status == 206 and offset > 0:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if match is None or int(match[1]) != offset:
            raise DownloadError(
                f"recording {target.recording_id}: asked for bytes from {offset:,} and got"
                f" Content-Range {response.headers.get('Content-Range')!r}",
                recording_id=target.recording_id, url=mask_url(target.url))
        total = None if match[3] == "*" else int(match[3])
        return _Body(offset, total)
    if status == 416 and offset > 0:
        match = _UNSATISFIED_RANGE.match(response.headers.get("Content-Range", ""))
        if match is not None and int(match[1]) == offset:
            return "part-complete"
        return "restart"
    if response.is_success:  # a 206 nobody asked for, 204, ...: not a file we can trust
        raise DownloadError(f"recording {target.recording_id}: unexpected HTTP {status} for"
                            f" {mask_url(target.url)}", recording_id=target.recording_id,
                            url=mask_url(target.url))
    raise _status_error(response, target)


class _PartFile:
    """The ``.part`` file, opened to write from ``start`` (anything after it is cut)."""

    def __init__(self, path: Path, start: int) -> None:
        self.path = path
        self._file = open(path, "r+b" if start > 0 else "wb")  # noqa: SIM115 - closed in finish
        self._file.seek(start)
        self._file.truncate(start)
        self.size = start

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)
        self.size += len(chunk)

    def finish(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def close(self) -> None:
        self._file.close()


def _check_size(target: MediaTarget, received: int, total: int | None) -> None:
    if total is None or received == total:
        return
    if received > total:
        target.part.unlink(missing_ok=True)
        what = "longer than"
    else:
        what = "shorter than"
    raise DownloadError(
        f"recording {target.recording_id}: the download ended at {received:,} bytes, {what} the"
        f" {total:,} the server announced" + ("; run it again to resume" if received < total
                                                else ""),
        recording_id=target.recording_id, url=mask_url(target.url), expected_bytes=total,
        received_bytes=received)


def _commit(target: MediaTarget) -> int:
    """Rename the finished ``.part`` over the final name and make the rename durable."""
    os.replace(target.part, target.path)
    try:
        fd = os.open(target.path.parent, os.O_RDONLY)
    except OSError:  # a folder that cannot be opened (some platforms): the rename still stands
        return target.path.stat().st_size
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
    return target.path.stat().st_size


@dataclass(frozen=True)
class Outcome:
    """What one download did: the file, its size, and ``downloaded`` or ``already_complete``."""

    path: Path
    bytes: int
    status: str


def _prepare(target: MediaTarget, overwrite: bool) -> tuple[int, int | None]:
    """Create the folder; return the ``.part`` offset to resume from and the final file's size
    (None when there is none to check, or ``overwrite`` is set)."""
    target.path.parent.mkdir(parents=True, exist_ok=True)
    if overwrite:
        target.part.unlink(missing_ok=True)
        return 0, None
    existing = target.path.stat().st_size if target.path.is_file() else None
    offset = target.part.stat().st_size if target.part.is_file() else 0
    return offset, existing


# -- one download: the steps, and the two drivers that do their I/O ------------------------------

@dataclass(frozen=True)
class _Send:
    """Send ``method`` to ``url``, streamed; the driver replies with the response."""

    method: str
    url: str
    headers: Mapping[str, str]


@dataclass(frozen=True)
class _Close:
    """Close ``response`` (before the next request, so its connection is reused)."""

    response: httpx.Response


@dataclass(frozen=True)
class _Pump:
    """Stream ``response``'s body into ``part``."""

    response: httpx.Response
    part: _PartFile


_Step = _Send | _Close | _Pump
#: The download's logic, as steps for a driver: it yields what to do and is sent the answer.
_Steps = Generator[_Step, Any, Outcome]


def _open(auth: MediaAuth, target: MediaTarget, method: str,
          headers: Mapping[str, str]) -> Generator[_Step, Any, httpx.Response]:
    """Send ``method`` to the media URL with redirects and the Basic challenge handled; the
    answer is streamed (the driver closes it)."""
    media_origin = _origin(target.url)
    url = target.url
    hops = 0
    while True:
        response = yield _Send(method, url, {**headers, **auth.headers(url, media_origin)})
        if auth.should_retry(response, media_origin):
            yield _Close(response)
            continue
        following = _next_url(response)
        if following is None or hops >= _MAX_REDIRECTS:
            return response
        yield _Close(response)
        url, hops = following, hops + 1
        method = "GET" if response.status_code == 303 else method


def _head_length(response: httpx.Response, target: MediaTarget) -> int | None:
    """The size a ``HEAD`` answer announces (None: let the GET's header decide)."""
    if response.status_code == 200:
        return _length(response)
    if response.status_code in (401, 403, 404, 410):  # the GET would say the same: say it now
        raise _status_error(response, target)
    return None  # HEAD not offered (405, 501, ...)


def _download(auth: MediaAuth, target: MediaTarget, overwrite: bool) -> _Steps:
    """The steps of one download (see the module doc); the sync and the async driver run them.

    Every response the driver opened is closed by it when the steps end, however they end; a
    response is closed here only when another request follows.
    """
    offset, existing = _prepare(target, overwrite)
    if existing is not None:
        head = yield from _open(auth, target, "HEAD", {})
        yield _Close(head)
        length = _head_length(head, target)
        if length is not None and length == existing:
            return Outcome(target.path, existing, "already_complete")
        if length is not None:
            existing = None  # the server's file differs: download it again
    for _ in range(2):  # a second round only after a 416 that did not confirm the .part
        headers = {"Range": f"bytes={offset}-"} if offset > 0 else {}
        response = yield from _open(auth, target, "GET", headers)
        plan = _plan(response, target, offset, existing)
        if plan == "complete":
            return Outcome(target.path, existing or 0, "already_complete")
        if plan == "restart":
            yield _Close(response)
            offset = 0
            continue
        if plan == "part-complete":
            return Outcome(target.path, _commit(target), "downloaded")
        assert isinstance(plan, _Body)
        part = _PartFile(target.part, plan.start)
        try:
            yield _Pump(response, part)
        except BaseException:
            part.close()
            raise
        part.finish()
        _check_size(target, part.size, plan.total)
        return Outcome(target.path, _commit(target), "downloaded")
    raise DownloadError(f"recording {target.recording_id}: the server refused every range",
                        recording_id=target.recording_id, url=mask_url(target.url))


class _Walk:
    """What both drivers keep while they run one download's steps: the steps, fed each reply,
    and every response a step opened, which the driver closes when the steps end, however they
    end. Only the I/O of each step differs between the drivers."""

    def __init__(self, steps: _Steps) -> None:
        self._steps = steps
        self._opened: list[httpx.Response] = []

    def next(self, reply: httpx.Response | None) -> _Step | Outcome:
        """The step after the one ``reply`` answers (None but after a :class:`_Send`), or the
        outcome once there is none."""
        if reply is not None:
            self._opened.append(reply)
        try:
            return self._steps.send(reply)
        except StopIteration as done:
            return done.value

    def end(self) -> list[httpx.Response]:
        """Stop the steps (when a driver's I/O failed or was cancelled) and hand over every
        response they opened, for the driver to close."""
        self._steps.close()
        return self._opened


def download_sync(http: httpx.Client, auth: MediaAuth, target: MediaTarget, *,
                  overwrite: bool = False) -> Outcome:
    """Download one :class:`MediaTarget` with a blocking httpx client (see the module doc)."""
    walk = _Walk(_download(auth, target, overwrite))
    reply: httpx.Response | None = None
    try:
        while not isinstance(step := walk.next(reply), Outcome):
            reply = None
            try:
                if isinstance(step, _Send):
                    request = http.build_request(step.method, step.url, headers=step.headers)
                    reply = http.send(request, stream=True)
                elif isinstance(step, _Close):
                    step.response.close()
                else:
                    for chunk in step.response.iter_bytes():
                        step.part.write(chunk)
            except SEND_FAILURES as exc:
                raise _transport_error(exc, target, http.timeout.read or 0) from exc
        return step
    finally:
        for response in walk.end():
            response.close()


async def download_async(http: httpx.AsyncClient, auth: MediaAuth, target: MediaTarget, *,
                         overwrite: bool = False) -> Outcome:
    """See :func:`download_sync`; the same steps on an ``httpx.AsyncClient``."""
    walk = _Walk(_download(auth, target, overwrite))
    reply: httpx.Response | None = None
    try:
        while not isinstance(step := walk.next(reply), Outcome):
            reply = None
            try:
                if isinstance(step, _Send):
                    request = http.build_request(step.method, step.url, headers=step.headers)
                    reply = await http.send(request, stream=True)
                elif isinstance(step, _Close):
                    await step.response.aclose()
                else:
                    async for chunk in step.response.aiter_bytes():
                        step.part.write(chunk)
            except SEND_FAILURES as exc:
                raise _transport_error(exc, target, http.timeout.read or 0) from exc
        return step
    finally:
        for response in walk.end():
            await response.aclose()


# -- entry points for the clients -----------------------------------------------------------------

def _check_folder(folder: object) -> Path:
    if not isinstance(folder, str | os.PathLike) or not os.fspath(folder):
        raise ValidationError("folder", f"expected a folder path, got {folder!r}")
    return Path(folder)


def _resolve_id(recording: object) -> str | None:
    """The recording id an input names, when it can be told without asking the API."""
    if isinstance(recording, str):
        return recording
    if isinstance(recording, Mapping) and isinstance(recording.get("recording_id"), str):
        return recording["recording_id"]
    return None


def download_one_sync(client: RecordingClient, recording: Any, folder: Any, *,
                      overwrite: bool = False, http: httpx.Client | None = None,
                      auth: MediaAuth | None = None) -> Outcome:
    """Resolve ``recording`` (an id is fetched with ``client.get_recording``) and download it."""
    path = _check_folder(folder)
    if isinstance(recording, str):
        recording = client.get_recording(recording)
    target = media_target(recording, path)
    if http is None:
        with httpx.Client(**media_http_options(client)) as own:
            return download_sync(own, auth or media_auth(client), target, overwrite=overwrite)
    return download_sync(http, auth or media_auth(client), target, overwrite=overwrite)


async def download_one_async(client: AsyncRecordingClient, recording: Any, folder: Any, *,
                             overwrite: bool = False, http: httpx.AsyncClient | None = None,
                             auth: MediaAuth | None = None) -> Outcome:
    """See :func:`download_one_sync`."""
    path = _check_folder(folder)
    if isinstance(recording, str):
        recording = await client.get_recording(recording)
    target = media_target(recording, path)
    if http is None:
        async with httpx.AsyncClient(**media_http_options(client)) as own:
            return await download_async(own, auth or media_auth(client), target,
                                        overwrite=overwrite)
    return await download_async(http, auth or media_auth(client), target, overwrite=overwrite)


def _inputs(recordings: Any, concurrency: object) -> list[Any]:
    if (not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1):
        raise ValidationError("concurrency", f"{concurrency!r} is not a whole number >= 1")
    import pandas as pd

    if isinstance(recordings, pd.DataFrame):
        return recordings.to_dict("records")
    if isinstance(recordings, str | Mapping) or not isinstance(recordings, Iterable):
        raise ValidationError("recordings", "expected a list of recording ids or Recording API"
                              f" objects, got {type(recordings).__name__}")
    return list(recordings)


def _row(recording: Any, outcome: Outcome | BaseException) -> dict[str, Any]:
    if isinstance(outcome, Outcome):
        return {"recording_id": _resolve_id(recording), "path": str(outcome.path),
                "bytes": outcome.bytes, "status": outcome.status, "error": None}
    return {"recording_id": _resolve_id(recording), "path": None, "bytes": None,
            "status": "failed", "error": f"{type(outcome).__name__}: {outcome}"}


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({
        "recording_id": pd.array([r["recording_id"] for r in rows], dtype="string"),
        "path": pd.array([r["path"] for r in rows], dtype="string"),
        "bytes": pd.array([r["bytes"] for r in rows], dtype="Int64"),
        "status": pd.array([r["status"] for r in rows], dtype="string"),
        "error": pd.array([r["error"] for r in rows], dtype="string"),
    }, columns=list(DOWNLOAD_COLUMNS))


class _Locks:
    """One lock per recording id, so the same recording given twice is fetched once."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._locks: dict[str, Any] = {}
        self._guard = threading.Lock()

    def get(self, key: str | None) -> Any:
        with self._guard:
            return self._locks.setdefault(key or "", self._factory())


def download_many_sync(client: RecordingClient, recordings: Any, folder: Any, *,
                       concurrency: int = 4, progress: bool = True,
                       overwrite: bool = False) -> pd.DataFrame:
    """Download many recordings with ``concurrency`` threads; one row each, in input order."""
    items = _inputs(recordings, concurrency)
    path = _check_folder(folder)
    rows: list[dict[str, Any] | None] = [None] * len(items)
    auth = media_auth(client)
    locks = _Locks(threading.Lock)

    with httpx.Client(**media_http_options(client)) as http:
        def download(recording: Any) -> Outcome:
            if isinstance(recording, str):
                recording = client.get_recording(recording)
            target = media_target(recording, path)
            with locks.get(target.recording_id):
                return download_sync(http, auth, target, overwrite=overwrite)

        def one(index: int) -> None:
            try:
                outcome: Outcome | BaseException = download(items[index])
            except Exception as exc:
                outcome = exc
            rows[index] = _row(items[index], outcome)

        run_threads(len(items), concurrency, one, desc="download_recordings", progress=progress)
    return _frame(_settle_duplicates(_complete(rows)))


async def download_many_async(client: AsyncRecordingClient, recordings: Any, folder: Any, *,
                              concurrency: int = 4, progress: bool = True,
                              overwrite: bool = False) -> pd.DataFrame:
    """See :func:`download_many_sync`; ``concurrency`` tasks on the running loop."""
    items = _inputs(recordings, concurrency)
    path = _check_folder(folder)
    rows: list[dict[str, Any] | None] = [None] * len(items)
    auth = media_auth(client)
    locks = _Locks(asyncio.Lock)

    async with httpx.AsyncClient(**media_http_options(client)) as http:
        async def download(recording: Any) -> Outcome:
            if isinstance(recording, str):
                recording = await client.get_recording(recording)
            target = media_target(recording, path)
            async with locks.get(target.recording_id):
                return await download_async(http, auth, target, overwrite=overwrite)

        async def one(index: int) -> None:
            try:
                outcome: Outcome | BaseException = await download(items[index])
            except Exception as exc:
                outcome = exc
            rows[index] = _row(items[index], outcome)

        await run_tasks(len(items), concurrency, one, desc="download_recordings",
                        progress=progress)
    return _frame(_settle_duplicates(_complete(rows)))


def _complete(rows: list[dict[str, Any] | None]) -> list[dict[str, Any]]:
    """The rows of a bulk download that ran to its end (an interrupt raises before this)."""
    assert all(row is not None for row in rows)
    return [row for row in rows if row is not None]


def _settle_duplicates(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A recording given twice was downloaded by whichever row ran first: the first row in input
    order reads ``downloaded`` and the later ones ``already_complete``, however threads ran."""
    first: dict[str, int] = {}
    for index, row in enumerate(rows):
        if row["status"] == "failed" or row["recording_id"] is None:
            continue
        rid = row["recording_id"]
        if rid not in first:
            first[rid] = index
            continue
        head = rows[first[rid]]
        if row["status"] == "downloaded" and head["status"] == "already_complete":
            head["status"], row["status"] = "downloaded", "already_complete"
    return rows
