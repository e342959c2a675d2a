"""Generate a callback log of N recording and transcription events, deterministically.

The lines are what the receiver writes (``docs/CONTRACTS.md``): one envelope per line, payload
values as text, in the order they were received. Each recording gets a transcription callback
a few minutes later (most succeed; some carry Plivo's error texts), about 0.5% of callbacks are
delivered twice (a later copy of the same payload), and about 0.1% of recordings are backfilled
from the Recording list API, whose numbers are decimal strings (``"345100.00000"``).

The default, 1,000,000 events, is about 450 MB. Output goes under ``benchmarks/_work/`` (not in
git). The same ``--n`` and ``--seed`` always give the same bytes.

Usage::

    .venv/bin/python benchmarks/gen_events.py [--n 1000000] [--seed 7] [--shards 1] [--out PATH]
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

WORK = Path(__file__).resolve().parent / "_work"
START = datetime(2026, 11, 1, tzinfo=UTC)
AUTH_ID = "MAXXXXXXXXXXXXXXXXXX"
WORDS = ("the quarterly numbers look good and we should ship the release on friday after the "
         "review with finance legal and the support team who asked about the new pricing page "
         "timeline budget roadmap customer escalation follow up action items next week").split()
ERRORS = ("Recording duration too long for transcription",
          "Recording file size too large for transcription")


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _stamp(us: int) -> str:
    moment = START + timedelta(microseconds=us)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _line(event: str, received_us: int, payload: dict[str, str], source: str) -> str:
    return (f'{{"event":"{event}","received_at":"{_stamp(received_us)}","verified":true,'
            f'"source":"{source}","payload":{json.dumps(payload, separators=(",", ":"))}}}\n')


def events(n: int, *, seed: int = 7, conferences: int = 5000) -> Iterator[str]:
    """Yield ``n`` log lines in order of ``received_at``."""
    rng = random.Random(seed)
    start_ms = int(START.timestamp() * 1000)
    pending: list[tuple[int, int, str]] = []  # (received_us, sequence, line): later callbacks
    sequence = 0
    clock_us = 0
    emitted = 0
    while emitted < n:
        clock_us += rng.randint(500_000, 4_000_000)  # the next recording ends
        while pending and pending[0][0] <= clock_us and emitted < n:
            yield heapq.heappop(pending)[2]
            emitted += 1
        if emitted >= n:
            break
        duration_ms = rng.choice((rng.randint(600, 60_000), rng.randint(60_000, 3_600_000),
                                  rng.randint(1_000, 600_000)))
        if rng.random() < 0.002:
            duration_ms = rng.randint(14_400_000, 20_000_000)  # over 4 h: not transcribable
        end_ms = start_ms + clock_us // 1000
        recording_id = _uuid(rng)
        backfilled = rng.random() < 0.001
        fmt = "mp3" if rng.random() < 0.8 else "wav"
        number = "{}.00000".format if backfilled else str
        payload = {
            "api_id": _uuid(rng),
            "record_url": f"https://media.plivo.com/v1/Account/{AUTH_ID}/Recording/"
                          f"{recording_id}.{fmt}",
            "recording_id": recording_id,
            "conference_name": f"conference-{rng.randrange(conferences):05d}",
            "recording_duration": number(round(duration_ms / 1000)),
            "recording_duration_ms": number(duration_ms),
            "recording_start_ms": number(end_ms - duration_ms),
            "recording_end_ms": number(end_ms),
        }
        received = clock_us + rng.randint(200_000, 3_000_000)
        source = "backfill" if backfilled else "callback"
        lines = [(received, _line("recording", received, payload, source))]
        if not backfilled:
            minutes = max(1, -(-duration_ms // 60_000))
            error = ERRORS[rng.randrange(2)] if duration_ms > 14_400_000 or rng.random() < 0.01 \
                else ""
            text = "" if error else " ".join(rng.choices(WORDS, k=rng.randint(8, 30)))
            transcription = {
                "transcription": text,
                "transcription_charge": "0" if error else f"{0.05 * minutes:.2f}",
                "transcription_rate": "0.05",
                "duration": str(round(duration_ms / 1000)),
                "call_uuid": _uuid(rng),
                "recording_id": recording_id,
                "error": error,
            }
            turnaround = rng.randint(30_000_000, 30 * 60_000_000)
            lines.append((received + turnaround,
                          _line("transcription", received + turnaround, transcription,
                                "callback")))
        for when, text in lines:
            sequence += 1
            heapq.heappush(pending, (when, sequence, text))
            if rng.random() < 0.005:  # a retried delivery stored twice
                again = when + rng.randint(1_000_000, 60_000_000)
                body = json.loads(text)
                sequence += 1
                heapq.heappush(pending, (again, sequence,
                                         _line(body["event"], again, body["payload"],
                                               body["source"])))
    # n reached: anything still pending is simply not written


def write(path: Path, n: int, *, seed: int = 7, shards: int = 1) -> list[Path]:
    """Write ``n`` events to ``path`` (or to ``shards`` files named ``{stem}-{i}{suffix}``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if shards <= 1:
        targets = [path]
    else:
        targets = [path.with_name(f"{path.stem}-{i:03d}{path.suffix}") for i in range(shards)]
    handles = [open(t, "w", encoding="utf-8", newline="\n") for t in targets]
    try:
        buffer: list[str] = []
        index = 0
        per_shard = -(-n // len(targets))
        for count, line in enumerate(events(n, seed=seed), 1):
            buffer.append(line)
            if len(buffer) >= 10_000 or count % per_shard == 0:
                handles[index].write("".join(buffer))
                buffer.clear()
            if count % per_shard == 0:
                index = min(index + 1, len(targets) - 1)
        handles[index].write("".join(buffer))
    finally:
        for handle in handles:
            handle.close()
    return targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="events to write")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--shards", type=int, default=1, help="split over this many files")
    parser.add_argument("--out", type=Path, default=None,
                        help="file to write (default benchmarks/_work/events-{n}.jsonl)")
    args = parser.parse_args(argv)
    out = args.out or WORK / f"events-{args.n}.jsonl"
    targets = write(out, args.n, seed=args.seed, shards=args.shards)
    size = sum(t.stat().st_size for t in targets)
    print(f"wrote {args.n:,} events, {size / 1e6:,.1f} MB, to "
          f"{targets[0] if len(targets) == 1 else f'{len(targets)} files like {targets[0]}'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
