"""Transcription turnaround: from a recording's end to its transcription callback.

Plivo has published two figures for it, "about 30 minutes" on older pages and "under 5
minutes" on newer ones; :func:`turnaround_stats` reports the share within each, with the exact
median and 95th percentile. Turnaround is measured to the transcription callback's
``received_at`` (when the receiver stored it) from the recording's ``recording_end``, over the
recordings where both are known, failed transcriptions included (their callback is an answer
too).

Examples
--------
>>> import pandas as pd
>>> rec = pd.DataFrame({"recording_id": ["a", "b"],
...                     "recording_end": pd.to_datetime(["2026-11-02 10:00"] * 2, utc=True)})
>>> tr = pd.DataFrame({"recording_id": ["a", "b"], "received_at": pd.to_datetime(
...     ["2026-11-02 10:04", "2026-11-02 10:40"], utc=True)})
>>> stats = turnaround_stats(rec, tr)
>>> stats["median_seconds"], stats["within_5_minutes"], stats["within_30_minutes"]
(1320.0, 0.5, 0.5)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ._common import exact_quantiles, lookup, needs, require, to_pandas

__all__ = ["PUBLISHED_TURNAROUND_MINUTES", "turnaround_distribution", "turnaround_seconds",
           "turnaround_stats"]

#: A joined frame alone, or recordings (with ``transcriptions`` given).
_JOINED = ("recording_id", "recording_end", "transcription_received_at")
_ENDS = ("recording_id", "recording_end")

#: Turnarounds Plivo has published, in minutes.
PUBLISHED_TURNAROUND_MINUTES = (5, 30)


@needs(*_JOINED, alternatives=[_ENDS])
def turnaround_seconds(recordings: Any, transcriptions: Any = None) -> pd.Series:
    """Seconds from recording end to transcription callback, per recording, where both are known.

    Parameters
    ----------
    recordings
        ``schema.RECORDINGS`` rows with ``transcriptions`` (``schema.TRANSCRIPTIONS``), or a
        joined frame (``schema.JOINED``: ``recording_end`` and ``transcription_received_at``)
        alone. pandas or Dask.

    Returns
    -------
    Series
        Float seconds indexed by ``recording_id`` (pandas, whatever the engine), in no
        particular order. Negative values (a callback stamped before the recording's end) are
        kept: they point at clock trouble, which :mod:`.quality` reports.

    Examples
    --------
    >>> import pandas as pd
    >>> joined = pd.DataFrame({"recording_id": ["a", "b"],
    ...     "recording_end": pd.to_datetime(["2026-11-02 10:00", None], utc=True),
    ...     "transcription_received_at": pd.to_datetime(["2026-11-02 10:02", "2026-11-02 11:00"],
    ...                                                 utc=True)})
    >>> turnaround_seconds(joined).to_dict()
    {'a': 120.0}
    """
    if transcriptions is None:
        require(recordings, _JOINED, "turnaround_seconds")
        pairs = recordings[["recording_id", "recording_end", "transcription_received_at"]]
        pairs = pairs.rename(columns={"transcription_received_at": "received_at"})
    else:
        require(transcriptions, ["recording_id", "received_at"], "turnaround_seconds")
        # Narrow columns joined in pandas: exact quantiles need them there anyway, and a join
        # on Dask would shuffle both frames.
        ends = to_pandas(recordings, ["recording_id", "recording_end"]) \
            .drop_duplicates("recording_id")
        pairs = to_pandas(transcriptions, ["recording_id", "received_at"])
        pairs = pairs.assign(recording_end=lookup(pairs["recording_id"], ends["recording_id"],
                                                  ends["recording_end"]))
    pairs = to_pandas(pairs)
    seconds = pairs.assign(
        seconds=(pairs["received_at"] - pairs["recording_end"]).dt.total_seconds()
    )[["recording_id", "seconds"]].dropna(subset=["seconds"])
    return pd.Series(seconds["seconds"].astype(float).to_numpy(),
                     index=pd.Index(seconds["recording_id"].astype(str), name="recording_id"),
                     name="turnaround_seconds")


@needs(*_JOINED, alternatives=[_ENDS])
def turnaround_stats(recordings: Any, transcriptions: Any = None, *,
                     within_minutes: Sequence[float] = PUBLISHED_TURNAROUND_MINUTES
                     ) -> dict[str, Any]:
    """Count, median, p95 and max turnaround in seconds, and the share within each mark.

    Arguments as :func:`turnaround_seconds`. The median and p95 are pandas' linear
    ``quantile`` (exact on Dask too). Shares are of the recordings measured and include the
    mark itself (``<=``); keys ``within_<m>_minutes``. Figures are None when nothing could be
    measured.

    Examples
    --------
    >>> import pandas as pd
    >>> joined = pd.DataFrame({"recording_id": list("abcd"),
    ...     "recording_end": pd.to_datetime(["2026-11-02 10:00"] * 4, utc=True),
    ...     "transcription_received_at": pd.to_datetime(
    ...         ["2026-11-02 10:01", "2026-11-02 10:05", "2026-11-02 10:20", "2026-11-02 11:00"],
    ...         utc=True)})
    >>> s = turnaround_stats(joined)
    >>> s["count"], s["within_5_minutes"], s["within_30_minutes"], round(s["p95_seconds"], 6)
    (4, 0.5, 0.75, 3240.0)
    """
    seconds = turnaround_seconds(recordings, transcriptions)
    median, p95 = exact_quantiles(seconds, [0.5, 0.95])
    out: dict[str, Any] = {"count": int(seconds.size), "median_seconds": median,
                           "p95_seconds": p95,
                           "max_seconds": float(seconds.max()) if seconds.size else None}
    for mark in within_minutes:
        share = float((seconds <= mark * 60).mean()) if seconds.size else None
        out[f"within_{mark:g}_minutes"] = share
    return out


@needs(*_JOINED, alternatives=[_ENDS])
def turnaround_distribution(recordings: Any, transcriptions: Any = None, *,
                            within_minutes: Sequence[float] = PUBLISHED_TURNAROUND_MINUTES
                            ) -> dict[str, Any]:
    """:func:`turnaround_stats` with the turnarounds themselves, for a cumulative chart.

    Arguments as :func:`turnaround_stats`. Returns its figures and ``minutes`` (each
    measured turnaround in minutes, ascending, as a numpy array) with ``cumulative`` (the
    share of the measured ones done by then, the last 1.0), ``marks`` (the
    ``within_minutes``, with ``shares`` the share within each), and ``unmeasured``:
    transcription callbacks whose recording's end is not known (left out), counted only when
    ``transcriptions`` is given.

    Examples
    --------
    >>> import pandas as pd
    >>> rec = pd.DataFrame({"recording_id": ["a"],
    ...                     "recording_end": pd.to_datetime(["2026-11-02 10:00"], utc=True)})
    >>> tr = pd.DataFrame({"recording_id": ["a", "x"], "received_at": pd.to_datetime(
    ...     ["2026-11-02 10:03", "2026-11-02 10:04"], utc=True)})
    >>> d = turnaround_distribution(rec, tr)
    >>> d["minutes"].tolist(), d["cumulative"].tolist(), d["shares"], d["unmeasured"]
    ([3.0], [1.0], [1.0, 1.0], 1)
    """
    import numpy as np

    seconds = turnaround_seconds(recordings, transcriptions)
    stats = turnaround_stats(recordings, transcriptions, within_minutes=within_minutes)
    unmeasured = 0
    if transcriptions is not None:
        ids = to_pandas(transcriptions, ["recording_id"])["recording_id"]
        unmeasured = int(ids.nunique(dropna=True) - seconds.size)
    minutes = np.sort(seconds.to_numpy(dtype=float) / 60)
    return {**stats, "minutes": minutes,
            "cumulative": np.arange(1, minutes.size + 1) / minutes.size if minutes.size
            else np.array([]),
            "marks": list(within_minutes),
            "shares": [stats[f"within_{m:g}_minutes"] for m in within_minutes],
            "unmeasured": unmeasured}
