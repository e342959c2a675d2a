"""The Dashboard's cost by team: a chart of each team's billed minutes and transcription
charges, from :func:`recording_toolkit.analytics.team_costs`.

One horizontal bar per team (names read across, however many teams there are), teams in the
teams file's order with ``Unallocated`` last, as the report's "Cost by team" table lists them.
Teams the team filter leaves out stay on the chart in grey, so the chosen ones are seen against
the rest; with no team chosen every team is drawn in colour.
"""

from __future__ import annotations

import io
from collections.abc import Collection
from typing import Any

import pandas as pd

from .. import formatting as fmt
from ..plots import SERIES_COLORS, STYLE, look

__all__ = ["TEAM_CHART_TITLE", "team_chart_png", "team_chart_size"]

TEAM_CHART_TITLE = "Cost by team"
#: Grey for the teams the filter leaves out.
_OTHER = "#C8C8C8"


def team_chart_size(width_px: int, teams: int) -> tuple[int, int]:
    """The chart's pixel size: ``width_px`` wide, tall enough for ``teams`` bars."""
    return width_px, max(180, 90 + 26 * max(1, teams))


def team_chart_png(table: pd.DataFrame, *, currency: str, width_px: int, height_px: int,
                   chosen: Collection[str] = ()) -> bytes:
    """PNG bytes: billed minutes (left) and transcription charges (right) per team of
    ``table`` (:func:`~recording_toolkit.analytics.team_costs`), ``chosen`` teams in colour
    (all when none is chosen), each bar labelled with its figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    dpi = 100
    figure = Figure(figsize=((width_px + 1e-6) / dpi, (height_px + 1e-6) / dpi), dpi=dpi,
                    layout="constrained")
    FigureCanvasAgg(figure)
    minutes_ax, charge_ax = figure.subplots(1, 2, sharey=True)
    names = [str(name) for name in table.index]
    positions = list(range(len(names)))
    lit = set(chosen) or set(names)
    panels: list[tuple[Any, str, str, Any]] = [
        (minutes_ax, "billed_minutes", "Billed minutes", fmt.count),
        (charge_ax, "transcription_charge", "Transcription charges",
         lambda v: fmt.money(v, currency)),
    ]
    for ax, column, title, say in panels:
        values = [float(v) for v in table[column]] if len(table) else []
        colour = SERIES_COLORS["billed" if column == "billed_minutes" else "charge"]
        ax.barh(positions, values, color=[colour if n in lit else _OTHER for n in names],
                height=0.65)
        look(ax, grid="x")
        ax.set_title(title, fontsize=STYLE["title"], loc="left")
        tallest = max(values, default=0.0) or 1.0
        ax.set_xlim(0, tallest * 1.3)  # room for the figures after the bars
        for y, value in zip(positions, values, strict=True):
            ax.annotate(say(value).replace("$", r"\$"), (value, y), xytext=(3, 0),
                        textcoords="offset points", va="center", fontsize=STYLE["ticks"])
        if column == "transcription_charge":
            # whole amounts on the axis ($150, not $150.00); the bars carry the cents
            ax.xaxis.set_major_formatter(FuncFormatter(
                lambda v, _pos: fmt.money(v, currency, decimals=0 if v == round(v) else 2)
                .replace("$", r"\$")))
        ax.tick_params(axis="x", labelsize=STYLE["ticks"] - 1)
        ax.xaxis.set_major_locator(_few_ticks())
    minutes_ax.set_yticks(positions, names)
    minutes_ax.invert_yaxis()  # the file's first team on top
    if not names:
        minutes_ax.text(0.5, 0.5, "No recordings in the selection", ha="center", va="center",
                        transform=minutes_ax.transAxes, fontsize=STYLE["label"])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _few_ticks() -> Any:
    """Three or four value ticks: two narrow panels side by side cannot hold more."""
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(nbins=3, min_n_ticks=2)
