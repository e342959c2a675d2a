"""The stable figures of :func:`summarize` on Dask frames, as reductions in one pass.

Nothing here brings a column to one place: sums, counts and small value counts are tree
reductions; the figures that match recordings with transcriptions (distinct recordings per
outcome, coverage, turnaround) come from one hash shuffle of a few narrow columns on
``recording_id``, after which every recording's rows are in one partition and each partition's
figures simply add up; the medians and 95th percentiles are
:mod:`recording_toolkit.analytics.quantiles` sketches (exact up to
``analytics.quantiles.EXACT_UP_TO`` values, else within 0.1 %). Everything is computed in a
single ``dask.compute``, so lazy frames read their files once.

The figures equal the pandas engine's (:func:`._summary._stable`) but for those quantiles beyond
the exact size. With duplicated ``recording_id`` among the recordings (not the case for frames
from ``load_callbacks``), a turnaround uses one of them, not necessarily the first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .. import rules
from ..analytics import quantiles

__all__ = ["quantile_note", "stable_figures"]

_TIME = pd.DatetimeTZDtype("us", "UTC")
_STRING = pd.StringDtype("pyarrow")
_IDS: dict[str, Any] = {"recording_id": _STRING, "kind": "int8", "at": _TIME, "failed": "bool"}
_COUNTS = ("recordings", "received", "succeeded", "covered")
#: The turnaround marks of :func:`analytics.turnaround_stats`, in minutes.
_MARKS = (5, 30)


def quantile_note(approximate: list[str]) -> dict[str, Any] | None:
    """What ``Summary.details["quantiles"]`` says on Dask when some quantile is approximate:
    how they were computed and which figures are approximate (None when all are exact)."""
    return {**quantiles.describe(), "approximate": approximate} if approximate else None


def _narrow(frame: pd.DataFrame, kind: int) -> pd.DataFrame:
    """Recordings (kind 0: their end) or transcriptions (kind 1: received, failed) in the
    columns of :data:`_IDS`."""
    if kind == 0:
        at, failed = frame["recording_end"], np.zeros(len(frame), dtype=bool)
    else:
        at, failed = frame["received_at"], frame["error"].notna().to_numpy(dtype=bool)
    return pd.DataFrame({"recording_id": frame["recording_id"].astype(_STRING),
                         "kind": pd.Series(np.full(len(frame), kind, dtype=np.int8),
                                           index=frame.index),
                         "at": at.astype(_TIME),
                         "failed": pd.Series(failed, index=frame.index)}).astype(_IDS)


def _id_counts(part: pd.DataFrame) -> pd.DataFrame:
    """Distinct recordings, transcribed recordings (received, succeeded) and recordings with
    a success, in one partition where every recording's rows are together."""
    known = part[part["recording_id"].notna().to_numpy(dtype=bool)]
    kinds = known["kind"].to_numpy()
    recordings = known.loc[kinds == 0, "recording_id"].drop_duplicates()
    transcribed = known[kinds == 1]
    succeeded = transcribed.loc[~transcribed["failed"].to_numpy(dtype=bool),
                                "recording_id"].drop_duplicates()
    row = {"recordings": len(recordings),
           "received": int(transcribed["recording_id"].nunique()),
           "succeeded": len(succeeded),
           "covered": int(recordings.isin(succeeded).sum())}
    return pd.DataFrame([row], columns=list(_COUNTS)).astype("int64")


def _turnaround(part: pd.DataFrame) -> pd.Series:
    """Seconds from each transcription's recording end to its callback, where both are known
    (as :func:`analytics.turnaround_seconds`: microseconds apart, over a million)."""
    kinds = part["kind"].to_numpy()
    ends = part[kinds == 0]
    ends = ends[ends["recording_id"].notna().to_numpy(dtype=bool)].drop_duplicates(
        "recording_id")
    transcribed = part[kinds == 1]
    if ends.empty or transcribed.empty:
        return pd.Series([], dtype="float64", name="seconds")
    at = pd.Index(ends["recording_id"]).get_indexer(transcribed["recording_id"])
    found = at >= 0
    at = np.where(found, at, 0)
    end = ends["at"]
    received = transcribed["at"]
    ok = found & end.notna().to_numpy(dtype=bool)[at] & received.notna().to_numpy(dtype=bool)
    micros = received.array.asi8[ok] - end.array.asi8[at][ok]
    return pd.Series(micros / 1_000_000, dtype="float64", name="seconds")


def stable_figures(stats: Mapping[str, Any], recordings: Any, transcriptions: Any
                   ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """The stable figures (the data of a ``Summary``, not yet made plain), the turnaround
    statistics and the :func:`quantile_note`, from Dask ``recordings`` and ``transcriptions``."""
    import dask.dataframe as dd
    from dask.base import compute

    ms = recordings["recording_duration_ms"].astype("Int64")
    ids = dd.concat([
        recordings[["recording_id", "recording_end"]].map_partitions(
            _narrow, 0, meta=_narrow(recordings._meta, 0)),
        transcriptions[["recording_id", "received_at", "error"]].map_partitions(
            _narrow, 1, meta=_narrow(transcriptions._meta, 1)),
    ])
    by_id = ids.shuffle(on="recording_id")
    counts = by_id.map_partitions(_id_counts, meta=_id_counts(_narrow(recordings._meta, 0)))
    seconds = by_id.map_partitions(_turnaround, meta=pd.Series(dtype="float64", name="seconds"))
    lazy = {
        "total_ms": ms.sum(), "billed": rules.billed_minutes(ms).sum(), "known": ms.count(),
        "max_ms": ms.max(), "durations": quantiles.sketch(ms.astype("Float64") / 1000),
        "formats": recordings["file_format"].value_counts(),
        "conferences": recordings["conference_name"].dropna().nunique(),
        "counts": counts.sum(),
        "charge": transcriptions["transcription_charge"].astype("Float64").sum(),
        "errors": transcriptions["error"].dropna().value_counts(),
        "turnaround": quantiles.sketch(seconds), "measured": seconds.count(),
        "slowest": seconds.max(),
        **{f"within_{m}": (seconds <= m * 60).sum() for m in _MARKS},
    }
    (done,) = compute(lazy)
    known = int(done["known"])
    (median, p95), durations_exact = quantiles.quantiles_of(done["durations"], [0.5, 0.95])
    total = done["counts"]
    received, succeeded = int(total["received"]), int(total["succeeded"])
    measured = int(done["measured"])
    (tmedian, tp95), turnaround_exact = quantiles.quantiles_of(done["turnaround"], [0.5, 0.95])
    approximate = [] if durations_exact else ["recordings.duration_seconds.median",
                                              "recordings.duration_seconds.p95"]
    if not turnaround_exact:
        approximate += ["transcriptions.turnaround_seconds.median",
                        "transcriptions.turnaround_seconds.p95"]
    turnaround: dict[str, Any] = {
        "count": measured, "median_seconds": tmedian, "p95_seconds": tp95,
        "max_seconds": float(done["slowest"]) if measured else None,
        **{f"within_{m:g}_minutes": int(done[f"within_{m}"]) / measured if measured else None
           for m in _MARKS}}
    formats = {str(k): int(v) for k, v in done["formats"].items()}
    errors = dict(sorted(((str(k), int(v)) for k, v in done["errors"].items()),
                         key=lambda kv: (-kv[1], kv[0])))
    n_recordings = int(total["recordings"])
    data = {
        "source": {key: int(stats.get(key, 0)) for key in
                   ("files", "lines", "quarantined", "duplicates")},
        "recordings": {
            "count": n_recordings,
            "conferences": int(done["conferences"]),
            "total_minutes": float(done["total_ms"]) / 60_000 if known else 0.0,
            "billed_minutes": int(done["billed"]) if known else 0,
            "duration_seconds": {"mean": float(done["total_ms"]) / known / 1000 if known
                                 else None,
                                 "median": median, "p95": p95,
                                 "max": float(done["max_ms"]) / 1000 if known else None},
            "by_format": {"mp3": formats.get("mp3", 0), "wav": formats.get("wav", 0)},
        },
        "transcriptions": {
            "received": received, "succeeded": succeeded, "failed": received - succeeded,
            "success_rate": succeeded / received if received else None,
            "coverage": int(total["covered"]) / n_recordings if n_recordings else None,
            "charge_total": round(float(done["charge"]), 12),
            "errors": errors,
            "turnaround_seconds": {"median": tmedian, "p95": tp95},
        },
    }
    return data, turnaround, quantile_note(approximate)
