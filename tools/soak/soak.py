"""The end-to-end soak: the whole toolkit under a real account's misbehaviour, on loopback.

``python tools/soak/soak.py`` (``make soak``) runs, on 127.0.0.1 only and within a time budget:

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

It passes only if every check of :func:`soak_checks.check_soak` holds:
every recording the client saw start is in the log (received, or backfilled and marked so), no
callback is stored twice, every callback the receiver acknowledged with a 2xx is in the log, the
summary's counts equal the sandbox's, no 5 seconds saw more than 300 API requests arrive at the
sandbox, and the auth token appears in no file the run wrote. The figures (recordings, retries,
duplicates, backfilled, wall time) are printed either way. ``tests/test_soak.py`` runs a short
form of it.

It lives beside the package, not in it: it serves ``make soak`` and the tests, not the toolkit's
users, so the wheel does not ship it. Run as a script, this folder is on ``sys.path`` (hence the
plain ``soak_checks`` import); the tests get it from ``pythonpath`` in ``pyproject.toml``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from soak_checks import (
    RATE_LIMIT,
    Check,
    acknowledged,
    attempt_counts,
    check_soak,
    cut_off,
    delivery_lag_s,
    expected_summary,
    max_in_window,
    scan_log,
)

from recording_toolkit.sandbox import Faults, Sandbox, Timing

__all__ = [
    "CALLBACK_RETRY",
    "SOAK_FAULTS",
    "Check",
    "SoakReport",
    "SoakSettings",
    "main",
    "run_soak",
]

#: The issue's fault mix. Statuses are drawn evenly from the tuple, so five 503s and two 429s
#: in it at a 7% error rate give 5% 503 and 2% 429.
SOAK_FAULTS = Faults(api_error_rate=0.07, api_error_statuses=(503,) * 5 + (429,) * 2,
                     retry_after_s=1, drop_rate=0.05, duplicate_rate=0.10, delay_rate=0.10,
                     delay_s=(60.0, 1800.0))
#: Plivo's callback-retry fragment on the soak's callback URLs: five retries, on connection
#: failures, read failures and 5xx, so deliveries ride out a receiver restart.
CALLBACK_RETRY = "#ct=1000&rt=10000&rc=5&rp=ct,rt,5xx"


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
        The wall-clock budget in seconds; the run fails if it takes longer. Default
        (:attr:`budget_s`): 900 s, or 0.04 s per recording when that is more, since Plivo's
        rate limit alone spaces the starts 1/60 s apart.
    time_scale
        Sandbox seconds per real second (recordings last up to 6 simulated hours).
    retry_gap_s
        Real seconds before the sandbox's first callback retry (retry *n* after *n* gaps).
    concurrency
        Bulk-start worker threads.
    callback_concurrency
        Callback deliveries the sandbox has in flight at once.
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
    duration: float | None = None
    time_scale: float = 600.0
    retry_gap_s: float = 0.5
    concurrency: int = 20
    callback_concurrency: int = 64
    workdir: Path | None = None
    progress: bool = False
    auth_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if (self.count < 1 or self.kills < 0 or self.time_scale <= 0
                or (self.duration is not None and self.duration <= 0)):
            raise ValueError("count must be >= 1, kills >= 0, duration and time_scale > 0")

    @property
    def budget_s(self) -> float:
        """The wall-clock budget in seconds (see ``duration``)."""
        return self.duration if self.duration is not None else max(900.0, 0.04 * self.count)



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


# -- the run ------------------------------------------------------------------------------------

def _kill_on_progress(sandbox: Sandbox, receivers: _Receivers, settings: SoakSettings,
                      stop: threading.Event) -> None:
    """Kill (and restart) the receiver each time another share of the callbacks arrived."""
    expected = 2 * settings.count * (1 - SOAK_FAULTS.drop_rate)
    try:
        for number in range(1, settings.kills + 1):
            threshold = expected * number / (settings.kills + 1)
            while not stop.is_set():
                if sandbox.core.dispatcher.delivered() >= threshold:
                    break
                stop.wait(0.5)
            if stop.is_set():
                return
            receivers.kill_and_restart()
    except BaseException as exc:  # noqa: BLE001 - reported by the run
        receivers.error = exc


def _items(count: int) -> list[dict[str, str]]:
    return [{"conference_name": f"soak room {i % 500:03d}",
             "file_format": "wav" if i % 4 == 3 else "mp3"} for i in range(count)]


def run_soak(settings: SoakSettings | None = None) -> SoakReport:
    """Run the soak (see the module docstring); returns its figures and checks."""
    from recording_toolkit.backfill import backfill_recordings, missing_recordings
    from recording_toolkit.client import RecordingClient
    from recording_toolkit.load import load_callbacks, load_journal

    settings = settings or SoakSettings()
    began = time.monotonic()
    deadline = began + settings.budget_s
    workdir = Path(settings.workdir or tempfile.mkdtemp(prefix="recording-toolkit-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    log_dir, journal_path = workdir / "callbacks", workdir / "journal.jsonl"
    report = SoakReport(settings, workdir=workdir)
    figures = report.figures
    timing = Timing(retry_delay_s=settings.retry_gap_s * settings.time_scale)
    sandbox = Sandbox(seed=settings.seed, time_scale=settings.time_scale, faults=SOAK_FAULTS,
                      timing=timing, auth_token=settings.auth_token,
                      max_concurrent_callbacks=settings.callback_concurrency)
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
    attempts = attempt_counts(plans)
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
    checks.append(Check("finished within the time budget", idle and wall <= settings.budget_s,
                        f"{wall:.1f} s of {settings.budget_s:g} s; sandbox idle: {idle}"))
    report.checks = checks
    return report


def _summarize(loaded: Any, journal: Any) -> dict[str, Any] | None:
    try:
        from recording_toolkit.report import summarize
    except ImportError:
        return None
    return summarize(loaded, journal=journal).to_dict()


def main(argv: Sequence[str] | None = None) -> int:
    """``python tools/soak/soak.py``: run, print the figures and checks, exit 0 on pass."""
    parser = argparse.ArgumentParser(prog="tools/soak/soak.py",
                                     description=__doc__.split("\n\n")[0])
    defaults = SoakSettings()
    parser.add_argument("--count", type=int, default=defaults.count,
                        help="recordings to start (default: %(default)s)")
    parser.add_argument("--duration", type=float, default=None,
                        help="wall-clock budget in seconds (default: 900, or 0.04 per"
                             " recording when that is more)")
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
