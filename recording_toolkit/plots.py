"""Charts of recordings, transcriptions and costs: ``plot_*(frame, *, ax=None, ...) -> Axes``.

Every ``plot_*`` function takes the toolkit's typed frames (``schema.RECORDINGS``,
``schema.TRANSCRIPTIONS`` or ``schema.JOINED``), asks :mod:`recording_toolkit.analytics` for
the figures, and draws them with the matching ``draw_*`` function on ``ax`` when one is given,
otherwise on a new figure; it returns the axes. A ``draw_*`` function only draws what it is given
(an analytics result): it computes no median, share or total of its own, so a chart cannot
disagree with the table beside it. The report and the Dashboard draw the same functions through
:mod:`recording_toolkit.views`. None calls ``plt.show()`` (a notebook shows the figure by
itself) or changes matplotlib's global settings.

The charts are meant to be put in front of people and share one look (:func:`look`, with the
sizes of :data:`STYLE`, set on each chart's own axes): a light grid, no top or right frame
line, text about 10 pt, one palette (Okabe & Ito's, readable by colour-blind viewers and
on light and dark backgrounds). Axis labels carry their units, days are UTC days, numbers in
titles and labels are written by :mod:`recording_toolkit.formatting`, and reference lines
(a median, a published turnaround) are labelled where they are drawn, never in a legend they
could cross. Transcription outcomes have one colour each, the same in every chart
(:data:`OUTCOME_COLORS`). Text and reference lines take the current style's foreground, so the
charts follow a dark style (``plt.style.context("dark_background")``) as well as the default.

An empty selection draws an empty chart that says so, rather than raising: the dashboard filters
can select nothing.

Examples
--------
>>> import pandas as pd
>>> from recording_toolkit import schema
>>> recordings = schema.coerce(pd.DataFrame({
...     "recording_id": ["a", "b", "c"],
...     "recording_duration_ms": [30_000, 95_000, 610_000],
...     "recording_start": pd.to_datetime(["2026-11-23 10:00", "2026-11-23 11:00",
...                                        "2026-11-24 09:00"], utc=True),
... }), schema.RECORDINGS)
>>> ax = plot_minutes_per_day(recordings)
>>> ax.get_ylabel()
'Minutes per day'
>>> [len(c) for c in ax.containers]      # recorded and billed bars, one per day
[2, 2]
"""

from __future__ import annotations

import itertools
import math
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import analytics, formatting
from .analytics.billing import DEFAULT_TOLERANCE
from .config import RateCard

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "OUTCOME_COLORS",
    "OUTCOME_LABELS",
    "SERIES_COLORS",
    "STYLE",
    "draw_billing_differences",
    "draw_charges_per_day",
    "draw_conferences",
    "draw_duration_distribution",
    "draw_minutes_per_day",
    "draw_outcomes",
    "draw_retention",
    "draw_rounding_overhead",
    "draw_storage_projection",
    "draw_turnaround",
    "look",
    "plot_billing_audit",
    "plot_cost_per_day",
    "plot_duration_distribution",
    "plot_minutes_per_day",
    "plot_retention",
    "plot_rounding_overhead",
    "plot_storage_projection",
    "plot_top_conferences",
    "plot_transcription_outcomes",
    "plot_turnaround",
]

#: One colour per transcription outcome (``schema.JOINED["transcription_status"]``), used by
#: every chart and the widgets. Okabe & Ito's palette: distinct for colour-blind viewers and
#: readable on white and on black.
OUTCOME_COLORS: dict[str, str] = {
    "transcribed": "#009E73",    # bluish green
    "failed": "#D55E00",         # vermillion
    "pending": "#E69F00",        # orange
    "not_requested": "#999999",  # grey
    "unknown": "#CC79A7",        # reddish purple
}
#: How outcomes are named on charts.
OUTCOME_LABELS: dict[str, str] = {
    "transcribed": "Transcribed",
    "failed": "Failed",
    "pending": "Pending",
    "not_requested": "Not requested",
    "unknown": "Unknown",
}
#: Colours of the other series (minutes, money, projections).
SERIES_COLORS: dict[str, str] = {
    "recorded": "#0072B2",       # blue
    "billed": "#56B4E9",         # sky blue
    "charge": "#0072B2",
    "expected": "#56B4E9",
    "storage": "#0072B2",
    "distribution": "#0072B2",
    "overhead": "#E69F00",       # orange
    "over": "#D55E00",           # vermillion: charged more than expected
    "under": "#0072B2",          # blue: charged less
    "policy": "#E69F00",         # orange: with a retention policy
    "policy_2": "#009E73",       # bluish green: with a second one
    "policy_3": "#CC79A7",       # reddish purple: a third
}

#: The shared look's sizes, in points: readable at 100 % zoom at 100 dpi. :func:`look` sets
#: them on each chart's own text, so no global setting (``rcParams``) is touched: charts drawn
#: in worker threads at the same time cannot disturb each other or the notebook's settings.
STYLE: dict[str, float] = {
    "title": 11,
    "label": 10,
    "ticks": 9,
    "legend": 9,
}

_DEFAULT_SIZE = (7.0, 4.0)


# Shared helpers ------------------------------------------------------------------------------


def _axes(ax: Axes | None, figsize: tuple[float, float] = _DEFAULT_SIZE) -> Axes:
    """``ax``, or the axes of a new pyplot figure (so a notebook shows it) when None."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new_ax = plt.subplots(figsize=figsize, layout="constrained")
    return new_ax


def look(ax: Axes, *, grid: str = "y") -> Axes:
    """The shared look on ``ax``: a light grid across the value axis ``grid`` (``"x"``,
    ``"y"``, ``"both"`` or ``""``), whose numbers get thousands separators; no top or right
    frame line; the grid behind the data; the text sizes of :data:`STYLE`."""
    from matplotlib.ticker import FuncFormatter

    ax.spines[["top", "right"]].set_visible(False)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=STYLE["ticks"])
    ax.xaxis.label.set_fontsize(STYLE["label"])
    ax.yaxis.label.set_fontsize(STYLE["label"])
    # The value axes (those with a grid) read 8,000, not 8000; dates, money and shares set
    # their own labels after this.
    for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
        if grid in (name, "both"):
            axis.set_major_formatter(FuncFormatter(_plain_number))
    if grid:
        ax.grid(True, axis=grid, color=_ink(ax), alpha=0.12, linewidth=0.8)
    return ax


def _ink(ax: Axes) -> Any:
    """The current style's foreground colour (reference lines and notes follow the theme)."""
    return ax.xaxis.label.get_color()


def _no_data(ax: Axes, what: str) -> Axes:
    """An empty chart that says so: no ticks or grid of a scale with nothing on it."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    ax.text(0.5, 0.5, f"No {what} in this selection", transform=ax.transAxes,
            ha="center", va="center", color=_ink(ax), alpha=0.7)
    _fit_ylabel(ax)
    return ax


def _fit_ylabel(ax: Axes) -> None:
    """The y axis label on two lines when the chart is too short for it on one."""
    label = ax.yaxis.label
    text = label.get_text()
    if not text or "\n" in text:
        return
    figure = ax.figure
    get = getattr(figure.canvas, "get_renderer", None)
    if get is None:
        return
    renderer = get()
    if label.get_window_extent(renderer).height > 0.9 * figure.bbox.height:
        label.set_text(textwrap.fill(text, max(12, len(text) // 2 + 4)))


#: Category labels (failure reasons, conference names) are wrapped at this many characters,
#: to at most this many lines: a long error text must not squeeze the bars off the figure.
_LABEL_WIDTH = 28
_LABEL_LINES = 3


def _wrap_label(label: str) -> str:
    """``label`` on lines of at most :data:`_LABEL_WIDTH` characters, ``…`` past the last."""
    return "\n".join(textwrap.wrap(label, _LABEL_WIDTH, max_lines=_LABEL_LINES,
                                   placeholder=" …")) or label


def _whole_counts(axis: Any) -> None:
    """Ticks on whole numbers only: a count axis of a few recordings shows no 0.5."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(nbins="auto", integer=True, steps=[1, 2, 2.5, 5, 10]))


def _money(currency: str) -> str:
    """The currency as an axis label names it."""
    return currency or "credit"


def _say(text: str) -> str:
    """``text`` as matplotlib shows it literally: a ``$`` would otherwise start mathtext."""
    return text.replace("$", r"\$")


_money_text = formatting.money
_price_text = formatting.price


def _title(ax: Axes, text: str, **options: Any) -> None:
    """The chart's title, shown as written (a ``$`` in an amount starts no mathtext), its
    lines wrapped when the figure is too narrow for them. Set it last: it is measured against
    the chart as laid out."""
    options.setdefault("fontsize", STYLE["title"])
    _fit_ylabel(ax)  # first: a wrapped y label moves the axes, which the title centres on
    _wrap_to_fit(ax, ax.set_title(text, parse_math=False, **options), within=ax.figure)


def _wrap_to_fit(ax: Axes, label: Any, within: Any = None) -> None:
    """Wrap ``label``'s lines, shorter and shorter, until it fits across ``within`` (the
    axes by default)."""
    text = label.get_text()
    chars = max(len(line) for line in text.split("\n"))
    while chars > 20 and _overflows(ax, label, within=within):
        chars = int(chars * 0.85)
        label.set_text("\n".join(textwrap.fill(line, chars) for line in text.split("\n")))


def _money_axis(axis: Any, currency: str) -> None:
    """Tick labels in money (``$1,200``), with as many decimals as the ticks need to be told
    apart and read right (``$0.025``, not ``$0.03``), up to four."""
    from matplotlib.ticker import FuncFormatter

    def tick(value: float, _pos: Any = None) -> str:
        locs = list(axis.get_majorticklocs())
        places = next((d for d in range(5) if all(abs(v - round(v, d)) < 1e-9 for v in locs)),
                      4)
        if places == 1:
            places = 2  # cents: $0.50, not $0.5
        return _say(formatting.money(value, currency, decimals=places))

    axis.set_major_formatter(FuncFormatter(tick))


def _overflows(ax: Axes, text: Any, within: Any = None) -> bool:
    """Whether ``text`` would reach past the left or right side of the axes (or of
    ``within``, e.g. the figure) as they will be laid out."""
    figure = ax.figure
    get = getattr(figure.canvas, "get_renderer", None) or getattr(figure, "_get_renderer", None)
    if get is None:  # a canvas that cannot measure text: keep the side asked for
        return False
    renderer = get()
    engine = figure.get_layout_engine()
    if engine is not None:  # measure against the axes as they will be laid out
        engine.execute(figure)
    box = text.get_window_extent(renderer)
    frame = (within or ax).get_window_extent(renderer)
    return box.x0 < frame.x0 + 2 or box.x1 > frame.x1 - 2


def _mark(ax: Axes, x: float, text: str, *, style: Any = "--", side: str = "right",
          y: float = 0.97, avoid: Sequence[Any] = ()) -> Any:
    """A vertical reference line at ``x``, labelled beside it (``side`` of the line, at
    ``y`` of the axes' height) rather than in a legend it could cross; the label goes to the
    other side when it would not fit there, and a row further in when it would cover one of
    the labels in ``avoid``. Call it once the axis limits are set."""
    from matplotlib.transforms import blended_transform_factory

    ink = _ink(ax)
    ax.axvline(x, color=ink, linestyle=style, linewidth=1)
    where = blended_transform_factory(ax.transData, ax.transAxes)
    # On a patch of the background: a line it has to cross runs behind it, not through it.
    label = ax.text(x, y, "", transform=where, va="top", color=ink, fontsize="small",
                    parse_math=False, bbox={"facecolor": ax.get_facecolor(), "edgecolor": "none",
                                            "pad": 1.0, "alpha": 0.9})
    for place in (side, "left" if side == "right" else "right"):
        label.set_text(f" {text}" if place == "right" else f"{text} ")
        label.set_horizontalalignment("left" if place == "right" else "right")
        if not _overflows(ax, label):
            break
    renderer = ax.figure.canvas.get_renderer() if hasattr(ax.figure.canvas, "get_renderer") \
        else None
    if renderer is not None and avoid:
        step = -0.08 if y > 0.5 else 0.08
        for row in range(1, 4):
            box = label.get_window_extent(renderer)
            if not any(box.overlaps(other.get_window_extent(renderer)) for other in avoid):
                break
            label.set_y(y + row * step)
    return label


#: At most this many labelled days on a per-day chart; up to twice as many days, every other
#: day is labelled, beyond that Mondays (every week or few).
_MAX_DAY_TICKS = 10
#: Per-day charts of fewer days are shown this many days wide, so a lone day's bars stay bars.
_MIN_DAYS_SHOWN = 3


def _bars_in_periods(ax: Axes, starts: np.ndarray, lengths: np.ndarray | float,
                     series: Sequence[tuple[Any, str, str | None]]) -> np.ndarray:
    """Bars for periods of time (date numbers: ``starts``, ``lengths`` in days), the series'
    ``(values, colour, label)`` side by side in the middle 80% of each period, so no bar crosses
    into the next; returns the periods' centres, where their ticks go."""
    ax.xaxis_date()
    width = 0.8 * lengths / len(series)
    for i, (values, colour, label) in enumerate(series):
        ax.bar(starts + 0.1 * lengths + width * i, values, width=width, align="edge",
               color=colour, label=label)
    return starts + 0.5 * lengths


def _bars_per_day(ax: Axes, days: pd.DatetimeIndex,
                  series: Sequence[tuple[Any, str, str]]) -> None:
    """Bars for each UTC day of ``days``, ``(values, colour, label)`` side by side within it.

    The bars of a day fill the middle 80% of it and never cross into the next; the day's
    one tick sits under their middle, labelled with the day (``Wed 25 Nov``; ``25 Nov`` past a
    week), the year beside the axis. Up to ten days (fewer on a narrow chart: as many as fit)
    every day is labelled, up to twice that every other day from the first, beyond that
    Mondays (every week or few); the other days keep an unlabelled tick. With one or two days the axis still spans three, and there are no hour
    ticks: the chart is per day.
    """
    import matplotlib.dates as mdates
    from matplotlib.ticker import FixedLocator

    starts = mdates.date2num(days.to_pydatetime())
    centres = _bars_in_periods(ax, starts, 1.0, series)
    weekday = len(days) <= 7
    # as many labels as fit side by side: about 70 pixels each ("Wed 25 Nov"), 55 ("25 Nov")
    room = ax.figure.get_figwidth() * ax.figure.dpi * 0.75 / (70 if weekday else 55)
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
    ax.xaxis.set_major_locator(FixedLocator(labelled))
    ax.xaxis.set_minor_locator(FixedLocator(np.setdiff1d(centres, labelled)))
    ax.xaxis.set_major_formatter(_day_formatter(weekday=weekday))
    pad = max(0.0, (_MIN_DAYS_SHOWN - len(days)) / 2)
    ax.set_xlim(starts[0] - pad, starts[-1] + 1 + pad)


def _bars_per_month(ax: Axes, months: pd.DatetimeIndex, values: Any) -> None:
    """One bar per calendar month (``months``: their first days), in the middle 80% of it.

    Months are not all as long: each bar is as wide as 80% of its own month. The tick under each bar names its month (``Feb``), with the year under the
    first month and every January (``Dec\\n2026``, ``Jan\\n2027``).
    """
    import matplotlib.dates as mdates
    from matplotlib.ticker import FixedFormatter, FixedLocator

    starts = mdates.date2num(months.to_pydatetime())
    ends = mdates.date2num((months + pd.offsets.MonthBegin(1)).to_pydatetime())
    centres = _bars_in_periods(ax, starts, ends - starts, [(values, SERIES_COLORS["storage"], None)])
    labels = [f"{month:%b}\n{month.year}" if i == 0 or month.month == 1 else f"{month:%b}"
              for i, month in enumerate(months)]
    ax.xaxis.set_major_locator(FixedLocator(centres))
    ax.xaxis.set_major_formatter(FixedFormatter(labels))
    ax.xaxis.set_minor_locator(FixedLocator(ends[:-1]))
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


def _plain_number(value: float, _pos: Any = None) -> str:
    """``value`` as people write it: 0.5, 2, 10, 1,000 (no powers of ten, no exponents)."""
    if value == 0:
        return "0"
    if abs(value) >= 1 and value == round(value):
        return f"{value:,.0f}"
    return f"{value:,.6g}" if abs(value) >= 1e-4 else f"{value:.1e}"


def _readable_log_axis(axis: Any) -> None:
    """A logarithmic ``axis`` whose ticks read 1, 2, 5, 10, 20 (not 1.1x10^1): major ticks
    from :func:`_readable_log_ticks`, plain labels, unlabelled minor ticks."""
    from matplotlib.ticker import FuncFormatter, Locator, NullFormatter

    class ReadableLogLocator(Locator):
        def __call__(self) -> list[float]:
            return self.tick_values(*self.axis.get_view_interval())

        def tick_values(self, vmin: float, vmax: float) -> list[float]:
            return _readable_log_ticks(vmin, vmax)

    axis.set_major_locator(ReadableLogLocator())
    axis.set_major_formatter(FuncFormatter(_plain_number))
    axis.set_minor_formatter(NullFormatter())


def _legend_above_bars(ax: Axes, tallest: float, **options: Any) -> None:
    """A one-row legend in a band left free above the tallest bar.

    With few bars any corner may hold one reaching the top; the band (a quarter of the axes
    height) is where ``loc="best"`` then finds room."""
    ax.set_ylim(0, max(tallest, 1) / 0.75)
    ax.legend(loc="best", ncols=2, frameon=False, fontsize=STYLE["legend"], **options)




def _bar_labels(ax: Axes, bars: Any, labels: Sequence[str], *, inside_from: float = 0.55
                ) -> None:
    """Labels at the end of horizontal bars: inside the long ones (from ``inside_from`` of
    the longest), beside the others, so no label runs off a narrow chart."""
    widths = [patch.get_width() for patch in bars.patches]
    longest = max(widths, default=0) or 1
    ink = _ink(ax)
    for patch, width, label in zip(bars.patches, widths, labels, strict=True):
        inside = width >= inside_from * longest
        y = patch.get_y() + patch.get_height() / 2
        ax.annotate(label, (width, y), xytext=(-4 if inside else 3, 0),
                    textcoords="offset points", ha="right" if inside else "left",
                    va="center", fontsize="small", parse_math=False,
                    color="white" if inside else ink)
    ax.set_xlim(0, longest * 1.02)


def _headroom(ax: Axes, tallest: float, share: float = 0.8) -> None:
    """The y axis from 0 to a little above ``tallest``: a band for the reference lines' labels."""
    ax.set_ylim(0, max(float(tallest), 1.0) / share)


# Drawings: each takes an analytics result, an Axes and the currency, and draws only that ------


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
    _title(ax, f"{formatting.number(recorded.sum(), decimals=0)} minutes recorded,"
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


def draw_charges_per_day(charges: dict[str, Any], ax: Axes, currency: str = "USD") -> Axes:
    """Transcription charges per day of the callback, from :func:`analytics.charges_over_time`."""
    look(ax)
    ax.set_ylabel(f"Transcription charges per day ({_money(currency)})")
    ax.set_xlabel("Day (UTC, transcription received)")
    daily = charges["by_period"]
    if daily.empty:
        return _no_data(ax, "transcription charges")
    _bars_per_day(ax, daily.index, [(daily["charge"].astype(float).to_numpy(),
                                     SERIES_COLORS["charge"], "Charged")])
    _money_axis(ax.yaxis, currency)
    _title(ax, f"{_money_text(charges['total'], currency)} charged for"
                 f" {formatting.count(daily['transcriptions'].sum())} transcriptions")
    return ax


_CONFERENCE_MEASURES = {
    "cost": ("transcription_charge", "Transcription charges ({currency})",
             "transcription charges"),
    "minutes": ("recorded_minutes", "Recorded minutes", "recorded minutes"),
    "recordings": ("recordings", "Recordings", "recordings"),
}


def draw_conferences(top: dict[str, Any], ax: Axes, currency: str = "USD") -> Axes:
    """The top conferences by one measure, largest at the top.

    ``top``: ``totals`` (:func:`analytics.conference_totals`, the conferences to show, in
    order), ``by`` (``"cost"``, ``"minutes"`` or ``"recordings"``) and ``conferences`` (how
    many there are in all).
    """
    column, axis_label, what = _CONFERENCE_MEASURES[top["by"]]
    look(ax, grid="x")
    ax.set_xlabel(axis_label.format(currency=_money(currency)))
    ax.set_ylabel("Conference")
    if top["by"] == "recordings":
        _whole_counts(ax.xaxis)
    totals = top["totals"][column]
    if totals.empty:
        return _no_data(ax, "conferences")
    shown = totals[::-1]  # largest at the top
    names = [name if len(name) <= 32 else name[:31] + "…" for name in shown.index]
    bars = ax.barh(names, shown.astype(float).to_numpy(), color=SERIES_COLORS["charge"])
    if top["by"] == "cost":
        labels = [_money_text(v, currency) for v in shown]
        _money_axis(ax.xaxis, currency)
    elif top["by"] == "minutes":
        labels = [formatting.number(v, decimals=0) for v in shown]
    else:
        labels = [formatting.count(v) for v in shown]
    _bar_labels(ax, bars, labels)
    _title(ax, f"Top {len(shown)} of {formatting.count(top['conferences'])} conferences"
                 f" by {what}")
    return ax


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
    _title(ax, f"Duration of {formatting.count(distribution['drawn'])} recordings")
    return ax


def draw_outcomes(counts: pd.DataFrame, ax: Axes, currency: str = "USD") -> Axes:
    """Recordings per transcription outcome, failures per reason, with count and share, from
    :func:`analytics.outcome_counts`. Failure reasons are wrapped at 28 characters (at most
    three lines), so a long error text leaves the bars and the title room."""
    look(ax, grid="x")
    ax.set_xlabel("Recordings")
    ax.set_ylabel("Transcription outcome")
    _whole_counts(ax.xaxis)
    if counts.empty:
        return _no_data(ax, "recordings")
    rows = counts.iloc[::-1]  # first outcome at the top
    labels = [_wrap_label(label) for label in rows["label"]]
    bars = ax.barh(labels, rows["count"].to_numpy(),
                   color=[OUTCOME_COLORS[outcome] for outcome in rows["outcome"]])
    _bar_labels(ax, bars, [f"{formatting.count(c)} ({formatting.percent(s)})"
                           for c, s in zip(rows["count"], rows["share"], strict=True)])
    # Short: it is centred over the bars, which the (wrapped) outcome labels leave narrow.
    _title(ax, f"Outcomes of {formatting.count(counts['count'].sum())} recordings")
    return ax


def draw_turnaround(distribution: dict[str, Any], ax: Axes, currency: str = "USD", *,
                    log: bool = False) -> Axes:
    """Cumulative share of transcriptions by turnaround, the published marks labelled with
    the share within each, from :func:`analytics.turnaround_distribution`."""
    from matplotlib.ticker import PercentFormatter

    look(ax, grid="both")
    ax.set_xlabel("Minutes from recording end to transcription")
    ax.set_ylabel("Share of transcriptions")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    minutes, cumulative = distribution["minutes"], distribution["cumulative"]
    if log:
        shown = minutes > 0
        minutes, cumulative = minutes[shown], cumulative[shown]
    if len(minutes) == 0:
        return _no_data(ax, "transcriptions")
    # the cumulative shares as analytics gives them, from the share before the first drawn
    before = float(cumulative[0]) - 1 / distribution["count"]
    ax.step(np.concatenate([minutes[:1], minutes]), np.concatenate([[before], cumulative]),
            where="post", color=OUTCOME_COLORS["transcribed"])
    marks = distribution["marks"]
    if log:
        ax.set_xscale("log")
        _readable_log_axis(ax.xaxis)
    else:
        # The long tail would squeeze the part that matters: show up to the 99th percentile,
        # and always a little beyond the last mark, so every mark is on the chart.
        right = max(float(np.quantile(minutes, 0.99)), 1.25 * max(marks, default=0))
        ax.set_xlim(min(0.0, float(minutes[0])), right * 1.02 or 1)
    styles = itertools.cycle(("--", ":", "-.", (0, (1, 4))))
    labels: list[Any] = []
    for mark, share, style in zip(marks, distribution["shares"], styles):  # noqa: B905
        labels.append(_mark(ax, mark, f"{formatting.percent(share)} within {mark:g} min",
                            style=style, y=0.12, avoid=labels))
    ax.set_ylim(0, 1.02)
    _title(ax, f"Turnaround of {formatting.count(distribution['count'])} transcriptions"
                 f" (median {formatting.span(distribution['median_seconds'])})")
    return ax


def draw_billing_differences(audit: dict[str, Any], ax: Axes, currency: str = "USD") -> Axes:
    """Charged minus expected transcription charges per day, from
    :func:`analytics.billing_by_day`: bars above zero are overcharges, below undercharges."""
    look(ax)
    ax.set_ylabel(f"Charged minus expected ({_money(currency)})")
    ax.set_xlabel("Day (UTC, transcription received)")
    daily = audit["by_day"]
    counts = audit["counts"]
    tolerance = _price_text(audit["tolerance"], currency, per="")
    if daily.empty:
        return _no_data(ax, "charged transcriptions")
    difference = daily["difference"].astype(float).to_numpy()
    colours = [SERIES_COLORS["over"] if d > 0 else SERIES_COLORS["under"] for d in difference]
    _bars_per_day(ax, daily.index, [(difference, colours, None)])
    ax.axhline(0, color=_ink(ax), linewidth=0.8)
    _money_axis(ax.yaxis, currency)
    largest = float(np.abs(difference).max())
    span = max(largest, 10 * audit["tolerance"], 0.01) * 1.15
    ax.set_ylim(-span, span)
    if largest == 0:
        _wrap_to_fit(ax, ax.text(
            0.5, 0.62, f"Every day's charges are as expected, to within {tolerance} a"
            " transcription", transform=ax.transAxes, ha="center", va="center",
            color=_ink(ax), fontsize="small", parse_math=False))
    off = counts["mismatches"]
    _title(ax, f"{formatting.count(counts['checked'])} transcriptions checked:"
                 f" {formatting.count(off)} off by more than {tolerance},"
                 f" {_money_text(audit['difference'], currency)} in all")
    return ax


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
    _bars_per_month(ax, months.index, months["cost"].astype(float).to_numpy())
    _money_axis(ax.yaxis, currency)
    total = _money_text(months["cost"].sum(), currency)
    _title(ax, f"{total} over {len(months)} months: {rates.free_storage_days} days free, then"
                 f" {_price_text(rates.storage_per_minute_month, currency, per='')}"
                 " per minute and month")
    return ax


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
                f"Kept {float(plan.keep_days):,g} days")
               for plan, colour in zip(plans, colours, strict=False)]
    import matplotlib.dates as mdates
    from matplotlib.ticker import FixedFormatter, FixedLocator

    index = months.index
    starts = mdates.date2num(index.to_pydatetime())
    ends = mdates.date2num((index + pd.offsets.MonthBegin(1)).to_pydatetime())
    centres = _bars_in_periods(ax, starts, ends - starts, series)
    ax.xaxis.set_major_locator(FixedLocator(centres))
    ax.xaxis.set_major_formatter(FixedFormatter(
        [f"{m:%b}\n{m.year}" if i == 0 or m.month == 1 else f"{m:%b}"
         for i, m in enumerate(index)]))
    ax.xaxis.set_minor_locator(FixedLocator(ends[:-1]))
    ax.set_xlim(starts[0], ends[-1])
    # A band above the tallest bar for the legend (money: no floor of 1 as for counts).
    ax.set_ylim(0, float(before.max()) / 0.75)
    ax.legend(loc="upper left", ncols=len(series), frameon=False, fontsize=STYLE["legend"])
    _money_axis(ax.yaxis, currency)
    totals = [f"{_money_text(before.sum(), currency)} with every recording kept"]
    totals += [f"{_money_text(plan.months['cost_after'].sum(), currency)} keeping"
               f" {float(plan.keep_days):,g} days" for plan in plans]
    _title(ax, f"Storage over {len(months)} months: " + ", ".join(totals))
    return ax


# Charts of frames: analytics, then the drawing ------------------------------------------------


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


def plot_cost_per_day(transcriptions: pd.DataFrame, *, ax: Axes | None = None,
                      currency: str = "USD") -> Axes:
    """Transcription charges per UTC day of the transcription callback.

    ``transcriptions`` is ``schema.TRANSCRIPTIONS`` (``transcription_charge``, ``received_at``).
    """
    charges = analytics.charges_over_time(transcriptions, "D")
    return draw_charges_per_day(charges, _axes(ax), currency)


def plot_top_conferences(joined: pd.DataFrame, *, n: int = 10, by: str = "cost",
                         ax: Axes | None = None, currency: str = "USD") -> Axes:
    """The ``n`` conferences with the highest transcription cost (or minutes, or recordings).

    Parameters
    ----------
    joined
        One row per recording with its transcription (``load.join_recordings``; the columns
        ``conference_name``, ``recording_id``, ``recording_duration_ms`` and
        ``transcription_charge``).
    by
        ``"cost"``, ``"minutes"`` or ``"recordings"``.
    """
    totals = analytics.conference_totals(joined)
    return draw_conferences(analytics.top_conferences(totals, by=by, n=n), _axes(ax),
                                currency)


def plot_transcription_outcomes(frame: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """How many recordings were transcribed, failed (per error text), are pending, ...

    ``frame`` is a joined frame (``transcription_status``, ``transcription_error``: every
    outcome) or a transcriptions frame (``error``: transcribed or failed only). Bars take their
    outcome's colour from :data:`OUTCOME_COLORS`.
    """
    counts = analytics.outcome_counts(frame)
    return draw_outcomes(counts, _axes(ax))


def plot_turnaround(joined: pd.DataFrame, *, ax: Axes | None = None,
                    marks: Sequence[float] = (5, 30), log: bool = False) -> Axes:
    """Cumulative share of transcriptions by turnaround, with the share within each mark.

    Turnaround is the time from the recording's end to its transcription callback. Plivo has
    published two figures for it, "under 5 minutes" and "about 30 minutes": those are the
    default ``marks`` (minutes).
    """
    distribution = analytics.turnaround_distribution(joined, within_minutes=marks)
    return draw_turnaround(distribution, _axes(ax), log=log)


def plot_billing_audit(frame: pd.DataFrame, recordings: pd.DataFrame | None = None, *,
                       ax: Axes | None = None, tolerance: float = DEFAULT_TOLERANCE,
                       currency: str = "USD") -> Axes:
    """Charged minus expected transcription charges, per UTC day of the callback.

    The expected charge is ``transcription_rate`` x billed minutes (whole minutes rounded up,
    at least one) of the recording; a failed transcription is expected to cost nothing
    (:func:`analytics.billing_audit`). A day's bar is the sum of its differences: above zero
    Plivo charged more than expected, below less; the title counts the transcriptions off by
    more than ``tolerance``.

    Parameters
    ----------
    frame
        A transcriptions frame (with ``recordings`` for their exact durations), or a joined
        frame (``load.join_recordings``) alone.

    Examples
    --------
    >>> import pandas as pd
    >>> tr = pd.DataFrame({"recording_id": ["a", "b"], "transcription_rate": [0.05, 0.05],
    ...                    "transcription_charge": [0.10, 0.70], "duration": [90, 600],
    ...                    "error": [None, None], "received_at": pd.to_datetime(
    ...                        ["2026-11-02 10:00", "2026-11-03 10:00"], utc=True)})
    >>> ax = plot_billing_audit(tr)
    >>> ax.get_title()
    '2 transcriptions checked: 1 off by more than $0.005, $0.20 in all'
    """
    audit = analytics.billing_by_day(frame, recordings, tolerance=tolerance)
    return draw_billing_differences(audit, _axes(ax), currency)


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
