"""The callback receiver (recording_toolkit.receiver), against a real uvicorn on 127.0.0.1."""

from __future__ import annotations

import asyncio
import errno
import itertools
import json
import os
import re
import select
import socket
import time
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recording_toolkit import server as server_module
from recording_toolkit.callback_log import CallbackLog
from recording_toolkit.errors import ConfigurationError
from recording_toolkit.receiver import (
    DEFAULT_MAX_CONNECTIONS,
    MAX_BODY_BYTES,
    CallbackReceiver,
    create_receiver_app,
    default_max_connections,
)
from recording_toolkit.receiver import _settings as receiver_settings
from recording_toolkit.server import BackgroundServer
from recording_toolkit.signature import (
    MA_SIGNATURE_HEADER,
    NONCE_HEADER,
    SIGNATURE_HEADER,
    sign_v3,
    signed_headers,
)

TOKEN = "receiver-test-token-0123456789"
_nonces = itertools.count(10_000_000)

RECORDING = {
    "api_id": "api-1",
    "record_url": "https://media.plivo.com/v1/Account/MA/Recording/rec-1.mp3",
    "recording_id": "rec-1",
    "conference_name": "My Conf Room",
    "recording_duration": "345",
    "recording_duration_ms": "345100.00000",
    "recording_start_ms": "1763978100000",
    "recording_end_ms": "1763978445100",
}
TRANSCRIPTION = {
    "transcription": "Grüße aus Köln — 你好 👋",
    "transcription_charge": "0.05",
    "transcription_rate": "0.05",
    "duration": "23",
    "call_uuid": "call-1",
    "recording_id": "rec-1",
    "error": "",
}


def nonce() -> str:
    return str(next(_nonces))


def signed(method: str, url: str, params=None, *, token: str = TOKEN) -> dict[str, str]:
    return signed_headers(token, nonce(), method, url, params)


def post_form(url: str, params: dict, **kwargs) -> httpx.Response:
    headers = kwargs.pop("headers", None) or signed("POST", url, params)
    return httpx.post(url, data=params, headers=headers, **kwargs)


def stored_lines(folder: Path) -> list[dict]:
    return [json.loads(line) for path in sorted(Path(folder).glob("callbacks-*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()]


def records(folder: Path, sub: str) -> list[dict]:
    return [json.loads(line) for path in sorted((Path(folder) / sub).glob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()]


def no_secret_in(folder: Path, secret: str = TOKEN) -> bool:
    return all(secret not in path.read_text(encoding="utf-8", errors="replace")
               for path in Path(folder).rglob("*") if path.is_file())


@pytest.fixture
def receiver(tmp_path):
    with CallbackReceiver(tmp_path, auth_token=TOKEN) as running:
        yield running


# -- accepted callbacks ---------------------------------------------------------------------------

def test_form_recording_callback_is_stored_after_verification(receiver, tmp_path):
    response = post_form(receiver.recording_callback_url, RECORDING)
    assert response.status_code == 200
    assert response.json() == {"status": "stored", "event": "recording", "recording_id": "rec-1"}
    [line] = stored_lines(tmp_path)
    assert line["event"] == "recording" and line["verified"] is True
    assert line["payload"] == RECORDING  # every value exactly as sent, as text
    assert receiver.counts["recording"] == 1


def test_json_transcription_callback_keeps_non_ascii_text(receiver, tmp_path):
    url = receiver.transcription_callback_url
    response = httpx.post(url, json=TRANSCRIPTION, headers=signed("POST", url, TRANSCRIPTION))
    assert response.status_code == 200, response.text
    [line] = stored_lines(tmp_path)
    assert line["event"] == "transcription"
    assert line["payload"]["transcription"] == "Grüße aus Köln — 你好 👋"


def test_json_numbers_are_signed_and_stored_as_their_text(receiver, tmp_path):
    url = receiver.recording_callback_url
    body = {"recording_id": "rec-2", "recording_duration_ms": 345100, "recording_duration": 345}
    as_text = {"recording_id": "rec-2", "recording_duration_ms": "345100",
               "recording_duration": "345"}
    response = httpx.post(url, json=body, headers=signed("POST", url, as_text))
    assert response.status_code == 200, response.text
    assert stored_lines(tmp_path)[0]["payload"] == as_text


def test_get_recording_callback_with_query_parameters(receiver, tmp_path):
    url = receiver.recording_callback_url + "?" + httpx.QueryParams(RECORDING).__str__()
    response = httpx.get(url, headers=signed("GET", url))
    assert response.status_code == 200, response.text
    assert stored_lines(tmp_path)[0]["payload"] == RECORDING


def test_query_on_a_post_callback_url_is_signed_and_kept(receiver, tmp_path):
    url = receiver.recording_callback_url + "?run=7"
    response = httpx.post(url, data=RECORDING, headers=signed("POST", url, RECORDING))
    assert response.status_code == 200, response.text
    assert stored_lines(tmp_path)[0]["payload"] == {**RECORDING, "run": "7"}


def test_xml_started_recording_with_camel_case_names(receiver, tmp_path):
    camel = {"RecordUrl": "https://media.plivo.com/r.wav", "RecordingID": "rec-x",
             "RecordingDurationMs": "1000", "RecordingStartMs": "1", "RecordingEndMs": "1001",
             "ConferenceName": "Room"}
    assert post_form(receiver.recording_callback_url, camel).status_code == 200
    assert stored_lines(tmp_path)[0]["payload"] == {
        "record_url": "https://media.plivo.com/r.wav", "recording_id": "rec-x",
        "recording_duration_ms": "1000", "recording_start_ms": "1", "recording_end_ms": "1001",
        "conference_name": "Room"}


def test_redelivered_callback_is_answered_200_and_stored_once(receiver, tmp_path):
    url = receiver.recording_callback_url
    first = post_form(url, RECORDING)
    retry = post_form(url, RECORDING)  # Plivo's retry: same payload, new nonce
    assert first.json()["status"] == "stored"
    assert retry.status_code == 200 and retry.json()["status"] == "duplicate"
    assert len(stored_lines(tmp_path)) == 1
    assert receiver.counts == {"recording": 1, "transcription": 0, "duplicates": 1,
                               "rejected": 0, "malformed": 0}


def test_body_of_exactly_one_mib_is_accepted(receiver, tmp_path):
    url = receiver.transcription_callback_url
    params = dict(TRANSCRIPTION, transcription="")
    overhead = len(httpx.Request("POST", url, data=params).read())
    params["transcription"] = "a" * (MAX_BODY_BYTES - overhead)
    response = post_form(url, params)
    assert response.status_code == 200, response.text
    assert len(stored_lines(tmp_path)[0]["payload"]["transcription"]) == MAX_BODY_BYTES - overhead


# -- rejected (403): nothing in the log, the attempt recorded without secrets ---------------------

def _bad_signatures(url: str) -> dict[str, dict[str, str]]:
    good = signed("POST", url, RECORDING)
    return {
        "missing signature": {NONCE_HEADER: nonce()},
        "missing nonce": {SIGNATURE_HEADER: good[SIGNATURE_HEADER]},
        "wrong token": signed("POST", url, RECORDING, token="someone-elses-token"),
        "other URL": signed("POST", url.replace("/callbacks/", "/elsewhere/"), RECORDING),
        "tampered body": signed("POST", url, {**RECORDING, "recording_duration": "1"}),
    }


@pytest.mark.parametrize(("case", "error", "reason"), [
    ("missing signature", "MissingSignatureError", "not signed"),
    ("missing nonce", "MissingNonceError", "X-Plivo-Signature-V3-Nonce"),
    ("wrong token", "SignatureMismatchError", "signature mismatch"),
    ("other URL", "SignatureMismatchError", "signature mismatch"),
    ("tampered body", "SignatureMismatchError", "signature mismatch"),
])
def test_bad_or_missing_signature_is_403_and_recorded_not_logged(receiver, tmp_path, case, error,
                                                                 reason):
    url = receiver.recording_callback_url
    headers = _bad_signatures(url)[case]
    response = httpx.post(url, data=RECORDING, headers=headers)
    assert response.status_code == 403
    assert reason in response.json()["error"]
    assert stored_lines(tmp_path) == []
    [record] = records(tmp_path, "_rejected")
    assert record["status"] == 403 and record["error"] == error and reason in record["reason"]
    assert record["path"] == "/callbacks/recording" and record["remote"].startswith("127.0.0.1:")
    assert record["body_length"] == len(httpx.Request("POST", url, data=RECORDING).read())
    for name in (SIGNATURE_HEADER, MA_SIGNATURE_HEADER):
        assert record["headers"].get(name.lower(), "[redacted]") == "[redacted]"
    assert "body" not in record
    assert no_secret_in(tmp_path)
    assert receiver.counts["rejected"] == 1


def test_unparseable_body_that_is_not_signed_is_403_not_quarantined(receiver, tmp_path):
    response = httpx.post(receiver.recording_callback_url, content=b"{not json",
                          headers={"content-type": "application/json"})
    assert response.status_code == 403
    assert records(tmp_path, "_quarantine") == []


# -- malformed (400): the reason, the raw request quarantined ---------------------------------------

@pytest.mark.parametrize(("path", "content_type", "body", "params", "reason"), [
    ("recording", "application/x-www-form-urlencoded", "api_id=a&recording_duration=3",
     {"api_id": "a", "recording_duration": "3"}, "recording_id is missing"),
    ("recording", "application/x-www-form-urlencoded",
     "transcription=hi&recording_id=r&transcription_rate=0.05",
     {"transcription": "hi", "recording_id": "r", "transcription_rate": "0.05"},
     "sent as a recording callback"),
    ("transcription", "application/x-www-form-urlencoded",
     "recording_id=r1&RecordingID=r2&transcription=x",
     [("recording_id", "r1"), ("RecordingID", "r2"), ("transcription", "x")],
     "given more than once with different values"),
    ("transcription", "application/json", '{"recording_id": "r1", "transcription": ', None,
     "not valid JSON"),
    ("transcription", "application/json", '["recording_id", "r1"]', None, "not an object"),
    ("transcription", "text/plain", "recording_id=r1", None, "unsupported Content-Type"),
    ("transcription", "application/x-www-form-urlencoded", "transcription=%FF&recording_id=r1",
     None, "not valid UTF-8"),
])
def test_malformed_signed_payload_is_400_with_reason_and_quarantined(
        receiver, tmp_path, path, content_type, body, params, reason):
    url = f"{receiver.url}/callbacks/{path}"
    # Plivo would sign what it sends; an unparseable body is signed as a request without params
    response = httpx.post(url, content=body.encode(), headers={
        **signed("POST", url, params), "content-type": content_type})
    assert response.status_code == 400
    assert reason in response.json()["error"]
    [record] = records(tmp_path, "_quarantine")
    assert record["body"] == body and record["content_type"] == content_type
    assert reason in record["reason"] and record["verified"] is True
    assert record["headers"][SIGNATURE_HEADER.lower()] == "[redacted]"
    assert stored_lines(tmp_path) == []
    assert receiver.counts["malformed"] == 1


def test_undecodable_body_is_kept_as_base64(receiver, tmp_path):
    url = receiver.transcription_callback_url
    response = httpx.post(url, content=b"\xff\xfe\x00", headers={
        **signed("POST", url, None), "content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400
    assert records(tmp_path, "_quarantine")[0]["body_base64"] == "//4A"


def test_text_that_is_not_unicode_is_refused_not_a_500(tmp_path):
    body = b'{"recording_id": "r1", "transcription": "\\ud800 lone half of a pair"}'
    with CallbackReceiver(tmp_path / "open", verify=False) as rx:
        response = httpx.post(rx.transcription_callback_url, content=body,
                              headers={"content-type": "application/json"})
        assert response.status_code == 400
        assert "'transcription' is not valid Unicode" in response.json()["error"]
        assert records(tmp_path / "open", "_quarantine")[0]["body"] == body.decode()
    with CallbackReceiver(tmp_path / "signed", auth_token=TOKEN) as rx:
        url = rx.transcription_callback_url
        params = {"recording_id": "r1", "transcription": "\ud800 lone half of a pair"}
        response = httpx.post(url, content=body, headers={
            **signed("POST", url, params), "content-type": "application/json"})
        assert response.status_code == 400  # signed as sent, but cannot be stored as UTF-8
    assert stored_lines(tmp_path / "open") == stored_lines(tmp_path / "signed") == []


def test_received_at_comes_from_the_given_clock(tmp_path):
    """Against a sandbox, received_at must be on the sandbox's clock (turnaround subtracts the
    recording's end, which is sandbox time)."""
    from datetime import UTC, datetime

    moment = datetime(2026, 11, 24, 10, 15, 2, 123456, tzinfo=UTC)
    with CallbackReceiver(tmp_path, verify=False, clock=lambda: moment) as rx:
        response = httpx.post(rx.recording_callback_url,
                              data={"recording_id": "r1", "record_url": "https://m/r1.mp3"})
        assert response.status_code == 200
    (line,) = stored_lines(tmp_path)
    assert line["received_at"] == "2026-11-24T10:15:02.123456Z"


# -- 413, 404, 405 ------------------------------------------------------------------------------------

def test_body_over_one_mib_is_413_even_without_content_length(receiver, tmp_path):
    def chunks():  # chunked transfer: no Content-Length to trust
        for _ in range(17):
            yield b"a" * 65536

    response = httpx.post(receiver.recording_callback_url, content=chunks(),
                          headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413
    [record] = records(tmp_path, "_rejected")
    assert record["status"] == 413 and record["body_length"] > MAX_BODY_BYTES
    assert stored_lines(tmp_path) == [] and records(tmp_path, "_quarantine") == []


def test_declared_content_length_over_the_limit_is_413(receiver):
    response = post_form(receiver.recording_callback_url,
                         {**RECORDING, "pad": "x" * MAX_BODY_BYTES})
    assert response.status_code == 413


def test_unknown_path_404_wrong_method_405(receiver):
    assert httpx.post(receiver.url + "/callbacks/other", data={"a": "1"}).status_code == 404
    assert httpx.get(receiver.url + "/").status_code == 404
    assert httpx.get(receiver.transcription_callback_url).status_code == 405
    assert httpx.put(receiver.recording_callback_url).status_code == 405
    head = httpx.head(receiver.recording_callback_url)
    assert head.status_code == 405 and head.headers["allow"] == "GET, POST"
    assert httpx.post(receiver.url + "/healthz").status_code == 405


def test_healthz(receiver):
    body = httpx.get(receiver.url + "/healthz").json()
    assert body["status"] == "ok" and body["counts"]["recording"] == 0


def test_disk_failure_is_503_not_acknowledged_and_retry_stores_once(receiver, tmp_path,
                                                                    monkeypatch):
    real = os.fsync
    failures = iter([OSError(errno.ENOSPC, "No space left on device")])

    def failing_fsync(fd: int) -> None:
        if "/callbacks-" in os.readlink(f"/proc/self/fd/{fd}"):
            error = next(failures, None)
            if error is not None:
                raise error
        real(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    first = post_form(receiver.recording_callback_url, RECORDING)
    assert first.status_code == 503 and "retry" in first.json()["error"]
    assert receiver.counts["recording"] == 0
    retry = post_form(receiver.recording_callback_url, RECORDING)
    assert retry.json()["status"] == "stored"
    assert len(stored_lines(tmp_path)) == 1


# -- stalled senders: 408 after the body timeout, 503 past the connection limit ---------------------

def _stall(url: str, declared: int = 200, sent: bytes = b"recording_id=", *,
           keep_alive: bool = False) -> socket.socket:
    """A client that sends its headers and the start of its body, then waits."""
    parts = httpx.URL(url)
    sock = socket.create_connection((parts.host, parts.port), timeout=30)
    sock.sendall(b"POST " + parts.raw_path + b" HTTP/1.1\r\nHost: " + parts.netloc + b"\r\n"
                 b"Content-Type: application/x-www-form-urlencoded\r\n"
                 + (b"" if keep_alive else b"Connection: close\r\n") + b"Content-Length: " + str(declared).encode() + b"\r\n\r\n" + sent)
    return sock


def _answer_then_close(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (30 s at most)."""
    received = b""
    with sock:
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_a_stalled_body_gets_408_and_is_closed_while_valid_callbacks_are_stored(tmp_path):
    with CallbackReceiver(tmp_path, auth_token=TOKEN, body_timeout=0.5) as rx:
        stalled = [_stall(rx.recording_callback_url, keep_alive=True) for _ in range(5)]
        for i in range(3):  # answered at once, not after the stalled ones
            params = dict(RECORDING, recording_id=f"rec-{i}")
            assert post_form(rx.recording_callback_url, params).status_code == 200
        answers = [_answer_then_close(sock) for sock in stalled]
        counts = rx.counts
    for answer in answers:
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408 ")
        assert b"connection: close" in head.lower()
        assert json.loads(body) == {"error": "the body did not arrive within 0.5 s (13 of the 200"
                                             " declared bytes came)"}
    assert sorted(line["payload"]["recording_id"] for line in stored_lines(tmp_path)) == \
        ["rec-0", "rec-1", "rec-2"]
    rejected = records(tmp_path, "_rejected")
    assert [(r["status"], r["error"], r["body_length"]) for r in rejected] == \
        [(408, "BodyTimeout", 13)] * 5
    assert counts["rejected"] == 5 and counts["recording"] == 3
    assert records(tmp_path, "_quarantine") == []


def test_a_body_dripping_in_past_the_timeout_gets_408(tmp_path):
    with CallbackReceiver(tmp_path, verify=False, body_timeout=0.5) as rx:
        sock = _stall(rx.recording_callback_url, declared=100, sent=b"r")
        for _ in range(20):  # a byte every 0.1 s keeps it busy but never finishes in time
            time.sleep(0.1)
            try:
                sock.sendall(b"x")
            except OSError:
                break  # closed after its 408
        answer = _answer_then_close(sock)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert stored_lines(tmp_path) == []


def test_a_body_sent_in_pieces_within_the_timeout_is_stored(tmp_path):
    body = "&".join(f"{k}={v}" for k, v in RECORDING.items()).encode()
    with CallbackReceiver(tmp_path, verify=False, body_timeout=10) as rx:
        sock = _stall(rx.recording_callback_url, declared=len(body), sent=body[:10])
        time.sleep(0.3)
        sock.sendall(body[10:])
        answer = _answer_then_close(sock)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert stored_lines(tmp_path)[0]["payload"] == RECORDING


def test_past_max_connections_with_none_stuck_long_a_newcomer_gets_503(tmp_path, monkeypatch):
    monkeypatch.setattr(server_module, "STALLED_AFTER", 3600)  # nobody counts as stuck yet
    with CallbackReceiver(tmp_path, auth_token=TOKEN, body_timeout=1, max_connections=3) as rx:
        stalled = [_stall(rx.recording_callback_url) for _ in range(3)]
        time.sleep(0.2)  # let the server take their headers
        refused = post_form(rx.recording_callback_url, RECORDING)
        assert refused.status_code == 503
        assert all(_answer_then_close(sock).startswith(b"HTTP/1.1 408 ") for sock in stalled)
        assert post_form(rx.recording_callback_url, RECORDING).status_code == 200
    assert len(stored_lines(tmp_path)) == 1


def test_past_max_connections_the_stuck_ones_make_room_for_valid_callbacks(tmp_path,
                                                                          monkeypatch):
    monkeypatch.setattr(server_module, "STALLED_AFTER", 0)  # stuck once a tick has seen it
    with CallbackReceiver(tmp_path, auth_token=TOKEN, body_timeout=60, max_connections=4) as rx:
        parts = httpx.URL(rx.url)
        half_headers = socket.create_connection((parts.host, parts.port), timeout=30)
        half_headers.sendall(b"POST /callbacks/recording HTTP/1.1\r\nHost: x\r\n")
        stalled = [half_headers] + [_stall(rx.recording_callback_url) for _ in range(3)]
        time.sleep(1.5)  # the once-a-second check has seen them all
        try:
            for i in range(4):
                params = dict(RECORDING, recording_id=f"rec-{i}")
                assert post_form(rx.recording_callback_url, params).status_code == 200
            # the first valid callback made room: one stuck connection closed, without an answer
            readable, _, _ = select.select(stalled, [], [], 30)
            assert readable and all(sock.recv(100) == b"" for sock in readable)
        finally:
            for sock in stalled:
                sock.close()
    assert len(stored_lines(tmp_path)) == 4
    assert records(tmp_path, "_quarantine") == []


def test_stopping_does_not_wait_for_a_stuck_body(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(server_module, "STALLED_AFTER", 0)
    rx = CallbackReceiver(tmp_path, verify=False, body_timeout=3600).start()
    try:
        sock = _stall(rx.recording_callback_url)
        time.sleep(1.5)  # the once-a-second check has seen it stuck
    finally:
        rx.stop()
    assert _answer_then_close(sock) == b""  # closed, not answered after an hour
    assert not [r for r in caplog.records if r.levelname == "ERROR"]  # no forced exit


@pytest.mark.parametrize("sent", [b"", b"POST /callbacks/recording HTTP/1.1\r\nHost: x\r\n"])
def test_a_connection_that_sends_no_complete_headers_is_closed_after_the_timeout(tmp_path, sent):
    with CallbackReceiver(tmp_path, verify=False, body_timeout=0.5, max_connections=4) as rx:
        parts = httpx.URL(rx.url)
        silent = []
        for _ in range(4):  # every connection slot taken
            sock = socket.create_connection((parts.host, parts.port), timeout=30)
            sock.sendall(sent)
            silent.append(sock)
        assert [_answer_then_close(sock) for sock in silent] == [b""] * 4  # closed, no answer
        assert httpx.post(rx.recording_callback_url, data=RECORDING).status_code == 200
    assert [line["payload"] for line in stored_lines(tmp_path)] == [RECORDING]


def test_an_idle_keep_alive_connection_is_closed_by_the_timeout_too(tmp_path):
    with CallbackReceiver(tmp_path, verify=False, body_timeout=0.5) as rx, \
            httpx.Client(timeout=30) as client:
        assert client.post(rx.recording_callback_url, data=RECORDING).status_code == 200
        parts = httpx.URL(rx.url)
        sock = socket.create_connection((parts.host, parts.port), timeout=30)
        body = "&".join(f"{k}={v}" for k, v in RECORDING.items()).encode()
        sock.sendall(b"POST /callbacks/recording HTTP/1.1\r\nHost: x\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body)
        sock.sendall(b"POST /callbacks/rec")  # a second request that never finishes its headers
        answer = _answer_then_close(sock)
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.count(b"HTTP/1.1") == 1


@pytest.mark.parametrize(("option", "value", "message"), [
    ("body_timeout", 0, "body_timeout: 0 is not a number of seconds"),
    ("body_timeout", float("inf"), "body_timeout: inf is not a number of seconds"),
    ("body_timeout", "10", "body_timeout: '10' is not a number of seconds"),
    ("max_connections", 0, "max_connections: 0 is not a whole number of connections"),
    ("max_connections", 2.5, "max_connections: 2.5 is not a whole number of connections"),
    ("max_connections", 10**9, "max_connections: 1000000000 connections need more file"
                               " descriptors than this process may open"),
])
def test_bad_limits_are_a_configuration_error(tmp_path, option, value, message):
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        CallbackReceiver(tmp_path / "logs", auth_token=TOKEN, **{option: value})
    assert not (tmp_path / "logs").exists()


def test_the_default_connection_limit_keeps_under_the_open_file_limit(monkeypatch):
    monkeypatch.setattr(receiver_settings, "open_file_limit", lambda: 256)
    assert default_max_connections() == 128
    monkeypatch.setattr(receiver_settings, "open_file_limit", lambda: 1024)
    assert default_max_connections() == DEFAULT_MAX_CONNECTIONS == 500
    monkeypatch.setattr(receiver_settings, "open_file_limit", lambda: None)
    assert default_max_connections() == 500


# -- where the signature is checked against ---------------------------------------------------------

def test_public_url_is_handed_out_and_verified_against(tmp_path):
    public = "https://callbacks.example.com/plivo"
    with CallbackReceiver(tmp_path, auth_token=TOKEN, public_url=public + "/") as rx:
        assert rx.recording_callback_url == public + "/callbacks/recording"
        assert rx.transcription_callback_url == public + "/callbacks/transcription"
        local = rx.url + "/callbacks/recording"
        # Plivo signed the public URL; the proxy delivered it to the local one
        ok = httpx.post(local, data=RECORDING,
                        headers=signed("POST", rx.recording_callback_url, RECORDING))
        assert ok.status_code == 200
        signed_for_local = httpx.post(local, data=RECORDING,
                                      headers=signed("POST", local, RECORDING))
        assert signed_for_local.status_code == 403


@pytest.mark.parametrize("trust", [True, False])
def test_forwarded_headers_are_used_only_when_trusted(tmp_path, trust):
    with CallbackLog(tmp_path) as log:
        app = create_receiver_app(log, auth_tokens=TOKEN, trust_forwarded=trust)
        with BackgroundServer(app) as server:
            public = "https://cb.example.com/callbacks/recording"
            response = httpx.post(server.url + "/callbacks/recording", data=RECORDING, headers={
                **signed("POST", public, RECORDING),
                "x-forwarded-proto": "https", "x-forwarded-host": "cb.example.com, proxy.local"})
            assert response.status_code == (200 if trust else 403)
            junk = httpx.post(server.url + "/callbacks/recording", data=RECORDING, headers={
                **signed("POST", public, RECORDING), "x-forwarded-host": "[::1"})
            assert junk.status_code == 403
            bad_host = httpx.post(server.url + "/callbacks/recording", data=RECORDING, headers={
                **signed("POST", public, RECORDING), "host": "[not-a-host"})
            assert bad_host.status_code == 403


def test_main_account_signature_and_token_rotation(tmp_path):
    with CallbackLog(tmp_path) as log:
        app = create_receiver_app(log, auth_tokens=["old-token", "new-token"],
                                  main_account_tokens="main-token")
        with BackgroundServer(app) as server:
            url = server.url + "/callbacks/recording"
            n = nonce()
            only_ma = {MA_SIGNATURE_HEADER: sign_v3("main-token", n, "POST", url, RECORDING),
                       NONCE_HEADER: n}
            assert httpx.post(url, data=RECORDING, headers=only_ma).status_code == 200
            second = dict(RECORDING, recording_id="rec-2")
            rotated = signed("POST", url, second, token="old-token")
            del rotated[MA_SIGNATURE_HEADER]
            assert httpx.post(url, data=second, headers=rotated).status_code == 200
            third = dict(RECORDING, recording_id="rec-3")
            retired = signed("POST", url, third, token="retired-token")
            assert httpx.post(url, data=third, headers=retired).status_code == 403


def test_verification_off_accepts_unsigned_and_marks_lines_unverified(tmp_path):
    with CallbackReceiver(tmp_path, verify=False) as rx:
        assert httpx.post(rx.recording_callback_url, data=RECORDING).status_code == 200
    assert stored_lines(tmp_path)[0]["verified"] is False


# -- load ------------------------------------------------------------------------------------------

def test_200_concurrent_posts_give_200_valid_lines(receiver, tmp_path):
    url = receiver.recording_callback_url

    async def send_all() -> list[int]:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:
            async def one(i: int) -> int:
                params = dict(RECORDING, recording_id=f"rec-{i:03d}")
                response = await client.post(url, data=params, headers=signed("POST", url, params))
                return response.status_code
            return await asyncio.gather(*(one(i) for i in range(200)))

    assert asyncio.run(send_all()) == [200] * 200
    lines = stored_lines(tmp_path)
    assert sorted(line["payload"]["recording_id"] for line in lines) == \
        [f"rec-{i:03d}" for i in range(200)]
    assert receiver.counts["recording"] == 200


# -- the notebook receiver -------------------------------------------------------------------------

def test_token_from_the_environment_and_never_in_the_repr(tmp_path):
    with CallbackReceiver(tmp_path, environ={"PLIVO_AUTH_TOKEN": f"older,{TOKEN}"}) as rx:
        assert post_form(rx.recording_callback_url, RECORDING).status_code == 200
        text = repr(rx)
    assert TOKEN not in text and "older" not in text and "tokens=2" in text
    assert "stopped" in repr(rx)


def test_missing_token_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError) as info:
        CallbackReceiver(tmp_path, environ={})
    assert str(info.value) == ("auth_token: missing; pass auth_token=... or set the"
                               " PLIVO_AUTH_TOKEN environment variable (or verify=False to"
                               " accept unsigned callbacks)")
    with pytest.raises(ConfigurationError, match=r"^auth_tokens: missing; .*auth_tokens=\.\.\."):
        create_receiver_app(None, auth_tokens=None)
    with pytest.raises(ConfigurationError, match="public_url"):
        CallbackReceiver(tmp_path, auth_token=TOKEN, public_url="callbacks.example.com")


def test_wait_for_counts_stored_callbacks(receiver):
    assert receiver.wait_for(recordings=1, timeout=0.05) is False
    post_form(receiver.recording_callback_url, RECORDING)
    post_form(receiver.recording_callback_url, RECORDING)  # a duplicate does not count twice
    post_form(receiver.transcription_callback_url, TRANSCRIPTION)
    assert receiver.wait_for(recordings=1, transcriptions=1, timeout=5, progress=True) is True
    assert receiver.wait_for(recordings=2, timeout=0.05) is False


def test_stop_closes_the_port_and_the_log(tmp_path):
    rx = CallbackReceiver(tmp_path, auth_token=TOKEN).start()
    url = rx.url
    assert rx.running and httpx.get(url + "/healthz").status_code == 200
    rx.stop()
    rx.stop()  # idempotent
    assert not rx.running and rx.log.closed
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/healthz", timeout=2)
    with pytest.raises(RuntimeError, match="not running"):
        rx.url  # noqa: B018


# -- fuzzing: no input ever gets a 500 -------------------------------------------------------------

@pytest.fixture(scope="module")
def fuzz_targets(tmp_path_factory):
    verifying = CallbackReceiver(tmp_path_factory.mktemp("fuzz-verify"), auth_token=TOKEN)
    open_door = CallbackReceiver(tmp_path_factory.mktemp("fuzz-open"), verify=False,
                                 trust_forwarded=True)
    with verifying, open_door, httpx.Client(timeout=30) as client:
        yield {"verify": verifying, "open": open_door, "client": client}


_printable = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8),
                                                                      children, max_size=3),
    max_leaves=8)
_field_names = st.sampled_from(["recording_id", "RecordingID", "transcription", "record_url",
                                "recording_duration_ms", "error", "message"]) | st.text(max_size=12)


@st.composite
def fuzzed_requests(draw):
    # most requests aim at the callback endpoints, so parsing and verification get exercised
    if draw(st.integers(0, 9)) < 8:
        method = draw(st.sampled_from(["POST", "POST", "POST", "GET"]))
        path = draw(st.sampled_from(["/callbacks/recording", "/callbacks/transcription"]))
    else:
        method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS",
                                       "HEAD"]))
        path = draw(st.sampled_from(["/healthz", "/callbacks", "/callbacks/recording/"])
                    | _printable.map(lambda p: "/" + p.replace("?", "").replace("#", "")))
    query = draw(st.lists(st.tuples(_field_names, st.text(max_size=20)), max_size=4))
    kind = draw(st.sampled_from(["near-valid", "near-valid", "form", "json", "json-any",
                                 "bytes", "empty"]))
    params = None
    if kind == "near-valid":  # a real callback with a few fields dropped, changed or added
        base = dict(RECORDING if path.endswith("recording") else TRANSCRIPTION)
        for key in draw(st.sets(st.sampled_from(sorted(base)), max_size=2)):
            del base[key]
        base.update(draw(st.dictionaries(_field_names, st.text(max_size=30), max_size=2)))
        params = list(base.items())
        if draw(st.booleans()):
            body = str(httpx.QueryParams(params)).encode()
            content_type = "application/x-www-form-urlencoded"
        else:
            body = json.dumps(base).encode()
            content_type = "application/json"
        if method == "GET":
            query = query + params
    elif kind == "form":
        params = draw(st.lists(st.tuples(_field_names, st.text(max_size=30)), max_size=6))
        body = str(httpx.QueryParams(params)).encode()
        content_type = "application/x-www-form-urlencoded"
    elif kind == "json":
        obj = draw(st.dictionaries(_field_names, _json_values, max_size=6))
        body = json.dumps(obj).encode()
        params = [(k, v if isinstance(v, str) else json.dumps(v)) for k, v in obj.items()]
        content_type = "application/json"
    elif kind == "json-any":
        body = json.dumps(draw(_json_values)).encode()
        content_type = draw(st.sampled_from(["application/json", "", "application/ld+json"]))
    elif kind == "bytes":
        body = draw(st.binary(max_size=300))
        content_type = draw(st.sampled_from(["", "application/x-www-form-urlencoded",
                                             "application/json", "multipart/form-data; b=x",
                                             "text/plain"]) | _printable.map(str.strip))
    else:
        body, content_type = b"", draw(st.sampled_from(["", "application/json"]))
    headers = draw(st.dictionaries(
        st.sampled_from(["x-forwarded-host", "x-forwarded-proto", "host", "x-plivo-x",
                         SIGNATURE_HEADER, MA_SIGNATURE_HEADER, NONCE_HEADER])
        | st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12).filter(
            lambda name: name not in {"content-length", "transfer-encoding", "connection",
                                      "expect", "upgrade", "content-type"}),
        _printable.map(str.strip), max_size=4))
    return {"method": method, "path": path, "query": query, "body": body,
            "content_type": content_type, "headers": headers, "params": params,
            "sign": draw(st.integers(0, 3)) > 0}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=fuzzed_requests(), target=st.sampled_from(["verify", "open"]))
def test_fuzzed_requests_never_get_a_500(fuzz_targets, request, target):
    rx = fuzz_targets[target]
    url = httpx.URL(rx.url + request["path"], params=request["query"] or None)
    headers = dict(request["headers"])
    if request["content_type"]:
        headers["content-type"] = request["content_type"]
    if request["sign"] and target == "verify":
        headers.update(signed(request["method"], str(url),
                              request["params"] if request["method"] != "GET" else None))
    response = fuzz_targets["client"].request(request["method"], url, content=request["body"],
                                              headers=headers)
    assert response.status_code in {200, 400, 403, 404, 405, 413}, response.text
    if response.status_code == 200 and request["path"].startswith("/callbacks"):
        assert response.json()["status"] in {"stored", "duplicate"}


def test_fuzzing_left_no_secret_on_disk(fuzz_targets):
    assert no_secret_in(fuzz_targets["verify"].log.log_dir)

