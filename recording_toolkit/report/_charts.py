"""The HTML report's charts: each drawn by :mod:`recording_toolkit.plots`, embedded as PNG.

The only part of the report that needs matplotlib (imported on first use, so the summary and the
CSV tables work without it). Each chart gets its own ``Figure``: no pyplot state is touched.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._summary import Summary


def _png(draw: Callable[[Any], Any], size: tuple[float, float] = (7.0, 4.0)) -> str:
    """A chart drawn by ``draw(ax)`` on its own Figure (no pyplot state), as a data URL."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, layout="constrained")
    draw(figure.subplots())
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _charts(summary: Summary) -> list[tuple[str, str]]:
    from .. import plots
    from ..load import join_recordings

    rec = summary.frames["recordings"]
    tr = summary.frames["transcriptions"]
    joined = join_recordings(rec, tr, journal=summary.frames["journal"])
    currency = summary.rates.currency
    draws: list[tuple[str, Callable[[Any], Any], tuple[float, float]]] = [
        ("Recorded and billed minutes per day",
         lambda ax: plots.plot_minutes_per_day(rec, ax=ax), (7.0, 4.0)),
        ("Transcription charges per day",
         lambda ax: plots.plot_cost_per_day(tr, ax=ax, currency=currency), (7.0, 4.0)),
        ("Recording durations", lambda ax: plots.plot_duration_distribution(rec, ax=ax, log=True),
         (7.0, 4.0)),
        ("Top conferences by transcription cost",
         lambda ax: plots.plot_top_conferences(joined, ax=ax, currency=currency), (7.0, 4.0)),
        ("Transcription outcomes", lambda ax: plots.plot_transcription_outcomes(joined, ax=ax),
         (9.0, 4.0)),
        ("Transcription turnaround", lambda ax: plots.plot_turnaround(joined, ax=ax), (7.0, 4.0)),
        ("Billing audit", lambda ax: plots.plot_billing_audit(summary.tables["billing_audit"],
                                                              ax=ax, currency=currency),
         (5.5, 5.0)),
        ("Storage cost projection",
         lambda ax: plots.plot_storage_projection(rec, ax=ax, rates=summary.rates),
         (7.0, 4.0)),
    ]
    return [(title, _png(draw, size)) for title, draw, size in draws]
