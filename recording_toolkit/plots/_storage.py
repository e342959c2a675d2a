"""Charts of storage: its projected cost per coming month, and that cost with retention
policies beside keeping every recording."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from .. import analytics, formatting
from ..config import RateCard
from ._scales import _bars_per_month
from ._style import SERIES_COLORS, STYLE, _axes, _money, _money_axis, _money_text, _price_text, look
from ._text import _no_data, _title

if TYPE_CHECKING:
    from matplotlib.axes import Axes

def draw_storage_projection(projection: dict[str, Any], ax: Axes, currency: str = "USD") -> Axes:
    """Projected storage cost per coming month, from :func:`analytics.storage_projection`.

    ``projection``: :func:`analytics.storage_outlook` (``months``, ``rates``,
    ``recordings``)."""
    look(ax)
    rates: RateCard = projection["rates"]
    ax.set_ylabel(f"Storage cost per month ({_money(currency)})")
    ax.set_xlabel("Month")
    months = projection["months"]
    if months.empty or projection["recordings"] == 0:
        return _no_data(ax, "recordings")
    _bars_per_month(ax, months.index,
                    [(months["cost"].astype(float).to_numpy(), SERIES_COLORS["storage"], None)])
    _money_axis(ax.yaxis, currency)
    total = _money_text(months["cost"].sum(), currency)
    _title(ax, f"{total} over {formatting.counted(len(months), 'month')}:"
                 f" {formatting.counted(rates.free_storage_days, 'day')} free, then"
                 f" {_price_text(rates.storage_per_minute_month, currency, per='')}"
                 " per minute and month")
    return ax


def _days(keep_days: Any) -> str:
    """A retention policy's days as its legend and title say them: ``90 days``, ``1 day``."""
    return formatting.counted(keep_days, "day", digits=lambda d: f"{float(d):,g}")


def draw_retention(plans: Sequence[Any], ax: Axes, currency: str = "USD") -> Axes:
    """Storage cost per coming month with every recording kept and with each retention policy,
    side by side, from :func:`analytics.retention_plan` (one plan per policy, all made for the
    same recordings, moment and months; at most three).

    A policy's bars are missing where it costs nothing: a recording deleted before its first
    billed month-end is never billed, so keeping 90 days (the free period) can cost nothing at
    all. The title gives each total over the months, so a zero is read as one."""
    if not plans or len(plans) > 3:
        raise ValueError(f"plans: give one to three retention plans, not {len(plans)}")
    look(ax)
    ax.set_ylabel(f"Storage cost per month ({_money(currency)})")
    ax.set_xlabel("Month-end bill")
    months = plans[0].months
    if any(not plan.months.index.equals(months.index) for plan in plans[1:]):
        raise ValueError("plans: made for different months; make them with the same now and"
                         " months")
    before = months["cost_before"].astype(float).to_numpy()
    if months.empty or not before.any():
        return _no_data(ax, "storage cost")
    colours = [SERIES_COLORS["policy"], SERIES_COLORS["policy_2"], SERIES_COLORS["policy_3"]]
    series = [(before, SERIES_COLORS["storage"], "Every recording kept")]
    series += [(plan.months["cost_after"].astype(float).to_numpy(), colour,
                f"Kept {_days(plan.keep_days)}")
               for plan, colour in zip(plans, colours, strict=False)]
    _bars_per_month(ax, months.index, series)
    # A band above the tallest bar for the legend (money: no floor of 1 as for counts).
    ax.set_ylim(0, float(before.max()) / 0.75)
    ax.legend(loc="upper left", ncols=len(series), frameon=False, fontsize=STYLE["legend"])
    _money_axis(ax.yaxis, currency)
    totals = [f"{_money_text(before.sum(), currency)} with every recording kept"]
    totals += [f"{_money_text(plan.months['cost_after'].sum(), currency)} keeping"
               f" {_days(plan.keep_days)}" for plan in plans]
    _title(ax, f"Storage over {formatting.counted(len(months), 'month')}: "
           + ", ".join(totals))
    return ax


def plot_storage_projection(recordings: pd.DataFrame, *, months: int = 12,
                            rates: RateCard | None = None, now: Any = None,
                            ax: Axes | None = None) -> Axes:
    """Projected recording storage cost for each of the coming ``months`` calendar months.

    A recording is stored free for ``rates.free_storage_days`` days from its start, then costs
    ``rates.storage_per_minute_month`` per rounded minute each month, as long as it is kept.
    The first month holds ``now``, by default the latest recording's start
    (:func:`analytics.projection_start`).
    """
    rates = rates or RateCard()
    result = analytics.storage_outlook(recordings, rates=rates, months=months, now=now)
    return draw_storage_projection(result, _axes(ax), rates.currency)


def plot_retention(recordings: pd.DataFrame, *, keep_days: Sequence[float] = (90,),
                   now: Any = None, rates: RateCard | None = None, months: int = 12,
                   ax: Axes | None = None) -> Axes:
    """Storage cost per coming month with every recording kept and with a "keep N days"
    policy for each of ``keep_days`` (up to three), from :func:`analytics.retention_plan`.

    ``recordings``: the toolkit's recordings frame or the Recording API's objects as a frame
    (see :mod:`recording_toolkit.analytics.retention`); ``now``: when the policies start
    (default: the current time).
    """
    rates = rates or RateCard()
    moment = pd.Timestamp.now(tz="UTC") if now is None else now
    plans = [analytics.retention_plan(recordings, keep_days=days, now=moment, rates=rates,
                                      months=months) for days in keep_days]
    return draw_retention(plans, _axes(ax), rates.currency)
