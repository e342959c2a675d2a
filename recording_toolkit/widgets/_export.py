"""Writing a selection's tables to a folder: CSV always, one Excel workbook when openpyxl is there.

The tables are the report's (``Summary.tables``) for the selection, with the report's raw values:
a CSV from the Dashboard reads like one from ``recording-toolkit report --csv``. The figures
behind each chart can go with them (``chart_<view>.csv``), written the same way.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from ..report import Summary

__all__ = ["DOWNLOAD_LIMIT", "Export", "download_links", "excel_available", "export_tables"]

WORKBOOK = "tables.xlsx"
SELECTION = "selection.json"


def excel_available() -> bool:
    """True when pandas can write ``.xlsx`` here (openpyxl is importable)."""
    return importlib.util.find_spec("openpyxl") is not None


@dataclass
class Export:
    """What an export wrote: the folder, each table's CSV, and the workbook (None without one)."""

    folder: Path
    csv: dict[str, Path] = field(default_factory=dict)
    workbook: Path | None = None
    selection: Path | None = None


def export_tables(summary: Summary, folder: str | os.PathLike[str],
                  selection: dict[str, Any] | None = None, *,
                  charts: Mapping[str, pd.DataFrame] | None = None,
                  excel: bool | None = None) -> Export:
    """Write every table of ``summary`` as ``<name>.csv`` into ``folder`` (created if needed),
    each of ``charts`` (view key -> its table) as ``chart_<key>.csv``, ``tables.xlsx`` with one
    sheet per table when ``excel`` (default: when openpyxl is there), and ``selection.json``
    saying which selection the tables are of.
    """
    from ..report import write_csv

    target = Path(folder).expanduser().resolve()
    tables = dict(summary.tables)
    tables.update({f"chart_{key}": frame for key, frame in (charts or {}).items()})
    # write_csv reads nothing but ``.tables``: the report's CSV rules for every table here.
    written = write_csv(SimpleNamespace(tables=tables), target)  # type: ignore[arg-type]
    result = Export(folder=target, csv={name: Path(path) for name, path in written.items()})
    if excel is None:
        excel = excel_available()
    if excel:
        result.workbook = target / WORKBOOK
        _write_workbook(tables, result.workbook)
    if selection is not None:
        result.selection = target / SELECTION
        result.selection.write_text(json.dumps(selection, indent=2, default=str) + "\n")
    return result


def _write_workbook(tables: dict[str, pd.DataFrame], path: Path) -> None:
    """One sheet per table. Excel has no time zones (times are written as UTC without one) and no
    durations (written as ``<name>_seconds``)."""
    used: set[str] = set()
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in tables.items():
            sheet = _sheet_name(name, used)
            _for_excel(frame).to_excel(writer, sheet_name=sheet,
                                       index=not isinstance(frame.index, pd.RangeIndex))


def _sheet_name(name: str, used: set[str]) -> str:
    """Excel's sheet names: at most 31 characters, none of ``[]:*?/\\``, unique."""
    clean = "".join("_" if c in '[]:*?/\\' else c for c in name)[:31] or "table"
    candidate, n = clean, 2
    while candidate.casefold() in used:
        suffix = f"~{n}"
        candidate, n = clean[:31 - len(suffix)] + suffix, n + 1
    used.add(candidate.casefold())
    return candidate


def _for_excel(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            out[column] = series.dt.tz_convert("UTC").dt.tz_localize(None)
        elif pd.api.types.is_timedelta64_dtype(series.dtype):
            out = out.drop(columns=[column]).assign(**{f"{column}_seconds":
                                                       series.dt.total_seconds()})
    if isinstance(out.index, pd.DatetimeIndex) and out.index.tz is not None:
        out.index = out.index.tz_convert("UTC").tz_localize(None)
    return out


_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: A table larger than this is not offered as a download link (it stays in the folder).
DOWNLOAD_LIMIT = 5_000_000


def download_links(written: Export, *, limit: int = DOWNLOAD_LIMIT,
                   lead: str = "<br>Download: ") -> str:
    """HTML links that download each CSV ``written`` from the page itself (``data:`` URLs with
    a ``download`` name): a browser showing the Dashboard from a server (``recording-toolkit
    dashboard``) gets the files on its own computer, not only in the server's folder; the Excel
    workbook too, when one was written. Files over ``limit`` bytes are left out and counted. ``lead`` goes before the links."""
    import base64
    import html

    links, skipped = [], 0
    for path in written.csv.values():
        data = path.read_bytes()
        if len(data) > limit:
            skipped += 1
            continue
        encoded = base64.b64encode(data).decode("ascii")
        links.append(f'<a download="{html.escape(path.name)}" '
                     f'href="data:text/csv;charset=utf-8;base64,{encoded}" '
                     f'title="Download {html.escape(path.name)}">'
                     f"<code>{html.escape(path.name)}</code></a>")
    book = written.workbook
    if book is not None and book.exists() and book.stat().st_size <= limit:
        encoded = base64.b64encode(book.read_bytes()).decode("ascii")
        links.append(f'<a download="{html.escape(book.name)}" href="data:{_XLSX};base64,'
                     f'{encoded}" title="Download {html.escape(book.name)}">'
                     f"<code>{html.escape(book.name)}</code></a> (all of them, a sheet each)")
    if not links:
        return ""
    text = lead + ", ".join(links)
    if skipped:
        text += f" ({skipped} larger table{'' if skipped == 1 else 's'} only in the folder)"
    return text + "."
