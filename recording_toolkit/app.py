"""The Dashboard as a web app, for people who do not open notebooks.

``recording-toolkit dashboard SOURCE`` serves the :class:`~recording_toolkit.widgets.Dashboard`
of a callback log in a browser tab, with no code on the page. Voilà serves it: the maintained
Jupyter server that runs a notebook in a kernel of its own for each visitor and shows only its
widgets (ipywidgets' JavaScript comes with Voilà, so the page needs no network beyond the
server). Here:

- :func:`app_notebook` is the notebook Voilà runs: one code cell that calls :func:`show`. It is
  written to a temporary folder for each run and holds no setting and no secret: the settings
  (:class:`AppSettings`) travel in the environment variable :data:`SETTINGS_ENV`, which the
  kernels inherit from the server. With ``sandbox`` the embedded sandbox makes its own
  credentials inside the kernel; they are never written anywhere.
- :func:`show` runs in the kernel: it builds the Dashboard (and with ``sandbox`` a
  :class:`~recording_toolkit.widgets.RecordingPanel` wired to an embedded sandbox and callback
  receiver, for training) and displays it. Each kernel notes its process id in the run's
  folder, so that :func:`serve` can make sure none is left behind.
- :func:`serve` starts Voilà on loopback (by default) in a process group of its own, waits until
  it answers, and on Ctrl-C or SIGTERM stops it (Voilà shuts its kernels down), then stops any
  kernel that outlived it and removes the temporary folder.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["NOTEBOOK_NAME", "SETTINGS_ENV", "AppSettings", "app_notebook", "build", "free_port",
           "offline_template", "port_taken", "serve", "show", "voila_command"]

#: The environment variable that carries :class:`AppSettings` (JSON) to the kernels.
SETTINGS_ENV = "RECORDING_TOOLKIT_DASHBOARD"
#: The name of the notebook Voilà serves (its name is the page's title).
NOTEBOOK_NAME = "Recording dashboard.ipynb"
#: How long Voilà may take to answer, and to stop, in seconds.
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


@dataclass(frozen=True)
class AppSettings:
    """What the app shows: the command's arguments, checked, as plain values.

    Attributes
    ----------
    source
        The callback logs (a file, folder or glob).
    journal, rates, teams
        The request journal, the rate card file and the teams file, or None.
    live
        Start the Dashboard in live mode.
    sandbox
        Add a RecordingPanel wired to an embedded sandbox and receiver.
    workdir
        The run's temporary folder: exports, the sandbox's log, the kernels' process ids.
    """

    source: str
    journal: str | None = None
    rates: str | None = None
    teams: str | None = None
    live: bool = False
    sandbox: bool = False
    workdir: str = "."

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> AppSettings:
        """The settings :func:`serve` put into :data:`SETTINGS_ENV`."""
        environ = os.environ if environ is None else environ
        text = environ.get(SETTINGS_ENV)
        if not text:
            raise RuntimeError(f"${SETTINGS_ENV} is not set: this notebook is served by"
                               " `recording-toolkit dashboard`, which sets it")
        return cls(**json.loads(text))


def app_notebook() -> dict[str, Any]:
    """The notebook Voilà serves (nbformat 4, as a dict): one code cell calling :func:`show`.

    >>> cell = app_notebook()["cells"][0]
    >>> cell["cell_type"], cell["source"]
    ('code', 'from recording_toolkit.app import show\\n\\nshow()')
    """
    return {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"},
                     "language_info": {"name": "python"}},
        "cells": [{"cell_type": "code", "id": "dashboard", "metadata": {},
                   "execution_count": None, "outputs": [],
                   "source": "from recording_toolkit.app import show\n\nshow()"}],
    }


def build(settings: AppSettings) -> Any:
    """The app's widgets for ``settings``: a title, the Dashboard, and with ``sandbox`` a
    training section (a RecordingPanel and a live Dashboard over the sandbox's callbacks)."""
    import ipywidgets as widgets

    from .config import RateCard
    from .widgets import Dashboard

    rates = RateCard.resolve(path=settings.rates)
    work = Path(settings.workdir)
    dashboard = Dashboard(settings.source, rates=rates, journal=settings.journal,
                          teams=settings.teams, live=settings.live,
                          export_folder=work / "export")
    # A visitor downloads the tables from the page; the server's folder is no business of theirs.
    dashboard.export_folder.layout.display = "none"
    parts: list[Any] = [
        widgets.HTML("<h2 style='margin:0.2em 0 0.6em 0'>Recording dashboard</h2>"),
        dashboard,
    ]
    if settings.sandbox:
        parts += _training(work, rates)
    return widgets.VBox(parts, layout=widgets.Layout(width="100%", padding="0 1em"))


def _training(work: Path, rates: Any) -> list[Any]:
    """A RecordingPanel on an embedded sandbox and receiver, and a live Dashboard of what
    arrives: start and stop recordings as with Plivo, without an account."""
    import ipywidgets as widgets

    from .client import RecordingClient
    from .receiver import CallbackReceiver
    from .sandbox import Sandbox
    from .widgets import Dashboard, RecordingPanel

    folder = work / "sandbox"
    sandbox = Sandbox(seed=5, time_scale=600).start()
    receiver = CallbackReceiver(folder / "callbacks", auth_token=sandbox.auth_token,
                                clock=sandbox.now).start()
    client = RecordingClient(sandbox.auth_id, sandbox.auth_token, base_url=sandbox.base_url,
                             journal=folder / "journal.jsonl")
    panel = RecordingPanel(client, receiver, conference="training")
    live = Dashboard(receiver, rates=rates, journal=folder / "journal.jsonl", interval=1.0,
                     live=True, metric="durations", export_folder=folder / "export")
    live.export_folder.layout.display = "none"
    return [
        widgets.HTML("<h2 style='margin:1.2em 0 0.3em 0'>Training: a simulated Plivo</h2>"
                     "<p>Recordings started here go to a sandbox that behaves like Plivo (ten"
                     " minutes pass in a second); its callbacks arrive below within seconds."
                     " Nothing is sent to Plivo and nothing is charged.</p>"),
        panel,
        widgets.HTML("<h3 style='margin:1em 0 0.3em 0'>What the sandbox sent back</h3>"),
        live,
    ]


def show(environ: Mapping[str, str] | None = None) -> None:
    """Build the app from :data:`SETTINGS_ENV` and display it (the served notebook's cell;
    it returns nothing, so the cell shows the app once)."""
    from IPython.display import display

    settings = AppSettings.from_environment(environ)
    pids = Path(settings.workdir) / "kernels"
    pids.mkdir(parents=True, exist_ok=True)
    (pids / str(os.getpid())).touch()
    display(build(settings))


#: The Voilà template the app is served with: Voilà's own ``lab`` template, less its links to
#: a CDN (its JavaScript already carries the icon font those links fetch).
TEMPLATE = "recording-toolkit"


def offline_template(data_dir: Path) -> str:
    """Write :data:`TEMPLATE` under ``data_dir`` (a Jupyter data folder): Voilà's ``lab``
    template with every line that loads from a CDN removed, so the page asks nothing of any
    host but the server. Returns its name."""
    from jupyter_core.paths import jupyter_path

    for folder in jupyter_path("voila", "templates", "lab"):
        source = Path(folder) / "index.html.j2"
        if source.is_file():
            break
    else:
        from .errors import ConfigurationError

        raise ConfigurationError("Voilà's 'lab' template is not installed; reinstall voila")
    kept = [line for line in source.read_text(encoding="utf-8").splitlines(keepends=True)
            if "cdn.jsdelivr.net" not in line and "unpkg.com" not in line]
    target = data_dir / "voila" / "templates" / TEMPLATE
    target.mkdir(parents=True, exist_ok=True)
    (target / "index.html.j2").write_text("".join(kept), encoding="utf-8")
    (target / "conf.json").write_text(json.dumps({"base_template": "lab"}), encoding="utf-8")
    return TEMPLATE


def voila_command(notebook: Path, *, host: str, port: int, template: str = "lab"
                  ) -> list[str]:
    """The command line that serves ``notebook`` with Voilà on ``host``:``port``."""
    return [sys.executable, "-m", "voila", str(notebook), "--no-browser",
            f"--Voila.ip={host}", f"--Voila.port={port}", "--Voila.port_retries=0",
            f"--VoilaConfiguration.template={template}",
            "--VoilaConfiguration.show_tracebacks=False",
            "--VoilaConfiguration.strip_sources=True",
            # a closed tab leaves its kernel idle and unconnected: stopped after ten minutes
            "--MappingKernelManager.cull_idle_timeout=600",
            "--MappingKernelManager.cull_interval=60"]


def _environment(settings: AppSettings, base: Path) -> dict[str, str]:
    """The server's (and so the kernels') environment: this one, with the settings, and
    Jupyter's folders in the run's folder so no user-level kernel or setting gets in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    env.update({
        SETTINGS_ENV: settings.to_json(),
        "JUPYTER_CONFIG_DIR": str(base / "jupyter" / "config"),
        "JUPYTER_DATA_DIR": str(base / "jupyter" / "data"),
        "JUPYTER_RUNTIME_DIR": str(base / "jupyter" / "runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "MPLBACKEND": "Agg",
        "PYTHONUNBUFFERED": "1",
    })
    return env


def free_port(host: str) -> int:
    """A port nobody listens on at ``host`` now (for ``--port 0``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_taken(host: str, port: int) -> bool:
    """Whether something already listens on ``host``:``port`` (checked before starting, so a
    busy port is one clear error instead of a server that dies at start)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _url(host: str, port: int) -> str:
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


class _Stop(Exception):
    """SIGTERM, turned into an exception so that the cleanup runs."""


def serve(settings: AppSettings, *, host: str = "127.0.0.1", port: int = 0,
          ready: Callable[[str], None] | None = None, log: Any = None) -> int:
    """Serve the app until Voilà exits, Ctrl-C or SIGTERM; Voilà's exit code (0 when stopped).

    ``settings.workdir`` is ignored: each run makes a temporary folder of its own and removes it
    at the end. ``ready`` is called with the page's address once the server answers; ``log``
    takes Voilà's own output (default: discarded).
    """
    port = port or free_port(host)
    with tempfile.TemporaryDirectory(prefix="recording-toolkit-dashboard-") as folder:
        base = Path(folder)
        settings = AppSettings(**{**asdict(settings), "workdir": str(base)})
        notebook = base / NOTEBOOK_NAME
        notebook.write_text(json.dumps(app_notebook(), indent=1))
        template = offline_template(base / "jupyter" / "data")
        previous = signal.getsignal(signal.SIGTERM)

        def on_term(signum: int, frame: Any) -> None:
            raise _Stop

        process = subprocess.Popen(voila_command(notebook, host=host, port=port, template=template),
                                   cwd=base,
                                   env=_environment(settings, base), stdin=subprocess.DEVNULL,
                                   stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            signal.signal(signal.SIGTERM, on_term)
        except ValueError:  # not the main thread: the caller stops it another way
            previous = None
        try:
            _wait_until_answering(process, host, port)
            if ready is not None:
                ready(_url(host, port))
            return process.wait()
        except (KeyboardInterrupt, _Stop):
            return 0
        finally:
            _stop(process)
            _stop_kernels(base / "kernels")
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)


def _wait_until_answering(process: subprocess.Popen[bytes], host: str, port: int) -> None:
    from .errors import RecordingToolkitError

    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RecordingToolkitError(f"the Voilà server stopped at start (exit code"
                                        f" {process.returncode}); is port {port} free?")
        if _answers(host, port):
            return
        time.sleep(0.2)
    raise RecordingToolkitError(f"the Voilà server did not answer on {host}:{port} within"
                                f" {START_TIMEOUT:g} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (the server shuts its kernels down), SIGKILL if it
    has not gone within :data:`STOP_TIMEOUT`."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT)
    except ProcessLookupError:
        process.wait(timeout=STOP_TIMEOUT)


def _alive(pid: int) -> bool:
    """Whether ``pid`` is still one of the app's kernels (on Linux, a process number reused by
    another program is told apart by its command line)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or someone else's process now
        return False
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc here: trust the number
    return b"ipykernel" in command


def _stop_kernels(folder: Path) -> None:
    """Stop every kernel that noted its process id in ``folder`` and is still running (a kernel
    in a session of its own, which the server could not stop)."""
    pids = [int(p.name) for p in folder.glob("*") if p.name.isdigit()] if folder.is_dir() else []
    for pid in pids:
        if _alive(pid):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for pid in pids:
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
