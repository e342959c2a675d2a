"""The sandbox (recording_toolkit/sandbox/), against real HTTP on 127.0.0.1.

Callbacks go to a small recording sink (below) that keeps every request as it arrived and can be
told to fail, so each test sees exactly what a receiver would. Time is a ManualClock wherever a
test needs exact timestamps; no test sleeps for a retry or a delay (those run on sandbox time).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from callback_sink import Sink

from recording_toolkit import rules
from recording_toolkit.client import RecordingClient
from recording_toolkit.config import AUTH_ID_PATTERN, RateCard
from recording_toolkit.errors import ConfigurationError, SignatureMismatchError
from recording_toolkit.sandbox import (
    DurationModel,
    Faults,
    ManualClock,
    Sandbox,
    SandboxConfig,
    ScaledClock,
    Timing,
)
from recording_toolkit.signature import verify_v3

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
T0_MS = int(T0.timestamp() * 1000)


@pytest.fixture
def sink():
    with Sink() as s:
        yield s


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def sandbox(auth_id, auth_token, clock):
    """Recordings run until stopped (their simulated duration is 10 h), on a manual clock."""
    with Sandbox(auth_id=auth_id, auth_token=auth_token, seed=11, clock=clock,
                 durations=lambda rng: 10 * 3600) as sb:
        yield sb


def api(sb: Sandbox, *, auth: tuple[str, str] | None = None) -> httpx.Client:
    return httpx.Client(base_url=f"{sb.base_url}/v1/Account/{sb.auth_id}",
                        auth=auth or (sb.auth_id, sb.auth_token), timeout=10)


def record_path(name: str) -> str:
    from urllib.parse import quote

    return f"/Conference/{quote(name, safe='')}/Record/"


def start(client: httpx.Client, name: str, **fields: str) -> httpx.Response:
    return client.post(record_path(name), json={"conference_name": name, **fields})


def settle(sb: Sandbox, clock: ManualClock, seconds: float = 3600) -> None:
    """Move sandbox time on and wait until every callback due by then was delivered."""
    clock.advance(seconds)
    assert sb.wait_idle(20)


# -- the Record API ----------------------------------------------------------------------------

def test_start_answers_202_with_plivos_fields(sandbox):
    with api(sandbox) as client:
        answer = start(client, "weekly sync", file_format="wav")
    assert answer.status_code == 202
    body = answer.json()
    assert set(body) == {"api_id", "message", "recording_id", "url"}
    assert body["message"] == "conference recording started"
    assert body["url"] == (f"{sandbox.base_url}/v1/Account/{sandbox.auth_id}/Recording/"
                           f"{body['recording_id']}.wav")
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                        body["recording_id"])


def test_form_body_and_json_body_are_both_accepted(sandbox):
    with api(sandbox) as client:
        form = client.post(record_path("room"), data={"file_format": "wav"})
        as_json = client.post(record_path("room"), json={"file_format": "wav"})
        empty = client.post(record_path("room"))
    assert [a.status_code for a in (form, as_json, empty)] == [202, 202, 202]
    assert form.json()["url"].endswith(".wav") and empty.json()["url"].endswith(".mp3")
    assert len({a.json()["recording_id"] for a in (form, as_json, empty)}) == 3


def test_stop_answers_204_with_an_empty_body_and_ends_the_recordings(sandbox, clock):
    with api(sandbox) as client:
        start(client, "room")
        start(client, "room")
        clock.advance(42)
        answer = client.delete(record_path("room"))
    assert answer.status_code == 204 and answer.content == b""
    details = sandbox.ground_truth()["recording_details"]
    assert [d["end_reason"] for d in details] == ["stopped", "stopped"]
    assert [d["duration_ms"] for d in details] == [42_000, 42_000]


@pytest.mark.parametrize(("fields", "field"), [
    ({"file_format": "ogg"}, "file_format"),
    ({"callback_method": "PUT", "callback_url": "https://h/cb"}, "callback_method"),
    ({"callback_url": "ftp://h/cb"}, "callback_url"),
    ({"callback_url": "https://h/cb#rc=9"}, "callback_url"),
    ({"callback_url": "https://h/cb#rp=sometimes"}, "callback_url"),
    ({"transcription_url": "not a url", "transcription_type": "auto"}, "transcription_url"),
    ({"transcription_type": "manual"}, "transcription_type"),
    ({"time_limit": "0"}, "time_limit"),
    ({"conference_name": "another room"}, "conference_name"),
    ({"file_format": True}, "file_format"),
])
def test_an_invalid_field_gets_400_naming_it(sandbox, fields, field):
    with api(sandbox) as client:
        answer = client.post(record_path("room"), json=fields)
    assert answer.status_code == 400
    body = answer.json()
    assert set(body) == {"api_id", "error"}
    assert body["error"].startswith(f"{field}: ")
    assert sandbox.ground_truth()["recordings"]["started"] == 0


@pytest.mark.parametrize(("content", "ctype"), [
    (b"{not json", "application/json"), (b"[1, 2]", "application/json"),
    (b"<xml/>", "text/xml"), (b"file_format=mp3&file_format=wav",
                              "application/x-www-form-urlencoded")])
def test_an_unusable_body_gets_400(sandbox, content, ctype):
    with api(sandbox) as client:
        answer = client.post(record_path("room"), content=content,
                             headers={"Content-Type": ctype})
    assert answer.status_code == 400
    assert answer.json()["error"].split(":")[0] in ("body", "file_format")


@pytest.mark.parametrize("auth", [None, ("MAWRONGACCOUNT0000001", "x"), "wrong-token"])
def test_bad_credentials_get_401(sandbox, auth):
    if auth == "wrong-token":
        auth = (sandbox.auth_id, sandbox.auth_token + "x")
    client = httpx.Client(base_url=f"{sandbox.base_url}/v1/Account/{sandbox.auth_id}",
                          auth=auth, timeout=10)
    with client:
        answer = start(client, "room")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Basic")
    assert set(answer.json()) == {"api_id", "error"}
    assert sandbox.auth_token not in answer.text


def test_another_accounts_path_gets_401(sandbox):
    with httpx.Client(base_url=sandbox.base_url, auth=(sandbox.auth_id, sandbox.auth_token)) as c:
        answer = c.post("/v1/Account/MAOTHERACCOUNT0000001/Conference/room/Record/")
    assert answer.status_code == 401


def test_wrong_method_gets_405_with_allow_and_unknown_paths_404(sandbox):
    with api(sandbox) as client:
        wrong = client.get(record_path("room"))
        put = client.put("/Recording/")
        unknown = client.get("/Call/")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST, DELETE"
    assert put.status_code == 405 and put.headers["allow"] == "GET"
    assert unknown.status_code == 404 and set(unknown.json()) == {"api_id", "error"}


def test_conference_names_with_reserved_characters_round_trip(sandbox, clock, sink):
    name = "Q4 review / EMEA? #1 100% ü"
    with api(sandbox) as client:
        answer = start(client, name, callback_url=sink.url("/rec"))
        assert answer.status_code == 202
        assert client.delete(record_path(name)).status_code == 204
    settle(sandbox, clock)
    assert sink.of("/rec")[0]["params"]["conference_name"] == name


def test_trailing_slash_is_optional(sandbox):
    with api(sandbox) as client:
        answer = client.post("/Conference/room/Record", json={})
    assert answer.status_code == 202


# -- conferences: demo and strict mode ---------------------------------------------------------

def test_strict_mode_only_opened_conferences_are_live(auth_id, auth_token, clock):
    with Sandbox(auth_id=auth_id, auth_token=auth_token, strict=True, clock=clock) as sb, \
            api(sb) as client:
        missing = start(client, "board")
        assert missing.status_code == 404 and "not live" in missing.json()["error"]
        assert client.delete(record_path("board")).status_code == 404
        assert sb.open_conference("board") is True
        assert start(client, "board").status_code == 202
        clock.advance(10)
        assert len(sb.close_conference("board")) == 1
        assert start(client, "board").status_code == 404


def test_demo_mode_any_name_is_live_until_closed(sandbox):
    with api(sandbox) as client:
        assert start(client, "anything at all").status_code == 202
        sandbox.close_conference("anything at all")
        assert start(client, "anything at all").status_code == 404
        sandbox.open_conference("anything at all")
        assert start(client, "anything at all").status_code == 202


def test_closing_a_conference_ends_its_recordings_and_sends_callbacks(sandbox, clock, sink):
    with api(sandbox) as client:
        start(client, "room", callback_url=sink.url("/rec"))
        start(client, "other", callback_url=sink.url("/rec"))
    clock.advance(90)
    sandbox.close_conference("room")
    settle(sandbox, clock, 60)
    got = sink.of("/rec")
    assert len(got) == 1 and got[0]["params"]["conference_name"] == "room"
    assert got[0]["params"]["recording_duration_ms"] == "90000"
    reasons = {d["conference_name"]: d["end_reason"]
               for d in sandbox.ground_truth()["recording_details"]}
    assert reasons == {"room": "conference_closed", "other": None}


def test_admin_api(sandbox):
    auth = (sandbox.auth_id, sandbox.auth_token)
    with httpx.Client(base_url=f"{sandbox.base_url}/_sandbox", timeout=10) as admin:
        assert admin.get("/health").json()["status"] == "ok"
        assert admin.get("/ground_truth").status_code == 401
        assert admin.post("/conferences/town hall", auth=auth).status_code == 201
        assert admin.post("/conferences/town hall", auth=auth).status_code == 200
        listed = admin.get("/conferences", auth=auth).json()["conferences"]
        assert listed == [{"conference_name": "town hall", "live": True,
                           "recordings_started": 0, "recording_now": 0}]
        closed = admin.delete("/conferences/town hall", auth=auth).json()
        assert closed == {"conference_name": "town hall", "live": False, "recordings_ended": 0}
        truth = admin.get("/ground_truth", auth=auth).json()
    assert truth["recordings"]["started"] == 0 and truth["seed"] == 11


# -- recording ends and time -------------------------------------------------------------------

def test_a_recording_ends_by_its_simulated_duration_on_a_fast_clock(auth_id, auth_token, sink):
    hour = 3600.0
    with Sandbox(auth_id=auth_id, auth_token=auth_token, time_scale=36_000,
                 durations=lambda rng: hour) as sb, api(sb) as client:
        start(client, "room", callback_url=sink.url("/rec"))
        assert sb.wait_idle(20, recordings=True)  # an hour of sandbox time: 0.1 s real
    (got,) = sink.of("/rec")
    assert got["params"]["recording_duration_ms"] == "3600000"
    assert got["params"]["recording_duration"] == "3600"
    assert sb.ground_truth()["recordings"]["ended"] == {"duration": 1}


def test_time_limit_ends_a_recording_early(sandbox, clock, sink):
    with api(sandbox) as client:
        start(client, "room", time_limit="30", callback_url=sink.url("/rec"))
    settle(sandbox, clock, 3 * 3600)
    assert sink.of("/rec")[0]["params"]["recording_duration_ms"] == "30000"
    assert sandbox.ground_truth()["recordings"]["ended"] == {"time_limit": 1}


def test_timestamps_are_causal(auth_id, auth_token):
    # a real (scaled) clock; the sink stamps arrivals on the same sandbox clock
    scaled = ScaledClock(600)
    with Sink(clock=scaled.now_ms) as sink, Sandbox(
            auth_id=auth_id, auth_token=auth_token, clock=scaled,
            durations=lambda rng: rng.uniform(0.2, 30)) as sb, api(sb) as client:
        for i in range(20):
            start(client, f"room-{i % 4}", callback_url=sink.url("/rec"),
                  transcription_type="auto", transcription_url=sink.url("/tr"))
        client.delete(record_path("room-0"))
        assert sb.wait_idle(30, recordings=True)
        truth = sb.ground_truth()
    sent = {(p["kind"], p["recording_id"]): p["deliveries"][0]["attempts"][0]["sent_ms"]
            for p in truth["callback_details"]}
    recordings = sink.of("/rec")
    assert len(recordings) == 20 and len(sink.of("/tr")) == 20
    for got in recordings:
        params = got["params"]
        start_ms, end_ms = int(params["recording_start_ms"]), int(params["recording_end_ms"])
        assert start_ms <= end_ms <= sent[("recording", params["recording_id"])]
        assert end_ms <= got["received_ms"]
        assert int(params["recording_duration_ms"]) == end_ms - start_ms
    ends = {g["params"]["recording_id"]: int(g["params"]["recording_end_ms"]) for g in recordings}
    for got in sink.of("/tr"):
        assert ends[got["params"]["recording_id"]] <= got["received_ms"]


# -- callbacks ---------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["POST", "GET"])
def test_callbacks_are_signed_and_verify(sandbox, clock, sink, method):
    callback_url = sink.url("/rec?tenant=acme&run=7#ct=1000&rc=2")
    with api(sandbox) as client:
        start(client, "room", callback_url=callback_url, callback_method=method)
        client.delete(record_path("room"))
    settle(sandbox, clock, 60)
    (got,) = sink.of("/rec")
    assert got["method"] == method
    params = got["params"] if method == "POST" else {
        k: v for k, v in got["params"].items() if k not in ("tenant", "run")}
    assert set(params) == {"api_id", "record_url", "recording_id", "conference_name",
                           "recording_duration", "recording_duration_ms", "recording_start_ms",
                           "recording_end_ms"}
    if method == "POST":
        assert got["headers"]["content-type"] == "application/x-www-form-urlencoded"
        assert got["query"] == "tenant=acme&run=7"
    matched = verify_v3(got["headers"], method=method, url=callback_url, params=params,
                        auth_tokens=sandbox.auth_token)
    assert matched == "X-Plivo-Signature-V3"
    assert re.fullmatch(r"\d{20}", got["headers"]["x-plivo-signature-v3-nonce"])
    tampered = {**params, "recording_duration_ms": "1"}
    with pytest.raises(SignatureMismatchError):
        verify_v3(got["headers"], method=method, url=callback_url, params=tampered,
                  auth_tokens=sandbox.auth_token)


def test_recording_callback_fields_match_the_start_answer(sandbox, clock, sink):
    with api(sandbox) as client:
        started = start(client, "room", callback_url=sink.url("/rec")).json()
        clock.advance(345.1)
        client.delete(record_path("room"))
    settle(sandbox, clock, 60)
    params = sink.of("/rec")[0]["params"]
    assert params["api_id"] == started["api_id"]
    assert params["recording_id"] == started["recording_id"]
    assert params["record_url"] == started["url"]
    assert params["recording_start_ms"] == str(T0_MS)
    assert params["recording_duration_ms"] == "345100"
    assert params["recording_duration"] == "345"


def test_transcription_charge_is_rate_times_billed_minutes(auth_id, auth_token, clock, sink):
    rates = RateCard(transcription_per_minute=0.07)
    with Sandbox(auth_id=auth_id, auth_token=auth_token, clock=clock, rates=rates) as sb, \
            api(sb) as client:
        for seconds in (22.78, 60, 61, 600.5):
            start(client, f"room-{seconds}", transcription_type="auto",
                  transcription_url=sink.url("/tr"))
            clock.advance(seconds)
            client.delete(record_path(f"room-{seconds}"))
        settle(sb, clock, 3600)
        truth = sb.ground_truth()
    got = {g["params"]["duration"]: g["params"] for g in sink.of("/tr")}
    assert set(got) == {"23", "60", "61", "601"}
    for params in got.values():
        assert params["error"] == "" and params["transcription_rate"] == "0.07"
        assert params["transcription"].startswith("Speaker ")
    expected = {"23": "0.07", "60": "0.07", "61": "0.14", "601": "0.77"}
    assert {k: v["transcription_charge"] for k, v in got.items()} == expected
    for params in got.values():
        duration_ms = next(d["duration_ms"] for d in truth["recording_details"]
                           if d["recording_id"] == params["recording_id"])
        assert float(params["transcription_charge"]) == pytest.approx(
            0.07 * rules.billed_minutes(duration_ms))
    assert truth["transcriptions"] == {"ok": 4}


def test_transcription_errors_follow_the_eligibility_rules(auth_id, auth_token, clock, sink):
    sandbox = Sandbox(auth_id=auth_id, auth_token=auth_token, clock=clock,
                      durations=lambda rng: 10 * 3600)  # every recording runs until stopped
    with sandbox, api(sandbox) as client:
        for name, seconds in (("short", 0.4), ("edge", 0.5), ("long", 4 * 3600), ("fine", 1)):
            start(client, name, transcription_type="auto", transcription_url=sink.url("/tr"),
                  file_format="wav")
            clock.advance(seconds)
            client.delete(record_path(name))
        settle(sandbox, clock)
    names = {d["recording_id"]: d["conference_name"]
             for d in sandbox.ground_truth()["recording_details"]}
    errors = {names[g["params"]["recording_id"]]: g["params"]["error"] for g in sink.of("/tr")}
    assert errors == {"short": rules.ERROR_TOO_SHORT, "edge": rules.ERROR_TOO_SHORT,
                      "long": rules.ERROR_TOO_LONG, "fine": ""}
    by_error = sandbox.ground_truth()["transcriptions"]
    assert by_error == {"ok": 1, rules.ERROR_TOO_LONG: 1, rules.ERROR_TOO_SHORT: 2}
    for got in sink.of("/tr"):
        if got["params"]["error"]:
            assert got["params"]["transcription"] == ""
            assert got["params"]["transcription_charge"] == "0"


def test_transcription_follows_the_recording_after_a_turnaround(sandbox, clock, sink):
    with api(sandbox) as client:
        start(client, "room", callback_url=sink.url("/rec"), transcription_type="auto",
              transcription_url=sink.url("/tr"))
        clock.advance(1800)
        client.delete(record_path("room"))
    settle(sandbox, clock, 10)  # the recording callback is due within 5 s, not the transcript
    assert len(sink.of("/rec")) == 1 and sink.of("/tr") == []
    settle(sandbox, clock, 600)  # 20 s + 0.06 x 1800 s + up to 30 s
    assert len(sink.of("/tr")) == 1
    details = sandbox.ground_truth()["callback_details"]
    due = {d["kind"]: d["due_ms"] for d in details}
    end_ms = T0_MS + 1_800_000
    assert end_ms + 1000 <= due["recording"] <= end_ms + 5000
    assert end_ms + 128_000 <= due["transcription"] <= end_ms + 158_000


def test_next_due_walks_a_manual_clock_through_every_scheduled_moment(sandbox, clock, sink):
    """A driver that jumps to next_due() each time delivers every callback exactly on time."""
    assert sandbox.next_due() is None  # nothing recording, nothing to deliver
    with api(sandbox) as client:
        start(client, "room", callback_url=sink.url("/rec"), transcription_type="auto",
              transcription_url=sink.url("/tr"))
        assert sandbox.next_due() == T0 + timedelta(hours=10)  # the planned end
        clock.advance(600)
        client.delete(record_path("room"))
    moments = []
    while (upcoming := sandbox.next_due()) is not None:
        moments.append(upcoming)
        clock.set(upcoming)
        assert sandbox.wait_idle(20)
    details = {d["kind"]: d for d in sandbox.ground_truth()["callback_details"]}
    due = [datetime.fromtimestamp(details[k]["due_ms"] / 1000, UTC)
           for k in ("recording", "transcription")]
    assert moments[:2] == due  # the stored file, then the transcript (then the moot planned end)
    assert len(sink.of("/rec")) == len(sink.of("/tr")) == 1
    assert all(a["sent_ms"] == details[k]["due_ms"]
               for k in ("recording", "transcription")
               for d in details[k]["deliveries"] for a in d["attempts"])


# -- delivery retries (the URL's fragment) -----------------------------------------------------

def test_retry_fragment_is_honoured_for_5xx(sandbox, clock, sink):
    sink.answers["/rec"] = [500, 503]
    with api(sandbox) as client:
        start(client, "room", callback_url=sink.url("/rec#rc=3&rp=5xx"))
        client.delete(record_path("room"))
    for _ in range(4):  # each retry waits n x 5 s of sandbox time
        settle(sandbox, clock, 60)
    assert [r["params"]["recording_id"] for r in sink.of("/rec")] == \
        [sandbox.ground_truth()["recording_details"][0]["recording_id"]] * 3
    (plan,) = sandbox.ground_truth()["callback_details"]
    attempts = plan["deliveries"][0]["attempts"]
    assert [a.get("status") for a in attempts] == [500, 503, 200]
    assert len({a["nonce"] for a in attempts}) == 3
    assert plan["status"] == "delivered"


def test_default_settings_do_not_retry_a_5xx(sandbox, clock, sink):
    sink.answers["/rec"] = [500]
    with api(sandbox) as client:
        start(client, "room", callback_url=sink.url("/rec"))
        client.delete(record_path("room"))
    settle(sandbox, clock, 60)
    settle(sandbox, clock, 60)
    assert len(sink.of("/rec")) == 1
    counts = sandbox.ground_truth()["callbacks"]["recording"]
    assert counts["given_up"] == 1 and counts["attempts"] == 1


def test_retry_count_caps_attempts_and_4xx_needs_rp(sandbox, clock, sink):
    sink.answers["/a"] = [404] * 10
    sink.answers["/b"] = [404] * 10
    with api(sandbox) as client:
        start(client, "a", callback_url=sink.url("/a#rc=2&rp=4xx"))
        start(client, "b", callback_url=sink.url("/b#rc=5&rp=5xx,ct"))
        client.delete(record_path("a"))
        client.delete(record_path("b"))
    for _ in range(4):
        settle(sandbox, clock, 60)
    assert len(sink.of("/a")) == 3 and len(sink.of("/b")) == 1


def test_connect_errors_retry_by_default(sandbox, clock):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with api(sandbox) as client:  # default rp=ct,rt; rc=2 from the fragment
        start(client, "room", callback_url=f"http://127.0.0.1:{port}/cb#ct=500&rc=2")
        client.delete(record_path("room"))
    for _ in range(3):
        settle(sandbox, clock, 60)
    (plan,) = sandbox.ground_truth()["callback_details"]
    attempts = plan["deliveries"][0]["attempts"]
    assert len(attempts) == 3 and all(a["error"].startswith("connect") for a in attempts)
    assert plan["status"] == "given_up"


# -- fault injection ---------------------------------------------------------------------------

def faulty(auth_id: str, auth_token: str, clock: ManualClock, **faults: Any) -> Sandbox:
    return Sandbox(auth_id=auth_id, auth_token=auth_token, clock=clock, seed=5,
                   faults=Faults(**faults))


def run_recordings(sb: Sandbox, clock: ManualClock, sink: Sink, count: int) -> None:
    with api(sb) as client:
        for i in range(count):
            start(client, f"room-{i}", callback_url=sink.url("/rec"),
                  transcription_type="auto", transcription_url=sink.url("/tr"))
        clock.advance(120)
        for i in range(count):
            client.delete(record_path(f"room-{i}"))
    settle(sb, clock, 3600)


def test_dropped_callbacks_are_never_sent(auth_id, auth_token, clock, sink):
    with faulty(auth_id, auth_token, clock, drop_rate=0.5) as sb:
        run_recordings(sb, clock, sink, 30)
        counts = sb.ground_truth()["callbacks"]
    for kind, path in (("recording", "/rec"), ("transcription", "/tr")):
        assert 0 < counts[kind]["dropped"] < 30
        assert len(sink.of(path)) == counts[kind]["delivered"] == 30 - counts[kind]["dropped"]


def test_duplicated_deliveries_arrive_twice_with_fresh_nonces(auth_id, auth_token, clock, sink):
    with faulty(auth_id, auth_token, clock, duplicate_rate=1.0) as sb:
        run_recordings(sb, clock, sink, 5)
        every = sb.ground_truth()["callbacks"]
        delivered = sb.core.dispatcher.delivered()
    counts = every["recording"]
    got = sink.of("/rec")
    assert len(got) == 10 and counts["duplicated"] == 5 and counts["deliveries_delivered"] == 10
    # callbacks (recording and transcription), not deliveries: each went out twice
    assert delivered == counts["delivered"] + every["transcription"]["delivered"] == 10
    by_id: dict[str, list[dict[str, Any]]] = {}
    for request in got:
        by_id.setdefault(request["params"]["recording_id"], []).append(request)
    for pair in by_id.values():
        first, second = pair
        assert first["params"] == second["params"]
        assert first["headers"]["x-plivo-signature-v3-nonce"] != \
            second["headers"]["x-plivo-signature-v3-nonce"]
        for request in pair:
            verify_v3(request["headers"], method="POST", url=sink.url("/rec"),
                      params=request["params"], auth_tokens=sb.auth_token)


def test_delayed_deliveries_are_held_back(auth_id, auth_token, clock, sink):
    with faulty(auth_id, auth_token, clock, delay_rate=1.0, delay_s=(600, 600)) as sb:
        with api(sb) as client:
            start(client, "room", callback_url=sink.url("/rec"))
            client.delete(record_path("room"))
        settle(sb, clock, 300)
        assert sink.of("/rec") == []
        settle(sb, clock, 400)
        (plan,) = sb.ground_truth()["callback_details"]
    assert len(sink.of("/rec")) == 1
    assert plan["delayed_ms"] == 600_000
    assert plan["deliveries"][0]["due_ms"] - plan["due_ms"] == 600_000


@pytest.mark.parametrize("status", [429, 503])
def test_injected_throttling_carries_retry_after(auth_id, auth_token, clock, status):
    with faulty(auth_id, auth_token, clock, api_error_rate=1.0, api_error_statuses=(status,),
                retry_after_s=7) as sb, api(sb) as client:
        answer = start(client, "room")
        assert answer.status_code == status and answer.headers["retry-after"] == "7"
        assert set(answer.json()) == {"api_id", "error"}
        truth = sb.ground_truth()
    assert truth["recordings"]["started"] == 0
    assert truth["api"]["injected"] == {str(status): 1}


def test_an_injected_500_may_have_started_the_recording(auth_id, auth_token, clock, sink):
    with faulty(auth_id, auth_token, clock, api_error_rate=1.0, api_error_statuses=(500,),
                started_share_on_500=1.0) as sb:
        with api(sb) as client:
            answer = start(client, "room", callback_url=sink.url("/rec"))
        assert answer.status_code == 500 and "retry-after" not in answer.headers
        sb.core.stop("room")  # the API itself answers 500 to everything here
        settle(sb, clock, 60)
        truth = sb.ground_truth()
    assert truth["recordings"]["started_without_answer"] == 1
    assert len(sink.of("/rec")) == 1


def test_api_errors_hit_a_share_of_requests_and_retries_draw_again(auth_id, auth_token, clock):
    with faulty(auth_id, auth_token, clock, api_error_rate=0.3,
                api_error_statuses=(503,)) as sb, api(sb) as client:
        statuses = [start(client, f"room-{i}").status_code for i in range(60)]
        retried = [start(client, "room-x").status_code for _ in range(10)]
    assert 5 < statuses.count(503) < 35 and statuses.count(202) == 60 - statuses.count(503)
    assert set(retried) == {202, 503}  # the same request again is a fresh draw
    assert sb.ground_truth()["api"]["injected"] == {"503": statuses.count(503)
                                                    + retried.count(503)}


def test_added_latency(auth_id, auth_token, clock):
    with faulty(auth_id, auth_token, clock, latency_ms=(300, 300)) as sb, api(sb) as client:
        began = time.perf_counter()
        assert start(client, "room").status_code == 202
        assert time.perf_counter() - began >= 0.3


def test_rate_limit_answers_429_with_retry_after(auth_id, auth_token, clock):
    with Sandbox(auth_id=auth_id, auth_token=auth_token, clock=clock,
                 rate_limit=(3, 60.0)) as sb, api(sb) as client:
        statuses = [start(client, "room").status_code for _ in range(4)]
        last = start(client, "room")
    assert statuses == [202, 202, 202, 429]
    assert 1 <= int(last.headers["retry-after"]) <= 60


def test_every_api_request_is_timed_on_arrival_even_the_refused_ones(auth_id, auth_token, clock):
    before = time.monotonic()
    with Sandbox(auth_id=auth_id, auth_token=auth_token, clock=clock,
                 rate_limit=(2, 60.0)) as sb, api(sb) as client:
        statuses = [start(client, "room").status_code for _ in range(3)]
        listed = client.get("/Recording/")
        times = sb.core.api_faults.request_times()
    assert statuses == [202, 202, 429] and listed.status_code == 429
    assert len(times) == 4 and times == sorted(times)
    assert before <= times[0] and times[-1] <= time.monotonic()


def test_faults_are_off_by_default_and_parse_from_text():
    assert not Faults().enabled
    parsed = Faults.parse("light,drop=0.1,statuses=500/429,latency_ms=5-9")
    assert parsed.drop_rate == 0.1 and parsed.duplicate_rate == 0.03
    assert parsed.api_error_statuses == (500, 429) and parsed.latency_ms == (5.0, 9.0)
    assert Faults.parse(parsed.describe()) == parsed  # the banner's text reads back
    for bad, message in (("drop=2", "faults: drop: 2.0 is not a rate"),
                         ("nonsense", "faults: "), ("statuses=418", "faults: statuses: (418,)"),
                         ("latency_ms=9-5", "faults: latency_ms: "), ("weird=1", "unknown key")):
        with pytest.raises(ConfigurationError, match=re.escape(message)):
            Faults.parse(bad)


# -- the Recording list API --------------------------------------------------------------------

@pytest.fixture
def listed(sandbox, clock):
    """45 recordings on three conferences, one every minute, each 30 s long."""
    with api(sandbox) as client:
        for i in range(45):
            start(client, f"conf-{i % 3}")
            clock.advance(30)
            client.delete(record_path(f"conf-{i % 3}"))
            clock.advance(30)
    clock.advance(60)
    return sandbox


def test_list_pages_through_meta_next(listed):
    seen: list[str] = []
    metas = []
    with api(listed) as client:
        url: str | None = "/Recording/"
        params: dict[str, Any] | None = {"limit": 20}
        while url:
            page = client.get(url, params=params).json()
            metas.append(page["meta"])
            seen += [o["recording_id"] for o in page["objects"]]
            nxt = page["meta"]["next"]
            url = nxt.split(f"/v1/Account/{listed.auth_id}", 1)[1] if nxt else None
            params = None
    assert [m["offset"] for m in metas] == [0, 20, 40]
    assert [m["total_count"] for m in metas] == [45] * 3
    assert metas[0]["previous"] is None and metas[1]["previous"].endswith("limit=20&offset=0")
    assert metas[2]["next"] is None
    assert len(seen) == len(set(seen)) == 45


def test_list_objects_have_plivos_shapes(listed):
    with api(listed) as client:
        page = client.get("/Recording/", params={"limit": 3}).json()
    assert set(page) == {"api_id", "meta", "objects"}
    newest = page["objects"][0]
    assert set(newest) == {
        "add_time", "call_uuid", "conference_name", "conference_uuid", "from_number",
        "monthly_recording_storage_amount", "mpc_name", "mpc_uuid", "recording_duration_ms",
        "recording_end_ms", "recording_format", "recording_id", "recording_start_ms",
        "recording_storage_duration", "recording_storage_rate", "recording_type",
        "recording_url", "resource_uri", "rounded_recording_duration", "to_number"}
    for key in ("recording_duration_ms", "recording_end_ms", "recording_start_ms"):
        assert re.fullmatch(r"\d+\.00000", newest[key])
    assert newest["recording_duration_ms"] == "30000.00000"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}\+05:30", newest["add_time"])
    assert newest["rounded_recording_duration"] == 60 and newest["recording_type"] == "conference"
    assert newest["recording_storage_rate"] == "0.0004"
    assert newest["resource_uri"] == f"/v1/Account/{listed.auth_id}/Recording/" \
                                     f"{newest['recording_id']}/"
    added = [datetime.fromisoformat(o["add_time"]) for o in page["objects"]]
    assert added == sorted(added, reverse=True)  # newest first


def test_list_filters_by_conference_and_add_time(listed):
    with api(listed) as client:
        conf = client.get("/Recording/", params={"conference_name": "conf-1",
                                                 "limit": 10}).json()
        window = client.get("/Recording/", params={
            "add_time__gte": "2026-11-02 09:10", "add_time__lt": "2026-11-02 09:20:00"}).json()
    assert conf["meta"]["total_count"] == 15
    assert {o["conference_name"] for o in conf["objects"]} == {"conf-1"}
    assert "conference_name=conf-1" in conf["meta"]["next"]
    # recordings end at 09:MM:30 and are stored 1-5 s later: minutes 10..19
    assert window["meta"]["total_count"] == 10


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": 21}, "limit"), ({"limit": 0}, "limit"), ({"offset": -1}, "offset"),
    ({"add_time__gte": "2026-09-01 00:00"}, "add_time__gte"),
    ({"add_time__gt": "2026-09-01", "add_time__lt": "2026-11-01 00:00"}, "add_time__gt"),
    ({"add_time__gte": "2026-09-01 00:00", "add_time__lt": "2026-11-01 00:00"}, "add_time__gte"),
    ({"add_time": "yesterday"}, "add_time"), ({"recording_storage_duration__gt": "-1"},
                                              "recording_storage_duration__gt"),
    ({"subaccount": "SA" + "A" * 18}, "subaccount"), ({"cursor": "abc"}, "cursor"),
    ({"callback_url": "https://example.com/cb"}, "callback_url")])
def test_list_rejects_bad_parameters_naming_them(listed, params, field):
    with api(listed) as client:
        answer = client.get("/Recording/", params=params)
    assert answer.status_code == 400
    assert answer.json()["error"].startswith(f"{field}: ")


def test_list_defaults_to_the_last_seven_days(listed, clock):
    with api(listed) as client:
        assert client.get("/Recording/").json()["meta"]["total_count"] == 45
        clock.advance(8 * 86400)
        assert client.get("/Recording/").json()["meta"]["total_count"] == 0
        old = client.get("/Recording/", params={"add_time__gte": "2026-11-01 00:00"}).json()
    assert old["meta"]["total_count"] == 45
    assert old["objects"][0]["recording_storage_duration"] == 9  # the first day counts as 1


def test_get_one_recording(listed):
    with api(listed) as client:
        first = client.get("/Recording/", params={"limit": 1}).json()["objects"][0]
        one = client.get(f"/Recording/{first['recording_id']}/")
        missing = client.get("/Recording/no-such-recording/")
    assert one.status_code == 200
    assert one.json() == {**first, "api_id": one.json()["api_id"]}
    assert missing.status_code == 404


def test_a_running_recording_is_not_listed_yet(sandbox, clock):
    with api(sandbox) as client:
        rid = start(client, "room").json()["recording_id"]
        assert client.get(f"/Recording/{rid}/").status_code == 404
        client.delete(record_path("room"))
        clock.advance(10)
        assert client.get(f"/Recording/{rid}/").status_code == 200


def test_the_toolkit_client_backfills_from_the_list_api(listed):
    with RecordingClient(listed.auth_id, listed.auth_token, base_url=listed.base_url,
                         rate_limit=None) as client:
        found = list(client.iter_recordings(since=T0 - timedelta(days=40), until=listed.now()))
    assert len(found) == 45  # two 30-day windows, pages of 20


# -- determinism -------------------------------------------------------------------------------

def scenario(sink: Sink, seed: int, auth_id: str, auth_token: str) -> tuple[Any, ...]:
    sink.requests.clear()
    clock = ManualClock(T0)
    faults = Faults(drop_rate=0.2, duplicate_rate=0.2, delay_rate=0.2, api_error_rate=0.1,
                    api_error_statuses=(503,))
    with Sandbox(auth_id=auth_id, auth_token=auth_token, seed=seed, clock=clock, faults=faults,
                 media_url="https://media.example.test") as sb, api(sb) as client:
        answers = []
        for i in range(24):
            answer = start(client, f"room-{i % 5}", callback_url=sink.url("/rec"),
                           transcription_type="auto", transcription_url=sink.url("/tr"),
                           file_format="wav" if i % 3 else "mp3")
            answers.append((answer.status_code, answer.text))
            clock.advance(60)
        for i in range(5):
            client.delete(record_path(f"room-{i}"))
        clock.advance(12 * 3600)
        assert sb.wait_idle(20)
        listing = client.get("/Recording/", params={"limit": 20}).json()
        truth = sb.ground_truth()
    received = sorted((r["path"], json.dumps(r["params"], sort_keys=True),
                       r["headers"]["x-plivo-signature-v3"]) for r in sink.requests)
    return answers, listing, truth, received


def test_the_same_seed_and_requests_give_the_same_run(sink, auth_id, auth_token):
    first = scenario(sink, 3, auth_id, auth_token)
    again = scenario(sink, 3, auth_id, auth_token)
    other = scenario(sink, 4, auth_id, auth_token)
    assert first == again
    assert first[2]["callbacks"]["recording"]["dropped"] > 0
    ids = {d["recording_id"] for d in first[2]["recording_details"]}
    assert ids.isdisjoint({d["recording_id"] for d in other[2]["recording_details"]})


# -- scale -------------------------------------------------------------------------------------

def test_thousands_of_callbacks_through_a_bounded_pool(auth_id, auth_token, clock):
    with Sink() as sink, Sandbox(auth_id=auth_id, auth_token=auth_token, clock=clock,
                                 max_concurrent_callbacks=8, media_url="https://m.test") as sb:
        from recording_toolkit.sandbox._state import StartRequest

        options = StartRequest(callback_url=sink.url("/rec"), transcription_type="auto",
                               transcription_url=sink.url("/tr"))
        for i in range(1000):
            sb.core.start(f"room-{i % 50}", options)
        clock.advance(7 * 3600)  # every recording has ended by its simulated duration
        assert sb.wait_idle(60)
        counts = sb.ground_truth(details=False)["callbacks"]
    assert len(sink.of("/rec")) == counts["recording"]["delivered"] == 1000
    assert len(sink.of("/tr")) == counts["transcription"]["delivered"] == 1000
    assert 1 < sink.max_in_flight <= 8


def test_a_recording_end_being_handled_keeps_the_dispatcher_busy(clock):
    """Between a planned end and its callbacks being planned, nobody waiting for idleness may
    be told the work is done (the callbacks would then go out after the ground truth)."""
    from recording_toolkit.sandbox._dispatch import Dispatcher
    from recording_toolkit.sandbox._simulation import Simulation

    entered, release = threading.Event(), threading.Event()
    ended: list[str] = []

    def on_planned_end(recording_id: str) -> None:
        entered.set()
        release.wait(10)
        ended.append(recording_id)

    config = SandboxConfig()
    dispatcher = Dispatcher(clock=clock, simulation=Simulation(config), faults=config.faults,
                            timing=config.timing, auth_token="t" * 32,
                            on_planned_end=on_planned_end)
    dispatcher.start()
    try:
        dispatcher.schedule_end(T0_MS, "rec-1")
        assert entered.wait(10)
        busy = dispatcher.idle()
        release.set()
        assert dispatcher.wait(dispatcher.idle, 10)
    finally:
        release.set()
        dispatcher.stop()
    assert busy is False and ended == ["rec-1"]


# -- the Python API ----------------------------------------------------------------------------

def test_generated_credentials_and_a_repr_without_the_token():
    sb = Sandbox(seed=2)
    assert AUTH_ID_PATTERN.match(sb.auth_id) and len(sb.auth_token) >= 32
    with sb:
        text = repr(sb)
        url = sb.base_url
        truth = json.dumps(sb.ground_truth())
    assert sb.auth_id in text and url in text and "stopped" in repr(sb)
    assert sb.auth_token not in text and sb.auth_token not in truth


def test_bad_settings_are_refused():
    with pytest.raises(ConfigurationError, match="auth_id"):
        Sandbox(auth_id="AC123")
    with pytest.raises(ConfigurationError, match="time_scale"):
        Sandbox(time_scale=0)
    with pytest.raises(ConfigurationError, match="rate_limit"):
        Sandbox(rate_limit=(0, 5))
    with pytest.raises(ConfigurationError, match="short_share"):
        DurationModel(short_share=2)
    with pytest.raises(ConfigurationError, match="callback_delay_s"):
        Timing(callback_delay_s=(5, 1))


def test_wait_idle_with_a_manual_clock_waits_only_for_what_is_due(sandbox, clock, sink):
    with api(sandbox) as client:
        start(client, "room", callback_url=sink.url("/rec"))
        client.delete(record_path("room"))
    assert sandbox.wait_idle(5)  # due in 1-5 s of sandbox time, which has not passed
    assert sink.of("/rec") == []
    clock.advance(5)
    assert sandbox.wait_idle(5)
    assert len(sink.of("/rec")) == 1


def test_the_manual_clock_never_goes_back(clock):
    with pytest.raises(ValueError, match="cannot go back"):
        clock.set(T0 - timedelta(seconds=1))
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_duration_model_makes_the_transcription_limits_visible():
    import random

    model = DurationModel(short_share=0.1, long_share=0.1)
    draws = [model.draw_ms(random.Random(i)) for i in range(2000)]
    short = sum(d <= rules.MIN_TRANSCRIBABLE_MS for d in draws)
    long = sum(d >= rules.MAX_TRANSCRIBABLE_MS for d in draws)
    assert 120 < short < 280 and 120 < long < 280
    assert max(draws) <= 6 * 3600 * 1000 and min(draws) >= 100
