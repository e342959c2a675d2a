"""retention_plan: which recordings a keep-N-days policy deletes and the storage it saves, checked
against figures worked out by hand with Plivo's month-end rule (free for 90 days, then billed on
the last day of each month at whose end the recording has been stored longer)."""

from __future__ import annotations

import pandas as pd
import pytest

from recording_toolkit import analytics
from recording_toolkit.config import RateCard

# 0.01 per rounded minute and month: a cost in cents is the billed minutes.
RATES = RateCard(storage_per_minute_month=0.01)
NOW = "2026-03-15 12:00"          # projected month-ends: Mar 31, Apr 30, May 31


def _api_frame() -> pd.DataFrame:
    """Recording API objects: add_time with an offset as Plivo sends it; durations as text.

    id  conference  add_time (UTC)      duration        rounded  free until (add + 90 d)
    a   x           2025-11-01 10:00    90 000 ms       2 min    2026-01-30 10:00
    b   x           2026-01-10 00:00    60 000 ms       1 min    2026-04-10 00:00
    c   y           2026-01-01 00:00    150 000 ms      3 min    2026-04-01 00:00 (Mar 31 is day 90)
    d   y           2026-03-01 00:00    30 000 ms       1 min    2026-05-30 00:00
    e   y           2025-12-31 23:30    60 001 ms       2 min    2026-03-31 23:30 (Mar 31 is day 91)
    """
    return pd.DataFrame({
        "recording_id": ["a", "b", "c", "d", "e"],
        "conference_name": ["x", "x", "y", "y", "y"],
        "add_time": ["2025-11-01 15:30:00+05:30", "2026-01-10 00:00:00+00:00",
                     "2026-01-01 00:00:00+00:00", "2026-03-01 00:00:00+00:00",
                     "2025-12-31 23:30:00+00:00"],
        "recording_duration_ms": ["90000", "60000", "150000", "30000", "60001"],
    })


def test_keep_30_days_deletes_the_old_ones_and_all_their_storage():
    plan = analytics.retention_plan(_api_frame(), keep_days=30, now=NOW, rates=RATES, months=3)
    # Ages on Mar 15 12:00: a 134.1, b 64.5, c 73.5, d 14.5, e 73.5 days: all but d go.
    assert sorted(plan.to_delete["recording_id"]) == ["a", "b", "c", "e"]
    assert list(plan.to_delete["recording_id"])[0] == "a"            # oldest first
    assert plan.recordings == 4
    # 1.5 + 1 + 2.5 + 1.0000167 recorded minutes; 2 + 1 + 3 + 2 billed
    assert plan.minutes == pytest.approx(6 + 1 / 60_000)
    assert plan.billed_minutes == 8
    assert plan.price_source == "rate card"
    # Without the policy, billed at each month-end once free until <= that month-end:
    #   Mar 31: a 2 + e 2                     = 4 min -> 0.04
    #   Apr 30: a 2 + b 1 + c 3 + e 2         = 8 min -> 0.08
    #   May 31: a 2 + b 1 + c 3 + e 2 + d 1   = 9 min -> 0.09
    # With it: a, b, c, e go today, before any of those month-ends; d turns 30 days old on
    # Mar 31 00:00 and is deleted then, long before it is billed (May 31): nothing is billed.
    months = plan.months
    assert [m.strftime("%Y-%m") for m in months.index] == ["2026-03", "2026-04", "2026-05"]
    assert months["cost_before"].tolist() == pytest.approx([0.04, 0.08, 0.09])
    assert months["billed_recordings_before"].tolist() == [2, 4, 5]
    assert months["cost_after"].tolist() == pytest.approx([0.0, 0.0, 0.0])
    # Applied once only, d is kept and billed at May 31: 1 min -> 0.01
    assert months["cost_after_once"].tolist() == pytest.approx([0.0, 0.0, 0.01])
    assert plan.saving == pytest.approx(0.21)                       # 0.04 + 0.08 + 0.09
    assert (plan.monthly_cost_before, plan.monthly_cost_after) == pytest.approx((0.04, 0.0))
    # Per conference over the three months: x = a (2+2+2) + b (0+1+1) = 8 cents;
    # y = c (0+3+3) + d (0+0+1) + e (2+2+2) = 13 cents.
    by = plan.by_conference
    assert by.loc["x", "cost_before"] == pytest.approx(0.08)
    assert by.loc["y", "cost_before"] == pytest.approx(0.13)
    assert by["cost_after"].tolist() == pytest.approx([0.0, 0.0])
    assert by["recordings"].tolist() == [2, 2]                      # x: a, b; y: c, e
    assert by.loc["y", "billed_minutes"] == 5                        # c 3 + e 2


def test_keeping_longer_than_the_free_period_pays_the_month_ends_in_between():
    plan = analytics.retention_plan(_api_frame(), keep_days=100, now=NOW, rates=RATES, months=3)
    # Only a (134 days) is 100 days old. The others are deleted at add_time + 100 days:
    #   b Apr 20, c Apr 11 -> before their first billed month-end (Apr 30): never billed;
    #   e Apr 10 23:30     -> billed at Mar 31 (day 91) only: 2 min -> 0.02;
    #   d Jun 9            -> billed at May 31: 1 min -> 0.01.
    assert list(plan.to_delete["recording_id"]) == ["a"]
    assert plan.months["cost_after"].tolist() == pytest.approx([0.02, 0.0, 0.01])
    assert plan.months["billed_recordings_after"].tolist() == [1, 0, 1]
    # Once only: a goes; b, c, d, e stay: Mar e 2; Apr b 1 + c 3 + e 2; May + d 1.
    assert plan.months["cost_after_once"].tolist() == pytest.approx([0.02, 0.06, 0.07])
    assert plan.saving == pytest.approx((0.04 - 0.02) + 0.08 + (0.09 - 0.01))


def test_keep_0_days_selects_every_recording_that_has_ended():
    rec = pd.DataFrame({
        "recording_id": ["done", "running"], "recording_duration_ms": [60_000, 600_000],
        "recording_start": pd.to_datetime(["2026-03-15 11:00", "2026-03-15 11:55"], utc=True),
    })
    # done ended 11:01; running started 11:55 and lasts 10 min: it ends at 12:05, after now.
    plan = analytics.retention_plan(rec, keep_days=0, now=NOW, rates=RATES, months=1)
    assert list(plan.to_delete["recording_id"]) == ["done"]


def test_the_api_prices_are_used_when_present_and_the_plan_says_so():
    rec = pd.DataFrame({
        "recording_id": ["billed", "rated", "bare"],
        "conference_name": ["x", "", None],
        "add_time": pd.to_datetime(["2025-10-01", "2025-10-01", "2025-10-01"], utc=True),
        "rounded_recording_duration": [120, 180, 60],
        "recording_storage_rate": [0.0004, 0.002, None],
        "monthly_recording_storage_amount": [0.05, 0.0, None],
    })
    plan = analytics.retention_plan(rec, keep_days=30, now="2026-01-10", rates=RATES, months=1)
    # billed: its monthly amount 0.05; rated: 0 until billed, so rate 0.002 x 3 min = 0.006;
    # bare: the rate card's 0.01 x 1 min.  All free until 2025-12-30: billed at Jan 31.
    assert plan.to_delete.set_index("recording_id")["monthly_cost"].to_dict() == \
        pytest.approx({"billed": 0.05, "rated": 0.006, "bare": 0.01})
    assert plan.to_delete.set_index("recording_id")["price_source"].to_dict() == \
        {"billed": "api", "rated": "api", "bare": "rate card"}
    assert plan.price_source == "mixed"
    assert plan.monthly_cost_before == pytest.approx(0.066)
    assert plan.billed_minutes == 6
    assert list(plan.by_conference.index) == ["(unknown)", "x"]     # "" and None: no conference
    summary = plan.as_dict()
    assert summary["monthly_storage_cost_before"] == pytest.approx(0.066)
    assert summary["monthly_storage_cost_after"] == 0.0
    assert summary["recordings"] == 3


def test_rows_without_a_time_or_duration_are_left_out_with_a_reason_never_deleted():
    rec = pd.DataFrame({"recording_id": ["ok", "no-time", "no-length"],
                        "add_time": ["2025-01-01 00:00:00+00:00", "soon", "2025-01-01"],
                        "recording_duration_ms": ["1000", "1000", "long"]})
    plan = analytics.retention_plan(rec, keep_days=1, now=NOW, rates=RATES, months=1)
    assert list(plan.to_delete["recording_id"]) == ["ok"]
    assert plan.left_out.set_index("recording_id")["reason"].to_dict() == {
        "no-time": "no usable add_time",
        "no-length": "no usable recording_duration_ms or rounded_recording_duration"}
    assert plan.as_dict()["left_out"] == 2


def test_bad_arguments_and_missing_columns_name_what_is_wrong():
    with pytest.raises(ValueError, match="keep_days: -1"):
        analytics.retention_plan(_api_frame(), keep_days=-1, now=NOW)
    with pytest.raises(ValueError, match="keep_days: '30'"):
        analytics.retention_plan(_api_frame(), keep_days="30", now=NOW)
    with pytest.raises(ValueError, match="months: 0"):
        analytics.retention_plan(_api_frame(), keep_days=1, now=NOW, months=0)
    with pytest.raises(ValueError, match=r"retention_plan: the frame has no column\(s\)"):
        analytics.retention_plan(pd.DataFrame({"recording_id": ["a"]}), keep_days=1)


def test_the_recordings_frame_has_the_method():
    frame = _api_frame()
    plan = frame.rec.retention_plan(keep_days=30, now=NOW, rates=RATES, months=3)
    assert plan.recordings == 4
    assert not hasattr(pd.DataFrame({"recording_id": ["a"]}).rec, "retention_plan")


def test_plivos_own_example_day_90_and_the_first_billed_month_end():
    # Plivo's storage article: recorded March 16 (day 1), day 90 on June 13, first billed on
    # June 30. Rate 0.0004; 50 s rounds to 60 s (0.0004 a month), 119 s to 120 s (0.0008).
    rec = pd.DataFrame({"recording_id": ["one", "two"],
                        "add_time": ["2026-03-16 09:00:00+00:00"] * 2,
                        "rounded_recording_duration": [60, 120],
                        "recording_storage_rate": ["0.0004", "0.0004"],
                        "monthly_recording_storage_amount": ["0", "0"]})
    plan = analytics.retention_plan(rec, keep_days=365, now="2026-05-20", months=3)
    # May 31 is day 77: nothing; June 30 is day 107 and July 31 day 138: 0.0004 + 0.0008.
    assert plan.months["cost_before"].tolist() == pytest.approx([0.0, 0.0012, 0.0012])
    assert plan.price_source == "api"
    # The Recording object's example: 3,456 rounded seconds at 0.0004 -> 0.02304 a month.
    example = pd.DataFrame({"recording_id": ["x"], "add_time": ["2020-08-05 16:15:15+05:30"],
                            "rounded_recording_duration": ["3456"],
                            "recording_storage_rate": ["0.0004"]})
    plan = analytics.retention_plan(example, keep_days=0, now="2026-01-01", months=1)
    assert plan.monthly_cost_before == pytest.approx(0.02304)
    assert plan.billed_minutes == pytest.approx(57.6)


def test_no_recordings_plan_nothing_and_cost_nothing():
    empty = _api_frame().iloc[0:0]
    plan = analytics.retention_plan(empty, keep_days=30, now=NOW, rates=RATES, months=2)
    assert (plan.recordings, plan.minutes, plan.saving) == (0, 0.0, 0.0)
    assert plan.months["cost_before"].tolist() == [0.0, 0.0]
    assert plan.to_delete.empty and plan.by_conference.empty and plan.left_out.empty


def test_a_dask_frame_gives_the_same_plan():
    import dask.dataframe as dd

    frame = _api_frame()
    on_pandas = analytics.retention_plan(frame, keep_days=30, now=NOW, rates=RATES, months=3)
    on_dask = analytics.retention_plan(dd.from_pandas(frame, npartitions=2), keep_days=30,
                                       now=NOW, rates=RATES, months=3)
    pd.testing.assert_frame_equal(on_dask.months, on_pandas.months)
    assert on_dask.as_dict() == on_pandas.as_dict()
