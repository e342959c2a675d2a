"""The soak's pass/fail checks and figures: pure functions over what a run collected.

Kept apart from :mod:`soak` (which starts processes, servers and clients) so
each condition can be tested on hand-built data, and so each is seen to be able to fail.
"""

from __future__ import annotations

import collections
import json
import math
import os
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, SupportsFloat

__all__ = [
    "RATE_LIMIT",
    "Check",
    "acknowledged",
    "attempt_counts",
    "check_soak",
    "compare_summary",
    "cut_off",
    "delivery_lag_s",
    "expected_summary",
    "max_in_window",
    "scan_log",
]

#: Plivo's documented limit: 300 requests in any 5 seconds.
RATE_LIMIT = (300, 5.0)


@dataclass(frozen=True)
class Check:
    """One pass/fail condition and what was found."""

    name: str
    passed: bool
    detail: str



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


def _round(value: SupportsFloat) -> float:
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
    explained = acked | interrupted  # once: built per key it made the check quadratic
    lost = sorted(key for key in acked if received.get(key, 0) == 0)
    unexplained = sorted(key for key in received if key not in explained)
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


def attempt_counts(plans: Sequence[Any]) -> dict[str, int]:
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
    lags = [(d.attempts[0]["sent_ms"] - d.due_ms) / 1000 / time_scale
            for p in plans for d in p.deliveries if d.attempts]
    if not lags:
        return 0.0, 0.0
    return statistics.median(lags), max(lags)
