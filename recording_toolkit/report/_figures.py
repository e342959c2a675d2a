"""The key figures table: the stable figures with a label in words, formatted, and their key.

One table, shown both by :meth:`Summary._repr_html_ <recording_toolkit.report.Summary>` in a
notebook and at the top of the HTML report, so the two never disagree on a label or a format.
Each row ends with the figure's dotted key inside ``<code>``, for a reader who cross-checks the
JSON summary; the values are formatted by :mod:`recording_toolkit.formatting`.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import formatting as fmt

if TYPE_CHECKING:
    from ._summary import Summary

__all__ = ["FIGURES", "SHOWN_WHEN_NOT_ZERO", "figure_label", "figure_text", "figures_table",
           "format_figure"]


def _recorded_minutes(value: Any) -> str:
    return fmt.MISSING if fmt.is_missing(value) else f"{fmt.number(value)} min"


def _whole_minutes(value: Any) -> str:
    return fmt.MISSING if fmt.is_missing(value) else f"{fmt.count(value)} min"


#: (label, dotted key, how the value is shown); the currency is the rate card's.
FIGURES: list[tuple[str, str, str]] = [
    ("Recordings", "recordings.count", "count"),
    ("Conferences", "recordings.conferences", "count"),
    ("Recorded minutes", "recordings.total_minutes", "recorded_minutes"),
    ("Billed minutes (rounded up)", "recordings.billed_minutes", "whole_minutes"),
    ("Mean duration", "recordings.duration_seconds.mean", "minutes"),
    ("Median duration", "recordings.duration_seconds.median", "minutes"),
    ("95th percentile duration", "recordings.duration_seconds.p95", "minutes"),
    ("Longest recording", "recordings.duration_seconds.max", "minutes"),
    ("Recordings as mp3", "recordings.by_format.mp3", "count"),
    ("Recordings as wav", "recordings.by_format.wav", "count"),
    ("Transcriptions received", "transcriptions.received", "count"),
    ("Transcriptions succeeded", "transcriptions.succeeded", "count"),
    ("Transcriptions failed", "transcriptions.failed", "count"),
    ("Success rate (of received)", "transcriptions.success_rate", "percent"),
    ("Coverage (of recordings)", "transcriptions.coverage", "percent"),
    ("Transcription charges", "transcriptions.charge_total", "money"),
    ("Median turnaround", "transcriptions.turnaround_seconds.median", "span"),
    ("95th percentile turnaround", "transcriptions.turnaround_seconds.p95", "span"),
    ("Files read", "source.files", "count"),
    ("Lines read", "source.lines", "count"),
    ("Lines quarantined", "source.quarantined", "count"),
    ("Duplicates dropped", "source.duplicates", "count"),
    ("Test callbacks left out", "source.test_callbacks", "count"),
]

#: Figures a person sees only when they are not zero (the JSON always has them): test
#: callbacks are in the logs only where a preflight sent some.
SHOWN_WHEN_NOT_ZERO = frozenset({"source.test_callbacks"})


def _formatter(kind: str, currency: str) -> Callable[[Any], str]:
    return {
        "count": fmt.count,
        "recorded_minutes": _recorded_minutes,
        "whole_minutes": _whole_minutes,
        "minutes": fmt.minutes,
        "span": fmt.span,
        "percent": fmt.percent,
        "money": lambda v: fmt.money(v, currency),
    }[kind]


def format_figure(key: str, value: Any, currency: str) -> str:
    """A stable figure's value (``key`` dotted, as in ``Summary.to_dict()``) as every view
    shows it: the report, the notebook, the Dashboard and the command line.

    >>> format_figure("recordings.duration_seconds.median", 1447, "USD")
    '24.1 min'
    """
    for _, known, kind in FIGURES:
        if known == key:
            return _formatter(kind, currency)(value)
    return fmt.value(value)


def figure_label(key: str) -> str:
    """A stable figure's label in words, the same in every view."""
    for label, known, _ in FIGURES:
        if known == key:
            return label
    return fmt.label(key)


def figure_text(summary: Summary, key: str) -> str:
    """One stable figure of ``summary`` as the report and the notebook show it."""
    return format_figure(key, summary.get(key), summary.rates.currency)


def figures_table(summary: Summary, *, keys: bool = True, part: str | None = None) -> str:
    """The key figures as an HTML table: label, value, and (``keys``) the dotted key;
    ``part`` (``"recordings"``, ``"transcriptions"``, ``"source"``) keeps only those."""
    rows = []
    for label, key, _ in FIGURES:
        if part is not None and not key.startswith(part + "."):
            continue
        if key in SHOWN_WHEN_NOT_ZERO and not summary.get(key):
            continue
        # inline alignment too: a notebook shows the table without the report's style sheet
        code = (f"<td class='key' style='text-align:left;padding-left:1.5em'><code>"
                f"{html.escape(key)}</code></td>") if keys else ""
        rows.append(f"<tr><th scope='row' style='text-align:left'>{html.escape(label)}</th>"
                    f"<td class='n' style='text-align:right'>"
                    f"{html.escape(figure_text(summary, key))}</td>{code}</tr>")
    caption = f"<caption style='text-align:left'>{_PARTS[part]}</caption>" \
        if part is not None else ""
    return f"<table class='figures'>{caption}" + "".join(rows) + "</table>"


_PARTS = {"recordings": "Recordings", "transcriptions": "Transcriptions",
          "source": "Logs read"}


# the names the summary module imported before the table was formatted
_figures_table = figures_table


def summary_html(summary: Summary) -> str:
    """How a :class:`Summary` shows in a notebook: a one-line caption and the key figures."""
    caption = (f"Summary of {fmt.counted(summary.get('recordings.count'), 'recording')} in"
               f" {fmt.counted(summary.get('recordings.conferences'), 'conference')}"
               f" ({summary.engine} engine); keys for <code>summary.get(...)</code> on the"
               " right")
    return (f"<div><p style='margin:0 0 .3em'><strong>{caption}</strong></p>"
            f"{figures_table(summary)}</div>")
