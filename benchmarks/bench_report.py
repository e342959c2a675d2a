"""``report.summarize`` on generated frames against the plainest pandas computation of its figures.

The dashboard calls ``summarize`` on every change of a control, so its time is what a user
waits for. For ``--sizes`` recordings (80% transcribed, a journal line per start), each round
times, in the same process:

- ``baseline``: the stable summary figures only, in the fewest pandas calls (sums, ``nunique``,
  exact quantiles, one Arrow ``is_in`` for coverage, one merge for turnaround): the floor;
- ``stable``: the stable figures through the analytics functions (what ``to_dict()`` holds);
- ``summarize``: ``summarize(result)``, which computes the stable figures (what the dashboard
  shows) and leaves ``details`` and ``tables`` for their first use;
- ``+ details``: the same, then ``details`` (every table and figure behind the report);
- ``+ journal``: ``+ details`` with reconciliation against the journal;
- ``dask`` / ``dask + details``: the same over the frames as Dask DataFrames (``--partitions``,
  threaded scheduler).

Each cell is the median of ``--rounds`` rounds. The machine is shared: read the ratios.

Usage::

    .venv/bin/python benchmarks/bench_report.py [--sizes 10000 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from recording_toolkit import analytics, schema
from recording_toolkit.load import LoadResult
from recording_toolkit.report import _stable, summarize

NOW = "2026-12-15"


def frames(n: int, seed: int = 0) -> tuple[LoadResult, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-11-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 30 * 86400, n), unit="s")
    ms = rng.integers(300, 4 * 3600 * 1000, n)
    ids = np.array([f"rec-{i:08d}" for i in range(n)])
    end = start + pd.to_timedelta(ms, unit="ms")
    recordings = schema.coerce(pd.DataFrame({
        "recording_id": ids, "conference_name": [f"conf-{i % max(1, n // 40)}" for i in range(n)],
        "file_format": np.where(rng.random(n) < 0.3, "wav", "mp3"),
        "recording_duration": ms // 1000, "recording_duration_ms": ms, "recording_start": start,
        "recording_end": end, "received_at": end + pd.Timedelta(seconds=1), "backfilled": False,
    }), schema.RECORDINGS)
    k = int(n * 0.8)
    errors = np.where(ms[:k] <= 500, "Recording duration too short for transcription", None)
    transcriptions = schema.coerce(pd.DataFrame({
        "recording_id": ids[:k],
        "transcription_charge": 0.05 * np.maximum(1, np.ceil(ms[:k] / 60000)),
        "transcription_rate": 0.05, "duration": ms[:k] // 1000, "error": errors,
        "received_at": end[:k] + pd.to_timedelta(rng.integers(30, 1800, k), unit="s"),
    }), schema.TRANSCRIPTIONS)
    journal = schema.coerce(pd.DataFrame({
        "time": start - pd.Timedelta(seconds=1), "action": "start",
        "conference_name": recordings["conference_name"], "ok": True, "recording_id": ids,
        "transcription_type": np.where(np.arange(n) < k, "auto", None),
        "may_have_started": False}), schema.JOURNAL)
    return LoadResult(recordings, transcriptions, schema.empty(schema.QUARANTINE)), journal


def baseline(result: LoadResult) -> dict:
    """The stable figures with the fewest pandas calls (no selection, no checks)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rec, tr = result.recordings, result.transcriptions
    ms = rec["recording_duration_ms"]
    seconds = ms.astype(float) / 1000
    ok = tr.loc[tr["error"].isna(), "recording_id"]
    pairs = tr[["recording_id", "received_at"]].merge(rec[["recording_id", "recording_end"]])
    turnaround = (pairs["received_at"] - pairs["recording_end"]).dt.total_seconds()
    return {
        "count": rec["recording_id"].nunique(), "conferences": rec["conference_name"].nunique(),
        "total_minutes": ms.sum() / 60000, "billed": (-(-ms // 60000)).clip(lower=1).sum(),
        "quantiles": seconds.quantile([0.5, 0.95]).tolist(), "mean": seconds.mean(),
        "max": seconds.max(), "formats": rec["file_format"].value_counts().to_dict(),
        "received": tr["recording_id"].nunique(), "succeeded": ok.nunique(),
        "coverage": pc.sum(pc.is_in(pa.array(rec["recording_id"]),
                                    value_set=pa.array(ok))).as_py() / len(rec),
        "charge": tr["transcription_charge"].sum(),
        "errors": tr["error"].value_counts().to_dict(),
        "turnaround": turnaround.quantile([0.5, 0.95]).tolist(),
    }


def median_time(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--no-dask", action="store_true")
    args = parser.parse_args()
    import dask.dataframe as dd

    print(f"{'recordings':>10}  {'case':<14} {'seconds':>8} {'x baseline':>10}")
    for n in args.sizes:
        result, journal = frames(n)
        summarize(result, now=NOW)  # warm imports and caches
        cases = {
            "baseline": lambda r=result: baseline(r),
            "stable": lambda r=result: _stable({}, r.recordings, r.transcriptions,
                                               analytics.turnaround_stats(r.recordings,
                                                                          r.transcriptions)),
            "summarize": lambda r=result: summarize(r, now=NOW),
            "+ details": lambda r=result: summarize(r, now=NOW).details,
            "+ journal": lambda r=result, j=journal: summarize(r, journal=j, now=NOW).details,
        }
        if not args.no_dask:
            on_dask = LoadResult(dd.from_pandas(result.recordings, npartitions=args.partitions),
                                 dd.from_pandas(result.transcriptions,
                                                npartitions=args.partitions),
                                 result.quarantine, engine="dask")
            cases["dask"] = lambda r=on_dask: summarize(r, now=NOW)
            cases["dask + details"] = lambda r=on_dask: summarize(r, now=NOW).details
        floor = None
        for name, fn in cases.items():
            seconds = median_time(fn, args.rounds)
            floor = seconds if floor is None else floor
            print(f"{n:>10,}  {name:<14} {seconds:>8.3f} {seconds / floor:>9.1f}x", flush=True)


if __name__ == "__main__":
    main()
