"""Retention: which recordings a "keep N days" policy deletes, and what it saves in storage.

Plivo stores a recording free for 90 days (the rate card's ``free_storage_days``), then bills
it on the last day of each month at whose end it has been stored longer than that, per rounded
minute; a recording deleted before its first billed month-end costs nothing. So the cost of a
recording at a month-end is its monthly price when its free period has ended by then and it has
not been deleted by then (the same month-end rule :func:`.cost.storage_projection` applies).

Two frames serve, one row per recording:

- the toolkit's recordings frame (``schema.RECORDINGS``): ``recording_start`` and
  ``recording_duration_ms``, priced from the rate card;
- the Recording API's objects as a frame: ``add_time`` (text with its UTC offset, as Plivo
  sends it, or times) and ``recording_duration_ms`` or ``rounded_recording_duration``
  (seconds, in 60 s steps), with ``recording_storage_rate`` and
  ``monthly_recording_storage_amount`` when present.

``recording_id`` is needed; ``conference_name`` and ``recording_end`` are used when present.
Age counts from ``add_time`` (else ``recording_start``). Days are UTC days.

Examples
--------
>>> import pandas as pd
>>> from recording_toolkit.config import RateCard
>>> rec = pd.DataFrame({"recording_id": ["old", "new"], "recording_duration_ms": [60_000] * 2,
...                     "recording_start": pd.to_datetime(["2026-01-01", "2026-03-01"],
...                                                       utc=True)})
>>> plan = retention_plan(rec, keep_days=30, now="2026-03-10", months=2,
...                       rates=RateCard(storage_per_minute_month=0.01))
>>> plan.recordings, list(plan.to_delete["recording_id"])
(1, ['old'])
>>> plan.months[["cost_before", "cost_after"]].values.tolist()   # 'old' billed from April
[[0.0, 0.0], [0.01, 0.0]]
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from .. import rules
from ..config import RateCard
from ._common import needs, to_pandas, utc
from .cost import UNKNOWN_CONFERENCE

__all__ = ["CONFERENCE_COLUMNS", "MONTH_COLUMNS", "PLAN_COLUMNS", "RetentionPlan", "retention_plan"]

#: Columns of :attr:`RetentionPlan.months`.
MONTH_COLUMNS = ["billed_recordings_before", "billed_recordings_after", "cost_before",
                 "cost_after", "cost_after_once", "saving"]

#: Columns of :attr:`RetentionPlan.by_conference`.
CONFERENCE_COLUMNS = ["recordings", "minutes", "billed_minutes", "cost_before", "cost_after",
                      "saving"]

#: Columns of :attr:`RetentionPlan.to_delete` (beside the frame's own, which are kept).
PLAN_COLUMNS = ["age_days", "billed_minutes", "monthly_cost", "price_source"]

_TIMES = ("add_time", "recording_start")
_DURATIONS = ("recording_duration_ms", "rounded_recording_duration")
_MAIN = ("recording_id", "recording_duration_ms", "recording_start")
_ALTERNATIVES = [option for option in (("recording_id", d, t) for t in _TIMES for d in _DURATIONS)
                 if option != _MAIN]


@dataclass(frozen=True)
class RetentionPlan:
    """What :func:`retention_plan` found.

    Attributes
    ----------
    to_delete
        The recordings that go (the frame's rows and columns, oldest first) with
        ``age_days``, ``billed_minutes`` (rounded), ``monthly_cost`` (once billed) and
        ``price_source`` (``"api"`` or ``"rate card"``).
    recordings, minutes, billed_minutes
        How many go, their recorded minutes and their rounded (billed) minutes.
    months
        One row per coming month-end (indexed by the month's first day, naive UTC):
        :data:`MONTH_COLUMNS`. ``cost_before`` keeps every recording; ``cost_after`` applies
        the policy now and keeps applying it (every other recording is deleted when it turns
        ``keep_days`` old); ``cost_after_once`` deletes only today's recordings and keeps the
        rest for ever; ``saving`` is ``cost_before - cost_after``.
    by_conference
        Per conference (``(unknown)`` for none): :data:`CONFERENCE_COLUMNS`, the costs summed
        over the months.
    saving
        ``cost_before - cost_after`` summed over the months.
    monthly_cost_before, monthly_cost_after
        The coming month-end's bill without and with the policy.
    price_source
        ``"api"`` (every price from ``monthly_recording_storage_amount`` or
        ``recording_storage_rate``), ``"rate card"`` or ``"mixed"``.
    left_out
        Rows that could not be planned (``recording_id`` and ``reason``): no usable time or
        duration. They are never in ``to_delete``.
    keep_days, now, rates
        What the plan was made with.
    """

    to_delete: pd.DataFrame
    recordings: int
    minutes: float
    billed_minutes: float
    months: pd.DataFrame
    by_conference: pd.DataFrame
    saving: float
    monthly_cost_before: float
    monthly_cost_after: float
    price_source: str
    left_out: pd.DataFrame
    keep_days: float
    now: pd.Timestamp
    rates: RateCard

    def as_dict(self) -> dict[str, Any]:
        """The headline figures as plain values (for a JSON summary)."""
        return {"keep_days": self.keep_days, "now": self.now.isoformat(),
                "recordings": self.recordings, "minutes": self.minutes,
                "billed_minutes": self.billed_minutes,
                "monthly_storage_cost_before": self.monthly_cost_before,
                "monthly_storage_cost_after": self.monthly_cost_after,
                "saving": self.saving, "price_source": self.price_source,
                "currency": self.rates.currency, "left_out": len(self.left_out),
                "months": [{"month": cast(pd.Timestamp, month).strftime("%Y-%m"),
                            "cost_before": float(row.cost_before),
                            "cost_after": float(row.cost_after)}
                           for month, row in self.months.iterrows()]}


def _times(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(values):
        out = pd.to_datetime(values, utc=True)
    else:
        out = pd.to_datetime(values.astype("string"), utc=True, errors="coerce",
                             format="ISO8601")
    return out.astype("datetime64[us, UTC]")


def _numbers(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    return pd.to_numeric(frame[column], errors="coerce").astype("Float64").astype(float)


@needs(*_MAIN, alternatives=_ALTERNATIVES)
def retention_plan(recordings: Any, *, keep_days: float, now: Any = None,
                   rates: RateCard | None = None, months: int = 12) -> RetentionPlan:
    """Plan a "keep ``keep_days`` days" policy: which recordings go now and what it saves.

    A recording goes when it has ended (``recording_end``, else its ``add_time``, else
    ``recording_start`` plus its duration, is at or before ``now``) and is at least
    ``keep_days`` days old (``now`` minus ``add_time``, else ``recording_start``), so
    ``keep_days=0`` selects every recording that has ended.

    Prices per recording and month-end: ``monthly_recording_storage_amount`` when above 0 (Plivo
    leaves it 0 until the first billed month-end), else ``recording_storage_rate`` times the
    rounded minutes, else the rate card's ``storage_per_minute_month`` times the rounded
    minutes. Rounded minutes are ``rounded_recording_duration / 60`` when present, as Plivo
    gives it (its Recording object's example prices 3,456 rounded seconds at 57.6 minutes:
    0.02304 at 0.0004), else :func:`recording_toolkit.rules.billed_minutes` of
    ``recording_duration_ms`` (whole minutes, rounded up, one at least), as
    :func:`.cost.storage_projection` counts them. Recordings added after ``now`` are not foreseen.

    Parameters
    ----------
    recordings
        One row per recording (see the module docstring for the columns).
    keep_days
        Days a recording is kept (0 or more; fractions allowed).
    now
        The moment the plan is made for; the current time by default (a plan is made to be
        applied).
    rates
        The rate card: ``free_storage_days``, and the price where the frame has none.
    months
        How many month-ends to price, starting with the end of the month holding ``now``.

    Returns
    -------
    RetentionPlan
    """
    if not isinstance(keep_days, numbers.Real) or isinstance(keep_days, bool) \
            or not np.isfinite(keep_days) or keep_days < 0:
        raise ValueError(f"keep_days: {keep_days!r} must be a number of days, 0 or more")
    if months < 1:
        raise ValueError(f"months: {months!r} must be at least 1")
    rates = rates or RateCard()
    moment = pd.Timestamp.now(tz="UTC") if now is None else utc(now)
    frame = to_pandas(recordings).reset_index(drop=True)

    time_column = "add_time" if "add_time" in frame.columns else "recording_start"
    base = _times(frame[time_column])
    if time_column == "add_time" and "recording_start" in frame.columns:
        base = base.fillna(_times(frame["recording_start"]))
    duration_ms = _numbers(frame, "recording_duration_ms")
    rounded_s = _numbers(frame, "rounded_recording_duration")
    billed = (rounded_s / 60).where(rounded_s > 0)
    from_ms = duration_ms.dropna()
    billed = billed.fillna(rules.billed_minutes(np.ceil(from_ms)).astype(float))
    reason = pd.Series(pd.NA, index=frame.index, dtype="string")
    reason = reason.mask(billed.isna(), "no usable recording_duration_ms or"
                                        " rounded_recording_duration")
    reason = reason.mask(base.isna(), f"no usable {time_column}")
    usable = reason.isna().to_numpy(dtype=bool)
    left_out = pd.DataFrame({"recording_id": frame["recording_id"][~usable],
                             "reason": reason[~usable]}).reset_index(drop=True)

    frame, base, billed = frame[usable], base[usable], billed[usable]
    duration_ms, rounded_s = duration_ms[usable], rounded_s[usable]
    minutes = (duration_ms / 60_000).fillna(rounded_s / 60)

    amount = _numbers(frame, "monthly_recording_storage_amount")
    rate = _numbers(frame, "recording_storage_rate")
    from_api = (amount > 0) | rate.notna()
    monthly = amount.where(amount > 0, rate * billed) \
        .fillna(billed * rates.storage_per_minute_month)
    source = pd.Series(np.where(from_api, "api", "rate card"), index=frame.index)
    sources = set(source)
    price_source = "mixed" if len(sources) > 1 else (sources.pop() if sources else "rate card")

    if "recording_end" in frame.columns:
        end = _times(frame["recording_end"])
    else:
        end = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]")
    if time_column == "add_time":
        end = end.fillna(base)
    end = end.fillna(base + pd.to_timedelta(minutes.fillna(0) * 60, unit="s"))
    keep = pd.Timedelta(days=float(keep_days))
    age = moment - base
    goes = ((end <= moment) & (age >= keep)).to_numpy(dtype=bool)

    # When each recording is deleted: now if it goes; otherwise, with the policy kept, once it
    # is keep_days old (and has ended), and never when the policy is applied only once.
    def naive(times: pd.Series) -> np.ndarray:
        return times.dt.tz_localize(None).to_numpy(dtype="datetime64[us]")

    at_now = np.datetime64(moment.tz_localize(None).to_datetime64(), "us")
    deleted = np.where(goes, at_now, np.maximum(naive(base + keep), naive(end)))
    deleted_once = np.where(goes, at_now, np.datetime64("9999-12-31", "us"))
    free_until = naive(base + pd.Timedelta(days=rates.free_storage_days))
    prices = monthly.to_numpy(dtype=float)

    periods = pd.period_range(moment.tz_localize(None).to_period("M"), periods=months, freq="M")
    conference = (frame["conference_name"].astype("string").replace("", pd.NA)
                  .fillna(UNKNOWN_CONFERENCE) if "conference_name" in frame.columns
                  else pd.Series(UNKNOWN_CONFERENCE, index=frame.index, dtype="string"))
    rows, before_total, after_total = [], np.zeros(len(frame)), np.zeros(len(frame))
    for period in periods:
        month_end = np.datetime64(period.end_time.to_datetime64(), "us")
        billed_at_end = free_until <= month_end
        before = billed_at_end
        after = billed_at_end & (deleted > month_end)
        once = billed_at_end & (deleted_once > month_end)
        before_total += np.where(before, prices, 0.0)
        after_total += np.where(after, prices, 0.0)
        cost_before, cost_after = float(prices[before].sum()), float(prices[after].sum())
        rows.append((int(before.sum()), int(after.sum()), cost_before, cost_after,
                     float(prices[once].sum()), cost_before - cost_after))
    by_month = pd.DataFrame(rows, columns=MONTH_COLUMNS, index=periods.start_time)
    by_month.index.name = "month"

    going = pd.DataFrame({"conference": conference.to_numpy(), "goes": goes.astype(int),
                          "minutes": np.where(goes, minutes.fillna(0.0), 0.0),
                          "billed_minutes": np.where(goes, billed, 0.0),
                          "cost_before": before_total, "cost_after": after_total})
    per_conference = going.groupby("conference", sort=True).sum()
    per_conference = per_conference.rename(columns={"goes": "recordings"})
    per_conference["saving"] = per_conference["cost_before"] - per_conference["cost_after"]
    per_conference = per_conference[CONFERENCE_COLUMNS]
    per_conference.index.name = "conference_name"

    to_delete = frame[goes].copy()
    to_delete["age_days"] = (age[goes] / pd.Timedelta(days=1)).astype(float)
    to_delete["billed_minutes"] = billed[goes]
    to_delete["monthly_cost"] = monthly[goes]
    to_delete["price_source"] = source[goes]
    to_delete = to_delete.sort_values("age_days", ascending=False, kind="stable") \
        .reset_index(drop=True)
    return RetentionPlan(
        to_delete=to_delete, recordings=int(goes.sum()),
        minutes=float(minutes[goes].fillna(0.0).sum()),
        billed_minutes=float(billed[goes].sum()), months=by_month, by_conference=per_conference,
        saving=float(by_month["saving"].sum()),
        monthly_cost_before=float(by_month["cost_before"].iloc[0]),
        monthly_cost_after=float(by_month["cost_after"].iloc[0]), price_source=price_source,
        left_out=left_out, keep_days=keep_days, now=moment, rates=rates)
