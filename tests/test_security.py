"""Security: what the receiver refuses, where things listen, and where the token never goes.

- A forged callback (signed with another token), a replay of a real signature over a changed
  body, and an unsigned callback each get 403 and leave no trace in the callback log: not a
  line, not in what the loader reads; the refused request is noted in ``_rejected/`` without
  its signature values.
- The receiver, the sandbox and the ``receive`` command listen on 127.0.0.1 unless told
  otherwise.
- The auth token is in no file the short soak wrote (log, quarantine, rejected requests,
  journal, summary, ground truth, the receivers' output), nor in its report, nor in the text
  or repr of any error the client raises.
"""

from __future__ import annotations

import json
import traceback

import httpx
import pytest
from soak_run import SOAK_TOKEN, short_soak

from recording_toolkit.cli import build_parser
from recording_toolkit.client import RecordingClient
from recording_toolkit.errors import RecordingToolkitError
from recording_toolkit.load import load_callbacks
from recording_toolkit.receiver import CallbackReceiver
from recording_toolkit.sandbox import Faults, Sandbox
from recording_toolkit.signature import signed_headers

PAYLOAD = {"recording_id": "rec-0001", "record_url": "https://m.test/rec-0001.mp3",
           "recording_duration_ms": "61000", "recording_duration": "61",
           "conference_name": "board"}


def _post(url: str, data: dict[str, str], headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(url, data=data, headers=headers or {}, timeout=10)


def _log_lines(log_dir) -> list[dict]:
    return [json.loads(line) for path in sorted(log_dir.glob("callbacks-*.jsonl"))
            for line in path.read_text().splitlines()]


def test_forged_replayed_and_unsigned_callbacks_are_refused_and_leave_no_trace(
        tmp_path, auth_token):
    log_dir = tmp_path / "log"
    with CallbackReceiver(log_dir, auth_token=auth_token) as receiver:
        url = receiver.recording_callback_url
        forged = _post(url, PAYLOAD, signed_headers("not-the-token-" + "z" * 20, "111", "POST",
                                                    url, PAYLOAD))
        genuine = signed_headers(auth_token, "222", "POST", url, PAYLOAD)
        changed = {**PAYLOAD, "recording_duration_ms": "9961000"}
        replayed = _post(url, changed, genuine)
        renamed = _post(url, {**PAYLOAD, "recording_id": "rec-0002"}, genuine)
        unsigned = _post(url, {**PAYLOAD, "recording_id": "rec-0003"})
        no_nonce = _post(url, PAYLOAD, {k: v for k, v in genuine.items() if "Nonce" not in k})
        counts = receiver.counts
    for response in (forged, replayed, renamed, unsigned, no_nonce):
        assert response.status_code == 403, response.text
    assert counts["rejected"] == 5 and counts["recording"] == 0
    assert _log_lines(log_dir) == []
    assert load_callbacks(log_dir, progress=False).recordings.empty
    rejected = "".join(p.read_text() for p in (log_dir / "_rejected").glob("*.jsonl"))
    assert rejected.count("\n") == 5
    for secret in [auth_token, *(genuine[h] for h in genuine if "Nonce" not in h)]:
        assert secret not in rejected


def test_the_genuine_callback_is_stored_once_after_the_refusals(tmp_path, auth_token):
    # the control: the same receiver takes the real thing, so the refusals above are the checks
    with CallbackReceiver(tmp_path, auth_token=auth_token) as receiver:
        url = receiver.recording_callback_url
        assert _post(url, {**PAYLOAD, "recording_duration_ms": "1"},
                     signed_headers(auth_token, "1", "POST", url, PAYLOAD)).status_code == 403
        good = _post(url, PAYLOAD, signed_headers(auth_token, "2", "POST", url, PAYLOAD))
        again = _post(url, PAYLOAD, signed_headers(auth_token, "3", "POST", url, PAYLOAD))
    assert good.json()["status"] == "stored" and again.json()["status"] == "duplicate"
    assert [line["payload"] for line in _log_lines(tmp_path)] == [PAYLOAD]


def test_everything_listens_on_loopback_by_default(tmp_path, auth_token):
    with CallbackReceiver(tmp_path, auth_token=auth_token) as receiver:
        assert receiver.url.startswith("http://127.0.0.1:")
        assert receiver._server._socket.getsockname()[0] == "127.0.0.1"
    with Sandbox() as sandbox:
        assert sandbox.base_url.startswith("http://127.0.0.1:")
    assert build_parser().parse_args(["receive"]).host == "127.0.0.1"
    assert build_parser().parse_args(["sandbox"]).host == "127.0.0.1"


@pytest.mark.slow
def test_the_token_is_in_no_output_of_the_soak():
    report = short_soak()
    files = [p for p in report.workdir.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    # the run wrote what it should have: log, journal, backfill, summary, receivers' output
    assert {"journal.jsonl", "summary.json", "ground_truth.json", "receiver-1.out",
            "receiver-2.err"} <= names
    assert any(n.startswith("backfill-") for n in names)
    assert any(n.startswith("callbacks-") for n in names)
    leaking = [p.name for p in files if SOAK_TOKEN.encode() in p.read_bytes()]
    assert leaking == []
    assert SOAK_TOKEN not in report.to_text()
    assert SOAK_TOKEN not in json.dumps(report.to_dict(), default=str)
    assert SOAK_TOKEN not in repr(report)


@pytest.mark.parametrize("status", [429, 500, 503, 401])
def test_no_client_error_shows_the_token(tmp_path, status):
    token = "tok-" + "S3cr3t" * 6
    faults = Faults(api_error_rate=1.0, api_error_statuses=(status,) if status != 401 else (500,),
                    retry_after_s=0)
    with Sandbox(auth_token=token, faults=faults) as sandbox:
        wrong = "wrong-" + token if status == 401 else token
        client = RecordingClient(sandbox.auth_id, wrong, base_url=sandbox.base_url,
                                 max_retries=1, journal=tmp_path / "journal.jsonl")
        with client:
            with pytest.raises(RecordingToolkitError) as caught:
                client.start_recording("board")
            bulk = client.start_recordings(["board", "standup"], progress=False)
        shown = [str(caught.value), repr(caught.value), repr(client),
                 "".join(traceback.format_exception(caught.value))]
    assert not bulk["ok"].any()
    shown += [bulk.to_string(), (tmp_path / "journal.jsonl").read_text()]
    for text in shown:
        assert token not in text
