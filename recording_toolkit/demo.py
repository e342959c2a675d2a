"""The end-to-end demo: the whole workflow on loopback, with no Plivo account.

:func:`run_demo` starts a :class:`~recording_toolkit.sandbox.Sandbox` and the toolkit's callback
receiver on 127.0.0.1, starts recordings across a few dozen conferences through the bulk client
(journal on), ends some meetings early and lets the rest run to their simulated end, waits for
every callback with a progress bar, loads the log, and writes ``summary.json`` and an HTML report
with charts. ``recording-toolkit demo`` and ``make demo`` run it.

Sandbox time is a :class:`~recording_toolkit.sandbox.ManualClock` that the demo moves from one
scheduled moment to the next (a meeting ending, a callback falling due), waiting at each until
the sandbox has delivered what fell due. A fortnight of meetings then takes seconds, yet every
callback reaches the receiver at its own due time, however long it took in real time, and the
receiver stamps ``received_at`` with the same clock: turnaround and delivery delays in the
report are the simulated ones (tens of seconds to minutes, as Plivo documents), not artefacts of
a busy machine.

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
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any, TextIO

from . import formatting as fmt
from .errors import ConfigurationError, PlivoAPIError, TransportError
from .receiver import CallbackReceiver
from .sandbox import Faults, ManualClock, Sandbox, to_ms

__all__ = ["DEFAULT_COUNT", "DemoResult", "demo_requests", "run_demo"]

DEFAULT_COUNT = 200
#: The demo's week: meetings start on these weekdays (Monday = 0) of the week before the run,
#: at these UTC hours, a slice of the recordings at each.
DEMO_DAYS = (0, 1, 2, 3, 4)
DEMO_HOURS = (9, 11, 14, 16)
#: Sandbox time after a slot's starts when some of its meetings end early (a stop request).
EARLY_STOP_AFTER_S = 20 * 60
#: Smallest step of the demo's clock: due moments closer than this are delivered together.
CLOCK_STEP_MS = 2000
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


def demo_schedule(count: int, *, today: date) -> list[tuple[datetime, slice]]:
    """When each slice of the ``count`` requests starts: the slots of :data:`DEMO_DAYS` x
    :data:`DEMO_HOURS` in the week before ``today``, empty slots left out.

    >>> [(at.strftime("%a %d %b %H:%M"), s) for at, s in demo_schedule(3, today=date(2026, 12, 2))]
    [('Tue 24 Nov 14:00', slice(0, 1, None)), ('Thu 26 Nov 11:00', slice(1, 2, None)), ('Fri 27 Nov 16:00', slice(2, 3, None))]
    >>> len(demo_schedule(200, today=date(2026, 12, 2)))  # every slot has some
    20
    """
    monday = today - timedelta(days=today.weekday() + 7)
    slots = [datetime.combine(monday + timedelta(days=d), dt_time(h), tzinfo=UTC)
             for d in DEMO_DAYS for h in DEMO_HOURS]
    bounds = [k * count // len(slots) for k in range(len(slots) + 1)]
    return [(at, slice(lo, hi)) for at, lo, hi in zip(slots, bounds, bounds[1:], strict=False)
            if hi > lo]


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
    #: The real-time budget (``timeout``) ran out before every recording was started and every
    #: callback had arrived: the meetings still running were ended, and the report covers what
    #: arrived by then.
    timed_out: bool = False
    timeout: float | None = None

    def shortfall(self) -> str | None:
        """What running out of time left undone, in one sentence; None when nothing was."""
        if not self.timed_out:
            return None
        limit = "" if self.timeout is None else f" (--timeout {self.timeout:g} s)"
        if self.started < self.requested:
            done = (f"only {self.started} of {self.requested} recordings were started; the"
                    " report covers those")
        else:
            done = (f"all {self.requested} recordings were started, but not every callback"
                    " arrived; the report covers those that did")
        return f"time ran out{limit}: {done}. Give a longer --timeout or a smaller --count"


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


class _DemoClock:
    """Moves the demo's :class:`ManualClock` from one scheduled moment to the next, waiting at
    each until the sandbox has delivered what fell due, with a progress bar of settled
    callbacks. Time is never jumped over a due moment, so nothing is delivered late."""

    def __init__(self, sandbox: Sandbox, clock: ManualClock, *, timeout: float,
                 progress: bool) -> None:
        from tqdm.auto import tqdm

        self.sandbox, self.clock = sandbox, clock
        self.deadline = time.monotonic() + timeout
        self.bar = tqdm(desc="callbacks", unit="cb", disable=not progress, leave=progress)
        self.started = 0

    def run(self, until_ms: int | None = None) -> bool:
        """Deliver everything due up to ``until_ms`` (None: until nothing is scheduled) and
        leave the clock there; False if the real-time budget ran out first."""
        while True:
            remaining = self.deadline - time.monotonic()
            idle = remaining > 0 and self.sandbox.wait_idle(remaining)
            self._show()
            if not idle:
                return False
            upcoming = self.sandbox.next_due()
            step = None if upcoming is None else max(to_ms(upcoming),
                                                      self.clock.now_ms() + CLOCK_STEP_MS)
            if until_ms is not None and (step is None or step > until_ms):
                self.clock.set(max(until_ms, self.clock.now_ms()))
                return True
            if step is None:
                return True
            self.clock.set(step)

    def _show(self) -> None:
        truth = self.sandbox.ground_truth(details=False)
        self.bar.total = truth["recordings"]["started"] + truth["recordings"]["with_transcription"]
        self.bar.set_postfix_str(f"{self.started} recordings started,"
                                 f" sandbox time {self.clock.now():%a %d %b %H:%M}", refresh=False)
        self.bar.update(max(0, min(_settled(truth), self.bar.total) - self.bar.n))

    def close(self) -> None:
        self._show()
        self.bar.close()


def run_demo(*, count: int = DEFAULT_COUNT, seed: int = 0, faults: Faults | str | None = None,
             out: str | os.PathLike[str] = "reports/demo", conferences: int | None = None,
             progress: bool = True, stream: TextIO | None = None,
             timeout: float = 120.0) -> DemoResult:
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
    progress
        Show progress bars.
    stream
        Where the readable summary goes (default stdout).
    timeout
        Real seconds to wait for recordings to end and callbacks to arrive before ending
        whatever is still recording. Running out is not an error here: the report is written
        for what arrived, and the result says so (``timed_out``, :meth:`DemoResult.shortfall`).
    """
    from .client import RecordingClient

    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ConfigurationError(f"count: {count!r} is not a whole number >= 1")
    if (isinstance(timeout, bool) or not isinstance(timeout, int | float)
            or not math.isfinite(timeout) or timeout <= 0):
        raise ConfigurationError(f"timeout: {timeout!r} is not a number of seconds > 0")
    if conferences is None:
        conferences = max(1, min(36, round(count / 6)))
    if not isinstance(conferences, int) or isinstance(conferences, bool) or conferences < 1:
        raise ConfigurationError(f"conferences: {conferences!r} is not a whole number >= 1")
    stream = stream or sys.stdout
    out_dir = Path(out)
    _prepare(out_dir)
    began = time.monotonic()
    log_dir, journal_path = out_dir / "callbacks", out_dir / "journal.jsonl"
    schedule = demo_schedule(count, today=datetime.now(UTC).date())
    clock = ManualClock(schedule[0][0])
    with Sandbox(seed=seed, clock=clock, faults=faults) as sandbox:
        # the receiver stamps received_at on the sandbox's clock, as the recordings' times are
        receiver = CallbackReceiver(log_dir, auth_token=sandbox.auth_token, instance_id="demo",
                                    clock=sandbox.now).start()
        try:
            items = demo_requests(count, seed=seed, conferences=conferences,
                                  recording_url=receiver.recording_callback_url + RETRY_FRAGMENT,
                                  transcription_url=receiver.transcription_callback_url)
            with RecordingClient(sandbox.auth_id, sandbox.auth_token, base_url=sandbox.base_url,
                                 journal=journal_path) as client:
                driver = _DemoClock(sandbox, clock, timeout=timeout, progress=progress)
                try:
                    started, finished = _play(client, sandbox, driver, items, schedule)
                    if not finished:
                        for name in {i["conference_name"] for i in items}:
                            sandbox.close_conference(name)  # out of time: end every meeting
                        sandbox.wait_idle(30)
                finally:
                    driver.close()
            truth = sandbox.ground_truth(details=False)
        finally:
            receiver.stop()
    summary_dict, files = _report(out_dir, sandbox, truth)
    result = DemoResult(out_dir=out_dir, summary=summary_dict, ground_truth=truth,
                        receiver_counts=receiver.counts, requested=count,
                        started=started, seconds=time.monotonic() - began,
                        files={"log_dir": log_dir, "journal": journal_path, **files},
                        timed_out=not finished, timeout=timeout)
    _print_summary(result, stream, currency=sandbox.config.rates.currency)
    return result


def _play(client: Any, sandbox: Sandbox, driver: _DemoClock, items: list[dict[str, str]],
          schedule: list[tuple[datetime, slice]]) -> tuple[int, bool]:
    """Start each slot's recordings at its time (some of its meetings end 20 minutes later),
    then let every recording run out; returns (recordings started, finished in time)."""
    started = 0
    for at, part in schedule:
        if not driver.run(to_ms(at)):
            return started, False
        batch = items[part]
        frame = client.start_recordings(batch, concurrency=10, progress=False)
        started += int(frame["ok"].sum())
        driver.started = started
        if not driver.run(to_ms(at) + EARLY_STOP_AFTER_S * 1000):
            return started, False
        names = list(dict.fromkeys(i["conference_name"] for i in batch))
        for name in names[: len(names) // 6]:  # meetings that end early
            _try_stop(client, name)
    return started, driver.run()


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
    journal_path = out_dir / "journal.jsonl"
    # no journal, or an empty one: nothing was started (load_journal refuses an empty journal)
    journal = load_journal(journal_path) if journal_path.exists() and journal_path.stat().st_size \
        else None
    summary = summarize(result, rates=sandbox.config.rates, journal=journal)
    files = {"summary": out_dir / "summary.json", "report": out_dir / "report.html",
             "ground_truth": out_dir / "ground_truth.json"}
    files["summary"].write_text(summary.to_json() + "\n", "utf-8")
    write_html(summary, files["report"])
    files["ground_truth"].write_text(json.dumps(truth, indent=2, sort_keys=True) + "\n", "utf-8")
    return summary.to_dict(), files


def _print_summary(result: DemoResult, stream: TextIO, *, currency: str) -> None:
    truth = result.ground_truth
    sent = truth["callbacks"]
    lines = [
        "",
        f"recording-toolkit demo: {result.started} of {result.requested} recordings started"
        f" in {result.seconds:.1f} s" + ("; time ran out" if result.timed_out else ""),
        *_summary_lines(result.summary, currency=currency),
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


def _summary_lines(summary: Mapping[str, Any], *, currency: str = "") -> list[str]:
    """The report's headline figures, readably (``summary`` is ``Summary.to_dict()``)."""
    source, rec, tx = summary["source"], summary["recordings"], summary["transcriptions"]
    seconds, turnaround = rec["duration_seconds"], tx["turnaround_seconds"]
    formats = ", ".join(f"{count:,} {name}" for name, count in rec["by_format"].items())
    errors = "; ".join(f"{count:,} x {text!r}" for text, count in tx["errors"].items()) or "none"

    charged = tx["charge_total"]
    minutes, percent = fmt.minutes, fmt.percent

    return [
        f"  log:           {fmt.counted(source['lines'], 'line')} in"
        f" {fmt.counted(source['files'], 'file')},"
        f" {source['duplicates']:,} duplicates dropped, {source['quarantined']:,} quarantined",
        f"  recordings:    {rec['count']:,} in {fmt.counted(rec['conferences'], 'conference')}"
        f" ({formats})",
        f"  minutes:       {fmt.number(rec['total_minutes'])} recorded,"
        f" {fmt.count(rec['billed_minutes'])}"
        " billed (whole minutes, at least one per recording)",
        f"  durations:     median {minutes(seconds['median'])}, p95 {minutes(seconds['p95'])},"
        f" longest {minutes(seconds['max'])}",
        f"  transcripts:   {tx['received']:,} received, {tx['succeeded']:,} succeeded,"
        f" {tx['failed']:,} failed (success rate {percent(tx['success_rate'])});"
        f" coverage {percent(tx['coverage'])} of recordings",
        f"  errors:        {errors}",
        f"  turnaround:    median {fmt.span(turnaround['median'])},"
        f" p95 {fmt.span(turnaround['p95'])} from recording end to transcript",
        f"  charged:       {fmt.money(charged, currency or 'USD')}"
        " for transcription",
    ]
