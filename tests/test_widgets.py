"""Tests for recording_toolkit.widgets in plain pytest: set ``.value``, call ``.click()``.

The panel talks to a real Sandbox through a real RecordingClient, with a CallbackReceiver on
127.0.0.1 collecting the callbacks; the dashboard reads callback logs written the same way.
What is checked is what a person would see: the recording id in the table, Plivo's error text,
buttons that cannot be pressed while a request is in flight, charts that change with the filters,
new callbacks that show up in live mode.
"""

from __future__ import annotations

import html
import json
import threading
import time

import httpx
import pandas as pd
import pytest

from recording_toolkit.client import AsyncRecordingClient, RecordingClient
from recording_toolkit.receiver import CallbackReceiver
from recording_toolkit.sandbox import Sandbox
from recording_toolkit.widgets import RecordingPanel

pytestmark = pytest.mark.timeout(120)


class GatedTransport(httpx.HTTPTransport):
    """A real HTTP transport that holds each request until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Event()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.entered.set()
        if not self.gate.wait(20):
            raise AssertionError("the test never opened the gate")
        return super().handle_request(request)


@pytest.fixture
def sandbox():
    with Sandbox(seed=7, time_scale=600) as box:
        yield box


@pytest.fixture
def strict_sandbox():
    with Sandbox(seed=7, time_scale=600, strict=True) as box:
        yield box


@pytest.fixture
def receiver(tmp_path, sandbox):
    with CallbackReceiver(tmp_path / "log", auth_token=sandbox.auth_token) as rcv:
        yield rcv


def _client(box, **options) -> RecordingClient:
    return RecordingClient(box.auth_id, box.auth_token, base_url=box.base_url, rate_limit=None,
                           **options)


@pytest.fixture
def panel_factory():
    made = []

    def make(*args, **kwargs) -> RecordingPanel:
        panel = RecordingPanel(*args, **kwargs)
        made.append(panel)
        return panel

    yield make
    for panel in made:
        panel.close()
        panel.client.close()


# RecordingPanel ------------------------------------------------------------------------------


def test_panel_fills_callback_urls_from_the_receiver(sandbox, receiver, panel_factory):
    panel = panel_factory(_client(sandbox), receiver)
    assert panel.callback_url.value == receiver.recording_callback_url
    assert panel.transcription_url.value == receiver.transcription_callback_url
    assert "No requests yet" in panel.table.value
    panel.transcribe.value = False
    assert panel.transcription_url.disabled
    panel.transcribe.value = True
    assert not panel.transcription_url.disabled


def test_start_shows_the_new_recording_id_and_its_callbacks_arrive(sandbox, receiver,
                                                                   panel_factory):
    panel = panel_factory(_client(sandbox), receiver)
    panel.conference.value = "weekly sync"
    panel.file_format.value = "wav"
    panel.start.click()
    assert panel.wait(30)
    requests = panel.requests
    assert list(requests["status"]) == ["started"]
    recording_id = requests["recording_id"].iloc[0]
    assert recording_id and recording_id in panel.table.value
    assert recording_id in panel.message.value
    assert not panel.start.disabled and not panel.stop.disabled

    panel.stop.click()
    assert panel.wait(30)
    assert list(panel.requests["status"]) == ["started", "stopped"]
    # Stopping ends the recording: the sandbox posts its callbacks to the URLs the panel filled
    # in, and the receiver stores them under the id the table shows.
    assert receiver.wait_for(recordings=1, transcriptions=1, timeout=30)
    lines = [json.loads(line) for path in sorted((receiver.log_dir).glob("callbacks-*.jsonl"))
             for line in path.read_text().splitlines()]
    assert {line["payload"]["recording_id"] for line in lines} == {recording_id}
    assert any(line["payload"].get("record_url", "").endswith(".wav") for line in lines)


def test_transcription_off_sends_no_transcription_request(sandbox, receiver, panel_factory):
    panel = panel_factory(_client(sandbox), receiver, transcribe=False)
    panel.conference.value = "no-transcript"
    panel.start.click()
    panel.stop.click()  # ignored: the buttons are disabled while the start is in flight
    assert panel.wait(30)
    assert list(panel.requests["action"]) == ["start"]
    assert panel.requests["transcription"].tolist() == [False]
    panel.stop.click()
    assert panel.wait(30)
    assert receiver.wait_for(recordings=1, timeout=30)
    assert sandbox.wait_idle(30)
    assert receiver.counts["transcription"] == 0


def test_buttons_are_disabled_while_a_request_is_in_flight(sandbox, panel_factory):
    transport = GatedTransport()
    panel = panel_factory(_client(sandbox, transport=transport))
    panel.conference.value = "slow"
    began = time.monotonic()
    panel.start.click()
    assert time.monotonic() - began < 2, "click() must not wait for the request"
    assert transport.entered.wait(10)
    assert panel.start.disabled and panel.stop.disabled
    assert panel.busy
    assert "sending" in panel.table.value
    panel.start.click()  # a disabled button does nothing
    transport.gate.set()
    assert panel.wait(30)
    assert not panel.start.disabled and not panel.stop.disabled
    assert len(panel.requests) == 1 and panel.requests["status"].iloc[0] == "started"


def test_plivo_error_text_is_shown_inline(strict_sandbox, panel_factory):
    # In strict mode a conference that was never opened is not live: Plivo answers 404.
    raw = httpx.post(
        f"{strict_sandbox.base_url}/v1/Account/{strict_sandbox.auth_id}/Conference/nobody/Record/",
        auth=(strict_sandbox.auth_id, strict_sandbox.auth_token), json={"file_format": "mp3"})
    assert raw.status_code == 404
    plivo_text = raw.json()["error"]
    panel = panel_factory(_client(strict_sandbox), transcribe=False)
    panel.conference.value = "nobody"
    panel.start.click()
    assert panel.wait(30)
    row = panel.requests.iloc[0]
    assert row["status"] == "HTTP 404 error" and row["status_code"] == 404
    assert row["error"] == plivo_text
    assert pd.isna(row["recording_id"])
    assert html.escape(plivo_text) in panel.table.value
    assert html.escape(plivo_text) in panel.message.value and "404" in panel.message.value
    assert not panel.start.disabled


def test_invalid_input_is_not_sent_and_names_the_field(sandbox, panel_factory):
    panel = panel_factory(_client(sandbox), transcribe=True)
    panel.conference.value = "   "
    panel.start.click()
    assert panel.wait(30)
    row = panel.requests.iloc[0]
    assert row["status"] == "not sent"
    assert "conference_name" in row["error"]
    assert sandbox.ground_truth()["recording_details"] == []


def test_an_unexpected_failure_becomes_a_row_not_a_lost_exception(sandbox, panel_factory):
    client = _client(sandbox)
    panel = panel_factory(client, transcribe=False)
    client.close()  # a closed client refuses to send
    panel.conference.value = "after-close"
    panel.start.click()
    assert panel.wait(30)
    row = panel.requests.iloc[0]
    assert row["status"] == "failed" and row["error"]
    assert not panel.start.disabled


def test_table_escapes_what_the_user_typed(sandbox, panel_factory):
    panel = panel_factory(_client(sandbox), transcribe=False)
    panel.conference.value = "<img src=x onerror=alert(1)>"
    panel.start.click()
    assert panel.wait(30)
    assert "<img" not in panel.table.value and "&lt;img" in panel.table.value


def test_panel_refuses_the_async_client(sandbox):
    client = AsyncRecordingClient(sandbox.auth_id, sandbox.auth_token, base_url=sandbox.base_url)
    with pytest.raises(TypeError, match="blocking RecordingClient"):
        RecordingPanel(client)

