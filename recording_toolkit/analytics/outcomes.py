"""Transcription outcomes: coverage, success rate, errors by reason, and the price charged.

Three figures that sound alike and must never be mixed up (``docs/architecture.md``, "Names"):

- :func:`transcription_coverage`: the share of *recordings* that have a successful transcript;
- :func:`transcription_success_rate`: the share of *transcription callbacks* without an error;
- ``transcription_rate``: Plivo's *price* per minute, a column of the transcription callback,
  described by :func:`transcription_rate_stats`.

The transcriptions frame holds one row per recording (the loader prefers a success over an
error among repeated callbacks), so "callbacks" here are the deduplicated ones.

Examples
--------
>>> import pandas as pd
>>> from recording_toolkit import schema
>>> recordings = schema.coerce(pd.DataFrame({"recording_id": ["a", "b", "c", "d"]}),
...                            schema.RECORDINGS)
>>> transcriptions = schema.coerce(pd.DataFrame({
...     "recording_id": ["a", "b", "c"],
...     "transcription_rate": [0.05, 0.05, 0.05],
...     "error": [None, None, "Recording duration too long for transcription"],
... }), schema.TRANSCRIPTIONS)
>>> transcription_coverage(recordings, transcriptions)       # a, b of 4 recordings
0.5
>>> round(transcription_success_rate(transcriptions), 4)     # 2 of 3 callbacks
0.6667
>>> transcription_rate_stats(transcriptions)["median"]       # the price per minute
0.05
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._common import compute, distinct, exact_quantiles, isin, needs, require, to_pandas

__all__ = [
    "OUTCOMES",
    "outcome_counts",
    "transcription_counts",
    "transcription_coverage",
    "transcription_errors",
    "transcription_rate_stats",
    "transcription_success_rate",
]

#: The outcomes of a recording's transcription, in display order (``schema.JOINED``).
OUTCOMES = ("transcribed", "failed", "pending", "not_requested", "unknown")
_LABELS = {"transcribed": "Transcribed", "failed": "Failed", "pending": "Pending",
           "not_requested": "Not requested", "unknown": "Unknown"}


def _succeeded(transcriptions: Any) -> Any:
    return transcriptions[transcriptions["error"].isna()]


@needs("recording_id", "error")
def transcription_counts(transcriptions: Any) -> dict[str, int]:
    """``received``, ``succeeded`` and ``failed``: distinct ``recording_id`` per outcome.

    ``succeeded`` counts recordings with a callback whose ``error`` is empty, ``failed`` the
    rest of ``received`` (so ``succeeded + failed == received``).

    Examples
    --------
    >>> import pandas as pd
    >>> transcription_counts(pd.DataFrame({"recording_id": ["a", "b"], "error": [None, "x"]}))
    {'received': 2, 'succeeded': 1, 'failed': 1}
    """
    ids = to_pandas(transcriptions, ["recording_id", "error"])
    received = distinct(ids["recording_id"])
    succeeded = distinct(ids.loc[ids["error"].isna().to_numpy(dtype=bool), "recording_id"])
    return {"received": received, "succeeded": succeeded, "failed": received - succeeded}


@needs("recording_id", "error")
def transcription_success_rate(transcriptions: Any, *, counts: dict[str, int] | None = None
                               ) -> float | None:
    """Share of transcription callbacks (distinct recordings) without an error; None if none.

    ``counts`` (from :func:`transcription_counts`) saves counting again when already known.

    Examples
    --------
    >>> import pandas as pd
    >>> transcription_success_rate(pd.DataFrame({"recording_id": ["a", "b", "c", "d"],
    ...                                          "error": [None, None, None, "x"]}))
    0.75
    """
    counts = transcription_counts(transcriptions) if counts is None else counts
    return counts["succeeded"] / counts["received"] if counts["received"] else None


@needs("recording_id")
def transcription_coverage(recordings: Any, transcriptions: Any) -> float | None:
    """Share of recordings that have a successful transcription; None when there are none.

    Only transcriptions of recordings in ``recordings`` count: a transcript whose recording
    callback never came covers nothing here (reconciliation reports it).

    Examples
    --------
    >>> import pandas as pd
    >>> rec = pd.DataFrame({"recording_id": ["a", "b"]})
    >>> tr = pd.DataFrame({"recording_id": ["a", "z"], "error": [None, None]})
    >>> transcription_coverage(rec, tr)
    0.5
    """
    require(transcriptions, ["recording_id", "error"], "transcription_coverage")
    # Two id columns, matched in pandas: a join on Dask would shuffle both frames.
    ids = to_pandas(recordings, ["recording_id"])["recording_id"].dropna().drop_duplicates()
    ok = to_pandas(_succeeded(transcriptions), ["recording_id"])["recording_id"]
    covered = int(isin(ids, ok).sum())
    return covered / len(ids) if len(ids) else None


@needs("error")
def transcription_errors(transcriptions: Any) -> dict[str, int]:
    """``{error text: recordings}``, most frequent first (ties by text).

    Examples
    --------
    >>> import pandas as pd
    >>> transcription_errors(pd.DataFrame({"error": ["too long", None, "too short",
    ...                                              "too short"]}))
    {'too short': 2, 'too long': 1}
    """
    (counts,) = compute(transcriptions["error"].dropna().value_counts())
    pairs = sorted(((str(k), int(v)) for k, v in counts.items()), key=lambda kv: (-kv[1], kv[0]))
    return dict(pairs)


@needs("transcription_rate")
def transcription_rate_stats(transcriptions: Any) -> dict[str, Any]:
    """Statistics of ``transcription_rate``, Plivo's price per minute, over the callbacks.

    Returns
    -------
    dict
        ``count`` (callbacks with a rate), ``min``, ``median``, ``mean``, ``max`` and
        ``distinct`` (the different prices seen, ascending): a change of price shows here.

    Examples
    --------
    >>> import pandas as pd
    >>> transcription_rate_stats(pd.DataFrame({"transcription_rate": [0.05, 0.05, 0.04]}))
    {'count': 3, 'min': 0.04, 'median': 0.05, 'mean': 0.046667, 'max': 0.05, 'distinct': [0.04, 0.05]}
    """
    rates = to_pandas(transcriptions, ["transcription_rate"])["transcription_rate"]
    rates = rates.dropna().astype(float)
    if rates.empty:
        return {"count": 0, "min": None, "median": None, "mean": None, "max": None,
                "distinct": []}
    (median,) = exact_quantiles(rates, [0.5])
    return {"count": int(rates.size), "min": float(rates.min()), "median": median,
            "mean": round(float(rates.mean()), 6), "max": float(rates.max()),
            "distinct": sorted(float(v) for v in rates.unique())}


@needs("transcription_status", "transcription_error", alternatives=[["error"]])
def outcome_counts(frame: Any) -> pd.DataFrame:
    """Recordings per transcription outcome, failures split by their error text.

    Parameters
    ----------
    frame
        A joined frame (``transcription_status``, ``transcription_error``: every outcome), or a
        transcriptions frame (``error``: transcribed or failed only).

    Returns
    -------
    DataFrame
        ``outcome`` (one of :data:`OUTCOMES`), ``label`` (``"Failed: <error>"`` for failures),
        ``count`` and ``share`` (of all the recordings counted), in :data:`OUTCOMES` order, failures by count (descending) then text.
        Outcomes with no recording are left out.

    Examples
    --------
    >>> import pandas as pd
    >>> counts = outcome_counts(pd.DataFrame({"error": [None, "too long", None]}))
    >>> counts[["outcome", "label", "count"]].values.tolist()
    [['transcribed', 'Transcribed', 2], ['failed', 'Failed: too long', 1]]
    >>> counts["share"].round(3).tolist()
    [0.667, 0.333]
    """
    if "transcription_status" in frame.columns:
        require(frame, ["transcription_error"], "outcome_counts")
        data = to_pandas(frame, ["transcription_status", "transcription_error"])
        status = data["transcription_status"].astype("string")
        errors = data["transcription_error"].astype("string")
    else:
        require(frame, ["error"], "outcome_counts")
        errors = to_pandas(frame, ["error"])["error"].astype("string")
        status = pd.Series(np.where(errors.isna(), "transcribed", "failed"), index=errors.index,
                           dtype="string")
    rows: list[tuple[str, str, int]] = []
    for outcome in OUTCOMES:
        mask = (status == outcome).fillna(False).to_numpy(dtype=bool)
        if not mask.any():
            continue
        if outcome == "failed":
            reasons = errors[mask].fillna("(no error text)").value_counts(sort=False)
            for reason, count in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])):
                rows.append((outcome, f"Failed: {reason}", int(count)))
        else:
            rows.append((outcome, _LABELS[outcome], int(mask.sum())))
    out = pd.DataFrame(rows, columns=["outcome", "label", "count"]).astype(
        {"outcome": object, "label": object, "count": int})
    total = int(out["count"].sum())
    out["share"] = out["count"] / total if total else pd.Series(dtype=float)
    return out
