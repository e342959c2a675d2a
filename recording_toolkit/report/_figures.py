"""The key figures table: the stable figures with a label, a format and their dotted key.

One table, shown both by :meth:`Summary._repr_html_ <recording_toolkit.report.Summary>` in a
notebook and at the top of the HTML report, so the two never disagree on a label or a format.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from ._summary import Summary

_FIGURES = [
    ("Recordings", "recordings.count", "{:,}"),
    ("Conferences", "recordings.conferences", "{:,}"),
    ("Recorded minutes", "recordings.total_minutes", "{:,.1f}"),
    ("Billed minutes", "recordings.billed_minutes", "{:,}"),
    ("Mean duration", "recordings.duration_seconds.mean", "{:,.1f} s"),
    ("Median duration", "recordings.duration_seconds.median", "{:,.1f} s"),
    ("p95 duration", "recordings.duration_seconds.p95", "{:,.1f} s"),
    ("Longest recording", "recordings.duration_seconds.max", "{:,.1f} s"),
    ("mp3 recordings", "recordings.by_format.mp3", "{:,}"),
    ("wav recordings", "recordings.by_format.wav", "{:,}"),
    ("Transcriptions received", "transcriptions.received", "{:,}"),
    ("Transcriptions succeeded", "transcriptions.succeeded", "{:,}"),
    ("Transcriptions failed", "transcriptions.failed", "{:,}"),
    ("Transcription success rate", "transcriptions.success_rate", "{:.1%}"),
    ("Transcription coverage", "transcriptions.coverage", "{:.1%}"),
    ("Transcription charges", "transcriptions.charge_total", "{:,.2f}"),
    ("Median turnaround", "transcriptions.turnaround_seconds.median", "{:,.0f} s"),
    ("p95 turnaround", "transcriptions.turnaround_seconds.p95", "{:,.0f} s"),
    ("Files read", "source.files", "{:,}"),
    ("Lines read", "source.lines", "{:,}"),
    ("Lines quarantined", "source.quarantined", "{:,}"),
    ("Duplicates dropped", "source.duplicates", "{:,}"),
]


def _fmt(value: Any, spec: str = "{}") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "–"
    try:
        return spec.format(value)
    except (TypeError, ValueError):
        return str(value)


def _figures_table(summary: Summary) -> str:
    currency = summary.rates.currency
    rows = []
    for label, key, spec in _FIGURES:
        if key == "transcriptions.charge_total":
            label = f"{label} ({currency})"
        rows.append(f"<tr><th>{html.escape(label)}</th><td class='n'>"
                    f"{html.escape(_fmt(summary.get(key), spec))}</td>"
                    f"<td class='note'><code>{html.escape(key)}</code></td></tr>")
    return "<table>" + "".join(rows) + "</table>"
