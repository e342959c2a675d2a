"""The package's layering: each package keeps its private modules and names to itself.

A module may import a private (``_``-prefixed) module or name only from its own package
(its own folder). What another package needs is public where it lives, so a reader can
tell from a name alone whether other parts of the toolkit depend on it.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "recording_toolkit"


def _package_of(path: Path) -> list[str]:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return parts[:-1]  # a module's package; for __init__.py, the package itself


def _imported(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, absolute module, names) for every import of the toolkit in ``path``."""
    here = _package_of(path)
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                found.append((node.lineno, alias.name, []))
    return [item for item in found if item[1].split(".")[0] == "recording_toolkit"]


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_imports_across_packages() -> list[str]:
    crossings = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = ".".join(_package_of(path))
        for line, module, names in _imported(path):
            parts = module.split(".")
            private_at = next((i for i, part in enumerate(parts) if _is_private(part)), None)
            where = f"{path.relative_to(PACKAGE.parent)}:{line}"
            if private_at is not None:
                owner = ".".join(parts[:private_at])
                if owner != here:
                    crossings.append(f"{where}: imports {module}, private to {owner}")
            elif module != here:
                crossings += [
                    f"{where}: imports {name} from {module}" for name in names if _is_private(name)
                ]
    return crossings


def test_no_private_import_crosses_a_package():
    assert private_imports_across_packages() == []


def test_the_check_sees_a_crossing(tmp_path, monkeypatch):
    """The rule itself: a private module of another package is reported, one's own is not."""
    root = tmp_path / "recording_toolkit"
    (root / "analytics").mkdir(parents=True)
    (root / "report").mkdir()
    (root / "__init__.py").write_text("")
    (root / "analytics" / "__init__.py").write_text("from ._common import money\n")
    (root / "analytics" / "_common.py").write_text("money = 1\n")
    (root / "report" / "__init__.py").write_text("")
    (root / "report" / "_summary.py").write_text(
        "from ..analytics._common import money\nfrom ..analytics import money as m\n"
    )
    monkeypatch.setitem(globals(), "PACKAGE", root)
    assert private_imports_across_packages() == [
        "recording_toolkit/report/_summary.py:1: imports recording_toolkit.analytics._common,"
        " private to recording_toolkit.analytics"
    ]
