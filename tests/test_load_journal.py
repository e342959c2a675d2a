"""load_journal (the request journal as a typed frame) and join_recordings (outcomes)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from loadlogs import DATA, recording, transcription, write_log

from recording_toolkit import schema
from recording_toolkit.errors import LoadError
from recording_toolkit.journal import journal_record
from recording_toolkit.load import join_recordings, load_callbacks, load_journal


def start(rid: str | None, *, transcribe: bool = True, ok: bool = True,
          time: str = "2026-11-24T10:00:00.000000Z") -> dict:
    options = {"file_format": "mp3", "transcription_type": "auto" if transcribe else None,
               "transcription_url": "https://cb.example.com/t" if transcribe else None,
               "callback_url": None, "callback_method": "POST"}
    return journal_record(action="start", conference_name="weekly", ok=ok, time=time,
                          options=options, status=202 if ok else 500, api_id=f"api-{rid}",
                          recording_id=rid, may_have_started=not ok, attempts=1,
                          latency_ms=41.5)


# -- load_journal ------------------------------------------------------------------------------

def test_sample_journal_is_typed_and_complete():
    journal = load_journal(DATA / "journal.jsonl")
    raw = [json.loads(x) for x in (DATA / "journal.jsonl").read_text("utf-8").splitlines()]
    assert len(journal) == len(raw)
    assert journal.dtypes.equals(schema.dtypes(schema.JOURNAL))
    assert journal.attrs["quarantine"].empty
    assert journal["time"].is_monotonic_increasing
    assert journal["action"].value_counts()[lambda counts: counts > 0].to_dict() == \
        pd.Series([x["action"] for x in raw]).value_counts().to_dict()
    assert int(journal["attempts"].sum()) == sum(x["attempts"] for x in raw)
    assert journal["transcription_type"].notna().sum() == \
        sum(x["options"]["transcription_type"] is not None for x in raw)
    assert journal["latency_ms"].sum() == pytest.approx(sum(x["latency_ms"] for x in raw))


def test_journal_lines_that_are_not_objects_are_named_in_json_terms(tmp_path):
    path = write_log(tmp_path / "journal.jsonl", start("r1"), "null\n", "[]\n")
    journal = load_journal(path)
    assert journal["recording_id"].tolist() == ["r1"]
    assert journal.attrs["quarantine"]["reason"].tolist() == [
        "not a JSON object (a JSON null)", "not a JSON object (a JSON array)"]


def test_journal_bad_lines_are_quarantined_with_line_and_reason(tmp_path):
    path = write_log(tmp_path / "journal.jsonl",
                     start("r1"),
                     "<html>oops</html>\n",
                     {**start("r2"), "action": "restart"},
                     {**start("r3"), "time": "not a time"},
                     {**start("r4"), "status": "202"},
                     start("r5", time="2026-11-24T09:00:00.000000Z"),
                     '{"time": "2026-11-24T11:00:00Z", "act')
    journal = load_journal(path)
    assert journal["recording_id"].tolist() == ["r5", "r1"]  # ordered by time
    q = journal.attrs["quarantine"]
    assert q["line"].tolist() == [2, 3, 4, 5, 7]
    assert q["file"].unique().tolist() == [str(path)]
    reasons = q["reason"].tolist()
    assert reasons[0].startswith("not valid JSON")
    assert "unknown action 'restart'" in reasons[1]
    assert "not a time" in reasons[2]
    assert reasons[3] == "status: expected a whole number or null, got '202'"
    assert reasons[4].startswith("torn last line")
    assert q.dtypes.equals(schema.dtypes(schema.QUARANTINE))


def test_journal_strict_names_file_and_line(tmp_path):
    path = write_log(tmp_path / "journal.jsonl", start("r1"), {**start("r2"), "ok": "yes"})
    with pytest.raises(LoadError) as caught:
        load_journal(path, strict=True)
    assert (caught.value.file, caught.value.line) == (str(path), 2)
    assert str(caught.value).startswith(f"{path}:2: ok: expected true or false")


def test_several_journal_files(tmp_path):
    a = write_log(tmp_path / "a.jsonl", start("r1", time="2026-11-24T10:00:02.000000Z"))
    b = write_log(tmp_path / "b.jsonl", start("r2", time="2026-11-24T10:00:01.000000Z"))
    assert load_journal([a, b])["recording_id"].tolist() == ["r2", "r1"]


def test_a_file_with_no_journal_entry_is_refused_not_read_as_an_empty_journal(tmp_path):
    """Random bytes or some other program's JSON: reconciling against it would count every
    callback as one nobody started, so the loader refuses it, naming the file."""
    noise = tmp_path / "noise.bin"
    noise.write_bytes(bytes(range(11, 256)) * 8 + b"\n{}\n[1]\n")
    with pytest.raises(LoadError) as caught:
        load_journal(noise)
    assert caught.value.file == str(noise)
    assert str(caught.value).startswith(f"{noise}: none of its 3 lines is a start, stop or delete entry"
                                        " (line 1: not valid JSON")
    assert str(caught.value).endswith("; is this a request journal?")


def test_a_callback_log_given_as_a_journal_is_named_as_one(tmp_path):
    log = write_log(tmp_path / "callbacks.jsonl", recording("r1"), transcription("r1"))
    with pytest.raises(LoadError, match="callbacks.jsonl: a callback log, not a request journal"):
        load_journal(log)
    sample = sorted((DATA / "callbacks").glob("*.jsonl"))[0]
    with pytest.raises(LoadError, match="a callback log, not a request journal"):
        load_journal([DATA / "journal.jsonl", sample])  # even beside a real journal


def test_a_journal_with_no_entry_at_all_is_refused(tmp_path):
    empty = write_log(tmp_path / "empty.jsonl", "\n\n")
    with pytest.raises(LoadError, match="empty.jsonl: empty: no start or stop requests in it"):
        load_journal(empty)
    # an empty file beside a journal with entries is only an empty file
    other = write_log(tmp_path / "other.jsonl", start("r1"))
    assert load_journal([empty, other])["recording_id"].tolist() == ["r1"]


def test_a_report_given_a_journal_path_refuses_what_is_not_one(tmp_path):
    from recording_toolkit.report import summarize

    log = write_log(tmp_path / "log.jsonl", recording("r1"))
    with pytest.raises(LoadError, match="a callback log, not a request journal"):
        summarize(load_callbacks(log, progress=False), journal=log)


# -- join_recordings ---------------------------------------------------------------------------

@pytest.fixture
def loaded(tmp_path):
    log = write_log(tmp_path / "log.jsonl",
                    recording("done"), recording("broken", at=1), recording("waiting", at=2),
                    recording("unasked", at=3), recording("stranger", at=4),
                    transcription("done", at=10, charge="0.30"),
                    transcription("broken", at=11, error="Recording duration too long for"
                                                         " transcription"),
                    transcription("orphan", at=12))
    journal = write_log(tmp_path / "journal.jsonl", start("done"), start("broken"),
                        start("waiting"), start("unasked", transcribe=False),
                        start(None, ok=False))
    return load_callbacks(log), load_journal(journal)


def test_join_statuses_with_a_journal(loaded):
    result, journal = loaded
    joined = join_recordings(result.recordings, result.transcriptions, journal=journal)
    assert joined.dtypes.equals(schema.dtypes(schema.JOINED))
    status = dict(zip(joined["recording_id"], joined["transcription_status"], strict=True))
    assert status == {"done": "transcribed", "broken": "failed", "waiting": "pending",
                      "unasked": "not_requested", "stranger": "unknown"}
    by_id = joined.set_index("recording_id")
    assert by_id.loc["broken", "transcription_error"].startswith("Recording duration too long")
    assert by_id.loc["done", "transcription_charge"] == pytest.approx(0.30)
    assert pd.isna(by_id.loc["waiting", "transcription_received_at"])
    assert by_id.loc["done", "transcription_received_at"] == \
        result.transcriptions.set_index("recording_id").loc["done", "received_at"]
    assert len(joined) == len(result.recordings)  # the orphan transcription adds no row
    assert joined["recording_id"].tolist() == result.recordings["recording_id"].tolist()


def test_join_without_a_journal_cannot_tell_pending_from_not_requested(loaded):
    result, _ = loaded
    joined = join_recordings(result.recordings, result.transcriptions)
    assert joined["transcription_status"].value_counts().to_dict() == {
        "unknown": 3, "transcribed": 1, "failed": 1, "pending": 0, "not_requested": 0}


def test_join_accepts_a_journal_path_and_empty_transcriptions(loaded, tmp_path):
    result, _ = loaded
    joined = join_recordings(result.recordings, result.transcriptions.iloc[:0],
                             journal=tmp_path / "journal.jsonl")
    assert joined["transcription_status"].value_counts()[["pending", "not_requested",
                                                         "unknown"]].tolist() == [3, 1, 1]
    assert joined["transcription_error"].isna().all()
    assert joined.dtypes.equals(schema.dtypes(schema.JOINED))


def test_join_keeps_a_success_over_an_error_in_a_hand_made_frame(loaded):
    result, _ = loaded
    extra = result.transcriptions[result.transcriptions["recording_id"] == "broken"].copy()
    extra["error"] = pd.array([pd.NA], dtype=schema.STRING)
    extra["received_at"] = extra["received_at"] + pd.Timedelta("1h")
    both = pd.concat([result.transcriptions, extra], ignore_index=True)
    joined = join_recordings(result.recordings, both).set_index("recording_id")
    assert joined.loc["broken", "transcription_status"] == "transcribed"


def test_join_on_the_sample_data_agrees_with_the_raw_journal_and_log():
    result = load_callbacks(DATA / "callbacks")
    journal = load_journal(DATA / "journal.jsonl")
    joined = join_recordings(result.recordings, result.transcriptions, journal=journal)
    asked = {}
    for text in (DATA / "journal.jsonl").read_text("utf-8").splitlines():
        x = json.loads(text)
        if x["action"] == "start" and x["recording_id"]:
            asked[x["recording_id"]] = x["options"]["transcription_type"] is not None
    outcome = {rid: ("transcribed" if pd.isna(err) else "failed") for rid, err in
               zip(result.transcriptions["recording_id"], result.transcriptions["error"],
                   strict=True)}
    expected = {rid: outcome.get(rid) or ("unknown" if rid not in asked else
                                          "pending" if asked[rid] else "not_requested")
                for rid in result.recordings["recording_id"]}
    got = dict(zip(joined["recording_id"], joined["transcription_status"], strict=True))
    assert got == expected
    # the two recordings started by a 500 that was not retried have no journal id
    assert (joined["transcription_status"] == "unknown").sum() <= 2
