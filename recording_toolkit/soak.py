"""The end-to-end soak: the whole toolkit under a real account's misbehaviour, on loopback.

``python -m recording_toolkit.soak`` (``make soak``) runs, on 127.0.0.1 only and within a time
budget:

1. a sandbox with faults on (:data:`SOAK_FAULTS`: 5% of API requests answered 503 and 2% 429,
   both with ``Retry-After``; 5% of callbacks dropped, 10% delivered twice, 10% held back);
2. the receiver as ``recording-toolkit receive`` in a subprocess, its callback URLs carrying
   Plivo's retry fragment (:data:`CALLBACK_RETRY`);
3. ``count`` recordings (default 5,000) started in bulk with transcription through the real
   client, with a request journal; while callbacks stream in, the receiver is killed with
   SIGKILL ``kills`` times (default 2) and started again on the same port;
4. once every recording has ended and every callback was delivered or given up, the receiver is
   stopped and :mod:`recording_toolkit.backfill` fetches the recordings whose callbacks never
   came from the Recording list API;
5. the log is loaded and summarised, and checked against the sandbox's own ground truth.

It passes only if every check of :func:`check_soak` holds: every recording the client saw start
is in the log (received, or backfilled and marked so), no callback is stored twice, every
callback the receiver acknowledged with a 2xx is in the log, the summary's counts equal the
sandbox's, no 5 seconds saw more than 300 API requests arrive at the sandbox, and the auth token
appears in no file the run wrote. The figures (recordings, retries, duplicates, backfilled, wall
time) are printed either way. ``tests/test_soak.py`` runs a short form of it.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from .sandbox import Faults, Sandbox, Timing

__all__ = [
    "CALLBACK_RETRY",
    "SOAK_FAULTS",
    "Check",
    "SoakReport",
    "SoakSettings",
    "acknowledged",
    "check_soak",
    "cut_off",
    "delivery_lag_s",
    "expected_summary",
    "main",
    "max_in_window",
    "run_soak",
    "scan_log",
]

#: The issue's fault mix. Statuses are drawn evenly from the tuple, so five 503s and two 429s
#: in it at a 7% error rate give 5% 503 and 2% 429.
SOAK_FAULTS = Faults(api_error_rate=0.07, api_error_statuses=(503,) * 5 + (429,) * 2,
                     retry_after_s=1, drop_rate=0.05, duplicate_rate=0.10, delay_rate=0.10,
                     delay_s=(60.0, 1800.0))
#: Plivo's callback-retry fragment on the soak's callback URLs: five retries, on connection
#: failures, read failures and 5xx, so deliveries ride out a receiver restart.
CALLBACK_RETRY = "#ct=1000&rt=10000&rc=5&rp=ct,rt,5xx"
#: Plivo's documented limit: 300 requests in any 5 seconds.
RATE_LIMIT = (300, 5.0)


@dataclass(frozen=True)
class SoakSettings:
    """What one soak does.

    Attributes
    ----------
    count
        Recordings started in bulk (each with transcription).
    kills
        Times the receiver is killed with SIGKILL (and started again) while callbacks stream.
    seed
        Seeds the sandbox: ids, durations, transcripts, every fault.
    duration
        The wall-clock budget in seconds; the run fails if it takes longer.
    time_scale
        Sandbox seconds per real second (recordings last up to 6 simulated hours).
    retry_gap_s
        Real seconds before the sandbox's first callback retry (retry *n* after *n* gaps).
    concurrency
        Bulk-start worker threads.
    workdir
        Where the run writes (log, journal, outputs); default a temporary folder.
    progress
        Progress bars for the bulk start and the backfill.
    auth_token
        The sandbox account's token (default: generated); never shown in a repr.
    """

    count: int = 5000
    kills: int = 2
    seed: int = 0
    duration: float = 900.0
    time_scale: float = 600.0
    retry_gap_s: float = 0.5
    concurrency: int = 20
    workdir: Path | None = None
    progress: bool = False
    auth_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.count < 1 or self.kills < 0 or self.duration <= 0 or self.time_scale <= 0:
            raise ValueError("count must be >= 1, kills >= 0, duration and time_scale > 0")


@dataclass(frozen=True)
class Check:
    """One pass/fail condition and what was found."""

    name: str
    passed: bool
    detail: str


@dataclass
class SoakReport:
    """The figures and checks of one soak."""

    settings: SoakSettings
    figures: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    workdir: Path | None = None

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "figures": self.figures,
                "checks": [{"name": c.name, "passed": c.passed, "detail": c.detail}
                           for c in self.checks],
                "workdir": None if self.workdir is None else os.fspath(self.workdir)}

    def to_text(self) -> str:
        width = max((len(k) for k in self.figures), default=10)
        lines = ["soak figures:"]
        lines += [f"  {k:<{width}}  {v}" for k, v in self.figures.items()]
        lines.append("checks:")
        lines += [f"  [{'PASS' if c.passed else 'FAIL'}] {c.name}: {c.detail}" for c in self.checks]
        lines.append(f"soak {'PASSED' if self.passed else 'FAILED'}")
        return "\n".join(lines)


# -- the receiver in a subprocess ------------------------------------------------------------

class ReceiverProcess:
    """``recording-toolkit receive`` on 127.0.0.1 in a subprocess; output to files."""

    def __init__(self, log_dir: Path, token: str, out_dir: Path, number: int, *,
                 port: int = 0, timeout: float = 60.0) -> None:
        self.out = out_dir / f"receiver-{number}.out"
        self.err = out_dir / f"receiver-{number}.err"
        env = {**os.environ, "PLIVO_AUTH_TOKEN": token}  # never on the command line
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "recording_toolkit", "receive", "--host", "127.0.0.1",
                 "--port", str(port), "--log-dir", os.fspath(log_dir)],
                env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        self.url = self._wait_for_url(timeout)
        self.port = int(self.url.rsplit(":", 1)[1])

    def _wait_for_url(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.out.read_text(errors="replace").splitlines():
                if "listening on " in line:
                    return line.split("listening on ", 1)[1].strip()
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.kill9()
        raise RuntimeError(f"the receiver did not start: {self.err.read_text()[-2000:]}")

    def kill9(self) -> int:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        return self.proc.wait(30)

    def terminate(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return self.kill9()


class _Receivers:
    """The current receiver process, killed and restarted on the same port on demand."""

    def __init__(self, log_dir: Path, token: str, out_dir: Path) -> None:
        self._args = (log_dir, token, out_dir)
        self.started = 1
        self.current = ReceiverProcess(*self._args, 1)
        self.port = self.current.port
        self.kill_codes: list[int] = []
        self.restart_s: list[float] = []
        self.error: BaseException | None = None

    def kill_and_restart(self) -> None:
        began = time.monotonic()
        self.kill_codes.append(self.current.kill9())
        self.started += 1
        self.current = ReceiverProcess(*self._args, self.started, port=self.port)
        self.restart_s.append(time.monotonic() - began)


# -- checks (pure) -----------------------------------------------------------------------------

def max_in_window(times: Sequence[float], window: float) -> int:
    """The most ``times`` (ascending) in any half-open window of ``window`` seconds.

    >>> max_in_window([0.0, 1.0, 4.9, 5.0, 5.5], 5.0)
    4
    >>> max_in_window([], 5.0)
    0
    """
    best, first = 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] >= window:
            first += 1
        best = max(best, last - first + 1)
    return best


def scan_log(log_dir: Path, pattern: str = "*.jsonl"
             ) -> tuple[collections.Counter[tuple[str, str]], int]:
    """How often each (event, recording_id) is stored in the log files matching ``pattern``
    (callback and backfill files), and how many lines could not be read (a torn last line of
    a killed writer)."""
    stored: collections.Counter[tuple[str, str]] = collections.Counter()
    unreadable = 0
    paths = [p for p in sorted(log_dir.glob(pattern))
             if p.name.startswith(("callbacks-", "backfill-"))]
    for path in paths:
        for raw in path.read_bytes().splitlines():
            try:
                line = json.loads(raw)
                stored[(line["event"], line["payload"]["recording_id"])] += 1
            except (ValueError, KeyError, TypeError):
                unreadable += 1
    return stored, unreadable


def acknowledged(plan: Any) -> bool:
    """Some delivery of this callback was answered with a 2xx."""
    return any(200 <= a.get("status", 0) < 300 for d in plan.deliveries for a in d.attempts)


def cut_off(plan: Any) -> bool:
    """Some attempt reached the receiver but its answer never came (the receiver was killed
    mid-request): the receiver may have stored it without acknowledging it."""
    return any(str(a.get("error", "")).startswith("read:")
               for d in plan.deliveries for a in d.attempts)


def _round(value: float) -> float:
    return round(float(value), 6)


def expected_summary(recordings: Iterable[Mapping[str, Any]],
                     transcriptions: Iterable[Mapping[str, str]]) -> dict[str, Any]:
    """The summary figures the sandbox's ground truth implies (``report`` key names).

    ``recordings``: the ground truth's ``recording_details`` (all ended); ``transcriptions``:
    the fields of every transcription callback that was acknowledged with a 2xx.

    >>> expected_summary([{"recording_id": "a", "conference_name": "c", "file_format": "mp3",
    ...                    "duration_ms": 90_000}],
    ...                  [{"recording_id": "a", "error": "", "transcription_charge": "0.1"}]
    ...                  )["recordings.billed_minutes"]
    2
    """
    import pandas as pd

    rows = list(recordings)
    ms = pd.Series([r["duration_ms"] for r in rows], dtype="float64")
    seconds = ms / 1000
    formats = collections.Counter(r["file_format"] for r in rows)
    texts = list(transcriptions)
    errors = collections.Counter(t["error"] for t in texts if t["error"])
    succeeded = sum(1 for t in texts if not t["error"])
    charge = sum((Decimal(t["transcription_charge"]) for t in texts), Decimal(0))
    count = len(rows)
    return {
        "recordings.count": count,
        "recordings.conferences": len({r["conference_name"] for r in rows}),
        "recordings.total_minutes": _round(ms.sum() / 60000),
        "recordings.billed_minutes": int(sum(max(1, math.ceil(v / 60000)) for v in ms)),
        "recordings.duration_seconds.mean": _round(seconds.mean()),
        "recordings.duration_seconds.median": _round(seconds.median()),
        "recordings.duration_seconds.p95": _round(seconds.quantile(0.95)),
        "recordings.duration_seconds.max": _round(seconds.max()),
        "recordings.by_format.mp3": formats.get("mp3", 0),
        "recordings.by_format.wav": formats.get("wav", 0),
        "transcriptions.received": len(texts),
        "transcriptions.succeeded": succeeded,
        "transcriptions.failed": len(texts) - succeeded,
        "transcriptions.success_rate": _round(succeeded / len(texts)) if texts else None,
        "transcriptions.coverage": _round(succeeded / count) if count else None,
        "transcriptions.charge_total": _round(charge),
        "transcriptions.errors": dict(sorted(errors.items())),
    }


def _lookup(summary: Mapping[str, Any], dotted: str) -> Any:
    """``summary["a"]["b"]`` for ``"a.b"``, or ``summary["a.b"]`` in a flat summary."""
    if dotted in summary:
        return summary[dotted]
    value: Any = summary
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise KeyError(dotted)
        value = value[part]
    return value


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(expected, float) and isinstance(actual, int | float):
        return math.isclose(actual, expected, rel_tol=0, abs_tol=2e-6)
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        return dict(actual) == dict(expected)
    return actual == expected and type(actual) is not bool


def compare_summary(summary: Mapping[str, Any], expected: Mapping[str, Any]) -> list[str]:
    """Each key where ``summary`` differs from ``expected``, as ``key: got X, expected Y``."""
    problems = []
    for key, want in expected.items():
        try:
            got = _lookup(summary, key)
        except KeyError:
            problems.append(f"{key}: missing from the summary")
            continue
        if not _same(got, want):
            problems.append(f"{key}: got {got!r}, expected {want!r}")
    return problems


def _files_containing(folder: Path, secret: bytes) -> list[str]:
    return sorted(os.fspath(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.is_file() and secret in p.read_bytes())


def check_soak(*, started_ids: set[str], present: Mapping[str, bool], written: set[str],
               stored: Mapping[tuple[str, str], int], received: Mapping[tuple[str, str], int],
               plans: Sequence[Any], summary: Mapping[str, Any] | None,
               expected: Mapping[str, Any], request_times: Sequence[float], workdir: Path,
               token: str, sandbox_started: int) -> list[Check]:
    """Every pass/fail condition of the soak, from what the run collected.

    ``present`` maps each loaded recording id to its ``backfilled`` flag; ``written`` is what
    the backfill wrote; ``stored`` counts (event, recording_id) over the callback and backfill
    files, ``received`` over the callback files alone; ``plans`` are the sandbox's callbacks.
    """
    checks = []
    unaccounted = sorted(started_ids - set(present))
    marked = {rid for rid, backfilled in present.items() if backfilled}
    checks.append(Check(
        "every started recording accounted for",
        not unaccounted and marked == written and sandbox_started == len(started_ids),
        f"{len(started_ids)} started per the journal ({sandbox_started} per the sandbox),"
        f" {len(set(present) & started_ids) - len(marked)} received, {len(marked)} backfilled"
        f" and marked ({len(written)} written by the backfill), {len(unaccounted)} missing"
        + (f" e.g. {unaccounted[:3]}" if unaccounted else "")))
    twice = sorted(key for key, n in stored.items() if n > 1)
    checks.append(Check("no callback stored twice", not twice,
                        f"{sum(stored.values())} lines, {len(twice)} stored more than once"
                        + (f" e.g. {twice[:3]}" if twice else "")))
    acked = {(p.kind, p.recording_id) for p in plans if acknowledged(p)}
    interrupted = {(p.kind, p.recording_id) for p in plans if cut_off(p)}
    lost = sorted(key for key in acked if received.get(key, 0) == 0)
    unexplained = sorted(key for key in received if key not in acked | interrupted)
    detail = (f"{len(acked)} callbacks acknowledged, {len(lost)} not in the log"
              + (f" e.g. {lost[:3]}" if lost else "")
              + f"; {len(set(received) - acked)} stored without a 2xx")
    if unexplained:
        detail += f", {len(unexplained)} of them unexplained, e.g. {unexplained[:3]}"
    else:
        detail += ", each with an answer cut off by a kill"
    checks.append(Check("every 2xx-acknowledged callback in the log",
                        not lost and not unexplained, detail))
    if summary is None:
        checks.append(Check("summary counts equal the sandbox's ground truth", False,
                            "no summary (report.summarize is not available)"))
    else:
        problems = compare_summary(summary, expected)
        checks.append(Check("summary counts equal the sandbox's ground truth", not problems,
                            f"{len(expected)} figures compared"
                            + (f"; {len(problems)} differ: {'; '.join(problems[:5])}"
                               if problems else ", all equal")))
    limit, window = RATE_LIMIT
    peak = max_in_window(sorted(request_times), window)
    checks.append(Check(f"no more than {limit} API requests in any {window:g} s", peak <= limit,
                        f"{len(request_times)} requests, at most {peak} in {window:g} s"
                        " (the sandbox's arrival times)"))
    leaking = _files_containing(workdir, token.encode())
    checks.append(Check("auth token in no output", not leaking,
                        f"{sum(1 for p in workdir.rglob('*') if p.is_file())} files searched"
                        + (f"; found in {leaking}" if leaking else "")))
    return checks


# -- the run ------------------------------------------------------------------------------------

def _kill_on_progress(sandbox: Sandbox, receivers: _Receivers, settings: SoakSettings,
                      stop: threading.Event) -> None:
    """Kill (and restart) the receiver each time another share of the callbacks arrived."""
    expected = 2 * settings.count * (1 - SOAK_FAULTS.drop_rate)
    try:
        for number in range(1, settings.kills + 1):
            threshold = expected * number / (settings.kills + 1)
            while not stop.is_set():
                counts = sandbox.core.dispatcher.counts()
                if sum(c["delivered"] for c in counts.values()) >= threshold:
                    break
                stop.wait(0.2)
            if stop.is_set():
                return
            receivers.kill_and_restart()
    except BaseException as exc:  # noqa: BLE001 - reported by the run
        receivers.error = exc


def _items(count: int) -> list[dict[str, str]]:
    return [{"conference_name": f"soak room {i % 500:03d}",
             "file_format": "wav" if i % 4 == 3 else "mp3"} for i in range(count)]


def _attempt_counts(plans: Sequence[Any]) -> dict[str, int]:
    attempts = [a for p in plans for d in p.deliveries for a in d.attempts]
    deliveries = sum(len(p.deliveries) for p in plans)
    ok = sum(1 for a in attempts if 200 <= a.get("status", 0) < 300)
    delivered = sum(1 for p in plans if p.status == "delivered")
    return {"attempts": len(attempts), "retries": len(attempts) - deliveries,
            "acknowledged": ok, "delivered": delivered, "duplicates": ok - delivered}


def delivery_lag_s(plans: Sequence[Any], time_scale: float) -> tuple[float, float]:
    """Median and largest real seconds from a delivery's due time to its first attempt: how far
    the sandbox's dispatcher fell behind (on a busy machine it cannot keep up with sandbox time,
    and Plivo's 55 s total timeout then gives up some deliveries that waited in its queue)."""
    import statistics

    lags = [(d.attempts[0]["sent_ms"] - d.due_ms) / 1000 / time_scale
            for p in plans for d in p.deliveries if d.attempts]
    if not lags:
        return 0.0, 0.0
    return statistics.median(lags), max(lags)


def run_soak(settings: SoakSettings | None = None) -> SoakReport:
    """Run the soak (see the module docstring); returns its figures and checks."""
    from .backfill import backfill_recordings, missing_recordings
    from .client import RecordingClient
    from .load import load_callbacks, load_journal

    settings = settings or SoakSettings()
    began = time.monotonic()
    deadline = began + settings.duration
    workdir = Path(settings.workdir or tempfile.mkdtemp(prefix="recording-toolkit-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    log_dir, journal_path = workdir / "callbacks", workdir / "journal.jsonl"
    report = SoakReport(settings, workdir=workdir)
    figures = report.figures
    timing = Timing(retry_delay_s=settings.retry_gap_s * settings.time_scale)
    sandbox = Sandbox(seed=settings.seed, time_scale=settings.time_scale, faults=SOAK_FAULTS,
                      timing=timing, auth_token=settings.auth_token)
    token = sandbox.auth_token
    stop = threading.Event()
    receivers: _Receivers | None = None
    killer: threading.Thread | None = None
    with sandbox:
        sandbox_began = sandbox.now()
        try:
            receivers = _Receivers(log_dir, token, workdir)
            base = f"http://127.0.0.1:{receivers.port}"
            client = RecordingClient(sandbox.auth_id, token, base_url=sandbox.base_url,
                                     journal=journal_path, max_retries=6)
            with client:
                killer = threading.Thread(target=_kill_on_progress, name="soak-killer",
                                          args=(sandbox, receivers, settings, stop), daemon=True)
                killer.start()
                phase = time.monotonic()
                bulk = client.start_recordings(
                    _items(settings.count), concurrency=settings.concurrency,
                    progress=settings.progress, transcription_type="auto",
                    transcription_url=f"{base}/callbacks/transcription{CALLBACK_RETRY}",
                    callback_url=f"{base}/callbacks/recording{CALLBACK_RETRY}")
                figures["start phase s"] = round(time.monotonic() - phase, 1)
                killer.join(max(0.0, deadline - time.monotonic()))
                stop.set()
                if receivers.error is not None:
                    raise RuntimeError(f"restarting the receiver failed: {receivers.error}")
                phase = time.monotonic()
                # poll rather than wait: the sandbox re-checks idleness on every delivery, which
                # costs the dispatcher CPU time it needs for the deliveries themselves
                while not (idle := sandbox.wait_idle(0.0, recordings=True)):
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.5)
                figures["drain phase s"] = round(time.monotonic() - phase, 1)
                exit_code = receivers.current.terminate()
                phase = time.monotonic()
                missing = missing_recordings(log_dir, journal_path)
                result = backfill_recordings(
                    client, log_dir, missing, since=sandbox_began - timedelta(minutes=1),
                    until=sandbox.now() + timedelta(hours=1), progress=settings.progress)
                figures["backfill phase s"] = round(time.monotonic() - phase, 1)
            truth = sandbox.ground_truth()
            plans = sandbox.core.dispatcher.plans()
            request_times = sandbox.core.api_faults.request_times()
        finally:
            stop.set()
            if killer is not None:
                killer.join(30)
            if receivers is not None:
                receivers.current.terminate()
    phase = time.monotonic()
    loaded = load_callbacks(log_dir, progress=False)
    journal = load_journal(journal_path)
    summary = _summarize(loaded, journal)
    (workdir / "summary.json").write_text(json.dumps(summary, indent=1, default=str)
                                          if summary is not None else "null")
    figures["load + summary s"] = round(time.monotonic() - phase, 1)
    starts = journal[journal["action"] == "start"]
    started_ids = set(starts.loc[starts["ok"].fillna(False).astype(bool),
                                 "recording_id"].dropna().astype(str))
    stored, unreadable = scan_log(log_dir)
    received, _ = scan_log(log_dir, "callbacks-*.jsonl")
    # transcriptions in the log: those acknowledged, and those the receiver stored but could not
    # acknowledge before it was killed (their attempt's answer was cut off)
    stored_unacknowledged = [p for p in plans if not acknowledged(p) and cut_off(p)
                             and received.get((p.kind, p.recording_id))]
    unacknowledged_keys = {(p.kind, p.recording_id) for p in stored_unacknowledged}
    logged_texts = [p.fields for p in plans if p.kind == "transcription"
                    and (acknowledged(p) or (p.kind, p.recording_id) in unacknowledged_keys)]
    expected = expected_summary(truth["recording_details"], logged_texts)
    recording_plans = [p for p in plans if p.kind == "recording"]
    transcription_plans = [p for p in plans if p.kind == "transcription"]
    attempts = _attempt_counts(plans)
    api = truth["api"]
    figures.update({
        "recordings started": len(started_ids),
        "bulk rows not ok": int((~bulk["ok"].astype(bool)).sum()),
        "API requests (sandbox)": len(request_times),
        "API faults injected": api["injected"],
        "start retries (journal)": int(starts["attempts"].sum() - len(starts)),
        "callbacks planned": len(plans),
        "callbacks dropped (sandbox)": sum(p.dropped for p in plans),
        "recording callbacks dropped (sandbox)": sum(p.dropped for p in recording_plans),
        "callbacks duplicated (sandbox)": sum(p.duplicated for p in plans),
        "callbacks delayed (sandbox)": sum(p.delayed_ms > 0 for p in plans),
        "delivery attempts": attempts["attempts"],
        "delivery retries": attempts["retries"],
        "duplicates suppressed": attempts["duplicates"],
        "stored, answer cut off by a kill": len(stored_unacknowledged),
        "delivery lag s (median, max)": [round(v, 2) for v in delivery_lag_s(
            plans, settings.time_scale)],
        "recording callbacks given up": sum(p.status == "given_up" for p in recording_plans),
        "transcription callbacks given up": sum(p.status == "given_up"
                                                for p in transcription_plans),
        "receiver kills (SIGKILL)": len(receivers.kill_codes) if receivers else 0,
        "receiver restart s": [round(s, 2) for s in receivers.restart_s] if receivers else [],
        "unreadable log lines (torn)": unreadable,
        "quarantined by the loader": loaded.stats.quarantined,
        "duplicates dropped by the loader": loaded.stats.duplicates,
        "backfilled": len(result.written),
        "backfill not found": len(result.not_found),
        "peak API requests in 5 s": max_in_window(sorted(request_times), RATE_LIMIT[1]),
    })
    present = dict(zip(loaded.recordings["recording_id"].astype(str),
                       loaded.recordings["backfilled"].astype(bool), strict=True))
    # the counts, and every callback the sandbox gave up on with each of its attempts
    given_up = [p.to_dict() for p in plans if p.status == "given_up"]
    (workdir / "ground_truth.json").write_text(json.dumps(
        {**{k: v for k, v in truth.items() if not k.endswith("_details")},
         "given_up_details": given_up}, indent=1))
    checks = check_soak(started_ids=started_ids, present=present, written=set(result.written),
                        stored=stored, received=received, plans=plans, summary=summary, expected=expected,
                        request_times=request_times, workdir=workdir, token=token,
                        sandbox_started=truth["recordings"]["started"])
    kills_ok = (receivers is not None and len(receivers.kill_codes) == settings.kills
                and all(code == -signal.SIGKILL for code in receivers.kill_codes))
    checks.append(Check("receiver killed with SIGKILL and restarted", kills_ok,
                        f"{len(receivers.kill_codes) if receivers else 0} of {settings.kills}"
                        f" kills; the last receiver exited {exit_code} on SIGTERM"))
    wall = time.monotonic() - began
    figures["wall time s"] = round(wall, 1)
    checks.append(Check("finished within the time budget", idle and wall <= settings.duration,
                        f"{wall:.1f} s of {settings.duration:g} s; sandbox idle: {idle}"))
    report.checks = checks
    return report


def _summarize(loaded: Any, journal: Any) -> dict[str, Any] | None:
    try:
        from .report import summarize
    except ImportError:
        return None
    return summarize(loaded, journal=journal).to_dict()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m recording_toolkit.soak``: run, print the figures and checks, exit 0 on pass."""
    parser = argparse.ArgumentParser(prog="python -m recording_toolkit.soak",
                                     description=__doc__.split("\n\n")[0])
    defaults = SoakSettings()
    parser.add_argument("--count", type=int, default=defaults.count,
                        help="recordings to start (default: %(default)s)")
    parser.add_argument("--duration", type=float, default=defaults.duration,
                        help="wall-clock budget in seconds (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=defaults.seed,
                        help="sandbox seed (default: %(default)s)")
    parser.add_argument("--kills", type=int, default=defaults.kills,
                        help="receiver SIGKILLs during the run (default: %(default)s)")
    parser.add_argument("--time-scale", type=float, default=defaults.time_scale,
                        help="sandbox seconds per real second (default: %(default)s)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the run's files here (default: a temporary folder, removed"
                             " after a passing run)")
    parser.add_argument("--progress", action="store_true", help="show progress bars")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    settings = SoakSettings(count=args.count, kills=args.kills, seed=args.seed,
                            duration=args.duration, time_scale=args.time_scale,
                            workdir=args.workdir, progress=args.progress)
    report = run_soak(settings)
    print(json.dumps(report.to_dict(), indent=1, default=str) if args.json else report.to_text())
    if report.workdir is not None and args.workdir is None:
        if report.passed:
            shutil.rmtree(report.workdir, ignore_errors=True)
        else:
            print(f"the run's files are kept in {report.workdir}", file=sys.stderr)
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
