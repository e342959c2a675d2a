"""Small rendering helpers shared by the widgets: HTML tables and charts as PNG bytes.

Widgets show tables as ``ipywidgets.HTML`` and charts as ``ipywidgets.Image``: both are a single
trait assignment, which is safe from the worker threads the widgets use (writing into an
``Output`` widget from another thread is not), and both can be checked in plain pytest.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from ..plots import OUTCOME_COLORS

__all__ = ["dot", "html_table"]

# Tables take the notebook theme's own colours (JupyterLab's CSS variables, with fallbacks for
# other front ends), so they read in light and dark themes alike.
_TABLE_STYLE = (
    "border-collapse:collapse;font-size:var(--jp-ui-font-size1,13px);line-height:1.4;"
    "font-family:var(--jp-ui-font-family,sans-serif)"
)
_CELL_STYLE = (
    "padding:2px 10px;text-align:left;vertical-align:top;"
    "border-bottom:1px solid var(--jp-border-color2,#ccc)"
)
# A long value breaks anywhere (ids and URLs have no spaces) and wraps within its column: nothing
# sticks out sideways and nothing is hidden; the row grows taller instead.
_WRAP_STYLE = ";white-space:normal;overflow-wrap:anywhere"
# A row's detail (an error), on a line of its own under the row, across the whole table.
_DETAIL_STYLE = ("padding:0 10px 4px 2em;text-align:left;white-space:normal;"
                 "overflow-wrap:anywhere;color:var(--jp-error-color1,#c62828);"
                 "border-bottom:1px solid var(--jp-border-color2,#ccc)")


#: The red of a recording light: a colour of its own, never one that means an error.
RECORDING_RED = "#E0102B"


def dot(state: str) -> str:
    """A coloured status marker: ``ok``, ``error``, ``busy``, ``recording`` or ``idle`` (grey).

    The colours are the outcome palette's, and a recording light's red for ``recording``.
    """
    colour = {"ok": OUTCOME_COLORS["transcribed"], "error": OUTCOME_COLORS["failed"],
              "busy": OUTCOME_COLORS["pending"], "recording": RECORDING_RED,
              }.get(state, OUTCOME_COLORS["not_requested"])
    return f'<span style="color:{colour}" title="{state}">&#9679;</span> '


def html_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]], *,
               empty: str = "Nothing yet", raw: Sequence[str] = (),
               widths: Mapping[str, str] | None = None, wrap: Sequence[str] = (),
               detail: str | None = None, nowrap: bool = False) -> str:
    """An HTML table of ``rows`` (dicts) with ``columns`` as ``(key, header)`` pairs.

    Every value is HTML-escaped except those of the keys in ``raw`` (already markup made here).

    ``widths`` (key -> CSS width) fixes those columns' widths (``table-layout: fixed``): a long
    value cannot push the other columns around. The values in ``wrap`` break anywhere to stay
    within their column (a row grows taller; nothing is cut off). A row's ``detail`` value (an
    error), when it has one, is shown in full on a line of its own under the row, across the
    table. ``nowrap`` keeps the other cells on one line (a short table of figures reads best so).

    Examples
    --------
    >>> html_table([{"a": "<b>"}], [("a", "A")])  # doctest: +ELLIPSIS
    '<table style=...><thead><tr><th style=...>A</th></tr></thead><tbody><tr><td style=...>&lt;b&gt;</td></tr></tbody></table>'
    """
    if not rows:
        return f"<i>{html.escape(empty)}</i>"
    table_style = _TABLE_STYLE
    cell_style = _CELL_STYLE + (";white-space:nowrap" if nowrap else "")
    colgroup = ""
    if widths:
        table_style += ";table-layout:fixed;width:100%"
        colgroup = "<colgroup>" + "".join(
            f'<col style="width:{widths[key]}">' if key in widths else "<col>"
            for key, _ in columns) + "</colgroup>"
    head = "".join(f'<th style="{cell_style}">{html.escape(title)}</th>' for _, title in columns)
    body = []
    for row in rows:
        note = "" if detail is None or row.get(detail) is None else str(row[detail])
        # A row with a detail line under it shares its bottom border with that line.
        style = cell_style + (";border-bottom:none" if note else "")
        cells = []
        for key, _ in columns:
            value = row.get(key)
            text = "" if value is None else str(value)
            shown = text if key in raw else html.escape(text)
            extra = _WRAP_STYLE if key in wrap else ""
            cells.append(f'<td style="{style}{extra}">{shown}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
        if note:
            body.append(f'<tr><td colspan="{len(columns)}" style="{_DETAIL_STYLE}">'
                        f"{html.escape(note)}</td></tr>")
    return (f'<table style="{table_style}">{colgroup}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")
