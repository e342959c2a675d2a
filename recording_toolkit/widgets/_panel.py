"""``RecordingPanel``: start and stop conference recordings from a notebook, without code."""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..errors import PlivoAPIError, TransportError, ValidationError
from ..formatting import clock as clock_text
from ._aliases import renamed as _renamed
from ._render import dot, html_table

if TYPE_CHECKING:
    import pandas as pd

    from ..client import RecordingClient
    from ..receiver import CallbackReceiver

__all__ = ["RecordingPanel"]

_COLUMNS = [("time", "Time (UTC)"), ("action", "Action"), ("conference_name", "Conference"),
            ("status", "Status"), ("recording_id", "Recording id")]
#: Fixed column widths (the conference takes what is left): a long value wraps within its
#: column instead of pushing the others around; an error has a line of its own under its row.
_WIDTHS = {"time": "6.5em", "action": "4em", "status": "11.5em", "recording_id": "13em"}
_WRAPPED = ("conference_name", "recording_id")
#: The client's names of the fields its refusals name, as the panel labels them.
_FIELDS = {"conference_name": "Conference", "file_format": "File format",
           "callback_url": "Recording callback", "transcription_url": "Transcription callback",
           "transcription_type": "Transcribe"}
#: Characters of a conference name the marker shows (the tooltip has all of it).
_MARKER_NAME = 32
#: How often the elapsed time of the running recordings is redrawn (seconds).
_TICK = 1.0
_ROW_KEYS = ("time", "action", "conference_name", "file_format", "transcription", "state",
             "status", "status_code", "recording_id", "api_id", "error")


class RecordingPanel(widgets.VBox):
    """Controls that start and stop recordings through a :class:`~recording_toolkit.RecordingClient`.

    The panel shows a conference name, the file format, a transcription switch and the two
    callback URLs (filled in from ``receiver`` when one is given), Start and Stop buttons, a line
    with the last answer in Plivo's own words, and a table of every request made from the panel
    (newest first): its status, the recording id Plivo returned, or the error.

    Requests run on a worker thread of the panel, so the notebook stays responsive while one is
    in flight; the buttons are disabled until it has finished. Its parts are attributes, so code
    (and tests) can drive it the way a person would::

        panel.conference.value = "weekly-sync"
        panel.start_button.click()
        panel.wait()          # only needed in code: the table fills in by itself

    Parameters
    ----------
    client
        A :class:`~recording_toolkit.RecordingClient` (the blocking one: the panel brings its own
        thread). Pointed at Plivo or at a :class:`~recording_toolkit.Sandbox`.
    receiver
        A running :class:`~recording_toolkit.CallbackReceiver`; its callback URLs become the
        defaults. Without one, type the URLs (or leave them empty for no callbacks).
    conference, file_format, transcribe
        Initial values of the controls. ``transcribe`` defaults to on when a receiver is given
        (it has a transcription URL) and off otherwise.
    max_rows
        Rows shown in the table (every request stays in :attr:`requests`).
    clock
        What time it is (a callable returning an aware UTC ``datetime``); the wall clock by
        default. The elapsed times of the running recordings are measured on it.

    Attributes
    ----------
    conference, file_format, transcribe, callback_url, transcription_url
        The input widgets.
    start_button, stop_button
        The Start and Stop buttons. ``start`` and ``stop`` are deprecated aliases of them.
    recording_now
        The marker beside the buttons: every conference recording from this panel, with the
        time elapsed since its start, redrawn every second (``HTML``).
    message
        One line: the last answer, or Plivo's error text.
    table
        The requests made from the panel (an ``HTML`` widget).
    """

    @property
    def start(self) -> widgets.Button:
        """Deprecated alias of :attr:`start_button`."""
        return _renamed(self, "start", "start_button")

    @property
    def stop(self) -> widgets.Button:
        """Deprecated alias of :attr:`stop_button`."""
        return _renamed(self, "stop", "stop_button")

    def __init__(self, client: RecordingClient, receiver: CallbackReceiver | None = None, *,
                 conference: str = "", file_format: str = "mp3", transcribe: bool | None = None,
                 max_rows: int = 20, clock: Callable[[], datetime] | None = None) -> None:
        if not callable(getattr(client, "start_recording", None)):
            raise TypeError(f"client: expected a RecordingClient, got {type(client).__name__}")
        import inspect

        if inspect.iscoroutinefunction(client.start_recording):
            raise TypeError("client: RecordingPanel needs the blocking RecordingClient (it runs "
                            "requests on its own thread), not AsyncRecordingClient")
        self.client = client
        self.receiver = receiver
        self.max_rows = max_rows
        self._clock = clock or (lambda: datetime.now(UTC))
        # conference -> (when its first running recording started, recording ids), as far as
        # this panel knows: its own successful starts, until a successful stop of that conference.
        self._recording: dict[str, tuple[datetime, list[str]]] = {}
        self._ticker: threading.Thread | None = None
        self._ticker_stop = threading.Event()
        wide = widgets.Layout(width="40em", max_width="100%")  # a receiver's URLs fit
        label_style = {"description_width": "11em"}
        self.conference = widgets.Text(value=conference, description="Conference",
                                       placeholder="name of a live conference",
                                       layout=wide, style=label_style)
        self.file_format = widgets.ToggleButtons(options=["mp3", "wav"], value=file_format,
                                                 description="File format", style=label_style)
        if transcribe is None:
            transcribe = receiver is not None
        self.transcribe = widgets.Checkbox(value=transcribe, description="Transcribe (English)",
                                           indent=False)
        self.callback_url = widgets.Text(description="Recording callback",
                                         placeholder="https://... (optional)", layout=wide,
                                         style=label_style)
        self.transcription_url = widgets.Text(description="Transcription callback",
                                              placeholder="https://... (needed to transcribe)",
                                              layout=wide, style=label_style)
        self.start_button = widgets.Button(description="Start", button_style="success",
                                    icon="circle", tooltip="Start recording the conference")
        self.stop_button = widgets.Button(description="Stop", icon="stop",
                                   tooltip="Stop recording the conference")
        self.recording_now = widgets.HTML(layout=widgets.Layout(margin="0 0 0 1em",
                                                                flex="1 1 auto"))
        self.message = widgets.HTML()
        self.table = widgets.HTML(layout=widgets.Layout(width="100%", margin="2px 0"))
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.RLock()
        self._futures: set[Future[None]] = set()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recording-panel")
        self._fill_from_receiver()
        self.transcribe.observe(self._on_transcribe, names="value")
        self._on_transcribe()
        self.start_button.on_click(self._on_start)
        self.stop_button.on_click(self._on_stop)
        self._render()
        self._render_marker()
        super().__init__([
            widgets.HTML("<b>Record a conference</b>"),
            self.conference,
            widgets.HBox([self.file_format, self.transcribe]),
            self.callback_url,
            self.transcription_url,
            widgets.HBox([self.start_button, self.stop_button, self.recording_now],
                         layout=widgets.Layout(align_items="center")),
            self.message,
            self.table,
        ])

    # -- wiring --

    def _fill_from_receiver(self) -> None:
        if self.receiver is None:
            return
        try:
            self.callback_url.value = self.receiver.recording_callback_url
            self.transcription_url.value = self.receiver.transcription_callback_url
        except RuntimeError as exc:  # not running: leave the fields for the user
            self.message.value = dot("error") + f"Receiver: {html.escape(str(exc))}"

    def _on_transcribe(self, change: Any = None) -> None:
        self.transcription_url.disabled = not self.transcribe.value

    def _start_options(self) -> dict[str, Any]:
        transcribe = bool(self.transcribe.value)
        return {
            "file_format": self.file_format.value,
            "transcription_type": "auto" if transcribe else None,
            "transcription_url": (self.transcription_url.value.strip() or None) if transcribe
            else None,
            "callback_url": self.callback_url.value.strip() or None,
        }

    def _on_start(self, button: Any = None) -> None:
        if self.start_button.disabled:  # as in the browser: a disabled button does nothing
            return
        name = self.conference.value.strip()
        options = self._start_options()
        row = self._add_row("start", name, options)
        self._submit(row, lambda: self.client.start_recording(name, **options))

    def _on_stop(self, button: Any = None) -> None:
        if self.stop_button.disabled:
            return
        name = self.conference.value.strip()
        row = self._add_row("stop", name, None)
        self._submit(row, lambda: self.client.stop_recording(name))

    # -- requests, off the kernel's thread --

    def _add_row(self, action: str, name: str, options: dict[str, Any] | None) -> dict[str, Any]:
        row = dict.fromkeys(_ROW_KEYS)
        row.update(time=self._clock(), action=action, conference_name=name,
                   state="busy", status="sending…")
        if options is not None:
            row.update(file_format=options["file_format"],
                       transcription=options["transcription_type"] == "auto")
        with self._lock:
            self._rows.append(row)
        return row

    def _submit(self, row: dict[str, Any], call: Callable[[], Any]) -> None:
        with self._lock:
            self._set_busy(True)
            self.message.value = (dot("busy") + f"{row['action'].capitalize()} "
                                  f"{html.escape(row['conference_name'] or '(no name)')}…")
            self._render()
            future = self._executor.submit(self._run, row, call)
            self._futures.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._futures.discard(future)

    def _run(self, row: dict[str, Any], call: Callable[[], Any]) -> None:
        """Make the request and put its outcome in the row. Never raises: a worker thread's
        exception would vanish, so every failure becomes a row and a message."""
        try:
            result = call()
        except PlivoAPIError as exc:
            _fill_error(row, status=f"HTTP {exc.status_code} error" if exc.status_code else
                        "error", error=exc.error or str(exc), code=exc.status_code,
                        api_id=exc.api_id)
            message = dot("error") + html.escape(str(exc))
        except ValidationError as exc:
            # The refusal names the field as the panel labels it (the client's own name for
            # it stays in :attr:`requests`).
            _fill_error(row, status="not sent", error=str(exc))
            message = dot("error") + "Not sent: " + html.escape(_in_panel_words(str(exc)))
        except TransportError as exc:
            _fill_error(row, status="no answer", error=str(exc))
            message = dot("error") + html.escape(str(exc))
        except Exception as exc:  # the panel must survive anything the client raises
            _fill_error(row, status="failed", error=f"{type(exc).__name__}: {exc}")
            message = dot("error") + html.escape(f"{type(exc).__name__}: {exc}")
        else:
            message = self._succeeded(row, result)
        with self._lock:
            self.message.value = message
            self._render()
            self._render_marker()
            self._set_busy(False)

    def _succeeded(self, row: dict[str, Any], result: Any) -> str:
        """Note a successful start or stop in the row and the marker; the message to show."""
        name = row["conference_name"]
        if row["action"] == "start":
            row.update(state="ok", status="started", status_code=202,
                       recording_id=result.recording_id, api_id=result.api_id)
            with self._lock:
                since, ids = self._recording.get(name, (self._clock(), []))
                self._recording[name] = (since, [*ids, result.recording_id or "id pending"])
            self._start_ticker()
            if result.recording_id is None:  # Plivo's asynchronous answer: the id comes later
                return (dot("ok") + f"Recording started in {html.escape(name)}; Plivo answered"
                        " without its id, which the recording callback will carry (request"
                        f" <code>{html.escape(result.api_id)}</code>).")
            return (dot("ok") + f"Recording <code>{html.escape(result.recording_id)}</code>"
                    f" started in {html.escape(name)}.")
        with self._lock:
            running = self._recording.pop(name, None)
        if running is not None:
            row.update(state="ok", status="stopped", status_code=204, api_id=result.api_id)
            elapsed = clock_text((self._clock() - running[0]).total_seconds())
            return dot("ok") + f"Stopped recording {html.escape(name)} after {elapsed}."
        # Plivo answers a stop with 204 whether or not anything was recording: say which it was
        # as far as this panel knows, instead of claiming a recording was stopped.
        row.update(state="idle", status="nothing recording", status_code=204,
                   api_id=result.api_id)
        text = (dot("idle") + f"Nothing was recording in {html.escape(name)} from this panel, so "
                "there was nothing to stop (Plivo accepted the request; a recording started "
                "elsewhere in this conference is stopped too).")
        others = self.recording_conferences
        if others:
            text += " Recording now: " + ", ".join(html.escape(n) for n in others) + "."
        return text

    # -- the recording marker --

    @property
    def recording_conferences(self) -> list[str]:
        """The conferences recording from this panel (started here and not stopped since)."""
        with self._lock:
            return sorted(self._recording, key=lambda n: self._recording[n][0])

    def _render_marker(self) -> None:
        with self._lock:
            running = sorted(self._recording.items(), key=lambda item: item[1][0])
            now = self._clock()
        if not running:
            self.recording_now.value = (
                f'<span style="color:var(--jp-ui-font-color2,#757575)">{dot("idle")}'
                "Not recording</span>")
            return
        parts = []
        for name, (since, ids) in running:
            elapsed = clock_text(max(0.0, (now - since).total_seconds()))
            several = f" ({len(ids)} recordings)" if len(ids) > 1 else ""
            shown = name if len(name) <= _MARKER_NAME else name[:_MARKER_NAME - 1] + "…"
            parts.append(f'<span title="{html.escape(name)}: {html.escape(", ".join(ids))}">'
                         f"{dot('recording')}<b>Recording</b> {html.escape(shown)}{several} "
                         f'<span style="font-variant-numeric:tabular-nums">{elapsed}</span>'
                         "</span>")
        self.recording_now.value = "&emsp;".join(parts)

    def _start_ticker(self) -> None:
        """Redraw the marker every second while anything is recording (one thread at most)."""
        with self._lock:
            if self._ticker is not None and self._ticker.is_alive():
                return
            if self._ticker_stop.is_set():  # closed
                return
            self._ticker = threading.Thread(target=self._tick, name="recording-panel-marker",
                                            daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        while not self._ticker_stop.wait(_TICK):
            with self._lock:
                if not self._recording:
                    self._ticker = None
                    return
            self._render_marker()

    def _set_busy(self, busy: bool) -> None:
        self.start_button.disabled = busy
        self.stop_button.disabled = busy

    def _render(self) -> None:
        with self._lock:
            shown = []
            for row in reversed(self._rows[-self.max_rows:]):
                shown.append({**row, "time": row["time"].strftime("%H:%M:%S"),
                              "status": dot(row["state"]) + html.escape(row["status"]),
                              "recording_id": row["recording_id"] or "",
                              "error": _in_panel_words(row["error"] or "")})
            self.table.value = html_table(shown, _COLUMNS, raw=("status",), widths=_WIDTHS,
                                          wrap=_WRAPPED, detail="error", nowrap=True,
                                          empty="No requests yet: press Start.")

    # -- for code and tests --

    @property
    def busy(self) -> bool:
        """True while a request is in flight."""
        with self._lock:
            return bool(self._futures)

    def wait(self, timeout: float | None = 30) -> bool:
        """Block until every request made so far has finished; False on timeout."""
        with self._lock:
            pending = set(self._futures)
        _, not_done = wait_futures(pending, timeout=timeout)
        return not not_done

    @property
    def requests(self) -> pd.DataFrame:
        """Every request made from the panel, oldest first (a copy, as plain data)."""
        import pandas as pd

        with self._lock:
            rows = [dict(row) for row in self._rows]
        frame = pd.DataFrame(rows, columns=list(_ROW_KEYS))
        frame["time"] = pd.to_datetime(frame["time"], utc=True)
        return frame.drop(columns=["state"]).astype({
            "action": "string", "conference_name": "string", "file_format": "string",
            "status": "string", "status_code": "Int64", "recording_id": "string",
            "api_id": "string", "error": "string", "transcription": "boolean"})

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget, plus a static picture of it (``text/html``) for a saved notebook shown
        where the widget cannot be restored."""
        bundle = super()._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        if data is not None:
            data["text/html"] = self.static_html()
        return bundle

    def static_html(self) -> str:
        """The panel's state as it looks now, as HTML: what is recording, the last answer and
        the table of requests."""
        with self._lock:
            return ('<div class="recording-toolkit-panel"><p><b>Record a conference</b> (a '
                    "picture of the panel as it was shown: run the cell for the controls)</p>"
                    f"<p>{self.recording_now.value}</p><p>{self.message.value}</p>"
                    f"{self.table.value}</div>")

    def close(self) -> None:
        """Finish the request in flight, stop the worker thread and close the widgets."""
        # Also called by Widget.__del__, possibly on a panel whose __init__ raised.
        executor = self.__dict__.get("_executor")
        if executor is not None:
            executor.shutdown(wait=True)
        stop = self.__dict__.get("_ticker_stop")
        if stop is not None:
            stop.set()
            ticker, self._ticker = self._ticker, None
            if ticker is not None and ticker is not threading.current_thread():
                ticker.join(5.0)
        for name in ("conference", "file_format", "transcribe", "callback_url",
                     "transcription_url", "start", "stop", "recording_now", "message", "table"):
            child = self.__dict__.get(name)
            if child is not None:
                child.close()
        super().close()

    def __repr__(self) -> str:
        return (f"<RecordingPanel conference={self.conference.value!r} "
                f"requests={len(self._rows)} busy={self.busy}>")


def _fill_error(row: dict[str, Any], *, status: str, error: str, code: int | None = None,
                api_id: str | None = None) -> None:
    row.update(state="error", status=status, error=error, status_code=code, api_id=api_id)


def _in_panel_words(error: str) -> str:
    """``conference_name: is empty`` as ``Conference: is empty``: the label on the screen."""
    field, sep, rest = error.partition(":")
    return f"{_FIELDS[field]}{sep}{rest}" if sep and field in _FIELDS else error
