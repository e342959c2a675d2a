"""Regenerate ``data/``: two weeks of callback logs and a request journal, made by the sandbox.

Run ``.venv/bin/python scripts/make_sample_data.py`` (``--out DIR`` to write elsewhere). The same
code and packages give the same bytes every time; ``data/README.md`` explains how and what the
files hold. In short:

1. A sandbox on a :class:`~recording_toolkit.sandbox.ManualClock` (fixed seed, fixed account, a
   fixed media URL) plays a fortnight of meetings on ~70 conferences: starts, stops, conference
   closes, recordings that run until their simulated end. Light faults are on: API errors (the
   client retries 429/503; a 500 on a start is not retried and sometimes did start a recording),
   and dropped, duplicated and delayed callbacks.
2. The toolkit's own ``RecordingClient`` makes every call, one after the other, each at its
   moment of sandbox time, writing the request journal; its back-off waits move the sandbox clock
   instead of sleeping.
3. Two instances of the toolkit's receiver app share one log folder behind a load balancer that
   routes each delivery by its nonce, as two receivers behind a real balancer would: a duplicated
   delivery that lands on the other instance is stored there too, so the log holds real
   cross-instance duplicates for the loader to remove.
4. What depends on the wall clock or the machine is then normalised: ``received_at`` becomes the
   sandbox time the delivery was sent plus a latency drawn from its nonce; lines are sorted;
   the journal's times become the sandbox time of each call and its ``latency_ms`` a drawn
   figure; the receivers' loopback address in the journal becomes ``https://cb.example.com``.
5. A few damaged lines are added on purpose (listed in ``data/README.md``).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
import tempfile
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from recording_toolkit._retry import RetryPolicy
from recording_toolkit.callback_log import CallbackLog, format_timestamp
from recording_toolkit.client import RecordingClient
from recording_toolkit.errors import PlivoAPIError
from recording_toolkit.receiver import RECORDING_PATH, TRANSCRIPTION_PATH, create_receiver_app
from recording_toolkit.sandbox import DurationModel, Faults, ManualClock, Sandbox
from recording_toolkit.sandbox._clock import from_ms, to_ms
from recording_toolkit.sandbox._simulation import keyed_rng
from recording_toolkit.server import BackgroundServer

SEED = 20261102
START = datetime(2026, 11, 2, tzinfo=UTC)        # a Monday
DAYS = 14
AUTH_ID = "MASAMPLEDATA00000001"
# A made-up token for this offline run; it signs the sandbox's callbacks and is written nowhere.
AUTH_TOKEN = "sample-data-token-not-a-real-credential"
MEDIA_URL = "https://media.sandbox.invalid"
PUBLIC_CALLBACKS = "https://cb.example.com"
INSTANCES = ("rx-a", "rx-b")
RETRY_FRAGMENT = "#rc=3&rp=ct,rt,5xx"  # Plivo retries 5xx too, up to 3 times
FAULTS = Faults(api_error_rate=0.01, api_error_statuses=(503, 429, 500), retry_after_s=1,
                drop_rate=0.01, duplicate_rate=0.04, delay_rate=0.03, delay_s=(60, 1800))
DURATIONS = DurationModel(median_s=1800, sigma=0.9, short_share=0.03, long_share=0.006)

# (department, meeting kind, mean meetings per weekday, minutes)
_KINDS = {"standup": (1.0, 15), "sync": (2.0, 30), "review": (2.5, 45), "calls": (6.0, 25),
          "interviews": (4.0, 50), "weekly": (0.2, 60), "planning": (0.4, 90),
          "escalations": (5.0, 20)}
_DEPARTMENTS = ("sales", "eng", "support", "finance", "hr", "design", "marketing", "ops",
                "legal")


def conference_profiles(rng: random.Random) -> list[dict[str, Any]]:
    """~70 conferences, each with its meeting habits and recording options."""
    profiles = []
    for department in _DEPARTMENTS:
        kinds = rng.sample(sorted(_KINDS), k=rng.randint(6, 8))
        for kind in sorted(kinds):
            per_day, minutes = _KINDS[kind]
            profiles.append({
                "name": f"{department}-{kind}",
                "per_weekday": per_day * rng.uniform(0.7, 1.5),
                "minutes": minutes,
                "wav_share": 0.9 if department in ("legal", "finance") else rng.choice((0.0,
                                                                                         0.1, 0.3)),
                "transcribe": department != "legal" or kind == "review",
                "method": "GET" if department == "ops" else "POST",
            })
    return profiles


def meeting_plan(rng: random.Random) -> list[tuple[int, int, str, str, dict[str, Any]]]:
    """Every action of the fortnight as ``(sandbox ms, order, action, conference, options)``."""
    events: list[tuple[int, int, str, str, dict[str, Any]]] = []
    order = 0
    for profile in conference_profiles(rng):
        for day in range(DAYS):
            date = START + timedelta(days=day)
            weekend = date.weekday() >= 5
            mean = profile["per_weekday"] * (0.05 if weekend else 1.0)
            count = sum(rng.random() < mean / 8 for _ in range(8))  # binomial around the mean
            for _ in range(count):
                begin = date + timedelta(hours=rng.uniform(7, 19))
                begin = begin.replace(second=0, microsecond=0) + timedelta(
                    seconds=rng.uniform(0, 120))
                options = {"file_format": "wav" if rng.random() < profile["wav_share"] else "mp3",
                           "callback_method": profile["method"]}
                if profile["transcribe"] and rng.random() < 0.92:
                    options["transcription_type"] = "auto"
                events.append((to_ms(begin), order, "start", profile["name"], options))
                order += 1
                length = timedelta(minutes=profile["minutes"] * rng.lognormvariate(0, 0.35))
                ending = rng.random()
                action = "stop" if ending < 0.36 else ("close" if ending < 0.46 else None)
                if action:
                    events.append((to_ms(begin + length), order, action, profile["name"], {}))
                    order += 1
    events.sort()
    return events


class Balancer:
    """Routes each callback to one receiver app by its nonce (an ASGI app)."""

    def __init__(self, apps: list[Any]) -> None:
        self.apps = apps

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        nonce = dict(scope["headers"]).get(b"x-plivo-signature-v3-nonce", b"0")
        index = int(nonce) % len(self.apps) if nonce.isdigit() else 0
        await self.apps[index](scope, receive, send)


def route(nonce: str) -> str:
    return INSTANCES[int(nonce) % len(INSTANCES)]


def play(work: Path) -> tuple[dict[str, Any], list[int], str]:
    """Run the fortnight; return the ground truth, each call's sandbox time, the receivers' URL."""
    rng = random.Random(SEED)
    events = meeting_plan(rng)
    clock = ManualClock(START)
    log_dir = work / "callbacks"
    logs = [CallbackLog(log_dir, instance_id=name, clock=clock.now) for name in INSTANCES]
    apps = [create_receiver_app(log, auth_tokens=AUTH_TOKEN) for log in logs]
    server = BackgroundServer(Balancer(apps), name="sample receivers")
    call_times: list[int] = []
    try:
        server.start()
        for app in apps:  # they verify against the URL the sandbox is given, as in production
            app.state.settings.public_url = server.url
        retry = RetryPolicy(max_retries=3, random=random.Random(SEED + 1).random,
                            sleep=lambda seconds: clock.advance(seconds))
        with Sandbox(auth_id=AUTH_ID, auth_token=AUTH_TOKEN, seed=SEED, clock=clock,
                     faults=FAULTS, durations=DURATIONS, media_url=MEDIA_URL) as sandbox, \
                RecordingClient(AUTH_ID, AUTH_TOKEN, base_url=sandbox.base_url, rate_limit=None,
                                max_retries=retry, journal=work / "journal.jsonl") as client:
            recording_url = server.url + RECORDING_PATH + RETRY_FRAGMENT
            transcription_url = server.url + TRANSCRIPTION_PATH
            for at_ms, _, action, name, options in events:
                clock.set(max(at_ms, clock.now_ms()))
                call_times.append(clock.now_ms())
                try:
                    if action == "start":
                        extra = {"transcription_url": transcription_url} \
                            if options.get("transcription_type") else {}
                        client.start_recording(name, callback_url=recording_url, **options,
                                               **extra)
                    elif action == "stop":
                        client.stop_recording(name)
                    else:  # the conference ends; the next meeting opens it again
                        call_times.pop()
                        sandbox.close_conference(name)
                        sandbox.open_conference(name)
                except PlivoAPIError:
                    pass  # the journal has it
            clock.advance(2 * 86400)  # every recording ends, every callback falls due
            if not sandbox.wait_idle(300, recordings=True):
                raise RuntimeError("the sandbox did not finish delivering")
            truth = sandbox.ground_truth()
    finally:
        server.stop()
        for log in logs:
            log.close()
    return truth, call_times, server.url


def _latency_ms(nonce: str) -> float:
    return keyed_rng(SEED, "latency", nonce).uniform(20.0, 400.0)


def normalise_log(work: Path, out: Path, truth: dict[str, Any]) -> dict[str, int]:
    """Rewrite ``received_at`` from the ground truth and sort; return lines per instance."""
    arrivals: dict[tuple[str, str, str], int] = {}
    for plan in truth["callback_details"]:
        for delivery in plan["deliveries"]:
            for attempt in delivery["attempts"]:
                if 200 <= attempt.get("status", 0) < 300:
                    key = (plan["kind"], plan["recording_id"], route(attempt["nonce"]))
                    at_us = int((attempt["sent_ms"] + _latency_ms(attempt["nonce"])) * 1000)
                    arrivals[key] = min(arrivals.get(key, at_us), at_us)
    files: dict[tuple[str, str], list[tuple[int, str, str, str]]] = defaultdict(list)
    for path in sorted((work / "callbacks").glob("callbacks-*.jsonl")):
        instance = next(name for name in INSTANCES if path.stem.endswith(name))
        for line in path.read_text("utf-8").splitlines():
            record = json.loads(line)
            rid = record["payload"]["recording_id"]
            at_us = arrivals[(record["event"], rid, instance)]
            moment = from_ms(at_us // 1000) + timedelta(microseconds=at_us % 1000)
            stamp = format_timestamp(moment)
            fixed, count = re.subn(r'"received_at":"[^"]*"', f'"received_at":"{stamp}"', line,
                                   count=1)
            assert count == 1, line
            files[(stamp[:10], instance)].append((at_us, record["event"], rid, fixed))
    counts: dict[str, int] = defaultdict(int)
    (out / "callbacks").mkdir(parents=True)
    for (day, instance), lines in sorted(files.items()):
        lines.sort()
        target = out / "callbacks" / f"callbacks-{day}-{instance}.jsonl"
        target.write_text("".join(line + "\n" for *_, line in lines), "utf-8")
        counts[instance] += len(lines)
    return dict(counts)


def normalise_journal(work: Path, out: Path, call_times: list[int], receivers: str) -> int:
    """Sandbox times, drawn latencies and the public callback host in the journal."""
    lines = (work / "journal.jsonl").read_text("utf-8").splitlines()
    if len(lines) != len(call_times):
        raise RuntimeError(f"{len(lines)} journal lines for {len(call_times)} calls")
    written = []
    for index, (line, at_ms) in enumerate(zip(lines, call_times, strict=True)):
        record = json.loads(line.replace(receivers, PUBLIC_CALLBACKS))
        record["time"] = format_timestamp(from_ms(at_ms))
        rng = keyed_rng(SEED, "journal-latency", index)
        record["latency_ms"] = round(sum(rng.uniform(35, 180) for _ in range(record["attempts"])),
                                     3)
        written.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    (out / "journal.jsonl").write_text("".join(written), "utf-8")
    return len(written)


def add_damage(out: Path) -> list[dict[str, Any]]:
    """Add the damaged lines ``data/README.md`` lists; return where they went and why."""
    files = sorted((out / "callbacks").glob("callbacks-*.jsonl"))
    compact = {"separators": (",", ":")}

    def not_json(good: dict[str, Any]) -> str:
        return "<html><body>502 Bad Gateway</body></html>"

    def no_recording_id(good: dict[str, Any]) -> str:
        return json.dumps({"event": "recording", "received_at": good["received_at"],
                           "verified": True,
                           "payload": {"api_id": "0", "record_url": f"{MEDIA_URL}/x.mp3",
                                       "recording_duration_ms": "1000"}}, **compact)

    def bad_number(good: dict[str, Any]) -> str:
        return json.dumps({"event": "recording", "received_at": good["received_at"],
                           "verified": True,
                           "payload": {**_recording_payload(good),
                                       "recording_id": "damaged-duration",
                                       "recording_duration_ms": "12O5"}}, **compact)

    def unknown_kind(good: dict[str, Any]) -> str:
        return json.dumps({"event": "call", "received_at": good["received_at"], "verified": True,
                           "payload": {"recording_id": "damaged-kind"}}, **compact)

    damaged = [(files[5], 10, "not JSON at all", not_json),
               (files[9], 20, "recording_id missing", no_recording_id),
               (files[15], 30, "recording_duration_ms is not a number", bad_number),
               (files[21], 40, "unknown event kind", unknown_kind)]
    notes = []
    for path, before, reason, make in damaged:
        lines = path.read_text("utf-8").splitlines(keepends=True)
        neighbour = json.loads(lines[before - 2])  # the line it goes after: same day, same time
        lines.insert(before - 1, make(neighbour) + "\n")
        path.write_text("".join(lines), "utf-8")
        notes.append({"file": f"callbacks/{path.name}", "line": before, "reason": reason})
    # a torn last line, as a crash mid-write leaves it: a prefix of a real line, no newline
    last = files[-1]
    tail = last.read_text("utf-8").splitlines()[-1]
    with open(last, "a", encoding="utf-8") as fh:
        fh.write(tail[: len(tail) // 2])
    notes.append({"file": f"callbacks/{last.name}",
                  "line": len(last.read_text("utf-8").splitlines()),
                  "reason": "torn last line (no newline; half of a valid line)"})
    return notes


def _recording_payload(record: dict[str, Any]) -> dict[str, str]:
    payload = dict(record["payload"])
    if record["event"] != "recording":
        payload = {"api_id": "0", "record_url": f"{MEDIA_URL}/damaged.mp3",
                   "recording_id": payload["recording_id"], "conference_name": "damaged",
                   "recording_duration": "1", "recording_duration_ms": "1000",
                   "recording_start_ms": "1793577600000", "recording_end_ms": "1793577601000"}
    return payload


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "data")
    args = parser.parse_args(argv)
    out: Path = args.out
    with tempfile.TemporaryDirectory(prefix="sample-data-") as tmp:
        work = Path(tmp)
        truth, call_times, receivers = play(work)
        staged = work / "out"
        staged.mkdir()
        per_instance = normalise_log(work, staged, truth)
        journal_lines = normalise_journal(work, staged, call_times, receivers)
        damage = add_damage(staged)
        summary = {key: truth[key] for key in ("seed", "now", "recordings", "transcriptions",
                                               "callbacks", "api")}
        summary["log_lines"] = per_instance
        summary["journal_lines"] = journal_lines
        summary["damaged_lines"] = damage
        (staged / "ground_truth.json").write_text(json.dumps(summary, indent=2, sort_keys=True)
                                                  + "\n", "utf-8")
        for name in ("callbacks", "journal.jsonl", "ground_truth.json"):
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
        out.mkdir(parents=True, exist_ok=True)
        for item in staged.iterdir():
            shutil.move(str(item), out / item.name)
    print(f"wrote {out}: {truth['recordings']['started']} recordings,"
          f" {sum(per_instance.values())} callback lines, {journal_lines} journal lines",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
