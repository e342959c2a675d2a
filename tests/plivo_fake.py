"""A scripted stand-in for Plivo's Record API, for the client tests (sync and async).

``FakePlivo(*answers)`` is an ``httpx.MockTransport`` handler: each request takes the next answer
(the last one repeats), and every request is kept in ``requests``. An answer is an
``httpx.Response`` factory (see :func:`answer`), an exception instance to raise, or a callable
``request -> Response``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import httpx

from recording_toolkit.errors import RecordingToolkitError

TOKEN = "s3cr3t-Token-Never-Shown-0123456789ab"


def started_body(recording_id: str = "rec-1", api_id: str = "api-1") -> dict[str, str]:
    return {"api_id": api_id, "message": "conference recording started",
            "recording_id": recording_id,
            "url": f"https://media.plivo.com/v1/Account/MA/Recording/{recording_id}.mp3"}


def answer(status: int, body: Any = None, headers: dict[str, str] | None = None,
           text: str | None = None) -> Callable[[httpx.Request], httpx.Response]:
    def make(request: httpx.Request) -> httpx.Response:
        if text is not None:
            return httpx.Response(status, text=text, headers=headers)
        if body is None:
            return httpx.Response(status, headers=headers)
        return httpx.Response(status, json=body, headers=headers)
    return make


def started(recording_id: str = "rec-1", api_id: str = "api-1") -> Callable[..., httpx.Response]:
    return answer(202, started_body(recording_id, api_id))


def echo_started(request: httpx.Request) -> httpx.Response:
    """202 whose recording_id is derived from the conference in the JSON body."""
    name = json.loads(request.content)["conference_name"]
    return httpx.Response(202, json=started_body(f"rec-{name}", f"api-{name}"))


class FakePlivo:
    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers) or [started()]
        self.requests: list[httpx.Request] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
            item = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(item, BaseException):
            raise item
        return item(request)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    @property
    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.requests]


def connect_error() -> httpx.ConnectError:
    return httpx.ConnectError("[Errno 111] Connection refused")


def read_timeout() -> httpx.ReadTimeout:
    return httpx.ReadTimeout("timed out")


def assert_no_token(*texts: object) -> None:
    for text in texts:
        assert TOKEN not in str(text)


def error_of(call: Callable[[], Any]) -> RecordingToolkitError:
    try:
        call()
    except RecordingToolkitError as exc:
        return exc
    raise AssertionError("no toolkit error raised")
