"""load_callbacks on JSON Lines: the sample data, dedup rules, quarantine, strict, progress."""

from __future__ import annotations

import json
from collections import Counter

import pandas as pd
import pytest
from loadlogs import DATA, recording, stamp, transcription, write_log

import recording_toolkit as rt
from recording_toolkit import schema
from recording_toolkit.errors import LoadError
from recording_toolkit.load import LoadResult, load_callbacks


def accounted(result: LoadResult) -> bool:
    s = result.stats
    return s.lines == s.recordings + s.transcriptions + s.duplicates + s.quarantined


# -- the committed sample data -----------------------------------------------------------------

@pytest.fixture(scope="module")
def sample() -> LoadResult:
    return load_callbacks(DATA / "callbacks", progress=False)


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads((DATA / "ground_truth.json").read_text("utf-8"))


def test_sample_counts_are_the_ground_truth(sample, truth):
    delivered = truth["callbacks"]
    assert len(sample.recordings) == delivered["recording"]["delivered"]
    assert len(sample.transcriptions) == delivered["transcription"]["delivered"]
    assert sample.stats.files == len(list((DATA / "callbacks").glob("*.jsonl")))
    assert sample.stats.lines == sum(truth["log_lines"].values()) + len(truth["damaged_lines"])
    assert sample.stats.quarantined == len(truth["damaged_lines"])
    assert sample.stats.recordings == len(sample.recordings)
    assert accounted(sample)
    assert sample.stats.duplicates == \
        sample.stats.recording_duplicates + sample.stats.transcription_duplicates > 0
    assert sample.recordings["recording_id"].is_unique
    assert sample.transcriptions["recording_id"].is_unique


def test_sample_formats_and_outcomes_match_the_raw_lines(sample):
    """An independent reading of the raw lines (json, first copy per id) gives the same rows."""
    recordings: dict[str, dict] = {}
    outcomes: dict[str, str] = {}
    for path in sorted((DATA / "callbacks").glob("*.jsonl")):
        for text in path.read_text("utf-8").splitlines():
            try:
                obj = json.loads(text)
            except ValueError:
                continue
            p = obj["payload"]
            if obj["event"] == "recording" and p.get("recording_id") and \
                    p.get("recording_duration_ms", "").isdigit():
                recordings.setdefault(p["recording_id"], p)
            elif obj["event"] == "transcription" and p.get("recording_id"):
                outcomes.setdefault(p["recording_id"], p.get("error") or "ok")
    assert set(sample.recordings["recording_id"]) == set(recordings)
    formats = Counter(p["record_url"].rsplit(".", 1)[-1] for p in recordings.values())
    assert sample.recordings["file_format"].value_counts().to_dict() == dict(formats)
    by_id = sample.recordings.set_index("recording_id")
    for rid in list(recordings)[:50]:
        assert by_id.loc[rid, "recording_duration_ms"] == \
            int(recordings[rid]["recording_duration_ms"])
    errors = sample.transcriptions["error"].fillna("ok").value_counts().to_dict()
    assert errors == dict(Counter(outcomes.values()))


def test_sample_damaged_lines_are_quarantined_with_file_line_and_reason(sample, truth):
    got = {(f.rsplit("/", 1)[-1], line) for f, line in
           zip(sample.quarantine["file"], sample.quarantine["line"], strict=True)}
    want = {(d["file"].rsplit("/", 1)[-1], d["line"]) for d in truth["damaged_lines"]}
    assert got == want
    reasons = dict(zip(sample.quarantine["line"], sample.quarantine["reason"], strict=True))
    assert reasons[10].startswith("not valid JSON")
    assert "recording_id" in reasons[20]
    assert "recording_duration_ms" in reasons[30] and "12O5" in reasons[30]
    assert "unknown event kind 'call'" in reasons[40]
    assert reasons[9].startswith("torn last line")
    assert sample.quarantine["raw"].str.len().min() > 0
    assert sample.quarantine.loc[sample.quarantine["line"] == 10, "raw"].item().startswith(
        "<html>")


def test_sample_dtypes_are_the_schema(sample):
    assert sample.recordings.dtypes.equals(schema.dtypes(schema.RECORDINGS))
    assert sample.transcriptions.dtypes.equals(schema.dtypes(schema.TRANSCRIPTIONS))
    assert sample.quarantine.dtypes.equals(schema.dtypes(schema.QUARANTINE))


def test_frames_are_ordered_by_received_at(sample):
    for frame in (sample.recordings, sample.transcriptions):
        assert frame["received_at"].is_monotonic_increasing
        assert frame.index.equals(pd.RangeIndex(len(frame)))


def test_exported_from_the_package():
    assert rt.load_callbacks is load_callbacks
    assert rt.load_recordings(DATA / "callbacks" / "callbacks-2026-11-02-rx-a.jsonl",
                              progress=False)["recording_id"].is_unique
    assert rt.load_transcriptions(DATA / "callbacks" / "callbacks-2026-11-02-rx-a.jsonl",
                                  progress=False).dtypes.equals(
        schema.dtypes(schema.TRANSCRIPTIONS))


# -- hand-built logs ---------------------------------------------------------------------------

def test_first_received_recording_is_kept_even_when_read_later(tmp_path):
    # rx-b's copy was received first, but rx-a's file is read first
    write_log(tmp_path / "a.jsonl", recording("r1", at=20, conference="second"))
    write_log(tmp_path / "b.jsonl", recording("r1", at=10, conference="first"),
              recording("r2", at=15))
    result = load_callbacks(tmp_path)
    assert result.recordings["recording_id"].tolist() == ["r1", "r2"]
    assert result.recordings["conference_name"].tolist() == ["first", "weekly"]
    assert result.stats.recording_duplicates == 1 and result.stats.duplicates == 1
    assert accounted(result)


def test_equal_times_keep_the_first_read(tmp_path):
    write_log(tmp_path / "log.jsonl", recording("r1", at=5, conference="one"),
              recording("r1", at=5, conference="two"))
    assert load_callbacks(tmp_path).recordings["conference_name"].tolist() == ["one"]


def test_a_successful_transcription_is_preferred_over_an_earlier_error(tmp_path):
    write_log(tmp_path / "log.jsonl",
              transcription("r1", at=1, error="Recording duration too long for transcription"),
              transcription("r1", at=2, charge="0.40"),
              transcription("r1", at=3, charge="0.50"),
              transcription("r2", at=4, error="first error"),
              transcription("r2", at=5, error="second error"))
    result = load_callbacks(tmp_path)
    by_id = result.transcriptions.set_index("recording_id")
    assert by_id.loc["r1", "transcription_charge"] == pytest.approx(0.40)
    assert pd.isna(by_id.loc["r1", "error"])
    assert by_id.loc["r2", "error"] == "first error"
    assert result.stats.transcription_duplicates == 3
    assert accounted(result)


def test_typing_decimal_strings_file_format_and_empty_error(tmp_path):
    write_log(tmp_path / "log.jsonl",
              recording("r1", fmt="wav", duration_ms="345100.00000", recording_duration="345.0"),
              recording("r2", fmt="mp3", duration_ms="", recording_duration=""),
              transcription("r1", charge="0.30000"))
    result = load_callbacks(tmp_path)
    rec = result.recordings.set_index("recording_id")
    assert rec.loc["r1", "recording_duration_ms"] == 345100
    assert rec.loc["r1", "file_format"] == "wav"
    assert pd.isna(rec.loc["r2", "recording_duration_ms"])  # empty text is missing, not bad
    assert rec.loc["r1", "recording_start"] == pd.Timestamp(1795514100000, unit="ms", tz="UTC")
    assert rec.loc["r1", "received_at"] == pd.Timestamp(stamp(0))
    tr = result.transcriptions
    assert tr["transcription_charge"].tolist() == [0.3]
    assert tr["error"].isna().all()
    assert result.stats.quarantined == 0


def test_every_kind_of_bad_line_is_quarantined_and_counted(tmp_path):
    bad_number = recording("r3", duration_ms="12O5")
    no_id = recording("")
    no_id["payload"].pop("recording_id")
    log = write_log(tmp_path / "log.jsonl",
                    recording("r1"),
                    "not json\n",
                    "\n",
                    no_id,
                    bad_number,
                    {"event": "call", "received_at": stamp(1), "payload": {"recording_id": "x"}},
                    "[1, 2]\n",
                    recording("r2", at=3),
                    {"event": "recording", "received_at": "yesterday",
                     "payload": recording("r4")["payload"]},
                    '{"event": "recording", "payl')
    result = load_callbacks(log)
    q = result.quarantine
    assert q["line"].tolist() == [2, 4, 5, 6, 7, 9, 10]
    assert q["file"].unique().tolist() == [str(log)]
    reasons = q["reason"].tolist()
    assert reasons[0].startswith("not valid JSON")
    assert "recording_id" in reasons[1]
    assert reasons[2] == "recording_duration_ms: '12O5' is not a number"
    assert "unknown event kind" in reasons[3]
    assert reasons[4].startswith("not a JSON object")
    assert "received_at" in reasons[5] and "yesterday" in reasons[5]
    assert reasons[6].startswith("torn last line")
    assert q["raw"].tolist()[0] == "not json"
    assert q["event"].tolist()[2] == "recording"
    assert result.recordings["recording_id"].tolist() == ["r1", "r2"]
    assert result.stats.lines == 9 and result.stats.blank_lines == 1
    assert accounted(result)


def test_strict_raises_on_the_first_bad_line_with_file_and_line(tmp_path):
    write_log(tmp_path / "a.jsonl", recording("r1"))
    log = write_log(tmp_path / "b.jsonl", recording("r2"), recording("r3"),
                    recording("r4", duration_ms="x1"), "not json\n")
    with pytest.raises(LoadError) as caught:
        load_callbacks(tmp_path, strict=True)
    error = caught.value
    assert (error.file, error.line) == (str(log), 3)
    assert "recording_duration_ms" in error.reason and "'x1'" in error.reason
    assert f"{log}:3:" in str(error)
    assert load_callbacks(tmp_path).stats.quarantined == 2  # not strict: both kept aside


def test_a_bad_line_deep_in_a_large_piece_is_found_and_the_rest_kept(tmp_path):
    lines = [recording(f"r{i}", at=i % 3000) for i in range(5000)]
    lines[4321] = "{oops\n"
    result = load_callbacks(write_log(tmp_path / "log.jsonl", *lines))
    assert result.quarantine["line"].tolist() == [4322]
    assert len(result.recordings) == 4999
    assert accounted(result)


def test_sources_folder_glob_list_and_skipped_subfolders(tmp_path):
    write_log(tmp_path / "day1" / "callbacks-1.jsonl", recording("r1"))
    write_log(tmp_path / "day2" / "callbacks-2.jsonl", recording("r2", at=1))
    write_log(tmp_path / "_rejected" / "x.jsonl", recording("rejected"))
    write_log(tmp_path / ".hidden" / "x.jsonl", recording("hidden"))
    (tmp_path / "notes.txt").write_text("not a log")
    assert load_callbacks(tmp_path).recordings["recording_id"].tolist() == ["r1", "r2"]
    assert load_callbacks(str(tmp_path / "day*" / "*.jsonl")).stats.files == 2
    both = load_callbacks([tmp_path / "day2", tmp_path / "day1" / "callbacks-1.jsonl",
                           tmp_path / "day2" / "callbacks-2.jsonl"])
    assert both.stats.files == 2  # each file once
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        load_callbacks(tmp_path / "nothing-here")


def test_a_line_that_is_json_but_not_an_object_says_what_it_is_in_json_terms(tmp_path):
    log = write_log(tmp_path / "log.jsonl", recording("r1"), "null\n", "[1, 2]\n", "42\n",
                    "true\n", '"text"\n')
    result = load_callbacks(log)
    assert result.recordings["recording_id"].tolist() == ["r1"]
    assert result.quarantine["reason"].tolist() == [
        f"not a JSON object (a JSON {kind})"
        for kind in ("null", "array", "number", "boolean", "string")]


def test_a_glob_matching_no_log_file_is_an_error_not_empty_frames(tmp_path):
    (tmp_path / "notes.txt").write_text("not a log")
    with pytest.raises(FileNotFoundError, match=r"'.*typo.*\*\.jsonl': no log files found"):
        load_callbacks(str(tmp_path / "typo" / "*.jsonl"))
    with pytest.raises(FileNotFoundError, match="no log files found"):
        load_callbacks(str(tmp_path / "*.txt"))  # matches, but nothing a log can be


def test_an_empty_folder_gives_empty_schema_frames(tmp_path):
    result = load_callbacks(tmp_path)
    assert result.stats.files == 0 and result.stats.lines == 0
    assert result.recordings.empty
    assert result.recordings.dtypes.equals(schema.dtypes(schema.RECORDINGS))
    assert result.transcriptions.dtypes.equals(schema.dtypes(schema.TRANSCRIPTIONS))


def test_unknown_engine_is_refused(tmp_path):
    with pytest.raises(ValueError, match="engine"):
        load_callbacks(tmp_path, engine="spark")


def test_progress_bar_shows_and_can_be_turned_off(tmp_path, capsys):
    log = write_log(tmp_path / "log.jsonl", *[recording(f"r{i}") for i in range(100)])
    load_callbacks(log, progress=True)
    shown = capsys.readouterr().err
    assert "loading callbacks" in shown
    load_callbacks(log, progress=False)
    load_callbacks(log)  # small: no bar by default
    assert capsys.readouterr().err == ""


def test_result_repr_and_html_show_the_counts(tmp_path):
    result = load_callbacks(write_log(tmp_path / "log.jsonl", recording("r1"), "bad\n"))
    assert "1 recordings" in repr(result) and "1 quarantined" in repr(result)
    assert ".quarantine" in result._repr_html_()
    assert result.to_dict()["quarantined"] == 1


def test_backfilled_recordings_are_marked(tmp_path):
    backfilled = recording("r2", at=2, duration_ms="5000.00000")
    backfilled["source"] = "backfill"
    no_source = recording("r3", at=3)
    no_source.pop("source")
    result = load_callbacks(write_log(tmp_path / "log.jsonl", recording("r1"), backfilled,
                                      no_source))
    assert result.recordings["backfilled"].tolist() == [False, True, False]
    assert result.recordings["recording_duration_ms"].tolist()[1] == 5000
