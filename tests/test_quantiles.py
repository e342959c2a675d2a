"""Quantile sketches on Dask: exact while small, within 0.1 % beyond, and the summary says
which of its figures are approximate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recording_toolkit.analytics import quantiles

dd = pytest.importorskip("dask.dataframe")

QS = [0.0, 0.01, 0.25, 0.5, 0.95, 0.999, 1.0]


def values() -> pd.Series:
    rng = np.random.default_rng(3)
    spread = np.concatenate([rng.lognormal(5, 2, 20_000), -rng.lognormal(1, 1, 500),
                             np.zeros(50), [np.nan] * 10])
    return pd.Series(spread)


def test_beyond_the_exact_size_every_quantile_is_within_the_bound():
    series = values()
    summary = quantiles.sketch(dd.from_pandas(series, npartitions=5), exact_up_to=1_000)
    got, exact = quantiles.quantiles_of(summary.compute(), QS)
    assert exact is False
    for q, value in zip(QS, got, strict=True):
        expected = series.quantile(q)
        assert abs(value - expected) <= quantiles.RELATIVE_ERROR * abs(expected), q


def test_up_to_the_exact_size_the_quantiles_are_pandas_own():
    series = values()
    summary = quantiles.sketch(dd.from_pandas(series, npartitions=5))
    got, exact = quantiles.quantiles_of(summary.compute(), QS)
    assert exact is True
    assert got == [float(series.quantile(q)) for q in QS]


def test_no_values_give_none():
    empty = dd.from_pandas(pd.Series([np.nan, np.nan]), npartitions=2)
    assert quantiles.quantiles_of(quantiles.sketch(empty).compute(), [0.5]) == ([None], True)


def test_the_summary_names_its_approximate_figures(monkeypatch):
    from loadlogs import DATA

    from recording_toolkit.load import LoadResult, load_callbacks
    from recording_toolkit.report import summarize

    plain = load_callbacks(DATA / "callbacks")
    lazy = LoadResult(dd.from_pandas(plain.recordings, npartitions=3),
                      dd.from_pandas(plain.transcriptions, npartitions=2),
                      plain.quarantine, plain.stats, engine="dask")
    exact = summarize(lazy, now="2026-12-01")
    assert "quantiles" not in exact.details
    monkeypatch.setattr(quantiles, "EXACT_UP_TO", 10)
    on_dask = summarize(lazy, now="2026-12-01")
    on_pandas = summarize(plain, now="2026-12-01")
    note = on_dask.details["quantiles"]
    assert note["relative_error"] == quantiles.RELATIVE_ERROR
    assert note["approximate"] == ["recordings.duration_seconds.median",
                                   "recordings.duration_seconds.p95",
                                   "transcriptions.turnaround_seconds.median",
                                   "transcriptions.turnaround_seconds.p95"]
    for key in note["approximate"]:
        got, expected = on_dask.get(key), on_pandas.get(key)
        assert got != expected
        assert abs(got - expected) <= quantiles.RELATIVE_ERROR * abs(expected) + 1e-6, key
    assert on_dask.get("recordings.count") == on_pandas.get("recordings.count")
