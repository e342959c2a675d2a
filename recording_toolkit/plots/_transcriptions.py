"""Charts of transcriptions: their outcomes (failures per reason) and their turnaround
against Plivo's published figures."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import analytics, formatting
from ._scales import _readable_log_axis
from ._style import OUTCOME_COLORS, _axes, _whole_counts, look
from ._text import _bar_labels, _mark, _no_data, _title, _wrap_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes

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
    _title(ax, f"Outcomes of {formatting.counted(counts['count'].sum(), 'recording')}")
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
    _title(ax, f"Turnaround of {formatting.counted(distribution['count'], 'transcription')}"
                 f" (median {formatting.span(distribution['median_seconds'])})")
    return ax


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
