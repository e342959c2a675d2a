"""Tests for scripts/strip_notebooks.py and for the notebooks committed with it.

The committed notebooks must be stripped (no images, widget state, execution counts), keep only the
small checked tables nbval compares, and contain nothing that looks like a token.
"""

from __future__ import annotations

import doctest
import importlib.util
import json
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
EXPECTED = ("01_quick_start.ipynb", "02_durations.ipynb", "03_costs.ipynb",
            "04_transcriptions.ipynb", "05_dashboard.ipynb", "06_retention.ipynb",
            "07_search_and_teams.ipynb")


def _load_script():
    spec = importlib.util.spec_from_file_location("strip_notebooks",
                                                  ROOT / "scripts" / "strip_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


strip_notebooks = _load_script()

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def _notebook(*cells, metadata=None):
    nb = nbformat.v4.new_notebook(metadata=metadata or {})
    nb.cells = list(cells)
    return json.loads(nbformat.writes(nb))


def _run_cell(source, outputs, count=1):
    cell = nbformat.v4.new_code_cell(source, execution_count=count,
                                     metadata={"execution": {"iopub.status.busy": "x"},
                                               "tags": ["keep-me"]})
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    return cell


def _result(data, count=1):
    return {"output_type": "execute_result", "data": data, "metadata": {},
            "execution_count": count}


def test_docstring_examples():
    failures, tried = doctest.testmod(strip_notebooks)
    assert tried >= 3 and failures == 0


def test_strip_clears_outputs_counts_and_run_metadata():
    nb = _notebook(
        _run_cell("fig", [{"output_type": "display_data", "metadata": {},
                           "data": {"image/png": PNG, "text/plain": "<Figure>"}}], count=4),
        nbformat.v4.new_markdown_cell("# Title"),
        metadata={"widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}},
                  "kernelspec": {"name": "python3", "display_name": "Python 3",
                                 "language": "python"},
                  "language_info": {"name": "python", "version": "3.11.7"}},
    )
    out = strip_notebooks.strip(nb)
    code, markdown = out["cells"]
    assert code["outputs"] == [] and code["execution_count"] is None
    assert code["metadata"] == {"tags": ["keep-me"]}  # timings gone, tags kept
    assert "".join(markdown["source"]) == "# Title"
    assert "widgets" not in out["metadata"]
    assert out["metadata"]["language_info"] == {"name": "python"}
    assert out["metadata"]["kernelspec"]["name"] == "python3"
    # The input is left alone.
    assert nb["cells"][0]["outputs"]


def test_checked_cell_keeps_its_small_text_output_but_no_image():
    table = "<table><tr><td>3</td></tr></table>"
    nb = _notebook(_run_cell(
        "# NBVAL_CHECK_OUTPUT\nsummary",
        [{"output_type": "stream", "name": "stderr", "text": "progress 100%"},
         {"output_type": "stream", "name": "stdout", "text": "3 recordings\n"},
         _result({"text/plain": "3", "text/html": table, "image/png": PNG})],
    ))
    cell = strip_notebooks.strip(nb)["cells"][0]
    # nbval compares only cells with an execution count; a constant one keeps diffs quiet
    assert cell["execution_count"] == strip_notebooks.CHECKED_EXECUTION_COUNT
    assert [o["output_type"] for o in cell["outputs"]] == ["stream", "execute_result"]
    assert "".join(cell["outputs"][0]["text"]) == "3 recordings\n"
    assert {k: "".join(v) for k, v in cell["outputs"][1]["data"].items()} == {
        "text/plain": "3", "text/html": table}
    assert cell["outputs"][1]["execution_count"] == strip_notebooks.CHECKED_EXECUTION_COUNT


def test_checked_cell_with_a_big_output_is_refused_naming_the_cell():
    big = "x" * (strip_notebooks.MAX_KEPT_CHARS + 1)
    nb = _notebook(nbformat.v4.new_markdown_cell("intro"),
                   _run_cell("# NBVAL_CHECK_OUTPUT\nbig", [_result({"text/plain": big})]))
    with pytest.raises(strip_notebooks.NotebookProblem, match="x.ipynb, cell 2"):
        strip_notebooks.strip(nb, name="x.ipynb")


@pytest.mark.parametrize("text, found", [
    ("http://127.0.0.1:8888/lab/tree/a.ipynb?token=0123456789abcdef", "Jupyter token"),
    ('client = RecordingClient("MA00", auth_token="s3cr3t-value")', "auth token"),
    ("PLIVO_AUTH_TOKEN=abcdefghijkl", "PLIVO_AUTH_TOKEN"),
    ("Authorization: Basic TUEwMDAwOnNlY3JldA==", "Authorization"),
])
def test_secrets_are_found(text, found):
    assert any(found in what for what in strip_notebooks.find_secrets(text))


def test_harmless_text_is_not_a_secret():
    text = ("client = RecordingClient(sandbox.auth_id, sandbox.auth_token,"
            " base_url=sandbox.base_url)\nos.environ.get('PLIVO_AUTH_TOKEN')")
    assert strip_notebooks.find_secrets(text) == []


def test_check_mode_reports_and_rewrite_mode_fixes(tmp_path, capsys):
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(_notebook(_run_cell("1", [_result({"text/plain": "1"})]))))
    assert strip_notebooks.main(["--check", str(path)]) == 1
    assert "run python scripts/strip_notebooks.py" in capsys.readouterr().err
    assert strip_notebooks.main([str(path)]) == 0
    assert strip_notebooks.main(["--check", str(path)]) == 0
    assert json.loads(path.read_text())["cells"][0]["outputs"] == []


def test_a_notebook_with_a_secret_is_not_rewritten(tmp_path, capsys):
    path = tmp_path / "n.ipynb"
    original = json.dumps(_notebook(_run_cell('auth_token = "abcdef123456"', [])))
    path.write_text(original)
    assert strip_notebooks.main([str(path)]) == 1
    assert "auth token" in capsys.readouterr().err
    assert path.read_text() == original
    assert "abcdef123456" not in capsys.readouterr().err


# The committed notebooks ----------------------------------------------------------------------


@pytest.mark.parametrize("name", EXPECTED)
def test_committed_notebook_is_clean(name):
    path = NOTEBOOKS / name
    assert path.exists(), f"{name} is missing"
    assert strip_notebooks.problems(path) == []
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    assert path.stat().st_size < 60_000
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert not any(k.startswith("image/") for k in output.get("data", {}))


def test_notebooks_folder_holds_only_the_expected_notebooks():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(EXPECTED)


# What a reader of the notebooks sees ---------------------------------------------------------

def _cells(name):
    return nbformat.read(NOTEBOOKS / name, as_version=4).cells


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_ends_by_saying_what_it_showed_in_two_or_three_sentences(name):
    last = _cells(name)[-1]
    assert last.cell_type == "markdown"
    heading, _, text = last.source.partition("\n")
    assert heading == "## What this showed"
    sentences = re.findall(r"[.!?](?:\s|$)", text.strip())
    assert 2 <= len(sentences) <= 3, text


#: What set-up and polling look like written out in a notebook; recording_toolkit.notebook
#: does them in one line (workspace(), wait_until()).
SCAFFOLDING = ("tempfile", "RECORDING_TOOLKIT_DATA_DIR", "os.environ", "time.monotonic",
               "while ", "TemporaryDirectory")


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_code_shows_no_test_scaffolding(name):
    code = "\n".join(c.source for c in _cells(name) if c.cell_type == "code")
    assert [s for s in SCAFFOLDING if s in code] == []


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_checks_few_small_outputs(name):
    checked = [c for c in _cells(name)
               if c.cell_type == "code" and strip_notebooks.CHECK_MARKER in c.source]
    assert 1 <= len(checked) <= 4
    for cell in checked:
        # the marker and at most a few lines of code: a figure or two, not a computation
        assert len(cell.source.splitlines()) <= 12, cell.source
