"""Charts of recordings: how long they last, minutes recorded and billed per day, and what
whole-minute billing adds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from .. import analytics, formatting
from ..config import RateCard
from ._scales import _bars_per_day, _readable_log_axis
from ._style import (
    SERIES_COLORS,
    _axes,
    _headroom,
    _legend_above_bars,
    _money_text,
    _whole_counts,
    look,
)
from ._text import _mark, _no_data, _title

if TYPE_CHECKING:
    from matplotlib.axes import Axes

def draw_duration_distribution(distribution: dict[str, Any], ax: Axes,
                               currency: str = "USD") -> Axes:
    """Histogram of recording durations with the median and p95 marked, from
    :func:`analytics.duration_distribution`."""
    look(ax)
    ax.set_xlabel("Recording duration (minutes)")
    ax.set_ylabel("Recordings")
    _whole_counts(ax.yaxis)
    edges, counts = distribution["edges"], distribution["counts"]
    if len(counts) == 0:
        return _no_data(ax, "recordings")
    if distribution["log"]:
        ax.set_xscale("log")
        _readable_log_axis(ax.xaxis)
    ax.hist(edges[:-1], bins=edges, weights=counts, color=SERIES_COLORS["distribution"],
            edgecolor="none")
    _headroom(ax, counts.max())
    median, p95 = distribution["median_minutes"], distribution["p95_minutes"]
    if median is not None:
        _mark(ax, median, f"median {formatting.number(median)} min", side="left")
    if p95 is not None:
        _mark(ax, p95, f"p95 {formatting.number(p95)} min", style=":", side="right",
              avoid=ax.texts[-1:] if median is not None else ())
    _title(ax, f"Duration of {formatting.counted(distribution['drawn'], 'recording')}")
    return ax


def draw_minutes_per_day(daily: pd.DataFrame, ax: Axes, currency: str = "USD") -> Axes:
    """Recorded and billed minutes per day, side by side, from
    :func:`analytics.minutes_over_time` (``recorded_minutes``, ``billed_minutes``)."""
    look(ax)
    ax.set_ylabel("Minutes per day")
    ax.set_xlabel("Day (UTC, recording start)")
    if daily.empty:
        return _no_data(ax, "recordings")
    recorded = daily["recorded_minutes"].astype(float).to_numpy()
    billed = daily["billed_minutes"].astype(float).to_numpy()
    _bars_per_day(ax, daily.index, [
        (recorded, SERIES_COLORS["recorded"], "Recorded"),
        (billed, SERIES_COLORS["billed"], "Billed (whole minutes)"),
    ])
    _legend_above_bars(ax, float(max(recorded.max(), billed.max())))
    _title(ax, f"{formatting.counted(recorded.sum(), 'minute')} recorded,"
                 f" {formatting.count(billed.sum())} billed")
    return ax


def draw_rounding_overhead(overhead: dict[str, Any], ax: Axes, currency: str = "USD") -> Axes:
    """Minutes billed beyond those recorded, per day, from :func:`analytics.rounding_overhead`;
    the title says the overhead in % of the recorded minutes and in money."""
    look(ax)
    ax.set_ylabel("Minutes billed beyond recorded")
    ax.set_xlabel("Day (UTC, recording start)")
    daily = overhead["by_period"]
    if daily.empty:
        return _no_data(ax, "recordings")
    extra = daily["overhead_minutes"].astype(float).to_numpy()
    _bars_per_day(ax, daily.index, [(extra, SERIES_COLORS["overhead"], None)])
    ax.set_ylim(0, max(float(extra.max()), 1.0) * 1.1)
    money = []
    if overhead.get("transcription_charge") is not None:
        money.append(f"{_money_text(overhead['transcription_charge'], currency)}"
                     " in transcription charges")
    money.append(f"{_money_text(overhead['storage_per_month'], currency)} a month"
                 " in storage")
    _title(ax, f"Whole-minute billing adds {formatting.percent(overhead['overhead_share'])}"
                 f" ({formatting.count(overhead['overhead_minutes'])} min)\n"
                 + ", ".join(money))
    return ax


def plot_duration_distribution(recordings: pd.DataFrame, *, ax: Axes | None = None,
                               log: bool = False, bins: int = 30,
                               marks: bool = True) -> Axes:
    """Histogram of recording durations in minutes, with the median and p95 marked.

    Parameters
    ----------
    recordings
        ``schema.RECORDINGS`` rows (``recording_id``, ``recording_duration_ms``).
    log
        Logarithmic duration axis with log-spaced bins: short and hour-long recordings both show.
    bins
        Number of bins.
    marks
        Draw dashed lines at the median and the 95th percentile.

    Examples
    --------
    >>> import pandas as pd
    >>> from recording_toolkit import schema
    >>> recordings = schema.coerce(pd.DataFrame({"recording_id": ["a", "b"],
    ...                                          "recording_duration_ms": [60_000, 120_000]}),
    ...                            schema.RECORDINGS)
    >>> ax = plot_duration_distribution(recordings, log=True, bins=5)
    >>> ax.get_xscale(), ax.get_xlabel()
    ('log', 'Recording duration (minutes)')
    """
    distribution = analytics.duration_distribution(recordings, bins=bins, log=log)
    if not marks:
        distribution = {**distribution, "median_minutes": None, "p95_minutes": None}
    return draw_duration_distribution(distribution, _axes(ax))


def plot_minutes_per_day(recordings: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Recorded and billed minutes per UTC day of recording start, side by side.

    Billed minutes are whole minutes, rounded up, at least one per recording (``rules``), so
    the gap between the bars is what rounding costs (:func:`plot_rounding_overhead`).
    """
    daily = analytics.minutes_over_time(recordings, "D")
    return draw_minutes_per_day(daily, _axes(ax))


def plot_rounding_overhead(recordings: pd.DataFrame, transcriptions: pd.DataFrame | None = None,
                           *, ax: Axes | None = None, rates: RateCard | None = None) -> Axes:
    """Minutes billed beyond those recorded, per day, with the overhead in % and money.

    ``transcriptions`` (optional) adds what the overhead cost in transcription charges;
    ``rates`` prices it in storage (:func:`analytics.rounding_overhead`).
    """
    rates = rates or RateCard()
    overhead = analytics.rounding_overhead(recordings, transcriptions, rates=rates)
    return draw_rounding_overhead(overhead, _axes(ax), rates.currency)
