"""Every column name and dtype of the toolkit's frames, in one place.

This is the contract between loading and analytics (``docs/architecture.md``, "Typed frames").
pandas 3 infers ``str`` (NaN-missing) and ``datetime64[us]`` on its own, so every dtype is pinned
here and :func:`coerce` applies them; tests compare ``df.dtypes`` with :func:`dtypes`.

Strings use ``StringDtype("pyarrow")`` (missing is ``<NA>``), counts and durations the nullable
``Int64``, money ``Float64``, times are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import pandas as pd

__all__ = [
    "FILE_FORMATS",
    "JOINED",
    "JOURNAL",
    "QUARANTINE",
    "RECORDINGS",
    "TRANSCRIPTIONS",
    "coerce",
    "dtypes",
    "empty",
]

STRING = pd.StringDtype("pyarrow")
FILE_FORMATS = ("mp3", "wav")
FILE_FORMAT = pd.CategoricalDtype(list(FILE_FORMATS))
TIME_MS = pd.DatetimeTZDtype("ms", "UTC")
TIME_US = pd.DatetimeTZDtype("us", "UTC")

#: One row per recording callback (deduplicated by ``recording_id``).
RECORDINGS: Mapping[str, object] = {
    "recording_id": STRING,
    "conference_name": STRING,
    "api_id": STRING,
    "record_url": STRING,
    "file_format": FILE_FORMAT,          # from the record URL's extension
    "recording_duration": "Int64",       # seconds
    "recording_duration_ms": "Int64",
    "recording_start": TIME_MS,
    "recording_end": TIME_MS,
    "received_at": TIME_US,              # when the receiver stored the callback
    "backfilled": "boolean",             # True when recovered from the Recording list API
}

#: One row per transcription callback (deduplicated by ``recording_id``).
TRANSCRIPTIONS: Mapping[str, object] = {
    "recording_id": STRING,
    "call_uuid": STRING,
    "transcription": STRING,
    "transcription_charge": "Float64",   # credit deducted for this transcription
    "transcription_rate": "Float64",     # Plivo's price per minute
    "duration": "Int64",                 # seconds
    "error": STRING,                     # <NA> on success
    "received_at": TIME_US,
}

#: Lines or rows that could not be used, with where they were and why.
QUARANTINE: Mapping[str, object] = {
    "file": STRING,
    "line": "Int64",                     # 1-based line (JSON Lines) or row (CSV, after the header)
    "event": STRING,                     # recording / transcription / <NA> when unknown
    "reason": STRING,
    "raw": STRING,
}

#: One row per recording with its transcription outcome (``load.join_recordings``).
JOINED: Mapping[str, object] = {
    **RECORDINGS,
    "transcription_status": pd.CategoricalDtype(
        ["transcribed", "failed", "pending", "not_requested", "unknown"]
    ),
    "transcription_error": STRING,
    "transcription_charge": "Float64",
    "transcription_rate": "Float64",
    "transcription_received_at": TIME_US,
}


#: One row per start, stop or delete call of the request journal (``load.load_journal``); the
#: ``options`` object of a line is flattened into its five columns.
JOURNAL: Mapping[str, object] = {
    "time": TIME_US,
    "action": pd.CategoricalDtype(["start", "stop", "delete"]),
    "conference_name": STRING,
    "file_format": FILE_FORMAT,
    "transcription_type": STRING,        # <NA>: no transcription asked for
    "transcription_url": STRING,
    "callback_url": STRING,
    "callback_method": STRING,
    "ok": "boolean",
    "status": "Int64",
    "api_id": STRING,
    "recording_id": STRING,
    "error_type": STRING,
    "error": STRING,
    "may_have_started": "boolean",
    "attempts": "Int64",
    "latency_ms": "Float64",
}


def dtypes(schema: Mapping[str, object]) -> pd.Series:
    """The schema as a Series of dtypes, comparable with ``df.dtypes``."""
    return pd.Series({name: pd.api.types.pandas_dtype(dt) for name, dt in schema.items()},
                     dtype=object)


def empty(schema: Mapping[str, object]) -> pd.DataFrame:
    """An empty frame with the schema's columns and dtypes."""
    # the schemas map names to dtype objects or dtype strings, which the stubs cannot narrow
    return pd.DataFrame({name: pd.Series([], dtype=cast(Any, dt)) for name, dt in schema.items()})


def coerce(df: pd.DataFrame, schema: Mapping[str, object]) -> pd.DataFrame:
    """The frame with exactly the schema's columns, in order, each cast to its dtype.

    Missing columns are added as all-missing; extra columns are kept after the schema's.
    Values must already be convertible (the loader parses text first and quarantines what fails).
    """
    out = {}
    n = len(df)
    for name, dt in schema.items():
        dt = cast(Any, dt)  # a dtype object or dtype string (see empty)
        if name in df.columns:
            col = df[name]
            out[name] = col if col.dtype == dt else col.astype(dt)
        else:
            out[name] = pd.Series(pd.array([pd.NA] * n if n else [], dtype=dt), index=df.index)
    extra = [c for c in df.columns if c not in schema]
    result = pd.DataFrame(out, index=df.index)
    for c in extra:
        result[c] = df[c]
    return result
