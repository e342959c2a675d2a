"""Run every benchmark once and write ``benchmarks/RESULTS.md``: one table, then each output.

``make bench`` runs this. Each benchmark script runs in its own process (they start their own
servers and measure against a baseline *in the same run*); their printed tables are kept
verbatim below the summary. The summary puts each figure next to its same-run baseline, the
ratio and the target the issues set:

==================  ==============================================  ========================
benchmark           figure / baseline                               target
==================  ==============================================  ========================
bench_client.py     AsyncRecordingClient bulk start / bare httpx    >= 0.8x
bench_receiver.py   durable callbacks/s / no-op uvicorn endpoint    >= 0.5x
bench_sandbox.py    sandbox dispatcher deliveries/s / bare aiohttp  >= 3,000/s at c=64
bench_load.py       load_callbacks / pyarrow.json.read_json time;   <= 1.3x; >= 10x faster;
                    vs pandas.read_json; cached reload; peak memory <= 0.3 s; <= 2.5x file
bench_search.py     search_transcripts on 1M transcriptions / a     < 1 s; >= 10x
                    plain Python loop
bench_scale.py      Dask load + summarize of 3M events on 2 x 1    0 restarts, every count
                    GiB workers / the pandas engine                 right
==================  ==============================================  ========================

A benchmark whose script is missing or fails gets a line saying so, never a made-up figure.
The machine (cores, memory, CPU, Python, library versions) and the load average during the run
head the file: the machine is shared, so absolute rates are noisy; read the ratios.

Usage::

    .venv/bin/python benchmarks/run_all.py [--quick] [--only client receiver ...]
        [--output benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIBRARIES = ("pandas", "pyarrow", "numpy", "httpx", "httpx2", "httpcore", "uvicorn", "starlette",
             "uvloop", "httptools", "dask", "polars", "tqdm")


@dataclass
class Row:
    """One line of the summary table."""

    benchmark: str
    figure: str
    value: str
    baseline: str
    ratio: str
    target: str
    met: str


def _number(text: str) -> float:
    return float(text.replace(",", "").replace("*", "").rstrip("x").strip())


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _table_rows(output: str) -> list[list[str]]:
    return [_cells(line) for line in output.splitlines()
            if line.startswith("|") and not line.startswith("|---")]


def parse_client(output: str) -> list[Row]:
    """Rows of ``bench_client.py``: library, concurrency, bare, async, ratio, sync, ratio."""
    rows = []
    for cells in _table_rows(output):
        if len(cells) != 7 or not cells[1].isdigit():
            continue
        bare, fast = _number(cells[2]), _number(cells[3])
        ratio = fast / bare
        rows.append(Row("client", f"AsyncRecordingClient bulk start req/s ({cells[0]},"
                        f" concurrency {cells[1]})", f"{fast:,.0f}",
                        f"bare AsyncClient {bare:,.0f}", f"{ratio:.2f}x", ">= 0.8x",
                        "yes" if ratio >= 0.8 else "no"))
        sync = _number(cells[5])
        rows.append(Row("client", f"RecordingClient (threads) req/s ({cells[0]},"
                        f" concurrency {cells[1]})", f"{sync:,.0f}",
                        f"bare AsyncClient {bare:,.0f}", f"{sync / bare:.2f}x", "-", "-"))
    return rows


def parse_receiver(output: str) -> list[Row]:
    """``| server | requests/round | req/s | p50 | p99 | non-200 |`` for receiver and no-op,
    and ``receiver xN`` (``--workers N``) when measured."""
    rates = {cells[0]: _number(cells[2]) for cells in _table_rows(output)
             if len(cells) == 6 and (cells[0] in ("receiver", "no-op")
                                     or cells[0].startswith("receiver x"))}
    if not {"receiver", "no-op"} <= set(rates):
        return []
    ratio = rates["receiver"] / rates["no-op"]
    rows = [Row("receiver", "durable callbacks/s, 50 concurrent senders",
                f"{rates['receiver']:,.0f}", f"no-op uvicorn {rates['no-op']:,.0f}",
                f"{ratio:.2f}x", ">= 0.5x", "yes" if ratio >= 0.5 else "no")]
    for name, rate in rates.items():
        if name.startswith("receiver x"):
            rows.append(Row("receiver", f"the same, --workers {name[len('receiver x'):]}",
                            f"{rate:,.0f}", f"no-op uvicorn {rates['no-op']:,.0f}",
                            f"{rate / rates['no-op']:.2f}x", "none set", "-"))
    return rows


def parse_sandbox(output: str) -> list[Row]:
    """``| sender | c=16 | c=64 |`` with cells ``rate (ratio)``: the Starlette receiver's
    table, then the minimal sink's, whose row names end in ``(minimal sink)``."""
    rows = _table_rows(output)
    header = next((r for r in rows if r and r[0] == "sender"), None)
    out = []
    for suffix, where in (("", ""), (" (minimal sink)", ", minimal sink")):
        found = {r[0]: r[1:] for r in rows
                 if r and r[0] in (f"bare{suffix}", f"dispatcher{suffix}")}
        if header is None or len(found) != 2:
            continue
        for column, label in enumerate(header[1:]):
            bare = _number(found[f"bare{suffix}"][column].split("(")[0])
            sent = _number(found[f"dispatcher{suffix}"][column].split("(")[0])
            goal = label == "c=64"
            out.append(Row("sandbox", f"callback deliveries/s by the dispatcher{where} ({label})",
                           f"{sent:,.0f}", f"bare aiohttp loop {bare:,.0f}",
                           f"{sent / bare:.2f}x", ">= 3,000/s" if goal else "-",
                           ("yes" if sent >= 3000 else "no") if goal else "-"))
    return out


def parse_load(output: str) -> list[Row]:
    """``bench_load.py``: its ``| target | measured | met |`` table, each next to the walls
    of the same run's main table (``| path | wall s | vs pyarrow | ... |``)."""
    walls = {}
    targets = []
    for cells in _table_rows(output):
        if len(cells) == 6 and cells[1]:
            walls[cells[0]] = cells[1]
        elif len(cells) == 3 and cells[2].strip("*") in ("yes", "no"):
            targets.append(cells)

    def wall(word: str) -> str:
        return next((f"{v} s" for k, v in walls.items() if word in k), "?")

    baselines = {"pyarrow": f"read_json {wall('pyarrow.json')}, load_callbacks"
                            f" {wall('typing')}",
                 "pandas": f"pandas {wall('pd.read_json')}, load_callbacks {wall('typing')}",
                 "cached": f"uncached load_callbacks {wall('typing')}",
                 "peak": "the file's size"}
    rows = []
    for label, measured, met in targets:
        op = re.search(r"\s(<=|>=|<|>)\s(.*)$", label)
        figure = label[:op.start()] if op else label
        target = f"{op.group(1)} {op.group(2)}" if op else "-"
        baseline = next((v for k, v in baselines.items() if k in label), "-")
        rows.append(Row("load", figure, measured, baseline, measured if measured.endswith("x")
                        else "-", target, met.strip("*")))
    return rows


def parse_search(output: str) -> list[Row]:
    """``bench_search.py``'s medians: ``| query | pattern | hits | loop s | search s | **ratio** |
    floor s | search / floor |``, read around the bold ratio (a pattern may hold an escaped
    pipe, so cells are counted back from it)."""
    rows = []
    for cells in _table_rows(output):
        bold = next((i for i, cell in enumerate(cells) if cell.startswith("**")), None)
        if bold is None or bold < 4:
            continue
        try:
            loop, search = _number(cells[bold - 2]), _number(cells[bold - 1])
        except ValueError:
            continue
        ratio = loop / search
        met = search < 1.0 and ratio >= 10
        rows.append(Row("search", f"search_transcripts, {cells[0]} ({cells[bold - 3]} hits)",
                        f"{search:.3f} s", f"python loop {loop:.3f} s", f"{ratio:.1f}x",
                        "< 1 s and >= 10x", "yes" if met else "no"))
    return rows


def parse_scale(output: str) -> list[Row]:
    """``bench_scale.py``: ``| engine | load + summarize s | ratio | peak memory | spilled |
    restarts | counts vs truth |``, the Dask row against the pandas baseline's time."""
    rows = [cells for cells in _table_rows(output) if len(cells) == 7]
    dask = next((c for c in rows if c[0].startswith("dask")), None)
    if dask is None:
        return []
    base = next((c for c in rows if c[0].startswith("pandas")), None)
    met = dask[5] == "0" and dask[6] == "all equal"
    return [Row("scale", f"Dask load + summarize, {dask[0][len('dask, '):]} workers (peak"
                f" {dask[3]}, spilled {dask[4]}, {dask[5]} restarts, {dask[6]})",
                f"{dask[1]} s", f"pandas {base[1]} s" if base else "-",
                dask[2] if base else "-", "0 restarts, every count right",
                "yes" if met else "no")]


@dataclass(frozen=True)
class Benchmark:
    name: str
    script: str
    args: tuple[str, ...]
    quick_args: tuple[str, ...]
    parse: Callable[[str], list[Row]]
    timeout_s: float


BENCHMARKS = (
    # sizes that finish in minutes even on a busy shared machine; each script's own defaults
    # are larger (run it alone for those)
    Benchmark("client", "bench_client.py", ("--n", "2000", "--rounds", "3"),
              ("--n", "1000", "--rounds", "1"), parse_client, 1800),
    Benchmark("receiver", "bench_receiver.py", (),
              ("--requests", "2000", "--seconds", "4", "--rounds", "1"), parse_receiver, 900),
    Benchmark("sandbox", "bench_sandbox.py", ("--n", "1000", "--rounds", "3"),
              ("--n", "600", "--rounds", "1"), parse_sandbox, 1800),
    Benchmark("search", "bench_search.py", ("--rounds", "3"),
              ("--n", "100000", "--rounds", "1", "--distinct", "5000"), parse_search, 1800),
    Benchmark("load", "bench_load.py", (), ("--events", "200000", "--rounds", "1",
                                            "--no-memory"), parse_load, 1800),
    Benchmark("scale", "bench_scale.py", (), ("--events", "200000", "--shards", "8",
                                              "--memory", "400MiB"), parse_scale, 2400),
)


@dataclass
class Outcome:
    benchmark: Benchmark
    rows: list[Row]
    output: str
    note: str
    seconds: float
    command: str = ""


def run(bench: Benchmark, *, quick: bool) -> Outcome:
    script = HERE / bench.script
    if not script.exists():
        return Outcome(bench, [], "", f"`benchmarks/{bench.script}` is not in this checkout:"
                       " not measured", 0.0)
    arguments = bench.quick_args if quick else bench.args
    command = [sys.executable, os.fspath(script), *arguments]
    shown = " ".join(["python", f"benchmarks/{bench.script}", *arguments])
    began = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=bench.timeout_s,
                              cwd=HERE.parent)
    except subprocess.TimeoutExpired:
        return Outcome(bench, [], "", f"timed out after {bench.timeout_s:.0f} s: not measured",
                       time.monotonic() - began, shown)
    seconds = time.monotonic() - began
    output = done.stdout.rstrip()
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        return Outcome(bench, [], output + ("\n\n" if output else "") + tail,
                       f"failed with exit code {done.returncode}: not measured", seconds, shown)
    rows = bench.parse(output)
    note = "" if rows else "ran, but its output had no figure this script could read"
    return Outcome(bench, rows, output, note, seconds, shown)


def machine() -> list[str]:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 ** 2:.1f} GiB"
    except OSError:
        pass
    versions = []
    for name in LIBRARIES:
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return [f"- {os.cpu_count()} cores ({cpu}), {memory} memory, {platform.system()}"
            f" {platform.release()}",
            f"- Python {platform.python_version()} ({platform.python_implementation()})",
            f"- {', '.join(versions)}"]


def render(outcomes: list[Outcome], *, quick: bool, began: datetime, loads: list[float],
           wall_s: float) -> str:
    cores = os.cpu_count() or 1
    peak = max(loads) if loads else 0.0
    lines = ["# Benchmark results", "",
             f"Written by `make bench` (`benchmarks/run_all.py{' --quick' if quick else ''}`)"
             f" on {began:%Y-%m-%d %H:%M} UTC in {wall_s / 60:.1f} minutes. Every figure is"
             " measured against its baseline in the same run, on the same machine, at the same"
             " time; compare the ratios, not the absolute rates.", "", "## Machine", "",
             *machine(),
             f"- load average (1 min) sampled before and after each benchmark:"
             f" {', '.join(f'{v:.1f}' for v in loads)}", ""]
    if peak > cores * 0.75:
        lines += [f"**Taken under load**: the load average reached {peak:.1f} on {cores} cores"
                  " while these ran (other work shared the machine), so absolute rates are low"
                  " and noisy; ratios within one benchmark are less affected, as both sides of"
                  " each ratio ran interleaved under the same load.", ""]
    elif peak > cores * 0.25:
        lines += [f"Taken on a shared machine at a light load (load average up to {peak:.1f} on"
                  f" {cores} cores): absolute rates are somewhat noisy; the ratios, measured"
                  " interleaved in the same run, much less so.", ""]
    lines += ["## Summary", "",
              "| benchmark | figure | value | same-run baseline | ratio | target | met |",
              "|---|---|---|---|---|---|---|"]
    for outcome in outcomes:
        for row in outcome.rows:
            lines.append(f"| {row.benchmark} | {row.figure} | {row.value} | {row.baseline}"
                         f" | {row.ratio} | {row.target} | {row.met} |")
        if outcome.note:
            lines.append(f"| {outcome.benchmark.name} | - | - | - | - | - | {outcome.note} |")
    lines += ["", "## Each benchmark's own output", ""]
    for outcome in outcomes:
        bench = outcome.benchmark
        lines += [f"### {bench.name}: `benchmarks/{bench.script}`"
                  + (f" ({outcome.seconds:.0f} s)" if outcome.seconds else ""), ""]
        if outcome.command:
            lines += [f"`{outcome.command}`", ""]
        if outcome.note:
            lines += [outcome.note, ""]
        if outcome.output:  # its own headings sit below this section's
            lines += [re.sub(r"(?m)^#+ ", "#### ", outcome.output), ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="small rounds (a smoke run; the figures are rougher)")
    parser.add_argument("--only", nargs="+", choices=[b.name for b in BENCHMARKS],
                        help="run only these benchmarks")
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args(argv)
    began = datetime.now(UTC)
    start = time.monotonic()
    loads = [os.getloadavg()[0]]
    outcomes = []
    for bench in BENCHMARKS:
        if args.only and bench.name not in args.only:
            continue
        print(f"running {bench.script} ...", file=sys.stderr, flush=True)
        outcomes.append(run(bench, quick=args.quick))
        loads.append(os.getloadavg()[0])
        print(f"  {outcome_line(outcomes[-1])}", file=sys.stderr, flush=True)
    text = render(outcomes, quick=args.quick, began=began, loads=loads,
                  wall_s=time.monotonic() - start)
    args.output.write_text(text)
    print(text)
    return 0 if all(not o.note for o in outcomes) else 1


def outcome_line(outcome: Outcome) -> str:
    if outcome.note:
        return f"{outcome.benchmark.name}: {outcome.note}"
    return f"{outcome.benchmark.name}: {len(outcome.rows)} figures in {outcome.seconds:.0f} s"


if __name__ == "__main__":
    sys.exit(main())
