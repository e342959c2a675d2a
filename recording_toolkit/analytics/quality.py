"""Data quality: recordings whose figures contradict themselves or the clock.

The loader keeps every row it can type; some of those still make no sense, and each such
finding is listed (never silently fixed or dropped) so a report can show it:

- ``non_positive_duration``: ``recording_duration_ms`` is zero or negative;
- ``end_before_start``: ``recording_end`` is earlier than ``recording_start``;
- ``duration_fields_disagree``: ``recording_duration`` (seconds) and
  ``recording_duration_ms`` differ by more than a second (Plivo sends the seconds rounded);
- ``duration_disagrees_with_times``: ``recording_end - recording_start`` differs from
  ``recording_duration_ms`` by more than ``tolerance``;
- ``in_the_future``: a recording's start or end, or a callback's ``received_at``, lies more
  than ``future`` after ``now`` (default: the current time) -- a clock or parsing problem.

Examples
--------
>>> import pandas as pd
>>> rec = pd.DataFrame({"recording_id": ["a", "b"], "recording_duration": [10, 0],
...                     "recording_duration_ms": [10_000, 0]})
>>> data_quality(rec)[["check", "recording_id"]].values.tolist()
[['non_positive_duration', 'b']]
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ._common import needs, to_pandas, utc

__all__ = ["QUALITY_CHECKS", "data_quality", "quality_counts"]

#: Every check :func:`data_quality` runs, in report order, with what it means.
QUALITY_CHECKS = {
    "non_positive_duration": "recording_duration_ms is zero or negative",
    "end_before_start": "recording_end is earlier than recording_start",
    "duration_fields_disagree": "recording_duration and recording_duration_ms differ by more"
                                " than a second",
    "duration_disagrees_with_times": "recording_end - recording_start differs from"
                                     " recording_duration_ms",
    "in_the_future": "a time lies in the future",
}

_COLUMNS = ["check", "event", "recording_id", "detail"]


def _rows(check: str, event: str, ids: pd.Series, details: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"check": check, "event": event, "recording_id": ids.astype(object),
                         "detail": details})


@needs("recording_id")
def data_quality(recordings: Any, transcriptions: Any = None, *, now: Any = None,
                 future: Any = "1D", tolerance: Any = "2s") -> pd.DataFrame:
    """Every finding of the checks in :data:`QUALITY_CHECKS`, one row per recording and check.

    Parameters
    ----------
    recordings
        ``schema.RECORDINGS`` rows; checks whose columns are absent are skipped.
    transcriptions
        ``schema.TRANSCRIPTIONS`` rows, for callbacks stamped in the future (optional).
    now, future
        A time is "in the future" when it is later than ``now + future``.
    tolerance
        Allowed gap between the start/end times and the duration.

    Returns
    -------
    DataFrame
        ``check``, ``event`` (``recording`` / ``transcription``), ``recording_id`` and a
        readable ``detail`` with the values involved.
    """
    now = pd.Timestamp.now(tz="UTC") if now is None else utc(now)
    horizon = now + pd.Timedelta(future)
    tolerance = pd.Timedelta(tolerance)
    wanted = [c for c in ("recording_id", "recording_duration", "recording_duration_ms",
                          "recording_start", "recording_end", "received_at")
              if c in recordings.columns]
    rec = to_pandas(recordings, wanted).reset_index(drop=True)
    found: list[pd.DataFrame] = []
    has = set(rec.columns)
    if "recording_duration_ms" in has:
        ms = rec["recording_duration_ms"].astype("Int64")
        bad = (ms <= 0).fillna(False).to_numpy(dtype=bool)
        found.append(_rows("non_positive_duration", "recording", rec["recording_id"][bad],
                           [f"recording_duration_ms={v}" for v in ms[bad]]))
    if {"recording_start", "recording_end"} <= has:
        start, end = rec["recording_start"], rec["recording_end"]
        bad = (end < start).fillna(False).to_numpy(dtype=bool)
        found.append(_rows("end_before_start", "recording", rec["recording_id"][bad],
                           [f"start {s.isoformat()}, end {e.isoformat()}"
                            for s, e in zip(start[bad], end[bad], strict=True)]))
    if {"recording_duration", "recording_duration_ms"} <= has:
        seconds = rec["recording_duration"].astype("Int64")
        ms = rec["recording_duration_ms"].astype("Int64")
        gap = (seconds.astype("Float64") * 1000 - ms.astype("Float64")).abs()
        bad = (gap > 1000).fillna(False).to_numpy(dtype=bool)
        found.append(_rows("duration_fields_disagree", "recording", rec["recording_id"][bad],
                           [f"recording_duration={s} s, recording_duration_ms={m}"
                            for s, m in zip(seconds[bad], ms[bad], strict=True)]))
    if {"recording_start", "recording_end", "recording_duration_ms"} <= has:
        span = (rec["recording_end"] - rec["recording_start"])
        ms = rec["recording_duration_ms"].astype("Int64")
        stated = pd.to_timedelta(ms.astype("Float64").astype(float), unit="ms")
        valid = (span >= pd.Timedelta(0)).fillna(False)  # end before start is its own finding
        bad = (valid & ((span - stated).abs() > tolerance).fillna(False)).to_numpy(dtype=bool)
        found.append(_rows("duration_disagrees_with_times", "recording",
                           rec["recording_id"][bad],
                           [f"end - start = {s.total_seconds():g} s,"
                            f" recording_duration_ms={m}"
                            for s, m in zip(span[bad], ms[bad], strict=True)]))
    for column in ("recording_start", "recording_end", "received_at"):
        if column in has:
            times = rec[column]
            bad = (times > horizon).fillna(False).to_numpy(dtype=bool)
            found.append(_rows("in_the_future", "recording", rec["recording_id"][bad],
                               [f"{column} {t.isoformat()} is after {now.isoformat()}"
                                for t in times[bad]]))
    if transcriptions is not None and "received_at" in transcriptions.columns:
        tr = to_pandas(transcriptions, ["recording_id", "received_at"]).reset_index(drop=True)
        bad = (tr["received_at"] > horizon).fillna(False).to_numpy(dtype=bool)
        found.append(_rows("in_the_future", "transcription", tr["recording_id"][bad],
                           [f"received_at {t.isoformat()} is after {now.isoformat()}"
                            for t in tr["received_at"][bad]]))
    found = [f for f in found if len(f)]
    if not found:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in _COLUMNS})
    return pd.concat(found, ignore_index=True)[_COLUMNS]


@needs("check")
def quality_counts(findings: pd.DataFrame) -> dict[str, int]:
    """Findings per check, every check present (0 when clean), in :data:`QUALITY_CHECKS` order.

    >>> import pandas as pd
    >>> quality_counts(pd.DataFrame({"check": ["end_before_start"]}))["end_before_start"]
    1
    """
    counts = {str(k): int(v) for k, v in findings["check"].value_counts().items()} \
        if len(findings) else {}
    return {check: int(counts.get(check, 0)) for check in QUALITY_CHECKS}
