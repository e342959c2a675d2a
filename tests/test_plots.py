"""Tests for recording_toolkit.plots, on the Agg backend: what is drawn, not how it looks.

Each chart is checked for the artists a reader relies on (one bar per day or category, bar
heights equal to the figures computed here by hand, labels with units), that a given ``ax`` is
used and returned, that a new figure is made only without one, and that matplotlib's global
settings are left as they were.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import itertools  # noqa: E402

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from recording_toolkit import analytics, plots, rules, schema  # noqa: E402
from recording_toolkit.config import RateCard  # noqa: E402

UTC = "UTC"


def _t(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=UTC)


@pytest.fixture
def recordings() -> pd.DataFrame:
    """Five recordings over three days (the middle day has none), two conferences."""
    starts = [_t("2026-11-20 09:00"), _t("2026-11-20 15:00"), _t("2026-11-22 08:00"),
              _t("2026-11-22 10:00"), _t("2026-11-22 23:59")]
    ms = [30_000, 90_000, 600_000, 61_000, 4_000]
    frame = pd.DataFrame({
        "recording_id": [f"r{i}" for i in range(5)],
        "conference_name": ["alpha", "alpha", "beta", "beta", "gamma"],
        "record_url": [f"https://media.plivo.com/r{i}.{f}"
                       for i, f in enumerate(["mp3", "wav", "mp3", "mp3", "wav"])],
        "file_format": ["mp3", "wav", "mp3", "mp3", "wav"],
        "recording_duration": [m // 1000 for m in ms],
        "recording_duration_ms": ms,
        "recording_start": starts,
        "recording_end": [s + pd.Timedelta(milliseconds=m) for s, m in zip(starts, ms, strict=True)],
        "received_at": [s + pd.Timedelta(milliseconds=m, seconds=2)
                        for s, m in zip(starts, ms, strict=True)],
    })
    return schema.coerce(frame, schema.RECORDINGS)


@pytest.fixture
def transcriptions(recordings: pd.DataFrame) -> pd.DataFrame:
    """r0..r2 transcribed, r3 failed (too long: a made-up case), r4 failed (too short)."""
    ends = recordings["recording_end"]
    frame = pd.DataFrame({
        "recording_id": ["r0", "r1", "r2", "r3", "r4"],
        "call_uuid": ["c0", "c1", "c2", "c3", "c4"],
        "transcription": ["hello", "hi", "long", pd.NA, pd.NA],
        # r2 is overcharged: 10 billed minutes at 0.05 would be 0.50.
        "transcription_charge": [0.05, 0.10, 0.70, 0.0, 0.0],
        "transcription_rate": [0.05] * 5,
        "duration": [30, 90, 600, 61, 4],
        "error": [pd.NA, pd.NA, pd.NA, rules.ERROR_TOO_LONG, rules.ERROR_TOO_SHORT],
        # turnarounds: 2, 4, 20, 40 and 1 minutes
        "received_at": [ends[0] + pd.Timedelta(minutes=2), ends[1] + pd.Timedelta(minutes=4),
                        ends[2] + pd.Timedelta(minutes=20), ends[3] + pd.Timedelta(minutes=40),
                        ends[4] + pd.Timedelta(minutes=1)],
    })
    return schema.coerce(frame, schema.TRANSCRIPTIONS)


@pytest.fixture
def joined(recordings: pd.DataFrame, transcriptions: pd.DataFrame) -> pd.DataFrame:
    """The join with one more recording each pending and not requested."""
    extra = schema.coerce(pd.DataFrame({
        "recording_id": ["r5", "r6"], "conference_name": ["beta", "gamma"],
        "recording_duration_ms": [120_000, 60_000],
        "recording_start": [_t("2026-11-22 12:00"), _t("2026-11-22 13:00")],
        "recording_end": [_t("2026-11-22 12:02"), _t("2026-11-22 13:01")],
    }), schema.RECORDINGS)
    t = transcriptions.set_index("recording_id")
    rows = pd.concat([recordings, extra], ignore_index=True)
    ids = rows["recording_id"].astype(str)
    status = ["transcribed"] * 3 + ["failed"] * 2 + ["pending", "not_requested"]
    frame = rows.assign(
        transcription_status=status,
        transcription_error=[t["error"].get(i, pd.NA) for i in ids],
        transcription_charge=[t["transcription_charge"].get(i, pd.NA) for i in ids],
        transcription_rate=[t["transcription_rate"].get(i, pd.NA) for i in ids],
        transcription_received_at=[t["received_at"].get(i, pd.NaT) for i in ids],
    )
    return schema.coerce(frame, schema.JOINED)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _heights(container) -> list[float]:
    return [round(float(p.get_height()), 6) for p in container.patches]


def _widths(container) -> list[float]:
    return [round(float(p.get_width()), 6) for p in container.patches]


def _all_calls(recordings, transcriptions, joined):
    """Every chart, as (name, callable taking ax)."""
    return [
        ("duration", lambda ax: plots.plot_duration_distribution(recordings, ax=ax)),
        ("duration-log", lambda ax: plots.plot_duration_distribution(recordings, ax=ax, log=True)),
        ("minutes", lambda ax: plots.plot_minutes_per_day(recordings, ax=ax)),
        ("overhead", lambda ax: plots.plot_rounding_overhead(recordings, transcriptions, ax=ax)),
        ("cost", lambda ax: plots.plot_cost_per_day(transcriptions, ax=ax)),
        ("top", lambda ax: plots.plot_top_conferences(joined, ax=ax)),
        ("outcomes", lambda ax: plots.plot_transcription_outcomes(joined, ax=ax)),
        ("turnaround", lambda ax: plots.plot_turnaround(joined, ax=ax)),
        ("audit", lambda ax: plots.plot_billing_audit(joined, ax=ax)),
        ("storage", lambda ax: plots.plot_storage_projection(
            recordings, ax=ax, now=_t("2026-12-01"))),
    ]


# Every chart ---------------------------------------------------------------------------------


def test_every_chart_draws_on_the_given_axes_and_returns_it(recordings, transcriptions, joined):
    for name, call in _all_calls(recordings, transcriptions, joined):
        fig, ax = plt.subplots()
        before = len(plt.get_fignums())
        assert call(ax) is ax, name
        assert len(plt.get_fignums()) == before, f"{name} made a new figure"
        assert ax.get_xlabel() and ax.get_ylabel(), name


def test_without_axes_each_chart_makes_one_new_figure(recordings, transcriptions, joined):
    for name, call in _all_calls(recordings, transcriptions, joined):
        before = len(plt.get_fignums())
        ax = call(None)
        assert len(plt.get_fignums()) == before + 1, name
        assert ax.figure.number == plt.get_fignums()[-1]


def test_global_settings_are_unchanged(recordings, transcriptions, joined):
    before = dict(matplotlib.rcParams)
    for _, call in _all_calls(recordings, transcriptions, joined):
        call(None)
    after = dict(matplotlib.rcParams)
    assert {k for k in before if before[k] != after[k]} == set()


def test_no_chart_calls_show(recordings, transcriptions, joined, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("plt.show() was called")

    monkeypatch.setattr(plt, "show", refuse)
    for _, call in _all_calls(recordings, transcriptions, joined):
        call(None)


def test_labels_follow_a_dark_style(recordings, transcriptions, joined):
    """Text is not hard-coded black: under a dark style it is the style's light foreground."""
    with plt.style.context("dark_background"):
        for name, call in _all_calls(recordings, transcriptions, joined):
            ax = call(None)
            assert to_hex(ax.xaxis.label.get_color()) == "#ffffff", name
            for text in ax.texts:
                assert to_hex(text.get_color()) == "#ffffff", (name, text.get_text())


def test_empty_selection_draws_an_empty_chart_that_says_so(recordings, transcriptions, joined):
    calls = _all_calls(recordings.iloc[:0], transcriptions.iloc[:0], joined.iloc[:0])
    for name, call in calls:
        ax = call(None)
        assert any("No " in t.get_text() for t in ax.texts), name
        assert not ax.patches and not ax.collections, name


def test_missing_column_is_named(recordings):
    with pytest.raises(ValueError, match=r"minutes_over_time.*recording_start"):
        plots.plot_minutes_per_day(recordings.drop(columns=["recording_start"]))


# Each chart ----------------------------------------------------------------------------------


def test_duration_histogram_counts_every_recording_in_minutes(recordings):
    ax = plots.plot_duration_distribution(recordings, bins=4)
    assert ax.get_xlabel() == "Recording duration (minutes)"
    assert ax.get_ylabel() == "Recordings"
    assert sum(_heights(ax.containers[0])) == 5
    # The median (1.0 min) and p95 lines, labelled where they are drawn, in minutes: the
    # figures of the summary (analytics.duration_summary), not the chart's own.
    assert [t.get_text().strip() for t in ax.texts] == ["median 1.0 min", "p95 8.3 min"]
    summary = analytics.duration_summary(recordings)
    assert ax.lines[0].get_xdata()[0] == pytest.approx(summary["median_seconds"] / 60)
    assert ax.lines[1].get_xdata()[0] == pytest.approx(summary["p95_seconds"] / 60)
    assert ax.get_legend() is None  # no legend for a reference line to cross


def test_duration_histogram_log_scale_spaces_bins_evenly_on_the_log_axis(recordings):
    ax = plots.plot_duration_distribution(recordings, bins=3, log=True)
    assert ax.get_xscale() == "log"
    edges = [p.get_x() for p in ax.containers[0].patches]
    ratios = np.diff(np.log(edges))
    assert ratios == pytest.approx([ratios[0]] * len(ratios))
    assert edges[0] == pytest.approx(4_000 / 60_000)


def _visible_tick_texts(ax, minor: bool = False) -> list[str]:
    ax.figure.canvas.draw()
    low, high = ax.get_xlim()
    return [t.get_text() for t in ax.get_xticklabels(minor=minor)
            if low <= t.get_position()[0] <= high and t.get_text()]


@pytest.mark.parametrize(("ms", "ticks"), [
    ([66_000, 120_000, 300_000, 540_000], ["1", "2", "5"]),      # 1.1 to 9 minutes
    ([660_000, 700_000, 800_000], ["11", "12", "13"]),           # 11 to 13.3 minutes
    ([1_000, 18_000_000], ["0.1", "1", "10", "100"]),            # a second to five hours
])
def test_duration_log_axis_reads_as_plain_minutes(ms, ticks):
    recordings = schema.coerce(pd.DataFrame({"recording_duration_ms": ms}), schema.RECORDINGS)
    ax = plots.plot_duration_distribution(recordings, log=True)
    assert _visible_tick_texts(ax) == ticks
    assert _visible_tick_texts(ax, minor=True) == []  # no "2x10^0" between them


def test_turnaround_log_axis_reads_as_plain_minutes(joined):
    ax = plots.plot_turnaround(joined, log=True)  # 1 to 40 minutes
    assert _visible_tick_texts(ax) == ["1", "2", "5", "10", "20"]
    assert _visible_tick_texts(ax, minor=True) == []


def _bars_under_legend(ax) -> list:
    ax.figure.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    return [p for p in ax.patches
            if p.get_height() > 0 and p.get_window_extent().overlaps(legend)]


@pytest.mark.parametrize("ms", [
    [290_000, 1_116_000, 5_856_000],             # three recordings, a bar in every corner
    [60_000, 61_000, 62_000, 3_000_000],         # the tallest bar at the left
    [60_000, 3_000_000, 3_010_000, 3_020_000],   # the tallest bar at the right
])
def test_duration_marks_labels_cover_no_bar_and_each_other(ms):
    recordings = schema.coerce(pd.DataFrame({"recording_duration_ms": ms}), schema.RECORDINGS)
    for log in (True, False):
        ax = plots.plot_duration_distribution(recordings, log=log)
        ax.figure.canvas.draw()
        median, p95 = (t.get_window_extent() for t in ax.texts)
        assert not median.overlaps(p95), log
        for label in (median, p95):
            assert [p for p in ax.patches if p.get_height() > 0
                    and p.get_window_extent().overlaps(label)] == [], log


def test_minutes_per_day_has_recorded_and_billed_bars_for_every_day(recordings):
    ax = plots.plot_minutes_per_day(recordings)
    recorded, billed = ax.containers
    # Days 20, 21 (no recordings) and 22 of November.
    assert _heights(recorded) == [2.0, 0.0, round(665 / 60, 6)]
    # Billed: 1 + 2 on the 20th; 10 + 2 + 1 on the 22nd.
    assert _heights(billed) == [3.0, 0.0, 13.0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "Recorded", "Billed (whole minutes)"]
    assert ax.get_ylabel() == "Minutes per day"
    assert "UTC" in ax.get_xlabel()


def _day_ticks(ax) -> list[str]:
    ax.figure.canvas.draw()
    return [t.get_text() for t in ax.get_xticklabels()]


def _day_of(x: float) -> pd.Timestamp:
    return pd.Timestamp(mdates.num2date(x)).floor("D")


def _assert_bars_inside_their_day(ax) -> None:
    bars = sorted(ax.patches, key=lambda p: p.get_x())
    for bar in bars:
        left, right = bar.get_x(), bar.get_x() + bar.get_width()
        assert _day_of(left) == _day_of(right - 1e-9), "a bar crosses midnight"
    for a, b in itertools.pairwise(bars):
        assert a.get_x() + a.get_width() <= b.get_x() + 1e-9, "bars overlap"


def test_minutes_per_day_of_one_day_shows_that_day_only(recordings):
    one_day = recordings[recordings["recording_start"] < _t("2026-11-21")]
    ax = plots.plot_minutes_per_day(one_day)
    assert _day_ticks(ax) == ["Fri 20 Nov"]
    assert ax.xaxis.get_offset_text().get_text() == "2026"
    assert list(ax.xaxis.get_minorticklocs()) == []  # no hours between days
    recorded, billed = ax.containers
    (r,), (b,) = recorded.patches, billed.patches
    # Side by side, meeting at the tick under the middle of the day.
    (tick,) = ax.get_xticks()
    assert r.get_x() + r.get_width() == pytest.approx(tick) == pytest.approx(b.get_x())
    assert _day_of(tick) == _t("2026-11-20") and tick % 1 == pytest.approx(0.5)
    _assert_bars_inside_their_day(ax)
    # The lone day is not the whole axis: the bars are less than half its width.
    low, high = ax.get_xlim()
    assert (r.get_width() + b.get_width()) / (high - low) < 0.5


def test_minutes_per_day_ticks_every_day_under_its_bars(recordings):
    ax = plots.plot_minutes_per_day(recordings)
    assert _day_ticks(ax) == ["Fri 20 Nov", "Sat 21 Nov", "Sun 22 Nov"]
    _assert_bars_inside_their_day(ax)
    assert _bars_under_legend(ax) == []


def test_per_day_ticks_over_many_days_are_mondays():
    days = pd.date_range("2026-09-01", "2026-12-10", freq="D", tz=UTC)  # 101 days
    recordings = schema.coerce(pd.DataFrame({
        "recording_duration_ms": [60_000] * len(days),
        "recording_start": days + pd.Timedelta(hours=9),
    }), schema.RECORDINGS)
    ax = plots.plot_minutes_per_day(recordings)
    labels = _day_ticks(ax)
    assert 5 <= len(labels) <= 10
    assert all(_day_of(x).day_of_week == 0 for x in ax.get_xticks())
    assert labels[0] == "7 Sep"
    assert len(ax.containers[0].patches) == len(days)


def test_per_day_ticks_over_two_weeks_label_every_other_day():
    days = pd.date_range("2026-11-02", "2026-11-16", freq="D", tz=UTC)  # 15 days, 3 Mondays
    recordings = schema.coerce(pd.DataFrame({
        "recording_duration_ms": [60_000] * len(days),
        "recording_start": days + pd.Timedelta(hours=9),
    }), schema.RECORDINGS)
    ax = plots.plot_minutes_per_day(recordings)
    assert _day_ticks(ax) == ["2 Nov", "4 Nov", "6 Nov", "8 Nov", "10 Nov", "12 Nov", "14 Nov",
                              "16 Nov"]
    # the unlabelled days keep a tick of their own, under their bar
    minor = [_day_of(x).day for x in ax.xaxis.get_minorticklocs()]
    assert minor == [3, 5, 7, 9, 11, 13, 15]
    _assert_bars_inside_their_day(ax)


def test_cost_per_day_of_one_day_shows_that_day_only(transcriptions):
    ax = plots.plot_cost_per_day(transcriptions.iloc[:2])
    assert _day_ticks(ax) == ["Fri 20 Nov"]
    ((bar,),) = [c.patches for c in ax.containers]
    assert bar.get_x() + bar.get_width() / 2 == pytest.approx(ax.get_xticks()[0])
    _assert_bars_inside_their_day(ax)


def test_cost_per_day_sums_charges_per_day_of_the_callback(transcriptions):
    ax = plots.plot_cost_per_day(transcriptions, currency="EUR")
    (bars,) = ax.containers
    # r0, r1 on the 20th (0.05 + 0.10); r2, r3 on the 22nd (0.70 + 0); r4's callback came
    # after midnight, on the 23rd (0).
    assert _heights(bars) == [0.15, 0.0, 0.70, 0.0]
    assert ax.get_ylabel() == "Transcription charges per day (EUR)"
    assert ax.get_title() == "€0.85 charged for 5 transcriptions"


def test_top_conferences_by_cost_largest_first(joined):
    ax = plots.plot_top_conferences(joined, n=2)
    (bars,) = ax.containers
    # beta 0.70 (r2 + r3 + pending r5), alpha 0.15; gamma 0 drops out. Largest at the top.
    assert [t.get_text() for t in ax.get_yticklabels()] == ["alpha", "beta"]
    assert _widths(bars) == [0.15, 0.70]
    assert [t.get_text() for t in ax.texts] == ["$0.15", "$0.70"]
    assert ax.get_xlabel() == "Transcription charges (USD)"
    assert ax.get_title() == "Top 2 of 3 conferences by transcription charges"


def test_top_conferences_by_minutes_and_bad_options(joined):
    ax = plots.plot_top_conferences(joined, by="minutes")
    assert dict(zip([t.get_text() for t in ax.get_yticklabels()], _widths(ax.containers[0]),
                    strict=True)) == {"gamma": round(64 / 60, 6), "alpha": 2.0,
                                      "beta": round(781 / 60, 6)}
    assert ax.get_xlabel() == "Recorded minutes"
    with pytest.raises(ValueError, match="by"):
        plots.plot_top_conferences(joined, by="colour")
    with pytest.raises(ValueError, match="n"):
        plots.plot_top_conferences(joined, n=0)


def test_outcomes_split_failures_by_reason_with_the_shared_colours(joined):
    ax = plots.plot_transcription_outcomes(joined)
    labels = [t.get_text().replace("\n", " ") for t in ax.get_yticklabels()][::-1]
    assert labels == ["Transcribed", f"Failed: {rules.ERROR_TOO_LONG}",
                      f"Failed: {rules.ERROR_TOO_SHORT}", "Pending", "Not requested"]
    bars = ax.containers[0].patches[::-1]
    assert [p.get_width() for p in bars] == [3, 1, 1, 1, 1]
    colours = [to_hex(p.get_facecolor()) for p in bars]
    expected = ["transcribed", "failed", "failed", "pending", "not_requested"]
    assert colours == [plots.OUTCOME_COLORS[o].lower() for o in expected]
    assert ax.get_xlabel() == "Recordings"


def _inside_figure(fig, artist) -> bool:
    box, frame = artist.get_window_extent(), fig.bbox
    return (frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0
            and box.y1 <= frame.y1)


@pytest.mark.parametrize("size", [(6.0, 3.04), (7.0, 4.0), (9.0, 4.0)])  # dashboard, report
def test_outcomes_with_long_failure_reasons_keep_title_and_labels_inside(joined, size):
    many = joined.assign(transcription_status="failed",
                         transcription_error=rules.ERROR_TOO_LONG)
    many = schema.coerce(pd.concat([many] * 3000, ignore_index=True), schema.JOINED)
    fig, ax = plt.subplots(figsize=size, layout="constrained")
    plots.plot_transcription_outcomes(many, ax=ax)
    fig.canvas.draw()
    assert _inside_figure(fig, ax.title)
    assert ax.get_title() == "Outcomes of 21,000 recordings"
    (label,) = ax.get_yticklabels()
    lines = label.get_text().split("\n")
    assert len(lines) > 1 and max(map(len, lines)) <= 28
    assert " ".join(lines) == f"Failed: {rules.ERROR_TOO_LONG}"
    assert _inside_figure(fig, label)


def test_outcomes_wrap_a_very_long_reason_to_three_lines():
    reason = "Upstream transcription engine rejected the audio " * 4
    frame = pd.DataFrame({"error": [reason]})
    label = plots.plot_transcription_outcomes(frame).get_yticklabels()[0].get_text()
    assert label.count("\n") == 2 and label.endswith("…")
    assert label.startswith("Failed: Upstream")


def test_outcomes_say_a_rare_outcome_is_under_one_percent(joined):
    rows = pd.concat([joined[joined["transcription_status"] == "transcribed"]] * 100
                     + [joined[joined["transcription_status"] == "pending"]], ignore_index=True)
    ax = plots.plot_transcription_outcomes(schema.coerce(rows, schema.JOINED))
    assert [t.get_text() for t in ax.texts] == ["300 (99.7%)", "1 (0.3%)"][::-1]


def test_count_axes_tick_whole_recordings_only(joined):
    few = joined.iloc[:3]  # counts of 1 and 2
    axes = [plots.plot_transcription_outcomes(few).xaxis,
            plots.plot_top_conferences(few, by="recordings").xaxis,
            plots.plot_duration_distribution(few).yaxis]
    for axis in axes:
        axis.axes.figure.canvas.draw()
        low, high = sorted(axis.get_view_interval())
        ticks = [t for t in axis.get_majorticklocs() if low <= t <= high]
        assert len(ticks) >= 2 and all(t == int(t) for t in ticks), ticks


def test_outcomes_from_a_transcriptions_frame(transcriptions):
    ax = plots.plot_transcription_outcomes(transcriptions)
    widths = dict(zip([t.get_text() for t in ax.get_yticklabels()],
                      _widths(ax.containers[0]), strict=True))
    assert widths["Transcribed"] == 3
    assert to_hex(ax.containers[0].patches[-1].get_facecolor()) == (
        plots.OUTCOME_COLORS["transcribed"].lower())


def test_turnaround_ecdf_marks_5_and_30_minutes_with_their_shares(joined):
    ax = plots.plot_turnaround(joined)
    # Turnarounds 2, 4, 20, 40, 1 minutes: 3 of 5 within 5, 4 of 5 within 30; each mark
    # labelled beside its line, not in a legend the line could cross.
    assert [t.get_text().strip() for t in ax.texts] == [
        "60.0% within 5 min", "80.0% within 30 min"]
    assert ax.get_legend() is None
    marks = [line.get_xdata()[0] for line in ax.lines[1:]]
    assert marks == [5, 30]
    assert ax.get_xlabel() == "Minutes from recording end to transcription"
    assert ax.get_ylabel() == "Share of transcriptions"
    step = ax.lines[0]
    assert max(step.get_xdata()) == pytest.approx(40)
    assert max(step.get_ydata()) == pytest.approx(1.0)


def test_turnaround_keeps_the_marks_on_the_chart_when_all_are_faster(joined):
    fast = joined.copy()
    fast["transcription_received_at"] = fast["recording_end"] + pd.Timedelta(minutes=2)
    ax = plots.plot_turnaround(fast)
    assert [t.get_text().strip() for t in ax.texts] == [
        "100.0% within 5 min", "100.0% within 30 min"]
    low, high = ax.get_xlim()
    assert all(low < line.get_xdata()[0] < high for line in ax.lines[1:])


def test_turnaround_share_short_of_all_is_not_rounded_up(joined):
    """996 of 1,000 within 30 minutes reads 99.6%, never 100%."""
    rows = joined[joined["transcription_status"] == "transcribed"].iloc[:1]
    many = pd.concat([rows] * 1000, ignore_index=True)
    late = many["recording_end"] + pd.Timedelta(minutes=40)
    many["transcription_received_at"] = (many["recording_end"] + pd.Timedelta(minutes=2)) \
        .where(many.index >= 4, late)
    many["recording_id"] = [f"x{i}" for i in range(len(many))]
    ax = plots.plot_turnaround(schema.coerce(many, schema.JOINED))
    assert [t.get_text().strip() for t in ax.texts][1] == "99.6% within 30 min"


def _difference_bars(ax) -> dict[str, float]:
    return {_day_of(p.get_x()).strftime("%d"): round(float(p.get_height()), 6)
            for p in ax.patches}


def test_billing_audit_draws_charged_minus_expected_per_day(joined):
    ax = plots.plot_billing_audit(joined)
    # r2: 10 billed minutes at 0.05 expected 0.50, charged 0.70, called back on the 22nd.
    assert _difference_bars(ax) == {"20": 0.0, "21": 0.0, "22": 0.2, "23": 0.0}
    over = [p for p in ax.patches if p.get_height() > 0]
    assert [to_hex(p.get_facecolor()) for p in over] == [plots.SERIES_COLORS["over"].lower()]
    assert ax.get_ylabel() == "Charged minus expected (USD)"
    assert ax.get_title() == "5 transcriptions checked: 1 off by more than $0.005, $0.20 in all"
    assert ax.get_legend() is None


def test_billing_audit_from_transcriptions_and_recordings_agree(recordings, transcriptions,
                                                                joined):
    # From the callbacks alone, r1's callback says 90 s: 2 minutes, 0.10 expected and
    # charged; the failed r3 and r4 are expected to cost nothing and charged nothing.
    for ax in (plots.plot_billing_audit(transcriptions),
               plots.plot_billing_audit(transcriptions, recordings)):
        assert _difference_bars(ax) == _difference_bars(plots.plot_billing_audit(joined))


def test_billing_audit_tolerance(transcriptions):
    # r2 is 0.20 over: within a 0.25 tolerance it counts as right.
    ax = plots.plot_billing_audit(transcriptions, tolerance=0.25)
    assert "0 off by more than" in ax.get_title() and "0.25" in ax.get_title()
    with pytest.raises(ValueError, match="tolerance"):
        plots.plot_billing_audit(transcriptions, tolerance=-1)
    with pytest.raises(ValueError, match=r"billing_by_day.*transcription_charge"):
        plots.plot_billing_audit(transcriptions.drop(columns=["transcription_charge"]))


def test_billing_audit_with_nothing_off_says_so(transcriptions):
    right = transcriptions.assign(transcription_charge=[0.05, 0.10, 0.50, 0.0, 0.0])
    ax = plots.plot_billing_audit(right)
    assert any("as expected" in t.get_text() for t in ax.texts)
    low, high = ax.get_ylim()
    assert low < 0 < high  # the zero line in the middle, not at an edge


def test_rounding_overhead_in_minutes_percent_and_money(recordings, transcriptions):
    ax = plots.plot_rounding_overhead(recordings, transcriptions)
    # Recorded 785 s = 13.083 min, billed 16: 2.917 min (22.3%) more. Of it, the
    # transcribed r0..r2 (30 s, 90 s, 600 s) add 0.5 + 0.5 + 0 minutes at 0.05: $0.05.
    heights = _heights(ax.containers[0])
    assert heights == [round(3 - 2.0, 6), 0.0, round(13 - 665 / 60, 6)]
    title = ax.get_title()
    assert "22.3%" in title and "(3 min)" in title
    assert "$0.05 in transcription charges" in title
    assert ax.get_ylabel() == "Minutes billed beyond recorded"


def test_value_axes_read_with_thousands_separators():
    days = pd.date_range("2026-11-02", periods=3, freq="D", tz=UTC)
    recordings = schema.coerce(pd.DataFrame({
        "recording_id": ["a", "b", "c"], "recording_duration_ms": [600_000_000] * 3,
        "recording_start": days}), schema.RECORDINGS)
    ax = plots.plot_minutes_per_day(recordings)
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert "10,000" in labels and not any(len(t) >= 5 and "," not in t for t in labels)


def test_charts_share_one_look(recordings, transcriptions, joined):
    for name, call in _all_calls(recordings, transcriptions, joined):
        ax = call(None)
        assert not ax.spines["top"].get_visible(), name
        assert not ax.spines["right"].get_visible(), name
        assert any(line.get_visible() for line in ax.get_xgridlines() + ax.get_ygridlines()) \
            or any("No " in t.get_text() for t in ax.texts), name
        assert ax.title.get_fontsize() == plots.STYLE["title"] or not ax.get_title(), name
        assert ax.xaxis.label.get_fontsize() == plots.STYLE["label"], name
        assert ax.xaxis.get_ticklabels()[0].get_fontsize() == plots.STYLE["ticks"], name


def test_storage_projection_bars_stay_inside_their_month(recordings):
    ax = plots.plot_storage_projection(recordings, months=12, now=_t("2026-12-15"))
    (bars,) = ax.containers
    months = pd.date_range("2026-12-01", periods=13, freq="MS")
    for bar, start, end in zip(bars.patches, months[:-1], months[1:], strict=True):
        left, right = bar.get_x(), bar.get_x() + bar.get_width()
        assert mdates.date2num(start) < left < right < mdates.date2num(end)
        # centred on its month, under its own tick
        assert (left + right) / 2 == pytest.approx(
            (mdates.date2num(start) + mdates.date2num(end)) / 2)
    assert bars.patches[2].get_width() < bars.patches[1].get_width()  # February is shorter
    assert _day_ticks(ax)[:3] == ["Dec\n2026", "Jan\n2027", "Feb"]
    assert len(_day_ticks(ax)) == 12


def test_storage_projection_charges_only_after_the_free_days(recordings):
    rates = RateCard(storage_per_minute_month=0.01, free_storage_days=90)
    ax = plots.plot_storage_projection(recordings, months=4, rates=rates, now=_t("2026-12-15"))
    (bars,) = ax.containers
    # Free until 2027-02-18 (the 20th's recordings) and 2027-02-20 (the 22nd's): nothing is
    # billed in December and January; from February all 16 rounded minutes are.
    assert _heights(bars) == [0.0, 0.0, 0.16, 0.16]
    assert ax.get_ylabel() == "Storage cost per month (USD)"
    assert _day_ticks(ax) == ["Dec\n2026", "Jan\n2027", "Feb", "Mar"]
    with pytest.raises(ValueError, match="months"):
        plots.plot_storage_projection(recordings, months=0)
