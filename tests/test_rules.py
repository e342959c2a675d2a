"""Billing and transcription-eligibility rules (rules.py)."""

from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from recording_toolkit import rules


def test_billed_minutes_rounds_up_with_a_one_minute_floor():
    # The official SDK fixture: 22.78 s billed as one minute.
    assert rules.billed_minutes(22_780) == 1
    assert rules.billed_minutes(0) == 1
    assert rules.billed_minutes(60_000) == 1
    assert rules.billed_minutes(60_001) == 2
    assert rules.billed_minutes(345_100) == 6  # 5.75 min -> 6


def test_billed_minutes_vectorised_keeps_missing():
    s = pd.Series([22_780, 60_001, None], dtype="Int64")
    out = rules.billed_minutes(s)
    assert out.iloc[0] == 1 and out.iloc[1] == 2
    assert out.isna().iloc[2]


@given(st.integers(min_value=0, max_value=10**10))
def test_billed_minutes_scalar_matches_vector(ms):
    scalar = rules.billed_minutes(ms)
    vector = rules.billed_minutes(pd.Series([ms], dtype="Int64")).iloc[0]
    assert scalar == vector
    assert scalar * 60_000 >= ms and scalar >= 1


def test_eligibility_limits_are_exclusive():
    assert rules.transcription_ineligibility(500, "mp3") == rules.ERROR_TOO_SHORT
    assert rules.transcription_ineligibility(501, "mp3") is None
    four_hours = 4 * 3600 * 1000
    assert rules.transcription_ineligibility(four_hours - 1, "wav") is None
    assert rules.transcription_ineligibility(four_hours, "mp3") == rules.ERROR_TOO_LONG


def test_file_size_rule_applies_with_a_higher_bitrate():
    hour = 3600 * 1000
    big_wav = {"mp3": 4_000, "wav": 176_400}  # CD-quality stereo
    assert rules.transcription_ineligibility(hour * 3.5, "wav", big_wav) == (
        rules.ERROR_FILE_TOO_LARGE
    )
    assert rules.transcription_ineligibility(hour * 3.5, "mp3", big_wav) is None


def test_estimated_file_bytes_vectorised():
    ms = pd.Series([1000, 1000], dtype="Int64")
    fmt = pd.Series(["mp3", "WAV"])
    est = rules.estimated_file_bytes(ms, fmt)
    assert list(est) == [4_000.0, 16_000.0 + rules.WAV_HEADER_BYTES]
