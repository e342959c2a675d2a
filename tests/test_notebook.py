"""Tests for recording_toolkit.notebook: the notebooks' set-up, waiting and tables for people."""

from __future__ import annotations

import re
import threading

import numpy as np
import pandas as pd
import pytest

from recording_toolkit import notebook


def test_workspace_is_under_the_data_dir_when_it_is_set(tmp_path):
    folder = notebook.workspace("quick-start",
                                environ={"RECORDING_TOOLKIT_DATA_DIR": str(tmp_path)})
    assert folder == tmp_path / "quick-start" and folder.is_dir()


def test_workspace_without_a_data_dir_is_a_new_temporary_folder_each_time():
    first = notebook.workspace("dashboard", environ={})
    second = notebook.workspace("dashboard", environ={})
    assert first.is_dir() and second.is_dir()
    assert first != second and first.name == second.name == "dashboard"


@pytest.mark.parametrize("name", ["", ".", "..", "a/b"])
def test_workspace_refuses_a_name_that_is_not_a_folder_name(name, tmp_path):
    with pytest.raises(ValueError, match="plain folder name"):
        notebook.workspace(name, environ={"RECORDING_TOOLKIT_DATA_DIR": str(tmp_path)})


def test_wait_until_returns_as_soon_as_the_condition_holds():
    done = threading.Event()
    timer = threading.Timer(0.05, done.set)
    timer.start()
    try:
        assert notebook.wait_until(done.is_set, timeout=10, interval=0.01) is True
    finally:
        timer.cancel()


class _HandClock:
    """``time.monotonic`` and ``time.sleep`` on a clock that moves only when slept on."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.mark.parametrize(("interval", "naps"), [(0.25, [0.25] * 4), (0.375, [0.375, 0.375, 0.25])])
def test_wait_until_gives_up_after_the_timeout_and_says_so(monkeypatch, interval, naps):
    clock = _HandClock()
    monkeypatch.setattr(notebook, "time", clock)
    asked_at = []
    assert notebook.wait_until(lambda: asked_at.append(clock.now), timeout=1.0,
                               interval=interval) is False
    # it kept asking every interval, the last nap cut short, and gave up at the timeout
    assert clock.slept == naps and sum(naps) == 1.0
    assert asked_at == [sum(naps[:i]) for i in range(len(naps) + 1)]


def test_wait_until_refuses_a_non_positive_interval():
    with pytest.raises(ValueError, match="interval"):
        notebook.wait_until(lambda: True, interval=0)


def _cells(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", html, re.S)]


def test_styled_formats_every_column_and_names_it_in_words():
    frame = pd.DataFrame({
        "conference_name": ["sales-calls", "hr-calls"],
        "transcription_charge": [2495.05, 24.9776],
        "transcription_rate": [0.0004, 0.05],
        "coverage": [0.911243, 0.9996],
        "as_mp3_bytes": [2_500_000_000, 950],
        "overdue": pd.to_timedelta(["13 days 03:51:25.238857", "0 days 00:01:30"]),
        "recordings": pd.array([1611, 3], dtype="Int64"),
    })
    cells = _cells(notebook.styled(frame).to_html())
    assert cells[:7] == ["Conference", "Transcription charge", "Transcription price", "Coverage",
                         "Size as mp3", "Overdue by", "Recordings"]
    assert cells[7:] == ["sales-calls", "$2,495.05", "$0.0004/min", "91.1%", "2.50 GB",
                         "13 d 4 h", "1,611",
                         "hr-calls", "$24.98", "$0.05/min", ">99.9%", "950 B", "1 min 30 s", "3"]


def test_styled_leaves_the_frame_alone_and_shows_a_named_index_in_words():
    frame = pd.DataFrame({"billed_minutes": [30850.0]},
                         index=pd.DatetimeIndex(["2026-11-02"], name="period"))
    styler = notebook.styled(frame)
    assert styler.data["billed_minutes"].iloc[0] == 30850.0
    assert frame.index.name == "period"
    cells = _cells(styler.to_html())
    assert "Period" in cells and "2026-11-02" in cells and "30,850.0" in cells
    assert not any("00:00" in c for c in cells)


def test_styled_renders_the_same_html_twice():
    frame = pd.DataFrame({"charge": [1.5]})
    assert notebook.styled(frame).to_html() == notebook.styled(frame.copy()).to_html()


def test_styled_formats_override_by_name_and_name_the_bad_column():
    frame = pd.DataFrame({"difference": [-0.02, 0.0]})
    assert _cells(notebook.styled(frame, formats={"difference": "money"}).to_html())[1:] == [
        "-$0.02", "$0.00"]
    assert _cells(notebook.styled(frame, currency="EUR",
                                  formats={"difference": "money"}).to_html())[1] == "-€0.02"
    with pytest.raises(KeyError, match="'total'"):
        notebook.styled(frame, formats={"total": "money"})
    with pytest.raises(ValueError, match="money"):
        notebook.styled(frame, formats={"difference": "dollars"})


def test_figures_is_text_in_words():
    table = notebook.figures({"charge_total": 2495.05, "effective_price_per_minute": 0.050965,
                              "audited": 1611, "saved_share": 0.7512, "wav_bytes": None},
                             title="sample")
    assert list(table.columns) == ["sample"]
    assert table["sample"].to_dict() == {
        "Transcription charges": "$2,495.05",
        "Effective price per transcribed minute": "$0.051/min",
        "Transcriptions audited": "1,611",
        "Saved share": "75.1%",
        "Wav size": "–",
    }


def _frames():
    from recording_toolkit import schema, views
    from recording_toolkit.config import RateCard

    recordings = schema.coerce(pd.DataFrame({
        "recording_id": ["a", "b"], "conference_name": ["sales", "eng"],
        "recording_duration_ms": [30_000, 95_000],
        "recording_start": pd.to_datetime(["2026-11-23 10:00", "2026-11-24 11:00"], utc=True),
    }), schema.RECORDINGS)
    return views.frames_of(recordings, schema.empty(schema.TRANSCRIPTIONS),
                           rates=RateCard(currency="EUR"))


def test_chart_is_the_views_chart_at_its_natural_size_with_its_note():
    from recording_toolkit import views

    shown = notebook.chart("storage", _frames())
    width, height = (round(side * 100) for side in views.VIEWS["storage"].size)
    assert shown.png.startswith(b"\x89PNG") and notebook._png_size(shown.png) == (width, height)
    page = shown._repr_html_()
    assert f'width="{width}" height="{height}"' in page
    assert shown.title in page and "November 2026" in shown.note and shown.note in page
    assert list(shown.table.columns) == ["billed_recordings", "billed_minutes", "cost"]


def test_chart_names_the_charts_there_are():
    with pytest.raises(KeyError, match="storage"):
        notebook.chart("pie", _frames())


def test_figures_formats_and_labels_override_and_must_name_a_figure():
    table = notebook.figures({"max": 0.05, "distinct": [0.05]}, formats={"max": "price"},
                             labels={"max": "Highest price"})
    assert table["value"].to_dict() == {"Highest price": "$0.05/min", "Distinct": "[0.05]"}
    with pytest.raises(KeyError, match="'min'"):
        notebook.figures({"max": 0.05}, labels={"min": "Lowest"})


def test_styled_aligns_numbers_right_and_words_left_with_one_rule_per_column():
    frame = pd.DataFrame({"conference_name": ["a"] * 50, "charge": [1.0] * 50,
                          "recordings": [1] * 50})
    page = notebook.styled(frame).to_html()
    assert page.count("text-align: right") == 2 and page.count("text-align: left") == 1


def test_figures_keeps_whole_numbers_whole():
    table = notebook.figures({"billed_minutes": np.int64(62444), "total_minutes": 61423.3771})
    assert table["value"].tolist() == ["62,444", "61,423.4"]


def test_styled_shows_a_month_index_as_year_and_month():
    frame = pd.DataFrame({"cost": [0.0, 2.65]},
                         index=pd.DatetimeIndex(["2026-11-01", "2026-12-01"], name="month"))
    cells = _cells(notebook.styled(frame).to_html())
    assert "2026-11" in cells and "2026-12" in cells and "Month" in cells
    assert "2026-11-01" not in cells


def test_styled_shows_a_true_false_index_as_yes_and_no():
    counts = pd.Series([True, True, False]).value_counts().rename("recordings").to_frame()
    cells = _cells(notebook.styled(counts).to_html())
    assert "yes" in cells and "no" in cells and "True" not in cells


def test_styled_hides_row_numbers_even_after_a_sort():
    frame = pd.DataFrame({"conference_name": ["b", "a"]}, index=[1002, 990]).sort_values(
        "conference_name")
    assert "1,002" not in notebook.styled(frame).to_html()
