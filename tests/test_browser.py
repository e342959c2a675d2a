"""The notebooks and the HTML report in a real browser: JupyterLab headless and a file page,
driven through Debian's Chromium.

What a person would see: the quick-start and dashboard notebooks open in JupyterLab, every cell
runs without a traceback, the charts are images in the page, and clicking Start in the
``RecordingPanel`` puts the new recording's id into the rendered table.

How the report and the Dashboard read, at 1100 and 1440 px wide (JavaScript evaluated in the
page, see ``_READER_CHECKS_JS``): nothing wider than the window or cut off inside a box (text
clipped sideways, or clamped to fewer lines than it needs); every
chart image at its natural aspect ratio and not blown up; a contents list whose links land (the
report); no internal ``snake_case`` key in the visible text outside ``<code>``; no number with
five or more decimals; no whole number of five or more digits without separators. Screenshots go
to ``reports/browser/``.

JupyterLab runs from this interpreter (``sys.executable -m jupyterlab``) with its own Jupyter
folders in a temporary directory, so the notebooks' ``python3`` kernel is this virtual
environment's Python and no user-level kernelspec or setting can get in the way.

The browser is ``/usr/bin/chromium`` (``scripts/ensure-browser`` installs it); Playwright's own
browser download is never used. Without Chromium the test is skipped, except under CI
(``CI=true``) where it fails.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "reports" / "browser"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
#: JupyterLab settings for a quiet, deterministic page: no news toast, every cell in the DOM
#: (with windowing, cells out of view are not rendered and cannot be found), kernel auto-start.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none", "autoStartDefaultKernel": True},
}
SERVER_START_TIMEOUT = 60
KERNEL_START_TIMEOUT = 60
RUN_ALL_TIMEOUT = 90


def _chromium() -> str:
    """The Chromium executable, or skip (fail under CI) saying why."""
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists()
                                        else None)
    if path is None:
        reason = ("Debian's chromium is not installed (make test installs it with "
                  "scripts/ensure-browser when run as root)")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Lab:
    """A running JupyterLab: where it listens, its token and its folders."""

    url: str
    token: str
    root: Path      # the server's root_dir: copies of notebooks/ and data/
    work: Path      # RECORDING_TOOLKIT_DATA_DIR of its kernels (logs and journals)
    log: Path       # the server's own output

    def notebook_url(self, name: str) -> str:
        # A workspace of its own: JupyterLab does not restore the tabs another test opened
        # (each restored tab reconnects to, or starts, a kernel of its own).
        workspace = f"{Path(name).stem}-{secrets.token_hex(4)}"
        return f"{self.url}/lab/workspaces/{workspace}/tree/notebooks/{name}?token={self.token}"

    def kernel_of(self, name: str) -> dict | None:
        """The kernel of the notebook's session (``id``, ``execution_state``), if it has one."""
        import httpx

        response = httpx.get(f"{self.url}/api/sessions", timeout=5,
                             headers={"Authorization": f"token {self.token}"})
        response.raise_for_status()
        for session in response.json():
            if session.get("path") == f"notebooks/{name}" and session.get("kernel"):
                return session["kernel"]
        return None

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:]).replace(self.token, "<token>")


def _lab_environment(base: Path, work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JUPYTER", "PLIVO_", "MPLBACKEND", "RECORDING_TOOLKIT_"))}
    venv_bin = str(Path(sys.executable).parent)
    env.update({
        "PATH": venv_bin + os.pathsep + env.get("PATH", ""),
        # Jupyter's folders live in the temporary directory: no user kernelspec, setting or
        # workspace from this machine is picked up, and nothing is written to the home folder.
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTER_DATA_DIR": str(base / "data"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "IPYTHONDIR": str(base / "ipython"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "RECORDING_TOOLKIT_DATA_DIR": str(work),
    })
    return env


def _wait_until_serving(process: subprocess.Popen[bytes], url: str, token: str,
                        log: Path) -> None:
    import httpx

    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited with {process.returncode}:\n"
                        f"{log.read_text(errors='replace').replace(token, '<token>')[-3000:]}")
        try:
            response = httpx.get(f"{url}/api/status", headers={"Authorization": f"token {token}"},
                                 timeout=2)
            if response.status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    pytest.fail(f"JupyterLab did not answer within {SERVER_START_TIMEOUT} s")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab on 127.0.0.1 with a token, over a temporary copy of notebooks/ and data/."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    shutil.copytree(ROOT / "notebooks", root / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    if (ROOT / "data").exists():
        shutil.copytree(ROOT / "data", root / "data")
    work = base / "work"
    work.mkdir()
    settings = base / "settings"
    for name, values in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    token = secrets.token_hex(24)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = base / "jupyterlab.log"
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
        "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={base / 'ws'}",
        "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=root, env=_lab_environment(base, work),
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_until_serving(process, url, token, log)
        yield Lab(url=url, token=token, root=root, work=work, log=log)
    finally:
        # The server and the kernels it started are one process group of their own.
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


# `browser`: the module-scoped Chromium of conftest.py


@pytest.fixture
def page(browser, lab: Lab) -> Iterator[object]:
    # Tall enough that a whole dashboard fits on screen for its screenshot.
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


# Driving JupyterLab ------------------------------------------------------------------------

_PROMPTS_JS = """() => Array.from(
    document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt'),
    e => e.textContent.trim())"""


def open_notebook(page, lab: Lab, name: str) -> str:
    """Open ``notebooks/<name>``, wait until its kernel has settled and is idle; its id.

    Settled means the same kernel, idle, on two checks a second apart, with no dialog on
    screen: a kernel-selection dialog (Enter accepts the default) replaces the kernel JupyterLab
    started first, and cells run before that would be lost with it.
    """
    page.goto(lab.notebook_url(name))
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=60_000)
    dialog = page.locator(".jp-Dialog")
    deadline = time.monotonic() + KERNEL_START_TIMEOUT
    previous = None
    while time.monotonic() < deadline:
        if dialog.count():
            page.keyboard.press("Enter")
            previous = None
        else:
            kernel = lab.kernel_of(name)
            state = kernel and (kernel["id"], kernel["execution_state"])
            if state and state[1] == "idle" and state == previous:
                page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) "
                             ".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(
                    timeout=30_000)
                return state[0]
            previous = state
        page.wait_for_timeout(1_000)
    screenshot(page, f"{Path(name).stem}-no-kernel")
    pytest.fail(f"{name}: no idle kernel within {KERNEL_START_TIMEOUT} s\n{lab.log_tail()}")


def run_all_cells(page, lab: Lab, name: str) -> list[str]:
    """Run every cell (menu Run > Run All Cells) and wait until none is queued or running,
    or until a cell failed (JupyterLab then runs none of the cells after it)."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    deadline = time.monotonic() + RUN_ALL_TIMEOUT
    prompts: list[str] = []
    while time.monotonic() < deadline:
        prompts = page.evaluate(_PROMPTS_JS)
        if prompts and all(p not in ("[*]:", "[ ]:", "") for p in prompts):
            return prompts
        if prompts and "[*]:" not in prompts and tracebacks(page):
            return prompts
        page.wait_for_timeout(500)
    page.screenshot(path=str(SCREENSHOTS / f"{Path(name).stem}-timeout.png"))
    pytest.fail(f"{name}: cells still running after {RUN_ALL_TIMEOUT} s: {prompts}\n"
                f"{lab.log_tail()}")


def tracebacks(page) -> list[str]:
    """The text of every error output in the open notebook."""
    return page.locator(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
    ).filter(has_text="Traceback").all_inner_texts()


def rendered_images(page) -> int:
    """Images in outputs (inline charts and Image widgets) that the browser actually decoded."""
    return page.evaluate("""() => Array.from(
        document.querySelectorAll('.jp-OutputArea-output img, .widget-image'),
        img => img.complete && img.naturalWidth > 0).filter(Boolean).length""")


def screenshot(page, name: str, locator=None) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    if locator is not None:
        # The notebook scrolls inside the page: bring the element's top to the top first.
        locator.evaluate("element => element.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(300)
        locator.screenshot(path=str(path))
    else:
        page.screenshot(path=str(path))
    return path


def cell_output(page, source_text: str):
    """The output area of the code cell whose source contains ``source_text``."""
    cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell").filter(
        has=page.locator(".jp-InputArea", has_text=source_text))
    return cell.first.locator(".jp-OutputArea").first


def decoded_widget_images(page) -> tuple[int, int]:
    """(Image widgets decoded by the browser, Image widgets in the page)."""
    return tuple(page.evaluate("""() => {
        const all = Array.from(document.querySelectorAll('img.widget-image'));
        return [all.filter(img => img.complete && img.naturalWidth > 0).length, all.length];
    }"""))


def new_started_recording(journal: Path, known: int, timeout: float = 30.0) -> str:
    """The recording id of the first successful start after the first ``known`` journal lines.

    The journal is what the notebook's client wrote from Plivo's (the sandbox's) answer, so the
    id comes from outside the page: the test then looks for it in what the browser rendered.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = journal.read_text().splitlines() if journal.exists() else []
        for line in lines[known:]:
            entry = json.loads(line)
            if entry["action"] == "start" and entry["ok"] and entry["recording_id"]:
                return entry["recording_id"]
        time.sleep(0.2)
    pytest.fail(f"no new successful start in {journal} within {timeout} s")


def journal_lines(journal: Path) -> int:
    return len(journal.read_text().splitlines()) if journal.exists() else 0


def run_notebook(page, lab: Lab, name: str) -> None:
    """Open ``name``, run every cell, and check that each one ran without a traceback."""
    kernel = open_notebook(page, lab, name)
    prompts = run_all_cells(page, lab, name)
    assert lab.kernel_of(name)["id"] == kernel, "the kernel was replaced while the cells ran"
    errors = tracebacks(page)
    if errors:
        screenshot(page, f"{Path(name).stem}-error")
    assert errors == [], f"{name}: {errors[0][-2000:]}"
    assert all(p.startswith("[") and p[1:-2].isdigit() for p in prompts), prompts


def test_quick_start_start_button_shows_the_new_recording_id(page, lab):
    run_notebook(page, lab, "01_quick_start.ipynb")
    journal = lab.work / "quick-start" / "journal.jsonl"
    known = journal_lines(journal)
    assert known == 4, "the notebook's own two starts and two stops"
    panel = cell_output(page, "panel = RecordingPanel(")
    start = panel.locator(".jupyter-button", has_text="Start")
    start.click()
    recording_id = new_started_recording(journal, known)
    # The id Plivo returned shows up in the panel's table, marked started, and in its message.
    row = panel.locator("tr", has_text=recording_id)
    row.wait_for(timeout=15_000)
    assert "started" in row.inner_text()
    message = panel.locator(".widget-html-content", has_text="started in design-review")
    assert recording_id in message.inner_text()
    page.wait_for_function("""el => !el.disabled""", arg=start.element_handle(),
                           timeout=15_000)
    screenshot(page, "quick-start-panel", panel)


@pytest.fixture(scope="module")
def dashboard_page(browser, lab: Lab) -> Iterator[object]:
    """``05_dashboard.ipynb`` run once in a window 1440 px wide, for the tests that follow."""
    context = browser.new_context(viewport={"width": 1440, "height": 1800})
    page = context.new_page()
    try:
        run_notebook(page, lab, "05_dashboard.ipynb")
        yield page
    finally:
        context.close()


def test_dashboard_charts_render_and_a_recording_started_in_the_page_arrives_live(
        dashboard_page, lab):
    page = dashboard_page
    page.set_viewport_size({"width": 1440, "height": 1800})
    # The sample dashboard and the live one: a chosen chart and an outcomes chart each.
    decoded, images = decoded_widget_images(page)
    assert images == 4 and decoded == images
    sample = cell_output(page, "dash = Dashboard(")
    assert "Recordings" in sample.inner_text()
    screenshot(page, "dashboard-sample", sample)

    journal = lab.work / "dashboard" / "journal.jsonl"
    known = journal_lines(journal)
    panel = cell_output(page, "panel = RecordingPanel(")
    panel.locator(".jupyter-button", has_text="Start").click()
    recording_id = new_started_recording(journal, known)
    panel.locator("tr", has_text=recording_id).wait_for(timeout=15_000)
    page.wait_for_timeout(1_000)  # one real second: ten minutes of sandbox time
    stop = panel.locator(".jupyter-button", has_text="Stop")
    page.wait_for_function("""el => !el.disabled""", arg=stop.element_handle(), timeout=15_000)
    stop.click()
    # Stopping ends the recording; the sandbox posts its callback to the receiver, and the live
    # dashboard's "Latest callbacks" shows it without anything being run in the notebook.
    live = cell_output(page, "live = Dashboard(")
    latest = live.locator(".widget-html-content").filter(
        has=page.locator("th", has_text="Received (UTC)"))
    latest.locator("tr", has_text=recording_id).first.wait_for(timeout=30_000)
    assert "live-demo" in latest.inner_text()
    decoded, images = decoded_widget_images(page)
    assert images == 4 and decoded == images, "charts redrawn after the live reload"
    screenshot(page, "dashboard-live", live)


# How the report and the Dashboard read ---------------------------------------------------------

WIDTHS = (1100, 1440)

#: Every check a page is held to, by name, with what a reader would notice when it fails.
CHECKS = {
    "fits_the_window": "elements wider than the window (the page scrolls sideways)",
    "nothing_cut_off": "boxes whose content is cut off (sideways or below) or scrolls sideways",
    "charts_at_natural_size": "chart images stretched, squashed or blown up",
    "contents_links_land": "a contents list that is missing or whose links land nowhere",
    "no_internal_keys": "internal snake_case keys in the visible text outside <code>",
    "no_long_decimals": "numbers with five or more decimals",
    "big_numbers_have_separators": "whole numbers of five or more digits without separators",
}

#: One pass over the page, in the page. ``roots`` are CSS selectors of what is looked at (the
#: report's body, the notebook's outputs); each finding names the element and shows its text.
_READER_CHECKS_JS = r"""({roots, containWithinRoot}) => {
  const viewport = document.documentElement.clientWidth;
  const found = {fits_the_window: [], nothing_cut_off: [], charts_at_natural_size: [],
                 contents_links_land: [], no_internal_keys: [], no_long_decimals: [],
                 big_numbers_have_separators: []};
  const stats = {charts: 0, elements: 0, contents_links: 0};
  const short = (text, n = 70) => (text || '').replace(/\s+/g, ' ').trim().slice(0, n);
  const describe = (el) => {
    let name = el.tagName.toLowerCase();
    if (el.id) name += '#' + el.id;
    const cls = (el.getAttribute('class') || '').trim().split(/\s+/).filter(Boolean).slice(0, 2);
    if (cls.length) name += '.' + cls.join('.');
    const section = el.parentElement && el.parentElement.closest('[id]');
    const heading = (() => {   // the nearest heading above, for a person to find the place
      const all = Array.from(document.querySelectorAll('h1, h2, h3, h4'));
      let last = null;
      for (const h of all) {
        if (h.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING) last = h;
      }
      return last ? short(last.textContent.replace(/\u00b6/g, ''), 40) : '';  // no pilcrow
    })();
    let where = heading ? ` under "${heading}"` : '';
    if (section && section.id && !where) where = ` in #${section.id}`;
    return `${name}${where}`;
  };
  const visible = (el) => {
    const style = getComputedStyle(el);
    return style.display !== 'none' && style.visibility !== 'hidden' &&
           el.getClientRects().length > 0;
  };
  const rootElements = roots.flatMap(sel => Array.from(document.querySelectorAll(sel)));
  const reported = [];
  const inReported = (el) => reported.some(r => r !== el && r.contains(el));

  for (const root of rootElements) {
    const rootBox = root.getBoundingClientRect();
    const left = containWithinRoot ? Math.max(0, rootBox.left) : 0;
    const right = containWithinRoot ? Math.min(viewport, rootBox.right) : viewport;
    for (const el of [root, ...root.querySelectorAll('*')]) {
      if (!visible(el)) continue;
      stats.elements += 1;
      const box = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      // Wider than the window (or than the output it belongs to), outermost offender only.
      const limitRight = el === root ? viewport : right;
      const limitLeft = el === root ? 0 : left;
      if (box.width > 0 && (box.right > limitRight + 1 || box.left < limitLeft - 1) &&
          !inReported(el)) {
        reported.push(el);
        found.fits_the_window.push(
          `${describe(el)}: spans x ${Math.round(box.left)}..${Math.round(box.right)} px, ` +
          `allowed ${Math.round(limitLeft)}..${Math.round(limitRight)} px ` +
          `("${short(el.innerText)}")`);
      }
      // Cut off inside a box: content wider than the box that clips or scrolls it.
      if (['hidden', 'auto', 'scroll', 'clip'].includes(style.overflowX) &&
          el.scrollWidth > el.clientWidth + 1 && el.tagName !== 'HTML' && el.tagName !== 'BODY') {
        const shown = el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' ?
          `value "${short(el.value)}"` : `"${short(el.innerText)}"`;
        found.nothing_cut_off.push(
          `${describe(el)}: content ${el.scrollWidth} px wide in a box ${el.clientWidth} px ` +
          `wide (overflow-x: ${style.overflowX}) (${shown})`);
      }
      // Cut off below: text taller than a box that hides the rest (a clamp to a few lines).
      // A box that scrolls down (a list) shows everything in turn and is not counted.
      if (['hidden', 'clip'].includes(style.overflowY) && el.children.length === 0 &&
          (el.innerText || '').trim() && el.scrollHeight > el.clientHeight + 2) {
        found.nothing_cut_off.push(
          `${describe(el)}: text ${el.scrollHeight} px tall in a box ${el.clientHeight} px ` +
          `tall (overflow-y: ${style.overflowY}) ("${short(el.innerText)}"; shown: ` +
          `${el.closest('[title]') ? 'in full only as a tooltip' : 'cut'})`);
      }
      // Inline SVG charts scale without blur; they must only keep their aspect ratio.
      if (el.tagName.toLowerCase() === 'svg' && !el.parentElement.closest('svg') &&
          box.width >= 100 && el.viewBox && el.viewBox.baseVal && el.viewBox.baseVal.width) {
        stats.charts += 1;
        const vb = el.viewBox.baseVal;
        const off = Math.abs((box.width / box.height) / (vb.width / vb.height) - 1);
        if ((el.getAttribute('preserveAspectRatio') || '').includes('none') && off > 0.02) {
          found.charts_at_natural_size.push(`${describe(el)}: SVG ${vb.width}x${vb.height} ` +
            `drawn at ${Math.round(box.width)}x${Math.round(box.height)}, aspect ratio off by ` +
            `${(off * 100).toFixed(1)} %`);
        }
      }
      // Chart images: decoded, natural aspect ratio (within 2 %), not drawn larger than they
      // are (a bitmap blown up is blurred; an SVG image may grow).
      if (el.tagName === 'IMG' && el.complete && el.naturalWidth > 0) {
        stats.charts += 1;
        const pad = (a, b) => parseFloat(style[a]) + parseFloat(style[b]);
        let w = el.clientWidth - pad('paddingLeft', 'paddingRight');
        let h = el.clientHeight - pad('paddingTop', 'paddingBottom');
        if (['contain', 'scale-down'].includes(style.objectFit)) {
          let scale = Math.min(w / el.naturalWidth, h / el.naturalHeight);
          if (style.objectFit === 'scale-down') scale = Math.min(scale, 1);
          w = el.naturalWidth * scale; h = el.naturalHeight * scale;
        }
        const natural = el.naturalWidth / el.naturalHeight;
        const shown = w / h;
        const title = short(el.getAttribute('alt') || el.getAttribute('title') || '', 50);
        const what = `${describe(el)}${title ? ` ("${title}")` : ''}: ` +
                     `${el.naturalWidth}x${el.naturalHeight} drawn at ` +
                     `${Math.round(w)}x${Math.round(h)}`;
        if (Math.abs(shown / natural - 1) > 0.02) {
          found.charts_at_natural_size.push(`${what}, aspect ratio off by ` +
            `${(Math.abs(shown / natural - 1) * 100).toFixed(1)} %`);
        } else if (w > el.naturalWidth + 0.5 && !/^data:image\/svg|\.svg(\?|$)/.test(el.src)) {
          found.charts_at_natural_size.push(`${what}, blown up ` +
            `${(w / el.naturalWidth * 100).toFixed(0)} %`);
        }
      }
    }
    // In-page links: each href="#id" must land on an element with that id.
    for (const link of root.querySelectorAll('a[href^="#"]')) {
      const id = decodeURIComponent(link.getAttribute('href').slice(1));
      if (!id || !document.getElementById(id)) {
        found.contents_links_land.push(
          `link "${short(link.textContent, 40)}" to #${id} lands on no element`);
      }
    }
    // The visible text, outside code: internal keys and unformatted numbers.
    const skip = new Set(['CODE', 'SCRIPT', 'STYLE', 'NOSCRIPT', 'TEXTAREA', 'KBD', 'SAMP']);
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.nodeValue;
      if (!text || !text.trim()) continue;
      let parent = node.parentElement, hidden = false;
      for (let p = parent; p && p !== root.parentElement; p = p.parentElement) {
        if (skip.has(p.tagName)) { hidden = true; break; }
      }
      if (hidden || !parent || !visible(parent)) continue;
      const where = `${describe(parent)} ("${short(text)}")`;
      for (const m of text.matchAll(/\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b/g)) {
        found.no_internal_keys.push(`"${m[0]}" in ${where}`);
      }
      // Dates, times, UUIDs and addresses (a port) are not numbers to format.
      const plain = text
        .replace(/\bhttps?:\/\/\S+/g, ' ')
        .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, ' ')
        .replace(/\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?/g, ' ')
        .replace(/\b\d{1,2}:\d{2}(?::\d{2})?\b/g, ' ');
      for (const m of plain.matchAll(/\d\.\d{5,}/g)) {
        found.no_long_decimals.push(`"${m[0]}" in ${where}`);
      }
      for (const m of plain.matchAll(/(?<![\w.,])\d{5,}(?!\w)/g)) {
        found.big_numbers_have_separators.push(`"${m[0]}" in ${where}`);
      }
    }
  }
  return {found, stats};
}"""

#: The contents list: a <nav> (or an element whose id or class says contents/toc) of in-page
#: links, one for each section heading of the page.
_CONTENTS_JS = r"""() => {
  const problems = [];
  const lists = Array.from(document.querySelectorAll(
    'nav, [id*="contents" i], [class*="contents" i], [id*="toc" i], [class*="toc" i]'))
    .filter(el => el.querySelectorAll('a[href^="#"]').length >= 3);
  if (!lists.length) {
    return {problems: ['no contents list: no <nav> (or element named contents/toc) with three ' +
                       'or more in-page links'], links: 0};
  }
  const targets = new Set(lists.flatMap(
    el => Array.from(el.querySelectorAll('a[href^="#"]'),
                     a => decodeURIComponent(a.getAttribute('href').slice(1)))));
  for (const h of document.querySelectorAll('h2')) {
    const section = h.closest('section[id]');
    const ids = [h.id, section && section.id].filter(Boolean);
    if (!ids.some(id => targets.has(id))) {
      problems.push(`section "${h.textContent.trim().slice(0, 50)}" is not in the contents list` +
                    (ids.length ? ` (its id: #${ids[0]})` : ' (it has no id to link to)'));
    }
  }
  return {problems, links: targets.size};
}"""


def reader_findings(page, roots: list[str], *, contain_within_root: bool) -> dict:
    """What the reader checks found in ``page`` (``found``: check -> list of findings;
    ``stats``: how many elements and charts were looked at)."""
    return page.evaluate(_READER_CHECKS_JS,
                         {"roots": roots, "containWithinRoot": contain_within_root})


def _message(what: str, findings: list[str], limit: int = 15) -> str:
    shown = "\n  ".join(findings[:limit])
    more = f"\n  ... and {len(findings) - limit} more" if len(findings) > limit else ""
    return f"{what}: {len(findings)}\n  {shown}{more}"


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HTML report of the sample logs and journal, as ``report`` writes it."""
    from recording_toolkit import write_html
    from recording_toolkit.load import load_callbacks

    result = load_callbacks(ROOT / "data" / "callbacks", progress=False)
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_html(result, path, journal=ROOT / "data" / "journal.jsonl")
    return path


@pytest.fixture(scope="module")
def report_findings(browser, report_html: Path) -> dict[int, dict]:
    """The report opened at each width: its findings, and a full-page screenshot each."""
    findings: dict[int, dict] = {}
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        try:
            page.goto(report_html.as_uri(), wait_until="load")
            page.wait_for_function("""() => Array.from(document.images).every(i => i.complete)""",
                                   timeout=15_000)
            result = reader_findings(page, ["body"], contain_within_root=False)
            contents = page.evaluate(_CONTENTS_JS)
            result["found"]["contents_links_land"].extend(contents["problems"])
            result["stats"]["contents_links"] = contents["links"]
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"report-{width}.png"), full_page=True)
            findings[width] = result
        finally:
            context.close()
    return findings


@pytest.mark.parametrize("check", list(CHECKS))
@pytest.mark.parametrize("width", WIDTHS)
def test_report_reads_well(report_findings, width, check):
    result = report_findings[width]
    assert result["stats"]["charts"] >= 4, "the report shows its charts as images"
    problems = result["found"][check]
    assert problems == [], _message(f"report at {width} px: {CHECKS[check]}", problems)


#: What a reader sees of a notebook: the outputs and the rendered text, not the code.
NOTEBOOK_ROOTS = [".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output",
                  ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-MarkdownOutput"]


@pytest.fixture(scope="module")
def dashboard_findings(dashboard_page) -> dict[int, dict]:
    """The run dashboard notebook looked at in a window of each width (widest first)."""
    page = dashboard_page
    findings: dict[int, dict] = {}
    for width in sorted(WIDTHS, reverse=True):
        page.set_viewport_size({"width": width, "height": 1800})
        page.wait_for_timeout(1_000)  # JupyterLab lays the panels out again
        page.wait_for_function("""() => Array.from(document.querySelectorAll(
            '.jp-OutputArea-output img')).every(i => i.complete)""", timeout=15_000)
        findings[width] = reader_findings(page, NOTEBOOK_ROOTS, contain_within_root=True)
        screenshot(page, f"dashboard-{width}")
        for name, source in (("sample", "dash = Dashboard("), ("live", "live = Dashboard(")):
            whole_output_screenshot(page, f"dashboard-{name}-{width}", cell_output(page, source))
    page.set_viewport_size({"width": 1440, "height": 1800})
    return findings


def whole_output_screenshot(page, name: str, locator) -> Path:
    """A screenshot of all of ``locator``: the window is made taller than it for the picture,
    since the notebook scrolls inside the page and clips what lies below the window."""
    viewport = page.viewport_size
    height = locator.evaluate("element => element.getBoundingClientRect().height")
    page.set_viewport_size({"width": viewport["width"],
                            "height": max(viewport["height"], int(height) + 400)})
    try:
        page.wait_for_timeout(500)
        return screenshot(page, name, locator)
    finally:
        page.set_viewport_size(viewport)


@pytest.mark.parametrize("check", [c for c in CHECKS if c != "contents_links_land"])
@pytest.mark.parametrize("width", WIDTHS)
def test_dashboard_notebook_reads_well(dashboard_findings, width, check):
    result = dashboard_findings[width]
    assert result["stats"]["charts"] >= 4, "the dashboards show their charts as images"
    problems = result["found"][check]
    assert problems == [], _message(f"05_dashboard at {width} px: {CHECKS[check]}", problems)


def _png(width: int, height: int) -> str:
    """A grey PNG of ``width`` x ``height`` pixels, as a data URL."""
    import base64
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    png = (b"\x89PNG\r\n\x1a\n"
           + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def test_reader_checks_find_each_kind_of_problem_and_nothing_else(browser):
    """The checks above, on a page with one problem of each kind beside its harmless twin."""
    square = _png(100, 100)
    page_html = f"""<!doctype html><html><body style="margin:0;font:16px sans-serif">
      <nav><a href="#one">One</a> <a href="#two">Two</a> <a href="#gone">Gone</a></nav>
      <h2 id="one">One</h2><h2 id="two">Two</h2><h2>Three</h2>
      <div id="wide" style="width:1500px">too wide</div>
      <div id="sideways" style="width:80px;overflow:hidden;white-space:nowrap">unbrokenlongword
        </div>
      <div id="clamped" style="width:80px;height:1.2em;overflow:hidden">one two three four</div>
      <div style="width:80px;height:3em;overflow:auto">a list that scrolls down: one two
        three four five six seven eight</div>
      <img id="squashed" src="{square}" width="100" height="50">
      <img id="blown-up" src="{square}" width="300" height="300">
      <img src="{square}" width="50" height="50">
      <p>charge_total 0.911243 1611000 1,611,000 0.0508 2026-11-02 14:05:33
         0d138530-9e17-4bb8-a0ed-42028ab3a1e1 http://127.0.0.1:34419/callbacks
         <code>fine_key 0.123456 99999</code></p>
    </body></html>"""
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    try:
        page.set_content(page_html, wait_until="load")
        result = reader_findings(page, ["body"], contain_within_root=False)
        contents = page.evaluate(_CONTENTS_JS)
    finally:
        context.close()
    found = result["found"]
    # What each check found: the element's tag and id, or the quoted text.
    only = {name: [re.match(r'"[^"]*"|[\w#.-]+', f).group(0) for f in findings]
            for name, findings in found.items()}
    assert only["fits_the_window"] == ["div#wide"]
    assert only["nothing_cut_off"] == ["div#sideways", "div#clamped"]
    assert only["charts_at_natural_size"] == ["img#squashed", "img#blown-up"]
    assert "aspect ratio off by 100.0 %" in found["charts_at_natural_size"][0]
    assert "blown up 300 %" in found["charts_at_natural_size"][1]
    assert found["contents_links_land"] == ['link "Gone" to #gone lands on no element']
    assert contents["problems"] == ['section "Three" is not in the contents list '
                                    "(it has no id to link to)"]
    assert only["no_internal_keys"] == ['"charge_total"']
    assert only["no_long_decimals"] == ['"0.911243"']
    assert only["big_numbers_have_separators"] == ['"1611000"']
