"""Helpers every analytics module shares: column checks, the Dask seam, exact quantiles.

The analytics accept pandas or Dask DataFrames. Sums and counts are left to the engine; what
needs the whole column at once (exact medians and percentiles, which Dask only approximates, and
group-wise statistics) computes just the columns it needs into pandas. The typed frames hold one
row per recording, so those columns are small next to the logs they came from.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd

__all__ = [
    "Needs",
    "compute",
    "distinct",
    "exact_quantiles",
    "is_dask",
    "isin",
    "lookup",
    "needs",
    "needs_of",
    "period_start",
    "require",
    "round6",
    "to_pandas",
    "utc",
]


def is_dask(obj: Any) -> bool:
    """True for a Dask collection (DataFrame, Series or scalar), without importing Dask."""
    return hasattr(obj, "dask") and hasattr(obj, "compute") and hasattr(obj, "__dask_graph__")


def compute(*values: Any) -> tuple[Any, ...]:
    """The values, with any Dask ones computed together in one pass over the data."""
    if not any(is_dask(v) for v in values):
        return values
    import dask

    return tuple(dask.compute(*values))


def to_pandas(frame: Any, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """``frame`` (or just ``columns`` of it) as a pandas DataFrame."""
    if columns is not None:
        frame = frame[list(columns)]
    return frame.compute() if is_dask(frame) else frame


def require(frame: Any, columns: Iterable[str], what: str) -> None:
    """Raise ``ValueError`` naming the columns ``what`` needs and ``frame`` lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: the frame has no column(s) {missing}; it has {list(frame.columns)}")


@dataclass(frozen=True)
class Needs:
    """The columns an analytics function needs of its first frame (see :func:`needs`)."""

    columns: tuple[str, ...]
    #: Other column sets that serve as well (a joined frame or a transcriptions frame).
    alternatives: tuple[tuple[str, ...], ...] = ()

    def missing(self, columns: Iterable[str]) -> list[str] | None:
        """None when a frame with ``columns`` serves; else the missing ones of the main set."""
        have = set(columns)
        if any(set(option) <= have for option in (self.columns, *self.alternatives)):
            return None
        return [c for c in self.columns if c not in have]

    def describe(self) -> str:
        """``['a', 'b']``, with ``or [...]`` for each alternative."""
        return " or ".join(str(list(option)) for option in (self.columns, *self.alternatives))


_F = TypeVar("_F", bound=Callable[..., Any])


def needs(*columns: str, alternatives: Sequence[Sequence[str]] = ()) -> Callable[[_F], _F]:
    """Declare the columns a function needs of its first argument (a frame), once.

    The function then checks them itself on every call (a ``ValueError`` naming what is
    missing and what the frame has), and the ``df.rec`` accessor, generated from these
    declarations, offers the function as a method of frames that have them.
    ``alternatives`` are other column sets that serve as well. Columns needed only with some
    options (a ``by`` column) or of further frames are checked inside the function.

    Examples
    --------
    >>> @needs("recording_id")
    ... def ids(frame):
    ...     return list(frame["recording_id"])
    >>> ids(pd.DataFrame({"recording_id": ["a"]}))
    ['a']
    >>> ids(pd.DataFrame({"x": [1]}))
    Traceback (most recent call last):
    ...
    ValueError: ids: the frame has no column(s) ['recording_id']; it has ['x']
    >>> needs_of(ids).columns
    ('recording_id',)
    """
    declared = Needs(tuple(columns), tuple(tuple(option) for option in alternatives))

    def mark(function: _F) -> _F:
        first = next(iter(inspect.signature(function).parameters))

        @functools.wraps(function)
        def checked(*args: Any, **kwargs: Any) -> Any:
            frame = args[0] if args else kwargs.get(first)
            columns = getattr(frame, "columns", None)
            if columns is not None:
                missing = declared.missing(columns)
                if missing is not None:
                    raise ValueError(f"{function.__name__}: the frame has no column(s)"
                                     f" {missing}; it has {list(columns)}")
            return function(*args, **kwargs)

        checked.__needs__ = declared  # type: ignore[attr-defined]
        return checked  # type: ignore[return-value]

    return mark


def needs_of(function: Callable[..., Any]) -> Needs | None:
    """What ``function`` declared with :func:`needs` (None if nothing)."""
    return getattr(function, "__needs__", None)


def exact_quantiles(values: Any, qs: Sequence[float]) -> list[float | None]:
    """Exact quantiles (pandas' linear interpolation) of a Series, missing values left out.

    A Dask Series is computed first: Dask's own quantiles are approximate, and a median that
    differs between the engines would break the rule that every engine gives the same numbers.
    None for each quantile of an empty series.

    Examples
    --------
    >>> exact_quantiles(pd.Series([1.0, 2.0, 3.0, 4.0, None]), [0.5, 0.95])
    [2.5, 3.8499999999999996]
    """
    series = values.compute() if is_dask(values) else values
    series = pd.Series(series, copy=False).dropna().astype(float)
    if series.empty:
        return [None for _ in qs]
    return [float(series.quantile(q, interpolation="linear")) for q in qs]


def distinct(values: Any) -> int:
    """Number of distinct non-missing values of a Series (a Dask one is computed first: its
    tree-reduced ``nunique`` costs far more than bringing one id column over).

    >>> distinct(pd.Series(["a", "b", "a", None]))
    2
    """
    series = values.compute() if is_dask(values) else values
    return int(series.nunique(dropna=True))


def _arrow_text(values: Any) -> Any:
    import pyarrow as pa

    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if series.dtype != pd.StringDtype("pyarrow"):
        series = series.astype(pd.StringDtype("pyarrow"))
    return pa.array(series)


def isin(values: Any, candidates: Any) -> np.ndarray:
    """Boolean mask: which of ``values`` (ids) are among ``candidates``; missing is False.

    Done in Arrow: pandas' ``isin`` on Arrow-backed strings is some thirty times slower.

    >>> isin(pd.Series(["a", "b", None]), ["b", "c"]).tolist()
    [False, True, False]
    """
    import pyarrow.compute as pc

    found = pc.is_in(_arrow_text(values), value_set=_arrow_text(candidates), skip_nulls=True)
    return found.fill_null(False).to_numpy(zero_copy_only=False)


def lookup(keys: Any, index: Any, values: pd.Series) -> pd.Series:
    """``values`` at the position of each of ``keys`` in ``index`` (the first match), missing
    where a key is not there; indexed like ``keys``.

    >>> lookup(pd.Series(["b", "x"]), ["a", "b"], pd.Series([1, 2], dtype="Int64")).tolist()
    [2, <NA>]
    """
    import pyarrow.compute as pc

    at = pc.index_in(_arrow_text(keys), value_set=_arrow_text(index), skip_nulls=True)
    positions = at.fill_null(-1).to_numpy(zero_copy_only=False)
    found = positions >= 0
    picked = values.iloc[np.where(found, positions, 0)] if len(values) else \
        pd.Series([pd.NA] * len(positions), dtype=values.dtype)
    out = picked.reset_index(drop=True).astype(values.dtype).where(found)
    out.index = keys.index if isinstance(keys, pd.Series) else pd.RangeIndex(len(out))
    return out


#: Period codes the analytics take, and pandas' ``date_range`` frequency of their starts.
PERIOD_STARTS = {"D": "D", "W": "W-MON", "M": "MS"}


def period_start(times: pd.Series, freq: str) -> pd.Series:
    """The start (naive UTC midnight) of the day, week (from Monday) or month of each time.

    Vectorised arithmetic on the values: ``dt.to_period`` boxes every value in Python.

    >>> t = pd.Series(pd.to_datetime(["2026-11-12 15:00"], utc=True))
    >>> [period_start(t, f).iloc[0].strftime("%Y-%m-%d") for f in ("D", "W", "M")]
    ['2026-11-12', '2026-11-09', '2026-11-01']
    """
    if freq not in PERIOD_STARTS:
        raise ValueError(f"freq: {freq!r} is not one of {sorted(PERIOD_STARTS)}")
    days = times.dt.tz_convert("UTC").dt.tz_localize(None).dt.floor("D")
    if freq == "W":
        days = days - pd.to_timedelta(days.dt.day_of_week, unit="D")
    elif freq == "M":
        days = days - pd.to_timedelta(days.dt.day - 1, unit="D")
    return days


def round6(value: Any) -> float | None:
    """A float rounded to 6 decimals (the summary's precision); None for missing.

    >>> round6(0.15000000000000002), round6(None), round6(float("nan"))
    (0.15, None, None)
    """
    if value is None or value is pd.NA or pd.isna(value):
        return None
    return round(float(value), 6)


def utc(moment: Any) -> pd.Timestamp:
    """``moment`` (anything ``pd.Timestamp`` takes) as a UTC timestamp; naive means UTC."""
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
