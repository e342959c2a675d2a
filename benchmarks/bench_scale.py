"""The Dask engine on more data than its workers' memory: load and summarize, checked.

Generates sharded callback logs with known truth (unique recordings, transcriptions, lines
redelivered into the next shard an hour later, a transcription that failed in one shard and
succeeded in the next, one unreadable and one blank line per shard), then loads them with
``load_callbacks(engine="dask")`` and ``summarize`` on a ``LocalCluster`` whose workers have
far less memory than the data, and prints wall time, peak worker memory (RSS, sampled every
0.2 s), bytes spilled to disk, worker restarts (must be 0) and every count against the truth.
The baseline, in the same process, is the pandas engine on the same files (``--no-baseline``
skips it). The data goes to a folder under /tmp, deleted at the end (also on failure).

Usage::

    .venv/bin/python benchmarks/bench_scale.py                 # 3M events, 2 workers x 1 GiB
    .venv/bin/python benchmarks/bench_scale.py --large         # 10M events, 2 workers x 2 GiB
    .venv/bin/python benchmarks/bench_scale.py --events 200000 --memory 300MiB --shards 8
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

BASE_MS = 1_793_491_200_000  # 2026-11-01T00:00:00Z
SPAN_MS = 30 * 86_400_000
ERRORS = ("Recording duration too long for transcription",
          "Recording file size too large for transcription")
WORDS = "the quarterly numbers look good and we ship the release on friday after review"
REDELIVERED = 0.01  # share of lines delivered again, into the next shard
TRANSCRIBED = 0.9  # share of recordings with a transcription callback
FAILED = 0.03  # share of transcribed recordings whose only transcription failed
RETRIED = 0.02  # share of transcribed recordings that failed first, then succeeded
CONFERENCES = 500


@dataclass
class Truth:
    """What the generated logs hold, as the loader and the summary must count it."""

    files: int = 0
    lines: int = 0
    blank_lines: int = 0
    quarantined: int = 0
    recordings: int = 0
    transcriptions: int = 0
    recording_duplicates: int = 0
    transcription_duplicates: int = 0
    bytes: int = 0
    summary: dict[str, Any] = field(default_factory=dict)
    quantiles: dict[str, float] = field(default_factory=dict)


def _stamps(ms: np.ndarray) -> np.ndarray:
    return np.char.add(np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms"), "Z")


def _recording_lines(ids: np.ndarray, conf: np.ndarray, fmt: np.ndarray, start: np.ndarray,
                     duration: np.ndarray, received: np.ndarray) -> list[str]:
    stamps = _stamps(received)
    return [
        f'{{"event":"recording","received_at":"{at}","verified":true,"source":"callback",'
        f'"payload":{{"api_id":"api-{rid}","record_url":"https://media.example/{rid}.{f}",'
        f'"recording_id":"{rid}","conference_name":"conf-{c}",'
        f'"recording_duration":"{d // 1000}","recording_duration_ms":"{d}",'
        f'"recording_start_ms":"{s}","recording_end_ms":"{s + d}"}}}}\n'
        for rid, c, f, s, d, at in zip(ids.tolist(), conf.tolist(), fmt.tolist(),
                                       start.tolist(), duration.tolist(), stamps.tolist(),
                                       strict=True)]


def _transcription_lines(ids: np.ndarray, error: np.ndarray, charge: np.ndarray,
                         duration: np.ndarray, received: np.ndarray) -> list[str]:
    stamps = _stamps(received)
    out = []
    for rid, e, c, d, at in zip(ids.tolist(), error.tolist(), charge.tolist(), duration.tolist(),
                                stamps.tolist(), strict=True):
        text = "" if e >= 0 else WORDS
        message = ERRORS[e] if e >= 0 else ""
        out.append(
            f'{{"event":"transcription","received_at":"{at}","verified":true,'
            f'"payload":{{"transcription":"{text}","transcription_charge":"{c / 100_000:.5f}",'
            f'"transcription_rate":"0.05000","duration":"{d // 1000}",'
            f'"call_uuid":"call-{rid}","recording_id":"{rid}","error":"{message}"}}}}\n')
    return out


def generate(folder: Path, events: int, shards: int, *, seed: int = 7) -> Truth:
    """Write ``shards`` JSON Lines files of about ``events`` callbacks into ``folder``, one
    shard at a time (memory for one shard's lines), and return their truth."""
    per_recording = (1 + TRANSCRIBED * (1 + RETRIED)) * (1 + REDELIVERED)
    n = max(shards, int(events / per_recording))
    truth = Truth(files=shards, blank_lines=shards, quarantined=shards, recordings=n)
    carried: list[str] = []  # lines for the next shard: redeliveries and retried successes
    seconds: list[np.ndarray] = []
    turnarounds: list[np.ndarray] = []
    billed_total = duration_total = charge_total = wav = 0
    errors: dict[str, int] = {}
    rec_lines_total = tr_lines_total = failed_total = 0
    for k in range(shards):
        rng = np.random.default_rng([seed, k])
        index = np.arange(k * n // shards, (k + 1) * n // shards)
        m = len(index)
        ids = np.array([f"{i:08x}-7e57-4000-8000-{(i * 2654435761) % (1 << 48):012x}"
                        for i in index.tolist()])
        conf = index % CONFERENCES
        fmt = np.where(index % 5 == 0, "wav", "mp3")
        start = BASE_MS + index * (SPAN_MS // n)
        duration = rng.integers(400, 3_600_000, m)
        end = start + duration
        transcribed = rng.random(m) < TRANSCRIBED
        draw = rng.random(m)
        failed_only = transcribed & (draw < FAILED)
        retried = transcribed & (draw >= FAILED) & (draw < FAILED + RETRIED)
        error = np.where(failed_only, rng.integers(0, len(ERRORS), m), -1)
        billed = np.maximum(1, -(-duration // 60_000))
        charge = np.where(failed_only, 0, billed * 5_000)  # 1/100,000 dollar: 0.05 a minute
        tr_received = end + rng.integers(60_000, 1_800_000, m)
        lines = carried
        carried = []
        own = _recording_lines(ids, conf, fmt, start, duration, end + 2_000)
        again = rng.random(m) < REDELIVERED
        later = _recording_lines(ids[again], conf[again], fmt[again], start[again],
                                 duration[again], end[again] + 2_000 + 3_600_000)
        lines += own
        carried += later
        rec_lines_total += m + len(later)
        t = transcribed & ~retried
        r = retried
        lines += _transcription_lines(ids[t], error[t], charge[t], duration[t], tr_received[t])
        # retried: the error here, the success in the next shard an hour later
        lines += _transcription_lines(ids[r], np.zeros(int(r.sum()), dtype=np.int64),
                                      np.zeros(int(r.sum()), dtype=np.int64), duration[r],
                                      tr_received[r] - 3_600_000)
        carried += _transcription_lines(ids[r], error[r], charge[r], duration[r],
                                        tr_received[r])
        again = transcribed & (rng.random(m) < REDELIVERED)
        carried += _transcription_lines(ids[again], error[again], charge[again],
                                        duration[again], tr_received[again] + 3_600_000)
        tr_lines_total += int(transcribed.sum()) + int(r.sum()) + int(again.sum())
        lines.append(f"not json in shard {k}\n")
        lines.append("\n")
        (folder / f"callbacks-{k:04d}.jsonl").write_text("".join(lines), "utf-8")
        truth.transcriptions += int(transcribed.sum())
        failed_total += int(failed_only.sum())
        for e in error[failed_only].tolist():
            errors[ERRORS[e]] = errors.get(ERRORS[e], 0) + 1
        billed_total += int(billed.sum())
        duration_total += int(duration.sum())
        charge_total += int(charge[transcribed].sum())
        wav += int((fmt == "wav").sum())
        seconds.append(duration / 1000)
        turnarounds.append((tr_received[transcribed] - end[transcribed]) / 1000)
    with open(folder / "callbacks-0000.jsonl", "a", encoding="utf-8") as first:
        first.write("".join(carried))  # the last shard's redeliveries wrap to the first
    truth.bytes = sum(p.stat().st_size for p in folder.iterdir())
    truth.lines = rec_lines_total + tr_lines_total + shards
    truth.recording_duplicates = rec_lines_total - n
    truth.transcription_duplicates = tr_lines_total - truth.transcriptions
    n_t = truth.transcriptions
    truth.summary = {
        "recordings.count": n, "recordings.conferences": min(n, CONFERENCES),
        "recordings.total_minutes": duration_total / 60_000,
        "recordings.billed_minutes": billed_total,
        "recordings.by_format.wav": wav, "recordings.by_format.mp3": n - wav,
        "transcriptions.received": n_t, "transcriptions.succeeded": n_t - failed_total,
        "transcriptions.failed": failed_total,
        "transcriptions.charge_total": charge_total / 100_000,
        "transcriptions.errors": errors,
    }
    all_seconds, all_turnarounds = np.concatenate(seconds), np.concatenate(turnarounds)
    truth.quantiles = {
        "recordings.duration_seconds.median": float(np.quantile(all_seconds, 0.5)),
        "recordings.duration_seconds.p95": float(np.quantile(all_seconds, 0.95)),
        "transcriptions.turnaround_seconds.median": float(np.quantile(all_turnarounds, 0.5)),
        "transcriptions.turnaround_seconds.p95": float(np.quantile(all_turnarounds, 0.95))}
    return truth


def check(truth: Truth, stats: Any, summary: Any, *, relative_error: float = 0.0) -> list[str]:
    """Every count against the truth: the mismatches, in words (empty: all agree).
    Quantiles may be off by ``relative_error`` (the Dask engine's sketches)."""
    wrong = []
    for key in ("files", "lines", "blank_lines", "quarantined", "recordings", "transcriptions",
                "recording_duplicates", "transcription_duplicates", "bytes"):
        if getattr(stats, key) != getattr(truth, key):
            wrong.append(f"stats.{key}: {getattr(stats, key)} != {getattr(truth, key)}")
    duplicates = truth.recording_duplicates + truth.transcription_duplicates
    if stats.duplicates != duplicates:
        wrong.append(f"stats.duplicates: {stats.duplicates} != {duplicates}")
    for key, expected in truth.summary.items():
        got = summary.get(key)
        same = math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-6) \
            if isinstance(expected, float) else got == expected
        if not same:
            wrong.append(f"summary {key}: {got} != {expected}")
    tolerance = max(relative_error, 1e-9)
    for key, expected in truth.quantiles.items():
        got = summary.get(key)
        if got is None or abs(got - expected) > tolerance * abs(expected) + 1e-6:
            wrong.append(f"summary {key}: {got} not within {tolerance:g} of {expected}")
    return wrong


class Sampler:
    """Peak RSS of the worker processes, sampled every 0.2 s in a thread."""

    def __init__(self, pids: list[int]) -> None:
        import psutil

        self.processes = [psutil.Process(p) for p in pids]
        self.peak = dict.fromkeys(pids, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            for process in self.processes:
                try:
                    rss = process.memory_info().rss
                except Exception:  # noqa: BLE001 - a worker gone (restarts are counted apart)
                    continue
                self.peak[process.pid] = max(self.peak[process.pid], rss)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _spilled(client: Any) -> int:
    def written(dask_worker: Any) -> float:
        metrics = getattr(dask_worker.data, "cumulative_metrics", {})
        return sum(v for (label, unit), v in metrics.items()
                   if label == "disk-write" and unit == "bytes")

    return int(sum(client.run(written).values()))


def _bytes(text: str) -> int:
    from dask.utils import parse_bytes

    return int(parse_bytes(text))


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


@dataclass
class Run:
    label: str
    seconds: float
    peak: int
    spilled: int
    restarts: int
    wrong: list[str]


def run_dask(folder: Path, truth: Truth, *, workers: int, memory: str, scratch: Path,
             persist: bool | None = None) -> Run:
    """Load and summarize on a fresh LocalCluster (closed on the way out)."""
    from distributed import Client, LocalCluster
    from distributed.diagnostics.plugin import SchedulerPlugin

    from recording_toolkit.analytics import quantiles
    from recording_toolkit.load import load_callbacks
    from recording_toolkit.report import summarize

    class Removed(SchedulerPlugin):
        def __init__(self) -> None:
            self.count = 0

        def remove_worker(self, scheduler: Any = None, worker: Any = None, **kwargs: Any
                          ) -> None:
            self.count += 1

    with LocalCluster(n_workers=workers, threads_per_worker=1, memory_limit=memory,
                      processes=True, host="127.0.0.1", dashboard_address=None,
                      local_directory=str(scratch)) as cluster, Client(cluster) as client:
        removed = Removed()
        cluster.scheduler.add_plugin(removed)
        pids = list(client.run(os.getpid).values())
        with Sampler(pids) as sampler:
            began = time.perf_counter()
            result = load_callbacks(folder, engine="dask", client=client, persist=persist)
            loaded = time.perf_counter()
            summary = summarize(result)
            done = time.perf_counter()
        spilled = _spilled(client)
        restarts = removed.count
        wrong = check(truth, result.stats, summary, relative_error=quantiles.RELATIVE_ERROR)
        print(f"  load {loaded - began:.1f} s, summarize {done - loaded:.1f} s,"
              f" persisted: {'no' if _lazy(result) else 'yes'}", file=sys.stderr)
    return Run(f"dask, {workers} x {memory}", done - began, max(sampler.peak.values()),
               spilled, restarts, wrong)


def _lazy(result: Any) -> bool:
    """True when the frames were left lazy (no futures in their graph)."""
    from distributed import Future

    graph = dict(result.recordings.__dask_graph__())
    return not any(isinstance(v, Future) for v in graph.values())


def run_pandas(folder: Path, truth: Truth) -> Run:
    import psutil

    from recording_toolkit.load import load_callbacks
    from recording_toolkit.report import summarize

    before = psutil.Process().memory_info().rss
    began = time.perf_counter()
    result = load_callbacks(folder, progress=False)
    summary = summarize(result)
    seconds = time.perf_counter() - began
    grown = psutil.Process().memory_info().rss - before
    frames = int(result.recordings.memory_usage(deep=True).sum()
                 + result.transcriptions.memory_usage(deep=True).sum())
    print(f"  the typed frames take {_gib(frames)} in memory", file=sys.stderr)
    return Run(f"pandas (baseline, this process; frames {_gib(frames)})", seconds, grown, 0, 0,
               check(truth, result.stats, summary))


def _stop(signum: int, frame: Any) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=3_000_000)
    parser.add_argument("--shards", type=int, default=24)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory", default="1GiB", help="memory limit of each worker")
    parser.add_argument("--large", action="store_true",
                        help="10M events in 80 shards on 2 workers x 2 GiB")
    parser.add_argument("--persist", choices=("auto", "yes", "no"), default="auto",
                        help="load_callbacks(persist=...): None, True or False")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the pandas engine on the same files")
    args = parser.parse_args(argv)
    if args.large:
        args.events, args.shards, args.memory = 10_000_000, 80, "2GiB"
    signal.signal(signal.SIGTERM, _stop)  # so that the data is deleted when stopped
    root = Path(tempfile.mkdtemp(prefix="bench-scale-", dir="/tmp"))
    try:
        folder = root / "logs"
        folder.mkdir()
        began = time.perf_counter()
        truth = generate(folder, args.events, args.shards)
        print(f"generated {truth.lines:,} lines ({_gib(truth.bytes)}) in {args.shards} shards"
              f" in {time.perf_counter() - began:.1f} s", file=sys.stderr)
        persist = {"auto": None, "yes": True, "no": False}[args.persist]
        runs = [run_dask(folder, truth, workers=args.workers, memory=args.memory,
                         scratch=root, persist=persist)]
        if not args.no_baseline:
            runs.append(run_pandas(folder, truth))
        load = os.getloadavg()
        print(f"\n# Dask engine beyond the workers' memory: {truth.lines:,} lines"
              f" ({_gib(truth.bytes)} of JSON Lines, {args.shards} shards),"
              f" workers {args.workers} x {args.memory} ({_gib(args.workers * _bytes(args.memory))}"
              f" in all)\n")
        print("| engine | load + summarize s | ratio | peak memory | spilled | restarts"
              " | counts vs truth |")
        print("|---|---|---|---|---|---|---|")
        baseline = runs[-1].seconds
        for r in runs:
            verdict = "all equal" if not r.wrong else f"{len(r.wrong)} wrong"
            memory = f"{_gib(r.peak)} (a worker)" if r.label.startswith("dask") else \
                f"{_gib(r.peak)} (process growth)"
            print(f"| {r.label} | {r.seconds:.1f} | {r.seconds / baseline:.2f}x | {memory}"
                  f" | {_gib(r.spilled)} | {r.restarts} | {verdict} |")
        print(f"\nload average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on"
              f" {os.cpu_count()} cores")
        failed = [w for r in runs for w in r.wrong] + \
            [f"{r.label}: {r.restarts} worker restart(s)" for r in runs if r.restarts]
        for line in failed:
            print(f"MISMATCH {line}")
        return 1 if failed else 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
