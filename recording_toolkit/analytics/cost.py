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
    "UNKNOWN_CONFERENCE",
    "charge_total",
    "charges_over_time",
    "conference_totals",
    "effective_price_per_minute",
    "monthly_costs",
    "projection_start",
    "storage_outlook",
    "storage_projection",
    "top_conferences",
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


@needs("transcription_charge", "received_at")
def charges_over_time(transcriptions: Any, freq: str = "D") -> dict[str, Any]:
    """Transcription charges per day or month of the callback, every period present.

    Returns
    -------
    dict
        ``by_period``: indexed by the period's start (naive UTC), ``transcriptions`` and
        ``charge`` (0 for periods between the first and last without callbacks); ``total``:
        :func:`charge_total` of all the callbacks; ``no_time``: callbacks with no
        ``received_at`` (in ``total``, not in any period) and their ``no_time_charge``.

    Examples
    --------
    >>> import pandas as pd
    >>> tr = pd.DataFrame({"transcription_charge": [0.05, 0.10, 0.20],
    ...     "received_at": pd.to_datetime(["2026-11-02 09:00", "2026-11-04 10:00", None],
    ...                                   utc=True)})
    >>> c = charges_over_time(tr)
    >>> c["by_period"]["charge"].tolist(), c["total"], c["no_time"]
    ([0.05, 0.0, 0.1], 0.35, 1)
    """
    if freq not in ("D", "M"):
        raise ValueError(f"freq: {freq!r} is not one of 'D', 'M'")
    frame = to_pandas(transcriptions, ["transcription_charge", "received_at"])
    charge = frame["transcription_charge"].astype("Float64").fillna(0.0).astype(float)
    timed = frame["received_at"].notna().to_numpy(dtype=bool)
    out = pd.DataFrame({"transcriptions": 1, "charge": charge}, index=frame.index)[timed]
    if out.empty:
        by_period = pd.DataFrame({"transcriptions": pd.Series(dtype=int),
                                  "charge": pd.Series(dtype=float)},
                                 index=pd.DatetimeIndex([], name="period"))
    else:
        starts = period_start(frame["received_at"][timed], freq)
        sums = out.groupby(starts.to_numpy()).sum()
        full = pd.date_range(sums.index.min(), sums.index.max(),
                             freq="D" if freq == "D" else "MS", name="period")
        by_period = sums.reindex(full, fill_value=0)
        by_period["transcriptions"] = by_period["transcriptions"].astype(int)
    return {"by_period": by_period, "total": charge_total(frame),
            "no_time": int((~timed).sum()), "no_time_charge": float(charge[~timed].sum())}


#: The group of transcriptions whose recording (so whose conference) is not known.
UNKNOWN_CONFERENCE = "(unknown)"


@needs("conference_name", "recording_id", "recording_duration_ms")
def conference_totals(recordings: Any, transcriptions: Any = None) -> pd.DataFrame:
    """Recordings, recorded minutes and transcription charges per conference.

    Parameters
    ----------
    recordings
        ``schema.RECORDINGS`` rows with ``transcriptions``; or a joined frame
        (``schema.JOINED``, its ``transcription_charge``) alone.
    transcriptions
        ``schema.TRANSCRIPTIONS`` rows. Those whose recording is not among ``recordings``
        are the :data:`UNKNOWN_CONFERENCE` row, so the charges add up to
        :func:`charge_total` (a joined frame holds only transcriptions of its recordings).

    Returns
    -------
    DataFrame
        Indexed by ``conference_name``: ``recordings``, ``recorded_minutes``,
        ``transcription_charge``; largest charge first, then most minutes.

    Examples
    --------
    >>> import pandas as pd
    >>> rec = pd.DataFrame({"recording_id": ["a", "b"], "conference_name": ["eng", "sales"],
    ...                     "recording_duration_ms": [60_000, 120_000]})
    >>> tr = pd.DataFrame({"recording_id": ["a", "x"], "transcription_charge": [0.05, 0.1],
    ...                    "error": [None, None]})
    >>> conference_totals(rec, tr)["transcription_charge"].to_dict()
    {'(unknown)': 0.1, 'eng': 0.05, 'sales': 0.0}
    """
    from .durations import duration_stats

    stats = duration_stats(recordings, by="conference_name")
    out = pd.DataFrame({"recordings": stats["recordings"].astype(int),
                        "recorded_minutes": stats["total_minutes"].astype(float)})
    if transcriptions is None:
        require(recordings, ["transcription_charge"], "conference_totals")
        frame = to_pandas(recordings, ["conference_name", "transcription_charge"])
        charges = frame["transcription_charge"].astype("Float64").fillna(0.0).astype(float) \
            .groupby(frame["conference_name"].to_numpy()).sum()
    else:
        charges = transcription_charges(transcriptions, recordings, by="conference")["charge"]
    out = out.join(charges.rename("transcription_charge"), how="outer")
    out[["recordings"]] = out[["recordings"]].fillna(0).astype(int)
    out = out.fillna({"recorded_minutes": 0.0, "transcription_charge": 0.0})
    out.index = out.index.astype(str)
    out.index.name = "conference_name"
    return out.sort_values(["transcription_charge", "recorded_minutes"], ascending=False,
                           kind="stable")


#: What :func:`top_conferences` can rank by: the column of :func:`conference_totals`.
CONFERENCE_MEASURES = {"cost": "transcription_charge", "minutes": "recorded_minutes",
                       "recordings": "recordings"}


@needs("recordings", "recorded_minutes", "transcription_charge")
def top_conferences(totals: pd.DataFrame, *, by: str = "cost", n: int = 10) -> dict[str, Any]:
    """The ``n`` largest conferences of a :func:`conference_totals` frame by ``by``.

    Conferences whose total is zero, and the :data:`UNKNOWN_CONFERENCE` row, are not ranked.

    Returns
    -------
    dict
        ``totals`` (the top rows, largest first), ``by``, ``conferences`` (how many known
        conferences there are in all) and ``unknown_charge`` (the charges of transcriptions
        with no known conference, 0 when none).

    Examples
    --------
    >>> import pandas as pd
    >>> totals = pd.DataFrame({"recordings": [1, 2, 1], "recorded_minutes": [1.0, 5.0, 2.0],
    ...     "transcription_charge": [0.1, 0.2, 0.0]}, index=["a", "b", "(unknown)"])
    >>> top = top_conferences(totals, by="minutes", n=1)
    >>> list(top["totals"].index), top["conferences"], top["unknown_charge"]
    (['b'], 2, 0.0)
    """
    if by not in CONFERENCE_MEASURES:
        raise ValueError(f"by: {by!r} is not one of {sorted(CONFERENCE_MEASURES)}")
    if n < 1:
        raise ValueError(f"n: {n!r} must be at least 1")
    column = CONFERENCE_MEASURES[by]
    unknown = totals.index == UNKNOWN_CONFERENCE
    known = totals[~unknown]
    ordered = known.sort_values(column, ascending=False, kind="stable")
    ordered = ordered[(ordered[column] > 0).to_numpy(dtype=bool)]
    return {"totals": ordered.head(n), "by": by, "conferences": len(known),
            "unknown_charge": float(totals.loc[unknown, "transcription_charge"].sum())}


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
    (a whole month's charge: Plivo bills storage monthly). The first month is
    :func:`projection_start`: the one holding ``now``, by default the month of the latest
    recording's start, so the same data projects from the same month wherever it is shown.

    Returns
    -------
    DataFrame
        Indexed by the month's first day (naive UTC); ``billed_recordings``,
        ``billed_minutes`` and ``cost``.
    """
    if months < 1:
        raise ValueError(f"months: {months!r} must be at least 1")
    rates = rates or RateCard()
    first = projection_start(recordings, now=now).to_period("M")
    return _storage_by_month(recordings, pd.period_range(first, periods=months, freq="M"),
                             rates)


@needs("recording_duration_ms", "recording_start")
def storage_outlook(recordings: Any, *, rates: RateCard | None = None, months: int = 12,
                    now: Any = None) -> dict[str, Any]:
    """:func:`storage_projection` with what it counted, for a chart and its note.

    Returns
    -------
    dict
        ``months`` (the projection), ``rates``, ``now`` (as given), ``recordings`` (those
        projected: start and duration known) and ``left_out`` (the rest).

    Examples
    --------
    >>> import pandas as pd
    >>> rec = pd.DataFrame({"recording_duration_ms": [60_000, None], "recording_start":
    ...                     pd.to_datetime(["2026-11-02", "2026-11-03"], utc=True)})
    >>> outlook = storage_outlook(rec, months=2)
    >>> outlook["recordings"], outlook["left_out"], len(outlook["months"])
    (1, 1, 2)
    """
    rates = rates or RateCard()
    frame = to_pandas(recordings, ["recording_duration_ms", "recording_start"])
    known = int(len(frame.dropna()))
    return {"months": storage_projection(recordings, rates=rates, months=months, now=now),
            "rates": rates, "now": now, "recordings": known, "left_out": len(frame) - known}


@needs("recording_start")
def projection_start(recordings: Any, *, now: Any = None) -> pd.Timestamp:
    """The first month of a storage projection (its first day, naive UTC).

    The month holding ``now`` when given; otherwise the month of the latest
    ``recording_start`` in the data (a log is projected from its own end, as reconciliation
    judges a log as of its own latest callback), or the current month when there is none.
    One rule, so the report, the Dashboard and a notebook start their projection at the
    same month.

    Examples
    --------
    >>> import pandas as pd
    >>> rec = pd.DataFrame({"recording_start": pd.to_datetime(
    ...     ["2026-10-30 10:00", "2026-11-15 23:00"], utc=True)})
    >>> projection_start(rec).strftime("%Y-%m-%d")
    '2026-11-01'
    >>> projection_start(rec, now="2027-01-20").strftime("%Y-%m-%d")
    '2027-01-01'
    """
    if now is None:
        (latest,) = compute(recordings["recording_start"].max())
        moment = pd.Timestamp.now(tz="UTC") if pd.isna(latest) else utc(latest)
    else:
        moment = utc(now)
    return moment.tz_localize(None).to_period("M").start_time


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
