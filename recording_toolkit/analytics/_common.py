"""Helpers every analytics module shares: column checks, the Dask seam, exact quantiles.

The analytics accept pandas or Dask DataFrames. Sums and counts are left to the engine; what
needs the whole column at once (exact medians and percentiles, which Dask only approximates, and
group-wise statistics) computes just the columns it needs into pandas. The typed frames hold one
row per recording, so those columns are small next to the logs they came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

__all__ = [
    "compute",
    "distinct",
    "exact_quantiles",
    "is_dask",
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
