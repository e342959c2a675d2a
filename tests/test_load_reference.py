"""The fast Arrow path reads every mix of lines as the line-by-line reference path does."""

from __future__ import annotations

import json

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loadlogs import URL, line, recording, stamp, transcription

from recording_toolkit.load import _jsonl, load_callbacks


def camel(rid: str, at: int) -> str:
    payload = {"RecordingID": rid, "RecordUrl": f"{URL}/{rid}.wav", "RecordingDurationMs": "9000"}
    return line({"event": "recording", "received_at": stamp(at), "payload": payload})


def flat(rid: str, at: int) -> str:
    return line({**transcription(rid)["payload"], "received_at": stamp(at)})


def conflicting(rid: str, at: int) -> str:
    return line({"event": "recording", "received_at": stamp(at),
                 "payload": {"recording_id": rid, "RecordingID": rid + "x"}})


MAKERS = {
    "recording": lambda rid, at: line(recording(rid, at=at)),
    "decimal": lambda rid, at: line(recording(rid, at=at, duration_ms="1000.00000")),
    "transcription": lambda rid, at: line(transcription(rid, at=at)),
    "failed": lambda rid, at: line(transcription(rid, at=at, error="too short")),
    "camel": camel,
    "flat": flat,
    "conflicting": conflicting,
    "bad number": lambda rid, at: line(recording(rid, at=at, duration_ms="12O5")),
    "bad time": lambda rid, at: line({**recording(rid), "received_at": "soon"}),
    "unknown event": lambda rid, at: line({"event": "call", "payload": {"recording_id": rid}}),
    "no id": lambda rid, at: line({"event": "recording", "payload": {"api_id": "a"}}),
    "not json": lambda rid, at: "<html>502</html>\n",
    "array": lambda rid, at: "[1, 2]\n",
    "blank": lambda rid, at: "   \n",
    "number payload": lambda rid, at: line({"event": "recording", "payload": {
        "recording_id": rid, "recording_duration_ms": 5}}),
}

lines_strategy = st.lists(
    st.tuples(st.sampled_from(sorted(MAKERS)), st.sampled_from(["a", "b", "c", "d"]),
              st.integers(0, 50)),
    min_size=1, max_size=40)


def read(tmp_path, text: str, *, reference: bool, monkeypatch) -> object:
    path = tmp_path / "log.jsonl"
    path.write_text(text, "utf-8")
    with monkeypatch.context() as patch:
        if reference:
            patch.setattr(_jsonl, "_read_arrow", lambda data: None)  # every line via json
        return load_callbacks(path)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=lines_strategy, torn=st.booleans())
def test_arrow_path_equals_the_line_by_line_reference(tmp_path, monkeypatch, items, torn):
    text = "".join(MAKERS[kind](rid, at) for kind, rid, at in items)
    if torn:
        text = text.rstrip("\n")
    fast = read(tmp_path, text, reference=False, monkeypatch=monkeypatch)
    slow = read(tmp_path, text, reference=True, monkeypatch=monkeypatch)
    for name in ("recordings", "transcriptions", "quarantine"):
        pd.testing.assert_frame_equal(getattr(fast, name), getattr(slow, name))
    assert fast.stats == slow.stats
    s = fast.stats
    assert s.lines == s.recordings + s.transcriptions + s.duplicates + s.quarantined
    assert s.lines == sum(1 for kind, _, _ in items if kind != "blank")


def test_reference_path_reasons_name_the_problem():
    row, reason, _ = _jsonl.parse_line(json.dumps({"event": "recording", "payload": []}))
    assert row is None and reason == "payload is not a JSON object"
