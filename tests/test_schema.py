"""The typed schema (schema.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from recording_toolkit import schema


@pytest.mark.parametrize("spec", [schema.RECORDINGS, schema.TRANSCRIPTIONS, schema.QUARANTINE,
                                  schema.JOINED])
def test_empty_frames_have_exactly_the_schema(spec):
    df = schema.empty(spec)
    assert list(df.columns) == list(spec)
    assert df.dtypes.equals(schema.dtypes(spec))


def test_coerce_pins_dtypes_adds_missing_and_keeps_extra_columns():
    raw = pd.DataFrame({
        "recording_duration_ms": [1000, 2000],
        "recording_id": ["a", "b"],
        "note": ["x", "y"],
    })
    out = schema.coerce(raw, schema.RECORDINGS)
    assert list(out.columns) == [*schema.RECORDINGS, "note"]
    assert out[list(schema.RECORDINGS)].dtypes.equals(schema.dtypes(schema.RECORDINGS))
    assert out["conference_name"].isna().all()
    assert out["recording_duration_ms"].tolist() == [1000, 2000]


def test_strings_are_na_missing_not_nan():
    df = schema.coerce(pd.DataFrame({"recording_id": ["a"], "error": [None]}), schema.TRANSCRIPTIONS)
    assert df["error"].iloc[0] is pd.NA
