"""Money: transcription charges, the effective price per transcribed minute, storage cost.

Charges are what Plivo reported (``transcription_charge`` of each deduplicated callback).
Storage cost is *projected* from the rate card (:class:`~recording_toolkit.config.RateCard`):
a recording is stored free for ``free_storage_days`` from its start, then costs
``storage_per_minute_month`` per billed (rounded) minute for every month it is kept. The
toolkit cannot know when a recording is deleted, so every recording is assumed kept.

Examples
--------
>>> import pandas as pd
>>> from recording_toolkit.config import RateCard
>>> rec = pd.DataFrame({"recording_id": ["a"], "recording_duration_ms": [120_000],
...                     "recording_start": pd.to_datetime(["2026-01-01"], utc=True)})
>>> projection = storage_projection(rec, rates=RateCard(), months=5, now="2026-02-10")
>>> projection["cost"].round(6).tolist()    # free until 1 April, then 2 minutes x 0.0004
[0.0, 0.0, 0.0008, 0.0008, 0.0008]
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .. import rules
from ..config import RateCard
from ._common import compute, lookup, needs, period_start, require, to_pandas, utc

__all__ = [
    "charge_total",
    "effective_price_per_minute",
    "monthly_costs",
    "storage_projection",
    "transcription_charges",
]


@needs("transcription_charge")
def charge_total(transcriptions: Any) -> float:
    """Sum of ``transcription_charge`` over the (deduplicated) transcription callbacks.

    >>> import pandas as pd
    >>> charge_total(pd.DataFrame({"transcription_charge": [0.05, 0.10, None]}))
    0.15
    """
    (total,) = compute(transcriptions["transcription_charge"].astype("Float64").sum())
    return round(float(total), 12)


@needs("recording_id", "transcription_charge", "error")
def transcription_charges(transcriptions: Any, recordings: Any = None, *,
                          by: str = "conference") -> pd.DataFrame:
    """Transcriptions and their charges per conference, day or month.

    Parameters
    ----------
    transcriptions
        ``schema.TRANSCRIPTIONS`` rows.
    recordings
        ``schema.RECORDINGS`` rows; needed for ``by="conference"`` (a transcription callback
        does not name its conference). Transcriptions whose recording is not among them are
        grouped under ``"(unknown)"``, so the groups add up to :func:`charge_total`.
    by
        ``"conference"``, or ``"day"`` / ``"month"`` of the callback's ``received_at`` (UTC).

    Returns
    -------
    DataFrame
        Indexed by the group (largest charge first for conferences, in time order otherwise;
        days and months without callbacks are absent): ``transcriptions``, ``failed``,
        ``charge``.

    Examples
    --------
    >>> import pandas as pd
    >>> rec = pd.DataFrame({"recording_id": ["a", "b", "c"],
    ...                     "conference_name": ["sales", "eng", "sales"]})
    >>> tr = pd.DataFrame({"recording_id": ["a", "b", "c", "x"],
    ...                    "transcription_charge": [0.05, 0.20, 0.10, 0.05],
    ...                    "error": [None, None, None, None]})
    >>> transcription_charges(tr, rec)["charge"].round(6).to_dict()
    {'eng': 0.2, 'sales': 0.15, '(unknown)': 0.05}
    """
    if by not in ("conference", "day", "month"):
        raise ValueError(f"by: {by!r} is not one of 'conference', 'day', 'month'")
    needed = ["recording_id", "transcription_charge", "error"]
    if by != "conference":
        needed.append("received_at")
    require(transcriptions, needed, "transcription_charges")
    frame = to_pandas(transcriptions, needed)
    if by == "conference":
        if recordings is None:
            raise ValueError("transcription_charges(by='conference') needs the recordings"
                             " frame: transcription callbacks do not name their conference")
        require(recordings, ["recording_id", "conference_name"], "transcription_charges")
        names = to_pandas(recordings, ["recording_id", "conference_name"]).drop_duplicates(
            "recording_id")
        conference = lookup(frame["recording_id"], names["recording_id"],
                            names["conference_name"])
        keys = conference.astype(object).where(conference.notna(), "(unknown)") \
            .rename("conference_name")
    else:
        keys = period_start(frame["received_at"], "D" if by == "day" else "M").rename(by)
    values = pd.DataFrame({"transcriptions": 1,
                           "failed": frame["error"].notna().astype(int),
                           "charge": frame["transcription_charge"].astype("Float64")
                           .fillna(0.0).astype(float)}, index=frame.index)
    out = values.groupby(keys.to_numpy(), dropna=True).sum()
    out.index.name = keys.name
    if by == "conference":
        out = out.sort_values(["charge", "transcriptions"], ascending=False, kind="stable")
    return out


@needs("recording_id", "transcription_charge", "duration", "error")
def effective_price_per_minute(transcriptions: Any, recordings: Any = None) -> float | None:
    """What one minute of successfully transcribed audio cost, all charges included.

    Total ``transcription_charge`` divided by the exact minutes of the recordings that were
    transcribed successfully (``recording_duration_ms`` when ``recordings`` has the
    recording, else the callback's ``duration`` in seconds). Charges for failed
    transcriptions count against the successful minutes, and whole-minute rounding shows up as
    a price above ``transcription_rate``. None when nothing was transcribed.

    Examples
    --------
    >>> import pandas as pd
    >>> tr = pd.DataFrame({"recording_id": ["a", "b"], "transcription_charge": [0.05, 0.10],
    ...                    "duration": [30, 90], "error": [None, None]})
    >>> round(effective_price_per_minute(tr), 6)      # 0.15 for 2 minutes
    0.075
    """
    frame = to_pandas(transcriptions, ["recording_id", "transcription_charge", "duration",
                                       "error"])
    ms = frame["duration"].astype("Float64") * 1000
    if recordings is not None:
        require(recordings, ["recording_id", "recording_duration_ms"],
                "effective_price_per_minute")
        exact = to_pandas(recordings, ["recording_id", "recording_duration_ms"]) \
            .drop_duplicates("recording_id")
        ms = lookup(frame["recording_id"], exact["recording_id"],
                    exact["recording_duration_ms"].astype("Float64")).fillna(ms)
    minutes = float(ms[frame["error"].isna()].sum()) / 60_000
    if minutes <= 0:
        return None
    return float(frame["transcription_charge"].astype("Float64").sum()) / minutes


def _month_end(period: pd.Period) -> pd.Timestamp:
    return period.end_time.tz_localize("UTC")


@needs("recording_duration_ms", "recording_start")
def storage_projection(recordings: Any, *, rates: RateCard | None = None, months: int = 12,
                       now: Any = None) -> pd.DataFrame:
    """Projected storage cost of each of the coming ``months`` calendar months.

    A recording is billed in a month when its free period has ended by the month's end
    (a whole month's charge: Plivo bills storage monthly). The first month is the one holding
    ``now`` (default: the current time).

    Returns
    -------
    DataFrame
        Indexed by the month's first day (naive UTC); ``billed_recordings``,
        ``billed_minutes`` and ``cost``.
    """
    if months < 1:
        raise ValueError(f"months: {months!r} must be at least 1")
    rates = rates or RateCard()
    now = pd.Timestamp.now(tz="UTC") if now is None else utc(now)
    first = now.tz_localize(None).to_period("M")
    return _storage_by_month(recordings, pd.period_range(first, periods=months, freq="M"),
                             rates)


def _storage_by_month(recordings: Any, periods: pd.PeriodIndex, rates: RateCard
                      ) -> pd.DataFrame:
    frame = to_pandas(recordings, ["recording_duration_ms", "recording_start"]).dropna()
    minutes = rules.billed_minutes(frame["recording_duration_ms"].astype("Int64")) \
        .astype("Float64").astype(float).to_numpy()
    start = frame["recording_start"]
    free_until = start + pd.Timedelta(days=rates.free_storage_days)
    rows = []
    for period in periods:
        billed = (free_until <= _month_end(period)).to_numpy(dtype=bool)
        count = int(billed.sum())
        billed_minutes = float(minutes[billed].sum())
        rows.append((count, billed_minutes, billed_minutes * rates.storage_per_minute_month))
    out = pd.DataFrame(rows, columns=["billed_recordings", "billed_minutes", "cost"],
                       index=periods.start_time)
    out.index.name = "month"
    return out


@needs("recording_duration_ms", "recording_start")
def monthly_costs(recordings: Any, transcriptions: Any, *, rates: RateCard | None = None
                  ) -> pd.DataFrame:
    """Transcription charges and storage cost per calendar month of the data, and their total.

    Months run from the first recording's start (or first transcription) to the last event
    in the data. Transcription charges fall in the month of their callback; storage as in
    :func:`storage_projection` (every recording kept).

    Examples
    --------
    >>> import pandas as pd
    >>> from recording_toolkit.config import RateCard
    >>> rec = pd.DataFrame({"recording_duration_ms": [60_000], "recording_start":
    ...                     pd.to_datetime(["2026-01-01"], utc=True)})
    >>> tr = pd.DataFrame({"transcription_charge": [0.05], "received_at":
    ...                    pd.to_datetime(["2026-04-15"], utc=True)})
    >>> costs = monthly_costs(rec, tr, rates=RateCard(storage_per_minute_month=0.01))
    >>> costs["total"].round(6).tolist()     # Jan-Mar free; April: 0.05 + 0.01
    [0.0, 0.0, 0.0, 0.06]
    """
    require(transcriptions, ["transcription_charge", "received_at"], "monthly_costs")
    rates = rates or RateCard()
    tr = to_pandas(transcriptions, ["transcription_charge", "received_at"]) \
        .dropna(subset=["received_at"])
    starts = to_pandas(recordings, ["recording_start"])["recording_start"].dropna()
    moments = pd.concat([starts.astype("datetime64[us, UTC]"),
                         tr["received_at"].astype("datetime64[us, UTC]")], ignore_index=True)
    columns = ["transcription_charge", "storage_cost", "total"]
    if moments.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in columns},
                            index=pd.DatetimeIndex([], name="month"))
    naive = moments.dt.tz_localize(None)
    periods = pd.period_range(naive.min().to_period("M"), naive.max().to_period("M"), freq="M")
    storage = _storage_by_month(recordings, periods, rates)["cost"]
    charged = tr["transcription_charge"].astype("Float64").fillna(0.0).astype(float) \
        .groupby(period_start(tr["received_at"], "M").to_numpy()).sum()
    out = pd.DataFrame({"transcription_charge": charged.reindex(storage.index, fill_value=0.0),
                        "storage_cost": storage})
    out["total"] = out["transcription_charge"] + out["storage_cost"]
    out.index.name = "month"
    return out[columns]
