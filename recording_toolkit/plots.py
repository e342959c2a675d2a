"""Charts of recordings, transcriptions and costs: ``plot_*(frame, *, ax=None, ...) -> Axes``.

Every function takes the toolkit's typed frames (``schema.RECORDINGS``, ``schema.TRANSCRIPTIONS``
or ``schema.JOINED``), draws on ``ax`` when one is given and otherwise on a new figure, and returns
the axes. None calls ``plt.show()`` (a notebook shows the figure by itself) or changes
matplotlib's global settings.

The charts are meant to be put in front of people: axis labels carry their units, days are UTC
days, and colours come from one palette (Okabe & Ito's, readable by colour-blind viewers and on
both light and dark backgrounds). Transcription outcomes have one colour each, the same in every
chart (:data:`OUTCOME_COLORS`). Text and reference lines take the current style's foreground, so
the charts follow a dark style (``plt.style.context("dark_background")``) as well as the default.

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

from . import analytics
from .analytics.billing import DEFAULT_TOLERANCE
from .config import RateCard

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "OUTCOME_COLORS",
    "OUTCOME_LABELS",
    "SERIES_COLORS",
    "plot_billing_audit",
    "plot_cost_per_day",
    "plot_duration_distribution",
    "plot_minutes_per_day",
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


def _ink(ax: Axes) -> Any:
    """The current style's foreground colour (reference lines and notes follow the theme)."""
    return ax.xaxis.label.get_color()


def _no_data(ax: Axes, what: str) -> Axes:
    ax.text(0.5, 0.5, f"No {what} in this selection", transform=ax.transAxes,
            ha="center", va="center", color=_ink(ax), alpha=0.7)
    return ax


def _require(frame: pd.DataFrame, columns: Sequence[str], chart: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{chart}: the frame has no column(s) {missing}; "
                         f"it has {list(frame.columns)}")


#: Category labels (failure reasons, conference names) are wrapped at this many characters,
#: to at most this many lines: a long error text must not squeeze the bars off the figure.
_LABEL_WIDTH = 28
_LABEL_LINES = 3


def _wrap_label(label: str) -> str:
    """``label`` on lines of at most :data:`_LABEL_WIDTH` characters, ``…`` past the last."""
    return "\n".join(textwrap.wrap(label, _LABEL_WIDTH, max_lines=_LABEL_LINES,
                                   placeholder=" …")) or label


def _share(part: int, whole: int) -> str:
    """``part / whole`` as a whole percentage; "<1%" rather than "0%" for a few of many."""
    share = part / whole
    return "<1%" if 0 < share < 0.005 else f"{share:.0%}"


def _whole_counts(axis: Any) -> None:
    """Ticks on whole numbers only: a count axis of a few recordings shows no 0.5."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 2.5, 5, 10]))


def _money(currency: str) -> str:
    return currency or "credit"


def _fill_days(per_day: pd.Series) -> pd.Series:
    """``per_day`` (indexed by day) with every day between the first and last, 0 when none."""
    full = pd.date_range(per_day.index.min(), per_day.index.max(), freq="D")
    return per_day.reindex(full, fill_value=0)


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
    week), the year beside the axis. Up to ten days every day is labelled, up to twenty every
    other day from the first, beyond that Mondays (every week or few); the other days keep an
    unlabelled tick. With one or two days the axis still spans three, and there are no hour
    ticks: the chart is per day.
    """
    import matplotlib.dates as mdates
    from matplotlib.ticker import FixedLocator

    starts = mdates.date2num(days.to_pydatetime())
    centres = _bars_in_periods(ax, starts, 1.0, series)
    if len(days) <= _MAX_DAY_TICKS:
        labelled = centres
    elif len(days) <= 2 * _MAX_DAY_TICKS:
        labelled = centres[::2]
    else:
        mondays = centres[np.asarray(days.day_of_week) == 0]
        if len(mondays) == 0:  # more than ten days always holds a Monday; kept for safety
            mondays = centres[:1]
        labelled = mondays[::math.ceil(len(mondays) / _MAX_DAY_TICKS)]
    ax.xaxis.set_major_locator(FixedLocator(labelled))
    ax.xaxis.set_minor_locator(FixedLocator(np.setdiff1d(centres, labelled)))
    ax.xaxis.set_major_formatter(_day_formatter(weekday=len(days) <= 7))
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
    if value >= 1 and value == round(value):
        return f"{value:,.0f}"
    return f"{value:.6g}" if value >= 1e-4 else f"{value:.1e}"


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
    height) is where ``loc="best"`` then finds room. The legend's frame takes the axes
    colour, so a reference line passing under it does not cross its text, on any style.
    """
    ax.set_ylim(0, max(tallest, 1) / 0.75)
    ax.legend(loc="best", ncols=2, framealpha=0.9, edgecolor="none", **options)


# The figures a chart shows come from recording_toolkit.analytics (one place for each); these
# helpers only shape them for drawing.


def _duration_minutes(recordings: pd.DataFrame) -> pd.Series:
    """Each recording's duration in minutes, from ``recording_duration_ms`` (else seconds)."""
    ms = recordings["recording_duration_ms"].astype("Float64")
    if "recording_duration" in recordings.columns:
        ms = ms.fillna(recordings["recording_duration"].astype("Float64") * 1000)
    return (ms / 60_000).dropna().astype(float)


def _minutes_per_day(recordings: pd.DataFrame) -> pd.DataFrame:
    """Recorded (exact) and billed (whole, rounded up, at least one) minutes per UTC day."""
    daily = analytics.minutes_over_time(recordings, "D")
    return daily[["recorded_minutes", "billed_minutes"]].astype(float)


def _charge_per_day(transcriptions: pd.DataFrame) -> pd.Series:
    charged = transcriptions.dropna(subset=["transcription_charge", "received_at"])
    if charged.empty:
        return pd.Series(dtype=float)
    if "error" not in charged.columns:  # only the charges matter here
        charged = charged.assign(error=pd.NA)
    if "recording_id" not in charged.columns:
        charged = charged.assign(recording_id=pd.NA)
    daily = analytics.transcription_charges(charged, by="day")["charge"]
    return _fill_days(daily.astype(float))


def _joined_parts(joined: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A joined frame as the (transcriptions, recordings) pair the analytics take."""
    has_callback = joined["transcription_status"].isin(["transcribed", "failed"]) \
        if "transcription_status" in joined.columns else joined["transcription_charge"].notna()
    rows = joined[has_callback.fillna(False).to_numpy(dtype=bool)]
    transcriptions = pd.DataFrame({
        "recording_id": rows["recording_id"],
        "transcription_rate": rows["transcription_rate"],
        "transcription_charge": rows["transcription_charge"],
        "duration": pd.array([pd.NA] * len(rows), dtype="Int64"),
        "error": rows["transcription_error"],
    })
    return transcriptions, joined


def _per_conference(joined: pd.DataFrame, by: str) -> pd.Series:
    named = joined[joined["conference_name"].notna().to_numpy(dtype=bool)]
    if named.empty:
        return pd.Series(dtype=float)
    stats = analytics.duration_stats(named, by="conference_name")
    if by == "cost":
        transcriptions, recordings = _joined_parts(named)
        charges = analytics.transcription_charges(transcriptions, recordings, by="conference")
        totals = charges["charge"].reindex(stats.index, fill_value=0.0)
    elif by == "minutes":
        totals = stats["total_minutes"]
    else:
        totals = stats["recordings"]
    totals = totals.astype(float)
    totals.index = totals.index.astype(str)
    return totals.sort_values(ascending=False, kind="stable")


def _outcome_counts(frame: pd.DataFrame) -> list[tuple[str, str, int]]:
    """``(outcome, label, count)`` per outcome, failures split by their error text."""
    return [(o, label, int(n)) for o, label, n in
            analytics.outcome_counts(frame).itertuples(index=False)]


def _turnaround_minutes(joined: pd.DataFrame) -> pd.Series:
    """Minutes from recording end to transcription callback, where both are known."""
    return analytics.turnaround_seconds(joined) / 60


def _is_audit(frame: pd.DataFrame) -> bool:
    """Whether ``frame`` is already :func:`analytics.billing_audit`'s result."""
    return "expected_charge" in frame.columns


def _billing_audit(frame: pd.DataFrame, tolerance: float | None) -> pd.DataFrame:
    """Per transcription: the expected charge (rate x billed minutes; nothing for a failed
    transcription), the charged one, and whether they differ by more than ``tolerance``
    (None: an audit frame's own ``mismatch``, else the analytics' default tolerance)."""
    if _is_audit(frame):
        audit = frame
    elif "recording_duration_ms" in frame.columns:
        audit = analytics.billing_audit(*_joined_parts(frame))
    else:
        audit = analytics.billing_audit(frame)
    out = pd.DataFrame({"expected": audit["expected_charge"].astype("Float64"),
                        "charged": audit["transcription_charge"].astype("Float64")})
    keep = out.notna().all(axis=1).to_numpy(dtype=bool)
    out = out[keep].astype(float)
    if tolerance is None and "mismatch" in audit.columns:
        off = audit["mismatch"][keep].astype(bool).to_numpy()
    else:
        limit = DEFAULT_TOLERANCE if tolerance is None else tolerance
        off = ((out["charged"] - out["expected"]).abs() > limit).to_numpy()
    return out.assign(mismatch=off)


def _storage_projection(recordings: pd.DataFrame, *, months: int, rates: RateCard,
                        now: pd.Timestamp) -> pd.Series:
    """Storage cost of each coming calendar month (after each recording's free days)."""
    return analytics.storage_projection(recordings, rates=rates, months=months, now=now)["cost"]


# Charts ------------------------------------------------------------------------------------


def plot_duration_distribution(recordings: pd.DataFrame, *, ax: Axes | None = None,
                               log: bool = False, bins: int = 30,
                               marks: bool = True) -> Axes:
    """Histogram of recording durations in minutes, with the median and p95 marked.

    Parameters
    ----------
    recordings
        ``schema.RECORDINGS`` rows (``recording_duration_ms``; seconds when ms is missing).
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
    >>> recordings = schema.coerce(pd.DataFrame({"recording_duration_ms": [60_000, 120_000]}),
    ...                            schema.RECORDINGS)
    >>> ax = plot_duration_distribution(recordings, log=True, bins=5)
    >>> ax.get_xscale(), ax.get_xlabel()
    ('log', 'Recording duration (minutes)')
    """
    _require(recordings, ["recording_duration_ms"], "plot_duration_distribution")
    ax = _axes(ax)
    ax.set_xlabel("Recording duration (minutes)")
    ax.set_ylabel("Recordings")
    _whole_counts(ax.yaxis)
    minutes = _duration_minutes(recordings)
    if log:
        minutes = minutes[minutes > 0]
    if minutes.empty:
        return _no_data(ax, "recordings")
    if log:
        low, high = minutes.min(), minutes.max()
        edges = np.geomspace(low, high if high > low else low * 10, bins + 1)
        ax.set_xscale("log")
        _readable_log_axis(ax.xaxis)
    else:
        edges = bins
    counts, _, _ = ax.hist(minutes, bins=edges, color=SERIES_COLORS["distribution"],
                           edgecolor="none")
    if marks:
        for q, style in ((0.5, "--"), (0.95, ":")):
            value = float(minutes.quantile(q))
            name = "median" if q == 0.5 else "p95"
            ax.axvline(value, color=_ink(ax), linestyle=style, linewidth=1,
                       label=f"{name} {value:.1f} min")
        _legend_above_bars(ax, float(counts.max()))
    ax.set_title(f"Duration of {len(minutes):,} recordings")
    return ax


def plot_minutes_per_day(recordings: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Recorded and billed minutes per UTC day of recording start, side by side.

    Billed minutes are whole minutes, rounded up, at least one per recording (``rules``), so
    the gap between the bars is what rounding costs.
    """
    _require(recordings, ["recording_duration_ms", "recording_start"], "plot_minutes_per_day")
    ax = _axes(ax)
    ax.set_ylabel("Minutes per day")
    ax.set_xlabel("Day (UTC, recording start)")
    daily = _minutes_per_day(recordings)
    if daily.empty:
        return _no_data(ax, "recordings")
    _bars_per_day(ax, daily.index, [
        (daily["recorded_minutes"].to_numpy(), SERIES_COLORS["recorded"], "Recorded"),
        (daily["billed_minutes"].to_numpy(), SERIES_COLORS["billed"], "Billed (whole minutes)"),
    ])
    _legend_above_bars(ax, float(daily.to_numpy().max()))
    return ax


def plot_cost_per_day(transcriptions: pd.DataFrame, *, ax: Axes | None = None,
                      currency: str = "USD") -> Axes:
    """Transcription charges per UTC day of the transcription callback.

    ``transcriptions`` is ``schema.TRANSCRIPTIONS`` (``transcription_charge``, ``received_at``).
    """
    _require(transcriptions, ["transcription_charge", "received_at"], "plot_cost_per_day")
    ax = _axes(ax)
    ax.set_ylabel(f"Transcription charge per day ({_money(currency)})")
    ax.set_xlabel("Day (UTC, transcription received)")
    daily = _charge_per_day(transcriptions)
    if daily.empty:
        return _no_data(ax, "transcription charges")
    _bars_per_day(ax, daily.index, [(daily.to_numpy(), SERIES_COLORS["charge"], "Charged")])
    ax.set_title(f"Transcription charges: {daily.sum():,.2f} {_money(currency)} in all")
    return ax


_CONFERENCE_MEASURES = {
    "cost": "Transcription charge ({currency})",
    "minutes": "Recorded minutes",
    "recordings": "Recordings",
}


def plot_top_conferences(joined: pd.DataFrame, *, n: int = 10, by: str = "cost",
                         ax: Axes | None = None, currency: str = "USD") -> Axes:
    """The ``n`` conferences with the highest transcription cost (or minutes, or recordings).

    Parameters
    ----------
    joined
        One row per recording with its transcription (``load.join_recordings``; the columns
        ``conference_name``, ``recording_duration_ms`` and ``transcription_charge``).
    by
        ``"cost"``, ``"minutes"`` or ``"recordings"``.
    """
    if by not in _CONFERENCE_MEASURES:
        raise ValueError(f"by: {by!r} is not one of {sorted(_CONFERENCE_MEASURES)}")
    if n < 1:
        raise ValueError(f"n: {n!r} must be at least 1")
    needed = {"cost": "transcription_charge", "minutes": "recording_duration_ms",
              "recordings": "recording_id"}[by]
    _require(joined, ["conference_name", needed], "plot_top_conferences")
    ax = _axes(ax)
    label = _CONFERENCE_MEASURES[by].format(currency=_money(currency))
    ax.set_xlabel(label)
    if by == "recordings":
        _whole_counts(ax.xaxis)
    ax.set_ylabel("Conference")
    totals = _per_conference(joined, by)
    if totals.empty:
        return _no_data(ax, "conferences")
    top = totals.head(n)[::-1]  # largest at the top
    names = [name if len(name) <= 32 else name[:31] + "…" for name in top.index]
    bars = ax.barh(names, top.to_numpy(), color=SERIES_COLORS["charge"])
    fmt = "{:,.2f}" if by == "cost" else "{:,.0f}"
    ax.bar_label(bars, labels=[fmt.format(v) for v in top.to_numpy()], padding=3,
                 color=_ink(ax), fontsize="small")
    ax.margins(x=0.15)
    what = {"cost": "transcription cost", "minutes": "recorded minutes",
            "recordings": "recordings"}[by]
    ax.set_title(f"Top {len(top)} of {len(totals):,} conferences by {what}")
    return ax


def plot_transcription_outcomes(frame: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """How many recordings were transcribed, failed (per error text), are pending, ...

    ``frame`` is a joined frame (``transcription_status``, ``transcription_error``: every
    outcome) or a transcriptions frame (``error``: transcribed or failed only). Bars take their
    outcome's colour from :data:`OUTCOME_COLORS`. Failure reasons are wrapped at 28
    characters (at most three lines), so a long error text leaves the bars and the title room.
    """
    if "transcription_status" in frame.columns:
        _require(frame, ["transcription_status", "transcription_error"],
                 "plot_transcription_outcomes")
    else:
        _require(frame, ["error"], "plot_transcription_outcomes")
    ax = _axes(ax)
    ax.set_xlabel("Recordings")
    ax.set_ylabel("Transcription outcome")
    _whole_counts(ax.xaxis)
    rows = _outcome_counts(frame)
    if not rows:
        return _no_data(ax, "recordings")
    rows = rows[::-1]  # first outcome at the top
    labels = [_wrap_label(label) for _, label, _ in rows]
    counts = [count for _, _, count in rows]
    bars = ax.barh(labels, counts, color=[OUTCOME_COLORS[outcome] for outcome, _, _ in rows])
    total = sum(counts)
    ax.bar_label(bars, labels=[f"{c:,} ({_share(c, total)})" for c in counts], padding=3,
                 color=_ink(ax), fontsize="small")
    ax.margins(x=0.2)
    # Short: it is centred over the bars, which the (wrapped) outcome labels leave narrow.
    ax.set_title(f"Outcomes of {total:,} recordings")
    return ax


def plot_turnaround(joined: pd.DataFrame, *, ax: Axes | None = None,
                    marks: Sequence[float] = (5, 30), log: bool = False) -> Axes:
    """Empirical CDF of transcription turnaround, with the share within each mark.

    Turnaround is the time from the recording's end to its transcription callback. Plivo has
    published two figures for it, "under 5 minutes" and "about 30 minutes": those are the
    default ``marks`` (minutes).
    """
    _require(joined, ["recording_end", "transcription_received_at"], "plot_turnaround")
    ax = _axes(ax)
    ax.set_xlabel("Turnaround (minutes from recording end to transcription)")
    ax.set_ylabel("Share of transcriptions")
    from matplotlib.ticker import PercentFormatter

    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    minutes = _turnaround_minutes(joined)
    if log:
        minutes = minutes[minutes > 0]
    if minutes.empty:
        return _no_data(ax, "transcriptions")
    ax.ecdf(minutes, color=OUTCOME_COLORS["transcribed"], label="Transcriptions")
    ink = _ink(ax)
    styles = itertools.cycle(("--", ":", "-.", (0, (1, 4))))
    for mark, style in zip(marks, styles):  # noqa: B905 (styles never run out)
        share = float((minutes <= mark).mean())
        ax.axvline(mark, color=ink, linestyle=style, linewidth=1,
                   label=f"{share:.0%} within {mark:g} min")
    if log:
        ax.set_xscale("log")
        _readable_log_axis(ax.xaxis)
    else:
        # The long tail would squeeze the part that matters: show up to the 99th percentile,
        # and always a little beyond the last mark, so every share in the legend has its line
        # on the chart (all faster than 30 minutes shows as the curve done well before it).
        right = max(float(minutes.quantile(0.99)), 1.25 * max(marks, default=0))
        ax.set_xlim(min(0.0, float(minutes.min())), right * 1.02 or 1)
    ax.set_ylim(0, 1.02)
    ax.legend(frameon=False, loc="lower right")
    ax.set_title(f"Turnaround of {len(minutes):,} transcriptions "
                 f"(median {minutes.median():.1f} min)")
    return ax


def plot_billing_audit(frame: pd.DataFrame, *, ax: Axes | None = None,
                       tolerance: float | None = None, currency: str = "USD") -> Axes:
    """Expected against charged transcription cost, one marker per distinct pair.

    The expected charge is ``transcription_rate`` x billed minutes (whole minutes rounded up, at
    least one) of the recording (``recording_duration_ms`` of a joined frame, else the
    callback's ``duration``); a failed transcription is expected to cost nothing. Points on
    the diagonal are billed as expected; mismatches are drawn in the failure colour. Marker
    area grows with the number of transcriptions at that point.

    Parameters
    ----------
    frame
        A joined frame (``load.join_recordings``), a transcriptions frame, or the result of
        :func:`analytics.billing_audit` (``expected_charge``, ``transcription_charge``).
    tolerance
        Charges further than this from the expected one are mismatches. None: an audit
        frame's own ``mismatch`` column (the tolerance it was computed with), else
        :data:`analytics.billing.DEFAULT_TOLERANCE`.

    Examples
    --------
    >>> import pandas as pd
    >>> from recording_toolkit import analytics
    >>> tr = pd.DataFrame({"recording_id": ["a", "b"], "transcription_rate": [0.05, 0.05],
    ...                    "transcription_charge": [0.10, 0.70], "duration": [90, 600],
    ...                    "error": [None, None]})
    >>> ax = plot_billing_audit(analytics.billing_audit(tr))
    >>> [t.get_text() for t in ax.get_legend().get_texts()][:2]
    ['As expected (1)', 'Mismatch (1)']
    """
    if _is_audit(frame):
        _require(frame, ["expected_charge", "transcription_charge"], "plot_billing_audit")
    else:
        _require(frame, ["transcription_rate", "transcription_charge"], "plot_billing_audit")
        if "recording_duration_ms" in frame.columns:
            _require(frame, ["transcription_error"], "plot_billing_audit")
        else:
            _require(frame, ["duration", "error"], "plot_billing_audit")
    if tolerance is not None and tolerance < 0:
        raise ValueError(f"tolerance: {tolerance!r} must be >= 0")
    ax = _axes(ax, figsize=(5.5, 5.0))
    money = _money(currency)
    ax.set_xlabel(f"Expected charge ({money})")
    ax.set_ylabel(f"Charged ({money})")
    audit = _billing_audit(frame, tolerance)
    if audit.empty:
        return _no_data(ax, "charged transcriptions")
    pairs = audit.round(6).value_counts().rename("count").reset_index()
    off = pairs["mismatch"]
    scale = 200 / math.sqrt(pairs["count"].max())
    for mismatch, outcome, name in ((False, "transcribed", "As expected"),
                                    (True, "failed", "Mismatch")):
        part = pairs[off == mismatch]
        n = int(part["count"].sum())
        ax.scatter(part["expected"], part["charged"], s=20 + scale * np.sqrt(part["count"]),
                   color=OUTCOME_COLORS[outcome], alpha=0.8, label=f"{name} ({n:,})",
                   edgecolors="none")
    top = float(max(pairs["expected"].max(), pairs["charged"].max())) * 1.05 or 1.0
    ax.plot([0, top], [0, top], color=_ink(ax), linewidth=1, linestyle="--",
            label="charged = expected")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_aspect("equal", adjustable="box")
    ax.legend(frameon=False, loc="upper left")
    ax.set_title(f"Billing audit of {len(audit):,} transcriptions")
    return ax


def plot_storage_projection(recordings: pd.DataFrame, *, months: int = 12,
                            rates: RateCard | None = None, now: Any = None,
                            ax: Axes | None = None) -> Axes:
    """Projected recording storage cost for each of the coming ``months`` calendar months.

    A recording is stored free for ``rates.free_storage_days`` days from its start, then costs
    ``rates.storage_per_minute_month`` per rounded minute each month, as long as it is kept.
    ``now`` (default: the current time) sets the first month.
    """
    _require(recordings, ["recording_duration_ms", "recording_start"], "plot_storage_projection")
    if months < 1:
        raise ValueError(f"months: {months!r} must be at least 1")
    rates = rates or RateCard()
    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    if now.tzinfo is None:
        now = now.tz_localize("UTC")
    ax = _axes(ax)
    ax.set_ylabel(f"Storage cost per month ({_money(rates.currency)})")
    ax.set_xlabel("Month")
    if recordings.dropna(subset=["recording_duration_ms", "recording_start"]).empty:
        return _no_data(ax, "recordings")
    projection = _storage_projection(recordings, months=months, rates=rates, now=now)
    _bars_per_month(ax, projection.index, projection.to_numpy())
    ax.set_title(f"Storage after {rates.free_storage_days} free days, "
                 f"at {rates.storage_per_minute_month:g} {_money(rates.currency)}"
                 " per minute-month")
    return ax
