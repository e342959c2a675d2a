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
    """One chart: its title in words, what it computes, how it is drawn (module docstring)."""

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
    from .analytics._common import to_pandas, utc
    from .load import join_recordings, load_journal

    if journal is not None and not isinstance(journal, pd.DataFrame):
        journal = load_journal(journal)
    recordings, transcriptions = to_pandas(recordings), to_pandas(transcriptions)
    joined = join_recordings(recordings, transcriptions, journal=journal)
    return Frames(recordings=recordings, transcriptions=transcriptions, joined=joined,
                  rates=rates or RateCard(), journal=journal,
                  now=None if now is None else utc(now))


# The views ---------------------------------------------------------------------------------


def _plot(name: str, frame: str, **options: Any) -> tuple[Callable[[Frames], Any],
                                                          Callable[[Any, Axes, str], Axes]]:
    def compute(frames: Frames) -> Any:
        return frames

    def draw(result: Frames, ax: Axes, currency: str) -> Axes:
        from . import plots

        extra = dict(options)
        if name in ("plot_cost_per_day", "plot_top_conferences", "plot_billing_audit"):
            extra["currency"] = currency
        if name == "plot_storage_projection":
            extra.update(rates=result.rates, now=result.now)
        return getattr(plots, name)(getattr(result, frame), ax=ax, **extra)

    return compute, draw


def _view(key: str, title: str, name: str, frame: str, size: tuple[float, float] = (7.0, 4.0),
          **options: Any) -> View:
    compute, draw = _plot(name, frame, **options)
    return View(key=key, title=title, compute=compute, draw=draw, size=size)


#: The report's and the Dashboard's charts, in report order.
VIEWS: dict[str, View] = {view.key: view for view in [
    _view("minutes", "Recorded and billed minutes per day", "plot_minutes_per_day",
          "recordings"),
    _view("cost", "Transcription charges per day", "plot_cost_per_day", "transcriptions"),
    _view("durations", "Recording durations", "plot_duration_distribution", "recordings",
          log=True),
    _view("conferences", "Top conferences by transcription cost", "plot_top_conferences",
          "joined"),
    _view("outcomes", "Transcription outcomes", "plot_transcription_outcomes", "joined",
          size=(9.0, 4.0)),
    _view("turnaround", "Transcription turnaround", "plot_turnaround", "joined"),
    _view("audit", "Billing audit", "plot_billing_audit", "joined", size=(5.5, 5.0)),
    _view("storage", "Storage cost projection", "plot_storage_projection", "recordings"),
]}


# Rendering ---------------------------------------------------------------------------------


def _figure(view: View, result: Any, currency: str, width_px: int | None,
            height_px: int | None, dpi: int) -> Any:
    """A Figure (no pyplot: nothing global, safe in a worker thread) with the view drawn."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height = view.size
    if width_px is not None:
        width = width_px / dpi
    if height_px is not None:
        height = height_px / dpi
    figure = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    view.draw(result, figure.add_subplot(), currency)
    return figure


def render_png(view: View, result: Any, *, currency: str, width_px: int | None = None,
               height_px: int | None = None, dpi: int = 100) -> bytes:
    """PNG bytes of ``view`` drawn from ``result`` (``view.compute(frames)``).

    Exactly ``width_px`` x ``height_px`` pixels when given (each alone keeps the natural
    other side), else the view's natural size at ``dpi``.
    """
    for name, value in (("width_px", width_px), ("height_px", height_px)):
        if value is not None and value < 1:
            raise ValueError(f"{name}: {value!r} must be a positive number of pixels")
    figure = _figure(view, result, currency, width_px, height_px, dpi)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def render_svg(view: View, result: Any, *, currency: str, width_px: int | None = None,
               height_px: int | None = None) -> str:
    """SVG text of ``view``, sized ``width_px`` x ``height_px`` CSS pixels (default: natural).

    Drawn as the 100-dpi PNG is (the same text size relative to the chart), then declared in
    pixels, so it shows at the size asked for with no rescaling by the page.
    """
    import re

    dpi = 100
    figure = _figure(view, result, currency, width_px, height_px, dpi)
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", dpi=dpi)
    width = round(figure.get_figwidth() * dpi)
    height = round(figure.get_figheight() * dpi)
    text = buffer.getvalue()
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"',
                  rf'<svg\1 width="{width}px" height="{height}px"', text, count=1)
