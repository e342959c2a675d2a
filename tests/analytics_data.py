"""A small hand-built data set for the analytics and report tests, as frames and as a log.

Five recordings in three conferences over two weeks, and five transcription callbacks (one for a
recording whose callback never came). Every figure the tests expect is worked out by hand in the
tests themselves from the values here:

=====  ==========  ======  ===========  ===================  ===============================
id     conference  format  duration ms  start (UTC)          transcription
=====  ==========  ======  ===========  ===================  ===============================
r1     alpha       mp3          30,000  2026-11-02 09:00     ok, 0.05, 2 min after the end
r2     alpha       wav          90,000  2026-11-02 10:00     ok, 0.10, 4 min after
r3     beta        mp3         600,000  2026-11-03 08:00     ok, 0.70 (overcharged), 20 min
r4     beta        mp3             400  2026-11-03 09:00     too short, 0.00, 1 min
r5     gamma       wav          61,000  2026-11-09 12:00     none
rX     --          --               --  --                   ok, 0.05 (no recording callback)
=====  ==========  ======  ===========  ===================  ===============================

Every transcription reports ``transcription_rate`` 0.05.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from recording_toolkit import rules, schema
from recording_toolkit.load import LoadResult, LoadStats

RATE = 0.05
RECORDINGS = [
    # id, conference, format, duration_ms, start
    ("r1", "alpha", "mp3", 30_000, "2026-11-02 09:00:00"),
    ("r2", "alpha", "wav", 90_000, "2026-11-02 10:00:00"),
    ("r3", "beta", "mp3", 600_000, "2026-11-03 08:00:00"),
    ("r4", "beta", "mp3", 400, "2026-11-03 09:00:00"),
    ("r5", "gamma", "wav", 61_000, "2026-11-09 12:00:00"),
]
TRANSCRIPTIONS = [
    # id, charge, duration s, error, minutes after the recording's end (rX: absolute time)
    ("r1", 0.05, 30, None, 2),
    ("r2", 0.10, 90, None, 4),
    ("r3", 0.70, 600, None, 20),
    ("r4", 0.00, 0, rules.ERROR_TOO_SHORT, 1),
    ("rX", 0.05, 20, None, "2026-11-04 12:00:00"),
]


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def _end(rid: str) -> pd.Timestamp:
    for rec_id, _, _, ms, start in RECORDINGS:
        if rec_id == rid:
            return _ts(start) + pd.Timedelta(milliseconds=ms)
    raise KeyError(rid)


def _received(rid: str, after: Any) -> pd.Timestamp:
    return _ts(after) if isinstance(after, str) else _end(rid) + pd.Timedelta(minutes=after)


def recordings_frame() -> pd.DataFrame:
    rows = []
    for rid, conference, fmt, ms, start in RECORDINGS:
        begin = _ts(start)
        rows.append({
            "recording_id": rid, "conference_name": conference, "api_id": f"api-{rid}",
            "record_url": f"https://media.example.invalid/Recording/{rid}.{fmt}",
            "file_format": fmt, "recording_duration": round(ms / 1000),
            "recording_duration_ms": ms, "recording_start": begin,
            "recording_end": begin + pd.Timedelta(milliseconds=ms),
            "received_at": begin + pd.Timedelta(milliseconds=ms, seconds=2),
            "backfilled": False,
        })
    return schema.coerce(pd.DataFrame(rows), schema.RECORDINGS)


def transcriptions_frame() -> pd.DataFrame:
    rows = [{"recording_id": rid, "call_uuid": f"call-{rid}",
             "transcription": None if error else f"words of {rid}",
             "transcription_charge": charge, "transcription_rate": RATE, "duration": seconds,
             "error": error, "received_at": _received(rid, after)}
            for rid, charge, seconds, error, after in TRANSCRIPTIONS]
    return schema.coerce(pd.DataFrame(rows), schema.TRANSCRIPTIONS)


def load_result(**stats: int) -> LoadResult:
    """The frames as a LoadResult, with the given stats."""
    return LoadResult(recordings_frame(), transcriptions_frame(), schema.empty(schema.QUARANTINE),
                      LoadStats(**stats))


def _ms(moment: pd.Timestamp) -> str:
    return str(int(moment.value // 1_000_000))


def _iso(moment: pd.Timestamp) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def log_lines() -> list[dict[str, Any]]:
    """The data set as callback-log envelope lines (docs/CONTRACTS.md), in arrival order."""
    lines = []
    for rid, conference, fmt, ms, start in RECORDINGS:
        begin = _ts(start)
        end = begin + pd.Timedelta(milliseconds=ms)
        lines.append({"event": "recording", "received_at": _iso(end + pd.Timedelta(seconds=2)),
                      "verified": True, "source": "callback", "payload": {
                          "api_id": f"api-{rid}", "recording_id": rid,
                          "record_url": f"https://media.example.invalid/Recording/{rid}.{fmt}",
                          "conference_name": conference,
                          "recording_duration": str(round(ms / 1000)),
                          "recording_duration_ms": f"{ms}.00000",
                          "recording_start_ms": _ms(begin), "recording_end_ms": _ms(end)}})
    for rid, charge, seconds, error, after in TRANSCRIPTIONS:
        lines.append({"event": "transcription", "received_at": _iso(_received(rid, after)),
                      "verified": True, "payload": {
                          "recording_id": rid, "call_uuid": f"call-{rid}",
                          "transcription": "" if error else f"words of {rid}",
                          "transcription_charge": f"{charge}", "transcription_rate": f"{RATE}",
                          "duration": str(seconds), "error": error or ""}})
    return sorted(lines, key=lambda line: line["received_at"])


def write_log(folder: Path, *, duplicates: int = 0, malformed: int = 0) -> Path:
    """Write the data set as one JSON Lines log in ``folder``; the first ``duplicates`` lines
    repeated at the end, and ``malformed`` lines that are not JSON. Returns the file."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = log_lines()
    text = [json.dumps(line) for line in lines]
    text += [json.dumps(line) for line in lines[:duplicates]]
    text += ["<html>502 Bad Gateway</html>"] * malformed
    path = folder / "callbacks-2026-11-02-test.jsonl"
    path.write_text("\n".join(text) + "\n", "utf-8")
    return path


def journal_frame(extra: list[dict[str, Any]] | None = None) -> pd.DataFrame:
    """A request journal: starts of r1..r5 (r5 without transcription) and a start that got a
    500 for alpha, plus ``extra`` rows."""
    rows = []
    for rid, conference, fmt, _, start in RECORDINGS:
        rows.append({"time": _ts(start) - pd.Timedelta(seconds=1), "action": "start",
                     "conference_name": conference, "file_format": fmt,
                     "transcription_type": None if rid == "r5" else "auto", "ok": True,
                     "status": 202, "api_id": f"api-{rid}", "recording_id": rid,
                     "may_have_started": False, "attempts": 1})
    rows += extra or []
    return schema.coerce(pd.DataFrame(rows), schema.JOURNAL)
