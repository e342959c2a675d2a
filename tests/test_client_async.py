"""AsyncRecordingClient (client.py): the async twin behaves like RecordingClient."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime, timedelta

import httpx
import pandas as pd
import pytest
from plivo_fake import (
    TOKEN,
    FakePlivo,
    answer,
    assert_no_token,
    connect_error,
    echo_started,
    read_timeout,
    started,
)

from recording_toolkit import errors
from recording_toolkit._bulk import BULK_COLUMNS
from recording_toolkit._ratelimit import RateLimiter
from recording_toolkit._retry import RetryPolicy
from recording_toolkit.client import AsyncRecordingClient, RecordingClient
from recording_toolkit.server import BackgroundServer

AUTH_ID = "MATESTACCOUNT0000001"


class Waits:
    def __init__(self) -> None:
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def policy(self, max_retries: int = 3, **kw) -> RetryPolicy:
        def no_blocking_sleep(seconds: float) -> None:
            raise AssertionError("the async client must not block the event loop")
        return RetryPolicy(max_retries=max_retries, random=lambda: 1.0, sleep=no_blocking_sleep,
                           async_sleep=self.sleep, **kw)


def make(fake, *, waits: Waits | None = None, max_retries: int = 3, **kw) -> AsyncRecordingClient:
    kw.setdefault("rate_limit", None)
    return AsyncRecordingClient(AUTH_ID, TOKEN, transport=httpx.MockTransport(fake),
                                max_retries=(waits or Waits()).policy(max_retries), **kw)


def run(coro):
    return asyncio.run(coro)


async def raises(coro) -> errors.RecordingToolkitError:
    try:
        await coro
    except errors.RecordingToolkitError as exc:
        return exc
    raise AssertionError("no toolkit error raised")


def test_start_and_stop_send_what_the_sync_client_sends():
    sync_fake, async_fake = FakePlivo(started(), answer(204)), FakePlivo(started(), answer(204))
    options = {"file_format": "wav", "transcription_type": "auto",
               "transcription_url": "https://h/t", "callback_url": "https://h/c#rc=2"}
    with RecordingClient(AUTH_ID, TOKEN, transport=sync_fake.transport, rate_limit=None) as client:
        sync_result = client.start_recording("My Conf Room", **options)
        client.stop_recording("My Conf Room")

    async def main():
        async with make(async_fake) as client:
            return (await client.start_recording("My Conf Room", **options),
                    await client.stop_recording("My Conf Room"))

    result, stopped = run(main())
    assert (result.recording_id, result.api_id) == (sync_result.recording_id, sync_result.api_id)
    assert stopped.conference_name == "My Conf Room" and stopped.api_id is None
    for ours, theirs in zip(async_fake.requests, sync_fake.requests, strict=True):
        assert (ours.method, ours.url, ours.content) == (theirs.method, theirs.url, theirs.content)
        for header in ("Authorization", "Content-Type", "Accept", "User-Agent"):
            assert ours.headers[header] == theirs.headers[header]
    assert async_fake.requests[0].url.raw_path.decode().endswith(
        "/Conference/My%20Conf%20Room/Record/")


@pytest.mark.parametrize(("status", "cls"), [
    (400, errors.BadRequestError), (401, errors.AuthenticationError),
    (403, errors.ForbiddenError), (404, errors.NotFoundError),
    (409, errors.InvalidRequestError), (429, errors.RateLimitError), (502, errors.ServerError),
])
def test_error_statuses_map_to_the_same_exceptions(status, cls):
    fake = FakePlivo(answer(status, {"api_id": "api-e", "error": "nope"}))

    async def main():
        async with make(fake, max_retries=0) as client:
            return await raises(client.start_recording("weekly sync"))

    exc = run(main())
    assert type(exc) is cls
    assert (exc.status_code, exc.api_id, exc.error, exc.conference_name) == (
        status, "api-e", "nope", "weekly sync")


def test_retries_wait_without_blocking_and_honour_retry_after():
    waits = Waits()
    fake = FakePlivo(answer(429, {"error": "x"}, {"Retry-After": "2"}), connect_error(),
                     started())

    async def main():
        async with make(fake, waits=waits) as client:
            return await client.start_recording("x")

    assert run(main()).recording_id == "rec-1"
    assert waits.sleeps == [2.0, 1.0] and len(fake.requests) == 3


@pytest.mark.parametrize(("failure", "retry_unsafe", "requests"), [
    (answer(502, {"error": "x"}), False, 1), (read_timeout(), False, 1),
    (answer(502, {"error": "x"}), True, 2), (read_timeout(), True, 2),
])
def test_uncertain_starts_are_retried_only_when_asked(failure, retry_unsafe, requests):
    fake = FakePlivo(failure, started())

    async def main():
        async with make(fake, retry_unsafe=retry_unsafe) as client:
            try:
                await client.start_recording("x")
            except errors.RecordingToolkitError as exc:
                assert exc.may_have_started

    run(main())
    assert len(fake.requests) == requests


def test_stop_retries_server_errors():
    fake = FakePlivo(answer(500, {"error": "x"}), read_timeout(), answer(204))

    async def main():
        async with make(fake) as client:
            await client.stop_recording("x")

    run(main())
    assert len(fake.requests) == 3


def test_rate_limit_holds_for_concurrent_tasks():
    clock = {"now": 0.0}

    async def fake_sleep(seconds: float) -> None:
        clock["now"] += seconds
        await asyncio.sleep(0)

    limiter = RateLimiter(5, 1.0, clock=lambda: clock["now"], async_sleep=fake_sleep)
    sent: list[float] = []

    def plivo(request):
        sent.append(clock["now"])
        return echo_started(request)

    async def main():
        async with make(plivo, rate_limit=limiter) as client:
            return await client.start_recordings([f"r{i}" for i in range(23)], concurrency=8,
                                                 progress=False)

    df = run(main())
    assert df["ok"].all() and len(sent) == 23
    for t in sent:
        assert sum(t <= s < t + 1.0 for s in sent) <= 5


def test_bulk_order_partial_failure_and_dtypes():
    last_answered = asyncio.Event()

    async def plivo(request):
        name = json.loads(request.content)["conference_name"]
        if name == "a":  # the first item is answered after the last (waits 10 s at most)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(last_answered.wait(), timeout=10)
        if name == "d":
            last_answered.set()
        if name == "gone":
            return httpx.Response(404, json={"api_id": "a", "error": "conference not found"})
        return echo_started(request)

    items = ["a", "gone", {"conference_name": "b", "file_format": "wav"}, "", "c", "d"]

    async def main():
        async with make(plivo) as client:
            return await client.start_recordings(items, concurrency=3, progress=False)

    df = run(main())
    assert list(df.columns) == list(BULK_COLUMNS)
    assert list(df["conference_name"]) == ["a", "gone", "b", "", "c", "d"]
    assert list(df["ok"]) == [True, False, True, False, True, True]
    assert list(df["recording_id"].fillna("-")) == ["rec-a", "-", "rec-b", "-", "rec-c", "rec-d"]
    assert list(df["error_type"].fillna("-")) == ["-", "NotFoundError", "-", "ValidationError",
                                                  "-", "-"]
    assert df.dtypes["ok"] == pd.BooleanDtype() and df.dtypes["attempts"] == pd.Int64Dtype()
    assert df.dtypes["latency_ms"] == pd.Float64Dtype()
    assert df.dtypes["recording_id"] == pd.StringDtype("pyarrow")


def test_bulk_concurrency_is_bounded():
    state = {"now": 0, "peak": 0}
    four_at_once = asyncio.Event()

    async def plivo(request):  # the first requests wait until four are in flight together
        state["now"] += 1
        state["peak"] = max(state["peak"], state["now"])
        if state["now"] == 4:
            four_at_once.set()
        try:
            await asyncio.wait_for(four_at_once.wait(), timeout=10)
        except TimeoutError:
            four_at_once.set()  # never four at once: let the rest by; the peak below says so
        state["now"] -= 1
        return echo_started(request)

    async def main():
        async with make(plivo) as client:
            return await client.start_recordings([f"r{i}" for i in range(30)], concurrency=4,
                                                 progress=False)

    assert run(main())["ok"].all()
    assert state["peak"] == 4


def test_bulk_journals_and_redacts(tmp_path):
    path = tmp_path / "journal.jsonl"

    async def main():
        async with make(echo_started, journal=path) as client:
            await client.start_recordings(["a", "b"], progress=False)
            assert_no_token(repr(client))

    run(main())
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted(line["recording_id"] for line in lines) == ["rec-a", "rec-b"]
    assert_no_token(path.read_text())


def test_a_journal_that_cannot_be_written_is_refused_when_the_client_is_made(tmp_path):
    (tmp_path / "file").write_text("")
    fake = FakePlivo()
    for journal, says in [
            (tmp_path, f"journal: {str(tmp_path)!r} is a folder"),
            (tmp_path / "file" / "j.jsonl",
             f"journal: cannot write {str(tmp_path / 'file' / 'j.jsonl')!r}:"
             f" {str(tmp_path / 'file')!r} is a file, not a folder")]:
        with pytest.raises(errors.ConfigurationError) as info:
            make(fake, journal=journal)
        assert str(info.value).startswith(says)
    assert fake.requests == []
    made = tmp_path / "new" / "j.jsonl"

    async def main():
        async with make(fake, journal=made):
            assert made.parent.is_dir()  # a missing folder is made, the file checked, up front

    run(main())


@pytest.mark.parametrize(("name", "says"), [
    ("a" * 70_000, "is too long: its 70,000 characters take 70,000 bytes percent-encoded"),
    ("\N{GRINNING FACE}" * 10_000, "its 10,000 characters take 120,000 bytes"),
    ("caf\udce9", "stands for the byte 0xe9, which is not UTF-8"),
    ("\ud800", "is a lone surrogate (U+D800)"),
])
def test_a_name_no_url_can_carry_is_a_validation_error_and_nothing_is_sent(tmp_path, name,
                                                                           says):
    fake, path = FakePlivo(), tmp_path / "journal.jsonl"

    async def main():
        async with make(fake, journal=path) as client:
            return (await raises(client.start_recording(name)),
                    await raises(client.stop_recording(name)))

    for exc in run(main()):
        assert type(exc) is errors.ValidationError and exc.field == "conference_name"
        assert says in str(exc) and len(str(exc)) < 400
    assert fake.requests == [] and not path.exists()


def test_a_request_that_cannot_be_built_is_a_toolkit_error_never_journalled(tmp_path,
                                                                             monkeypatch):
    fake, path = FakePlivo(), tmp_path / "journal.jsonl"

    def refuse(*args, **kwargs):
        raise httpx.InvalidURL("URL too long")

    async def main():
        async with make(fake, journal=path) as client:
            monkeypatch.setattr(client._http, "build_request", refuse)
            return await raises(client.start_recording("x"))

    exc = run(main())
    assert type(exc) is errors.ValidationError and "nothing was sent" in str(exc)
    assert fake.requests == [] and not path.exists()


def test_an_unreadable_answer_is_a_transport_error_that_may_have_started():
    fake = FakePlivo(httpx.DecodingError("bad gzip"))

    async def main():
        async with make(fake) as client:
            return await raises(client.start_recording("x"))

    exc = run(main())
    assert type(exc) is errors.TransportError and exc.may_have_started


def test_stop_says_what_plivo_answered():
    async def main():
        async with make(FakePlivo(answer(204))) as client:
            return await client.stop_recording("x")

    data = run(main()).to_dict()
    assert list(data) == ["conference_name", "stopped", "status_code", "requested_at"]
    assert (data["stopped"], data["status_code"]) == (True, 204)


def test_iter_recordings_is_an_async_iterator_over_every_page():
    pages = {0: ["r1", "r2"], 2: ["r3", "r4"], 4: ["r5"]}

    def plivo(request):
        offset = int(request.url.params["offset"])
        nxt = offset + 2 if offset + 2 in pages else None
        return httpx.Response(200, json={
            "meta": {"next": nxt and f"/v1/Account/{AUTH_ID}/Recording/?offset={nxt}&limit=2"},
            "objects": [{"recording_id": r} for r in pages[offset]]})

    async def main():
        async with make(plivo) as client:
            with pytest.raises(errors.ValidationError):
                client.iter_recordings(limit=0)
            until = datetime(2026, 1, 10)
            return [r["recording_id"] async for r in client.iter_recordings(
                since=until - timedelta(days=1), until=until, limit=2)]

    assert run(main()) == ["r1", "r2", "r3", "r4", "r5"]


def test_get_recording():
    async def main():
        async with make(answer(200, {"recording_id": "r1"})) as client:
            return await client.get_recording("r1")

    assert run(main()) == {"recording_id": "r1"}


def test_env_fallback_and_closing():
    fake = FakePlivo()
    environ = {"PLIVO_AUTH_ID": AUTH_ID, "PLIVO_AUTH_TOKEN": TOKEN,
               "PLIVO_API_BASE_URL": "http://127.0.0.1:9/"}

    async def main():
        client = AsyncRecordingClient(environ=environ, transport=fake.transport, rate_limit=None)
        async with client:
            await client.start_recording("x")
        with pytest.raises(RuntimeError, match="closed"):
            await client.start_recording("y")
        return client

    client = run(main())
    assert str(fake.requests[0].url).startswith("http://127.0.0.1:9/v1/Account/")
    assert repr(client) == (f"AsyncRecordingClient(auth_id='{AUTH_ID}',"
                            " base_url='http://127.0.0.1:9')")


def test_against_a_real_server_on_loopback():
    """One round trip over a real socket: headers, body and 202 parsing survive the wire."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    seen = []

    async def record(request: Request) -> Response:
        seen.append((request.method, request.url.path, request.headers.get("authorization"),
                     await request.json()))
        if request.method == "DELETE":
            return Response(status_code=204)
        return JSONResponse({"api_id": "srv", "message": "conference recording started",
                             "recording_id": "srv-rec", "url": "https://m/srv-rec.mp3"},
                            status_code=202)

    app = Starlette(routes=[Route("/v1/Account/{aid}/Conference/{name}/Record/", record,
                                  methods=["POST", "DELETE"])])

    async def main(url):
        async with AsyncRecordingClient(AUTH_ID, TOKEN, base_url=url) as client:
            result = await client.start_recording("My Conf Room")
            await client.stop_recording("My Conf Room")
            return result

    with BackgroundServer(app) as server:
        result = run(main(server.url))
        with RecordingClient(AUTH_ID, TOKEN, base_url=server.url) as client:
            df = client.start_recordings(["a b", "c#d?é"], progress=False)
    assert result.recording_id == "srv-rec"
    assert seen[0][:2] == ("POST", "/v1/Account/MATESTACCOUNT0000001/Conference/My Conf Room/Record/")
    assert seen[0][2].startswith("Basic ") and seen[0][3]["conference_name"] == "My Conf Room"
    assert seen[1][0] == "DELETE"
    assert df["ok"].all()
    assert sorted(body["conference_name"] for *_, body in seen[2:]) == ["a b", "c#d?é"]
