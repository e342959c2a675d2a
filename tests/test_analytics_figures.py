"""The figures the charts show, worked out by hand on the small data set (analytics_data), and
checked against the figures of the summary they must agree with."""

from __future__ import annotations

import pandas as pd
import pytest
from analytics_data import recordings_frame, transcriptions_frame

from recording_toolkit import analytics
from recording_toolkit.config import RateCard
from recording_toolkit.load import join_recordings

RECORDED_MS = 30_000 + 90_000 + 600_000 + 400 + 61_000
BILLED = 1 + 2 + 10 + 1 + 2


@pytest.fixture
def rec() -> pd.DataFrame:
    return recordings_frame()


@pytest.fixture
def tr() -> pd.DataFrame:
    return transcriptions_frame()


def test_rounding_overhead_in_minutes_share_and_money(rec, tr):
    rates = RateCard()
    overhead = analytics.rounding_overhead(rec, tr, rates=rates)
    extra = BILLED - RECORDED_MS / 60_000
    assert overhead["billed_minutes"] == BILLED == analytics.duration_summary(rec)["billed_minutes"]
    assert overhead["overhead_minutes"] == pytest.approx(extra)
    assert overhead["overhead_share"] == pytest.approx(extra / (RECORDED_MS / 60_000))
    # transcribed: r1 (30 s) and r2 (90 s) are billed half a minute more each, r3 (600 s)
    # nothing; r4 failed; rX has no recording to measure.
    assert overhead["transcribed_overhead_minutes"] == pytest.approx(1.0)
    assert overhead["transcription_charge"] == pytest.approx(0.05)
    assert overhead["storage_per_month"] == pytest.approx(extra * rates.storage_per_minute_month)
    by_day = overhead["by_period"]
    assert by_day["overhead_minutes"].sum() == pytest.approx(extra)
    assert analytics.rounding_overhead(rec)["transcription_charge"] is None


def test_charges_per_day_add_up_to_the_total(tr):
    charges = analytics.charges_over_time(tr)
    assert charges["by_period"]["charge"].round(6).tolist() == [0.15, 0.7, 0.05]
    assert charges["total"] == analytics.charge_total(tr) == pytest.approx(0.9)
    assert charges["no_time"] == 0


def test_billing_by_day_counts_what_the_audit_counts(rec, tr):
    audit = analytics.billing_audit(tr, rec)
    by_day = analytics.billing_by_day(tr, rec)
    assert by_day["counts"] == analytics.audit_counts(audit)
    assert by_day["counts"]["audited"] == by_day["counts"]["checked"] == 5
    assert by_day["counts"]["mismatches"] == 1
    # r3: 10 billed minutes at 0.05 is 0.50, charged 0.70, called back on 3 November
    assert by_day["by_day"]["difference"].round(6).tolist() == [0.0, 0.2, 0.0]
    assert by_day["difference"] == pytest.approx(0.2)
    assert by_day["by_day"]["checked"].sum() == 5


def test_billing_of_a_joined_frame_audits_its_recordings_callbacks(rec, tr):
    joined = join_recordings(rec, tr)
    audit = analytics.billing_audit(joined)
    assert sorted(audit["recording_id"]) == ["r1", "r2", "r3", "r4"]  # rX has no recording
    assert set(audit["duration_source"]) == {"recording"}
    assert analytics.billing_by_day(joined)["difference"] == pytest.approx(0.2)


def test_conference_totals_add_up_to_the_charge_total(rec, tr):
    totals = analytics.conference_totals(rec, tr)
    assert totals["transcription_charge"].round(6).to_dict() == {
        "beta": 0.7, "alpha": 0.15, "(unknown)": 0.05, "gamma": 0.0}
    assert totals["transcription_charge"].sum() == pytest.approx(analytics.charge_total(tr))
    top = analytics.top_conferences(totals, n=2)
    assert list(top["totals"].index) == ["beta", "alpha"]
    assert top["conferences"] == 3 and top["unknown_charge"] == pytest.approx(0.05)
    from_joined = analytics.conference_totals(join_recordings(rec, tr))
    assert "(unknown)" not in from_joined.index
    with pytest.raises(ValueError, match="by"):
        analytics.top_conferences(totals, by="colour")


def test_turnaround_distribution_says_what_it_could_not_measure(rec, tr):
    turnaround = analytics.turnaround_distribution(rec, tr)
    assert turnaround["minutes"].tolist() == pytest.approx([1, 2, 4, 20])
    assert turnaround["shares"] == [0.75, 1.0]
    assert turnaround["count"] == 4 and turnaround["unmeasured"] == 1
    assert turnaround["median_seconds"] == analytics.turnaround_stats(rec, tr)["median_seconds"]


def test_duration_distribution_marks_the_summarys_median_and_p95(rec):
    distribution = analytics.duration_distribution(rec, bins=4)
    summary = analytics.duration_summary(rec)
    assert distribution["counts"].sum() == distribution["drawn"] == summary["count"] == 5
    assert distribution["median_minutes"] == pytest.approx(summary["median_seconds"] / 60)
    assert distribution["p95_minutes"] == pytest.approx(summary["p95_seconds"] / 60)
    zero = rec.assign(recording_duration_ms=[0, 90_000, 600_000, 400, 61_000])
    assert analytics.duration_distribution(zero)["not_positive"] == 1


def test_storage_projection_starts_at_the_month_of_the_latest_recording(rec):
    assert analytics.projection_start(rec) == pd.Timestamp("2026-11-01")
    assert analytics.storage_projection(rec).index[0] == pd.Timestamp("2026-11-01")
    assert analytics.projection_start(rec, now="2027-02-03") == pd.Timestamp("2027-02-01")
    outlook = analytics.storage_outlook(rec, months=3)
    assert outlook["recordings"] == 5 and outlook["left_out"] == 0
    assert len(outlook["months"]) == 3


def test_outcome_shares_add_up_to_one(rec, tr):
    counts = analytics.outcome_counts(join_recordings(rec, tr))
    assert counts["share"].sum() == pytest.approx(1.0)


def test_dask_frames_give_the_same_chart_figures(rec, tr):
    dd = pytest.importorskip("dask.dataframe")
    drec, dtr = dd.from_pandas(rec, npartitions=2), dd.from_pandas(tr, npartitions=2)
    assert analytics.rounding_overhead(drec, dtr)["overhead_minutes"] == pytest.approx(
        analytics.rounding_overhead(rec, tr)["overhead_minutes"])
    assert analytics.charges_over_time(dtr)["total"] == analytics.charges_over_time(tr)["total"]
    assert analytics.billing_by_day(dtr, drec)["counts"] == \
        analytics.billing_by_day(tr, rec)["counts"]
    assert analytics.projection_start(drec) == analytics.projection_start(rec)
    pd.testing.assert_frame_equal(analytics.conference_totals(drec, dtr),
                                  analytics.conference_totals(rec, tr))
