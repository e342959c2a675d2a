"""Small helpers for notebooks, so a notebook shows the analysis and not its set-up.

Three jobs a notebook would otherwise do in plain view, each in one line here:

- :func:`workspace`: where a notebook writes its callback log and request journal. Under
  ``make test`` and the browser test that is ``$RECORDING_TOOLKIT_DATA_DIR/<name>``, so a test can
  read what the notebook wrote; for a person it is a fresh temporary folder, removed when the
  kernel stops, so two runs never mix.
- :func:`wait_until`: wait, bounded in time, for something that happens in the background (a
  callback arriving, a live dashboard showing it), instead of a hand-written polling loop.
- :func:`chart`: one of the report's and the Dashboard's charts (:data:`recording_toolkit.views.VIEWS`),
  drawn at its natural size with the note that says what it left out, so a notebook shows the
  very chart the report shows.
- :func:`styled` and :func:`figures`: tables for people. Every number goes through
  :mod:`recording_toolkit.formatting` (money with its currency, prices with the precision they
  need, shares as percentages, sizes in MB, durations as ``m:ss``) and every column name is shown
  in words. The frames themselves keep their raw values and names: formatting is for display.

Examples
--------
>>> import pandas as pd
>>> figures({"charge_total": 2495.05, "coverage": 0.911243, "audited": 1611})
                            value
Transcription charges   $2,495.05
Coverage                    91.1%
Transcriptions audited      1,611
>>> wait_until(lambda: True)
True
"""

from __future__ import annotations

import base64
import hashlib
import html
import numbers
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import formatting

if TYPE_CHECKING:
    from pandas.io.formats.style import Styler

__all__ = ["Chart", "chart", "figures", "styled", "wait_until", "workspace"]

#: Temporary folders made by :func:`workspace`; each is removed when the interpreter exits.
_SCRATCH: list[tempfile.TemporaryDirectory[str]] = []


def workspace(name: str, *, environ: Mapping[str, str] | None = None) -> Path:
    """The folder a notebook writes its logs and journals to (created if missing).

    ``$RECORDING_TOOLKIT_DATA_DIR/<name>`` when that variable is set (tests set it to look at
    what the notebook wrote), else ``<a new temporary folder>/<name>``, removed with everything
    in it when the kernel stops.

    Examples
    --------
    >>> workspace("demo", environ={"RECORDING_TOOLKIT_DATA_DIR": tempfile.gettempdir()}).name
    'demo'
    """
    if not name or os.sep in name or (os.altsep and os.altsep in name) or name in {".", ".."}:
        raise ValueError(f"workspace: name must be a plain folder name, not {name!r}")
    env = os.environ if environ is None else environ
    base = env.get("RECORDING_TOOLKIT_DATA_DIR")
    if base:
        folder = Path(base) / name
    else:
        scratch = tempfile.TemporaryDirectory(prefix="rt-", ignore_cleanup_errors=True)
        _SCRATCH.append(scratch)
        folder = Path(scratch.name) / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def wait_until(condition: Callable[[], Any], *, timeout: float = 30.0,
               interval: float = 0.2) -> bool:
    """Call ``condition`` every ``interval`` seconds until it is true or ``timeout`` has passed.

    Returns whether it became true, so a notebook can print it and a test can assert it; it
    never waits longer than ``timeout`` (plus one call of ``condition``).

    Examples
    --------
    >>> wait_until(lambda: False, timeout=0.05, interval=0.01)
    False
    """
    if timeout < 0 or interval <= 0:
        raise ValueError(f"wait_until: timeout must be >= 0 and interval > 0, "
                         f"got timeout={timeout!r}, interval={interval!r}")
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(interval, left))


def _month(when: Any) -> str:
    return formatting.MISSING if formatting.is_missing(when) else \
        pd.Timestamp(when).strftime("%Y-%m")


def _index_formatter(index: pd.Index) -> Callable[[Any], str] | None:
    if isinstance(index, pd.DatetimeIndex):
        times = index.dropna()
        at_midnight = bool(len(times)) and bool(
            ((times - times.normalize()) == pd.Timedelta(0)).all())
        if at_midnight and index.name == "month" and bool((times.day == 1).all()):
            return _month
        return formatting.day if at_midnight else formatting.timestamp
    if isinstance(index, pd.PeriodIndex):
        return str
    if pd.api.types.is_bool_dtype(index.dtype) or (
            index.dtype == object and len(index) and all(isinstance(v, bool) for v in index)):
        return formatting.value  # yes / no
    if pd.api.types.is_numeric_dtype(index.dtype) and not pd.api.types.is_bool_dtype(index.dtype):
        return formatting.value
    return None


def _uuid(frame: pd.DataFrame) -> str:
    """A stable id for the table's HTML: the same table renders the same in every run."""
    key = repr((list(map(str, frame.columns)), list(map(str, frame.index[:5])), frame.shape))
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]


_NAMED = ("clock", "count", "day", "minutes", "money", "number", "percent", "price", "size", "span",
          "timestamp", "value")


def _formatter(how: str | Callable[[Any], str], currency: str) -> Callable[[Any], str]:
    if callable(how):
        return how
    if how not in _NAMED:
        raise ValueError(f"styled: formats values are callables or one of {', '.join(_NAMED)};"
                         f" got {how!r}")
    function = getattr(formatting, how)
    if how in {"money", "price"}:
        return lambda v: function(v, currency)
    return function


def styled(frame: pd.DataFrame | pd.Series, *, currency: str = "USD",
           formats: Mapping[str, str | Callable[[Any], str]] | None = None) -> Styler:
    """The frame as a table for people: each column formatted by its name and type
    (:func:`recording_toolkit.formatting.formatter_for`), names in words, numbers right-aligned.

    ``formats`` overrides the choice for some columns, by a formatting function's name
    (``{"difference": "money"}``) or any callable. Row numbers (an unnamed index of integers)
    are hidden; a date index is shown as ISO days, a month index as ``2026-11``. The frame is
    not changed: ``styled(frame).data`` holds its raw values.

    Examples
    --------
    >>> frame = pd.DataFrame({"conference_name": ["sales"], "charge_total": [24.9776],
    ...                       "share": [0.911243]})
    >>> html = styled(frame).to_html()
    >>> "$24.98" in html and "91.1%" in html and "Transcription charges" in html
    True
    >>> "24.9776" in html or "charge_total" in html
    False
    >>> "-$0.02" in styled(pd.DataFrame({"difference": [-0.02]}),
    ...                    formats={"difference": "money"}).to_html()
    True
    """
    if isinstance(frame, pd.Series):
        frame = frame.to_frame(frame.name if frame.name is not None else "value")
    # Row numbers (an unnamed index of integers, after a sort or a selection too) mean nothing
    # to a reader.
    hide_index = frame.index.nlevels == 1 and frame.index.name is None and \
        pd.api.types.is_integer_dtype(frame.index.dtype)
    index_format = _index_formatter(frame.index)  # by the index's own name, before words
    if not hide_index and any(name is not None for name in frame.index.names):
        # a new frame sharing the data: the caller's index keeps its names
        frame = frame.rename_axis([None if n is None else formatting.label(str(n))
                                   for n in frame.index.names], axis="index")
    formatters: dict[Any, str | Callable[[Any], str] | None] = {
        column: formatting.formatter_for(str(column), frame[column], currency=currency)
        for column in frame.columns}
    for column, how in (formats or {}).items():
        if column not in frame.columns:
            raise KeyError(f"styled: formats names {column!r}, which is not a column "
                           f"({', '.join(map(str, frame.columns))})")
        formatters[column] = _formatter(how, currency)
    styler = frame.style
    styler.set_uuid(_uuid(frame))
    styler.format(formatters)
    styler.format_index(lambda name: formatting.label(str(name)), axis=1)
    if hide_index:
        styler.hide(axis="index")
    elif index_format is not None:
        styler.format_index(index_format, axis=0)
    # One rule per column (not one per cell): numbers to the right, words to the left.
    def side(column: Any) -> str:
        dtype = frame[column].dtype
        numeric = (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
                   ) or pd.api.types.is_timedelta64_dtype(dtype)
        return "right" if numeric else "left"

    styler.set_table_styles([{"selector": f"td.col{i}", "props": [("text-align", side(c))]}
                             for i, c in enumerate(frame.columns)], overwrite=False)
    return styler


def figures(values: Mapping[str, Any], *, currency: str = "USD", title: str = "value",
            formats: Mapping[str, str | Callable[[Any], str]] | None = None,
            labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """A few named figures as a two-column table: the name in words, the value formatted by
    its name (:func:`recording_toolkit.formatting.formatter_for`).

    ``formats`` overrides the choice for some keys as in :func:`styled`; ``labels`` gives some
    keys other words than :func:`recording_toolkit.formatting.label`'s. The table holds text,
    so it prints the same in a notebook, a terminal and a saved output.

    Examples
    --------
    >>> figures({"transcription_rate": 0.0004, "as_mp3_bytes": 2_500_000_000}, title="estimate")
                            estimate
    Transcription price  $0.0004/min
    Size as mp3              2.50 GB
    >>> figures({"max": 0.05}, formats={"max": "price"}, labels={"max": "Highest price"})
                       value
    Highest price  $0.05/min
    """
    formats, labels = formats or {}, labels or {}
    for what, keys in (("formats", formats), ("labels", labels)):
        unknown = [key for key in keys if key not in values]
        if unknown:
            raise KeyError(f"figures: {what} names {', '.join(map(repr, unknown))}, which "
                           f"{'is' if len(unknown) == 1 else 'are'} not among the figures "
                           f"({', '.join(values)})")
    rows: dict[str, str] = {}
    for key, raw in values.items():
        if key in formats:
            shown = _formatter(formats[key], currency)(raw)
        else:
            # a whole number stays whole (a count of minutes is not 62,444.0)
            whole = isinstance(raw, numbers.Integral) and not isinstance(raw, bool | np.bool_)
            series = pd.Series([raw], dtype="int64") if whole else None
            shown = formatting.formatter_for(key, series, currency=currency)(raw)
        rows[labels.get(key) or formatting.label(key)] = shown
    return pd.Series(rows, dtype=object, name=title).to_frame()


@dataclass(frozen=True)
class Chart:
    """A chart of the views registry as a notebook shows it: the picture at its natural size,
    its title and its note, and the figures behind it (``result``, ``table``)."""

    key: str
    title: str
    png: bytes
    note: str
    result: Any
    table: pd.DataFrame | None

    def _repr_png_(self) -> bytes:
        return self.png

    def _repr_html_(self) -> str:
        width, height = _png_size(self.png)
        data = base64.b64encode(self.png).decode("ascii")
        note = f"<figcaption>{html.escape(self.note)}</figcaption>" if self.note else ""
        return (f'<figure style="margin:0"><img src="data:image/png;base64,{data}"'
                f' width="{width}" height="{height}" alt="{html.escape(self.title)}"'
                f' style="max-width:none">{note}</figure>')

    def __repr__(self) -> str:
        width, height = _png_size(self.png)
        return f"<Chart {self.key!r}: {self.title}, {width}x{height} px>"


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header (the IHDR chunk)."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def chart(key: str, frames: Any, *, currency: str | None = None) -> Chart:
    """The chart ``key`` of :data:`recording_toolkit.views.VIEWS` over ``frames``
    (:func:`recording_toolkit.views.frames_of`), as the report draws it.

    ``currency`` defaults to the frames' rate card's.
    """
    from . import views

    if key not in views.VIEWS:
        raise KeyError(f"chart: no chart {key!r}; the charts are {', '.join(views.VIEWS)}")
    view = views.VIEWS[key]
    currency = currency or frames.rates.currency
    result = view.compute(frames)
    png = views.render_png(view, result, currency=currency)
    return Chart(key=key, title=view.title, png=png,
                 note=view.note(result) if view.note else "", result=result,
                 table=view.table(result) if view.table else None)
