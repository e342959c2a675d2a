"""RecordingClient (client.py), through httpx.MockTransport: no network, no real waiting."""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

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
    error_of,
    read_timeout,
    started,
)

from recording_toolkit import errors
from recording_toolkit._bulk import BULK_COLUMNS
from recording_toolkit._ratelimit import RateLimiter
from recording_toolkit._retry import RetryPolicy
from recording_toolkit.client import RecordingClient, RecordingResult, StopResult
from recording_toolkit.journal import RequestJournal
from recording_toolkit.validation import MAX_CONFERENCE_NAME_BYTES

AUTH_ID = "MATESTACCOUNT0000001"
JOURNAL_KEYS = ["time", "action", "conference_name", "options", "ok", "status", "api_id",
                "recording_id", "error_type", "error", "may_have_started", "attempts",
                "latency_ms"]


class Waits:
    """Injected sleep for the retry policy: records the waits, never sleeps."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def policy(self, max_retries: int = 3, **kw) -> RetryPolicy:
        kw.setdefault("random", lambda: 1.0)
        return RetryPolicy(max_retries=max_retries, sleep=self.sleeps.append, **kw)


def make(fake: FakePlivo, *, waits: Waits | None = None, max_retries: int = 3,
         **kw) -> RecordingClient:
    kw.setdefault("rate_limit", None)
    policy = (waits or Waits()).policy(max_retries)
    return RecordingClient(AUTH_ID, TOKEN, transport=fake.transport, max_retries=policy, **kw)


def read_journal(path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


# -- start / stop ---------------------------------------------------------------------------------

def test_start_returns_a_frozen_result():
    fake = FakePlivo(started("rec-9", "api-9"))
    before = datetime.now(UTC)
    with make(fake) as client:
        result = client.start_recording("weekly sync", file_format="WAV")
    assert isinstance(result, RecordingResult)
    assert (result.api_id, result.recording_id, result.conference_name) == (
        "api-9", "rec-9", "weekly sync")
    assert result.message == "conference recording started"
    assert result.url.endswith("rec-9.mp3")
    assert before <= result.requested_at <= datetime.now(UTC)
    assert result.requested_at.tzinfo is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.recording_id = "other"  # type: ignore[misc]
    assert fake.bodies == [{"conference_name": "weekly sync", "file_format": "wav"}]


@pytest.mark.parametrize("body", [None, {"message": "conference recording stopped",
                                         "api_id": "api-s"}])
def test_stop_accepts_204_with_or_without_a_body(body):
    fake = FakePlivo(answer(204, body))
    with make(fake) as client:
        result = client.stop_recording("My Conf Room")
    assert isinstance(result, StopResult)
    assert result.conference_name == "My Conf Room"
    assert result.api_id == (body or {}).get("api_id")
    assert result.message == (body or {}).get("message")
    assert result.status_code == 204 and result.stopped
    data = result.to_dict()
    assert data["stopped"] is True and data["status_code"] == 204
    assert ("api_id" in data, "message" in data) == (body is not None, body is not None)
    request = fake.requests[0]
    assert request.method == "DELETE"
    assert request.url.raw_path == f"/v1/Account/{AUTH_ID}/Conference/My%20Conf%20Room/Record/".encode()


@pytest.mark.parametrize("body", [
    {"api_id": "a-1", "message": "async api spawned"},  # Plivo's answer with a callback_url
    {"api_id": "a-1", "message": "?", "recording_id": None, "url": None},
])
def test_a_start_answered_without_recording_id_is_started_with_its_id_pending(tmp_path, body):
    fake = FakePlivo(answer(202, body))
    journal = tmp_path / "journal.jsonl"
    with make(fake, journal=journal) as client:
        result = client.start_recording("x", callback_url="https://example.com/cb")
    assert result.pending and result.recording_id is None and result.url is None
    assert result.api_id == "a-1" and result.conference_name == "x"
    assert result.to_dict()["pending"] is True
    assert len(fake.requests) == 1
    (line,) = [json.loads(text) for text in journal.read_text().splitlines()]
    assert line["action"] == "start" and line["ok"] is True
    assert line["api_id"] == "a-1" and line["recording_id"] is None


def test_a_start_answered_with_a_recording_id_is_not_pending():
    fake = FakePlivo(answer(202, {"api_id": "a-1", "recording_id": "r-1", "url": "u"}))
    with make(fake) as client:
        result = client.start_recording("x")
    assert not result.pending and "pending" not in result.to_dict()


def test_invalid_options_are_rejected_before_anything_is_sent():
    fake = FakePlivo()
    with make(fake) as client:
        with pytest.raises(errors.ValidationError, match="^file_format: "):
            client.start_recording("x", file_format="flac")
        with pytest.raises(errors.ValidationError, match="^conference_name: "):
            client.stop_recording("")
    assert fake.requests == []


# -- every status to its exception ----------------------------------------------------------------

STATUS_CASES = [
    (400, errors.BadRequestError, "invalid file_format"),
    (401, errors.AuthenticationError, "authentication failed"),
    (403, errors.ForbiddenError, "forbidden"),
    (404, errors.NotFoundError, "conference not found"),
    (405, errors.InvalidRequestError, "method not allowed"),
    (409, errors.InvalidRequestError, "conflict"),
    (422, errors.InvalidRequestError, "unprocessable"),
    (429, errors.RateLimitError, "too many requests"),
    (500, errors.ServerError, "internal error"),
    (502, errors.ServerError, "bad gateway"),
    (503, errors.ServerError, "unavailable"),
    (504, errors.ServerError, "gateway timeout"),
    (418, errors.PlivoAPIError, "teapot"),
]


@pytest.mark.parametrize(("status", "cls", "text"), STATUS_CASES)
def test_every_error_status_maps_to_its_exception(status, cls, text):
    fake = FakePlivo(answer(status, {"api_id": "api-e", "error": text}))
    with make(fake, max_retries=0) as client:
        exc = error_of(lambda: client.start_recording("weekly sync"))
    assert type(exc) is cls
    assert (exc.status_code, exc.api_id, exc.error, exc.conference_name) == (
        status, "api-e", text, "weekly sync")
    assert str(exc).startswith(f"HTTP {status} for conference 'weekly sync': {text} (api_id api-e)")
    assert exc.may_have_started == (status >= 500)
    assert ("may have started" in str(exc)) == (status >= 500)


def test_error_text_reads_well_in_a_notebook():
    fake = FakePlivo(answer(404, {"api_id": "4f1a", "error": "conference not found"}))
    with make(fake) as client:
        exc = error_of(lambda: client.start_recording("weekly sync"))
    assert str(exc) == "HTTP 404 for conference 'weekly sync': conference not found (api_id 4f1a)"


@pytest.mark.parametrize(("response", "text"), [
    (answer(400, {"api_id": "a", "error": ["file_format is invalid", "callback_url too long"]}),
     "file_format is invalid; callback_url too long"),
    (answer(502, text="<html><body>Bad Gateway</body></html>"), "Bad Gateway"),
    (answer(400, text="plain words"), "plain words"),
    (answer(401), "Unauthorized"),
])
def test_error_text_from_lists_html_and_empty_bodies(response, text):
    fake = FakePlivo(response)
    with make(fake, max_retries=0) as client:
        exc = error_of(lambda: client.start_recording("x"))
    assert exc.error == text


def test_stop_errors_never_claim_a_recording_may_have_started():
    fake = FakePlivo(answer(500, {"error": "boom"}))
    with make(fake, max_retries=0) as client:
        exc = error_of(lambda: client.stop_recording("x"))
    assert isinstance(exc, errors.ServerError) and not exc.may_have_started


# -- retries --------------------------------------------------------------------------------------

def test_429_is_retried_with_backoff_then_succeeds():
    waits = Waits()
    fake = FakePlivo(answer(429, {"error": "slow down"}), answer(429, {"error": "slow down"}),
                     started())
    with make(fake, waits=waits) as client:
        assert client.start_recording("x").recording_id == "rec-1"
    assert len(fake.requests) == 3
    assert waits.sleeps == [0.5, 1.0]  # full jitter at its ceiling (random() == 1)


def test_retry_after_seconds_and_http_date_are_honoured():
    waits = Waits()
    now = 1_700_000_000.0
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now + 7))
    fake = FakePlivo(answer(429, {"error": "x"}, {"Retry-After": "3"}),
                     answer(503, {"error": "x"}, {"Retry-After": date}), started())
    policy = waits.policy(wall_clock=lambda: now)
    with RecordingClient(AUTH_ID, TOKEN, transport=fake.transport, max_retries=policy,
                         rate_limit=None) as client:
        client.start_recording("x")
    assert waits.sleeps == [3.0, 7.0]


def test_a_retry_after_too_long_to_wait_is_raised_with_its_value():
    waits = Waits()
    fake = FakePlivo(answer(429, {"error": "x"}, {"Retry-After": "600"}))
    with make(fake, waits=waits) as client:
        exc = error_of(lambda: client.start_recording("x"))
    assert isinstance(exc, errors.RateLimitError) and exc.retry_after == 600.0
    assert waits.sleeps == [] and len(fake.requests) == 1


@pytest.mark.parametrize("status", [500, 502, 504])
def test_a_start_that_may_have_been_processed_is_not_retried(status):
    fake = FakePlivo(answer(status, {"error": "x"}), started())
    with make(fake) as client:
        exc = error_of(lambda: client.start_recording("x"))
    assert exc.status_code == status and exc.may_have_started
    assert len(fake.requests) == 1


def test_503_without_retry_after_is_not_retried_but_with_it_is():
    fake = FakePlivo(answer(503, {"error": "x"}), started())
    with make(fake) as client:
        assert error_of(lambda: client.start_recording("x")).may_have_started
    fake = FakePlivo(answer(503, {"error": "x"}, {"Retry-After": "1"}), started())
    with make(fake) as client:
        client.start_recording("x")
    assert len(fake.requests) == 2


@pytest.mark.parametrize("failure", [answer(500, {"error": "x"}), answer(502, {"error": "x"}),
                                     read_timeout()])
def test_retry_unsafe_opts_in_to_retrying_uncertain_starts(failure):
    fake = FakePlivo(failure, started())
    with make(fake, retry_unsafe=True) as client:
        assert client.start_recording("x").recording_id == "rec-1"
    assert len(fake.requests) == 2


def test_connect_errors_are_retried_for_start():
    waits = Waits()
    fake = FakePlivo(connect_error(), httpx.ConnectTimeout("slow"), started())
    with make(fake, waits=waits) as client:
        client.start_recording("x")
    assert len(fake.requests) == 3 and len(waits.sleeps) == 2


def test_a_read_timeout_on_start_is_not_retried_and_says_it_may_have_started():
    fake = FakePlivo(read_timeout(), started())
    with make(fake) as client:
        exc = error_of(lambda: client.start_recording("weekly sync"))
    assert isinstance(exc, errors.RequestTimeoutError) and exc.may_have_started
    assert "weekly sync" in str(exc) and "may have started" in str(exc)
    assert isinstance(exc.__cause__, httpx.ReadTimeout)
    assert len(fake.requests) == 1


def test_a_dropped_connection_after_sending_is_a_transport_error_that_may_have_started():
    fake = FakePlivo(httpx.RemoteProtocolError("Server disconnected"), started())
    with make(fake) as client:
        exc = error_of(lambda: client.start_recording("x"))
    assert type(exc) is errors.TransportError and exc.may_have_started
    assert len(fake.requests) == 1


@pytest.mark.parametrize("failure", [answer(500, {"error": "x"}), answer(502, {"error": "x"}),
                                     answer(503, {"error": "x"}), read_timeout(),
                                     connect_error(), answer(429, {"error": "x"})])
def test_stop_retries_server_errors_and_timeouts(failure):
    fake = FakePlivo(failure, answer(204))
    with make(fake) as client:
        client.stop_recording("x")
    assert len(fake.requests) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 422])
def test_client_errors_are_never_retried(status):
    fake = FakePlivo(answer(status, {"error": "x"}), answer(204))
    with make(fake) as client:
        error_of(lambda: client.stop_recording("x"))
    assert len(fake.requests) == 1


def test_retries_stop_after_max_retries():
    waits = Waits()
    fake = FakePlivo(answer(429, {"error": "x"}))
    with make(fake, waits=waits, max_retries=3) as client:
        exc = error_of(lambda: client.start_recording("x"))
    assert isinstance(exc, errors.RateLimitError)
    assert len(fake.requests) == 4 and waits.sleeps == [0.5, 1.0, 2.0]
    with make(FakePlivo(connect_error()), max_retries=0) as client:
        exc = error_of(lambda: client.start_recording("x"))
    assert isinstance(exc, errors.ConnectError) and not exc.may_have_started
    assert "could not connect" in str(exc)


def test_plain_max_retries_and_retry_unsafe_build_the_policy():
    with RecordingClient(AUTH_ID, TOKEN, max_retries=5, retry_unsafe=True) as client:
        assert client.retry_policy.max_retries == 5 and client.retry_policy.retry_unsafe
    with RecordingClient(AUTH_ID, TOKEN, max_retries=RetryPolicy(max_retries=1),
                         retry_unsafe=True) as client:
        assert client.retry_policy.max_retries == 1 and client.retry_policy.retry_unsafe
    with pytest.raises(errors.ConfigurationError, match="max_retries"):
        RecordingClient(AUTH_ID, TOKEN, max_retries=-1)


# -- rate limit -----------------------------------------------------------------------------------

class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_every_attempt_counts_against_the_rate_limit():
    clock = FakeClock()
    limiter = RateLimiter(2, 10.0, clock=clock, sleep=clock.sleep)
    seen: list[float] = []

    def plivo(request):
        seen.append(clock.now)
        return (answer(429, {"error": "x"}) if len(seen) == 1 else started())(request)

    policy = RetryPolicy(random=lambda: 0.0, sleep=clock.sleep)
    with RecordingClient(AUTH_ID, TOKEN, transport=httpx.MockTransport(plivo), rate_limit=limiter,
                         max_retries=policy) as client:
        client.start_recording("a")        # a 429 and its retry: both slots of the window
        client.start_recording("b")        # must wait for the window to move on
    assert seen == [0.0, 0.0, 10.0]


def test_default_rate_limit_is_plivos_and_none_disables_it():
    with RecordingClient(AUTH_ID, TOKEN) as client:
        assert (client.rate_limiter.limit, client.rate_limiter.period) == (300, 5.0)
    with RecordingClient(AUTH_ID, TOKEN, rate_limit=None) as client:
        assert client.rate_limiter is None
    with RecordingClient(AUTH_ID, TOKEN, rate_limit=(10, 1)) as client:
        assert (client.rate_limiter.limit, client.rate_limiter.period) == (10, 1.0)
    with pytest.raises(errors.ConfigurationError, match="rate_limit"):
        RecordingClient(AUTH_ID, TOKEN, rate_limit=300)


# -- bulk -----------------------------------------------------------------------------------------

def test_bulk_keeps_input_order_and_survives_partial_failure():
    last_answered = threading.Event()

    def plivo(request):
        name = json.loads(request.content)["conference_name"]
        if name == "room 0":  # the first item is answered after the last (waits 10 s at most)
            last_answered.wait(timeout=10)
        if name.startswith("gone"):
            return httpx.Response(404, json={"api_id": f"api-{name}", "error": "conference not found"})
        if name == "room 29":
            last_answered.set()
        return echo_started(request)

    names = [f"room {i}" for i in range(30)]
    items = [*names[:10], "gone 1", {"conference_name": "room wav", "file_format": "wav"},
             "", {"conference_name": "bad", "file_format": "ogg"}, 42,
             {"conference_name": "typo", "fle_format": "wav"}, *names[10:]]
    with make(FakePlivo(plivo)) as client:
        df = client.start_recordings(items, concurrency=4, progress=False)
    assert list(df.columns) == list(BULK_COLUMNS)
    assert len(df) == len(items) and list(df.index) == list(range(len(items)))
    expected_names = [*names[:10], "gone 1", "room wav", "", "bad", None, "typo", *names[10:]]
    assert [None if pd.isna(n) else n for n in df["conference_name"]] == expected_names
    ok = df[df["ok"]]
    assert list(ok["recording_id"]) == [f"rec-{n}" for n in ok["conference_name"]]
    assert (ok["attempts"] == 1).all() and (ok["latency_ms"] >= 0).all()
    gone = df.iloc[10]
    assert not gone["ok"] and gone["error_type"] == "NotFoundError"
    assert gone["api_id"] == "api-gone 1" and "conference not found" in gone["error"]
    for row, field in [(12, "conference_name"), (13, "file_format"), (14, "conference_name"),
                       (15, "fle_format")]:
        assert df.loc[row, "error_type"] == "ValidationError"
        assert df.loc[row, "error"].startswith(f"{field}: ")
        assert df.loc[row, "attempts"] == 0 and pd.isna(df.loc[row, "latency_ms"])
    assert int(df["ok"].sum()) == 31


def test_bulk_frame_dtypes_are_pinned_even_when_empty():
    expected = pd.Series({"conference_name": pd.StringDtype("pyarrow"), "ok": pd.BooleanDtype(),
                          "recording_id": pd.StringDtype("pyarrow"),
                          "api_id": pd.StringDtype("pyarrow"), "url": pd.StringDtype("pyarrow"),
                          "error_type": pd.StringDtype("pyarrow"),
                          "error": pd.StringDtype("pyarrow"), "attempts": pd.Int64Dtype(),
                          "latency_ms": pd.Float64Dtype()})
    with make(FakePlivo()) as client:
        full = client.start_recordings(["a", "b"], progress=False)
        empty = client.start_recordings([], progress=False)
    for df in (full, empty):
        pd.testing.assert_series_equal(df.dtypes, expected, check_names=False)
    assert len(empty) == 0


def test_bulk_defaults_apply_unless_an_item_overrides_them():
    fake = FakePlivo()
    items = ["a", {"conference_name": "b", "file_format": "mp3"}]
    with make(fake) as client:
        df = client.start_recordings(items, progress=False, file_format="wav",
                                     callback_url="https://h/cb")
        assert df["ok"].all()
        with pytest.raises(TypeError, match="fle_format"):
            client.start_recordings(items, fle_format="wav")
        with pytest.raises(errors.ValidationError, match="concurrency"):
            client.start_recordings(items, concurrency=0)
        with pytest.raises(TypeError, match="list of conference names"):
            client.start_recordings("single name")
    by_name = {b["conference_name"]: b for b in fake.bodies}
    assert by_name["a"]["file_format"] == "wav" and by_name["b"]["file_format"] == "mp3"
    assert by_name["a"]["callback_url"] == by_name["b"]["callback_url"] == "https://h/cb"


def test_bulk_accepts_a_dataframe_of_options():
    frame = pd.DataFrame({"conference_name": ["a", "b"], "file_format": ["wav", None]})
    fake = FakePlivo()
    with make(fake) as client:
        df = client.start_recordings(frame, progress=False)
    assert df["ok"].all()
    assert sorted((b["conference_name"], b["file_format"]) for b in fake.bodies) == [
        ("a", "wav"), ("b", "mp3")]


def test_bulk_runs_exactly_its_concurrency_at_once():
    """The first requests wait until three are in flight together (bounded: 10 s at most), so
    the peak is 3 whatever the machine's speed: never fewer in flight, never more."""
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}
    three_at_once = threading.Event()

    def plivo(request):
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
            if state["now"] == 3:
                three_at_once.set()
        if not three_at_once.wait(timeout=10):
            three_at_once.set()  # never three at once: let the rest by; the peak below says so
        with lock:
            state["now"] -= 1
        return echo_started(request)

    with make(FakePlivo(plivo)) as client:
        df = client.start_recordings([f"r{i}" for i in range(40)], concurrency=3, progress=False)
    assert df["ok"].all() and len(df) == 40
    assert state["peak"] == 3


def test_bulk_progress_bar_can_be_turned_off(capsys):
    with make(FakePlivo()) as client:
        client.start_recordings(["a", "b", "c"], concurrency=2)
        shown = capsys.readouterr().err
        client.start_recordings(["a", "b", "c"], concurrency=2, progress=False)
        hidden = capsys.readouterr().err
    assert "start_recordings" in shown and "3/3" in shown
    assert hidden == ""


def test_bulk_retries_and_counts_attempts():
    waits = Waits()
    fake = FakePlivo(answer(429, {"error": "x"}), started())
    with make(fake, waits=waits) as client:
        df = client.start_recordings(["a"], progress=False)
    assert df.loc[0, "ok"] and df.loc[0, "attempts"] == 2


# -- journal --------------------------------------------------------------------------------------

def test_journal_records_every_start_and_stop(tmp_path):
    path = tmp_path / "sub" / "journal.jsonl"
    fake = FakePlivo(started("rec-1", "api-1"), answer(502, {"api_id": "api-2", "error": "bad"}),
                     answer(204))
    with make(fake, journal=path) as client:
        client.start_recording("a", callback_url="https://u:pw@h/cb#rc=2", callback_method="get")
        error_of(lambda: client.start_recording("b", transcription_type="auto",
                                                transcription_url="https://h/t"))
        client.stop_recording("a")
        with pytest.raises(errors.ValidationError):
            client.start_recording("c", file_format="ogg")  # nothing sent: nothing journaled
    lines = read_journal(path)
    assert [list(line) for line in lines] == [JOURNAL_KEYS] * 3
    ok, failed, stop = lines
    assert ok["time"].endswith("Z") and ok["action"] == "start" and ok["ok"]
    assert ok["options"] == {"file_format": "mp3", "transcription_type": None,
                             "transcription_url": None, "callback_url": "https://u:***@h/cb#rc=2",
                             "callback_method": "GET"}
    assert (ok["status"], ok["api_id"], ok["recording_id"], ok["attempts"]) == (
        202, "api-1", "rec-1", 1)
    assert ok["error_type"] is None and ok["may_have_started"] is False
    assert failed["ok"] is False and failed["status"] == 502 and failed["api_id"] == "api-2"
    assert failed["error_type"] == "ServerError" and failed["may_have_started"] is True
    assert failed["options"]["transcription_type"] == "auto"
    assert stop["action"] == "stop" and stop["ok"] and stop["status"] == 204
    assert stop["options"] == dict.fromkeys(ok["options"])
    assert all(isinstance(line["latency_ms"], float) for line in lines)
    text = path.read_text()
    assert_no_token(text)
    assert "Authorization" not in text and "pw@" not in text


def test_journal_records_the_attempts_of_a_transport_failure(tmp_path):
    path = tmp_path / "journal.jsonl"
    with make(FakePlivo(connect_error()), journal=path, max_retries=2) as client:
        error_of(lambda: client.start_recording("a"))
    (line,) = read_journal(path)
    assert line["error_type"] == "ConnectError" and line["status"] is None
    assert line["attempts"] == 3 and line["may_have_started"] is False


def _unwritable_journals(tmp_path):
    """(journal argument, what the error says) for paths no journal can be written to."""
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("")
    closed = RequestJournal(tmp_path / "closed.jsonl")
    closed.close()
    cases = [
        (tmp_path / "folder", f"journal: {str(tmp_path / 'folder')!r} is a folder; give a file"
                              f" path in it, e.g. {str(tmp_path / 'folder' / 'journal.jsonl')!r}"),
        (str(tmp_path / "file" / "journal.jsonl"),
         f"journal: cannot write {str(tmp_path / 'file' / 'journal.jsonl')!r}:"
         f" {str(tmp_path / 'file')!r} is a file, not a folder"),
        ("", "journal: is empty; give a file path"),
        (closed, "journal: the request journal"),
        (42, "journal: 42 is not a path"),
    ]
    if os.path.isdir("/proc/self"):  # a folder no one, not even root, can create files under
        cases.append(("/proc/self/no-such/journal.jsonl",
                      "journal: cannot write '/proc/self/no-such/journal.jsonl': "))
    return cases


def test_a_journal_that_cannot_be_written_is_refused_when_the_client_is_made(tmp_path):
    fake = FakePlivo()
    for journal, says in _unwritable_journals(tmp_path):
        with pytest.raises(errors.ConfigurationError) as info:
            make(fake, journal=journal)
        assert str(info.value).startswith(says), (journal, str(info.value))
    assert fake.requests == []


def test_a_journal_in_a_missing_folder_is_made_and_appears_with_its_first_line(tmp_path):
    path = tmp_path / "logs" / "today" / "journal.jsonl"
    fake = FakePlivo()
    with make(fake, journal=path) as client:
        assert path.parent.is_dir() and list(path.parent.iterdir()) == []  # checked, left clean
        client.start_recording("a")
    assert [line["recording_id"] for line in read_journal(path)] == ["rec-1"]
    with make(fake, journal=path) as client:  # an existing journal is appended to
        client.stop_recording("a")
    assert [line["action"] for line in read_journal(path)] == ["start", "stop"]


def test_a_journal_given_as_an_object_is_checked_up_front_but_not_closed(tmp_path):
    journal = RequestJournal(tmp_path / "folder")
    (tmp_path / "folder").mkdir()
    with pytest.raises(errors.ConfigurationError, match="^journal: .* is a folder"):
        make(FakePlivo(), journal=journal)
    journal = RequestJournal(tmp_path / "j.jsonl")
    with make(FakePlivo(), journal=journal) as client:
        client.start_recording("a")
    assert not journal.closed  # its owner closes it
    journal.close()
    assert len(read_journal(tmp_path / "j.jsonl")) == 1


class _DiskFull(RequestJournal):
    def append(self, record):
        raise OSError(28, "No space left on device")


def test_a_journal_that_fails_after_the_start_warns_but_keeps_the_result(tmp_path):
    with make(FakePlivo(), journal=_DiskFull(tmp_path / "journal.jsonl")) as client:
        with pytest.warns(RuntimeWarning, match="could not record the start of 'a'"):
            assert client.start_recording("a").recording_id == "rec-1"


# -- names no URL can carry ----------------------------------------------------------------------

LONG_NAMES = [("a" * 70_000, "70,000 characters take 70,000 bytes"),
              ("\N{GRINNING FACE}" * 10_000, "10,000 characters take 120,000 bytes")]
NOT_UNICODE = [("caf\udce9", "'caf\\udce9' is not valid Unicode text: character 4 stands for the"
                             " byte 0xe9, which is not UTF-8"),
               ("a\ud800b", "'a\\ud800b' is not valid Unicode text: character 2 is a lone"
                            " surrogate (U+D800)")]


@pytest.mark.parametrize(("name", "says"), LONG_NAMES + NOT_UNICODE)
@pytest.mark.parametrize("action", ["start", "stop"])
def test_a_name_no_url_can_carry_is_a_validation_error_and_nothing_is_sent(tmp_path, action,
                                                                           name, says):
    fake, path = FakePlivo(), tmp_path / "journal.jsonl"
    with make(fake, journal=path) as client:
        call = client.start_recording if action == "start" else client.stop_recording
        with pytest.raises(errors.ValidationError) as info:
            call(name)
    assert info.value.field == "conference_name"
    assert str(info.value).startswith("conference_name: ") and says in str(info.value)
    assert len(str(info.value)) < 400  # the name is cut, never printed whole
    assert fake.requests == [] and not path.exists()  # nothing journalled


def test_the_name_length_limit_is_counted_percent_encoded():
    fake = FakePlivo(echo_started)
    longest = "a" * MAX_CONFERENCE_NAME_BYTES
    accented = "\N{LATIN SMALL LETTER E WITH ACUTE}" * (MAX_CONFERENCE_NAME_BYTES // 6)
    with make(fake) as client:
        assert client.start_recording(longest).conference_name == longest
        assert client.start_recording(accented).conference_name == accented
        with pytest.raises(errors.ValidationError, match="the limit is 4,096 bytes"):
            client.start_recording(longest + "b")
        with pytest.raises(errors.ValidationError, match="take 4,098 bytes"):
            client.start_recording(accented + "\N{LATIN SMALL LETTER E WITH ACUTE}")
    assert [len(r.url.raw_path) for r in fake.requests] == [
        len(f"/v1/Account/{AUTH_ID}/Conference//Record/") + MAX_CONFERENCE_NAME_BYTES,
        len(f"/v1/Account/{AUTH_ID}/Conference//Record/") + 6 * len(accented)]


def test_a_callback_url_that_is_not_unicode_is_refused_before_sending():
    fake = FakePlivo()
    with make(fake) as client:
        with pytest.raises(errors.ValidationError, match="^callback_url: .* not valid Unicode"):
            client.start_recording("x", callback_url="https://h/caf\udce9")
        frame = client.start_recordings(["ok", "caf\udce9", "y" * 5000], progress=False)
    assert frame["ok"].tolist() == [True, False, False]
    assert frame["conference_name"].tolist()[:2] == ["ok", "caf\\udce9"]  # shown, escaped
    assert frame["error_type"].tolist()[1:] == ["ValidationError"] * 2
    assert len(fake.requests) == 1


def test_a_request_that_cannot_be_built_is_a_toolkit_error_never_journalled(tmp_path,
                                                                             monkeypatch):
    fake, path = FakePlivo(), tmp_path / "journal.jsonl"
    with make(fake, journal=path) as client:
        def refuse(*args, **kwargs):
            raise httpx.InvalidURL("URL too long")

        monkeypatch.setattr(client._http, "build_request", refuse)
        for call in (lambda: client.start_recording("x"), lambda: client.stop_recording("x")):
            with pytest.raises(errors.ValidationError, match="nothing was sent") as info:
                call()
            assert not getattr(info.value, "may_have_started", False)
    assert fake.requests == []
    assert not path.exists()  # above all, no may_have_started for an unsent request


def test_an_unreadable_answer_is_a_transport_error_that_may_have_started(tmp_path):
    path = tmp_path / "journal.jsonl"
    fake = FakePlivo(httpx.DecodingError("bad gzip"), httpx.DecodingError("bad gzip"))
    with make(fake, journal=path) as client:
        exc = error_of(lambda: client.start_recording("x"))
        stop = error_of(lambda: client.stop_recording("x"))
    assert type(exc) is errors.TransportError and exc.may_have_started
    assert "could not be read (DecodingError: bad gzip)" in str(exc)
    assert type(stop) is errors.TransportError and not stop.may_have_started
    start_line, stop_line = read_journal(path)
    assert start_line["may_have_started"] is True and stop_line["may_have_started"] is False


def test_an_earlier_uncertain_attempt_keeps_may_have_started(tmp_path):
    path = tmp_path / "journal.jsonl"
    fake = FakePlivo(answer(502, {"error": "bad gateway"}),
                     answer(400, {"api_id": "a", "error": "invalid"}))
    with make(fake, journal=path, retry_unsafe=True) as client:
        exc = error_of(lambda: client.start_recording("x"))
    assert type(exc) is errors.BadRequestError and len(fake.requests) == 2
    assert exc.may_have_started  # the 502 before it may have started one
    assert read_journal(path)[0]["may_have_started"] is True


def test_bulk_journals_every_item(tmp_path):
    path = tmp_path / "journal.jsonl"
    with make(FakePlivo(echo_started), journal=path) as client:
        client.start_recordings(["a", "b", "c", ""], concurrency=2, progress=False)
    lines = read_journal(path)
    assert sorted(line["recording_id"] for line in lines) == ["rec-a", "rec-b", "rec-c"]


# -- credentials, environment, redaction ----------------------------------------------------------

def test_credentials_and_base_url_fall_back_to_the_environment():
    fake = FakePlivo()
    environ = {"PLIVO_AUTH_ID": AUTH_ID, "PLIVO_AUTH_TOKEN": TOKEN,
               "PLIVO_API_BASE_URL": "http://127.0.0.1:8123/"}
    with RecordingClient(environ=environ, transport=fake.transport, rate_limit=None) as client:
        assert client.auth_id == AUTH_ID and client.base_url == "http://127.0.0.1:8123"
        client.start_recording("x")
    assert str(fake.requests[0].url).startswith(
        f"http://127.0.0.1:8123/v1/Account/{AUTH_ID}/Conference/x/Record/")
    with RecordingClient(environ={}, auth_id=AUTH_ID, auth_token=TOKEN) as client:
        assert client.base_url == "https://api.plivo.com"
    with RecordingClient(AUTH_ID, TOKEN, base_url="https://sandbox.example",
                         environ=environ) as client:
        assert client.base_url == "https://sandbox.example"


@pytest.mark.parametrize(("environ", "says"), [
    ({}, "PLIVO_AUTH_ID"),
    ({"PLIVO_AUTH_ID": AUTH_ID}, "PLIVO_AUTH_TOKEN"),
    ({"PLIVO_AUTH_ID": "not-an-id", "PLIVO_AUTH_TOKEN": TOKEN}, "is not a Plivo auth id"),
])
def test_missing_or_malformed_credentials_fail_at_construction(environ, says):
    with pytest.raises(errors.ConfigurationError, match=says) as info:
        RecordingClient(environ=environ)
    assert_no_token(info.value)


def test_the_token_never_shows(tmp_path, capsys):
    fake = FakePlivo(answer(401, {"api_id": "a", "error": "authentication failed"}), connect_error(),
                     read_timeout())
    with make(fake, journal=tmp_path / "j.jsonl", max_retries=0) as client:
        texts = [repr(client), str(client), repr(client.retry_policy), repr(client.rate_limiter)]
        for _ in range(3):
            exc = error_of(lambda: client.start_recording("x"))
            texts += [str(exc), repr(exc), repr(exc.__dict__)]
    texts.append((tmp_path / "j.jsonl").read_text())
    texts.append(capsys.readouterr())
    assert_no_token(*texts)
    assert repr(client) == f"RecordingClient(auth_id='{AUTH_ID}', base_url='https://api.plivo.com')"


def test_timeout_must_be_positive():
    with pytest.raises(errors.ConfigurationError, match="timeout"):
        RecordingClient(AUTH_ID, TOKEN, timeout=0)


def test_closing_the_client_closes_its_connections(tmp_path):
    client = make(FakePlivo(), journal=tmp_path / "j.jsonl")
    with client:
        client.start_recording("a")
    with pytest.raises(RuntimeError, match="closed"):
        client.start_recording("b")
    assert client.journal.closed


# -- Recording list API ---------------------------------------------------------------------------

class RecordingList:
    """A Recording list API over ``recordings`` (each with an add_time), honouring the filters."""

    def __init__(self, recordings: list[dict]) -> None:
        self.recordings = recordings
        self.queries: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        query = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
        self.queries.append(query)
        assert request.url.path == f"/v1/Account/{AUTH_ID}/Recording/"
        limit, offset = int(query["limit"]), int(query["offset"])
        assert limit <= 20
        gte = datetime.strptime(query["add_time__gte"], "%Y-%m-%d %H:%M:%S")
        lt = datetime.strptime(query["add_time__lt"], "%Y-%m-%d %H:%M:%S")
        assert lt - gte <= timedelta(days=30)
        chosen = [r for r in self.recordings if gte <= r["_t"] < lt
                  and query.get("conference_name", r["conference_name"]) == r["conference_name"]]
        page = chosen[offset:offset + limit]
        more = offset + limit < len(chosen)
        next_url = (f"/v1/Account/{AUTH_ID}/Recording/?limit={limit}&offset={offset + limit}"
                    if more else None)
        objects = [{k: v for k, v in r.items() if k != "_t"} for r in page]
        return httpx.Response(200, json={"api_id": "l", "meta": {
            "limit": limit, "offset": offset, "next": next_url, "previous": None,
            "total_count": len(chosen)}, "objects": objects})


def _recordings(start: datetime, days: int, per_day: int) -> list[dict]:
    out = []
    for d in range(days):
        for k in range(per_day):
            t = start + timedelta(days=d, minutes=k)
            out.append({"_t": t, "recording_id": f"r-{d}-{k}",
                        "conference_name": "weekly" if k % 2 else "daily",
                        "add_time": t.strftime("%Y-%m-%d %H:%M:%S.000000+00:00")})
    return out


def test_iter_recordings_pages_every_window():
    start = datetime(2026, 1, 1)
    api = RecordingList(_recordings(start, days=70, per_day=3))
    with make(FakePlivo(api)) as client:
        found = list(client.iter_recordings(since=start, until=start + timedelta(days=70),
                                            limit=7))
    assert sorted(r["recording_id"] for r in found) == sorted(
        r["recording_id"] for r in api.recordings)
    assert len(found) == 210
    windows = {(q["add_time__gte"], q["add_time__lt"]) for q in api.queries}
    assert len(windows) == 3
    assert {q["limit"] for q in api.queries} == {"7"}
    first_window = [int(q["offset"]) for q in api.queries
                    if q["add_time__gte"] == "2026-01-01 00:00:00"]
    assert first_window == list(range(0, 90, 7))


def test_iter_recordings_filters_by_conference_and_defaults_to_seven_days():
    now = datetime.now(UTC).replace(tzinfo=None)
    api = RecordingList(_recordings(now - timedelta(days=10), days=10, per_day=4))
    with make(FakePlivo(api)) as client:
        found = list(client.iter_recordings(conference_name="weekly"))
    after = datetime.now(UTC).replace(tzinfo=None)
    assert found and all(r["conference_name"] == "weekly" for r in found)
    (query,) = api.queries
    gte = datetime.strptime(query["add_time__gte"], "%Y-%m-%d %H:%M:%S")
    # seven days before the moment of the call (whole seconds, rounded down)
    assert now.replace(microsecond=0) - timedelta(days=7) <= gte <= after - timedelta(days=7)
    assert query["conference_name"] == "weekly" and query["limit"] == "20"


def test_iter_recordings_checks_its_arguments_before_any_request():
    fake = FakePlivo()
    with make(fake) as client:
        with pytest.raises(errors.ValidationError, match="limit"):
            client.iter_recordings(limit=21)
        with pytest.raises(errors.ValidationError, match="since"):
            client.iter_recordings(since="2026-02-01", until="2026-01-01")
    assert fake.requests == []


def test_iter_recordings_raises_plivo_errors():
    fake = FakePlivo(answer(400, {"api_id": "a", "error": "add_time range over 30 days"}))
    with make(fake) as client:
        with pytest.raises(errors.BadRequestError, match="over 30 days"):
            list(client.iter_recordings())


def test_get_recording():
    fake = FakePlivo(answer(200, {"recording_id": "r/1", "recording_format": "mp3"}),
                     answer(404, {"api_id": "a", "error": "not found"}))
    with make(fake) as client:
        assert client.get_recording("r/1")["recording_format"] == "mp3"
        with pytest.raises(errors.NotFoundError):
            client.get_recording("r-2")
        with pytest.raises(errors.ValidationError, match="recording_id"):
            client.get_recording("")
    assert fake.requests[0].url.raw_path == f"/v1/Account/{AUTH_ID}/Recording/r%2F1/".encode()
    assert fake.requests[0].method == "GET"
