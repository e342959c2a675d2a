"""``recording-toolkit dashboard``: the Dashboard as a web page served by Voilà.

Without a browser: the notebook the server runs holds no setting, the settings travel in the
environment, the template loads nothing from a CDN, the app's widgets are the Dashboard's, and
the command starts, answers and stops cleanly on SIGTERM.

In Chromium (marked ``browser``, as ``tests/test_browser.py``, whose Chromium set-up and reader
checks it reuses): the page loads with the headline figures and charts, a date typed in redraws
them, the search box finds a phrase of the sample transcripts, the team filter narrows the
figures, export downloads a CSV, no request leaves the server, the page reads well at 1100 and
1440 px (screenshots in ``reports/browser/``), and Ctrl-C stops the server and its kernel.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from recording_toolkit import app

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
START_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0

pytestmark = pytest.mark.timeout(240)


# Without a browser ---------------------------------------------------------------------------


def test_the_served_notebook_holds_one_call_and_no_setting(tmp_path):
    notebook = app.app_notebook()
    assert [c["cell_type"] for c in notebook["cells"]] == ["code"]
    text = json.dumps(notebook)
    assert "show()" in text
    for secret_or_setting in ("auth", "token", "journal", "teams", str(DATA)):
        assert secret_or_setting not in text


def test_settings_travel_in_the_environment():
    settings = app.AppSettings(source="/logs", journal="/j.jsonl", teams="/t.toml", live=True,
                               sandbox=True, workdir="/tmp/x")
    environ = {app.SETTINGS_ENV: settings.to_json()}
    assert app.AppSettings.from_environment(environ) == settings
    with pytest.raises(RuntimeError, match=app.SETTINGS_ENV):
        app.AppSettings.from_environment({})


def test_the_template_loads_nothing_from_a_cdn(tmp_path):
    name = app.offline_template(tmp_path)
    folder = tmp_path / "voila" / "templates" / name
    page = (folder / "index.html.j2").read_text()
    assert "{%- extends" in page and "block notebook_css" in page  # Voilà's lab page
    assert "cdn.jsdelivr.net" not in page and "unpkg.com" not in page
    assert json.loads((folder / "conf.json").read_text()) == {"base_template": "lab"}
    command = app.voila_command(tmp_path / "x.ipynb", host="127.0.0.1", port=1, template=name)
    assert f"--VoilaConfiguration.template={name}" in command
    assert "--Voila.ip=127.0.0.1" in command


def _tiny_logs(folder: Path) -> Path:
    folder.mkdir()
    start = 1_763_632_800_000  # 2025-11-20 10:00 UTC
    line = {"event": "recording", "received_at": "2025-11-20T10:02:01Z", "verified": True,
            "payload": {"recording_id": "r1", "conference_name": "legal-calls",
                        "recording_duration_ms": "60000", "recording_start_ms": str(start),
                        "recording_end_ms": str(start + 60_000),
                        "record_url": "https://media.plivo.com/r1.mp3"}}
    (folder / "callbacks-2025-11-20-x.jsonl").write_text(json.dumps(line) + "\n")
    return folder


def test_build_shows_the_dashboard_with_teams_and_no_server_folder(tmp_path):
    from recording_toolkit.widgets import Dashboard

    logs = _tiny_logs(tmp_path / "logs")
    teams = tmp_path / "teams.toml"
    teams.write_text('[teams]\nLegal = ["legal-*"]\n')
    widget = app.build(app.AppSettings(source=str(logs), teams=str(teams),
                                       workdir=str(tmp_path / "work")))
    try:
        dashboards = [c for c in widget.children if isinstance(c, Dashboard)]
        assert len(dashboards) == 1
        dash = dashboards[0]
        assert dash.team_picker.options == ("Legal", "Unallocated")
        assert dash.export_folder.layout.display == "none"
        dash.export.click()
        assert (tmp_path / "work" / "export" / "by_conference.csv").exists()
        assert 'download="by_conference.csv"' in dash.export_message.value
    finally:
        widget.close()
        for child in widget.children:
            child.close()


def test_build_passes_the_journal_and_live_mode_through(tmp_path):
    from recording_toolkit.widgets import Dashboard

    logs = _tiny_logs(tmp_path / "logs")
    journal = tmp_path / "journal.jsonl"  # not written yet: the status line says so
    widget = app.build(app.AppSettings(source=str(logs), journal=str(journal), live=True,
                                       workdir=str(tmp_path / "work")))
    dash = next(c for c in widget.children if isinstance(c, Dashboard))
    try:
        assert dash.live_running and dash.live_toggle.value
        assert "no journal at" in dash.status.value and "live, every" in dash.status.value
    finally:
        dash.close()
        widget.close()
    assert not dash.live_running


@dataclass
class Served:
    """A running ``recording-toolkit dashboard``: its process, page address and folders."""

    process: subprocess.Popen[bytes]
    url: str
    tmp: Path       # its TMPDIR: the run's folder (and the kernels' notes) are made here
    err: Path

    def kernel_pids(self) -> list[int]:
        return [int(p.name) for p in self.tmp.glob("recording-toolkit-dashboard-*/kernels/*")]

    def stderr(self) -> str:
        return self.err.read_text(errors="replace")


def _start(tmp_path: Path, *args: str) -> Served:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    err = tmp_path / "stderr.txt"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JUPYTER", "PLIVO_", "RECORDING_TOOLKIT_"))}
    env.update({"TMPDIR": str(tmp), "PATH": str(Path(sys.executable).parent) + os.pathsep
                + env.get("PATH", "")})
    with open(err, "wb") as stream:
        process = subprocess.Popen(
            [sys.executable, "-m", "recording_toolkit", "dashboard", *args, "--port", "0"],
            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=stream,
            start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        found = re.search(r"at (http://127\.0\.0\.1:\d+/)", err.read_text(errors="replace"))
        if found:
            return Served(process, found.group(1), tmp, err)
        if process.poll() is not None:
            pytest.fail(f"the command ended with {process.returncode}: {err.read_text()}")
        time.sleep(0.2)
    _kill(process)
    pytest.fail(f"no address printed within {START_TIMEOUT:g} s: {err.read_text()}")


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat")
    return not (state.exists() and state.read_text().split()[2] == "Z")


def _stopped_cleanly(served: Served, how: int) -> None:
    """Send ``how`` to the command alone (as a terminal's Ctrl-C or a service manager would),
    then check that it, its server and its kernels are gone and its folder removed."""
    import httpx

    kernels = served.kernel_pids()
    served.process.send_signal(how)
    try:
        code = served.process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        _kill(served.process)
        pytest.fail(f"still running {STOP_TIMEOUT:g} s after signal {how}")
    assert code == 0, served.stderr()
    assert served.stderr().rstrip().endswith("recording-toolkit dashboard: stopped")
    with pytest.raises(httpx.TransportError):
        httpx.get(served.url, timeout=2)
    assert [pid for pid in kernels if _alive(pid)] == [], "a kernel outlived the server"
    assert list(served.tmp.glob("recording-toolkit-dashboard-*")) == []


def test_the_command_serves_and_stops_on_sigterm(tmp_path):
    import httpx

    served = _start(tmp_path, str(_tiny_logs(tmp_path / "logs")))
    try:
        assert "serving" in served.stderr() and "(Ctrl-C to stop)" in served.stderr()
        folders = list(served.tmp.glob("recording-toolkit-dashboard-*"))
        assert len(folders) == 1
        notebook = folders[0] / app.NOTEBOOK_NAME
        assert str(tmp_path) not in notebook.read_text()  # the settings are not in the file
        tree = httpx.get(served.url + "voila/static/voila.js", timeout=10)
        assert tree.status_code == 200, "Voilà serves its JavaScript itself"
        _stopped_cleanly(served, signal.SIGTERM)
    finally:
        _kill(served.process)


# In Chromium ---------------------------------------------------------------------------------

WIDTHS = (1100, 1440)


# `browser`: the module-scoped Chromium of conftest.py


#: The height of everything on the page (Voilà's page may scroll inside an element).
_PAGE_HEIGHT_JS = """() => Math.max(...Array.from(document.querySelectorAll('*'),
    el => el.scrollHeight), document.documentElement.scrollHeight)"""
#: Every scrolled element back to its top, for a screenshot from the top.
_TO_TOP_JS = """() => { window.scrollTo(0, 0);
    for (const el of document.querySelectorAll('*')) { if (el.scrollTop) el.scrollTop = 0; } }"""


def _summary_value(page, label: str) -> str:
    """The figure beside ``label`` in the Dashboard's summary table."""
    row = page.locator("tr", has=page.locator("td", has_text=re.compile(rf"^{label}$"))).first
    return row.locator("td").nth(1).inner_text().strip()


def _decoded_images(page) -> int:
    return page.evaluate("""() => Array.from(document.querySelectorAll('img.widget-image'))
        .filter(img => img.complete && img.naturalWidth > 0).length""")


@pytest.mark.browser
def test_the_dashboard_page_in_chromium(browser, tmp_path):
    from test_browser import CHECKS, SCREENSHOTS, _message, reader_findings

    served = _start(tmp_path, str(DATA / "callbacks"), "--journal", str(DATA / "journal.jsonl"),
                    "--teams", str(DATA / "teams.toml"))
    outside: list[str] = []
    context = browser.new_context(viewport={"width": 1440, "height": 1000},
                                   accept_downloads=True)
    try:
        page = context.new_page()
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(
            (served.url, served.url.replace("http", "ws"), "data:", "blob:")) else None)
        page.goto(served.url, timeout=60_000)
        # The headline figures and the charts (the chosen one, outcomes, cost by team).
        page.locator("td", has_text=re.compile("^Recordings$")).first.wait_for(timeout=90_000)
        page.wait_for_function("""() => Array.from(document.querySelectorAll('img.widget-image'))
            .filter(img => img.complete && img.naturalWidth > 0).length >= 3""", timeout=30_000)
        assert _summary_value(page, "Recordings") == "1,997"
        assert _summary_value(page, "Conferences") == "64"
        assert page.locator(".jp-InputArea, .jp-CodeMirrorEditor, .cm-editor").count() == 0, \
            "no code on the page"

        # A date typed in (and Enter) redraws the figures and the chart.
        chart = page.locator("img.widget-image").first
        before = chart.get_attribute("src")
        day = page.locator("input[placeholder='YYYY-MM-DD']").first
        day.fill("2026-11-09")
        day.press("Enter")
        page.wait_for_function(
            """src => document.querySelector('img.widget-image').getAttribute('src') !== src""",
            arg=before, timeout=30_000)
        narrowed = _summary_value(page, "Recordings")
        assert narrowed != "1,997" and int(narrowed.replace(",", "")) < 1997

        # The search box finds a phrase the sample transcripts hold, the match marked.
        search = page.get_by_placeholder("A word or phrase")
        search.fill("budget")
        search.press("Enter")
        found = page.locator(".widget-html-content", has_text="searched mention")
        found.first.wait_for(timeout=30_000)
        assert re.match(r"[\d,]+ transcriptions of [\d,]+ searched mention budget",
                        found.first.inner_text())
        assert page.locator("mark", has_text=re.compile("^budget$", re.I)).count() >= 1

        # The team filter narrows the figures to the chosen team.
        teams = page.get_by_label("Teams")
        teams.select_option("Legal")
        page.wait_for_function(
            """n => { const cells = Array.from(document.querySelectorAll('td'));
                      const i = cells.findIndex(c => c.textContent.trim() === 'Recordings');
                      return i >= 0 && cells[i + 1].textContent.trim() !== n; }""",
            arg=narrowed, timeout=30_000)
        assert int(_summary_value(page, "Recordings").replace(",", "")) < int(
            narrowed.replace(",", ""))

        # Export: each table downloads from the page as CSV.
        page.locator("button", has_text="Export tables").click()
        link = page.locator("a[download='by_conference.csv']")
        link.wait_for(timeout=30_000)
        with page.expect_download(timeout=15_000) as download:
            link.click()
        saved = tmp_path / "by_conference.csv"
        download.value.save_as(saved)
        lines = saved.read_text().splitlines()
        assert lines[0].startswith("conference_name,recordings")
        assert all(line.split(",")[0].startswith("legal-") for line in lines[1:]) and lines[1:]

        # How it reads, at each width; screenshots of the whole page.
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        problems: list[str] = []
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 1000})
            page.wait_for_timeout(500)
            height = page.evaluate(_PAGE_HEIGHT_JS)
            page.set_viewport_size({"width": width, "height": height + 50})
            page.evaluate(_TO_TOP_JS)
            page.wait_for_timeout(800)
            result = reader_findings(page, ["body"], contain_within_root=False)
            for check in CHECKS:
                if check != "contents_links_land" and result["found"][check]:
                    problems.append(_message(f"app at {width} px: {CHECKS[check]}",
                                             result["found"][check]))
            page.screenshot(path=str(SCREENSHOTS / f"dashboard-app-{width}.png"),
                            full_page=True)
        assert problems == [], "\n".join(problems)
        assert outside == [], "requests beyond the server"
        assert _decoded_images(page) >= 3
        assert served.kernel_pids(), "the page's kernel noted itself"
    finally:
        context.close()
        try:
            if served.process.poll() is None:
                _stopped_cleanly(served, signal.SIGINT)  # Ctrl-C
        finally:
            _kill(served.process)


@pytest.mark.browser
def test_the_training_panel_records_in_the_sandbox_and_its_callbacks_arrive(browser,
                                                                           tmp_path):
    served = _start(tmp_path, str(_tiny_logs(tmp_path / "logs")), "--sandbox")
    context = browser.new_context(viewport={"width": 1100, "height": 1400})
    try:
        page = context.new_page()
        page.goto(served.url, timeout=60_000)
        page.get_by_text("Training: a simulated Plivo").wait_for(timeout=90_000)
        page.locator("button", has_text="Start").first.click()
        started = page.locator("tr", has_text="started").first
        started.wait_for(timeout=30_000)
        recording_id = re.search(r"[0-9a-f]{8}-[0-9a-f-]{27}", started.inner_text()).group(0)
        page.wait_for_timeout(1_000)  # ten minutes of sandbox time
        stop = page.locator("button", has_text="Stop").first
        page.wait_for_function("el => !el.disabled", arg=stop.element_handle(), timeout=15_000)
        stop.click()
        # The sandbox posts the recording's callback to the embedded receiver; the live
        # dashboard under the panel lists it without anything being pressed.
        latest = page.locator(".widget-html-content").filter(
            has=page.locator("th", has_text="Received (UTC)")).last
        latest.locator("tr", has_text=recording_id).first.wait_for(timeout=30_000)
        assert "training" in latest.inner_text()
    finally:
        context.close()
        try:
            if served.process.poll() is None:
                _stopped_cleanly(served, signal.SIGINT)
        finally:
            _kill(served.process)
