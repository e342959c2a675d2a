"""Transcription outcomes, turnaround and eligibility, from the hand-built data set."""

from __future__ import annotations

import pandas as pd
import pytest
from analytics_data import recordings_frame, transcriptions_frame

from recording_toolkit import analytics, rules, schema
from recording_toolkit.load import join_recordings


def test_coverage_success_rate_and_price_are_three_different_figures():
    rec, tr = recordings_frame(), transcriptions_frame()
    # Callbacks: r1, r2, r3, rX succeeded, r4 failed -> 4 of 5.
    assert analytics.transcription_counts(tr) == {"received": 5, "succeeded": 4, "failed": 1}
    assert analytics.transcription_success_rate(tr) == pytest.approx(4 / 5)
    # Recordings with a successful transcript: r1, r2, r3 of r1..r5 (rX has no recording).
    assert analytics.transcription_coverage(rec, tr) == pytest.approx(3 / 5)
    # The price per minute every callback reported.
    assert analytics.transcription_rate_stats(tr) == {
        "count": 5, "min": 0.05, "median": 0.05, "mean": 0.05, "max": 0.05, "distinct": [0.05]}


def test_rates_over_nothing_are_none():
    empty_tr = transcriptions_frame().iloc[:0]
    assert analytics.transcription_success_rate(empty_tr) is None
    assert analytics.transcription_coverage(recordings_frame().iloc[:0], empty_tr) is None
    assert analytics.transcription_rate_stats(empty_tr)["median"] is None


def test_errors_by_reason_most_frequent_first():
    tr = transcriptions_frame()
    assert analytics.transcription_errors(tr) == {rules.ERROR_TOO_SHORT: 1}
    more = pd.concat([tr, schema.coerce(pd.DataFrame({
        "recording_id": ["q1", "q2"], "error": [rules.ERROR_TOO_LONG, rules.ERROR_TOO_LONG]}),
        schema.TRANSCRIPTIONS)], ignore_index=True)
    assert list(analytics.transcription_errors(more).items()) == [
        (rules.ERROR_TOO_LONG, 2), (rules.ERROR_TOO_SHORT, 1)]


def test_outcome_counts_of_a_joined_frame():
    joined = join_recordings(recordings_frame(), transcriptions_frame())
    counts = analytics.outcome_counts(joined)
    # r1..r3 transcribed, r4 failed, r5 has no callback and no journal: unknown.
    assert counts["share"].tolist() == [0.6, 0.2, 0.2]
    assert counts[["outcome", "label", "count"]].values.tolist() == [
        ["transcribed", "Transcribed", 3],
        ["failed", f"Failed: {rules.ERROR_TOO_SHORT}", 1],
        ["unknown", "Unknown", 1]]


def test_turnaround_from_frames_and_from_a_joined_frame():
    rec, tr = recordings_frame(), transcriptions_frame()
    seconds = analytics.turnaround_seconds(rec, tr).sort_index()
    # r1 2 min, r2 4 min, r3 20 min, r4 1 min after the recording's end; rX has no end.
    assert seconds.to_dict() == {"r1": 120.0, "r2": 240.0, "r3": 1200.0, "r4": 60.0}
    stats = analytics.turnaround_stats(rec, tr)
    # sorted 60, 120, 240, 1200: median (120 + 240) / 2; p95 at 0.95 * 3 = 2.85
    assert stats["median_seconds"] == pytest.approx(180)
    assert stats["p95_seconds"] == pytest.approx(240 + 0.85 * (1200 - 240))
    assert stats["within_5_minutes"] == pytest.approx(3 / 4)
    assert stats["within_30_minutes"] == pytest.approx(4 / 4)
    joined = join_recordings(rec, tr)
    assert analytics.turnaround_stats(joined) == stats


def test_eligibility_predicts_the_too_short_recording():
    found = analytics.transcription_eligibility(recordings_frame()).set_index("recording_id")
    assert found["eligible"].tolist() == [True, True, True, False, True]
    assert found.loc["r4", "predicted_error"] == rules.ERROR_TOO_SHORT
    # wav: 90 s x 16,000 B/s + 44-byte header
    assert found.loc["r2", "estimated_bytes"] == 90 * 16_000 + 44
    versus = analytics.eligibility_vs_outcome(recordings_frame(), transcriptions_frame())
    assert versus.values.tolist() == [["transcribed", "transcribed", 3, True],
                                      [rules.ERROR_TOO_SHORT, rules.ERROR_TOO_SHORT, 1, True]]


def test_eligibility_edges_and_file_size_with_a_higher_bitrate():
    rec = schema.coerce(pd.DataFrame({
        "recording_id": ["at-floor", "above-floor", "at-4h", "big"],
        "file_format": ["mp3", "mp3", "mp3", "wav"],
        "recording_duration_ms": [500, 501, 4 * 3600 * 1000, 3600 * 1000]}), schema.RECORDINGS)
    big = {"mp3": 4_000, "wav": 1_000_000}  # 1 MB/s: an hour of wav is 3.6 GB
    found = analytics.transcription_eligibility(rec, bytes_per_second=big)
    assert found["predicted_error"].tolist() == [
        rules.ERROR_TOO_SHORT, pd.NA, rules.ERROR_TOO_LONG, rules.ERROR_FILE_TOO_LARGE]
    savings = analytics.wav_to_mp3_savings(rec, bytes_per_second=big)
    assert savings["newly_eligible"] == 1
    assert savings["saved_bytes"] == 3600 * (1_000_000 - 4_000) + 44


def test_wav_to_mp3_savings_of_the_small_data_set():
    savings = analytics.wav_to_mp3_savings(recordings_frame())
    wav = (90 + 61) * 16_000 + 2 * 44  # r2 and r5
    mp3 = (90 + 61) * 4_000
    assert savings["wav_recordings"] == 2
    assert savings["wav_bytes"] == wav and savings["as_mp3_bytes"] == mp3
    assert savings["saved_share"] == pytest.approx((wav - mp3) / wav)
