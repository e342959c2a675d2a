"""The report's headline: four figures of the selected period and the period just before it.

Spend, recorded minutes, success rate and coverage of a :class:`Summary` (its own figures,
unchanged), each beside the same figure over the period of the same length that ends where this
one starts, so a reader sees at once whether things got better or worse.

The period is the selection's ``since``/``until``; an open end is closed at the UTC day of the
first (or after the last) selected recording. The earlier period is chosen from the unselected
load result with :func:`recording_toolkit.analytics.select` (same conferences) and measured by
the same analytics functions that made the summary's figures, so both columns mean the same.
Nothing here formats or lays out: :mod:`._html` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from .. import analytics
from ..analytics.engine import compute, utc

if TYPE_CHECKING:
    from ._summary import Summary

__all__ = ["HEADLINE_KEYS", "Headline", "headline"]

#: The summary keys the headline shows, in order.
HEADLINE_KEYS = ("transcriptions.charge_total", "recordings.total_minutes",
                 "transcriptions.success_rate", "transcriptions.coverage")


@dataclass(frozen=True)
class Headline:
    """This period's figures (``current``, the summary's own) and the earlier period's.

    ``previous`` is None when the period cannot be placed in time (no bounds and no recording
    start); a figure in it is None when it is undefined there (a rate over nothing).
    ``previous_recordings`` counts the recordings the earlier period holds.
    """

    start: pd.Timestamp | None
    end: pd.Timestamp | None
    current: dict[str, Any]
    previous: dict[str, Any] | None
    previous_recordings: int = 0

    @property
    def length(self) -> pd.Timedelta | None:
        """How long each of the two periods is."""
        return None if self.start is None or self.end is None else self.end - self.start

    @property
    def previous_start(self) -> pd.Timestamp | None:
        length = self.length
        return None if length is None or self.start is None else self.start - length


def _bounds(summary: Summary) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    selection = summary.details["selection"]
    start = None if selection.get("since") is None else utc(selection["since"])
    end = None if selection.get("until") is None else utc(selection["until"])
    if start is not None and end is not None:
        return start, end
    starts = summary.frames["recordings"]["recording_start"].dropna()
    if starts.empty:
        return None, None
    if start is None:
        start = utc(starts.min()).floor("D")
    if end is None:
        end = utc(starts.max()).floor("D") + pd.Timedelta(days=1)
    return start, end


def _figures(recordings: Any, transcriptions: Any) -> dict[str, Any]:
    """The four headline figures, by the analytics functions the summary uses."""
    durations = analytics.duration_summary(recordings)
    counts = analytics.transcription_counts(transcriptions)
    return {
        "transcriptions.charge_total": analytics.charge_total(transcriptions),
        "recordings.total_minutes": durations["total_minutes"],
        "transcriptions.success_rate": analytics.transcription_success_rate(
            transcriptions, counts=counts),
        "transcriptions.coverage": analytics.transcription_coverage(recordings, transcriptions),
    }


def headline(summary: Summary) -> Headline:
    """The headline of ``summary``: its own four figures and those of the period before."""
    current = {key: summary.get(key) for key in HEADLINE_KEYS}
    start, end = _bounds(summary)
    inputs = summary._inputs
    source = None if inputs is None else inputs.source
    if start is None or end is None or source is None:
        return Headline(start, end, current, None)
    earlier = start - (end - start)
    conferences = summary.details["selection"].get("conferences")
    recordings, transcriptions = analytics.select(
        source.recordings, source.transcriptions, since=earlier, until=start,
        conferences=conferences)
    (held,) = compute(recordings["recording_id"].count())
    return Headline(start, end, current, _figures(recordings, transcriptions),
                    previous_recordings=int(held))
