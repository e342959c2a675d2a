#!/usr/bin/env python3
"""Strip the notebooks in ``notebooks/`` down to what belongs in git.

Committed notebooks carry their code and prose, not a run's leftovers: outputs, execution counts,
widget state and per-cell timings change on every run and bloat diffs (a single chart is tens of
kilobytes of base64). The one exception is a cell marked ``# NBVAL_CHECK_OUTPUT``: its small text
output is what ``pytest --nbval-lax`` compares a fresh run against, so it stays -- text only, and
only if it is small (images and widget views are always dropped).

The script also refuses notebooks that contain something looking like a secret (a Jupyter token in
a URL, an auth token assigned as a literal, a Basic ``Authorization`` header).

Usage::

    python scripts/strip_notebooks.py                # rewrite notebooks/*.ipynb in place
    python scripts/strip_notebooks.py --check        # exit 1 and list what would change
    python scripts/strip_notebooks.py path/to/x.ipynb ...

Uses only the standard library, so it runs before the project is installed (e.g. in a git hook).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

CHECK_MARKER = "NBVAL_CHECK_OUTPUT"
#: The largest kept output of a checked cell, in characters of text (all its outputs together).
MAX_KEPT_CHARS = 4000
#: The execution count a checked cell keeps: nbval compares only cells that have one (it treats
#: the others as never run), and a constant keeps re-runs from changing the file.
CHECKED_EXECUTION_COUNT = 1
#: Output types a checked cell may keep; anything else (images, widgets, JavaScript) is dropped.
KEPT_MIMETYPES = ("text/plain", "text/html")
#: Cell metadata that describes a run rather than the notebook.
RUN_CELL_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled", "jupyter")
#: Notebook metadata that describes a run (saved widget state) rather than the notebook.
RUN_NOTEBOOK_METADATA = ("widgets",)

# What a secret looks like in a notebook. Each pattern names what it found; values are not echoed.
SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a Jupyter token in a URL", re.compile(r"[?&]token=[0-9A-Za-z_-]{8,}")),
    ("an auth token assigned as a literal",
     re.compile(r"""auth_token\s*[=:]\s*["'][^"'\s]{6,}["']""", re.IGNORECASE)),
    ("a PLIVO_AUTH_TOKEN value",
     re.compile(r"""PLIVO_AUTH_TOKEN["']?\s*[=:]\s*["']?[A-Za-z0-9+/=_-]{6,}""")),
    ("an HTTP Basic Authorization header", re.compile(r"Authorization:?\s*[\"']?Basic\s+[A-Za-z0-9+/=]{8,}",
                                                      re.IGNORECASE)),
)


class NotebookProblem(Exception):
    """A notebook that cannot be committed as it is (named file and cell)."""


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _text_size(output: dict[str, Any]) -> int:
    if output.get("output_type") == "stream":
        text = output.get("text", "")
        return len("".join(text) if isinstance(text, list) else text)
    size = 0
    for value in output.get("data", {}).values():
        size += len("".join(value) if isinstance(value, list) else str(value))
    return size


def _kept_outputs(outputs: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    """The text outputs of a checked cell, without images or widget views, or an error if big."""
    kept: list[dict[str, Any]] = []
    for output in outputs:
        kind = output.get("output_type")
        if kind == "error":
            raise NotebookProblem(f"{where}: a checked cell has an error output")
        if kind == "stream":
            if output.get("name") == "stdout":
                kept.append(output)
            continue
        data = {k: v for k, v in output.get("data", {}).items() if k in KEPT_MIMETYPES}
        if not data:
            continue
        slim = {**output, "data": data, "metadata": {}}
        if kind == "execute_result":
            slim["execution_count"] = CHECKED_EXECUTION_COUNT
        kept.append(slim)
    total = sum(_text_size(o) for o in kept)
    if total > MAX_KEPT_CHARS:
        raise NotebookProblem(
            f"{where}: the checked output is {total} characters (at most {MAX_KEPT_CHARS});"
            f" show a smaller table or drop the {CHECK_MARKER} marker"
        )
    return kept


def strip(notebook: dict[str, Any], *, name: str = "notebook") -> dict[str, Any]:
    """The notebook without run leftovers (a new dict; the argument is not changed).

    Examples
    --------
    >>> nb = {"cells": [{"cell_type": "code", "source": "1 + 1", "execution_count": 3,
    ...                  "metadata": {"execution": {}}, "outputs": [{"output_type": "execute_result",
    ...                  "data": {"text/plain": "2"}, "metadata": {}, "execution_count": 3}]}],
    ...       "metadata": {"widgets": {}}, "nbformat": 4, "nbformat_minor": 5}
    >>> out = strip(nb)
    >>> out["cells"][0]["outputs"], out["cells"][0]["execution_count"], out["metadata"]
    ([], None, {})
    """
    cells = []
    for index, cell in enumerate(notebook.get("cells", [])):
        cell = dict(cell)
        metadata = {k: v for k, v in cell.get("metadata", {}).items() if k not in RUN_CELL_METADATA}
        cell["metadata"] = metadata
        if cell.get("cell_type") == "code":
            cell["execution_count"] = None
            if CHECK_MARKER in _source(cell):
                cell["outputs"] = _kept_outputs(cell.get("outputs", []),
                                                f"{name}, cell {index + 1}")
                if cell["outputs"]:
                    # nbval skips a cell without an execution count as never run
                    cell["execution_count"] = CHECKED_EXECUTION_COUNT
            else:
                cell["outputs"] = []
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
        cells.append(cell)
    metadata = {k: v for k, v in notebook.get("metadata", {}).items()
                if k not in RUN_NOTEBOOK_METADATA}
    if "language_info" in metadata:
        # The kernel's exact Python version changes with the machine; the name is enough.
        metadata["language_info"] = {"name": metadata["language_info"].get("name", "python")}
    return {**notebook, "cells": cells, "metadata": metadata}


def find_secrets(text: str) -> list[str]:
    """What secret-looking strings ``text`` holds (descriptions only, never the values).

    Examples
    --------
    >>> find_secrets("open http://127.0.0.1:8888/lab?token=" + "ab12" * 8)
    ['a Jupyter token in a URL']
    >>> find_secrets("client = RecordingClient(sandbox.auth_id, sandbox.auth_token)")
    []
    """
    return [what for what, pattern in SECRET_PATTERNS if pattern.search(text)]


def _all_text(value: Any) -> Iterable[str]:
    """Every string in a parsed notebook (sources, outputs, metadata), JSON escapes undone."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _all_text(item)
    elif isinstance(value, list):
        yield from ("".join(value),) if all(isinstance(v, str) for v in value) else ()
        for item in value:
            if not isinstance(item, str):
                yield from _all_text(item)


def notebook_secrets(notebook: dict[str, Any]) -> list[str]:
    """:func:`find_secrets` over every string of a parsed notebook."""
    return find_secrets("\n".join(_all_text(notebook)))


def dumps(notebook: dict[str, Any]) -> str:
    """The notebook as Jupyter writes it (one-space indent, keys sorted, a final newline)."""
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def problems(path: Path) -> list[str]:
    """Why ``path`` cannot be committed as it is; empty when it is clean."""
    text = path.read_text(encoding="utf-8")
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as exc:
        return [f"{path}: not valid JSON ({exc})"]
    found = [f"{path}: contains {what}" for what in notebook_secrets(notebook)]
    try:
        clean = dumps(strip(notebook, name=str(path)))
    except NotebookProblem as exc:
        return [*found, str(exc)]
    if clean != text:
        found.append(f"{path}: has outputs, execution counts or run metadata; "
                     f"run python scripts/strip_notebooks.py")
    return found


def strip_file(path: Path) -> bool:
    """Rewrite ``path`` stripped; True when it changed. Raises NotebookProblem for a secret."""
    text = path.read_text(encoding="utf-8")
    notebook = json.loads(text)
    secrets = notebook_secrets(notebook)
    if secrets:
        raise NotebookProblem(f"{path}: contains {', '.join(secrets)}; remove it by hand")
    clean = dumps(strip(notebook, name=str(path)))
    if clean == text:
        return False
    path.write_text(clean, encoding="utf-8")
    return True


def _default_paths() -> list[Path]:
    return sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks (default notebooks/*.ipynb)")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a notebook is not clean")
    args = parser.parse_args(argv)
    paths: Iterable[Path] = args.paths or _default_paths()
    failed = False
    for path in paths:
        if args.check:
            for problem in problems(path):
                print(problem, file=sys.stderr)
                failed = True
            continue
        try:
            if strip_file(path):
                print(f"stripped {path}")
        except NotebookProblem as exc:
            print(exc, file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
