"""The public names are all there, documented, and the same wherever they are listed.

The top level is lazy: its names are listed twice by hand (``_EXPORTS`` for the import at first
use, the ``TYPE_CHECKING`` block for editors and type checkers) and used by name in the README
and docs. A name missing from one list, or documented but not exported, only shows when a user
types it; these tests read the lists and the docs and try every name.

Docstring rule: every public module, class and function carries its own docstring (a class's
is not inherited, and the ``Name(field, ...)`` that dataclasses and named tuples make up does not
count). A constant cannot carry one, so it is documented by a ``#:`` comment right above its
assignment where it is defined.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import recording_toolkit as rt

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "recording_toolkit"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: The subpackages and modules a user imports from (the docs show ``from recording_toolkit.X``).
PUBLIC_MODULES = ("load", "analytics", "report", "widgets", "sandbox", "views", "formatting",
                  "notebook", "download", "doctor")
#: Modules whose every public name is also a top-level name (``rt.X``).
REEXPORTED = ("client", "load")
#: What the top-level import must not pull in: a notebook that only loads logs stays light.
HEAVY = ("httpx", "pandas", "numpy", "pyarrow", "matplotlib", "ipywidgets", "starlette")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _exports_and_type_checking() -> tuple[dict[str, str], dict[str, str]]:
    """``_EXPORTS`` and the ``TYPE_CHECKING`` imports of ``__init__.py``, each as name -> module."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    exports: dict[str, str] | None = None
    imported: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "_EXPORTS":
            exports = ast.literal_eval(node.value)
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom) and stmt.level == 1, ast.unparse(stmt)
                for alias in stmt.names:
                    assert alias.name != "*", f"star import in TYPE_CHECKING: {ast.unparse(stmt)}"
                    imported[alias.asname or alias.name] = stmt.module or ""
    assert exports is not None, "no _EXPORTS mapping in recording_toolkit/__init__.py"
    assert imported, "no TYPE_CHECKING block in recording_toolkit/__init__.py"
    return exports, imported


def _documentation_problem(module: ModuleType, name: str) -> str | None:
    """Why ``module.name`` breaks the docstring rule (module docstring), or None if it keeps it."""
    value = getattr(module, name)
    if inspect.ismodule(value) or inspect.isroutine(value):
        doc = value.__doc__
    elif inspect.isclass(value):
        doc = value.__dict__.get("__doc__")
        if doc and doc.startswith(f"{value.__name__}("):
            doc = None  # made up by @dataclass or NamedTuple from the fields
    else:
        return None if _has_doc_comment(module, name) else "constant without a #: comment"
    return None if doc and doc.strip() else "no docstring of its own"


def _has_doc_comment(module: ModuleType, name: str) -> bool:
    """Whether a module-level assignment of ``name`` in ``module``'s sources has a ``#:`` comment."""
    source = Path(module.__file__ or "")
    files = sorted(source.parent.glob("*.py")) if source.name == "__init__.py" else [source]
    for path in files:
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.parse("\n".join(lines)).body:
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, ast.AnnAssign) else [])
            if any(getattr(t, "id", None) == name for t in targets):
                if node.lineno >= 2 and lines[node.lineno - 2].lstrip().startswith("#:"):
                    return True
    return False


def _code_blocks() -> list[tuple[str, str, str]]:
    """(file, language, text) of every fenced block in the README and docs."""
    return [(path.relative_to(ROOT).as_posix(), match[1], match[2])
            for path in DOCS for match in FENCE.finditer(path.read_text(encoding="utf-8"))]


def test_exports_and_type_checking_name_the_same_set() -> None:
    exports, imported = _exports_and_type_checking()
    assert exports == imported, (
        f"only in _EXPORTS: {sorted(exports.items() - imported.items())}; "
        f"only in TYPE_CHECKING: {sorted(imported.items() - exports.items())}")


def test_every_public_name_imports_is_listed_and_documented() -> None:
    exports, _ = _exports_and_type_checking()
    assert set(rt.__all__) == {*exports, "__version__"}
    listed = dir(rt)
    problems = []
    for name in rt.__all__:
        assert name in listed, f"rt.{name} is not in dir(recording_toolkit)"
        getattr(rt, name)  # raises AttributeError if the mapping points to the wrong module
        problem = _documentation_problem(rt, name) if name != "__version__" else None
        if problem:
            problems.append(f"rt.{name}: {problem}")
    assert not problems, "\n".join(problems)


def test_an_unknown_name_is_an_attribute_error_naming_it() -> None:
    with pytest.raises(AttributeError, match="'no_such_name'"):
        rt.no_such_name  # noqa: B018
    assert not hasattr(rt, "api_error_for_status")  # a helper of errors, not a public name


@pytest.mark.parametrize("module_name", REEXPORTED)
def test_the_top_level_offers_every_public_name_of(module_name: str) -> None:
    module = importlib.import_module(f"recording_toolkit.{module_name}")
    missing = sorted(set(module.__all__) - set(rt.__all__))
    assert not missing, f"public in recording_toolkit.{module_name} but not rt.X: {missing}"


def test_the_top_level_offers_every_error_a_user_catches() -> None:
    from recording_toolkit import errors

    classes = [name for name in errors.__all__ if inspect.isclass(getattr(errors, name))]
    missing = sorted(set(classes) - set(rt.__all__))
    assert not missing, f"exception classes not offered as rt.X: {missing}"


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_public_module_names_exist_and_are_documented(module_name: str) -> None:
    module = importlib.import_module(f"recording_toolkit.{module_name}")
    assert module.__doc__ and module.__doc__.strip(), f"recording_toolkit.{module_name}: no docstring"
    problems = []
    for name in module.__all__:
        if not hasattr(module, name):
            problems.append(f"{name}: listed in __all__ but not defined")
        elif problem := _documentation_problem(module, name):
            problems.append(f"{name}: {problem}")
    assert not problems, f"recording_toolkit.{module_name}:\n" + "\n".join(problems)


def test_every_name_the_docs_use_exists() -> None:
    missing = []
    for file, language, text in _code_blocks():
        missing += [f"{file}: rt.{name}" for name in re.findall(r"\brt\.(\w+)", text)
                    if name not in rt.__all__]
        if language != "python":
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(rt.__name__):
                module = importlib.import_module(node.module or "")
                missing += [f"{file}: from {node.module} import {alias.name}"
                            for alias in node.names if not hasattr(module, alias.name)]
    assert not missing, "\n".join(missing)


def test_the_docs_use_names_from_the_top_level() -> None:
    """The check above is not vacuous: the docs do use ``rt.X`` in their code blocks."""
    used = {name for _, _, text in _code_blocks() for name in re.findall(r"\brt\.(\w+)", text)}
    assert {"load_callbacks", "RecordingClient", "RateCard"} <= used


def test_importing_the_package_stays_light() -> None:
    code = ("import sys, recording_toolkit\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.strip() == "[]", f"import recording_toolkit pulled in {result.stdout}"
