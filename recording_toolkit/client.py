"""Clients for Plivo's conference Record API: :class:`RecordingClient` and
:class:`AsyncRecordingClient`.

Both share :class:`~recording_toolkit._client_core.BaseRecordingClient` (validation, request
building, answer mapping, retry decisions, journal) and write only their I/O here, so they behave
identically. Compared with the official SDK they validate every option before sending, percent-
encode conference names safely, back off with jitter and honour ``Retry-After``, never retry a
start that may have begun a recording (unless asked to), stay under Plivo's 300 requests per 5 s
on their own, and keep a journal of every start, stop and delete.

Examples
--------
Against a mock transport (tests and docs never touch the network):

>>> import httpx
>>> def plivo(request):
...     return httpx.Response(202, json={"api_id": "a-1", "message": "conference recording started",
...                                      "recording_id": "r-1", "url": "https://media.plivo.com/r-1.mp3"})
>>> with RecordingClient("MA" + "0" * 18, "token", transport=httpx.MockTransport(plivo)) as client:
...     result = client.start_recording("weekly sync")
>>> result.recording_id, result.conference_name
('r-1', 'weekly sync')
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ._bulk import BulkRow, bulk_frame, bulk_row, delete_frame, delete_row, dry_run_rows
from ._calls import PreparedCall, Trace
from ._client_core import BaseRecordingClient
from ._http import SEND_FAILURES, httpx
from ._listing import RecordingPager
from ._results import (
    DeleteResult,
    RecordingResult,
    StopResult,
    delete_result,
    json_object,
    start_result,
    stop_result,
)
from ._workers import progress_bar, run_tasks, run_threads

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AsyncRecordingClient", "DeleteResult", "RecordingClient", "RecordingResult",
           "StopResult"]


R = TypeVar("R", bound=RecordingResult | StopResult | DeleteResult)
#: Reads a successful answer into a result (see :mod:`recording_toolkit._results`).
Reader = Callable[[PreparedCall, Trace, httpx.Response], R]
#: Makes a bulk frame's row from an item and its outcome (see :mod:`recording_toolkit._bulk`).
RowMaker = Callable[[Any, Any, Trace | None], BulkRow]
Prepared = list[tuple[Any, PreparedCall | Exception]]


def _filled(rows: list[BulkRow | None]) -> list[BulkRow]:
    """The rows of a bulk call that ran to its end (an interrupt raises before this)."""
    assert all(row is not None for row in rows)
    return [row for row in rows if row is not None]


class RecordingClient(BaseRecordingClient):
    """Start and stop Plivo conference recordings; list, fetch and delete recordings (blocking
    I/O).

    Parameters
    ----------
    auth_id, auth_token
        Plivo credentials; default ``PLIVO_AUTH_ID`` / ``PLIVO_AUTH_TOKEN`` from ``environ``.
        A missing or malformed auth id is a :class:`~recording_toolkit.errors.ConfigurationError`
        here, not at the first request. The token is never shown by ``repr`` or in errors.
    base_url
        API root; default ``PLIVO_API_BASE_URL``, else ``https://api.plivo.com`` (point it at the
        sandbox to run without an account).
    timeout
        Seconds for each of connect, write, pool wait and read.
    max_retries
        Retries after the first attempt, or a :class:`~recording_toolkit._retry.RetryPolicy`
        (back-off settings; tests inject their sleep and randomness here).
    rate_limit
        ``(requests, seconds)``, default Plivo's ``(300, 5.0)``; ``None`` disables it; a shared
        :class:`~recording_toolkit._ratelimit.RateLimiter` lets several clients share a budget.
    transport
        An httpx transport (e.g. ``httpx.MockTransport`` in tests).
    journal
        Path (or :class:`~recording_toolkit.journal.RequestJournal`) of the JSON Lines request
        journal; every start, stop and delete is appended after its retries. It is checked here
        (missing folders are created; the file appears with its first line): a path that cannot
        be written is a :class:`~recording_toolkit.errors.ConfigurationError` naming ``journal``
        and the path, before any request is sent.
    environ
        Mapping used instead of :data:`os.environ` for the variables above.
    retry_unsafe
        Also retry a start whose outcome is unknown (HTTP 500/502/504, read timeout). Off by
        default: if the first attempt did start a recording, the retry starts a second, billed one.
    """

    _http: httpx.Client

    def _open_http(self, options: dict[str, Any]) -> httpx.Client:
        return httpx.Client(**options)

    # I/O -----------------------------------------------------------------------------------------

    def _send(self, call: PreparedCall, trace: Trace) -> httpx.Response:
        """Send ``call`` until it succeeds or the retry policy gives up (then raise its error)."""
        while True:
            request = self._build_request(call)  # fails before anything is sent, or not at all
            limiter = self.rate_limiter
            slot = limiter.acquire(hold=True) if limiter is not None else None
            trace.attempt()
            try:
                try:
                    response = self._http.send(request)
                finally:
                    if limiter is not None and slot is not None:
                        limiter.release(slot)  # Plivo counted it somewhere before this
            except SEND_FAILURES as exc:
                delay = self._retry_delay(call, trace, failure=exc)
            else:
                if self._answers(call, response):
                    return response
                delay = self._retry_delay(call, trace, response=response)
            self.retry_policy.sleep(delay)

    def _journalled(self, call: PreparedCall, trace: Trace, read: Reader[R]) -> R:
        """Send ``call``, read its answer into a result and journal either outcome."""
        try:
            result = read(call, trace, self._send(call, trace))
        except BaseException as exc:
            self._journal(call, trace, error=exc)
            raise
        self._journal(call, trace, result=result)
        return result

    def _bulk_row(self, item: Any, call: PreparedCall | Exception, read: Reader[R],
                  row: RowMaker) -> BulkRow:
        """One bulk item's row: its check's error, its call's failure or its result."""
        if isinstance(call, Exception):
            return row(item, call, None)
        trace = Trace()
        try:
            return row(item, self._journalled(call, trace, read), trace)
        except Exception as exc:
            return row(item, exc, trace)

    def _bulk(self, prepared: Prepared, read: Reader[R], row: RowMaker, *, concurrency: int,
              progress: bool, desc: str) -> list[BulkRow]:
        """Every prepared item's row, in input order, on up to ``concurrency`` threads."""
        rows: list[BulkRow | None] = [None] * len(prepared)

        def one(index: int) -> None:
            rows[index] = self._bulk_row(*prepared[index], read, row)

        run_threads(len(prepared), concurrency, one, desc=desc, progress=progress)
        return _filled(rows)

    # API -----------------------------------------------------------------------------------------

    def start_recording(self, conference_name: str, *, file_format: str = "mp3",
                        transcription_type: str | None = None,
                        transcription_url: str | None = None, callback_url: str | None = None,
                        callback_method: str = "POST") -> RecordingResult:
        """Start recording a live conference; returns Plivo's answer as a frozen result.

        Options are validated first (:class:`~recording_toolkit.errors.ValidationError` names the
        field; nothing is sent): the conference name must be valid Unicode text of at most
        :data:`~recording_toolkit.validation.MAX_CONFERENCE_NAME_BYTES` bytes once
        percent-encoded into the URL. ``transcription_type="auto"`` with a
        ``transcription_url`` asks for a transcript; ``callback_url`` (with ``callback_method``) receives the recording callback and may carry
        Plivo's retry fragment (``#ct=2000&rc=3``). Raises a
        :class:`~recording_toolkit.errors.PlivoAPIError` subclass for an error status, a
        :class:`~recording_toolkit.errors.TransportError` when no answer came; both say whether
        the recording ``may_have_started``.
        """
        call = self._prepare_start(conference_name, file_format=file_format,
                                   transcription_type=transcription_type,
                                   transcription_url=transcription_url, callback_url=callback_url,
                                   callback_method=callback_method)
        return self._journalled(call, Trace(), start_result)

    def stop_recording(self, conference_name: str) -> StopResult:
        """Stop recording a conference (DELETE; HTTP 204 with or without a body is success).

        Returns a :class:`StopResult`: ``status_code`` is what Plivo answered (204), and
        ``api_id`` / ``message`` are None unless its answer had a body with them.
        """
        return self._journalled(self._prepare_stop(conference_name), Trace(), stop_result)

    def delete_recording(self, recording_id: str) -> DeleteResult:
        """Delete one recording (``DELETE .../Recording/{id}/``; Plivo answers 204).

        A 404 means there is nothing by that id (deleted before, perhaps by an earlier run):
        the result says ``status="already_deleted"`` rather than raising, so deleting is safe
        to repeat. Deleting is idempotent, so a 5xx, 429 or lost answer is retried like a stop
        (``max_retries``), within the rate limit. Journalled as ``"action": "delete"``. Raises
        a :class:`~recording_toolkit.errors.PlivoAPIError` for any other error status, a
        :class:`~recording_toolkit.errors.TransportError` when no answer came.
        """
        return self._journalled(self._prepare_delete(recording_id), Trace(), delete_result)

    def delete_recordings(self, ids: Any, *, concurrency: int = 10, progress: bool = True,
                          dry_run: bool = False) -> pd.DataFrame:
        """Delete many recordings; one row per id, in input order, whatever happened.

        Columns (:data:`~recording_toolkit._bulk.DELETE_COLUMNS`): ``recording_id``,
        ``ok``, ``status`` (``deleted``, ``already_deleted``, ``failed`` or, in a dry run,
        ``would_delete``), ``status_code`` and ``error``. An id that is not valid, or whose
        delete failed after its retries, is a ``failed`` row; the others go on. With
        ``dry_run=True`` the ids are checked and nothing is sent or journalled.
        """
        prepared = self._prepare_deletes(ids, concurrency)
        if dry_run:
            return delete_frame(dry_run_rows(prepared))
        return delete_frame(self._bulk(prepared, delete_result, delete_row,
                                       concurrency=concurrency, progress=progress,
                                       desc="delete_recordings"))

    def start_recordings(self, items: Any, *, concurrency: int = 10, progress: bool = True,
                         **defaults: Any) -> pd.DataFrame:
        """Start many recordings; one row per item, in input order, whatever happened.

        ``items`` are conference names, dicts of per-recording options (``conference_name`` plus
        any option of :meth:`start_recording`), or a DataFrame with those columns. ``defaults``
        apply to every item unless the item overrides them. A failure (validation, HTTP error, no
        answer) becomes that item's row; the others go on. Columns: ``conference_name``, ``ok``,
        ``recording_id``, ``api_id``, ``url``, ``error_type``, ``error``, ``attempts``,
        ``latency_ms``.

        Runs ``concurrency`` worker threads over one connection pool (threads rather than an event
        loop: it works inside Jupyter's running loop, and httpx's blocking client is the faster
        of the two per request). The rate limit applies across all of them.
        """
        prepared = self._prepare_starts(items, defaults, concurrency)
        return bulk_frame(self._bulk(prepared, start_result, bulk_row, concurrency=concurrency,
                                     progress=progress, desc="start_recordings"))

    def iter_recordings(self, *, since: Any = None, until: Any = None, limit: int = 20,
                        progress: bool = False, **filters: Any) -> Iterator[dict[str, Any]]:
        """Recordings from Plivo's Recording list API, one dict per recording (Plivo's fields).

        ``filters`` are Plivo's own (:data:`~recording_toolkit._listing.LIST_FILTERS`):
        ``conference_name``, ``conference_uuid``, ``call_uuid``, ``from_number``,
        ``to_number``; ``add_time`` and ``add_time__gt/__gte/__lt/__lte`` (datetimes, dates or
        ISO text, naive means UTC, sent as ``YYYY-MM-DD HH:MM:SS[.uuuuuu]`` UTC);
        ``recording_storage_duration`` and its ``__gt/__gte/__lt/__lte`` forms (whole days). An
        unknown filter is a :class:`~recording_toolkit.errors.ValidationError` naming the
        allowed ones.

        Without an ``add_time`` filter, ``since`` .. ``until`` (default the last 7 days) is
        queried in windows of at most 30 days (Plivo rejects longer ranges); with one, the
        query is exactly what the filters say (``since``/``until`` may then not be given).
        Pages of ``limit`` (at most 20) follow ``meta.next`` as given, by offset or by cursor,
        and stop when it is null or repeats a page already asked for. Arguments are checked at
        once; requests are made as the iterator is consumed. A recording listed twice (the list
        shifted while paging) is yielded once.
        """
        pager = self._pager(since=since, until=until, limit=limit, filters=filters)
        return self._iterate(pager, progress)

    def _iterate(self, pager: RecordingPager, progress: bool) -> Iterator[dict[str, Any]]:
        bar = progress_bar(total=None, enabled=progress, desc="recordings")
        try:
            call = pager.first()
            while call is not None:
                response = self._send(call, Trace())
                objects, call = pager.feed(call, json_object(call, response))
                bar.update(len(objects))
                yield from objects
        finally:
            bar.close()

    def get_recording(self, recording_id: str) -> dict[str, Any]:
        """One recording's details from the Recording API (Plivo's JSON object)."""
        call = self._prepare_get(recording_id)
        return json_object(call, self._send(call, Trace()))

    def get_transcription(self, recording_id: str) -> dict[str, Any]:
        """A recording's transcription from Plivo's Transcription API (its JSON object:
        ``transcription``, ``cost``, ``rate``, ``recording_duration_ms``, ``status``...).

        Raises :class:`~recording_toolkit.errors.NotFoundError` when Plivo has none for it (not
        asked for, or not ready yet).
        """
        call = self._prepare_get_transcription(recording_id)
        return json_object(call, self._send(call, Trace()))

    def close(self) -> None:
        """Close the connections (and the journal, if this client opened it)."""
        self._closed = True
        self._http.close()
        self._close_journal()

    def __enter__(self) -> RecordingClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # downloads (the logic lives in recording_toolkit.download) -----------------------------------

    def download_recording(self, recording: Any, folder: str | os.PathLike[str], *,
                           overwrite: bool = False) -> Path:
        """Download one recording's audio to ``folder/{recording_id}.{format}``; returns the path.

        ``recording`` is a Recording API object (a dict with ``recording_id``, ``recording_url``
        or ``record_url`` and ``recording_format``) or a recording id, fetched first with
        :meth:`get_recording`. Atomic (``.part`` then rename), resumable (a complete file is
        skipped, a ``.part`` resumed with ``Range``), checked against ``Content-Length``; Basic
        auth only when the media URL's host asks for it. See :mod:`recording_toolkit.download`.
        """
        from .download import download_one_sync

        return download_one_sync(self, recording, folder, overwrite=overwrite).path

    def download_recordings(self, recordings: Any, folder: str | os.PathLike[str], *,
                            concurrency: int = 4, progress: bool = True,
                            overwrite: bool = False) -> pd.DataFrame:
        """Download many recordings (ids, Recording API objects or a DataFrame of them) with
        ``concurrency`` threads. One row per input, in input order: ``recording_id``, ``path``,
        ``bytes``, ``status`` (``downloaded``, ``already_complete``, ``failed``), ``error``;
        a failure is that row's, never raised."""
        from .download import download_many_sync

        return download_many_sync(self, recordings, folder, concurrency=concurrency,
                                  progress=progress, overwrite=overwrite)


class AsyncRecordingClient(BaseRecordingClient):
    """The asyncio twin of :class:`RecordingClient`: same parameters, same behaviour; the
    methods are coroutines, ``iter_recordings`` is an async iterator and the client is an
    ``async with`` context manager.

    Examples
    --------
    >>> import asyncio, httpx
    >>> def plivo(request):
    ...     return httpx.Response(204)
    >>> async def main():
    ...     async with AsyncRecordingClient("MA" + "0" * 18, "token",
    ...                                     transport=httpx.MockTransport(plivo)) as client:
    ...         return await client.stop_recording("weekly sync")
    >>> asyncio.run(main()).conference_name
    'weekly sync'
    """

    _http: httpx.AsyncClient

    def _open_http(self, options: dict[str, Any]) -> httpx.AsyncClient:
        return httpx.AsyncClient(**options)

    # I/O -----------------------------------------------------------------------------------------

    async def _send(self, call: PreparedCall, trace: Trace) -> httpx.Response:
        """See :meth:`RecordingClient._send`."""
        while True:
            request = self._build_request(call)  # fails before anything is sent, or not at all
            limiter = self.rate_limiter
            slot = await limiter.acquire_async(hold=True) if limiter is not None else None
            trace.attempt()
            try:
                try:
                    response = await self._http.send(request)
                finally:
                    if limiter is not None and slot is not None:
                        limiter.release(slot)
            except SEND_FAILURES as exc:
                delay = self._retry_delay(call, trace, failure=exc)
            else:
                if self._answers(call, response):
                    return response
                delay = self._retry_delay(call, trace, response=response)
            await self.retry_policy.async_sleep(delay)

    async def _journalled(self, call: PreparedCall, trace: Trace, read: Reader[R]) -> R:
        """See :meth:`RecordingClient._journalled`."""
        try:
            result = read(call, trace, await self._send(call, trace))
        except BaseException as exc:
            self._journal(call, trace, error=exc)
            raise
        self._journal(call, trace, result=result)
        return result

    async def _bulk_row(self, item: Any, call: PreparedCall | Exception, read: Reader[R],
                        row: RowMaker) -> BulkRow:
        """See :meth:`RecordingClient._bulk_row`."""
        if isinstance(call, Exception):
            return row(item, call, None)
        trace = Trace()
        try:
            return row(item, await self._journalled(call, trace, read), trace)
        except Exception as exc:
            return row(item, exc, trace)

    async def _bulk(self, prepared: Prepared, read: Reader[R], row: RowMaker, *,
                    concurrency: int, progress: bool, desc: str) -> list[BulkRow]:
        """Every prepared item's row, in input order, on ``concurrency`` tasks of this loop."""
        rows: list[BulkRow | None] = [None] * len(prepared)

        async def one(index: int) -> None:
            rows[index] = await self._bulk_row(*prepared[index], read, row)

        await run_tasks(len(prepared), concurrency, one, desc=desc, progress=progress)
        return _filled(rows)

    # API -----------------------------------------------------------------------------------------

    async def start_recording(self, conference_name: str, *, file_format: str = "mp3",
                              transcription_type: str | None = None,
                              transcription_url: str | None = None,
                              callback_url: str | None = None,
                              callback_method: str = "POST") -> RecordingResult:
        """See :meth:`RecordingClient.start_recording`."""
        call = self._prepare_start(conference_name, file_format=file_format,
                                   transcription_type=transcription_type,
                                   transcription_url=transcription_url, callback_url=callback_url,
                                   callback_method=callback_method)
        return await self._journalled(call, Trace(), start_result)

    async def stop_recording(self, conference_name: str) -> StopResult:
        """See :meth:`RecordingClient.stop_recording`."""
        return await self._journalled(self._prepare_stop(conference_name), Trace(), stop_result)

    async def delete_recording(self, recording_id: str) -> DeleteResult:
        """See :meth:`RecordingClient.delete_recording`."""
        return await self._journalled(self._prepare_delete(recording_id), Trace(),
                                      delete_result)

    async def delete_recordings(self, ids: Any, *, concurrency: int = 10, progress: bool = True,
                                dry_run: bool = False) -> pd.DataFrame:
        """See :meth:`RecordingClient.delete_recordings`; ``concurrency`` tasks on this loop."""
        prepared = self._prepare_deletes(ids, concurrency)
        if dry_run:
            return delete_frame(dry_run_rows(prepared))
        return delete_frame(await self._bulk(prepared, delete_result, delete_row,
                                             concurrency=concurrency, progress=progress,
                                             desc="delete_recordings"))

    async def start_recordings(self, items: Any, *, concurrency: int = 10, progress: bool = True,
                               **defaults: Any) -> pd.DataFrame:
        """See :meth:`RecordingClient.start_recordings`; ``concurrency`` tasks on this loop."""
        prepared = self._prepare_starts(items, defaults, concurrency)
        return bulk_frame(await self._bulk(prepared, start_result, bulk_row,
                                           concurrency=concurrency, progress=progress,
                                           desc="start_recordings"))

    def iter_recordings(self, *, since: Any = None, until: Any = None, limit: int = 20,
                        progress: bool = False,
                        **filters: Any) -> AsyncIterator[dict[str, Any]]:
        """See :meth:`RecordingClient.iter_recordings`; use with ``async for``."""
        pager = self._pager(since=since, until=until, limit=limit, filters=filters)
        return self._iterate(pager, progress)

    async def _iterate(self, pager: RecordingPager,
                       progress: bool) -> AsyncIterator[dict[str, Any]]:
        bar = progress_bar(total=None, enabled=progress, desc="recordings")
        try:
            call = pager.first()
            while call is not None:
                response = await self._send(call, Trace())
                objects, call = pager.feed(call, json_object(call, response))
                bar.update(len(objects))
                for obj in objects:
                    yield obj
        finally:
            bar.close()

    async def get_recording(self, recording_id: str) -> dict[str, Any]:
        """See :meth:`RecordingClient.get_recording`."""
        call = self._prepare_get(recording_id)
        return json_object(call, await self._send(call, Trace()))

    async def get_transcription(self, recording_id: str) -> dict[str, Any]:
        """See :meth:`RecordingClient.get_transcription`."""
        call = self._prepare_get_transcription(recording_id)
        return json_object(call, await self._send(call, Trace()))

    async def aclose(self) -> None:
        """Close the connections (and the journal, if this client opened it)."""
        self._closed = True
        await self._http.aclose()
        self._close_journal()

    async def __aenter__(self) -> AsyncRecordingClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # downloads (the logic lives in recording_toolkit.download) -----------------------------------

    async def download_recording(self, recording: Any, folder: str | os.PathLike[str], *,
                                 overwrite: bool = False) -> Path:
        """See :meth:`RecordingClient.download_recording`."""
        from .download import download_one_async

        return (await download_one_async(self, recording, folder, overwrite=overwrite)).path

    async def download_recordings(self, recordings: Any, folder: str | os.PathLike[str], *,
                                  concurrency: int = 4, progress: bool = True,
                                  overwrite: bool = False) -> pd.DataFrame:
        """See :meth:`RecordingClient.download_recordings`; ``concurrency`` tasks on this loop."""
        from .download import download_many_async

        return await download_many_async(self, recordings, folder, concurrency=concurrency,
                                         progress=progress, overwrite=overwrite)
