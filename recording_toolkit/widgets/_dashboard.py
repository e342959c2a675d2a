"""``Dashboard``: filters, a summary and charts over callback logs, optionally live."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import pandas as pd

from .. import plots
from ._render import dot, figure_png, html_table

if TYPE_CHECKING:
    from ..config import RateCard
    from ..load import LoadResult

__all__ = ["METRICS", "Dashboard"]

#: The charts the metric menu offers: value -> label.
METRICS: dict[str, str] = {
    "minutes": "Recorded and billed minutes per day",
    "cost": "Transcription cost per day",
    "conferences": "Top conferences by transcription cost",
    "durations": "Duration distribution",
    "turnaround": "Transcription turnaround",
    "audit": "Billing audit (expected vs charged)",
    "storage": "Storage cost projection",
}

_RECENT_COLUMNS = [("new", ""), ("received", "Received (UTC)"), ("event", "Callback"),
                   ("recording_id", "Recording id"), ("conference_name", "Conference"),
                   ("detail", "Detail")]


def _source_paths(source: Any) -> list[str] | None:
    """The log paths to (re)load ``source`` from, or None when it is already loaded data."""
    if hasattr(source, "recordings") and hasattr(source, "transcriptions"):
        return None
    if hasattr(source, "log_dir") and hasattr(source, "recording_callback_url"):
        return [os.fspath(source.log_dir)]  # a CallbackReceiver
    if isinstance(source, str | os.PathLike):
        return [os.fspath(source)]
    if isinstance(source, Sequence) and source and all(
            isinstance(s, str | os.PathLike) for s in source):
        return [os.fspath(s) for s in source]
    raise TypeError("source: expected a LoadResult, a CallbackReceiver, or log paths (a file,"
                    f" folder or glob, or a list of them); got {type(source).__name__}")


def _files_signature(paths: Sequence[str]) -> tuple[tuple[str, int, int], ...]:
    """(path, size, mtime) of every file under ``paths``: cheap, and changes on any append."""
    found: list[tuple[str, int, int]] = []
    for root in paths:
        base = Path(root)
        if base.is_file():
            stat = base.stat()
            found.append((str(base), stat.st_size, stat.st_mtime_ns))
            continue
        if not base.is_dir():
            continue  # a glob: reload every time
        for folder, dirs, files in os.walk(base):
            dirs[:] = [d for d in dirs if not d.startswith(("_", "."))]
            for name in files:
                try:
                    stat = os.stat(os.path.join(folder, name))
                except FileNotFoundError:  # rotated away between listing and stat
                    continue
                found.append((os.path.join(folder, name), stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(found))


class Dashboard(widgets.VBox):
    """A summary and charts of callback logs, filtered by date and conference.

    Parameters
    ----------
    source
        What to show: a :class:`~recording_toolkit.LoadResult`, log paths (a file, a folder, a
        glob, or a list of them), or a running :class:`~recording_toolkit.CallbackReceiver`
        (its log folder). Paths and receivers can be reloaded, and watched in live mode.
    rates
        The :class:`~recording_toolkit.RateCard` for costs (default: the documented defaults).
    journal
        A request journal (path or frame) to tell "not requested" from "pending" transcriptions.
        A path that does not exist yet (a client's journal before its first request) means no
        journal until it appears; the status line says so.
    metric
        The chart shown first (a key of :data:`METRICS`).
    live, interval
        Start in live mode, reloading every ``interval`` seconds.
    recent
        How many of the latest callbacks the live feed shows.

    Attributes
    ----------
    start_date, end_date
        ``DatePicker``\\ s: recordings that started on these UTC days or between them (empty:
        no bound).
    conferences
        ``SelectMultiple`` of conference names (nothing selected: every conference).
    metric
        ``Dropdown`` choosing :attr:`chart`'s contents.
    summary
        The key figures of the selection (``HTML``).
    chart, outcomes
        The chosen chart and the transcription outcomes chart (``Image`` widgets, PNG).
    live
        ``ToggleButton``: reload the log every few seconds and show new callbacks.
    recent
        The latest callbacks, newest first, new ones marked (``HTML``).
    status
        What was loaded, from where and when, or what went wrong.

    Examples
    --------
    Changing a control updates the summary and charts at once::

        dash = Dashboard("data/")
        dash.conferences.value = ("weekly-sync",)
        dash.metric.value = "cost"
        dash.start_live(interval=2); ...; dash.stop_live()
    """

    def __init__(self, source: Any, *, rates: RateCard | None = None, journal: Any = None,
                 metric: str = "minutes", live: bool = False, interval: float = 5.0,
                 recent: int = 8, chart_size: tuple[float, float] = (7.5, 3.8)) -> None:
        if metric not in METRICS:
            raise ValueError(f"metric: {metric!r} is not one of {sorted(METRICS)}")
        if interval <= 0:
            raise ValueError(f"interval: {interval!r} must be a positive number of seconds")
        from ..config import RateCard

        self.source = source
        self._paths = _source_paths(source)
        self.rates = rates or RateCard()
        self.journal = journal
        self._journal_frame: pd.DataFrame | None = None
        self.interval = interval
        self.recent_count = recent
        self.chart_size = chart_size
        self._lock = threading.RLock()
        self._signature: tuple[tuple[str, int, int], ...] | None = None
        self._seen: set[tuple[str, str]] = set()
        self._live_thread: threading.Thread | None = None
        self._live_stop = threading.Event()
        self._updating = False
        self.loads = 0
        self.refreshes = 0

        self.start_date = widgets.DatePicker(description="From", value=None)
        self.end_date = widgets.DatePicker(description="To", value=None)
        self.conferences = widgets.SelectMultiple(
            options=[], description="Conferences", rows=6,
            tooltip="Nothing selected: every conference", style={"description_width": "initial"})
        self.metric = widgets.Dropdown(options=[(label, key) for key, label in METRICS.items()],
                                       value=metric, description="Chart",
                                       layout=widgets.Layout(width="28em"))
        self.live = widgets.ToggleButton(value=False, description="Live", icon="refresh",
                                         tooltip="Reload the log every few seconds",
                                         disabled=self._paths is None)
        self.summary = widgets.HTML()
        self.chart = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.outcomes = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.recent = widgets.HTML()
        self.status = widgets.HTML()

        self.result: LoadResult = self._load() if self._paths is not None else source
        self._remember_seen(mark_new=False)
        self._update_conference_options()
        for control in (self.start_date, self.end_date, self.conferences):
            control.observe(self._on_change, names="value")
        self.metric.observe(self._on_metric, names="value")
        self.live.observe(self._on_live, names="value")
        self.refresh()
        super().__init__([
            widgets.HBox([widgets.VBox([self.start_date, self.end_date, self.metric,
                                        self.live]),
                          self.conferences]),
            self.status,
            widgets.HBox([self.summary, self.outcomes]),
            self.chart,
            widgets.HTML("<b>Latest callbacks</b>"),
            self.recent,
        ])
        if live:
            self.start_live()

    # -- loading --

    def _load(self) -> LoadResult:
        from ..load import load_callbacks

        assert self._paths is not None
        signature = _files_signature(self._paths)
        source: Any = self._paths[0] if len(self._paths) == 1 else self._paths
        result = load_callbacks(source, progress=False)
        self._journal_frame = None  # read again with the logs: it grows with them
        self._signature = signature
        self.loads += 1
        return result

    def reload(self, *, if_changed: bool = False) -> bool:
        """Load the source again and refresh; True if anything was (re)loaded.

        ``if_changed``: skip the work when no log file changed size or time since the last
        load (what live mode does every few seconds).
        """
        if self._paths is None:
            raise RuntimeError("this Dashboard was given loaded data; give it log paths or a "
                               "CallbackReceiver to reload")
        with self._lock:
            if if_changed and _files_signature(self._paths) == self._signature:
                return False
            self.result = self._load()
            self._remember_seen(mark_new=True)
            self._update_conference_options()
            self.refresh()
            return True

    def _remember_seen(self, *, mark_new: bool) -> None:
        keys = set(_callback_keys(self.result))
        self._new = keys - self._seen if mark_new else set()
        self._seen = keys

    def _update_conference_options(self) -> None:
        names = self.result.recordings["conference_name"].dropna().astype(str).unique()
        options = sorted(names)
        if list(self.conferences.options) != options:
            chosen = tuple(v for v in self.conferences.value if v in options)
            self._updating = True  # one refresh for the whole change, not one per trait
            try:
                self.conferences.options = options
                self.conferences.value = chosen
            finally:
                self._updating = False

    # -- filtering --

    def _on_change(self, change: Any = None) -> None:
        if not self._updating:
            self.refresh()

    def _on_metric(self, change: Any = None) -> None:
        # Only the chart shows the metric: the summary and the outcomes stay as they are.
        with self._lock:
            recordings, transcriptions = self.selection()
            self._draw_chart(recordings, transcriptions, self._joined(recordings,
                                                                      transcriptions))

    def filters(self) -> dict[str, Any]:
        """The controls as :func:`~recording_toolkit.analytics.select` /
        :func:`~recording_toolkit.report.summarize` arguments: ``since``, ``until`` (UTC
        midnights, ``until`` exclusive, so the end day is included) and ``conferences``."""
        start, end = self.start_date.value, self.end_date.value
        return {"since": None if start is None else _utc_midnight(start),
                "until": None if end is None else _utc_midnight(end) + pd.Timedelta(days=1),
                "conferences": tuple(self.conferences.value) or None}

    def selection(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The recordings and transcriptions the controls select (copies of the frames)."""
        from ..analytics import select

        recordings, transcriptions = select(self.result.recordings, self.result.transcriptions,
                                            **self.filters())
        return recordings.copy(), transcriptions.copy()

    # -- drawing --

    def refresh(self) -> None:
        """Recompute the summary and redraw the charts for the current controls."""
        from ..report import summarize

        with self._lock:
            filters = self.filters()
            if filters["since"] is not None and filters["until"] is not None and \
                    filters["until"] <= filters["since"]:
                self.status.value = dot("error") + "The end date is before the start date."
                return
            recordings, transcriptions = self.selection()
            joined = self._joined(recordings, transcriptions)
            # The report's own figures for the same selection: one definition of each number.
            summary = summarize(self.result, rates=self.rates, **filters)
            self.summary.value = _summary_table(summary.to_dict(), self.rates.currency)
            self._draw_chart(recordings, transcriptions, joined)
            self.outcomes.value = figure_png(
                lambda ax: plots.plot_transcription_outcomes(joined, ax=ax),
                size=(self.chart_size[0] * 0.8, self.chart_size[1] * 0.8))
            self.recent.value = self._recent_table()
            self.status.value = self._status_line()
            self.refreshes += 1

    def _journal(self) -> pd.DataFrame | None:
        if self.journal is None or isinstance(self.journal, pd.DataFrame):
            return self.journal
        if self._journal_frame is None:
            if not Path(self.journal).exists():
                # A live journal is written from the first request on; until then there is
                # none (the status line says so), and it is looked for again on each reload.
                return None
            from ..load import load_journal

            self._journal_frame = load_journal(self.journal)
        return self._journal_frame

    def _joined(self, recordings: pd.DataFrame, transcriptions: pd.DataFrame) -> pd.DataFrame:
        from ..load import join_recordings

        return join_recordings(recordings, transcriptions, journal=self._journal())

    def _draw_chart(self, recordings: pd.DataFrame, transcriptions: pd.DataFrame,
                    joined: pd.DataFrame) -> None:
        self.chart.value = figure_png(
            lambda ax: self._draw_metric(ax, recordings, transcriptions, joined),
            size=self.chart_size)

    def _draw_metric(self, ax: Any, recordings: pd.DataFrame, transcriptions: pd.DataFrame,
                     joined: pd.DataFrame) -> None:
        currency = self.rates.currency
        key = self.metric.value
        if key == "minutes":
            plots.plot_minutes_per_day(recordings, ax=ax)
        elif key == "cost":
            plots.plot_cost_per_day(transcriptions, ax=ax, currency=currency)
        elif key == "conferences":
            plots.plot_top_conferences(joined, ax=ax, currency=currency)
        elif key == "durations":
            plots.plot_duration_distribution(recordings, ax=ax, log=True)
        elif key == "turnaround":
            plots.plot_turnaround(joined, ax=ax)
        elif key == "audit":
            plots.plot_billing_audit(joined, ax=ax, currency=currency)
        elif key == "storage":
            plots.plot_storage_projection(recordings, ax=ax, rates=self.rates)

    def _recent_table(self) -> str:
        rows = _recent_callbacks(self.result, self.recent_count)
        for row in rows:
            row["new"] = dot("busy") if (row["event"], row["recording_id"]) in self._new else ""
        return html_table(rows, _RECENT_COLUMNS, raw=("new",), empty="No callbacks yet.")

    def _status_line(self) -> str:
        stats = getattr(self.result, "stats", None)
        stats = stats.to_dict() if hasattr(stats, "to_dict") else dict(stats or {})
        where = ", ".join(self._paths) if self._paths else "loaded data"
        n_rec = len(self.result.recordings)
        n_tr = len(self.result.transcriptions)
        text = (f"{n_rec:,} recordings and {n_tr:,} transcriptions from "
                f"<code>{_escape(where)}</code>")
        if stats.get("quarantined"):
            text += f"; {stats['quarantined']:,} lines quarantined"
        if self.journal is not None and not isinstance(self.journal, pd.DataFrame) and \
                not Path(self.journal).exists():
            text += f"; no journal at <code>{_escape(os.fspath(self.journal))}</code> yet"
        text += f"; updated {datetime.now(UTC):%H:%M:%S} UTC"
        if self.live_running:
            text += f"; live, every {self.interval:g} s"
        return text + "."

    # -- live mode --

    @property
    def live_running(self) -> bool:
        thread = self._live_thread
        return thread is not None and thread.is_alive()

    def _on_live(self, change: Any) -> None:
        if change["new"]:
            self.start_live()
        else:
            self.stop_live()

    def start_live(self, interval: float | None = None) -> None:
        """Reload every ``interval`` seconds (when a log file changed) until :meth:`stop_live`."""
        if self._paths is None:
            raise RuntimeError("live mode needs log paths or a CallbackReceiver as the source")
        if interval is not None:
            if interval <= 0:
                raise ValueError(f"interval: {interval!r} must be a positive number of seconds")
            self.interval = interval
        if self.live_running:
            return
        self._live_stop.clear()
        self._live_thread = threading.Thread(target=self._live_loop, name="dashboard-live",
                                             daemon=True)
        self._live_thread.start()
        if not self.live.value:
            self.live.value = True
        self.status.value = self._status_line()

    def _live_loop(self) -> None:
        while not self._live_stop.wait(self.interval):
            try:
                self.reload(if_changed=True)
            except Exception as exc:  # show it and try again next time; never die silently
                self.status.value = dot("error") + _escape(
                    f"Reloading failed: {type(exc).__name__}: {exc}")

    def stop_live(self, timeout: float = 10.0) -> None:
        """Stop live mode (waits for a reload in progress)."""
        self._live_stop.set()
        thread, self._live_thread = self._live_thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        if self.live.value:
            self.live.value = False
        self.status.value = self._status_line()

    def close(self) -> None:
        """Stop live mode and close the widgets."""
        # Also called by Widget.__del__, possibly on a dashboard whose __init__ raised.
        if "_live_stop" in self.__dict__:
            self._live_stop.set()
            thread, self._live_thread = self._live_thread, None
            if thread is not None and thread is not threading.current_thread():
                thread.join(10.0)
        for name in ("start_date", "end_date", "conferences", "metric", "live", "summary",
                     "chart", "outcomes", "recent", "status"):
            child = self.__dict__.get(name)
            if child is not None:
                child.close()
        super().close()

    def __repr__(self) -> str:
        where = ", ".join(self._paths) if self._paths else "loaded data"
        return (f"<Dashboard {where!r} recordings={len(self.result.recordings)} "
                f"live={self.live_running}>")


# helpers -------------------------------------------------------------------------------------


def _utc_midnight(day: date) -> pd.Timestamp:
    return pd.Timestamp(day.year, day.month, day.day, tz="UTC")


def _escape(text: str) -> str:
    import html

    return html.escape(text)


def _callback_keys(result: Any) -> list[tuple[str, str]]:
    keys = [("recording", str(r)) for r in result.recordings["recording_id"].dropna()]
    keys += [("transcription", str(r)) for r in result.transcriptions["recording_id"].dropna()]
    return keys


def _recent_callbacks(result: Any, n: int) -> list[dict[str, Any]]:
    """The ``n`` latest callbacks of both kinds, newest first, as table rows."""
    recordings = result.recordings.nlargest(n, "received_at") if len(result.recordings) else \
        result.recordings
    transcriptions = result.transcriptions.nlargest(n, "received_at") if len(
        result.transcriptions) else result.transcriptions
    conference = dict(zip(result.recordings["recording_id"].astype(str),
                          result.recordings["conference_name"], strict=True))
    rows = []
    for rec in recordings.itertuples(index=False):
        seconds = rec.recording_duration_ms / 1000 if pd.notna(rec.recording_duration_ms) else None
        rows.append({"at": rec.received_at, "event": "recording",
                     "recording_id": str(rec.recording_id),
                     "conference_name": _text(rec.conference_name),
                     "detail": f"{seconds:,.1f} s" if seconds is not None else ""})
    for tr in transcriptions.itertuples(index=False):
        rows.append({"at": tr.received_at, "event": "transcription",
                     "recording_id": str(tr.recording_id),
                     "conference_name": _text(conference.get(str(tr.recording_id))),
                     "detail": _text(tr.error) or "transcribed"})
    rows = sorted((r for r in rows if pd.notna(r["at"])), key=lambda r: r["at"],
                  reverse=True)[:n]
    for row in rows:
        row["received"] = row.pop("at").strftime("%Y-%m-%d %H:%M:%S")
    return rows


def _text(value: Any) -> str:
    return "" if value is None or value is pd.NA or (isinstance(value, float) and value != value) \
        else str(value)


def _get(data: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _summary_table(data: dict[str, Any], currency: str) -> str:
    """The key figures of a summary (``report.Summary.to_dict()``) as a two-column table."""

    def number(value: Any, fmt: str) -> str:
        return "–" if value is None else fmt.format(value)

    rows = [
        ("Recordings", number(_get(data, "recordings.count"), "{:,}")),
        ("Conferences", number(_get(data, "recordings.conferences"), "{:,}")),
        ("Recorded minutes", number(_get(data, "recordings.total_minutes"), "{:,.1f}")),
        ("Billed minutes", number(_get(data, "recordings.billed_minutes"), "{:,}")),
        ("Median duration", number(_get(data, "recordings.duration_seconds.median"),
                                   "{:,.0f} s")),
        ("Transcriptions received", number(_get(data, "transcriptions.received"), "{:,}")),
        ("Transcription success rate", number(_get(data, "transcriptions.success_rate"),
                                              "{:.1%}")),
        ("Transcription coverage", number(_get(data, "transcriptions.coverage"), "{:.1%}")),
        (f"Transcription charges ({currency})",
         number(_get(data, "transcriptions.charge_total"), "{:,.2f}")),
        ("Median turnaround", number(_get(data, "transcriptions.turnaround_seconds.median"),
                                     "{:,.0f} s")),
    ]
    return html_table([{"figure": k, "value": v} for k, v in rows],
                      [("figure", "Selection"), ("value", "")])
