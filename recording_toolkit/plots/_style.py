"""The charts' shared look: one palette, the text sizes, and the axes helpers every chart
family uses (money and count ticks, plain numbers, room above the bars). Nothing here touches
matplotlib's global settings: each helper works on the axes it is given."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from .. import formatting

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

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


def _axes(ax: Axes | None, figsize: tuple[float, float] = _DEFAULT_SIZE) -> Axes:
    """``ax``, or the axes of a new pyplot figure (so a notebook shows it) when None."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new_ax = plt.subplots(figsize=figsize, layout="constrained")
    return new_ax


def look(ax: Axes, *, grid: Literal["x", "y", "both", ""] = "y") -> Axes:
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


def _root_figure(ax: Axes) -> Figure:
    """The figure ``ax`` is drawn on (the outermost one, when it is on a subfigure)."""
    figure = ax.get_figure(root=True)
    if figure is None:
        raise ValueError("ax: these axes are on no figure; make them with plt.subplots()")
    return figure


def _ink(ax: Axes) -> Any:
    """The current style's foreground colour (reference lines and notes follow the theme)."""
    return ax.xaxis.label.get_color()


def _plain_number(value: float, _pos: Any = None) -> str:
    """``value`` as people write it: 0.5, 2, 10, 1,000 (no powers of ten, no exponents)."""
    if value == 0:
        return "0"
    if abs(value) >= 1 and value == round(value):
        return f"{value:,.0f}"
    return f"{value:,.6g}" if abs(value) >= 1e-4 else f"{value:.1e}"


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


def _legend_above_bars(ax: Axes, tallest: float, **options: Any) -> None:
    """A one-row legend in a band left free above the tallest bar.

    With few bars any corner may hold one reaching the top; the band (a quarter of the axes
    height) is where ``loc="best"`` then finds room."""
    ax.set_ylim(0, max(tallest, 1) / 0.75)
    ax.legend(loc="best", ncols=2, frameon=False, fontsize=STYLE["legend"], **options)


def _headroom(ax: Axes, tallest: float, share: float = 0.8) -> None:
    """The y axis from 0 to a little above ``tallest``: a band for the reference lines' labels."""
    ax.set_ylim(0, max(float(tallest), 1.0) / share)
