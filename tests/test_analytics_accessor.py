"""The df.rec accessor is generated from the analytics: same answers, same signatures, and it
names the columns a frame lacks."""

from __future__ import annotations

import inspect

import pandas as pd
import pytest
from analytics_data import recordings_frame, transcriptions_frame

import recording_toolkit.analytics as analytics
from recording_toolkit.analytics import RecAccessor
from recording_toolkit.analytics._common import needs_of
from recording_toolkit.load import join_recordings


def _public_functions() -> dict[str, object]:
    return {name: getattr(analytics, name) for name in analytics.__all__
            if inspect.isfunction(getattr(analytics, name))}


def test_every_public_function_declares_its_columns_and_is_a_method():
    functions = _public_functions()
    assert len(functions) > 25
    for name, function in functions.items():
        assert needs_of(function) is not None, f"{name} declares no columns"
        assert callable(getattr(RecAccessor, name, None)), f"df.rec has no {name}"


def test_each_method_has_its_functions_signature_less_the_frame_and_its_docstring():
    rec = recordings_frame()
    for name, function in _public_functions().items():
        expected = list(inspect.signature(function).parameters.values())[1:]
        method = getattr(RecAccessor, name)
        assert list(inspect.signature(method).parameters.values())[1:] == expected, name
        assert method.__doc__ == function.__doc__, name
    bound = inspect.signature(rec.rec.storage_projection)
    assert list(bound.parameters) == ["rates", "months", "now"]
    assert bound.parameters["months"].default == 12


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
    assert rec.rec.turnaround_stats(tr) == analytics.turnaround_stats(rec, tr)


def test_a_frame_the_function_accepts_the_method_accepts():
    """outcome_counts takes a joined frame or a transcriptions frame; so does df.rec."""
    tr = transcriptions_frame()
    joined = join_recordings(recordings_frame(), tr)
    for frame in (tr, joined, pd.DataFrame({"error": [None, "too long"]})):
        assert hasattr(frame.rec, "outcome_counts")
        pd.testing.assert_frame_equal(frame.rec.outcome_counts(),
                                      analytics.outcome_counts(frame))


def test_missing_columns_raise_attribute_error_naming_them():
    ids_only = pd.DataFrame({"recording_id": ["a"], "recording_duration_ms": [1_000]})
    with pytest.raises(AttributeError, match=r"turnaround_stats needs column\(s\) "
                                             r"\['recording_end', 'transcription_received_at'\]"):
        ids_only.rec.turnaround_stats()
    assert not hasattr(recordings_frame().rec, "billing_audit")
    assert hasattr(transcriptions_frame().rec, "billing_audit")
    with pytest.raises(AttributeError, match="recording_duration_ms"):
        pd.DataFrame({"recording_id": ["a"]}).rec.duration_summary  # noqa: B018
    with pytest.raises(AttributeError, match=r"outcome_counts .*\(or \['error'\]\)"):
        pd.DataFrame({"x": [1]}).rec.outcome_counts  # noqa: B018


def test_the_function_itself_names_missing_columns():
    with pytest.raises(ValueError, match=r"charge_total: the frame has no column\(s\) "
                                         r"\['transcription_charge'\]"):
        analytics.charge_total(pd.DataFrame({"x": [1]}))


def test_dir_lists_every_method_so_tab_completion_finds_them():
    methods = sorted(_public_functions())
    for frame in (transcriptions_frame(), recordings_frame(), pd.DataFrame()):
        assert dir(frame.rec) == methods
    # listed, yet a frame that cannot serve one still says so
    assert not hasattr(transcriptions_frame().rec, "turnaround_stats")
