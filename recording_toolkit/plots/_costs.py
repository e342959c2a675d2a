"""Charts of transcription charges: per day, per conference, and charged against expected
(the billing audit)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import analytics, formatting
from ..analytics.billing import DEFAULT_TOLERANCE
from ._scales import _bars_per_day
from ._style import (
    SERIES_COLORS,
    _axes,
    _ink,
    _money,
    _money_axis,
    _money_text,
    _price_text,
    _whole_counts,
    look,
)
from ._text import _bar_labels, _no_data, _title, _wrap_to_fit

if TYPE_CHECKING:
    from matplotlib.axes import Axes

def draw_charges_per_day(charges: dict[str, Any], ax: Axes, currency: str = "USD") -> Axes:
    """Transcription charges per day of the callback, from :func:`analytics.charges_over_time`."""
    look(ax)
    ax.set_ylabel(f"Transcription charges per day ({_money(currency)})")
    ax.set_xlabel("Day (UTC, transcription received)")
    daily = charges["by_period"]
    if daily.empty:
        return _no_data(ax, "transcription charges")
    _bars_per_day(ax, daily.index, [(daily["charge"].astype(float).to_numpy(),
                                     SERIES_COLORS["charge"], "Charged")])
    _money_axis(ax.yaxis, currency)
    _title(ax, f"{_money_text(charges['total'], currency)} charged for"
                 f" {formatting.counted(daily['transcriptions'].sum(), 'transcription')}")
    return ax


_CONFERENCE_MEASURES = {
    "cost": ("transcription_charge", "Transcription charges ({currency})",
             "transcription charges"),
    "minutes": ("recorded_minutes", "Recorded minutes", "recorded minutes"),
    "recordings": ("recordings", "Recordings", "recordings"),
}


def draw_conferences(top: dict[str, Any], ax: Axes, currency: str = "USD") -> Axes:
    """The top conferences by one measure, largest at the top.

    ``top``: ``totals`` (:func:`analytics.conference_totals`, the conferences to show, in
    order), ``by`` (``"cost"``, ``"minutes"`` or ``"recordings"``) and ``conferences`` (how
    many there are in all).
    """
    column, axis_label, what = _CONFERENCE_MEASURES[top["by"]]
    look(ax, grid="x")
    ax.set_xlabel(axis_label.format(currency=_money(currency)))
    ax.set_ylabel("Conference")
    if top["by"] == "recordings":
        _whole_counts(ax.xaxis)
    totals = top["totals"][column]
    if totals.empty:
        return _no_data(ax, "conferences")
    shown = totals[::-1]  # largest at the top
    names = [name if len(name) <= 32 else name[:31] + "…" for name in shown.index]
    bars = ax.barh(names, shown.astype(float).to_numpy(), color=SERIES_COLORS["charge"])
    if top["by"] == "cost":
        labels = [_money_text(v, currency) for v in shown]
        _money_axis(ax.xaxis, currency)
    elif top["by"] == "minutes":
        labels = [formatting.number(v, decimals=0) for v in shown]
    else:
        labels = [formatting.count(v) for v in shown]
    _bar_labels(ax, bars, labels)
    _title(ax, f"Top {len(shown)} of {formatting.counted(top['conferences'], 'conference')}"
                 f" by {what}")
    return ax


def draw_billing_differences(audit: dict[str, Any], ax: Axes, currency: str = "USD") -> Axes:
    """Charged minus expected transcription charges per day, from
    :func:`analytics.billing_by_day`: bars above zero are overcharges, below undercharges."""
    look(ax)
    ax.set_ylabel(f"Charged minus expected ({_money(currency)})")
    ax.set_xlabel("Day (UTC, transcription received)")
    daily = audit["by_day"]
    counts = audit["counts"]
    tolerance = _price_text(audit["tolerance"], currency, per="")
    if daily.empty:
        return _no_data(ax, "charged transcriptions")
    difference = daily["difference"].astype(float).to_numpy()
    colours = [SERIES_COLORS["over"] if d > 0 else SERIES_COLORS["under"] for d in difference]
    _bars_per_day(ax, daily.index, [(difference, colours, None)])
    ax.axhline(0, color=_ink(ax), linewidth=0.8)
    _money_axis(ax.yaxis, currency)
    largest = float(np.abs(difference).max())
    span = max(largest, 10 * audit["tolerance"], 0.01) * 1.15
    ax.set_ylim(-span, span)
    if largest == 0:
        _wrap_to_fit(ax, ax.text(
            0.5, 0.62, f"Every day's charges are as expected, to within {tolerance} a"
            " transcription", transform=ax.transAxes, ha="center", va="center",
            color=_ink(ax), fontsize="small", parse_math=False))
    off = counts["mismatches"]
    _title(ax, f"{formatting.counted(counts['checked'], 'transcription')} checked:"
                 f" {formatting.count(off)} off by more than {tolerance},"
                 f" {_money_text(audit['difference'], currency)} in all")
    return ax


def plot_cost_per_day(transcriptions: pd.DataFrame, *, ax: Axes | None = None,
                      currency: str = "USD") -> Axes:
    """Transcription charges per UTC day of the transcription callback.

    ``transcriptions`` is ``schema.TRANSCRIPTIONS`` (``transcription_charge``, ``received_at``).
    """
    charges = analytics.charges_over_time(transcriptions, "D")
    return draw_charges_per_day(charges, _axes(ax), currency)


def plot_top_conferences(joined: pd.DataFrame, *, n: int = 10, by: str = "cost",
                         ax: Axes | None = None, currency: str = "USD") -> Axes:
    """The ``n`` conferences with the highest transcription cost (or minutes, or recordings).

    Parameters
    ----------
    joined
        One row per recording with its transcription (``load.join_recordings``; the columns
        ``conference_name``, ``recording_id``, ``recording_duration_ms`` and
        ``transcription_charge``).
    by
        ``"cost"``, ``"minutes"`` or ``"recordings"``.
    """
    totals = analytics.conference_totals(joined)
    return draw_conferences(analytics.top_conferences(totals, by=by, n=n), _axes(ax),
                                currency)


def plot_billing_audit(frame: pd.DataFrame, recordings: pd.DataFrame | None = None, *,
                       ax: Axes | None = None, tolerance: float = DEFAULT_TOLERANCE,
                       currency: str = "USD") -> Axes:
    """Charged minus expected transcription charges, per UTC day of the callback.

    The expected charge is ``transcription_rate`` x billed minutes (whole minutes rounded up,
    at least one) of the recording; a failed transcription is expected to cost nothing
    (:func:`analytics.billing_audit`). A day's bar is the sum of its differences: above zero
    Plivo charged more than expected, below less; the title counts the transcriptions off by
    more than ``tolerance``.

    Parameters
    ----------
    frame
        A transcriptions frame (with ``recordings`` for their exact durations), or a joined
        frame (``load.join_recordings``) alone.

    Examples
    --------
    >>> import pandas as pd
    >>> tr = pd.DataFrame({"recording_id": ["a", "b"], "transcription_rate": [0.05, 0.05],
    ...                    "transcription_charge": [0.10, 0.70], "duration": [90, 600],
    ...                    "error": [None, None], "received_at": pd.to_datetime(
    ...                        ["2026-11-02 10:00", "2026-11-03 10:00"], utc=True)})
    >>> ax = plot_billing_audit(tr)
    >>> ax.get_title()
    '2 transcriptions checked: 1 off by more than $0.005, $0.20 in all'
    """
    audit = analytics.billing_by_day(frame, recordings, tolerance=tolerance)
    return draw_billing_differences(audit, _axes(ax), currency)
