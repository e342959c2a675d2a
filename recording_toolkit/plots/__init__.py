"""Charts of recordings, transcriptions and costs: ``plot_*(frame, *, ax=None, ...) -> Axes``.

Every ``plot_*`` function takes the toolkit's typed frames (``schema.RECORDINGS``,
``schema.TRANSCRIPTIONS`` or ``schema.JOINED``), asks :mod:`recording_toolkit.analytics` for
the figures, and draws them with the matching ``draw_*`` function on ``ax`` when one is given,
otherwise on a new figure; it returns the axes. A ``draw_*`` function only draws what it is given
(an analytics result): it computes no median, share or total of its own, so a chart cannot
disagree with the table beside it. The report and the Dashboard draw the same functions through
:mod:`recording_toolkit.views`. None calls ``plt.show()`` (a notebook shows the figure by
itself) or changes matplotlib's global settings.

The charts are meant to be put in front of people and share one look (:func:`look`, with the
sizes of :data:`STYLE`, set on each chart's own axes): a light grid, no top or right frame
line, text about 10 pt, one palette (Okabe & Ito's, readable by colour-blind viewers and
on light and dark backgrounds). Axis labels carry their units, days are UTC days, numbers in
titles and labels are written by :mod:`recording_toolkit.formatting`, and reference lines
(a median, a published turnaround) are labelled where they are drawn, never in a legend they
could cross. Transcription outcomes have one colour each, the same in every chart
(:data:`OUTCOME_COLORS`). Text and reference lines take the current style's foreground, so the
charts follow a dark style (``plt.style.context("dark_background")``) as well as the default.

An empty selection draws an empty chart that says so, rather than raising: the dashboard filters
can select nothing.

The charts live by family (recordings, costs, transcriptions, storage), beside the shared look
(``_style``), the text that must fit (``_text``) and the day, month and log axes (``_scales``);
every public name is here, as ``recording_toolkit.plots.<name>``.

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

from ._costs import (
    draw_billing_differences,
    draw_charges_per_day,
    draw_conferences,
    plot_billing_audit,
    plot_cost_per_day,
    plot_top_conferences,
)
from ._recordings import (
    draw_duration_distribution,
    draw_minutes_per_day,
    draw_rounding_overhead,
    plot_duration_distribution,
    plot_minutes_per_day,
    plot_rounding_overhead,
)
from ._storage import (
    draw_retention,
    draw_storage_projection,
    plot_retention,
    plot_storage_projection,
)
from ._style import OUTCOME_COLORS, OUTCOME_LABELS, SERIES_COLORS, STYLE, look
from ._transcriptions import (
    draw_outcomes,
    draw_turnaround,
    plot_transcription_outcomes,
    plot_turnaround,
)

__all__ = [
    "OUTCOME_COLORS",
    "OUTCOME_LABELS",
    "SERIES_COLORS",
    "STYLE",
    "draw_billing_differences",
    "draw_charges_per_day",
    "draw_conferences",
    "draw_duration_distribution",
    "draw_minutes_per_day",
    "draw_outcomes",
    "draw_retention",
    "draw_rounding_overhead",
    "draw_storage_projection",
    "draw_turnaround",
    "look",
    "plot_billing_audit",
    "plot_cost_per_day",
    "plot_duration_distribution",
    "plot_minutes_per_day",
    "plot_retention",
    "plot_rounding_overhead",
    "plot_storage_projection",
    "plot_top_conferences",
    "plot_transcription_outcomes",
    "plot_turnaround",
]
