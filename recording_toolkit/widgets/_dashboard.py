"""``Dashboard``: filters, a summary and charts over callback logs, optionally live.

Every chart is one of :data:`recording_toolkit.views.VIEWS`, the report's own, drawn at exactly
the pixel size the page shows it (nothing is rescaled by the browser, so nothing is blurred or
squashed), and narrow enough for a notebook beside JupyterLab's file browser at 1100 px.
"""

from __future__ import annotations

import html
import os
import threading
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import pandas as pd

from .. import formatting as fmt
from ..views import VIEWS, frames_of, render_png
from ._aliases import renamed as _renamed
from ._day import DayField
from ._export import download_links, excel_available, export_tables
from ._picker import ConferencePicker
from ._render import dot, html_table
from ._search import hits_html
from ._teams import TEAM_CHART_TITLE, team_chart_png, team_chart_size

if TYPE_CHECKING:
    from ..config import RateCard
    from ..load import LoadResult
    from ..teams import Teams
    from ..views import Frames

__all__ = ["METRICS", "Dashboard"]

#: The view shown beside the summary, whatever the chart menu says.
OUTCOMES = "outcomes"

#: The charts the chart menu offers (key -> title): every view of
#: :data:`recording_toolkit.views.VIEWS` but the outcomes, which is always shown.
METRICS: dict[str, str] = {key: view.title for key, view in VIEWS.items() if key != OUTCOMES}

#: Chart width in pixels: fits a notebook's output area at 1100 px with the file browser open.
CHART_WIDTH = 640

_RECENT_COLUMNS = [("new", ""), ("received", "Received (UTC)"), ("recording_id", "Recording id"),
                   ("conference_name", "Conference"), ("detail", "Callback")]
#: The recording id takes what is left: one line on a wide page, two on a narrow one.
_RECENT_WIDTHS = {"new": "1.5em", "received": "12.5em", "conference_name": "9em",
                  "detail": "12em"}
_RECENT_WRAP = ("recording_id", "conference_name", "detail")

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
        The chart shown first (a key of :data:`METRICS`, i.e. of
        :data:`recording_toolkit.views.VIEWS`).
    live, interval
        Start in live mode, reloading every ``interval`` seconds.
    recent
        How many of the latest callbacks the live feed shows.
    chart_width
        Width of the charts in pixels; each is drawn at exactly that width and its own aspect
        ratio, and shown unscaled. The default fits JupyterLab at 1100 px with the file browser
        open; widen it on a wide screen.
    export_folder
        Where :attr:`export` writes the selection's tables (a folder; created when needed).
    teams
        Who pays for which conferences (:class:`~recording_toolkit.teams.Teams`, a mapping
        ``{team: [glob, ...]}`` or a teams file's path): adds the team filter and the cost by
        team chart. Without it neither is shown.

    Attributes
    ----------
    start_date, end_date
        :class:`DayField`\\ s: recordings that started on these UTC days or between them, typed
        as ``YYYY-MM-DD`` (empty: no bound). ``.value`` is a ``date`` or None.
    conferences
        :class:`ConferencePicker`: a search box, the list, *Select all*, *Clear* and how many
        are selected; ``.value`` is the chosen names (none chosen: every conference).
    metric_picker
        ``Dropdown`` choosing :attr:`chart`'s contents (starts at ``metric``). ``metric`` is a
        deprecated alias of it.
    summary
        The key figures of the selection (``HTML``), formatted for reading.
    forecast
        The selection's spend forecast under the summary (``HTML``): spend this month to date,
        the projected month-end and the change against the same days of last month
        (:func:`recording_toolkit.analytics.spend_forecast`, as of the selection's latest
        callback, as the report's Forecast section).
    chart, outcomes
        The chosen chart and the transcription outcomes chart (``Image`` widgets, PNG, shown at
        their pixel size). :attr:`chart_note` says what the chart leaves out, if anything.
    live_toggle
        ``ToggleButton``: reload the log every few seconds and show new callbacks (starts on
        with ``live=True``; :meth:`start_live` and :meth:`stop_live` switch it too).
    recent_table
        The latest callbacks of the selection (at most ``recent`` of them), newest first, new
        ones marked (``HTML``). ``recent`` is a deprecated alias of it.
    export_folder, export, export_message
        Where to write, the button that writes the selection's tables (CSV, and one Excel
        workbook when openpyxl is installed), and what it wrote where.
    search_box, search_button, search_results
        Transcript search over the selection: type a word or phrase and press Enter (or
        *Search*); :attr:`search_results` lists the transcriptions that mention it (conference,
        recording start, matches, the text around the first match with the match marked),
        ordered by recording start (:func:`~recording_toolkit.analytics.search_transcripts`,
        literal and regardless of case). The list follows the other filters.
    team_picker, team_chart
        With ``teams``: a ``SelectMultiple`` of the teams (none chosen: every team), which
        narrows the selection to the chosen teams' recordings, and the chart of each team's
        billed minutes and transcription charges over the date and conference selection
        (:func:`~recording_toolkit.analytics.team_costs`; teams not chosen in grey).
    status
        What was loaded, from where and when, or what went wrong.

    Examples
    --------
    Changing a control updates the summary and charts at once::

        dash = Dashboard("data/")
        dash.conferences.value = ("weekly-sync",)
        dash.start_date.value = "2026-11-09"
        dash.metric_picker.value = "cost"
        dash.export.click()            # the tables of this selection, as CSV
        dash.search_box.value = "budget"  # the transcriptions that mention it
        dash.start_live(interval=2); ...; dash.stop_live()
    """

    def __init__(self, source: Any, *, rates: RateCard | None = None, journal: Any = None,
                 metric: str = "minutes", live: bool = False, interval: float = 5.0,
                 recent: int = 8, chart_width: int = CHART_WIDTH,
                 export_folder: str | os.PathLike[str] = "dashboard-export",
                 teams: Any = None) -> None:
        if metric not in METRICS:
            raise ValueError(f"metric: {metric!r} is not one of {sorted(METRICS)}")
        if interval <= 0:
            raise ValueError(f"interval: {interval!r} must be a positive number of seconds")
        if not isinstance(chart_width, int) or chart_width < 200:
            raise ValueError(f"chart_width: {chart_width!r} must be a whole number of pixels, "
                             "200 or more")
        from ..analytics.chargeback import as_teams
        from ..config import RateCard

        self.teams: Teams | None = None if teams is None else as_teams(teams)
        self.source = source
        self._paths = _source_paths(source)
        self.rates = rates or RateCard()
        self.journal = journal
        self._journal_frame: pd.DataFrame | None = None
        self.interval = interval
        self.recent_count = recent
        self.chart_width = chart_width
        self._lock = threading.RLock()
        self._signature: tuple[tuple[str, int, int], ...] | None = None
        self._seen: set[tuple[str, str]] = set()
        self._new: set[tuple[str, str]] = set()
        self._live_thread: threading.Thread | None = None
        self._live_stop = threading.Event()
        self._updating = False
        self._frames: Frames | None = None
        self.last_export: Any = None  # what the last export wrote (an Export), if any

        self.start_date = DayField("From", width="14em")
        self.end_date = DayField("To", width="14em")
        self.conferences = ConferencePicker(rows=8)
        self.metric_picker = widgets.Dropdown(
            options=[(label, key) for key, label in METRICS.items()], value=metric,
            description="Chart", style={"description_width": "3.5em"},
            layout=widgets.Layout(width="23em"))
        self.live_toggle = widgets.ToggleButton(value=False, description="Live", icon="refresh",
                                                tooltip="Reload the log every few seconds",
                                                disabled=self._paths is None)
        self.export_folder = widgets.Text(value=os.fspath(export_folder),
                                          description="Export to",
                                          style={"description_width": "initial"},
                                          layout=widgets.Layout(width="23em"))
        self.export = widgets.Button(description="Export tables", icon="download",
                                     tooltip="Write the selection's tables to the folder")
        self.export_message = widgets.HTML()
        self.summary = widgets.HTML(layout=widgets.Layout(margin="0 1.5em 0.5em 0"))
        self.forecast = widgets.HTML(layout=widgets.Layout(margin="0.25em 1.5em 0.5em 0"))
        self.chart = self._image()
        self.chart_note = widgets.HTML()
        self.outcomes = self._image()
        self.outcomes_note = widgets.HTML()
        self.recent_title = widgets.HTML("<b>Latest callbacks</b>")
        self.recent_table = widgets.HTML(layout=widgets.Layout(width="100%", max_width="62em",
                                                               margin="2px 0"))
        self.status = widgets.HTML()
        self.search_box = widgets.Text(
            placeholder="A word or phrase", description="Search", continuous_update=False,
            style={"description_width": "3.5em"}, layout=widgets.Layout(width="23em"))
        self.search_button = widgets.Button(description="Search", icon="search",
                                            tooltip="List the transcriptions that mention it")
        # No side margins: a widget's own 2px either side would make 100% overflow its row.
        self.search_results = widgets.HTML(layout=widgets.Layout(width="100%", max_width="62em",
                                                                 margin="2px 0"))
        team_names = list(self.teams.names) if self.teams is not None else []
        self.team_picker = widgets.SelectMultiple(
            options=team_names, rows=max(2, min(len(team_names), 8)), description="Teams",
            style={"description_width": "3.5em"}, layout=widgets.Layout(width="23em"))
        self.team_chart = self._image()

        self.result: LoadResult = self._load() if self._paths is not None else source
        self._remember_seen(mark_new=False)
        self._update_conference_options()
        for control in (self.start_date, self.end_date, self.conferences, self.team_picker):
            control.observe(self._on_change, names="value")
        self.search_box.observe(self._on_search, names="value")
        self.search_button.on_click(self._on_search)
        self.metric_picker.observe(self._on_metric, names="value")
        self.live_toggle.observe(self._on_live, names="value")
        self.export.on_click(self._on_export)
        self.refresh()
        wrap = widgets.Layout(flex_flow="row wrap", align_items="flex-start", width="100%")
        quiet = 'style="color:var(--jp-ui-font-color2,#616161)"'
        filters = widgets.VBox([
            self.start_date, self.end_date,
            widgets.HTML(f"<span {quiet}>Days are UTC, as YYYY-MM-DD; empty: no bound.</span>"),
            self.metric_picker, self.live_toggle,
        ], layout=widgets.Layout(margin="0 2em 0.5em 0"))
        columns: list[widgets.Widget] = [filters, self.conferences]
        if self.teams is not None:
            columns.append(widgets.VBox([
                self.team_picker,
                widgets.HTML(f"<span {quiet}>None chosen: every team. Ctrl-click for"
                             " several.</span>")], layout=widgets.Layout(margin="0 0 0.5em 2em")))
        charts: list[widgets.Widget] = [widgets.VBox([self.outcomes, self.outcomes_note])]
        if self.teams is not None:
            charts.append(widgets.VBox([
                widgets.HTML(f"<b>{TEAM_CHART_TITLE}</b> <span {quiet}>(of the dates and"
                             " conferences chosen; teams not chosen in grey)</span>"),
                self.team_chart]))
        super().__init__([
            widgets.HBox(columns, layout=wrap),
            self.status,
            # Side by side on a wide page, one under the other on a narrow one.
            widgets.HBox([widgets.VBox([self.summary, self.forecast]),
                          widgets.VBox([self.chart, self.chart_note])], layout=wrap),
            *charts,
            widgets.HTML("<b>What was said</b>"),
            widgets.HBox([self.search_box, self.search_button],
                         layout=widgets.Layout(flex_flow="row wrap", align_items="center")),
            self.search_results,
            self.recent_title,
            self.recent_table,
            widgets.HBox([self.export_folder, self.export],
                         layout=widgets.Layout(flex_flow="row wrap", align_items="center",
                                               margin="0.75em 0 0 0")),
            self.export_message,
        ], layout=widgets.Layout(width="100%"))
        if live:
            self.start_live()

    @staticmethod
    def _image() -> widgets.Image:
        # Shown at exactly its pixel size (set with each picture); never stretched by the page.
        return widgets.Image(format="png", layout=widgets.Layout(flex="0 0 auto"))

    # -- loading --

    def _load(self) -> LoadResult:
        from ..load import load_callbacks

        assert self._paths is not None
        signature = _files_signature(self._paths)
        source: Any = self._paths[0] if len(self._paths) == 1 else self._paths
        result = load_callbacks(source, progress=False)
        self._journal_frame = None  # read again with the logs: it grows with them
        self._signature = signature
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
        options = tuple(sorted(names))
        if tuple(self.conferences.options) != options:
            self._updating = True  # one refresh for the whole change, not one per trait
            try:
                self.conferences.options = options
            finally:
                self._updating = False

    # -- filtering --

    def _on_change(self, change: Any = None) -> None:
        if not self._updating:
            self.refresh()

    def _on_metric(self, change: Any = None) -> None:
        # Only the chart shows the metric: the summary and the outcomes stay as they are.
        with self._lock:
            if self._frames is None:
                self.refresh()
            else:
                self._draw_chart(self._frames)

    def filters(self) -> dict[str, Any]:
        """The controls as :func:`~recording_toolkit.analytics.select` /
        :func:`~recording_toolkit.report.summarize` arguments: ``since``, ``until`` (UTC
        midnights, ``until`` exclusive, so the end day is included) and ``conferences`` (None
        when none or all are selected: every conference)."""
        start, end = self.start_date.value, self.end_date.value
        picker = self.conferences
        return {"since": None if start is None else _utc_midnight(start),
                "until": None if end is None else _utc_midnight(end) + pd.Timedelta(days=1),
                "conferences": None if picker.every else tuple(picker.value)}

    def chosen_teams(self) -> tuple[str, ...] | None:
        """The teams the team filter keeps, or None for every team (none chosen, or no
        teams given)."""
        if self.teams is None or not self.team_picker.value:
            return None
        return tuple(self.team_picker.value)

    def _team_result(self) -> Any:
        """The loaded data, narrowed to the chosen teams' recordings and transcriptions."""
        names = self.chosen_teams()
        if names is None:
            return self.result
        from ..analytics import select_teams

        assert self.teams is not None
        recordings, transcriptions = select_teams(self.result.recordings,
                                                  self.result.transcriptions, self.teams, names)
        return _with_frames(self.result, recordings, transcriptions)

    def selection(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The recordings and transcriptions the controls select (copies of the frames)."""
        from ..analytics import select

        result = self._team_result()
        recordings, transcriptions = select(result.recordings, result.transcriptions,
                                            **self.filters())
        return recordings.copy(), transcriptions.copy()

    def search(self, query: str | None = None) -> pd.DataFrame:
        """The selection's transcriptions that mention ``query`` (default: what
        :attr:`search_box` holds), as :func:`~recording_toolkit.analytics.search_transcripts`
        gives them with the recordings: ordered by recording start."""
        from ..analytics import search_transcripts

        text = self.search_box.value if query is None else query
        recordings, transcriptions = self.selection()
        return search_transcripts(transcriptions, text.strip(), recordings=recordings)

    def team_costs(self) -> pd.DataFrame:
        """Each team's figures (:func:`~recording_toolkit.analytics.team_costs`) over the date
        and conference selection, every team (what :attr:`team_chart` draws)."""
        from ..analytics import select, team_costs

        if self.teams is None:
            raise RuntimeError("team_costs: this dashboard was given no teams")
        recordings, transcriptions = select(self.result.recordings, self.result.transcriptions,
                                            **self.filters())
        return team_costs(recordings, transcriptions, self.teams, rates=self.rates)

    def frames(self) -> Frames:
        """The selection as :class:`recording_toolkit.views.Frames`, what every chart draws."""
        recordings, transcriptions = self.selection()
        return frames_of(recordings, transcriptions, rates=self.rates, journal=self._journal())

    def summarize(self) -> Any:
        """:func:`recording_toolkit.report.summarize` of the selection (the summary's figures,
        and the tables :attr:`export` writes)."""
        from ..report import summarize

        return summarize(self._team_result(), rates=self.rates, journal=self._journal(),
                         **self.filters())

    def spend_forecast(self, frames: Frames | None = None) -> dict[str, Any]:
        """:func:`recording_toolkit.analytics.spend_forecast` of the selection (what
        :attr:`forecast` shows): the same call, on the same frames, as the report's Forecast."""
        from ..analytics import spend_forecast

        frames = frames if frames is not None else self.frames()
        return spend_forecast(frames.recordings, frames.transcriptions, rates=self.rates)

    # -- drawing --

    def refresh(self) -> None:
        """Recompute the summary and redraw the charts for the current controls."""
        with self._lock:
            filters = self.filters()
            if filters["since"] is not None and filters["until"] is not None and \
                    filters["until"] <= filters["since"]:
                self.status.value = dot("error") + (
                    f"The end date ({self.end_date.value}) is before the start date "
                    f"({self.start_date.value}): nothing to show.")
                return
            frames = self.frames()
            self._frames = frames
            # The report's own figures for the same selection: one definition of each number.
            summary = self.summarize()
            self.summary.value = _summary_table(summary.to_dict(), self.rates.currency)
            self.forecast.value = _forecast_table(self.spend_forecast(frames),
                                                  self.rates.currency)
            self._draw_chart(frames)
            self.outcomes_note.value = _note(VIEWS[OUTCOMES],
                                             self._draw(self.outcomes, OUTCOMES, frames))
            self._draw_teams()
            self.recent_table.value = self._render_recent(frames)
            self.recent_title.value = "<b>Latest callbacks</b>" + (
                "" if all(v is None for v in filters.values()) and self.chosen_teams() is None
                else " of the selection")
            if self.search_box.value.strip():
                self._on_search()
            self.status.value = self._status_line()

    def _draw_teams(self) -> None:
        if self.teams is None:
            return
        table = self.team_costs()
        width, height = team_chart_size(self.chart_width, len(table))
        self.team_chart.value = team_chart_png(table, currency=self.rates.currency,
                                               width_px=width, height_px=height,
                                               chosen=self.chosen_teams() or ())
        self.team_chart.width, self.team_chart.height = str(width), str(height)
        self.team_chart.layout.width = f"{width}px"
        self.team_chart.layout.height = f"{height}px"

    def _on_search(self, change: Any = None) -> None:
        query = self.search_box.value.strip()
        if not query:
            self.search_results.value = ""
            return
        try:
            with self._lock:
                hits = self.search(query)
        except ValueError as exc:
            self.search_results.value = dot("error") + html.escape(str(exc))
            return
        self.search_results.value = hits_html(hits)

    def _draw(self, image: widgets.Image, key: str, frames: Frames) -> Any:
        """Draw view ``key`` into ``image`` at :attr:`chart_width` and the view's own aspect."""
        view = VIEWS[key]
        width = self.chart_width
        height = max(1, round(width * view.size[1] / view.size[0]))
        result = view.compute(frames)
        png = render_png(view, result, currency=self.rates.currency, width_px=width,
                         height_px=height)
        image.value = png
        image.width, image.height = str(width), str(height)
        image.layout.width, image.layout.height = f"{width}px", f"{height}px"
        return result

    def _draw_chart(self, frames: Frames) -> None:
        view = VIEWS[self.metric_picker.value]
        self.chart_note.value = _note(view, self._draw(self.chart, view.key, frames))

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

    def _render_recent(self, frames: Frames) -> str:
        rows = _recent_callbacks(frames.recordings, frames.transcriptions,
                                 self.result.recordings, self.recent_count)
        for row in rows:
            row["new"] = dot("busy") if (row["event"], row["recording_id"]) in self._new else ""
        return html_table(rows, _RECENT_COLUMNS, raw=("new",), widths=_RECENT_WIDTHS,
                          wrap=_RECENT_WRAP, empty="No callbacks yet.")

    def _status_line(self) -> str:
        raw = getattr(self.result, "stats", None)  # LoadStats, or a mapping in a LoadResult
        to_dict = getattr(raw, "to_dict", None)
        stats: dict[str, Any] = to_dict() if callable(to_dict) else dict(raw or {})
        where = ", ".join(self._paths) if self._paths else "loaded data"
        n_rec = len(self.result.recordings)
        n_tr = len(self.result.transcriptions)
        text = (f"{_counted(n_rec, 'recording')} and {_counted(n_tr, 'transcription')} from "
                f"<code>{html.escape(where)}</code>")
        if stats.get("quarantined"):
            text += f"; {_counted(stats['quarantined'], 'line')} quarantined"
        if self.journal is not None and not isinstance(self.journal, pd.DataFrame) and \
                not Path(self.journal).exists():
            text += f"; no journal at <code>{html.escape(os.fspath(self.journal))}</code> yet"
        text += f"; updated {datetime.now(UTC):%H:%M:%S} UTC"
        if self.live_running:
            text += f"; live, every {self.interval:g} s"
        return text + "."

    # -- export --

    def _on_export(self, button: Any = None) -> None:
        folder = self.export_folder.value.strip()
        if not folder:
            self.export_message.value = dot("error") + "Folder: type where to write the tables."
            return
        filters = self.filters()
        selection = {"since": filters["since"], "until (exclusive)": filters["until"],
                     "conferences": list(filters["conferences"] or []) or "all",
                     "written_at": datetime.now(UTC).isoformat(timespec="seconds")}
        try:
            with self._lock:
                frames = self.frames()
                charts = {key: view.table(view.compute(frames))
                          for key, view in VIEWS.items() if view.table is not None}
                if self.teams is not None:
                    charts["teams"] = self.team_costs()
                written = export_tables(self.summarize(), folder, selection, charts=charts)
        except OSError as exc:
            self.export_message.value = dot("error") + html.escape(
                f"Folder {folder!r}: could not write the tables: {exc.strerror or exc}")
            return
        if self.export_folder.layout.display == "none":
            # Served as a web page: the server's folder means nothing to the visitor.
            text = (f"{dot('ok')}The selection's {len(written.csv)} tables as CSV (the"
                    " report's and each chart's)" + download_links(written, lead=": "))
        else:
            text = (f"{dot('ok')}Wrote {len(written.csv)} tables as CSV (the report's and each "
                    "chart's)"
                    + (f" and <code>{written.workbook.name}</code> (a sheet each)"
                       if written.workbook else "")
                    + f" to <code>{html.escape(str(written.folder))}</code>.")
            if written.workbook is None and not excel_available():
                text += " Install openpyxl for an Excel workbook too."
            text += download_links(written)
        self.last_export = written
        self.export_message.value = text

    # -- a picture for saved notebooks --

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The widget, plus a static picture of it (``text/html``): what a saved notebook
        shows where the widget itself cannot be restored (a viewer without a kernel, an HTML
        export)."""
        bundle = super()._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        if data is None:
            return bundle
        data["text/html"] = self.static_html()
        return bundle

    def static_html(self) -> str:
        """The dashboard as it looks now, as self-contained HTML (charts as embedded PNG)."""
        import base64

        def picture(image: widgets.Image, alt: str) -> str:
            if not image.value:
                return ""
            data = base64.b64encode(bytes(image.value)).decode("ascii")
            return (f'<img src="data:image/png;base64,{data}" width="{image.width}" '
                    f'height="{image.height}" alt="{html.escape(alt)}" '
                    'style="max-width:none;flex:0 0 auto">')

        filters = self.filters()
        chosen = ("every conference" if filters["conferences"] is None else
                  ", ".join(filters["conferences"]))
        days = (f"{self.start_date.value or '…'} to {self.end_date.value or '…'} (UTC)"
                if filters["since"] or filters["until"] else "all days")
        return (
            '<div class="recording-toolkit-dashboard">'
            f"<p><b>Dashboard</b> (a picture of it as it was shown: run the cell for the "
            f"controls). Selection: {html.escape(days)}; {html.escape(chosen)}.</p>"
            f"<p>{self.status.value}</p>"
            '<div style="display:flex;flex-wrap:wrap;align-items:flex-start;gap:1.5em">'
            f"<div>{self.summary.value}<div style=\"margin-top:0.25em\">"
            f"{self.forecast.value}</div></div>"
            f"<div>{picture(self.chart, METRICS[self.metric_picker.value])}"
            f"<div>{self.chart_note.value}</div></div></div>"
            f"<div>{picture(self.outcomes, VIEWS[OUTCOMES].title)}"
            f"<div>{self.outcomes_note.value}</div></div>"
            + (f"<div>{picture(self.team_chart, TEAM_CHART_TITLE)}</div>"
               if self.teams is not None else "")
            + (f"<div>{self.search_results.value}</div>" if self.search_results.value else "")
            +
            f"<p>{self.recent_title.value}</p>{self.recent_table.value}</div>")

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
        if not self.live_toggle.value:
            self.live_toggle.value = True
        self.status.value = self._status_line()

    def _live_loop(self) -> None:
        while not self._live_stop.wait(self.interval):
            try:
                self.reload(if_changed=True)
            except Exception as exc:  # show it and try again next time; never die silently
                self.status.value = dot("error") + html.escape(
                    f"Reloading failed: {type(exc).__name__}: {exc}")

    def stop_live(self, timeout: float = 10.0) -> None:
        """Stop live mode (waits for a reload in progress)."""
        self._live_stop.set()
        thread, self._live_thread = self._live_thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        if self.live_toggle.value:
            self.live_toggle.value = False
        self.status.value = self._status_line()

    def close(self) -> None:
        """Stop live mode and close the widgets."""
        # Also called by Widget.__del__, possibly on a dashboard whose __init__ raised.
        if "_live_stop" in self.__dict__:
            self._live_stop.set()
            thread, self._live_thread = self._live_thread, None
            if thread is not None and thread is not threading.current_thread():
                thread.join(10.0)
        for name in ("start_date", "end_date", "conferences", "metric_picker", "live_toggle",
                     "summary", "forecast", "chart", "chart_note", "outcomes", "outcomes_note",
                     "recent_title", "recent_table", "status", "export_folder", "export",
                     "export_message", "search_box", "search_button", "search_results",
                     "team_picker", "team_chart"):
            child = self.__dict__.get(name)
            if child is not None:
                child.close()
        super().close()

    # -- the names these widgets had before, kept for code that uses them --

    @property
    def metric(self) -> widgets.Dropdown:
        """Deprecated alias of :attr:`metric_picker`."""
        return _renamed(self, "metric", "metric_picker")

    @property
    def recent(self) -> widgets.HTML:
        """Deprecated alias of :attr:`recent_table`."""
        return _renamed(self, "recent", "recent_table")

    def __repr__(self) -> str:
        where = ", ".join(self._paths) if self._paths else "loaded data"
        return (f"<Dashboard {where!r} recordings={len(self.result.recordings)} "
                f"live={self.live_running}>")

# helpers -------------------------------------------------------------------------------------


def _with_frames(result: Any, recordings: pd.DataFrame, transcriptions: pd.DataFrame) -> Any:
    """``result`` (a LoadResult) with other recordings and transcriptions; the rest (the
    quarantine, the load's figures) as it was."""
    import dataclasses

    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return dataclasses.replace(result, recordings=recordings, transcriptions=transcriptions)
    from types import SimpleNamespace

    return SimpleNamespace(recordings=recordings, transcriptions=transcriptions,
                           quarantine=getattr(result, "quarantine", None),
                           stats=getattr(result, "stats", None),
                           engine=getattr(result, "engine", "pandas"))


def _utc_midnight(day: date) -> pd.Timestamp:
    return pd.Timestamp(day.year, day.month, day.day, tz="UTC")


def _note(view: Any, result: Any) -> str:
    """The view's note on ``result`` (what the chart leaves out, and why) as a quiet line."""
    note = view.note(result) if view.note is not None else ""
    return (f'<span style="color:var(--jp-ui-font-color2,#616161)">{html.escape(note)}</span>'
            if note else "")


def _counted(n: int, word: str) -> str:
    """``1 recording``, ``1,997 recordings``."""
    return f"{fmt.count(n)} {word}{'' if n == 1 else 's'}"


def _callback_keys(result: Any) -> list[tuple[str, str]]:
    keys = [("recording", str(r)) for r in result.recordings["recording_id"].dropna()]
    keys += [("transcription", str(r)) for r in result.transcriptions["recording_id"].dropna()]
    return keys


def _recent_callbacks(recordings: pd.DataFrame, transcriptions: pd.DataFrame,
                      every_recording: pd.DataFrame, n: int) -> list[dict[str, Any]]:
    """The ``n`` latest callbacks of the selected ``recordings`` and ``transcriptions``, newest
    first, as table rows (a transcription's conference is its recording's, from
    ``every_recording``)."""
    recordings = recordings.nlargest(n, "received_at") if len(recordings) else recordings
    transcriptions = transcriptions.nlargest(n, "received_at") if len(
        transcriptions) else transcriptions
    conference = dict(zip(every_recording["recording_id"].astype(str),
                          every_recording["conference_name"], strict=True))
    rows: list[dict[str, Any]] = []
    for rec in recordings.itertuples(index=False):
        duration_ms: Any = rec.recording_duration_ms  # Int64: a whole number or <NA>
        seconds = duration_ms / 1000 if pd.notna(duration_ms) else None
        rows.append({"at": rec.received_at, "event": "recording",
                     "recording_id": str(rec.recording_id),
                     "conference_name": _text(rec.conference_name),
                     "detail": "Recording" + (f", {fmt.clock(seconds)}" if seconds is not None
                                              else "")})
    for tr in transcriptions.itertuples(index=False):
        rows.append({"at": tr.received_at, "event": "transcription",
                     "recording_id": str(tr.recording_id),
                     "conference_name": _text(conference.get(str(tr.recording_id))),
                     "detail": f"Transcription failed: {_text(tr.error)}" if _text(tr.error)
                     else "Transcribed"})
    rows = sorted((r for r in rows if pd.notna(r["at"])), key=lambda r: r["at"],
                  reverse=True)[:n]
    for row in rows:
        row["received"] = fmt.timestamp(row.pop("at"), seconds=True)
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


#: The stable figures the Dashboard's summary shows (labels and formats are the report's).
_SUMMARY_KEYS = ["recordings.count", "recordings.conferences", "recordings.total_minutes",
                 "recordings.billed_minutes", "recordings.duration_seconds.median",
                 "transcriptions.received", "transcriptions.success_rate",
                 "transcriptions.coverage", "transcriptions.charge_total",
                 "transcriptions.turnaround_seconds.median"]


def _summary_table(data: dict[str, Any], currency: str) -> str:
    """The key figures of a summary (``report.Summary.to_dict()``) as a two-column table, each
    figure formatted as everywhere else (:mod:`recording_toolkit.formatting`)."""
    from ..report import figure_label, format_figure

    rows = [(figure_label(key), format_figure(key, _get(data, key), currency))
            for key in _SUMMARY_KEYS]
    return html_table([{"figure": k, "value": v} for k, v in rows],
                      [("figure", "Selection"), ("value", "")], nowrap=True)


def _signed_money(amount: Any, currency: str) -> str:
    """A change of money: ``+$0.15``, ``-$0.05``, ``$0.00``."""
    text = fmt.money(amount, currency)
    return f"+{text}" if float(amount) > 0 and text != fmt.money(0.0, currency) else text


def _forecast_table(forecast: dict[str, Any], currency: str) -> str:
    """The forecast's totals (:func:`recording_toolkit.analytics.spend_forecast`) as a
    two-column table under the month's name: spend to date, the projected month-end, the same
    days of last month and the change (with its share when last month had spend), each
    formatted as in the report. Short, so it stays as narrow as the summary above it."""
    total = forecast["total"]
    month = pd.Timestamp(forecast["month"])
    share = total["change_share"]
    change = _signed_money(total["change"], currency)
    if share is not None:
        change += f" ({'+' if share > 0 else '-' if share < 0 else ''}{fmt.percent(abs(share))})"
    projected = total["projected_month_end"]
    rows = [
        ("As of", fmt.timestamp(pd.Timestamp(forecast["now"])) + " UTC"),
        ("Spend to date", fmt.money(total["month_to_date"], currency)),
        ("Projected month-end", fmt.money(projected, currency) if projected is not None
         else "too early to tell"),
        ("Same days of last month", fmt.money(total["previous_period"], currency)),
        ("Change", change),
    ]
    return html_table([{"figure": k, "value": v} for k, v in rows],
                      [("figure", f"Forecast, {month:%B %Y}"), ("value", "")], nowrap=True)
