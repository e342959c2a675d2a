"""The notebooks in a real browser: JupyterLab headless, driven through Debian's Chromium.

What a person would see: the quick-start and dashboard notebooks open in JupyterLab, every cell
runs without a traceback, the charts are images in the page, and clicking Start in the
``RecordingPanel`` puts the new recording's id into the rendered table. Screenshots go to
``reports/browser/``.

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
        return f"{self.url}/lab/tree/notebooks/{name}?token={self.token}"

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


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser, lab: Lab) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


# Driving JupyterLab ------------------------------------------------------------------------

_PROMPTS_JS = """() => Array.from(
    document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt'),
    e => e.textContent.trim())"""


def open_notebook(page, lab: Lab, name: str) -> None:
    """Open ``notebooks/<name>`` and wait for its kernel to be idle."""
    page.goto(lab.notebook_url(name))
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=60_000)
    # A kernel-selection dialog can appear on first open: accept the default.
    dialog = page.locator(".jp-Dialog")
    try:
        dialog.wait_for(timeout=3_000)
        page.keyboard.press("Enter")
    except Exception:  # no dialog: the notebook's kernelspec was found
        pass
    page.locator(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(
        timeout=60_000)


def run_all_cells(page, lab: Lab, name: str) -> list[str]:
    """Run every cell (menu Run > Run All Cells) and wait until none is queued or running."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    deadline = time.monotonic() + RUN_ALL_TIMEOUT
    prompts: list[str] = []
    while time.monotonic() < deadline:
        prompts = page.evaluate(_PROMPTS_JS)
        if prompts and all(p not in ("[*]:", "[ ]:", "") for p in prompts):
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
        locator.scroll_into_view_if_needed()
        locator.screenshot(path=str(path))
    else:
        page.screenshot(path=str(path))
    return path


# The harness itself ----------------------------------------------------------------------------


def test_lab_kernel_is_this_environment_and_widgets_round_trip(page, lab):
    """A notebook written here runs on this venv's Python, its chart is an image in the page and
    a widget button clicked in the browser runs its handler in the kernel."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("import sys\nprint('python:', sys.executable)"),
        nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\n"
                                  "fig, ax = plt.subplots()\nax.plot([1, 2, 3]);"),
        nbformat.v4.new_code_cell(
            "import ipywidgets as w\nbutton = w.Button(description='Press me')\n"
            "answer = w.HTML('not pressed')\n"
            "button.on_click(lambda _: setattr(answer, 'value', 'pressed in the kernel'))\n"
            "w.VBox([button, answer])"),
    ]
    name = "harness-check.ipynb"
    nbformat.write(nb, lab.root / "notebooks" / name)
    try:
        open_notebook(page, lab, name)
        assert run_all_cells(page, lab, name) == ["[1]:", "[2]:", "[3]:"]
        assert tracebacks(page) == []
        outputs = "\n".join(page.locator(".jp-OutputArea-output").all_inner_texts())
        assert f"python: {sys.executable}" in outputs
        assert rendered_images(page) == 1
        page.locator(".jupyter-button", has_text="Press me").click()
        page.locator(".widget-html-content", has_text="pressed in the kernel").wait_for(
            timeout=15_000)
        screenshot(page, "harness-check")
    finally:
        (lab.root / "notebooks" / name).unlink()
