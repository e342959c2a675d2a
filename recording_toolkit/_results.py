"""What the clients return, and how Plivo's answers are read into it.

:class:`RecordingResult`, :class:`StopResult` and :class:`DeleteResult` are frozen results the
clients return (re-exported by :mod:`recording_toolkit.client` and the top level); the readers
below turn a successful answer into one, leniently: Plivo's bodies vary (a 204 with or without a
body, a start answered without its ``recording_id``), and a success is never turned into an error
because a field is missing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ._calls import PreparedCall, Trace
from ._http import httpx
from .errors import PlivoAPIError
from .journal import format_time

__all__ = [
    "DELETE_STATUSES",
    "DeleteResult",
    "RecordingResult",
    "StopResult",
    "delete_result",
    "json_object",
    "response_json",
    "snippet",
    "start_result",
    "stop_result",
    "text_or_none",
]


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

        >>> from datetime import UTC
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


# -- reading answers -------------------------------------------------------------------------------

def response_json(response: httpx.Response) -> Any:
    """The answer's JSON, or None when it has no body or the body is not JSON."""
    content = response.content
    if not content:
        return None
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None


def text_or_none(value: Any) -> str | None:
    """``value`` as text, None kept (for ids and messages read from an answer)."""
    return None if value is None else str(value)


def snippet(response: httpx.Response) -> str:
    """The start of the answer's text, for error messages."""
    text = response.text.strip()
    return text if len(text) <= 200 else text[:200] + "..."


def start_result(call: PreparedCall, trace: Trace, response: httpx.Response) -> RecordingResult:
    """Any 2xx means Plivo took the start; an answer without ``recording_id`` (or without
    a JSON body) is a started recording whose id is pending (see :class:`RecordingResult`)."""
    trace.status = response.status_code
    body = response_json(response)
    body = body if isinstance(body, dict) else {}
    rid = body.get("recording_id")
    assert call.conference_name is not None
    return RecordingResult(api_id=text_or_none(body.get("api_id")),
                           message=text_or_none(body.get("message")),
                           recording_id=rid if isinstance(rid, str) and rid else None,
                           url=text_or_none(body.get("url")) or None,
                           conference_name=call.conference_name,
                           requested_at=trace.requested_at)


def delete_result(call: PreparedCall, trace: Trace, response: httpx.Response) -> DeleteResult:
    """A 2xx deleted the recording; a 404 says it was already gone (its ``api_id`` is not kept:
    that answer deleted nothing)."""
    assert call.recording_id is not None
    trace.status = response.status_code
    if response.status_code == 404:
        return DeleteResult(recording_id=call.recording_id, status="already_deleted",
                            status_code=404, requested_at=trace.requested_at)
    body = response_json(response)
    return DeleteResult(
        recording_id=call.recording_id, status="deleted", status_code=trace.status,
        requested_at=trace.requested_at,
        api_id=text_or_none(body.get("api_id")) if isinstance(body, dict) else None)


def stop_result(call: PreparedCall, trace: Trace, response: httpx.Response) -> StopResult:
    """Any 2xx means the recording stopped; ``api_id`` and ``message`` only when the answer
    had a JSON body with them."""
    trace.status = response.status_code
    body = response_json(response)
    body = body if isinstance(body, dict) else {}
    assert call.conference_name is not None
    return StopResult(conference_name=call.conference_name,
                      api_id=text_or_none(body.get("api_id")),
                      message=text_or_none(body.get("message")),
                      requested_at=trace.requested_at, status_code=response.status_code)


def json_object(call: PreparedCall, response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object (a get or a list page); anything else is a
    :class:`PlivoAPIError`."""
    body = response_json(response)
    if not isinstance(body, dict):
        raise PlivoAPIError(f"expected a JSON object, got: {snippet(response) or 'empty body'}",
                            status_code=response.status_code, method=call.method)
    return body
