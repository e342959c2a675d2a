"""Properties over generated frames: the parts add up to the whole, and Dask agrees."""

from __future__ import annotations

import dask.dataframe as dd
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recording_toolkit import analytics, rules, schema

_CONFERENCES = ["alpha", "beta", "gamma", "delta"]


@st.composite
def data_sets(draw):
    n = draw(st.integers(min_value=1, max_value=30))
    ms = draw(st.lists(st.integers(min_value=1, max_value=5 * 3600 * 1000), min_size=n,
                       max_size=n))
    names = draw(st.lists(st.sampled_from(_CONFERENCES), min_size=n, max_size=n))
    days = draw(st.lists(st.integers(min_value=0, max_value=40), min_size=n, max_size=n))
    starts = [pd.Timestamp("2026-11-01", tz="UTC") + pd.Timedelta(days=d, hours=9)
              for d in days]
    rec = schema.coerce(pd.DataFrame({
        "recording_id": [f"r{i}" for i in range(n)], "conference_name": names,
        "file_format": draw(st.lists(st.sampled_from(["mp3", "wav"]), min_size=n, max_size=n)),
        "recording_duration_ms": ms, "recording_start": starts,
        "recording_end": [s + pd.Timedelta(milliseconds=m) for s, m in zip(starts, ms,
                                                                           strict=True)],
    }), schema.RECORDINGS)
    transcribed = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    ids = [f"r{i}" for i in range(n) if transcribed[i]]
    charges = draw(st.lists(st.floats(min_value=0, max_value=10, allow_nan=False),
                            min_size=len(ids), max_size=len(ids)))
    failed = draw(st.lists(st.booleans(), min_size=len(ids), max_size=len(ids)))
    delays = draw(st.lists(st.integers(min_value=0, max_value=7200), min_size=len(ids),
                           max_size=len(ids)))
    ends = dict(zip(rec["recording_id"], rec["recording_end"], strict=True))
    tr = schema.coerce(pd.DataFrame({
        "recording_id": ids, "transcription_charge": charges,
        "transcription_rate": [0.05] * len(ids), "duration": [1] * len(ids),
        "error": [rules.ERROR_TOO_LONG if f else None for f in failed],
        "received_at": [ends[i] + pd.Timedelta(seconds=d) for i, d in zip(ids, delays,
                                                                           strict=True)],
    }), schema.TRANSCRIPTIONS)
    return rec, tr


_SETTINGS = settings(max_examples=25, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(data_sets())
def test_totals_by_conference_day_and_format_sum_to_the_total(data):
    rec, tr = data
    total = analytics.duration_summary(rec)
    for by in ("conference", "day", "week", "format"):
        parts = analytics.duration_stats(rec, by=by)
        assert parts["recordings"].sum() == total["count"]
        assert parts["billed_minutes"].sum() == total["billed_minutes"]
        assert parts["total_minutes"].sum() == pytest.approx(total["total_minutes"])
    daily = analytics.minutes_over_time(rec, "D")
    assert daily["billed_minutes"].sum() == total["billed_minutes"]
    charges = analytics.transcription_charges(tr, rec, by="conference")
    assert charges["charge"].sum() == pytest.approx(analytics.charge_total(tr))
    assert charges["transcriptions"].sum() == len(tr)


@_SETTINGS
@given(data_sets())
def test_coverage_counts_recordings_and_success_rate_counts_callbacks(data):
    rec, tr = data
    counts = analytics.transcription_counts(tr)
    coverage = analytics.transcription_coverage(rec, tr)
    # every transcription here is of a known recording: covered == succeeded
    assert coverage == pytest.approx(counts["succeeded"] / len(rec))
    assert counts["succeeded"] + counts["failed"] == counts["received"]


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data_sets(), st.integers(min_value=1, max_value=4))
def test_dask_gives_the_same_figures(data, partitions):
    rec, tr = data
    drec, dtr = dd.from_pandas(rec, npartitions=partitions), dd.from_pandas(tr, npartitions=2)
    assert analytics.duration_summary(drec) == pytest.approx(analytics.duration_summary(rec))
    assert analytics.transcription_counts(dtr) == analytics.transcription_counts(tr)
    assert analytics.transcription_coverage(drec, dtr) == analytics.transcription_coverage(rec,
                                                                                          tr)
    assert analytics.transcription_errors(dtr) == analytics.transcription_errors(tr)
    assert analytics.turnaround_stats(drec, dtr) == analytics.turnaround_stats(rec, tr)
