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
from pathlib import Path

import httpx
import pandas as pd
import pytest

from recording_toolkit import schema
from recording_toolkit.client import AsyncRecordingClient, RecordingClient
from recording_toolkit.receiver import CallbackReceiver
from recording_toolkit.sandbox import Sandbox
from recording_toolkit.widgets import Dashboard, RecordingPanel

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parent.parent


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


# Dashboard -----------------------------------------------------------------------------------


def _line(event: str, received: str, payload: dict) -> str:
    return json.dumps({"event": event, "received_at": received, "verified": True,
                       "payload": payload}) + "\n"


def _recording(rid: str, conference: str, start_ms: int, duration_ms: int, fmt: str = "mp3"):
    return {"api_id": f"api-{rid}", "recording_id": rid, "conference_name": conference,
            "record_url": f"https://media.plivo.com/v1/Account/MA/Recording/{rid}.{fmt}",
            "recording_duration": str(duration_ms // 1000),
            "recording_duration_ms": str(duration_ms),
            "recording_start_ms": str(start_ms), "recording_end_ms": str(start_ms + duration_ms)}


def _transcription(rid: str, duration_s: int, charge: str, error: str = ""):
    return {"recording_id": rid, "call_uuid": f"call-{rid}", "transcription": "" if error else
            "hello", "transcription_charge": charge, "transcription_rate": "0.05",
            "duration": str(duration_s), "error": error}


@pytest.fixture
def log_dir(tmp_path):
    """Three recordings in two conferences on two days; two transcriptions, one failed."""
    day1 = int(pd.Timestamp("2026-11-20 10:00", tz="UTC").timestamp() * 1000)
    day2 = int(pd.Timestamp("2026-11-21 10:00", tz="UTC").timestamp() * 1000)
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "callbacks-2026-11-20-test.jsonl").write_text(
        _line("recording", "2026-11-20T10:02:01Z", _recording("r1", "alpha", day1, 120_000))
        + _line("transcription", "2026-11-20T10:05:00Z", _transcription("r1", 120, "0.10"))
        + _line("recording", "2026-11-20T10:03:01Z", _recording("r2", "beta", day1, 30_000)))
    (folder / "callbacks-2026-11-21-test.jsonl").write_text(
        _line("recording", "2026-11-21T10:10:01Z", _recording("r3", "alpha", day2, 600_000, "wav"))
        + _line("transcription", "2026-11-21T10:30:00Z",
                _transcription("r3", 600, "0", "Recording file size too large for transcription")))
    return folder


@pytest.fixture
def dashboards():
    made = []
    yield made
    for dash in made:
        dash.close()


def _is_png(value) -> bool:
    """An Image widget's value (bytes or a memoryview of them) holds a PNG."""
    return bytes(value[:8]) == b"\x89PNG\r\n\x1a\n"


def _summary_figure(dash: Dashboard, name: str) -> str:
    html = dash.summary.value
    start = html.index(name)
    cell = html.index("<td", start + len(name))
    return html[html.index(">", cell) + 1:html.index("</td>", cell)]


def test_dashboard_shows_every_recording_until_filtered(log_dir, dashboards):
    dash = Dashboard(log_dir)
    dashboards.append(dash)
    assert list(dash.conferences.options) == ["alpha", "beta"]
    assert _summary_figure(dash, "Recordings") == "3"
    assert _summary_figure(dash, "Conferences") == "2"
    assert _is_png(dash.chart.value) and _is_png(dash.outcomes.value)
    assert "3 recordings and 2 transcriptions" in dash.status.value


def test_dashboard_conference_filter_updates_summary_and_charts(log_dir, dashboards):
    dash = Dashboard(log_dir)
    dashboards.append(dash)
    chart, outcomes, refreshes = dash.chart.value, dash.outcomes.value, dash.refreshes
    dash.conferences.value = ("beta",)
    assert dash.refreshes == refreshes + 1
    assert _summary_figure(dash, "Recordings") == "1"
    assert _summary_figure(dash, "Recorded minutes") == "0.5"
    assert _summary_figure(dash, "Transcriptions received") == "0"
    assert dash.chart.value != chart and dash.outcomes.value != outcomes
    recordings, transcriptions = dash.selection()
    assert recordings["recording_id"].tolist() == ["r2"] and transcriptions.empty


def test_dashboard_date_range_selects_utc_days(log_dir, dashboards):
    dash = Dashboard(log_dir)
    dashboards.append(dash)
    dash.start_date.value = pd.Timestamp("2026-11-21").date()
    recordings, transcriptions = dash.selection()
    assert recordings["recording_id"].tolist() == ["r3"]
    assert transcriptions["recording_id"].tolist() == ["r3"]
    assert _summary_figure(dash, "Billed minutes") == "10"
    dash.start_date.value = None
    dash.end_date.value = pd.Timestamp("2026-11-20").date()
    assert sorted(dash.selection()[0]["recording_id"]) == ["r1", "r2"]


def test_dashboard_metric_choice_redraws_the_chart(log_dir, dashboards):
    dash = Dashboard(log_dir)
    dashboards.append(dash)
    seen = {dash.chart.value}
    for key in ("cost", "conferences", "durations", "turnaround", "audit", "storage"):
        dash.metric.value = key
        seen.add(dash.chart.value)
    assert len(seen) == 7  # each metric draws a different picture


def test_dashboard_empty_selection_still_draws(log_dir, dashboards):
    dash = Dashboard(log_dir)
    dashboards.append(dash)
    dash.start_date.value = pd.Timestamp("2030-01-01").date()
    assert _summary_figure(dash, "Recordings") == "0"
    assert _is_png(dash.chart.value)


def test_dashboard_over_loaded_data_cannot_go_live(log_dir, dashboards):
    from recording_toolkit.load import load_callbacks

    dash = Dashboard(load_callbacks(log_dir))
    dashboards.append(dash)
    assert dash.live.disabled
    with pytest.raises(RuntimeError, match="live mode needs"):
        dash.start_live()
    with pytest.raises(TypeError, match="source"):
        Dashboard(42)
    with pytest.raises(ValueError, match="metric"):
        Dashboard(log_dir, metric="colour")


def test_dashboard_reload_only_when_the_log_changed(log_dir, dashboards):
    dash = Dashboard(log_dir)
    dashboards.append(dash)
    loads = dash.loads
    assert dash.reload(if_changed=True) is False and dash.loads == loads
    with open(log_dir / "callbacks-2026-11-21-test.jsonl", "a") as fh:
        fh.write(_line("recording", "2026-11-21T11:00:00Z",
                       _recording("r4", "gamma", 1_795_000_000_000, 61_000)))
    assert dash.reload(if_changed=True) is True
    assert "gamma" in dash.conferences.options
    assert _summary_figure(dash, "Recordings") == "4"


def test_dashboard_live_mode_shows_new_callbacks_as_they_arrive(sandbox, receiver, dashboards):
    dash = Dashboard(receiver, interval=0.2)
    dashboards.append(dash)
    assert "No callbacks yet" in dash.recent.value
    dash.live.value = True  # the toggle a person presses
    assert dash.live_running
    with _client(sandbox) as client:
        started = client.start_recording(
            "live-demo", callback_url=receiver.recording_callback_url,
            transcription_type="auto", transcription_url=receiver.transcription_callback_url)
        client.stop_recording("live-demo")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and started.recording_id not in dash.recent.value:
        time.sleep(0.1)
    assert started.recording_id in dash.recent.value
    assert "live-demo" in dash.conferences.options
    assert "&#9679;" in dash.recent.value  # marked as new
    dash.stop_live()
    assert not dash.live_running and dash.live.value is False
    assert "live, every" not in dash.status.value


def test_dashboard_frames_keep_the_schema(log_dir, dashboards):
    dash = Dashboard(log_dir)
    dashboards.append(dash)
    recordings, transcriptions = dash.selection()
    pd.testing.assert_series_equal(recordings.dtypes[list(schema.RECORDINGS)],
                                   schema.dtypes(schema.RECORDINGS), check_names=False)


def test_dashboard_shows_the_report_figures_for_the_same_selection(dashboards):
    # The same numbers come out of the dashboard and report.summarize, over the sample data.
    from recording_toolkit.load import load_callbacks
    from recording_toolkit.report import summarize

    data = ROOT / "data"
    dash = Dashboard(data / "callbacks", journal=data / "journal.jsonl")
    dashboards.append(dash)
    loaded = load_callbacks(data / "callbacks", progress=False)
    everything = summarize(loaded).to_dict()
    assert _summary_figure(dash, "Recordings") == f"{everything['recordings']['count']:,}"
    assert "5 lines quarantined" in dash.status.value

    chosen = tuple(dash.conferences.options[:2])
    dash.conferences.value = chosen
    dash.start_date.value = pd.Timestamp("2026-11-09").date()
    expected = summarize(loaded, conferences=chosen, since="2026-11-09").to_dict()
    assert 0 < expected["recordings"]["count"] < everything["recordings"]["count"]
    assert _summary_figure(dash, "Recordings") == f"{expected['recordings']['count']:,}"
    assert _summary_figure(dash, "Billed minutes") == \
        f"{expected['recordings']['billed_minutes']:,}"
    assert _summary_figure(dash, "Transcription charges (USD)") == \
        f"{expected['transcriptions']['charge_total']:,.2f}"
    recordings, _ = dash.selection()
    assert set(recordings["conference_name"]) <= set(chosen)
    assert (recordings["recording_start"] >= pd.Timestamp("2026-11-09", tz="UTC")).all()


def test_dashboard_picks_up_a_journal_that_appears_later(log_dir, tmp_path, dashboards):
    journal = tmp_path / "journal.jsonl"
    dash = Dashboard(log_dir, journal=journal)
    dashboards.append(dash)
    assert "no journal at" in dash.status.value
    # Without a journal, a recording without a transcription callback is of unknown outcome.
    assert "Unknown" in _outcome_labels(dash)
    journal.write_text(json.dumps({
        "time": "2026-11-20T10:03:00Z", "action": "start", "conference_name": "beta",
        "options": {"file_format": "mp3", "transcription_type": None, "transcription_url": None,
                    "callback_url": "https://cb.example.com/r", "callback_method": "POST"},
        "ok": True, "status": 202, "api_id": "api-r2", "recording_id": "r2", "error_type": None,
        "error": None, "may_have_started": False, "attempts": 1, "latency_ms": 50.0}) + "\n")
    with open(log_dir / "callbacks-2026-11-21-test.jsonl", "a") as fh:  # a log change: reload
        fh.write(_line("recording", "2026-11-21T11:00:00Z",
                       _recording("r4", "gamma", 1_795_000_000_000, 61_000)))
    assert dash.reload(if_changed=True)
    assert "no journal at" not in dash.status.value
    assert "Not requested" in _outcome_labels(dash)  # r2 asked for no transcription


def _outcome_labels(dash: Dashboard) -> set[str]:
    from recording_toolkit import analytics

    recordings, transcriptions = dash.selection()
    return set(analytics.outcome_counts(dash._joined(recordings, transcriptions))["label"])
