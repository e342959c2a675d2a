"""spend_forecast: month-to-date spend, the run-rate month-end, and the same days of the previous
month, per kind and per conference, against figures worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from recording_toolkit import analytics
from recording_toolkit.config import RateCard

RATES = RateCard(storage_per_minute_month=0.01)   # a cent per rounded minute and month


def _recordings() -> pd.DataFrame:
    """r1..r6; storage (free 90 days from the start, billed at month-ends, 0.01 a minute):

    r1 x 2026-08-01        1 min  free until Oct 30        -> billed Oct 31 and Nov 30
    r2 y 2026-09-01 10:00  2 min  free until Nov 30 10:00  -> billed Nov 30 (not Oct 31)
    r3 x 2026-10-04        1 min  free until 2027-01-02    -> not yet
    r4 y 2026-10-19        1 min                              not yet
    r6 x 2026-11-10        1 min                              not yet
    """
    return pd.DataFrame({
        "recording_id": ["r1", "r2", "r3", "r4", "r6"],
        "conference_name": ["x", "y", "x", "y", "x"],
        "recording_duration_ms": [60_000, 120_000, 30_000, 45_000, 10_000],
        "recording_start": pd.to_datetime(["2026-08-01", "2026-09-01 10:00", "2026-10-04",
                                           "2026-10-19", "2026-11-10"], utc=True,
                                          format="ISO8601"),
    })


def _transcriptions() -> pd.DataFrame:
    return pd.DataFrame({
        "recording_id": ["r1", "r2", "r3", "r4", "r5", "r6", "r7"],
        "transcription_charge": [0.10, 0.09, 0.05, 0.20, 0.01, 0.07, 0.50],
        "received_at": pd.to_datetime(["2026-11-02", "2026-11-09", "2026-10-05", "2026-10-20",
                                       "2026-11-03", "2026-11-10 13:00", None], utc=True,
                                      format="ISO8601"),
    })


def test_month_to_date_run_rate_and_the_same_days_of_last_month():
    forecast = analytics.spend_forecast(_recordings(), _transcriptions(),
                                        now="2026-11-10 12:00", rates=RATES)
    # November has 30 days; 9.5 have elapsed at Nov 10 12:00. Compared with Oct 1 - Oct 10 12:00.
    assert forecast["elapsed_days"] == pytest.approx(9.5)
    assert forecast["days_in_month"] == 30
    assert forecast["previous_period"] == {"start": pd.Timestamp("2026-10-01"),
                                           "end": pd.Timestamp("2026-10-10 12:00")}
    tr = forecast["kinds"]["transcription"]
    # To date: r1 0.10 + r2 0.09 + r5 0.01 = 0.20 (r6 came after now; r7 has no time).
    assert tr["month_to_date"] == pytest.approx(0.20)
    assert tr["projected_month_end"] == pytest.approx(0.20 / 9.5 * 30)       # 0.631579
    assert tr["previous_period"] == pytest.approx(0.05)                       # r3, Oct 5
    assert tr["change"] == pytest.approx(0.15)
    assert tr["change_share"] == pytest.approx(3.0)                           # +300 %
    assert tr["previous_month"] == pytest.approx(0.25)                        # r3 + r4
    assert forecast["left_out"] == 1
    storage = forecast["kinds"]["storage"]
    # Billed at Nov 30: r1 1 min + r2 2 min = 0.03; at Oct 31: r1 = 0.01. Neither bill falls in
    # the compared days.
    assert storage["projected_month_end"] == pytest.approx(0.03)
    assert storage["previous_month"] == pytest.approx(0.01)
    assert (storage["month_to_date"], storage["previous_period"]) == (0.0, 0.0)
    assert storage["change_share"] is None
    total = forecast["total"]
    assert total["projected_month_end"] == pytest.approx(0.20 / 9.5 * 30 + 0.03)
    assert total["previous_month"] == pytest.approx(0.26)


def test_per_conference():
    forecast = analytics.spend_forecast(_recordings(), _transcriptions(),
                                        now="2026-11-10 12:00", rates=RATES)
    table = forecast["by_conference"]
    # x: r1 0.10 to date, r3 0.05 before, storage r1 0.01; y: r2 0.09, storage r2 0.02;
    # r5 is no known recording: (unknown) 0.01.
    assert list(table.index) == ["x", "y", "(unknown)"]
    assert table.loc["x", "month_to_date"] == pytest.approx(0.10)
    assert table.loc["x", "previous_period"] == pytest.approx(0.05)
    assert table.loc["x", "change"] == pytest.approx(0.05)
    assert table.loc["x", "projected_month_end"] == pytest.approx(0.10 / 9.5 * 30 + 0.01)
    assert table.loc["y", "projected_month_end"] == pytest.approx(0.09 / 9.5 * 30 + 0.02)
    assert table.loc["y", "storage_projected_month_end"] == pytest.approx(0.02)
    assert table.loc["(unknown)", "transcription_projected_month_end"] == \
        pytest.approx(0.01 / 9.5 * 30)
    assert table["month_to_date"].sum() == pytest.approx(forecast["total"]["month_to_date"])


def test_now_defaults_to_the_latest_callback():
    forecast = analytics.spend_forecast(_recordings(), _transcriptions(), rates=RATES)
    # r6's callback, Nov 10 13:00, is the latest: it now counts (0.20 + 0.07).
    assert forecast["now"] == pd.Timestamp("2026-11-10 13:00", tz="UTC")
    assert forecast["kinds"]["transcription"]["month_to_date"] == pytest.approx(0.27)


def test_a_longer_month_is_compared_with_the_whole_shorter_one():
    # Mar 31 12:00: 30.5 days of March against all of February (28 days), whose month-end
    # storage bill then falls in the compared period: r1 (Jan 1 + 90 d = Apr 1) is not billed
    # on Feb 28; r0 (2025-11-01) is: 1 min = 0.01.
    rec = pd.DataFrame({"recording_id": ["r0", "r1"], "conference_name": ["x", "x"],
                        "recording_duration_ms": [60_000, 60_000],
                        "recording_start": pd.to_datetime(["2025-11-01", "2026-01-01"],
                                                          utc=True)})
    tr = pd.DataFrame({"recording_id": ["r1"], "transcription_charge": [0.30],
                       "received_at": pd.to_datetime(["2026-02-27"], utc=True)})
    forecast = analytics.spend_forecast(rec, tr, now="2026-03-31 12:00", rates=RATES)
    assert forecast["previous_period"]["end"] == pd.Timestamp("2026-03-01")
    assert forecast["kinds"]["storage"]["previous_period"] == pytest.approx(0.01)
    assert forecast["kinds"]["transcription"]["previous_period"] == pytest.approx(0.30)
    assert forecast["kinds"]["transcription"]["change_share"] == pytest.approx(-1.0)
    # March 31 end: r0 and r1 (day 90 is Mar 31: r1 free until Apr 1) -> r0 only
    assert forecast["kinds"]["storage"]["projected_month_end"] == pytest.approx(0.01)


def test_at_the_first_instant_of_a_month_there_is_no_run_rate():
    forecast = analytics.spend_forecast(_recordings(), _transcriptions(),
                                        now="2026-11-01", rates=RATES)
    assert forecast["kinds"]["transcription"]["projected_month_end"] is None
    assert forecast["total"]["projected_month_end"] is None


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match=r"spend_forecast transcriptions.*received_at"):
        analytics.spend_forecast(_recordings(), pd.DataFrame(
            {"recording_id": ["a"], "transcription_charge": [0.1]}))
    assert _recordings().rec.spend_forecast(_transcriptions(), now="2026-11-10 12:00",
                                            rates=RATES)["left_out"] == 1


def test_no_data_forecasts_nothing_as_of_the_clock():
    from recording_toolkit import schema

    empty_rec, empty_tr = schema.empty(schema.RECORDINGS), schema.empty(schema.TRANSCRIPTIONS)
    forecast = analytics.spend_forecast(empty_rec, empty_tr, now="2026-11-10")
    assert forecast["total"]["month_to_date"] == 0.0
    assert forecast["total"]["projected_month_end"] == 0.0
    assert forecast["by_conference"].empty
    before = pd.Timestamp.now(tz="UTC")
    assert analytics.spend_forecast(empty_rec, empty_tr)["now"] >= before


def test_dask_frames_give_the_same_forecast():
    import dask.dataframe as dd

    on_pandas = analytics.spend_forecast(_recordings(), _transcriptions(), rates=RATES)
    on_dask = analytics.spend_forecast(dd.from_pandas(_recordings(), npartitions=2),
                                       dd.from_pandas(_transcriptions(), npartitions=2),
                                       rates=RATES)
    assert on_dask["now"] == on_pandas["now"] and on_dask["total"] == on_pandas["total"]
    pd.testing.assert_frame_equal(on_dask["by_conference"], on_pandas["by_conference"])
