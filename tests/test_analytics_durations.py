"""Durations: counts, recorded and billed minutes, mean / median / p95 / max, by group and time.

The expected figures are worked out by hand from tests/analytics_data.py.
"""

from __future__ import annotations

import pandas as pd
import pytest
from analytics_data import recordings_frame

from recording_toolkit import analytics

SECONDS = [30, 90, 600, 0.4, 61]  # r1..r5


def test_summary_of_the_small_data_set():
    s = analytics.duration_summary(recordings_frame())
    assert s["count"] == 5
    assert s["total_minutes"] == pytest.approx((30_000 + 90_000 + 600_000 + 400 + 61_000)
                                               / 60_000)
    # ceil to whole minutes, at least one: 1 + 2 + 10 + 1 + 2
    assert s["billed_minutes"] == 16
    assert s["mean_seconds"] == pytest.approx(sum(SECONDS) / 5)
    # sorted 0.4, 30, 61, 90, 600
    assert s["median_seconds"] == 61
    # p95 (linear): position 0.95 * 4 = 3.8, between 90 and 600
    assert s["p95_seconds"] == pytest.approx(90 + 0.8 * (600 - 90))
    assert s["max_seconds"] == 600


def test_recordings_without_duration_count_but_add_no_minutes():
    frame = recordings_frame()
    frame.loc[frame["recording_id"] == "r3", "recording_duration_ms"] = pd.NA
    s = analytics.duration_summary(frame)
    assert s["count"] == 5
    assert s["billed_minutes"] == 16 - 10
    assert s["max_seconds"] == 90


def test_empty_frame_has_no_averages():
    s = analytics.duration_summary(recordings_frame().iloc[:0])
    assert s == {"count": 0, "total_minutes": 0.0, "billed_minutes": 0, "mean_seconds": None,
                 "median_seconds": None, "p95_seconds": None, "max_seconds": None}


def test_stats_by_conference():
    stats = analytics.duration_stats(recordings_frame(), by="conference")
    assert list(stats.index) == ["alpha", "beta", "gamma"]
    assert stats["recordings"].tolist() == [2, 2, 1]
    assert stats["billed_minutes"].tolist() == [1 + 2, 10 + 1, 2]
    assert stats.loc["alpha", "total_minutes"] == pytest.approx(120_000 / 60_000)
    assert stats.loc["beta", "median_seconds"] == pytest.approx((600 + 0.4) / 2)
    assert stats.loc["gamma", "max_seconds"] == 61


def test_stats_by_format_day_and_week():
    frame = recordings_frame()
    by_format = analytics.duration_stats(frame, by="format")
    assert by_format["recordings"].to_dict() == {"mp3": 3, "wav": 2}
    by_day = analytics.duration_stats(frame, by="day")
    assert [d.strftime("%m-%d") for d in by_day.index] == ["11-02", "11-03", "11-09"]
    assert by_day["billed_minutes"].tolist() == [3, 11, 2]
    by_week = analytics.duration_stats(frame, by="week")  # weeks from Monday 2 and 9 November
    assert by_week["recordings"].tolist() == [4, 1]
    whole = analytics.duration_stats(frame)
    assert whole.loc["all", "billed_minutes"] == 16


def test_minutes_over_time_has_every_day():
    daily = analytics.minutes_over_time(recordings_frame(), "D")
    assert len(daily) == 8  # 2 .. 9 November
    assert daily["billed_minutes"].tolist() == [3, 11, 0, 0, 0, 0, 0, 2]
    assert daily["billed_minutes"].dtype == "Int64"  # whole minutes: never 11.000000000000002
    assert daily["recordings"].dtype == int
    empty = analytics.minutes_over_time(recordings_frame().iloc[:0], "D")
    assert empty.empty and empty["billed_minutes"].dtype == "Int64"
    assert daily["recordings"].tolist() == [2, 2, 0, 0, 0, 0, 0, 1]
    assert daily["recorded_minutes"].iloc[0] == pytest.approx(2.0)
    with pytest.raises(ValueError, match="freq"):
        analytics.minutes_over_time(recordings_frame(), "H")


def test_missing_column_is_named():
    with pytest.raises(ValueError, match=r"duration_summary.*recording_duration_ms"):
        analytics.duration_summary(pd.DataFrame({"recording_id": ["a"]}))
