"""Loading callback logs: ``load_callbacks`` against ``pyarrow.json.read_json`` and pandas.

``gen_events.py`` writes N recording and transcription events (default 1,000,000, about 470 MB
of JSON Lines) into ``benchmarks/_work/`` once; then, in one process, rounds alternate between:

- ``read bytes``: the file's bytes from the page cache (the floor);
- ``pyarrow.json.read_json``: the table alone, no typing, no pandas (the baseline);
- ``load_callbacks``: parse, type in Arrow, sort, deduplicate, quarantine, the pandas frames;
- ``cached reload``: ``load_callbacks(cache=...)`` of the unchanged file (its cache made once
  before the rounds);
- ``pandas.read_json(lines=True)`` (default engine), on the first ``--pandas-lines`` lines, its
  time scaled to the whole file (it is ~10x slower and needs ~8x the file in memory; 0 reads
  the whole file).

Peak memory is measured apart, in a fresh child process per case (``VmHWM``), so one case's
high-water mark cannot hide another's; a child that only imports shows the interpreter's share.

Each time is the median of ``--rounds`` rounds. The machine has 2 cores shared with other work:
read the ratios, not the absolute times.

Usage::

    .venv/bin/python benchmarks/bench_load.py [--events 1000000] [--rounds 3] [--work DIR]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"
CASES = ("imports", "read bytes", "pyarrow", "load_callbacks", "cached reload", "pandas")


def events_file(n: int, work: Path = WORK) -> Path:
    """The generated log of ``n`` events in ``work`` (written on first use)."""
    path = work / f"events-{n}.jsonl"
    if not path.exists():
        sys.path.insert(0, str(HERE))
        import gen_events

        print(f"generating {n:,} events into {path} ...", file=sys.stderr, flush=True)
        gen_events.write(path, n)
    return path


def head(path: Path, lines: int) -> Path:
    """The first ``lines`` lines of ``path`` as a file beside it (for the pandas baseline)."""
    target = path.with_name(f"{path.stem}-head-{lines}.jsonl")
    if not target.exists():
        with open(path, "rb") as fin, open(target, "wb") as out:
            out.writelines(itertools.islice(fin, lines))
    return target


def run_case(case: str, path: Path, cache: Path) -> object:
    """Do one case once; returns what it made (kept alive until timed)."""
    if case == "imports":
        import pandas  # noqa: F401
        import pyarrow.json  # noqa: F401

        from recording_toolkit import load  # noqa: F401
        return None
    if case == "read bytes":
        return path.read_bytes()
    if case == "pyarrow":
        import pyarrow.json as pj

        return pj.read_json(path)
    if case == "load_callbacks":
        from recording_toolkit.load import load_callbacks

        return load_callbacks(path, progress=False)
    if case == "cached reload":
        from recording_toolkit.load import load_callbacks

        result = load_callbacks(path, progress=False, cache=cache)
        if result.stats.cached_files != 1:
            raise RuntimeError("the cache was not used")
        return result
    if case == "pandas":
        import pandas as pd

        return pd.read_json(path, lines=True)
    raise ValueError(case)


def own_peak() -> int:
    """This process's peak resident memory in bytes.

    ``VmHWM`` belongs to the process image, so a child started by the benchmark reports its own
    peak; ``ru_maxrss`` would carry over the parent's (Linux keeps it across ``execve``).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for text in status:
                if text.startswith("VmHWM:"):
                    return int(text.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


def peak_memory(case: str, path: Path, cache: Path) -> int:
    """ru_maxrss in bytes of a fresh child doing ``case`` once."""
    out = subprocess.run([sys.executable, __file__, "--measure", case, "--file", str(path),
                          "--cache", str(cache)], check=True, capture_output=True, text=True)
    return int(json.loads(out.stdout.strip().splitlines()[-1])["maxrss"])


def timed(case: str, path: Path, cache: Path) -> float:
    gc.collect()
    started = time.perf_counter()
    made = run_case(case, path, cache)
    elapsed = time.perf_counter() - started
    del made
    return elapsed


def _loads(values: tuple[float, float, float]) -> str:
    return "/".join(f"{v:.1f}" for v in values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000,
                        help="events in the generated log (default 1,000,000)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pandas-lines", type=int, default=200_000,
                        help="lines pandas.read_json reads, scaled to the file (0: whole file)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory children")
    parser.add_argument("--work", type=Path, default=WORK,
                        help="folder of the generated log (default benchmarks/_work)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        run_case(args.measure, Path(args.file), Path(args.cache))
        print(json.dumps({"maxrss": own_peak()}))
        return 0

    path = events_file(args.events, args.work)
    load_before = os.getloadavg()
    size = path.stat().st_size
    with open(path, "rb") as fin:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: fin.read(1 << 24), b""))
    pandas_path = path
    if args.pandas_lines and args.pandas_lines < lines:
        pandas_path = head(path, args.pandas_lines)
    pandas_scale = lines / min(lines, args.pandas_lines or lines)
    cache = Path(tempfile.mkdtemp(prefix="bench-load-cache-"))
    try:
        from recording_toolkit.load import load_callbacks

        made = load_callbacks(path, progress=False, cache=cache)  # fill the cache, warm up
        stats = made.stats
        del made
        times: dict[str, list[float]] = {c: [] for c in CASES[1:]}
        for _ in range(args.rounds):  # interleaved: each round's cases share the machine's load
            for case in times:
                times[case].append(timed(case, pandas_path if case == "pandas" else path,
                                         cache))
        pandas_s = statistics.median(times.pop("pandas")) * pandas_scale
        memory = {} if args.no_memory else {
            case: peak_memory(case, pandas_path if case == "pandas" else path, cache)
            for case in CASES}
    finally:
        shutil.rmtree(cache, ignore_errors=True)

    load_after = os.getloadavg()
    started = time.perf_counter()
    sum(range(10_000_000))
    cpu_check = time.perf_counter() - started
    med = {case: statistics.median(values) for case, values in times.items()}
    base = med["pyarrow"]
    print(f"# Loading {lines:,} callback events ({size / 1e6:,.0f} MB of JSON Lines; "
          f"{stats.recordings:,} recordings, {stats.transcriptions:,} transcriptions,"
          f" {stats.duplicates:,} duplicates)\n({os.cpu_count()} cores shared with other work;"
          f" medians of {args.rounds} rounds in one process; peak memory of a fresh child per"
          f" case; CPU check: sum(range(10**7)) took {cpu_check:.2f} s; load average 1/5/15 min"
          f" before {_loads(load_before)}, after {_loads(load_after)})\n")
    print("| path | wall s | vs pyarrow | peak RSS MB | above imports MB | peak / file size |")
    print("|---|---|---|---|---|---|")
    labels = {"imports": "python + imports only", "read bytes": "read the bytes (floor)",
              "pyarrow": "`pyarrow.json.read_json`, table only (baseline)",
              "load_callbacks": "`load_callbacks` (typing, sort, dedup, frames)",
              "cached reload": "`load_callbacks(cache=...)`, unchanged file",
              "pandas": "`pd.read_json(lines=True)`"
                        + (f" (first {args.pandas_lines:,} lines, x{pandas_scale:.1f})"
                           if pandas_scale > 1 else "")}
    walls = {**med, "pandas": pandas_s}
    base_rss = memory.get("imports", 0)
    for case in CASES:
        wall, peak = walls.get(case), memory.get(case)
        sliced = case == "pandas" and pandas_scale > 1
        cells = [labels[case],
                 "" if wall is None else f"{wall:.3f}",
                 "" if wall is None else f"{wall / base:.2f}x",
                 "" if peak is None else f"{peak / 1e6:,.0f}" + (" (of the slice)" if sliced
                                                                else ""),
                 "" if peak is None else f"{(peak - base_rss) / 1e6:,.0f}",
                 "" if peak is None or sliced else f"{peak / size:.2f}x"]
        print("| " + " | ".join(cells) + " |")
    checks = [
        ("load_callbacks <= 1.3x pyarrow.json.read_json", med["load_callbacks"] / base, 1.3,
         "x"),
        ("pandas.read_json / load_callbacks >= 10x", pandas_s / med["load_callbacks"], 10, ">x"),
        ("cached reload < 0.3 s", med["cached reload"], 0.3, "s"),
    ]
    if memory:
        checks.append(("load_callbacks peak < 2.5x file size", memory["load_callbacks"] / size,
                       2.5, "x"))
    rounds = ", ".join(f"{ours / theirs:.2f}x" for ours, theirs in
                       zip(times["load_callbacks"], times["pyarrow"], strict=True))
    print(f"\nload_callbacks / pyarrow.json.read_json in each round (same load): {rounds}")
    print("\n| target | measured | met |")
    print("|---|---|---|")
    for label, value, limit, unit in checks:
        met = value >= limit if unit == ">x" else value <= limit if unit == "x" else value < limit
        shown = f"{value:.3f} s" if unit == "s" else f"{value:.2f}x"
        print(f"| {label} | {shown} | {'yes' if met else '**no**'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
