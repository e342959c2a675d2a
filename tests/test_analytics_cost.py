"""Cost and billing audit: charges per conference and day, effective price, storage, months."""

from __future__ import annotations

import pandas as pd
import pytest
from analytics_data import recordings_frame, transcriptions_frame

from recording_toolkit import analytics
from recording_toolkit.config import RateCard


def test_charge_total_and_per_conference():
    tr, rec = transcriptions_frame(), recordings_frame()
    assert analytics.charge_total(tr) == pytest.approx(0.05 + 0.10 + 0.70 + 0.0 + 0.05)
    per = analytics.transcription_charges(tr, rec, by="conference")
    # beta: r3 0.70 + r4 0; alpha: r1 + r2; rX has no recording callback: unknown
    assert list(per.index) == ["beta", "alpha", "(unknown)"]
    assert per["charge"].round(6).tolist() == [0.70, 0.15, 0.05]
    assert per["transcriptions"].tolist() == [2, 2, 1]
    assert per["failed"].tolist() == [1, 0, 0]
    assert per["charge"].sum() == pytest.approx(analytics.charge_total(tr))


def test_charges_per_day_of_the_callback():
    per = analytics.transcription_charges(transcriptions_frame(), by="day")
    assert [d.strftime("%m-%d") for d in per.index] == ["11-02", "11-03", "11-04"]
    assert per["charge"].round(6).tolist() == [0.15, 0.70, 0.05]
    with pytest.raises(ValueError, match="needs the recordings"):
        analytics.transcription_charges(transcriptions_frame())
    with pytest.raises(ValueError, match="by"):
        analytics.transcription_charges(transcriptions_frame(), by="hour")


def test_effective_price_per_transcribed_minute():
    # Charged 0.90 in all; successfully transcribed: r1, r2, r3 (exact ms from the recording
    # callbacks) and rX (20 s from its own callback).
    minutes = (30_000 + 90_000 + 600_000 + 20_000) / 60_000
    price = analytics.effective_price_per_minute(transcriptions_frame(), recordings_frame())
    assert price == pytest.approx(0.90 / minutes)
    assert analytics.effective_price_per_minute(transcriptions_frame().iloc[:0]) is None


def test_storage_projection_after_the_free_days():
    rates = RateCard(storage_per_minute_month=0.01, free_storage_days=90)
    projection = analytics.storage_projection(recordings_frame(), rates=rates, months=4,
                                              now="2027-01-15")
    # Free until 31 Jan (r1, r2: 2 Nov + 90 d), 1 Feb (r3, r4), 7 Feb (r5).
    # January: r1 and r2 (1 + 2 billed minutes); February on: all 16 minutes.
    assert [m.strftime("%Y-%m") for m in projection.index] == ["2027-01", "2027-02", "2027-03",
                                                               "2027-04"]
    assert projection["billed_recordings"].tolist() == [2, 5, 5, 5]
    assert projection["cost"].round(6).tolist() == [0.03, 0.16, 0.16, 0.16]
    with pytest.raises(ValueError, match="months"):
        analytics.storage_projection(recordings_frame(), months=0)


def test_monthly_costs_total_transcription_and_storage():
    rates = RateCard(storage_per_minute_month=0.01, free_storage_days=10)
    costs = analytics.monthly_costs(recordings_frame(), transcriptions_frame(), rates=rates)
    # The data spans November only. Free for 10 days: r1..r4 are billed in November (r5, from
    # the 9th, is free until the 19th: also billed). 16 minutes x 0.01 = 0.16.
    assert [m.strftime("%Y-%m") for m in costs.index] == ["2026-11"]
    assert costs["transcription_charge"].round(6).tolist() == [0.90]
    assert costs["storage_cost"].round(6).tolist() == [0.16]
    assert costs["total"].round(6).tolist() == [1.06]


def test_billing_audit_lists_the_overcharge_with_both_values():
    audit = analytics.billing_audit(transcriptions_frame(), recordings_frame())
    by_id = audit.set_index("recording_id")
    # r3: 600,000 ms = 10 billed minutes at 0.05 = 0.50 expected, 0.70 charged.
    assert by_id.loc["r3", "billed_minutes"] == 10
    assert by_id.loc["r3", "expected_charge"] == pytest.approx(0.50)
    assert by_id.loc["r3", "difference"] == pytest.approx(0.20)
    # r2: 90 s -> 2 minutes -> 0.10, as charged; r4 failed: expected 0.
    assert by_id.loc["r2", "expected_charge"] == pytest.approx(0.10)
    assert by_id.loc["r4", "expected_charge"] == 0
    assert by_id.loc["r1", "duration_source"] == "recording"
    assert by_id.loc["rX", "duration_source"] == "transcription"  # 20 s -> 1 minute
    assert by_id.loc["rX", "expected_charge"] == pytest.approx(0.05)
    mismatches = analytics.billing_mismatches(transcriptions_frame(), recordings_frame())
    assert mismatches["recording_id"].tolist() == ["r3"]
    assert mismatches[["expected_charge", "transcription_charge"]].round(6).values.tolist() == [
        [0.50, 0.70]]


def test_billing_audit_tolerance_and_rate_card_fallback():
    tr = transcriptions_frame()
    assert analytics.billing_mismatches(tr, recordings_frame(), tolerance=0.25).empty
    tr.loc[tr["recording_id"] == "r1", "transcription_rate"] = pd.NA
    plain = analytics.billing_audit(tr).set_index("recording_id")
    assert pd.isna(plain.loc["r1", "expected_charge"]) and not plain.loc["r1", "mismatch"]
    priced = analytics.billing_audit(tr, rates=RateCard(transcription_per_minute=0.10))
    assert priced.set_index("recording_id").loc["r1", "expected_charge"] == pytest.approx(0.10)
    with pytest.raises(ValueError, match="tolerance"):
        analytics.billing_audit(tr, tolerance=-1)
