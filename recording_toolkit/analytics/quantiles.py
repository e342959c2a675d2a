"""Quantiles of a Dask Series as a reduction: exact while small, within 0.1 % beyond.

An exact median needs the whole column in one place, which is what a cluster with less memory
than the data cannot give. Each partition here sends a fixed-size summary instead: how many of
its values fall in each logarithmic bucket (bucket ``i`` holds the values in
``(g ** (i - 1), g ** i]``, ``g = (1 + a) / (1 - a)``, mirrored for negative values, zero on its
own), plus the values themselves while the partition holds at most :data:`EXACT_UP_TO`. The
summaries are merged in a tree; the values are kept while the merged count stays at most
:data:`EXACT_UP_TO`.

The result is then:

- exact (pandas' linear ``quantile``) when at most :data:`EXACT_UP_TO` values are not missing;
- otherwise within :data:`RELATIVE_ERROR` (0.1 %) of the exact value: each of the two order
  statistics pandas interpolates between is replaced by its bucket's middle
  (``2 g ** i / (g + 1)``), which is within that share of every value in the bucket. When the
  two straddle zero the error is within 0.1 % of the larger of them in size.

A bucket table has at most a few thousand rows for any realistic spread of durations or
turnarounds (each doubling of the value adds about 347 buckets), whatever the number of values.

Examples
--------
>>> import pandas as pd
>>> values = pd.Series([1.0, 2.0, 3.0, 4.0, None])
>>> quantiles_of(sketch(values), [0.5, 0.95])
([2.5, 3.8499999999999996], True)
>>> approx, exact = quantiles_of(sketch(values, exact_up_to=0), [0.5])
>>> exact, abs(approx[0] - 2.5) <= 0.001 * 2.5
(False, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["EXACT_UP_TO", "RELATIVE_ERROR", "describe", "quantiles_of", "sketch"]

#: The relative error of a quantile computed from the buckets.
RELATIVE_ERROR = 0.001
#: Up to this many values the quantiles are exact (the values themselves are merged).
EXACT_UP_TO = 100_000

_GAMMA = (1 + RELATIVE_ERROR) / (1 - RELATIVE_ERROR)
_LOG_GAMMA = math.log(_GAMMA)
#: Keys of positive values are offset by this (and negatives mirrored), so keys sort as values.
_OFFSET = 2_000_000
_COLUMNS = {"key": "float64", "count": "int64", "value": "float64"}


def describe() -> dict[str, Any]:
    """How the quantiles are computed on Dask, as plain data (for a summary's details)."""
    return {"method": "exact up to exact_up_to values, else logarithmic buckets",
            "exact_up_to": EXACT_UP_TO, "relative_error": RELATIVE_ERROR}


def _empty() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in _COLUMNS.items()})


def _keys(values: np.ndarray) -> np.ndarray:
    """The bucket key of each value (float, ordered as the values are)."""
    size = np.abs(values)
    keys = np.zeros(len(values), dtype=np.float64)
    nonzero = size > 0
    index = np.ceil(np.log(size[nonzero]) / _LOG_GAMMA) + _OFFSET
    keys[nonzero] = np.where(values[nonzero] > 0, index, -index)
    return keys


def _middles(keys: np.ndarray) -> np.ndarray:
    """The middle of each bucket: within :data:`RELATIVE_ERROR` of every value in it."""
    out = np.zeros(len(keys), dtype=np.float64)
    nonzero = keys != 0
    index = np.abs(keys[nonzero]) - _OFFSET
    out[nonzero] = np.sign(keys[nonzero]) * 2 * np.exp(index * _LOG_GAMMA) / (_GAMMA + 1)
    return out


def _chunk(values: pd.Series, exact_up_to: int = EXACT_UP_TO) -> pd.DataFrame:
    """One partition's summary: bucket counts, and its values while they are few."""
    numbers = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy(
        dtype=np.float64, na_value=np.nan)
    numbers = numbers[~np.isnan(numbers)]
    if not len(numbers):
        return _empty()
    keys, counts = np.unique(_keys(numbers), return_counts=True)
    parts = [pd.DataFrame({"key": keys, "count": counts.astype(np.int64), "value": np.nan})]
    if len(numbers) <= exact_up_to:
        parts.append(pd.DataFrame({"key": np.nan, "count": np.zeros(len(numbers), np.int64),
                                   "value": numbers}))
    return pd.concat(parts, ignore_index=True)


def _merge(summaries: pd.DataFrame, exact_up_to: int = EXACT_UP_TO) -> pd.DataFrame:
    """Summaries merged: counts added per bucket; the values kept while few in all."""
    if summaries.empty:
        return _empty()
    buckets = summaries[summaries["key"].notna()].groupby("key", sort=True)["count"].sum()
    merged = pd.DataFrame({"key": buckets.index.to_numpy(dtype=np.float64),
                           "count": buckets.to_numpy(dtype=np.int64), "value": np.nan})
    if int(buckets.sum()) <= exact_up_to:
        # every partial kept its values (each held no more than the whole)
        values = summaries[summaries["key"].isna()]
        merged = pd.concat([merged, values], ignore_index=True)
    return merged.astype(_COLUMNS)


def sketch(values: Any, *, exact_up_to: int | None = None) -> Any:
    """The summary of a Series (pandas: now; Dask: a lazy reduction to compute with others).

    Give what it returns, computed, to :func:`quantiles_of`. ``exact_up_to`` defaults to
    :data:`EXACT_UP_TO`.
    """
    exact_up_to = EXACT_UP_TO if exact_up_to is None else exact_up_to
    if hasattr(values, "reduction") and hasattr(values, "__dask_graph__"):
        options = {"exact_up_to": exact_up_to}
        return values.reduction(_chunk, aggregate=_merge, combine=_merge, meta=_empty(),
                                chunk_kwargs=options, aggregate_kwargs=options,
                                combine_kwargs=options, token="quantile-sketch")
    return _merge(_chunk(values, exact_up_to), exact_up_to)


def quantiles_of(summary: pd.DataFrame, qs: Sequence[float]) -> tuple[list[float | None], bool]:
    """The quantiles (pandas' linear interpolation) from a computed :func:`sketch`, and
    whether they are exact. None for each quantile when there was no value."""
    buckets = summary[summary["key"].notna()].sort_values("key")
    counts = buckets["count"].to_numpy(dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return [None for _ in qs], True
    values = summary.loc[summary["key"].isna(), "value"]
    if len(values) == total:
        series = values.astype(float)
        return [float(series.quantile(q, interpolation="linear")) for q in qs], True
    middles = _middles(buckets["key"].to_numpy(dtype=np.float64))
    ends = np.cumsum(counts)  # rank r (0-based) is in the first bucket whose end exceeds r

    def at(rank: int) -> float:
        return float(middles[int(np.searchsorted(ends, rank, side="right"))])

    out: list[float | None] = []
    for q in qs:
        position = (total - 1) * q
        low = math.floor(position)
        high = min(low + 1, total - 1)
        fraction = position - low
        out.append(at(low) + fraction * (at(high) - at(low)) if fraction else at(low))
    return out, False
