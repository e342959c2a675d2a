"""The HTML report's charts: every view of :data:`recording_toolkit.views.VIEWS`, as PNG.

The only part of the report that needs matplotlib (imported on first use, so the summary and the
CSV tables work without it). The charts, their titles and notes come from the views registry,
the same one the Dashboard draws, so the two show the same charts with the same figures. Each
is drawn at its natural size (:attr:`View.size <recording_toolkit.views.View.size>` at 100 dpi,
no wider than a column of the page's grid) and the page shows it at that size.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..views import Frames
    from ._summary import Summary

#: Pixels per inch the report's charts are drawn at (one image pixel per CSS pixel).
DPI = 100
#: The width of one of the page's two chart columns: a chart of the registry no wider than
#: :data:`SPAN_PX` is drawn at most this wide (its aspect kept), so the column shows it at the
#: size it was drawn; a wider one spans both columns at its natural size.
COLUMN_PX = 640
SPAN_PX = 720


@dataclass(frozen=True)
class Chart:
    """One chart of the page: its view's ``key``, ``title`` and ``note`` (what it leaves out,
    in words; may be empty), and the PNG as a data ``url`` of ``width`` x ``height`` pixels."""

    key: str
    title: str
    url: str
    width: int
    height: int
    note: str = ""


def frames_of_summary(summary: Summary) -> Frames:
    """The :class:`~recording_toolkit.views.Frames` of a summary's selection."""
    from ..views import frames_of

    frames = summary.frames
    return frames_of(frames["recordings"], frames["transcriptions"], rates=summary.rates,
                     journal=frames["journal"], now=frames.get("projection_now"))


def charts(summary: Summary) -> list[Chart]:
    """Every view of the registry, in report order, drawn from ``summary``'s frames."""
    from ..views import VIEWS, render_png

    frames = frames_of_summary(summary)
    currency = summary.rates.currency
    out = []
    for view in VIEWS.values():
        result = view.compute(frames)
        width, height = (round(side * DPI) for side in view.size)
        if COLUMN_PX < width <= SPAN_PX:
            width, height = COLUMN_PX, round(height * COLUMN_PX / width)
        png = render_png(view, result, currency=currency, width_px=width, height_px=height,
                         dpi=DPI)
        out.append(Chart(key=view.key, title=view.title,
                         url="data:image/png;base64," + base64.b64encode(png).decode("ascii"),
                         width=width, height=height,
                         note=view.note(result) if view.note is not None else ""))
    return out


def _charts(summary: Summary) -> list[Chart]:
    """:func:`charts` (the name the page's writer imports)."""
    return charts(summary)
