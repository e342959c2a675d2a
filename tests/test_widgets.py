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

from recording_toolkit import formatting, schema
from recording_toolkit.client import AsyncRecordingClient, RecordingClient
from recording_toolkit.receiver import CallbackReceiver
from recording_toolkit.sandbox import Sandbox
from recording_toolkit.widgets import Dashboard, RecordingPanel, _render

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
    panel.start_button.click()
    assert panel.wait(30)
    requests = panel.requests
    assert list(requests["status"]) == ["started"]
    recording_id = requests["recording_id"].iloc[0]
    assert recording_id and recording_id in panel.table.value
    assert recording_id in panel.message.value
    assert not panel.start_button.disabled and not panel.stop_button.disabled

    panel.stop_button.click()
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
    panel.start_button.click()
    panel.stop_button.click()  # ignored: the buttons are disabled while the start is in flight
    assert panel.wait(30)
    assert list(panel.requests["action"]) == ["start"]
    assert panel.requests["transcription"].tolist() == [False]
    panel.stop_button.click()
    assert panel.wait(30)
    assert receiver.wait_for(recordings=1, timeout=30)
    assert sandbox.wait_idle(30)
    assert receiver.counts["transcription"] == 0


def test_buttons_are_disabled_while_a_request_is_in_flight(sandbox, panel_factory):
    transport = GatedTransport()
    panel = panel_factory(_client(sandbox, transport=transport))
    panel.conference.value = "slow"
    panel.start_button.click()
    # click() is back while the request is held at the gate (opened only below): the request
    # is still in flight, so click() did not wait for it.
    assert panel.busy
    assert transport.entered.wait(10)
    assert panel.start_button.disabled and panel.stop_button.disabled
    assert panel.busy
    assert "sending" in panel.table.value
    panel.start_button.click()  # a disabled button does nothing
    transport.gate.set()
    assert panel.wait(30)
    assert not panel.start_button.disabled and not panel.stop_button.disabled
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
    panel.start_button.click()
    assert panel.wait(30)
    row = panel.requests.iloc[0]
    assert row["status"] == "HTTP 404 error" and row["status_code"] == 404
    assert row["error"] == plivo_text
    assert pd.isna(row["recording_id"])
    assert html.escape(plivo_text) in panel.table.value
    assert html.escape(plivo_text) in panel.message.value and "404" in panel.message.value
    assert not panel.start_button.disabled


def test_invalid_input_is_not_sent_and_names_the_field(sandbox, panel_factory):
    panel = panel_factory(_client(sandbox), transcribe=True)
    panel.conference.value = "   "
    panel.start_button.click()
    assert panel.wait(30)
    row = panel.requests.iloc[0]
    assert row["status"] == "not sent"
    assert "conference_name" in row["error"]  # the client's own words, in the data
    assert "Conference: is empty" in panel.table.value  # the field's label, on the screen
    assert "Conference: is empty" in panel.message.value
    assert "conference_name" not in panel.table.value + panel.message.value
    assert sandbox.ground_truth()["recording_details"] == []


def test_an_unexpected_failure_becomes_a_row_not_a_lost_exception(sandbox, panel_factory):
    client = _client(sandbox)
    panel = panel_factory(client, transcribe=False)
    client.close()  # a closed client refuses to send
    panel.conference.value = "after-close"
    panel.start_button.click()
    assert panel.wait(30)
    row = panel.requests.iloc[0]
    assert row["status"] == "failed" and row["error"]
    assert not panel.start_button.disabled


def test_table_escapes_what_the_user_typed(sandbox, panel_factory):
    panel = panel_factory(_client(sandbox), transcribe=False)
    panel.conference.value = "<img src=x onerror=alert(1)>"
    panel.start_button.click()
    assert panel.wait(30)
    assert "<img" not in panel.table.value and "&lt;img" in panel.table.value


def test_panel_saved_output_has_a_static_picture(sandbox, panel_factory):
    panel = panel_factory(_client(sandbox), transcribe=False)
    panel.conference.value = "weekly sync"
    panel.start_button.click()
    assert panel.wait(30)
    bundle = panel._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data
    assert panel.requests["recording_id"].iloc[0] in data["text/html"]
    assert "Recording</b> weekly sync" in data["text/html"]


def test_panel_refuses_the_async_client(sandbox):
    client = AsyncRecordingClient(sandbox.auth_id, sandbox.auth_token, base_url=sandbox.base_url)
    with pytest.raises(TypeError, match="blocking RecordingClient"):
        RecordingPanel(client)


class FakeClock:
    """A clock the test moves by hand: elapsed times without waiting for them."""

    def __init__(self) -> None:
        self.now = pd.Timestamp("2026-11-24 09:00", tz="UTC").to_pydatetime()

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += pd.Timedelta(seconds=seconds).to_pytimedelta()


def _eventually(predicate, timeout: float = 10.0) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds have passed (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_panel_buttons_answer_to_their_former_names_with_a_warning(sandbox, panel_factory):
    panel = panel_factory(_client(sandbox))
    with pytest.warns(DeprecationWarning, match=r"RecordingPanel\.start is deprecated; "
                                                r"use \.start_button"):
        assert panel.start is panel.start_button
    with pytest.warns(DeprecationWarning, match=r"\.stop is deprecated; use \.stop_button"):
        assert panel.stop is panel.stop_button


def test_panel_marks_each_recording_conference_with_its_elapsed_time(sandbox, panel_factory):
    clock = FakeClock()
    panel = panel_factory(_client(sandbox), transcribe=False, clock=clock)
    assert "Not recording" in panel.recording_now.value
    panel.conference.value = "weekly sync"
    panel.start_button.click()
    assert panel.wait(30)
    assert panel.recording_conferences == ["weekly sync"]
    assert "Recording" in panel.recording_now.value and "weekly sync" in panel.recording_now.value
    assert "0:00" in panel.recording_now.value
    clock.advance(30)
    panel.conference.value = "design review"
    panel.start_button.click()
    assert panel.wait(30)
    clock.advance(45)  # weekly sync: 1:15 in; design review: 0:45 in
    # The marker is redrawn every second by the panel itself.
    assert _eventually(lambda: "1:15" in panel.recording_now.value
                       and "0:45" in panel.recording_now.value)
    marker = panel.recording_now.value
    assert marker.index("weekly sync") < marker.index("design review")

    panel.conference.value = "weekly sync"
    panel.stop_button.click()
    assert panel.wait(30)
    assert "Stopped recording weekly sync after 1:15" in panel.message.value
    assert panel.recording_conferences == ["design review"]
    assert "weekly sync" not in panel.recording_now.value


def test_panel_says_so_when_stop_is_pressed_with_nothing_recording(sandbox, panel_factory):
    panel = panel_factory(_client(sandbox), transcribe=False)
    panel.conference.value = "quiet room"
    panel.stop_button.click()
    assert panel.wait(30)
    assert "Nothing was recording in quiet room" in panel.message.value
    assert "Stopped recording" not in panel.message.value
    assert panel.requests["status"].tolist() == ["nothing recording"]
    assert "Not recording" in panel.recording_now.value


def test_panel_start_answered_without_an_id_says_the_id_comes_later(panel_factory):
    with Sandbox(seed=7, time_scale=600, async_answer=True) as box:
        panel = panel_factory(_client(box), transcribe=False)
        panel.conference.value = "async room"
        panel.start_button.click()
        assert panel.wait(30)
        assert "None" not in panel.message.value
        assert "answered without its id" in panel.message.value
        assert panel.requests["status"].tolist() == ["started"]
        assert "Recording" in panel.recording_now.value


def test_panel_table_keeps_its_column_widths_with_a_long_error(sandbox, panel_factory):
    client = _client(sandbox)
    panel = panel_factory(client, transcribe=False)
    client.close()  # every request now fails with the client's own (long) error
    panel.conference.value = "x" * 300  # and a name far wider than its column
    panel.start_button.click()
    assert panel.wait(30)
    table = panel.table.value
    assert "table-layout:fixed" in table and "<colgroup>" in table
    error = panel.requests["error"].iloc[0]
    # The name wraps within its column; the error is shown whole on a line under its row,
    # across the table, so no column is pushed aside and nothing is cut off.
    assert "overflow-wrap:anywhere" in table and "x" * 300 in table
    assert f'colspan="5" style="{_render._DETAIL_STYLE}">{html.escape(error)}</td>' in table
    assert "overflow:hidden" not in table


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


def test_dashboard_conference_filter_updates_summary_and_charts(log_dir, dashboards,
                                                                monkeypatch):
    dash = Dashboard(log_dir)
    dashboards.append(dash)
    chart, outcomes = dash.chart.value, dash.outcomes.value
    refreshes = []
    monkeypatch.setattr(dash, "refresh", lambda real=dash.refresh: refreshes.append(1) or real())
    dash.conferences.value = ("beta",)
    assert len(refreshes) == 1  # one redraw for the change, not one per trait it touches
    assert _summary_figure(dash, "Recordings") == "1"
    assert _summary_figure(dash, "Recorded minutes") == "0.5 min"
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
    assert _summary_figure(dash, "Billed minutes (rounded up)") == "10 min"
    dash.start_date.value = None
    dash.end_date.value = pd.Timestamp("2026-11-20").date()
    assert sorted(dash.selection()[0]["recording_id"]) == ["r1", "r2"]


def test_dashboard_metric_choice_redraws_the_chart(log_dir, dashboards):
    dash = Dashboard(log_dir)
    dashboards.append(dash)
    from recording_toolkit.views import VIEWS

    # The chart menu is the views registry (the outcomes chart is always shown beside it).
    assert [key for _, key in dash.metric_picker.options] == [k for k in VIEWS if k != "outcomes"]
    seen = {dash.chart.value}
    for _, key in dash.metric_picker.options[1:]:
        dash.metric_picker.value = key
        seen.add(dash.chart.value)
    assert len(seen) == len(dash.metric_picker.options)  # each metric draws a different picture


def test_dashboard_empty_selection_still_draws(log_dir, dashboards):
    dash = Dashboard(log_dir)
    dashboards.append(dash)
    dash.start_date.value = pd.Timestamp("2030-01-01").date()
    assert _summary_figure(dash, "Recordings") == "0"
    assert _is_png(dash.chart.value)


def _forecast_figure(dash: Dashboard, name: str) -> str:
    html = dash.forecast.value
    start = html.index(name)
    cell = html.index("<td", start + len(name))
    return html[html.index(">", cell) + 1:html.index("</td>", cell)]


def test_dashboard_shows_the_forecast_of_the_selection(log_dir, dashboards):
    # As of the latest callback (21 Nov 10:30 UTC, 20.4375 days into November): $0.10 of
    # transcriptions so far, run on to 30 days; nothing on the same days of October; no
    # recording is past its 90 free days by the month-end, so no storage bill.
    dash = Dashboard(log_dir)
    dashboards.append(dash)
    assert _forecast_figure(dash, "As of") == "2026-11-21 10:30 UTC"
    assert "Forecast, November 2026" in dash.forecast.value
    assert _forecast_figure(dash, "Spend to date") == "$0.10"
    assert _forecast_figure(dash, "Projected month-end") == \
        formatting.money(0.10 * 30 / 20.4375, "USD") == "$0.15"
    assert _forecast_figure(dash, "Same days of last month") == "$0.00"
    assert _forecast_figure(dash, "Change") == "+$0.10"  # no share of nothing
    # The report's Forecast for the same selection gives the same figures.
    from recording_toolkit.report import summarize

    report = summarize(dash.result, conferences=("beta",))
    dash.conferences.value = ("beta",)
    total = report.details["forecast"]["total"]
    assert total["month_to_date"] == 0.0
    assert _forecast_figure(dash, "Spend to date") == "$0.00"
    assert _forecast_figure(dash, "Projected month-end") == \
        formatting.money(total["projected_month_end"], "USD")
    assert "Forecast" in dash.static_html() and "Projected month-end" in dash.static_html()


def test_dashboard_forecast_compares_with_the_same_days_of_last_month(log_dir, dashboards):
    # $0.05 charged on 20 October, within 1-21 October 10:30: November's $0.10 is +100%.
    october = int(pd.Timestamp("2026-10-20 09:00", tz="UTC").timestamp() * 1000)
    (log_dir / "callbacks-2026-10-20-test.jsonl").write_text(
        _line("recording", "2026-10-20T09:02:01Z", _recording("r0", "alpha", october, 60_000))
        + _line("transcription", "2026-10-20T09:05:00Z", _transcription("r0", 60, "0.05")))
    dash = Dashboard(log_dir)
    dashboards.append(dash)
    assert _forecast_figure(dash, "Same days of last month") == "$0.05"
    assert _forecast_figure(dash, "Change") == "+$0.05 (+100.0%)"
    dash.conferences.value = ("beta",)  # nothing in either month
    assert _forecast_figure(dash, "Change") == "$0.00"


def test_dashboard_over_loaded_data_cannot_go_live(log_dir, dashboards):
    from recording_toolkit.load import load_callbacks

    dash = Dashboard(load_callbacks(log_dir))
    dashboards.append(dash)
    assert dash.live_toggle.disabled
    with pytest.raises(RuntimeError, match="live mode needs"):
        dash.start_live()
    with pytest.raises(TypeError, match="source"):
        Dashboard(42)
    with pytest.raises(ValueError, match="metric"):
        Dashboard(log_dir, metric="colour")


def test_dashboard_widgets_answer_to_their_former_names_with_a_warning(log_dir, dashboards):
    dash = Dashboard(log_dir, metric="cost")
    dashboards.append(dash)
    with pytest.warns(DeprecationWarning, match=r"Dashboard\.metric is deprecated; "
                                                r"use \.metric_picker"):
        assert dash.metric is dash.metric_picker
    assert dash.metric_picker.value == "cost"  # the constructor's plain value, in the picker
    with pytest.warns(DeprecationWarning, match=r"\.recent is deprecated; use \.recent_table"):
        assert dash.recent is dash.recent_table


def test_dashboard_reload_only_when_the_log_changed(log_dir, dashboards, monkeypatch):
    from recording_toolkit import load

    dash = Dashboard(log_dir)
    dashboards.append(dash)
    reads = []
    real = load.load_callbacks
    monkeypatch.setattr(load, "load_callbacks", lambda *a, **k: reads.append(a) or real(*a, **k))
    assert dash.reload(if_changed=True) is False and reads == []  # the log is not read again
    with open(log_dir / "callbacks-2026-11-21-test.jsonl", "a") as fh:
        fh.write(_line("recording", "2026-11-21T11:00:00Z",
                       _recording("r4", "gamma", 1_795_000_000_000, 61_000)))
    assert dash.reload(if_changed=True) is True and len(reads) == 1
    assert "gamma" in dash.conferences.options
    assert _summary_figure(dash, "Recordings") == "4"


def test_dashboard_live_mode_shows_new_callbacks_as_they_arrive(sandbox, receiver, dashboards):
    dash = Dashboard(receiver, interval=0.2)
    dashboards.append(dash)
    assert "No callbacks yet" in dash.recent_table.value
    dash.live_toggle.value = True  # the toggle a person presses
    assert dash.live_running
    with _client(sandbox) as client:
        started = client.start_recording(
            "live-demo", callback_url=receiver.recording_callback_url,
            transcription_type="auto", transcription_url=receiver.transcription_callback_url)
        client.stop_recording("live-demo")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and started.recording_id not in dash.recent_table.value:
        time.sleep(0.1)
    assert started.recording_id in dash.recent_table.value
    assert "live-demo" in dash.conferences.options
    assert "&#9679;" in dash.recent_table.value  # marked as new
    dash.stop_live()
    assert not dash.live_running and dash.live_toggle.value is False
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
    assert _summary_figure(dash, "Billed minutes (rounded up)") == \
        f"{expected['recordings']['billed_minutes']:,} min"
    assert _summary_figure(dash, "Median duration") == formatting.minutes(
        expected["recordings"]["duration_seconds"]["median"])
    assert _summary_figure(dash, "Transcription charges") == \
        formatting.money(expected["transcriptions"]["charge_total"], "USD")
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

    return set(analytics.outcome_counts(dash.frames().joined)["label"])


def _png_size(value) -> tuple[int, int]:
    import io

    from PIL import Image

    return Image.open(io.BytesIO(bytes(value))).size


def test_dashboard_charts_are_drawn_at_the_size_they_are_shown(log_dir, dashboards):
    dash = Dashboard(log_dir, chart_width=600)
    dashboards.append(dash)
    for _, key in dash.metric_picker.options:
        dash.metric_picker.value = key
        for image in (dash.chart, dash.outcomes):
            width, height = _png_size(image.value)
            # The page shows the picture at exactly its pixel size: no rescaling, no blur.
            assert width == 600
            assert (image.layout.width, image.layout.height) == (f"{width}px", f"{height}px")
            assert (image.width, image.height) == (str(width), str(height))
    with pytest.raises(ValueError, match="chart_width"):
        Dashboard(log_dir, chart_width=50)


def test_dashboard_dates_are_typed_as_iso_days(log_dir, dashboards):
    dash = Dashboard(log_dir)
    dashboards.append(dash)
    dash.start_date.text.value = "2026-11-21"  # typed, then Enter
    assert dash.start_date.value == pd.Timestamp("2026-11-21").date()
    assert dash.selection()[0]["recording_id"].tolist() == ["r3"]
    dash.start_date.text.value = "11/20/2026"  # a browser locale's habit: refused, said why
    assert "YYYY-MM-DD" in dash.start_date.error and "From" in dash.start_date.error
    assert dash.selection()[0]["recording_id"].tolist() == ["r3"]  # the last good day holds
    dash.start_date.text.value = ""
    assert dash.start_date.value is None and dash.start_date.error == ""
    assert len(dash.selection()[0]) == 3
    dash.end_date.value = "2026-11-20"  # code may set a date or an ISO string
    assert dash.end_date.text.value == "2026-11-20"
    assert sorted(dash.selection()[0]["recording_id"]) == ["r1", "r2"]
    dash.start_date.value = "2026-11-21"
    assert "end date (2026-11-20) is before the start date" in dash.status.value


def test_dashboard_conference_search_select_all_and_clear(dashboards):
    dash = Dashboard(ROOT / "data" / "callbacks")
    dashboards.append(dash)
    picker = dash.conferences
    total = len(picker.options)
    assert total > 20
    assert f"All {total} (none selected)" in picker.chosen.value
    picker.search.value = "sales"
    matching = [name for name in picker.options if "sales" in name]
    assert list(picker.list.options) == matching and 1 < len(matching) < total
    picker.select_all.click()
    assert picker.value == tuple(matching)
    assert f"{len(matching)} of {total} selected" in picker.chosen.value
    recordings, _ = dash.selection()
    assert set(recordings["conference_name"]) == set(matching)
    assert _summary_figure(dash, "Conferences") == str(len(matching))
    # What was chosen stays chosen while another search hides it.
    picker.search.value = "legal"
    picker.list.value = ("legal-calls",)
    picker.search.value = ""
    assert picker.value == tuple(n for n in picker.options if n in {*matching, "legal-calls"})
    assert f"{len(matching) + 1} of {total} selected" in picker.chosen.value
    picker.clear.click()
    assert picker.value == () and f"All {total} (none selected)" in picker.chosen.value
    assert _summary_figure(dash, "Conferences") == str(total)


def test_dashboard_latest_callbacks_follow_the_conference_filter(log_dir, dashboards):
    dash = Dashboard(log_dir)
    dashboards.append(dash)
    assert all(rid in dash.recent_table.value for rid in ("r1", "r2", "r3"))
    dash.conferences.value = ("beta",)
    assert ">r2<" in dash.recent_table.value
    assert ">r1<" not in dash.recent_table.value and ">r3<" not in dash.recent_table.value
    assert "of the selection" in dash.recent_title.value
    dash.conferences.value = ("alpha",)
    assert ">r1<" in dash.recent_table.value and ">r3<" in dash.recent_table.value  # and transcriptions
    assert "Recording file size too large" in dash.recent_table.value
    assert ">r2<" not in dash.recent_table.value


def test_dashboard_export_writes_the_selection_tables_with_raw_values(log_dir, tmp_path,
                                                                      dashboards):
    from recording_toolkit.widgets._export import excel_available

    target = tmp_path / "exported"
    dash = Dashboard(log_dir, export_folder=target)
    dashboards.append(dash)
    dash.conferences.value = ("alpha",)
    dash.export.click()
    by_conference = pd.read_csv(target / "by_conference.csv")
    # Only the selection, with raw numbers (no currency signs or separators).
    assert by_conference.iloc[:, 0].tolist() == ["alpha"]
    charges = [c for c in by_conference.columns if "charge" in c]
    assert charges and by_conference[charges[0]].tolist() == [0.1]
    # The figures behind each chart go with them, raw too: alpha recorded on two days.
    per_day = pd.read_csv(target / "chart_minutes.csv")
    assert len(per_day) == 2 and per_day["billed_minutes"].sum() == 12
    selection = json.loads((target / "selection.json").read_text())
    assert selection["conferences"] == ["alpha"]
    message = dash.export_message.value
    assert str(target) in message and "CSV" in message
    assert (target / "tables.xlsx").exists() == excel_available()
    if not excel_available():
        assert "openpyxl" in message
    # A folder that cannot be made is one clear message naming it.
    (tmp_path / "a-file").write_text("")
    dash.export_folder.value = str(tmp_path / "a-file" / "sub")
    dash.export.click()
    assert "could not write" in dash.export_message.value
    assert "a-file" in dash.export_message.value


def test_dashboard_export_workbook_has_a_sheet_per_table(log_dir, tmp_path, dashboards):
    openpyxl = pytest.importorskip("openpyxl")
    dash = Dashboard(log_dir, export_folder=tmp_path / "xl")
    dashboards.append(dash)
    dash.export.click()
    csvs = sorted(p.stem for p in (tmp_path / "xl").glob("*.csv"))
    book = openpyxl.load_workbook(tmp_path / "xl" / "tables.xlsx", read_only=True)
    assert len(book.sheetnames) == len(csvs)
    assert "tables.xlsx" in dash.export_message.value


def test_dashboard_saved_output_has_a_static_picture(log_dir, dashboards):
    dash = Dashboard(log_dir)
    dashboards.append(dash)
    bundle = dash._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data
    static = data["text/html"]
    # Both charts as embedded pictures at their pixel size, and the figures of the summary.
    assert static.count('src="data:image/png;base64,') == 2
    assert f'width="{dash.chart.width}" height="{dash.chart.height}"' in static
    assert ">3<" in static and "Latest callbacks" in static


# Transcript search, the team filter and chart, downloads ----------------------------------


def _said(rid: str, text: str, error: str = "") -> dict:
    payload = _transcription(rid, 60, "0.05", error)
    payload["transcription"] = "" if error else text
    return payload


@pytest.fixture
def talk_dir(tmp_path):
    """Four recordings in three conferences (two teams' and one nobody's), with what was said:
    r1 (legal-calls, day 1) says "budget" twice, r2 (hr-sync) once, in markup-like text,
    r3 (legal-review, day 2) never; r4's transcription (design-crit) failed."""
    day1 = int(pd.Timestamp("2026-11-20 10:00", tz="UTC").timestamp() * 1000)
    day2 = int(pd.Timestamp("2026-11-21 10:00", tz="UTC").timestamp() * 1000)
    folder = tmp_path / "talk"
    folder.mkdir()
    lines = [
        _line("recording", "2026-11-20T10:02:01Z", _recording("r1", "legal-calls", day1, 60_000)),
        _line("recording", "2026-11-20T11:02:01Z",
              _recording("r2", "hr-sync", day1 + 3_600_000, 120_000)),
        _line("recording", "2026-11-21T10:02:01Z", _recording("r3", "legal-review", day2, 61_000)),
        _line("recording", "2026-11-21T12:02:01Z",
              _recording("r4", "design-crit", day2 + 7_200_000, 30_000)),
        _line("transcription", "2026-11-20T10:05:00Z",
              _said("r1", "Speaker 0: The Budget is late. Speaker 1: which budget?")),
        _line("transcription", "2026-11-20T11:05:00Z",
              _said("r2", "Speaker 0: <script>alert(1)</script> budget & co")),
        _line("transcription", "2026-11-21T10:05:00Z", _said("r3", "Speaker 0: Nothing new.")),
        _line("transcription", "2026-11-21T12:05:00Z", _said("r4", "", "Audio too short")),
    ]
    (folder / "callbacks-2026-11-20-test.jsonl").write_text("".join(lines))
    return folder


TEAMS = {"Legal": ["legal-*"], "People": ["hr-*"]}


def test_dashboard_search_lists_hits_with_the_match_marked_and_text_escaped(talk_dir,
                                                                           dashboards):
    dash = Dashboard(talk_dir)
    dashboards.append(dash)
    assert dash.search_results.value == ""  # nothing typed, nothing listed
    dash.search_box.value = "budget"
    shown = dash.search_results.value
    assert shown.startswith("2 transcriptions of 3 searched mention <b>budget</b> (3 times)")
    assert "not searched: 1 failed" in shown
    # by recording start: legal-calls (10:00) before hr-sync (11:00), each with its time
    assert shown.index("legal-calls") < shown.index("hr-sync")
    assert "2026-11-20 10:00" in shown and "2026-11-20 11:00" in shown
    assert ">Budget</mark> is late" in shown  # the first match, as written, marked
    # the transcript's markup is shown as text, never as markup
    assert "<script>" not in shown and "&lt;script&gt;alert(1)&lt;/script&gt;" in shown
    assert "&amp; co" in shown
    hits = dash.search()
    assert hits["recording_id"].tolist() == ["r1", "r2"]
    assert hits["count"].tolist() == [2, 1]


def test_dashboard_search_follows_the_filters_and_says_when_nothing_matches(talk_dir,
                                                                           dashboards):
    dash = Dashboard(talk_dir)
    dashboards.append(dash)
    dash.search_box.value = "budget"
    dash.conferences.value = ("hr-sync",)
    shown = dash.search_results.value
    assert shown.startswith("1 transcription of 1 searched mentions <b>budget</b> (1 time)")
    assert "legal-calls" not in shown and "hr-sync" in shown
    dash.search_box.value = "quarterly plan"
    assert dash.search_results.value == (
        "0 transcriptions of 1 searched mention <b>quarterly plan</b>.")
    dash.search_box.value = "  "
    assert dash.search_results.value == ""


def test_dashboard_search_button_runs_the_search_again(talk_dir, dashboards):
    dash = Dashboard(talk_dir)
    dashboards.append(dash)
    dash.search_box.value = "nothing new"
    dash.search_results.value = ""
    dash.search_button.click()
    assert dash.search_results.value.startswith("1 transcription of 3 searched mentions")


def test_dashboard_without_teams_has_no_team_filter_or_chart(talk_dir, dashboards):
    dash = Dashboard(talk_dir)
    dashboards.append(dash)

    def shown(widget, root) -> bool:
        return widget is root or any(shown(widget, child)
                                     for child in getattr(root, "children", ()))

    assert not shown(dash.team_picker, dash) and not shown(dash.team_chart, dash)
    assert dash.chosen_teams() is None
    with pytest.raises(RuntimeError, match="no teams"):
        dash.team_costs()


def test_dashboard_team_filter_narrows_the_selection_and_the_chart_shows_every_team(
        talk_dir, tmp_path, dashboards):
    teams_file = tmp_path / "teams.toml"
    teams_file.write_text('[teams]\nLegal = ["legal-*"]\nPeople = ["hr-*"]\n')
    dash = Dashboard(talk_dir, teams=teams_file)
    dashboards.append(dash)
    assert dash.team_picker.options == ("Legal", "People", "Unallocated")
    assert _is_png(dash.team_chart.value)
    assert dash.team_chart.layout.width == f"{dash.chart_width}px"
    assert _summary_figure(dash, "Recordings") == "4"
    table = dash.team_costs()
    # worked by hand: Legal r1 (1 min) + r3 (61 s -> 2 min); People r2 (2 min); r4 nobody's
    assert table["recordings"].to_dict() == {"Legal": 2, "People": 1, "Unallocated": 1}
    assert table["billed_minutes"].to_dict() == {"Legal": 3, "People": 2, "Unallocated": 1}
    before = bytes(dash.team_chart.value)
    dash.team_picker.value = ("Legal",)
    assert _summary_figure(dash, "Recordings") == "2"
    assert _summary_figure(dash, "Billed minutes") == "3 min"
    recordings, transcriptions = dash.selection()
    assert sorted(recordings["recording_id"]) == ["r1", "r3"]
    assert sorted(transcriptions["recording_id"]) == ["r1", "r3"]
    assert "of the selection" in dash.recent_title.value
    # the chart still has every team (the others in grey): same rows, other colours
    assert dash.team_costs().index.tolist() == ["Legal", "People", "Unallocated"]
    assert bytes(dash.team_chart.value) != before
    dash.search_box.value = "budget"
    assert dash.search()["recording_id"].tolist() == ["r1"]
    dash.team_picker.value = ("People", "Unallocated")
    assert _summary_figure(dash, "Recordings") == "2"
    assert dash.search()["recording_id"].tolist() == ["r2"]


def test_dashboard_team_chart_follows_the_dates(talk_dir, dashboards):
    dash = Dashboard(talk_dir, teams=TEAMS)
    dashboards.append(dash)
    dash.start_date.value = "2026-11-21"
    table = dash.team_costs()
    assert table["recordings"].to_dict() == {"Legal": 1, "People": 0, "Unallocated": 1}


def test_dashboard_bad_teams_are_refused_before_anything_is_drawn(talk_dir):
    from recording_toolkit.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="'Legal'.*no closing"):
        Dashboard(talk_dir, teams={"Legal": ["legal-["]})


def test_dashboard_export_offers_each_csv_as_a_download(talk_dir, tmp_path, dashboards):
    import base64
    import re

    dash = Dashboard(talk_dir, teams=TEAMS, export_folder=tmp_path / "out")
    dashboards.append(dash)
    dash.team_picker.value = ("Legal",)
    dash.export.click()
    message = dash.export_message.value
    links = dict(re.findall(r'<a download="([^"]+)" href="data:text/csv;charset=utf-8;base64,'
                            r'([^"]+)"', message))
    assert set(links) == {path.name for path in dash.last_export.csv.values()}
    assert "chart_teams.csv" in links
    for name, data in links.items():  # each link holds exactly the file written
        assert base64.b64decode(data) == (tmp_path / "out" / name).read_bytes()
    by_conference = base64.b64decode(links["by_conference.csv"]).decode()
    assert "legal-calls" in by_conference and "hr-sync" not in by_conference
    book = re.search(r'<a download="tables.xlsx" href="data:[^;]+;base64,([^"]+)"', message)
    assert book and base64.b64decode(book.group(1)) == (tmp_path / "out" /
                                                        "tables.xlsx").read_bytes()
    assert str(tmp_path / "out") in message  # where they were written, in a notebook


def test_dashboard_export_with_the_folder_hidden_offers_downloads_only(talk_dir, tmp_path,
                                                                       dashboards):
    dash = Dashboard(talk_dir, export_folder=tmp_path / "out")
    dashboards.append(dash)
    dash.export_folder.layout.display = "none"  # as the served app shows it
    dash.export.click()
    message = dash.export_message.value
    assert "tables as CSV" in message and 'download="by_conference.csv"' in message
    assert str(tmp_path) not in message  # the server's folder means nothing to a visitor


def test_download_links_leave_out_tables_over_the_limit(tmp_path):
    from recording_toolkit.widgets._export import Export, download_links

    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    small.write_text("a\n1\n")
    big.write_text("a\n" + "1\n" * 100)
    text = download_links(Export(folder=tmp_path, csv={"small": small, "big": big}), limit=50)
    assert 'download="small.csv"' in text and "big.csv" not in text
    assert "(1 larger table only in the folder)" in text
