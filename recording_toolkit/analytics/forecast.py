"""Forecast: this month's spend so far, where it is heading by month-end, and against last month.

Two kinds of spend, priced as the rest of the analytics price them:

- **transcription**: the ``transcription_charge`` Plivo reported, in the month of the callback
  (``received_at``). Its month-end is projected at the month's run rate: month-to-date spend
  divided by the days elapsed (fractional: ``now`` minus the month's first midnight, in days)
  times the days in the month.
- **storage**: billed once, at the end of the month (Plivo's rule: recordings stored longer than
  the free period at the month-end, every recording assumed kept, priced from the rate card, as
  :func:`.cost.storage_projection` does). Its month-to-date is 0 until the month has ended, and
  its projected month-end is that bill, known in advance; a run rate would be meaningless.

The comparison period is the previous month's first days of the same length (1 to 10 November
against 1 to 10 October 12:00 when ``now`` is 10 November 12:00), cut at the previous month's end
when that month is shorter: the same days of the month hold the same regular events (a month-end
storage bill falls in neither half of a comparison it would distort). The whole previous month
is given too (``previous_month``), to set against the projected month-end.

``now`` defaults to the latest callback in the data (``received_at`` of either frame), as
reconciliation judges a log as of its own latest callback, so a log read later gives the same
forecast.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .. import rules
from ..config import RateCard
from ._common import compute, lookup, needs, require, to_pandas, utc
from .cost import UNKNOWN_CONFERENCE

__all__ = ["FORECAST_CONFERENCE_COLUMNS", "KINDS", "spend_forecast"]

#: The kinds of spend, in the order a forecast gives them.
KINDS = ("transcription", "storage")

#: Columns of the forecast's ``by_conference`` frame.
FORECAST_CONFERENCE_COLUMNS = [
    "transcription_month_to_date", "transcription_previous_period",
    "transcription_projected_month_end", "storage_projected_month_end",
    "month_to_date", "previous_period", "change", "projected_month_end",
]

_RECORDING_COLUMNS = ("recording_id", "conference_name", "recording_duration_ms",
                      "recording_start")
_TRANSCRIPTION_COLUMNS = ["recording_id", "transcription_charge", "received_at"]


def _us(moment: pd.Timestamp) -> np.datetime64:
    """A naive timestamp as numpy microseconds, comparable with the callback times below."""
    return moment.to_datetime64().astype("datetime64[us]")


def _latest_callback(recordings: Any, transcriptions: Any) -> pd.Timestamp:
    """The latest ``received_at`` of either frame (else the latest recording start; else the
    clock)."""
    candidates = [frame["received_at"].max() for frame in (recordings, transcriptions)
                  if "received_at" in frame.columns]
    if not any(not pd.isna(value) for value in compute(*candidates)):
        candidates = [recordings["recording_start"].max()]
    found = [utc(value) for value in compute(*candidates) if not pd.isna(value)]
    return max(found) if found else pd.Timestamp.now(tz="UTC")


def _kind(month_to_date: float, previous_period: float, projected: float | None,
          previous_month: float) -> dict[str, Any]:
    change = month_to_date - previous_period
    return {"month_to_date": month_to_date, "previous_period": previous_period,
            "change": change,
            "change_share": change / previous_period if previous_period > 0 else None,
            "projected_month_end": projected, "previous_month": previous_month}


@needs(*_RECORDING_COLUMNS)
def spend_forecast(recordings: Any, transcriptions: Any, *, now: Any = None,
                   rates: RateCard | None = None) -> dict[str, Any]:
    """Month-to-date spend, its projected month-end and the change against the same days of the
    previous month, per kind (transcription, storage) and per conference (module docstring).

    Parameters
    ----------
    recordings
        ``schema.RECORDINGS`` rows: the conference of each transcription, and storage.
    transcriptions
        ``schema.TRANSCRIPTIONS`` rows (``recording_id``, ``transcription_charge``,
        ``received_at``). Callbacks after ``now`` are not counted; charges with no time are
        counted in ``left_out``, and missing charges as 0.
    now
        The moment of the forecast; by default the latest callback in the data.
    rates
        The rate card, for the storage price and free period.

    Returns
    -------
    dict
        ``now``, ``month`` (its first day, naive UTC), ``elapsed_days``, ``days_in_month``,
        ``previous_period`` (``start`` and ``end``, naive UTC), ``currency``,
        ``kinds`` (per kind: ``month_to_date``, ``previous_period``, ``change``,
        ``change_share`` (None without spend to compare with), ``projected_month_end`` (None
        at the very start of a month), ``previous_month``), ``total`` (the same keys, summed),
        ``by_conference`` (a frame, :data:`FORECAST_CONFERENCE_COLUMNS`, largest projection
        first) and ``left_out`` (transcription callbacks with no time).

    Examples
    --------
    >>> import pandas as pd
    >>> rec = pd.DataFrame({"recording_id": ["a"], "conference_name": ["x"],
    ...     "recording_duration_ms": [60_000],
    ...     "recording_start": pd.to_datetime(["2026-11-01"], utc=True)})
    >>> tr = pd.DataFrame({"recording_id": ["a"], "transcription_charge": [0.05],
    ...     "received_at": pd.to_datetime(["2026-11-03"], utc=True)})
    >>> forecast = spend_forecast(rec, tr, now="2026-11-11")   # 10 days of 30
    >>> round(forecast["kinds"]["transcription"]["projected_month_end"], 6)
    0.15
    """
    require(transcriptions, _TRANSCRIPTION_COLUMNS, "spend_forecast transcriptions")
    rates = rates or RateCard()
    moment = _latest_callback(recordings, transcriptions) if now is None else utc(now)
    naive_now = moment.tz_localize(None)
    month = naive_now.to_period("M")
    month_start, previous_start = month.start_time, (month - 1).start_time
    elapsed = naive_now - month_start
    elapsed_days = elapsed / pd.Timedelta(days=1)
    previous_end = min(previous_start + elapsed, month_start)

    rec = to_pandas(recordings, list(_RECORDING_COLUMNS)).drop_duplicates("recording_id")
    tr = to_pandas(transcriptions, _TRANSCRIPTION_COLUMNS)
    named = rec["conference_name"].astype("string")
    conference = named.mask(named == "").fillna(UNKNOWN_CONFERENCE)
    tr_conference = lookup(tr["recording_id"], rec["recording_id"], conference) \
        .fillna(UNKNOWN_CONFERENCE)
    timed = tr["received_at"].notna().to_numpy(dtype=bool)
    at = tr["received_at"].dt.tz_convert("UTC").dt.tz_localize(None) \
        .to_numpy(dtype="datetime64[us]")
    charge = tr["transcription_charge"].astype("Float64").fillna(0.0).astype(float).to_numpy()

    def charged(start: pd.Timestamp, end: pd.Timestamp, *, inclusive: bool = False
                ) -> np.ndarray:
        after = at >= _us(start)
        upto = _us(end)
        before = at <= upto if inclusive else at < upto
        return np.where(timed & after & before, charge, 0.0)

    tr_mtd = charged(month_start, naive_now, inclusive=True)
    tr_previous = charged(previous_start, previous_end)
    tr_previous_month = charged(previous_start, month_start)
    days_in_month = int(month.days_in_month)
    run_rate = days_in_month / elapsed_days if elapsed_days > 0 else None

    minutes = rules.billed_minutes(rec["recording_duration_ms"].astype("Int64")) \
        .astype("Float64").fillna(0.0).astype(float).to_numpy()
    free_until = (rec["recording_start"].dt.tz_convert("UTC").dt.tz_localize(None)
                  + pd.Timedelta(days=rates.free_storage_days)).to_numpy(dtype="datetime64[us]")

    def storage_bill(period: pd.Period) -> np.ndarray:
        """Each recording's storage bill at the end of ``period`` (NaT start: none)."""
        end = _us(period.end_time)
        return np.where(free_until <= end, minutes * rates.storage_per_minute_month, 0.0)

    storage_now, storage_previous_month = storage_bill(month), storage_bill(month - 1)
    # A month-end bill falls in a period only when the period reaches that month's end.
    storage_previous = storage_previous_month if previous_end >= month_start else \
        np.zeros(len(rec))

    kinds = {
        "transcription": _kind(float(tr_mtd.sum()), float(tr_previous.sum()),
                               float(tr_mtd.sum()) * run_rate if run_rate else None,
                               float(tr_previous_month.sum())),
        "storage": _kind(0.0, float(storage_previous.sum()), float(storage_now.sum()),
                         float(storage_previous_month.sum())),
    }
    projected = [kinds[k]["projected_month_end"] for k in KINDS]
    total = _kind(sum(kinds[k]["month_to_date"] for k in KINDS),
                  sum(kinds[k]["previous_period"] for k in KINDS),
                  None if None in projected else sum(projected),
                  sum(kinds[k]["previous_month"] for k in KINDS))

    by_tr = pd.DataFrame({"transcription_month_to_date": tr_mtd,
                          "transcription_previous_period": tr_previous},
                         index=tr_conference.to_numpy()).groupby(level=0).sum()
    by_rec = pd.DataFrame({"storage_projected_month_end": storage_now,
                           "storage_previous_period": storage_previous},
                          index=conference.to_numpy()).groupby(level=0).sum()
    table = by_tr.join(by_rec, how="outer").fillna(0.0)
    table["transcription_projected_month_end"] = \
        table["transcription_month_to_date"] * run_rate if run_rate else np.nan
    table["month_to_date"] = table["transcription_month_to_date"]
    table["previous_period"] = table["transcription_previous_period"] \
        + table["storage_previous_period"]
    table["change"] = table["month_to_date"] - table["previous_period"]
    table["projected_month_end"] = table["transcription_projected_month_end"] \
        + table["storage_projected_month_end"]
    table = table[FORECAST_CONFERENCE_COLUMNS].sort_values(
        ["projected_month_end", "month_to_date"], ascending=False, kind="stable")
    table.index.name = "conference_name"
    return {"now": moment, "month": month_start, "elapsed_days": float(elapsed_days),
            "days_in_month": days_in_month,
            "previous_period": {"start": previous_start, "end": previous_end},
            "currency": rates.currency, "kinds": kinds, "total": total,
            "by_conference": table, "left_out": int((~timed).sum())}
