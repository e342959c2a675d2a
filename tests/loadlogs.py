"""Small hand-built callback logs for the loader tests (tests/test_load*.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
URL = "https://media.plivo.com/v1/Account/MAXXXXXXXXXXXXXXXXXX/Recording"


def stamp(second: int) -> str:
    """A received_at on 24 November 2026, ``second`` seconds after 10:00 UTC."""
    minutes, seconds = divmod(second, 60)
    return f"2026-11-24T{10 + minutes // 60:02d}:{minutes % 60:02d}:{seconds:02d}.000000Z"


def recording(rid: str, *, at: int = 0, fmt: str = "mp3", duration_ms: str = "345100",
              conference: str = "weekly", **extra: str) -> dict[str, Any]:
    payload = {"api_id": f"api-{rid}", "record_url": f"{URL}/{rid}.{fmt}", "recording_id": rid,
               "conference_name": conference, "recording_duration": "345",
               "recording_duration_ms": duration_ms, "recording_start_ms": "1795514100000",
               "recording_end_ms": "1795514445100", **extra}
    return {"event": "recording", "received_at": stamp(at), "verified": True,
            "source": "callback", "payload": payload}


def transcription(rid: str, *, at: int = 0, error: str = "", charge: str = "0.30000",
                  **extra: str) -> dict[str, Any]:
    payload = {"transcription": "" if error else "hello there", "transcription_charge": charge,
               "transcription_rate": "0.05000", "duration": "345", "call_uuid": f"call-{rid}",
               "recording_id": rid, "error": error, **extra}
    return {"event": "transcription", "received_at": stamp(at), "verified": True,
            "payload": payload}


def line(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":")) + "\n"


def write_log(path: Path, *items: Any) -> Path:
    """Write lines: dicts as JSON lines, str exactly as given (so a torn last line can be made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(item if isinstance(item, str) else line(item) for item in items)
    path.write_text(text, "utf-8")
    return path


def ground_truth() -> dict[str, Any]:
    return json.loads((DATA / "ground_truth.json").read_text("utf-8"))
