"""Recording durations: counts, recorded and billed minutes, typical and extreme lengths.

Every figure here comes from ``recording_duration_ms`` (the exact duration Plivo reports);
recordings without it are left out of durations and minutes but still counted as recordings.
Billed minutes follow :func:`recording_toolkit.rules.billed_minutes`: whole minutes, rounded up,
at least one per recording.

Examples
--------
>>> import pandas as pd
>>> from recording_toolkit import schema
>>> recordings = schema.coerce(pd.DataFrame({
...     "recording_id": ["a", "b", "c"],
...     "conference_name": ["sales", "sales", "eng"],
...     "recording_duration_ms": [30_000, 90_000, 600_000],
... }), schema.RECORDINGS)
>>> duration_summary(recordings)["billed_minutes"]      # 1 + 2 + 10
13
>>> duration_stats(recordings, by="conference_name")["billed_minutes"].to_dict()
{'eng': 10, 'sales': 3}
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .. import rules
from ._common import (
    PERIOD_STARTS,
    compute,
    distinct,
    exact_quantiles,
    needs,
    period_start,
    require,
    to_pandas,
)

__all__ = [
    "DURATION_GROUPS",
    "billed_minutes",
    "duration_stats",
    "duration_distribution",
    "duration_summary",
    "minutes_over_time",
    "rounding_overhead",
]

#: Groupings :func:`duration_stats` knows by name besides any column: periods of
#: ``recording_start`` (UTC) and short names for the format and the conference.
DURATION_GROUPS = {"day": "D", "week": "W", "month": "M", "format": "file_format",
                   "conference": "conference_name"}

_STATS_COLUMNS = ["recordings", "total_minutes", "billed_minutes", "mean_seconds",
                  "median_seconds", "p95_seconds", "max_seconds"]


@needs("recording_duration_ms")
def billed_minutes(recordings: Any) -> Any:
    """Billed minutes of each recording (``Int64``; missing where the duration is).

    Examples
    --------
    >>> import pandas as pd
    >>> billed_minutes(pd.DataFrame({"recording_duration_ms": [1, 60_000, 60_001]})).tolist()
    [1, 1, 2]
    """
    return rules.billed_minutes(recordings["recording_duration_ms"].astype("Int64"))


@needs("recording_id", "recording_duration_ms")
def duration_summary(recordings: Any) -> dict[str, Any]:
    """Count, total and billed minutes, mean / median / p95 / max duration in seconds.

    Works on pandas and Dask frames alike and gives the same numbers on both: the sums run on
    the engine, the median and p95 are exact (pandas' linear ``quantile``) on either.

    Returns
    -------
    dict
        ``count`` (distinct ``recording_id``), ``total_minutes`` (sum of ms / 60,000),
        ``billed_minutes`` (int), ``mean_seconds``, ``median_seconds``, ``p95_seconds``,
        ``max_seconds`` (None when no recording has a duration).

    Examples
    --------
    >>> import pandas as pd
    >>> s = duration_summary(pd.DataFrame({"recording_id": ["a", "b"],
    ...                                    "recording_duration_ms": [30_000, 90_000]}))
    >>> s["total_minutes"], s["billed_minutes"], s["median_seconds"], s["max_seconds"]
    (2.0, 3, 60.0, 90.0)
    """
    ms = recordings["recording_duration_ms"].astype("Int64")
    total_ms, billed, known, max_ms = compute(
        ms.sum(), rules.billed_minutes(ms).sum(), ms.count(), ms.max())
    count = distinct(recordings["recording_id"])
    median, p95 = exact_quantiles(ms.astype("Float64") / 1000, [0.5, 0.95])
    known = int(known)
    return {
        "count": int(count),
        "total_minutes": float(total_ms) / 60_000 if known else 0.0,
        "billed_minutes": int(billed) if known else 0,
        "mean_seconds": float(total_ms) / known / 1000 if known else None,
        "median_seconds": median,
        "p95_seconds": p95,
        "max_seconds": float(max_ms) / 1000 if known else None,
    }


def _group_keys(frame: pd.DataFrame, by: str) -> pd.Series:
    column = DURATION_GROUPS.get(by, by)
    if by in ("day", "week", "month"):
        return period_start(frame["recording_start"], column).rename(by)
    return frame[column].rename(column)


@needs("recording_id", "recording_duration_ms")
def duration_stats(recordings: Any, by: str | None = None) -> pd.DataFrame:
    """Duration statistics per group: recordings, minutes, mean / median / p95 / max seconds.

    Parameters
    ----------
    recordings
        ``schema.RECORDINGS`` rows (pandas or Dask).
    by
        A column (``"conference_name"``, ``"file_format"``, ...), ``"conference"``,
        ``"format"``, or ``"day"`` / ``"week"`` / ``"month"`` of ``recording_start`` (UTC;
        weeks start on Monday). None: one row, ``"all"``.

    Returns
    -------
    DataFrame
        Indexed by the group, sorted by it; ``recordings``, ``total_minutes``,
        ``billed_minutes`` (Int64), ``mean_seconds``, ``median_seconds``, ``p95_seconds``,
        ``max_seconds``. Rows whose group is missing are left out; ``recordings`` counts
        rows with or without a duration.

    Examples
    --------
    >>> import pandas as pd
    >>> rec = pd.DataFrame({"recording_id": ["a", "b", "c"],
    ...                     "recording_start": pd.to_datetime(
    ...                         ["2026-11-02 09:00", "2026-11-02 17:00", "2026-11-09 08:00"],
    ...                         utc=True),
    ...                     "recording_duration_ms": [60_000, 120_000, 30_000]})
    >>> weekly = duration_stats(rec, by="week")
    >>> list(weekly.index.strftime("%Y-%m-%d")), weekly["total_minutes"].tolist()
    (['2026-11-02', '2026-11-09'], [3.0, 0.5])
    """
    needed = ["recording_id", "recording_duration_ms"]
    if by is not None:
        group_column = "recording_start" if by in ("day", "week", "month") else \
            DURATION_GROUPS.get(by, by)
        needed.append(group_column)
    require(recordings, needed, "duration_stats")
    frame = to_pandas(recordings, list(dict.fromkeys(needed)))
    ms = frame["recording_duration_ms"].astype("Int64")
    seconds = (ms.astype("Float64") / 1000).astype(float)
    values = pd.DataFrame({"recording_id": frame["recording_id"],
                           "ms": ms.astype("Float64").astype(float),
                           "billed": rules.billed_minutes(ms).astype("Float64").astype(float),
                           "seconds": seconds}, index=frame.index)
    if by is None:
        keys = pd.Series("all", index=frame.index, name="group")
    else:
        keys = _group_keys(frame, by)
    groups = values.groupby(keys.to_numpy(), dropna=True, observed=True, sort=True)
    out = pd.DataFrame({
        "recordings": groups["recording_id"].size(),
        "total_minutes": groups["ms"].sum() / 60_000,
        "billed_minutes": groups["billed"].sum().round().astype("Int64"),
        "mean_seconds": groups["seconds"].mean(),
        "median_seconds": groups["seconds"].quantile(0.5),
        "p95_seconds": groups["seconds"].quantile(0.95),
        "max_seconds": groups["seconds"].max(),
    })
    out.index.name = keys.name
    return out[_STATS_COLUMNS]


@needs("recording_duration_ms", "recording_start")
def minutes_over_time(recordings: Any, freq: str = "D") -> pd.DataFrame:
    """Recordings, recorded and billed minutes per period of ``recording_start`` (UTC).

    Every period between the first and the last is present (zeros where nothing was recorded),
    so a chart of it shows quiet days as gaps rather than hiding them.

    Parameters
    ----------
    freq
        ``"D"`` (days), ``"W"`` (weeks from Monday) or ``"M"`` (calendar months).

    Returns
    -------
    DataFrame
        Indexed by the period's start (naive UTC); ``recordings`` (int), ``recorded_minutes``
        (float) and ``billed_minutes`` (Int64: billed minutes are whole). Empty when no
        recording has a start and a duration.

    Examples
    --------
    >>> import pandas as pd
    >>> rec = pd.DataFrame({"recording_start": pd.to_datetime(
    ...     ["2026-11-20 09:00", "2026-11-22 10:00"], utc=True),
    ...     "recording_duration_ms": [90_000, 30_000]})
    >>> minutes_over_time(rec)["billed_minutes"].tolist()
    [2, 0, 1]
    """
    if freq not in ("D", "W", "M"):
        raise ValueError(f"freq: {freq!r} is not one of 'D', 'W', 'M'")
    frame = to_pandas(recordings, ["recording_duration_ms", "recording_start"])
    known = frame.dropna(subset=["recording_duration_ms", "recording_start"])
    columns = ["recordings", "recorded_minutes", "billed_minutes"]
    if known.empty:
        return pd.DataFrame({"recordings": pd.Series(dtype=int),
                             "recorded_minutes": pd.Series(dtype=float),
                             "billed_minutes": pd.Series(dtype="Int64")},
                            index=pd.DatetimeIndex([], name="period"))
    ms = known["recording_duration_ms"].astype("Int64")
    periods = period_start(known["recording_start"], freq)
    values = pd.DataFrame({
        "recordings": 1,
        "recorded_minutes": (ms.astype("Float64") / 60_000).astype(float),
        "billed_minutes": rules.billed_minutes(ms).astype("Float64").astype(float),
    }, index=known.index)
    totals = values.groupby(periods.to_numpy()).sum()
    full = pd.date_range(totals.index.min(), totals.index.max(), freq=PERIOD_STARTS[freq],
                         name="period")
    out = totals.reindex(full, fill_value=0)
    out["recordings"] = out["recordings"].astype(int)
    out["billed_minutes"] = out["billed_minutes"].round().astype("Int64")
    return out[columns]


@needs("recording_id", "recording_duration_ms")
def duration_distribution(recordings: Any, *, bins: int = 30, log: bool = True
                          ) -> dict[str, Any]:
    """A histogram of recording durations in minutes, with the median and p95 to mark on it.

    Parameters
    ----------
    bins
        Number of bins, evenly spaced in minutes, or on a log scale with ``log``.
    log
        Log-spaced bins (short and hour-long recordings both show); recordings of zero length
        cannot be placed on a log axis and are left out, and counted, as ``not_positive``.

    Returns
    -------
    dict
        ``edges`` and ``counts`` (numpy arrays, minutes; ``len(edges) == bins + 1`` unless
        empty), ``drawn`` (recordings in the histogram), ``recordings`` (distinct ids, as
        :func:`duration_summary` counts them), ``no_duration``, ``not_positive``, ``log``,
        and ``median_minutes`` / ``p95_minutes`` of every recording with a duration (the
        figures of :func:`duration_summary`, in minutes; None when there is none).

    Examples
    --------
    >>> import pandas as pd
    >>> d = duration_distribution(pd.DataFrame({"recording_id": ["a", "b", "c"],
    ...     "recording_duration_ms": [60_000, 120_000, None]}), bins=2, log=False)
    >>> d["counts"].tolist(), d["edges"].tolist(), d["median_minutes"], d["no_duration"]
    ([1, 1], [1.0, 1.5, 2.0], 1.5, 1)
    """
    import numpy as np

    if bins < 1:
        raise ValueError(f"bins: {bins!r} must be at least 1")
    summary = duration_summary(recordings)
    ms = to_pandas(recordings, ["recording_duration_ms"])["recording_duration_ms"]
    minutes = (ms.astype("Float64") / 60_000).dropna().astype(float)
    no_duration = int(len(ms) - len(minutes))
    positive = minutes[minutes > 0] if log else minutes
    if positive.empty:
        edges, counts = np.array([]), np.array([], dtype=int)
    elif log:
        low, high = float(positive.min()), float(positive.max())
        edges = np.geomspace(low, high if high > low else low * 10, bins + 1)
        counts, edges = np.histogram(positive, bins=edges)
    else:
        counts, edges = np.histogram(positive, bins=bins)

    def in_minutes(seconds: float | None) -> float | None:
        return None if seconds is None else seconds / 60

    return {"edges": edges, "counts": counts, "drawn": int(len(positive)),
            "recordings": summary["count"], "no_duration": no_duration,
            "not_positive": int(len(minutes) - len(positive)), "log": log,
            "median_minutes": in_minutes(summary["median_seconds"]),
            "p95_minutes": in_minutes(summary["p95_seconds"])}


@needs("recording_duration_ms", "recording_start")
def rounding_overhead(recordings: Any, transcriptions: Any = None, *, rates: Any = None,
                      freq: str = "D") -> dict[str, Any]:
    """What billing in whole minutes adds to the recorded minutes, in minutes, % and money.

    Plivo bills each recording in whole minutes, rounded up, at least one
    (:func:`recording_toolkit.rules.billed_minutes`): a 61-second recording is billed as two
    minutes. The overhead is billed minus recorded minutes. It costs money twice: in
    transcription charges (each successful transcription is charged per billed minute, at the
    rate its callback reports) and in storage (per billed minute and month, once stored past
    the free days; ``rates.storage_per_minute_month``).

    Parameters
    ----------
    transcriptions
        ``schema.TRANSCRIPTIONS`` rows, for the transcription charges the overhead caused
        (optional: without them ``transcription_charge`` is None).
    rates
        A :class:`~recording_toolkit.config.RateCard` (default: its documented defaults).
    freq
        Periods of ``by_period``, as :func:`minutes_over_time`.

    Returns
    -------
    dict
        ``recorded_minutes``, ``billed_minutes``, ``overhead_minutes``, ``overhead_share``
        (of the recorded minutes; None when nothing was recorded), ``transcription_charge``
        (overhead minutes of the successfully transcribed recordings x their rate),
        ``transcribed_overhead_minutes``, ``storage_per_month`` (overhead minutes x the
        storage price) and ``by_period`` (:func:`minutes_over_time` with
        ``overhead_minutes`` and ``overhead_share``). Recordings with no start or duration are
        left out of everything (``left_out``) so the figures add up with the chart.

    Examples
    --------
    >>> import pandas as pd
    >>> rec = pd.DataFrame({"recording_id": ["a", "b"], "recording_duration_ms": [61_000, 60_000],
    ...     "recording_start": pd.to_datetime(["2026-11-02 09:00"] * 2, utc=True)})
    >>> tr = pd.DataFrame({"recording_id": ["a"], "transcription_rate": [0.05],
    ...                    "error": [None]})
    >>> o = rounding_overhead(rec, tr)
    >>> o["billed_minutes"], round(o["overhead_minutes"], 4), round(o["transcription_charge"], 4)
    (3, 0.9833, 0.0492)
    """
    from ..config import RateCard
    from ._common import lookup

    rates = rates or RateCard()
    frame = to_pandas(recordings, [c for c in ("recording_id", "recording_duration_ms",
                                               "recording_start") if c in recordings.columns])
    known = frame.dropna(subset=["recording_duration_ms", "recording_start"])
    ms = known["recording_duration_ms"].astype("Int64")
    recorded = float(ms.astype("Float64").sum()) / 60_000 if len(ms) else 0.0
    billed = int(rules.billed_minutes(ms).sum()) if len(ms) else 0
    overhead = billed - recorded
    by_period = minutes_over_time(known, freq)
    by_period["overhead_minutes"] = by_period["billed_minutes"].astype(float) \
        - by_period["recorded_minutes"]
    share = by_period["overhead_minutes"] / by_period["recorded_minutes"].where(
        by_period["recorded_minutes"] > 0)
    by_period["overhead_share"] = share.astype(float)
    charge = transcribed = None
    if transcriptions is not None:
        require(transcriptions, ["recording_id", "transcription_rate", "error"],
                "rounding_overhead")
        tr = to_pandas(transcriptions, ["recording_id", "transcription_rate", "error"])
        tr = tr[tr["error"].isna().to_numpy(dtype=bool)].drop_duplicates("recording_id")
        own = lookup(tr["recording_id"], known["recording_id"], ms) if "recording_id" in \
            known.columns else pd.Series(pd.NA, index=tr.index, dtype="Int64")
        has = own.notna().to_numpy(dtype=bool)
        extra = (rules.billed_minutes(own[has]).astype(float)
                 - own[has].astype("Float64").astype(float) / 60_000)
        rate = tr["transcription_rate"].astype("Float64")[has].fillna(
            rates.transcription_per_minute).astype(float)
        transcribed = float(extra.sum())
        charge = float((extra.to_numpy() * rate.to_numpy()).sum())
    return {"recorded_minutes": recorded, "billed_minutes": billed,
            "overhead_minutes": overhead,
            "overhead_share": overhead / recorded if recorded > 0 else None,
            "transcribed_overhead_minutes": transcribed, "transcription_charge": charge,
            "storage_per_month": overhead * rates.storage_per_minute_month,
            "left_out": int(len(frame) - len(known)), "by_period": by_period}
