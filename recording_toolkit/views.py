"""The charts the report and the Dashboard show: one registry, :data:`VIEWS`, and its renderers.

A :class:`View` pairs a title in words with an analytics call (``compute``, over the
:class:`Frames` of one selection) and a drawing of its result (``draw``), plus the table behind
the chart and a note on what was left out. The HTML report and the Dashboard both draw every
chart through :data:`VIEWS` and :func:`render_png` / :func:`render_svg`, so a chart, its figures
and its title exist once.

Rendering is exact: given ``width_px`` and ``height_px``, :func:`render_png` returns an image of
exactly that many pixels (a page or a widget shows it unscaled); without them, the view's
natural :attr:`View.size` at ``dpi``.

Examples
--------
>>> import pandas as pd
>>> from recording_toolkit import schema
>>> from recording_toolkit.config import RateCard
>>> recordings = schema.coerce(pd.DataFrame({
...     "recording_id": ["a", "b"], "conference_name": ["sales", "eng"],
...     "recording_duration_ms": [30_000, 95_000],
...     "recording_start": pd.to_datetime(["2026-11-23 10:00", "2026-11-24 11:00"], utc=True),
... }), schema.RECORDINGS)
>>> frames = frames_of(recordings, schema.empty(schema.TRANSCRIPTIONS), rates=RateCard())
>>> view = VIEWS["minutes"]
>>> png = render_png(view, view.compute(frames), currency="USD", width_px=640, height_px=320)
>>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
True
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import formatting
from .config import RateCard

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["VIEWS", "Frames", "View", "frames_of", "render_png", "render_svg"]


@dataclass(frozen=True)
class Frames:
    """What every view computes from: one selection's typed frames and the rate card.

    ``now`` sets where the storage projection starts (see
    :func:`recording_toolkit.analytics.storage_projection`); None: the data's own latest
    recording, so the same data gives the same projection wherever it is shown.
    """

    recordings: pd.DataFrame
    transcriptions: pd.DataFrame
    joined: pd.DataFrame
    rates: RateCard
    journal: pd.DataFrame | None = None
    now: pd.Timestamp | None = None


@dataclass(frozen=True)
class View:
    """One chart (see the module docstring).

    Attributes
    ----------
    key
        Its name in :data:`VIEWS` (``"minutes"``, ``"audit"``, ...).
    title
        What it shows, in words, for a heading or a menu.
    compute
        ``compute(frames)``: the figures, from :mod:`recording_toolkit.analytics` only.
    draw
        ``draw(result, ax, currency)``: draws exactly those figures (a ``plots.draw_*``).
    size
        The natural size in inches; at 100 dpi, pixels / 100.
    table
        ``table(result)``: the figures behind the chart, raw values (for CSV or a table).
    note
        ``note(result)``: what the chart leaves out and why, in words ("" when nothing).
    """

    key: str
    title: str
    compute: Callable[[Frames], Any]
    draw: Callable[[Any, Axes, str], Axes]
    size: tuple[float, float] = (7.0, 4.0)
    table: Callable[[Any], pd.DataFrame] | None = None
    note: Callable[[Any], str] | None = None


def frames_of(recordings: Any, transcriptions: Any, *, rates: RateCard | None = None,
              journal: Any = None, now: Any = None) -> Frames:
    """The :class:`Frames` of pandas (or Dask, computed here) recordings and transcriptions.

    ``journal`` (a frame, or a path ``load.load_journal`` reads) tells pending transcriptions
    from ones never asked for.
    """
    from .analytics.engine import to_pandas, utc
    from .load import join_recordings, load_journal

    if journal is not None and not isinstance(journal, pd.DataFrame):
        journal = load_journal(journal)
    recordings, transcriptions = to_pandas(recordings), to_pandas(transcriptions)
    joined = join_recordings(recordings, transcriptions, journal=journal)
    return Frames(recordings=recordings, transcriptions=transcriptions, joined=joined,
                  rates=rates or RateCard(), journal=journal,
                  now=None if now is None else utc(now))


# The views ---------------------------------------------------------------------------------
# Each compute calls analytics only; each draw is a plots.draw_* function; each note says in
# words what the chart leaves out, with the same counts the summary gives.


def _draw(name: str, part: str | None = None) -> Callable[[Any, Axes, str], Axes]:
    """``plots.<name>`` of the result (or of ``result[part]``)."""

    def draw(result: Any, ax: Axes, currency: str) -> Axes:
        from . import plots

        return getattr(plots, name)(result if part is None else result[part], ax, currency)

    draw.__name__ = name
    return draw


def _minutes(frames: Frames) -> dict[str, Any]:
    from . import analytics

    # minutes_over_time per day, with how many recordings had no start or duration
    minutes = analytics.rounding_overhead(frames.recordings, rates=frames.rates)
    daily = minutes["by_period"][["recordings", "recorded_minutes", "billed_minutes"]]
    return {"daily": daily, "left_out": minutes["left_out"]}


def _left_out_recordings(n: int) -> str:
    return "" if not n else f"{formatting.counted(n, 'recording')} with no start or duration left out."


def _overhead(frames: Frames) -> dict[str, Any]:
    from . import analytics

    return analytics.rounding_overhead(frames.recordings, frames.transcriptions,
                                       rates=frames.rates)


def _overhead_note(result: dict[str, Any]) -> str:
    if not result["billed_minutes"]:
        return _left_out_recordings(result["left_out"])
    words = (f"Plivo bills each recording in whole minutes, rounded up: "
             f"{formatting.count(result['billed_minutes'])} billed for"
             f" {formatting.number(result['recorded_minutes'])} recorded.")
    if result.get("transcribed_overhead_minutes") is not None:
        words += (f" {formatting.number(result['transcribed_overhead_minutes'])} of the extra"
                  " minutes were transcribed, at the rate each callback reports.")
    return " ".join(w for w in (words, _left_out_recordings(result["left_out"])) if w)


def _cost(frames: Frames) -> dict[str, Any]:
    from . import analytics

    return {**analytics.charges_over_time(frames.transcriptions, "D"),
            "currency": frames.rates.currency}


def _cost_note(result: dict[str, Any]) -> str:
    n = result["no_time"]
    if not n:
        return ""
    return (f"{formatting.counted(n, 'callback')} with no time received"
            f" ({formatting.money(result['no_time_charge'], result['currency'])})"
            f" {'is' if n == 1 else 'are'} in"
            " the total, on no day.")


def _conferences(frames: Frames) -> dict[str, Any]:
    from . import analytics

    totals = analytics.conference_totals(frames.recordings, frames.transcriptions)
    return {**analytics.top_conferences(totals, by="cost", n=10), "all": totals,
            "currency": frames.rates.currency}


def _conferences_note(result: dict[str, Any]) -> str:
    from .analytics.cost import UNKNOWN_CONFERENCE

    if UNKNOWN_CONFERENCE not in result["all"].index:
        return ""
    return (f"{formatting.money(result['unknown_charge'], result['currency'])} was charged for"
            " transcriptions whose recording callback is missing, so their conference is not"
            " known; it is not shown.")


def _durations(frames: Frames) -> dict[str, Any]:
    from . import analytics

    return analytics.duration_distribution(frames.recordings, log=True)


def _durations_note(result: dict[str, Any]) -> str:
    parts = []
    if result["no_duration"]:
        parts.append(f"{formatting.count(result['no_duration'])} have no duration")
    if result["not_positive"]:
        parts.append(f"{formatting.count(result['not_positive'])} last 0 ms (not on a log"
                     " axis)")
    if not parts:
        return ""
    return (f"{formatting.count(result['drawn'])} of"
            f" {formatting.counted(result['recordings'], 'recording')} drawn;"
            f" {' and '.join(parts)}.")


def _outcomes(frames: Frames) -> dict[str, Any]:
    from . import analytics

    counts = analytics.transcription_counts(frames.transcriptions)
    answered = analytics.outcome_counts(frames.joined)
    drawn = int(answered.loc[answered["outcome"].isin(["transcribed", "failed"]),
                             "count"].sum())
    return {"counts": answered, "received": counts["received"], "answered": drawn}


def _outcomes_note(result: dict[str, Any]) -> str:
    counts = result["counts"]
    words = []
    pending = counts.loc[counts["outcome"] == "pending", "count"].sum()
    if pending:
        words.append(f"Pending: transcription asked for, no callback yet"
                     f" ({formatting.count(pending)}).")
    orphans = result["received"] - result["answered"]
    if orphans:
        words.append(f"{formatting.count(result['answered'])} of"
                     f" {formatting.counted(result['received'], 'transcription callback')} counted here;"
                     f" the other {formatting.count(orphans)}"
                     f" {'is' if orphans == 1 else 'are'} for recordings whose recording"
                     " callback is missing.")
    return " ".join(words)


def _turnaround(frames: Frames) -> dict[str, Any]:
    from . import analytics

    return analytics.turnaround_distribution(frames.recordings, frames.transcriptions)


def _turnaround_note(result: dict[str, Any]) -> str:
    n = result["unmeasured"]
    if not n:
        return ""
    total = result["count"] + n
    return (f"{formatting.count(result['count'])} of {formatting.counted(total, 'transcription')}"
            f" measured; {formatting.count(n)} {'has' if n == 1 else 'have'} no recording"
            " callback, so no recording end to measure from.")


def _audit(frames: Frames) -> dict[str, Any]:
    from . import analytics

    return analytics.billing_by_day(frames.transcriptions, frames.recordings,
                                    rates=frames.rates)


def _audit_note(result: dict[str, Any]) -> str:
    counts = result["counts"]
    if not counts["audited"]:
        return ""
    if counts["checked"] == counts["audited"]:
        words = ("The only transcription charge checked" if counts["audited"] == 1 else
                 f"All {formatting.count(counts['audited'])} transcription charges checked")
    else:
        words = (f"{formatting.count(counts['checked'])} of"
                 f" {formatting.counted(counts['audited'], 'transcription')} audited")
    reasons = [(counts["no_duration"], "no duration to check"),
               (counts["no_rate"], "no rate"), (counts["no_charge"], "no charge reported")]
    why = [f"{formatting.count(n)} {'has' if n == 1 else 'have'} {what}" for n, what in reasons
           if n]
    words += ("; " + "; ".join(why)) if why else ""
    words += (". Expected: the rate each callback reports × the recording's billed minutes"
              " (a failed transcription: nothing).")
    if result["no_time"]:
        n = result["no_time"]
        words += f" {formatting.count(n)} with no time received {'is' if n == 1 else 'are'} on no day."
    return words


def _storage(frames: Frames) -> dict[str, Any]:
    from . import analytics

    return analytics.storage_outlook(frames.recordings, rates=frames.rates, months=12,
                                     now=frames.now)


def _storage_note(result: dict[str, Any]) -> str:
    words = ""
    if result["recordings"]:
        why = "the month of the latest recording" if result["now"] is None else "now"
        words = (f"From {result['months'].index[0]:%B %Y} ({why}), assuming every recording"
                 " is kept.")
    return " ".join(w for w in (words, _left_out_recordings(result["left_out"])) if w)


def _table_of(key: str) -> Callable[[Any], pd.DataFrame]:
    def table(result: Any) -> pd.DataFrame:
        return result[key] if isinstance(result, dict) else result

    return table


#: The report's and the Dashboard's charts, in report order.
VIEWS: dict[str, View] = {view.key: view for view in [
    View("minutes", "Recorded and billed minutes per day", _minutes,
         _draw("draw_minutes_per_day", "daily"),
         table=_table_of("daily"), note=lambda r: _left_out_recordings(r["left_out"])),
    View("overhead", "Rounding overhead: billed beyond recorded minutes", _overhead,
         _draw("draw_rounding_overhead"), table=_table_of("by_period"), note=_overhead_note),
    View("cost", "Transcription charges per day", _cost, _draw("draw_charges_per_day"),
         table=_table_of("by_period"), note=_cost_note),
    View("conferences", "Top conferences by transcription charges", _conferences,
         _draw("draw_conferences"), table=_table_of("all"), note=_conferences_note),
    View("durations", "Recording durations", _durations, _draw("draw_duration_distribution"),
         table=lambda r: pd.DataFrame({"from_minutes": r["edges"][:-1],
                                       "to_minutes": r["edges"][1:],
                                       "recordings": r["counts"]}),
         note=_durations_note),
    View("outcomes", "Transcription outcomes", _outcomes, _draw("draw_outcomes", "counts"),
         table=_table_of("counts"), note=_outcomes_note),
    View("turnaround", "Transcription turnaround", _turnaround, _draw("draw_turnaround"),
         table=lambda r: pd.DataFrame([{k: v for k, v in r.items()
                                        if k not in ("minutes", "marks", "shares")}]),
         note=_turnaround_note),
    View("audit", "Billing audit: charged minus expected", _audit,
         _draw("draw_billing_differences"), table=_table_of("by_day"), note=_audit_note),
    View("storage", "Storage cost projection", _storage, _draw("draw_storage_projection"),
         table=_table_of("months"), note=_storage_note),
]}


# Rendering ---------------------------------------------------------------------------------


def _figure(view: View, result: Any, currency: str, width_px: int | None,
            height_px: int | None, dpi: int) -> Any:
    """A Figure (no pyplot: nothing global, safe in a worker thread) with the view drawn."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height = view.size
    # A hair over the exact size: matplotlib truncates width x dpi to whole pixels.
    if width_px is not None:
        width = (width_px + 1e-6) / dpi
    if height_px is not None:
        height = (height_px + 1e-6) / dpi
    figure = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    view.draw(result, figure.add_subplot(), currency)
    return figure


def _saved(view: View, result: Any, currency: str, width_px: int | None,
           height_px: int | None, dpi: int, fmt: str) -> tuple[Any, bytes]:
    """The figure drawn and saved; no global setting is touched (safe in worker threads)."""
    buffer = io.BytesIO()
    figure = _figure(view, result, currency, width_px, height_px, dpi)
    figure.savefig(buffer, format=fmt, dpi=dpi)
    return figure, buffer.getvalue()


def render_png(view: View, result: Any, *, currency: str, width_px: int | None = None,
               height_px: int | None = None, dpi: int = 100) -> bytes:
    """PNG bytes of ``view`` drawn from ``result`` (``view.compute(frames)``).

    Exactly ``width_px`` x ``height_px`` pixels when given (each alone keeps the natural
    other side), else the view's natural size at ``dpi``.
    """
    for name, value in (("width_px", width_px), ("height_px", height_px)):
        if value is not None and value < 1:
            raise ValueError(f"{name}: {value!r} must be a positive number of pixels")
    return _saved(view, result, currency, width_px, height_px, dpi, "png")[1]


def render_svg(view: View, result: Any, *, currency: str, width_px: int | None = None,
               height_px: int | None = None) -> str:
    """SVG text of ``view``, sized ``width_px`` x ``height_px`` CSS pixels (default: natural).

    Drawn as the 100-dpi PNG is (the same text size relative to the chart), then declared in
    pixels, so it shows at the size asked for with no rescaling by the page.
    """
    import re

    dpi = 100
    figure, data = _saved(view, result, currency, width_px, height_px, dpi, "svg")
    width = int(figure.get_figwidth() * dpi)
    height = int(figure.get_figheight() * dpi)
    text = data.decode("utf-8")
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"',
                  rf'<svg\1 width="{width}px" height="{height}px"', text, count=1)
