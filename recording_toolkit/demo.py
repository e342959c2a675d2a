"""The end-to-end demo: the whole workflow on loopback, with no Plivo account.

:func:`run_demo` starts a :class:`~recording_toolkit.sandbox.Sandbox` and the toolkit's callback
receiver on 127.0.0.1, starts recordings across a few dozen conferences through the bulk client
(journal on), ends some meetings early and lets the rest run to their simulated end, waits for
every callback with a progress bar, loads the log, and writes ``summary.json`` and an HTML report
with charts. ``recording-toolkit demo`` and ``make demo`` run it.

Sandbox time runs ``time_scale`` (default 3600) times faster than the wall clock, so hour-long
meetings end within seconds. The receiver stamps ``received_at`` with the sandbox's clock, so
delivery delays and transcription turnaround in the report are in the same (simulated) time as
the recordings' own timestamps.

The output folder holds::

    summary.json        report.summarize(...).to_json(): the figures the report shows
    report.html         the HTML report with its charts
    ground_truth.json   what the sandbox did (recordings, callbacks sent / dropped / duplicated)
    callbacks/          the callback log the receiver wrote
    journal.jsonl       the client's request journal
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ._server import BackgroundServer
from .callback_log import CallbackLog
from .errors import ConfigurationError, PlivoAPIError, TransportError
from .receiver import RECORDING_PATH, TRANSCRIPTION_PATH, ReceiverCounts, create_receiver_app
from .sandbox import Faults, Sandbox

__all__ = ["DEFAULT_COUNT", "DEMO_TIME_SCALE", "DemoResult", "demo_requests", "run_demo"]

DEFAULT_COUNT = 200
#: One simulated hour per real second: a fortnight's meetings end within seconds.
DEMO_TIME_SCALE = 3600.0
#: Retry settings on the demo's recording callback URL (Plivo's callback-retry fragment).
RETRY_FRAGMENT = "#ct=2000&rt=10000&rc=3&rp=ct,rt,5xx"
_MARKER = ".recording-toolkit-demo"
_OUTPUTS = ("summary.json", "report.html", "ground_truth.json", "journal.jsonl", "callbacks")

_DEPARTMENTS = ("sales", "eng", "support", "finance", "design", "marketing", "ops", "legal",
                "hr", "product")
_MEETINGS = ("standup", "weekly", "review", "planning", "sync", "calls", "retro", "all-hands")


def conference_names(count: int) -> list[str]:
    """``count`` distinct, readable conference names (``sales-standup``, ``eng-review``...).

    >>> conference_names(3)
    ['sales-standup', 'eng-weekly', 'support-review']
    """
    # pairing departments and meetings diagonally gives lcm(10, 8) = 40 distinct names
    cycle = math.lcm(len(_DEPARTMENTS), len(_MEETINGS))
    names = []
    for k in range(count):
        name = f"{_DEPARTMENTS[k % len(_DEPARTMENTS)]}-{_MEETINGS[k % len(_MEETINGS)]}"
        names.append(name if k < cycle else f"{name}-{k // cycle + 1}")
    return names


def demo_requests(count: int, *, seed: int, conferences: int, recording_url: str,
                  transcription_url: str) -> list[dict[str, str]]:
    """The demo's start requests: conferences in turn, ~30% wav, ~85% transcribed, ~20% GET.

    >>> items = demo_requests(4, seed=1, conferences=2, recording_url="http://r",
    ...                       transcription_url="http://t")
    >>> [i["conference_name"] for i in items]
    ['sales-standup', 'eng-weekly', 'sales-standup', 'eng-weekly']
    """
    rng = random.Random(seed)
    names = conference_names(conferences)
    items = []
    for index in range(count):
        item = {"conference_name": names[index % len(names)],
                "file_format": "wav" if rng.random() < 0.3 else "mp3",
                "callback_url": recording_url,
                "callback_method": "GET" if rng.random() < 0.2 else "POST"}
        if rng.random() < 0.85:
            item["transcription_type"] = "auto"
            item["transcription_url"] = transcription_url
        items.append(item)
    return items


@dataclass
class DemoResult:
    """What a demo run produced: the figures, the sandbox's own account of it, the files."""

    out_dir: Path
    summary: dict[str, Any]
    ground_truth: dict[str, Any]
    receiver_counts: dict[str, int]
    requested: int
    started: int
    seconds: float
    files: dict[str, Path] = field(default_factory=dict)


class _ClockedReceiver:
    """The toolkit's receiver app on loopback, its log stamped with the sandbox's clock."""

    def __init__(self, log_dir: Path, sandbox: Sandbox) -> None:
        self.counts = ReceiverCounts()
        self.log = CallbackLog(log_dir, instance_id="demo", clock=sandbox.now)
        try:
            self.app = create_receiver_app(self.log, auth_tokens=sandbox.auth_token,
                                           counts=self.counts)
            self.server = BackgroundServer(self.app, name="demo receiver").start()
        except BaseException:
            self.log.close()
            raise
        # it verifies signatures against the URL it hands out
        self.app.state.settings.public_url = self.server.url

    @property
    def recording_callback_url(self) -> str:
        return self.server.url + RECORDING_PATH + RETRY_FRAGMENT

    @property
    def transcription_callback_url(self) -> str:
        return self.server.url + TRANSCRIPTION_PATH

    def close(self) -> None:
        self.server.stop()
        self.log.close()


def _prepare(out: Path) -> None:
    """Make ``out`` ready, clearing a previous demo's files (only a demo folder's)."""
    if out.exists() and not out.is_dir():
        raise ConfigurationError(f"out: {os.fspath(out)!r} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / _MARKER).exists():
        raise ConfigurationError(
            f"out: {os.fspath(out)!r} is not empty and was not made by a demo; choose an empty"
            " or new folder")
    out.mkdir(parents=True, exist_ok=True)
    (out / _MARKER).write_text("made by recording-toolkit demo; its files are rewritten on the"
                               " next run\n", "utf-8")
    for name in _OUTPUTS:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


def _settled(truth: Mapping[str, Any]) -> int:
    return sum(c["delivered"] + c["given_up"] + c["dropped"] for c in truth["callbacks"].values())


def _wait(sandbox: Sandbox, *, timeout: float, progress: bool) -> bool:
    """Wait for every recording to end and every callback to be settled, with a progress bar."""
    from tqdm.auto import tqdm

    truth = sandbox.ground_truth(details=False)
    total = truth["recordings"]["started"] + truth["recordings"]["with_transcription"]
    deadline = time.monotonic() + timeout
    with tqdm(total=total, desc="callbacks", unit="cb", disable=not progress,
              leave=progress) as bar:
        while True:
            done = sandbox.wait_idle(0.25, recordings=True)
            settled = _settled(sandbox.ground_truth(details=False))
            bar.update(max(0, min(settled, total) - bar.n))
            if done or time.monotonic() > deadline:
                return done


def run_demo(*, count: int = DEFAULT_COUNT, seed: int = 0, faults: Faults | str | None = None,
             out: str | os.PathLike[str] = "reports/demo", conferences: int | None = None,
             time_scale: float = DEMO_TIME_SCALE, progress: bool = True,
             stream: TextIO | None = None, timeout: float = 120.0) -> DemoResult:
    """Run the whole workflow on loopback and write the report; see the module docstring.

    Parameters
    ----------
    count
        Recordings to start (default 200).
    seed
        Seeds the requests and the sandbox (ids, durations, transcripts, faults).
    faults
        Sandbox fault injection (:class:`~recording_toolkit.sandbox.Faults` or a spec such as
        ``"light"`` or ``"drop=0.05,duplicate=0.1"``); default none.
    out
        Output folder (created; a previous demo's files in it are replaced).
    conferences
        How many conferences the recordings are spread over (default: one per ~6 recordings,
        at most 36).
    time_scale
        Simulated seconds per real second.
    progress
        Show progress bars.
    stream
        Where the readable summary goes (default stdout).
    timeout
        Real seconds to wait for recordings to end and callbacks to arrive before stopping
        whatever is still recording.
    """
    from .client import RecordingClient

    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ConfigurationError(f"count: {count!r} is not a whole number >= 1")
    conferences = conferences or max(1, min(36, round(count / 6)))
    if not isinstance(conferences, int) or conferences < 1:
        raise ConfigurationError(f"conferences: {conferences!r} is not a whole number >= 1")
    stream = stream or sys.stdout
    out_dir = Path(out)
    _prepare(out_dir)
    began = time.monotonic()
    log_dir, journal_path = out_dir / "callbacks", out_dir / "journal.jsonl"
    with Sandbox(seed=seed, time_scale=time_scale, faults=faults) as sandbox:
        receiver = _ClockedReceiver(log_dir, sandbox)
        try:
            items = demo_requests(count, seed=seed, conferences=conferences,
                                  recording_url=receiver.recording_callback_url,
                                  transcription_url=receiver.transcription_callback_url)
            with RecordingClient(sandbox.auth_id, sandbox.auth_token, base_url=sandbox.base_url,
                                 journal=journal_path) as client:
                started = client.start_recordings(items, concurrency=10, progress=progress)
                names = list(dict.fromkeys(i["conference_name"] for i in items))
                for name in names[: max(1, len(names) // 6)]:  # meetings that end early
                    _try_stop(client, name)
                if not _wait(sandbox, timeout=timeout, progress=progress):
                    for name in names:
                        _try_stop(client, name)
                    sandbox.wait_idle(30)
            truth = sandbox.ground_truth(details=False)
        finally:
            receiver.close()
    summary_dict, files = _report(out_dir, sandbox, truth)
    result = DemoResult(out_dir=out_dir, summary=summary_dict, ground_truth=truth,
                        receiver_counts=receiver.counts.snapshot(), requested=count,
                        started=int(started["ok"].sum()), seconds=time.monotonic() - began,
                        files={"log_dir": log_dir, "journal": journal_path, **files})
    _print_summary(result, stream)
    return result


def _try_stop(client: Any, name: str) -> None:
    try:
        client.stop_recording(name)
    except (PlivoAPIError, TransportError):
        pass  # journalled; a fault-injected stop leaves the recording to end on its own


def _report(out_dir: Path, sandbox: Sandbox, truth: dict[str, Any]
            ) -> tuple[dict[str, Any], dict[str, Path]]:
    """Load the log and journal, write summary.json, report.html and ground_truth.json."""
    from .load import load_callbacks, load_journal
    from .report import summarize, write_html

    result = load_callbacks(out_dir / "callbacks", progress=False)
    journal = load_journal(out_dir / "journal.jsonl")
    summary = summarize(result, rates=sandbox.config.rates, journal=journal)
    files = {"summary": out_dir / "summary.json", "report": out_dir / "report.html",
             "ground_truth": out_dir / "ground_truth.json"}
    files["summary"].write_text(summary.to_json() + "\n", "utf-8")
    write_html(summary, files["report"])
    files["ground_truth"].write_text(json.dumps(truth, indent=2, sort_keys=True) + "\n", "utf-8")
    return summary.to_dict(), files


def _print_summary(result: DemoResult, stream: TextIO) -> None:
    truth = result.ground_truth
    sent = truth["callbacks"]
    lines = [
        "",
        f"recording-toolkit demo: {result.started} of {result.requested} recordings started"
        f" in {result.seconds:.1f} s",
        *_summary_lines(result.summary),
        f"  sandbox:       {sent['recording']['delivered']} recording and"
        f" {sent['transcription']['delivered']} transcription callbacks delivered,"
        f" {sent['recording']['dropped'] + sent['transcription']['dropped']} dropped,"
        f" {sent['recording']['duplicated'] + sent['transcription']['duplicated']} duplicated"
        " (fault injection)",
        f"  receiver:      {result.receiver_counts['recording']} recording and"
        f" {result.receiver_counts['transcription']} transcription callbacks stored,"
        f" {result.receiver_counts['duplicates']} duplicates answered",
        f"  written to:    {os.fspath(result.files.get('report', result.out_dir))}",
    ]
    print("\n".join(lines), file=stream, flush=True)


def _summary_lines(summary: Mapping[str, Any]) -> list[str]:
    """The headline figures of the report's summary, one per line."""
    return [f"  {key}: {value}" for key, value in summary.items()
            if not isinstance(value, dict | list)]
