"""Small rendering helpers shared by the widgets: HTML tables and charts as PNG bytes.

Widgets show tables as ``ipywidgets.HTML`` and charts as ``ipywidgets.Image``: both are a single
trait assignment, which is safe from the worker threads the widgets use (writing into an
``Output`` widget from another thread is not), and both can be checked in plain pytest.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..plots import OUTCOME_COLORS

__all__ = ["dot", "figure_png", "html_table"]

# Tables take the notebook theme's own colours (JupyterLab's CSS variables, with fallbacks for
# other front ends), so they read in light and dark themes alike.
_TABLE_STYLE = (
    "border-collapse:collapse;font-size:var(--jp-ui-font-size1,13px);"
    "font-family:var(--jp-ui-font-family,sans-serif)"
)
_CELL_STYLE = (
    "padding:2px 10px;text-align:left;vertical-align:top;"
    "border-bottom:1px solid var(--jp-border-color2,#ccc)"
)


def dot(state: str) -> str:
    """A coloured status marker: ``ok``, ``error`` or ``busy`` (the outcome palette's colours)."""
    colour = {"ok": OUTCOME_COLORS["transcribed"], "error": OUTCOME_COLORS["failed"],
              "busy": OUTCOME_COLORS["pending"]}.get(state, OUTCOME_COLORS["not_requested"])
    return f'<span style="color:{colour}" title="{state}">&#9679;</span> '


def html_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]], *,
               empty: str = "Nothing yet", raw: Sequence[str] = ()) -> str:
    """An HTML table of ``rows`` (dicts) with ``columns`` as ``(key, header)`` pairs.

    Every value is HTML-escaped except those of the keys in ``raw`` (already markup made here).

    Examples
    --------
    >>> html_table([{"a": "<b>"}], [("a", "A")])  # doctest: +ELLIPSIS
    '<table style=...><thead><tr><th style=...>A</th></tr></thead><tbody><tr><td style=...>&lt;b&gt;</td></tr></tbody></table>'
    """
    if not rows:
        return f"<i>{html.escape(empty)}</i>"
    head = "".join(f'<th style="{_CELL_STYLE}">{html.escape(title)}</th>' for _, title in columns)
    body = []
    for row in rows:
        cells = []
        for key, _ in columns:
            value = row.get(key)
            text = "" if value is None else str(value)
            cells.append(f'<td style="{_CELL_STYLE}">'
                         f"{text if key in raw else html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table style="{_TABLE_STYLE}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def figure_png(draw: Callable[[Any], Any], *, size: tuple[float, float] = (7.0, 4.0),
               dpi: int = 96) -> bytes:
    """PNG bytes of a chart drawn by ``draw(ax)`` on a figure of its own.

    The figure is made without pyplot: nothing is registered globally, nothing is shown twice
    by the notebook, and it is safe in a worker thread.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    draw(figure.add_subplot())
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
