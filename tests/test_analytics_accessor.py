"""The df.rec accessor delegates to the analytics and names the columns a frame lacks."""

from __future__ import annotations

import pandas as pd
import pytest
from analytics_data import recordings_frame, transcriptions_frame

import recording_toolkit.analytics as analytics
from recording_toolkit.analytics import RecAccessor
from recording_toolkit.load import join_recordings


def test_methods_give_the_functions_answers():
    rec, tr = recordings_frame(), transcriptions_frame()
    assert rec.rec.duration_summary() == analytics.duration_summary(rec)
    pd.testing.assert_frame_equal(rec.rec.duration_stats(by="conference"),
                                  analytics.duration_stats(rec, by="conference"))
    assert rec.rec.billed_minutes().tolist() == [1, 2, 10, 1, 2]
    assert rec.rec.transcription_coverage(tr) == analytics.transcription_coverage(rec, tr)
    assert tr.rec.transcription_success_rate() == pytest.approx(4 / 5)
    assert tr.rec.charge_total() == analytics.charge_total(tr)
    pd.testing.assert_frame_equal(tr.rec.billing_mismatches(rec),
                                  analytics.billing_mismatches(tr, rec))
    joined = join_recordings(rec, tr)
    assert joined.rec.turnaround_stats() == analytics.turnaround_stats(rec, tr)


def test_missing_columns_raise_attribute_error_naming_them():
    rec = recordings_frame()
    with pytest.raises(AttributeError, match=r"turnaround_stats needs column\(s\) "
                                             r"\['transcription_received_at'\]"):
        rec.rec.turnaround_stats()
    assert not hasattr(rec.rec, "billing_audit")
    assert hasattr(transcriptions_frame().rec, "billing_audit")
    with pytest.raises(AttributeError, match="recording_duration_ms"):
        pd.DataFrame({"recording_id": ["a"]}).rec.duration_summary  # noqa: B018


def test_dir_lists_every_method_so_tab_completion_finds_them():
    methods = sorted(name for name, value in vars(RecAccessor).items()
                     if callable(value) and not name.startswith("_"))
    assert "turnaround_stats" in methods and "billing_mismatches" in methods
    for frame in (transcriptions_frame(), recordings_frame(), pd.DataFrame()):
        assert dir(frame.rec) == methods
    # listed, yet a frame that cannot serve one still says so
    assert not hasattr(transcriptions_frame().rec, "turnaround_stats")
