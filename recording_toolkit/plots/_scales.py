"""Time and logarithmic axes: bars per UTC day and per calendar month, each within its own
period, with ticks labelled as people read dates; log axes whose ticks read 1, 2, 5, 10."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._style import _plain_number, _root_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: At most this many labelled days on a per-day chart; up to twice as many days, every other
#: day is labelled, beyond that Mondays (every week or few).
_MAX_DAY_TICKS = 10
#: Per-day charts of fewer days are shown this many days wide, so a lone day's bars stay bars.
_MIN_DAYS_SHOWN = 3


def _bars_in_periods(ax: Axes, starts: np.ndarray, lengths: np.ndarray | float,
                     series: Sequence[tuple[Any, Any, str | None]]) -> np.ndarray:
    """Bars for periods of time (date numbers: ``starts``, ``lengths`` in days), the series'
    ``(values, colour, label)`` side by side in the middle 80% of each period, so no bar crosses
    into the next; returns the periods' centres, where their ticks go."""
    ax.xaxis_date()
    width = 0.8 * lengths / len(series)
    for i, (values, colour, label) in enumerate(series):
        ax.bar(starts + 0.1 * lengths + width * i, values, width=width, align="edge",
               color=colour, label=label)
    return starts + 0.5 * lengths


def _bars_per_day(ax: Axes, days: pd.Index,
                  series: Sequence[tuple[Any, Any, str | None]]) -> None:
    """Bars for each UTC day of ``days``, ``(values, colour, label)`` side by side within it.

    The bars of a day fill the middle 80% of it and never cross into the next; the day's
    one tick sits under their middle, labelled with the day (``Wed 25 Nov``; ``25 Nov`` past a
    week), the year beside the axis. Up to ten days (fewer on a narrow chart: as many as fit)
    every day is labelled, up to twice that every other day from the first, beyond that
    Mondays (every week or few); the other days keep an unlabelled tick. With one or two days
    the axis still spans three, and there are no hour ticks: the chart is per day. A series'
    colour may be one per bar.
    """
    import matplotlib.dates as mdates
    from matplotlib.ticker import FixedLocator

    days = pd.DatetimeIndex(days)
    starts = mdates.date2num(days.to_pydatetime())
    centres = _bars_in_periods(ax, starts, 1.0, series)
    weekday = len(days) <= 7
    # as many labels as fit side by side: about 70 pixels each ("Wed 25 Nov"), 55 ("25 Nov")
    figure = _root_figure(ax)
    room = figure.get_figwidth() * figure.dpi * 0.75 / (70 if weekday else 55)
    most = max(3, min(_MAX_DAY_TICKS, int(room)))
    if len(days) <= most:
        labelled = centres
    elif len(days) <= 2 * most:
        labelled = centres[::2]
    else:
        mondays = centres[np.asarray(days.day_of_week) == 0]
        if len(mondays) == 0:  # more than ten days always holds a Monday; kept for safety
            mondays = centres[:1]
        labelled = mondays[::math.ceil(len(mondays) / most)]
    ax.xaxis.set_major_locator(FixedLocator(labelled.tolist()))
    ax.xaxis.set_minor_locator(FixedLocator(np.setdiff1d(centres, labelled).tolist()))
    ax.xaxis.set_major_formatter(_day_formatter(weekday=weekday))
    pad = max(0.0, (_MIN_DAYS_SHOWN - len(days)) / 2)
    ax.set_xlim(starts[0] - pad, starts[-1] + 1 + pad)


def _bars_per_month(ax: Axes, months: pd.DatetimeIndex,
                    series: Sequence[tuple[Any, Any, str | None]]) -> None:
    """Bars for each calendar month (``months``: their first days), the series'
    ``(values, colour, label)`` side by side in the middle 80% of it.

    Months are not all as long: each month's bars are as wide as 80% of its own length. The
    tick under them names the month (``Feb``), with the year under the first month and every
    January (``Dec\\n2026``, ``Jan\\n2027``); a minor tick marks each month's end.
    """
    import matplotlib.dates as mdates
    from matplotlib.ticker import FixedFormatter, FixedLocator

    starts = mdates.date2num(months.to_pydatetime())
    ends = mdates.date2num((months + pd.offsets.MonthBegin(1)).to_pydatetime())
    centres = _bars_in_periods(ax, starts, ends - starts, series)
    labels = [f"{month:%b}\n{month.year}" if i == 0 or month.month == 1 else f"{month:%b}"
              for i, month in enumerate(months)]
    ax.xaxis.set_major_locator(FixedLocator(centres.tolist()))
    ax.xaxis.set_major_formatter(FixedFormatter(labels))
    ax.xaxis.set_minor_locator(FixedLocator(ends[:-1].tolist()))
    ax.set_xlim(starts[0], ends[-1])


def _day_formatter(*, weekday: bool) -> Any:
    """Tick labels of UTC days (``Wed 25 Nov``, or ``25 Nov``); the year(s) as the offset
    text beside the axis, as matplotlib's concise date labels have it."""
    import matplotlib.dates as mdates
    from matplotlib.ticker import Formatter

    class DayFormatter(Formatter):
        ticks: Sequence[float] = ()

        def set_locs(self, locs: Sequence[float]) -> None:
            self.ticks = list(locs)

        def __call__(self, value: float, pos: Any = None) -> str:
            day = mdates.num2date(value)
            return f"{day:%a} {day.day} {day:%b}" if weekday else f"{day.day} {day:%b}"

        def get_offset(self) -> str:
            years = sorted({mdates.num2date(v).year for v in self.ticks})
            return "–".join(dict.fromkeys([str(years[0]), str(years[-1])])) if years else ""

    return DayFormatter()


def _readable_log_ticks(vmin: float, vmax: float) -> list[float]:
    """Tick values for a logarithmic axis from ``vmin`` to ``vmax`` that read as plain numbers.

    1-2-5 in each decade (1, 2, 5, 10, 20, ...); only the powers of ten when that gives more
    than ten ticks; 1-9 when 1-2-5 gives fewer than three; evenly spaced round numbers when
    the range spans less than that (e.g. 11 to 13 minutes).
    """
    from matplotlib.ticker import MaxNLocator

    low, high = sorted((vmin, vmax))
    if not high > 0:
        return []
    low = low if low > 0 else high / 1e3
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)

    def within(subs: Sequence[float]) -> list[float]:
        values = (float(f"{s * 10.0 ** e:.12g}") for e in decades for s in subs)
        return [v for v in values if low <= v <= high]

    ticks = within((1, 2, 5))
    if len(ticks) > 10:
        ticks = within((1,))
        step = math.ceil(len(ticks) / 10)
        ticks = ticks[::step]
    elif len(ticks) < 3:
        ticks = within(range(1, 10))
        if len(ticks) < 3:
            ticks = [v for v in MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10])
                     .tick_values(low, high) if v > 0]
    return ticks


def _readable_log_axis(axis: Any) -> None:
    """A logarithmic ``axis`` whose ticks read 1, 2, 5, 10, 20 (not 1.1x10^1): major ticks
    from :func:`_readable_log_ticks`, plain labels, unlabelled minor ticks."""
    from matplotlib.ticker import FuncFormatter, Locator, NullFormatter

    class ReadableLogLocator(Locator):
        def __call__(self) -> list[float]:
            if self.axis is None:  # not set on an axis yet: nothing to tick
                return []
            return self.tick_values(*self.axis.get_view_interval())

        def tick_values(self, vmin: float, vmax: float) -> list[float]:
            return _readable_log_ticks(vmin, vmax)

    axis.set_major_locator(ReadableLogLocator())
    axis.set_major_formatter(FuncFormatter(_plain_number))
    axis.set_minor_formatter(NullFormatter())
