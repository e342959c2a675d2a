"""``recording-toolkit search``: the JSON, CSV and table outputs, on a log worked by hand and on
the sample data.

The hand-made log holds three recordings and four transcription callbacks:

=====  ===========  ================  ==================================================
id     conference   start (UTC)       transcription
=====  ===========  ================  ==================================================
r1     eng-standup  2026-11-03 09:00  "Speaker 0: The deploy is blocked.\\nSpeaker 1: Deploy later."
r2     eng-review   2026-11-02 14:00  "Speaker 0: Review the deploy plan."
r3     hr-sync      2026-11-02 08:00  failed ("Recording duration too short ...")
rX     --           --                "Speaker 0: deploy notes." (no recording callback)
=====  ===========  ================  ==================================================
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from recording_toolkit.cli import main

DATA = Path(__file__).resolve().parents[1] / "data" / "callbacks"


def _recording(rid: str, conference: str, start: str) -> dict:
    start_ms = int(datetime.fromisoformat(start).replace(tzinfo=UTC).timestamp() * 1000)
    return {"event": "recording", "received_at": "2026-11-03T10:00:00Z", "verified": True,
            "payload": {"api_id": f"api-{rid}", "record_url": f"https://m.invalid/{rid}.mp3",
                        "recording_id": rid, "conference_name": conference,
                        "recording_duration": "60", "recording_duration_ms": "60000",
                        "recording_start_ms": str(start_ms),
                        "recording_end_ms": str(start_ms + 60_000)}}


def _transcription(rid: str, text: str, error: str = "") -> dict:
    return {"event": "transcription", "received_at": "2026-11-03T11:00:00Z", "verified": True,
            "payload": {"transcription": text, "transcription_charge": "0.05",
                        "transcription_rate": "0.05", "duration": "60",
                        "call_uuid": f"call-{rid}", "recording_id": rid, "error": error}}


@pytest.fixture
def log(tmp_path) -> Path:
    lines = [
        _recording("r1", "eng-standup", "2026-11-03 09:00"),
        _recording("r2", "eng-review", "2026-11-02 14:00"),
        _recording("r3", "hr-sync", "2026-11-02 08:00"),
        _transcription("r1", "Speaker 0: The deploy is blocked.\nSpeaker 1: Deploy later."),
        _transcription("r2", "Speaker 0: Review the deploy plan."),
        _transcription("r3", "", "Recording duration too short for transcription"),
        _transcription("rX", "Speaker 0: deploy notes."),
    ]
    path = tmp_path / "callbacks.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), "utf-8")
    return path


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_has_the_query_the_matches_and_hits_by_recording_start(log, capsys):
    code, out, err = run(["search", str(log), "deploy", "--json", "--no-progress"], capsys)
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert list(document) == ["query", "matches", "hits"]
    assert (document["query"], document["matches"]) == ("deploy", 3)
    hits = document["hits"]
    assert [h["recording_id"] for h in hits] == ["r2", "r1", "rX"]  # by start, unknown last
    assert list(hits[0]) == ["recording_id", "conference_name", "recording_start", "count",
                             "snippet"]
    assert hits[0] == {"recording_id": "r2", "conference_name": "eng-review",
                       "recording_start": "2026-11-02T14:00:00+00:00", "count": 1,
                       "snippet": "Speaker 0: Review the deploy plan."}
    assert hits[1]["count"] == 2  # "deploy" and "Deploy"
    assert hits[2]["conference_name"] is None and hits[2]["recording_start"] is None


def test_case_sensitive_and_regex(log, capsys):
    code, out, _ = run(["search", str(log), "Deploy", "--case-sensitive", "--json"], capsys)
    assert code == 0
    document = json.loads(out)
    assert [(h["recording_id"], h["count"]) for h in document["hits"]] == [("r1", 1)]
    code, out, _ = run(["search", str(log), r"deploy (plan|notes)", "--regex", "--json"], capsys)
    assert [h["recording_id"] for h in json.loads(out)["hits"]] == ["r2", "rX"]


def test_the_table_is_formatted_and_says_what_was_not_searched(log, capsys):
    code, out, _ = run(["search", str(log), "deploy"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["Started", "(UTC)", "Conference", "Recording", "id", "Matches",
                                "Snippet"]
    assert lines[2].startswith("2026-11-02 14:00  eng-review")
    assert lines[4].startswith("–")  # rX: no start known
    assert lines[-1] == ("3 transcriptions of 3 searched mention 'deploy' (4 times);"
                         " not searched: 1 failed")


def test_no_match_is_not_an_error(log, capsys):
    code, out, _ = run(["search", str(log), "invoice", "--json"], capsys)
    assert (code, json.loads(out)) == (0, {"query": "invoice", "matches": 0, "hits": []})
    code, out, _ = run(["search", str(log), "invoice"], capsys)
    assert code == 0 and out.startswith("0 transcriptions of 3 searched")


def test_csv_writes_one_row_per_hit(log, tmp_path, capsys):
    target = tmp_path / "hits.csv"
    code, out, err = run(["search", str(log), "deploy", "--csv", str(target)], capsys)
    assert code == 0 and out == "" and "wrote 3 hits" in err
    rows = list(csv.DictReader(io.StringIO(target.read_text("utf-8"))))
    assert [r["recording_id"] for r in rows] == ["r2", "r1", "rX"]
    assert rows[1]["count"] == "2" and rows[2]["conference_name"] == ""


def test_a_bad_pattern_names_the_query_before_loading(tmp_path, capsys):
    # the source does not exist: the query is refused first
    code, out, err = run(["search", str(tmp_path / "none"), "(", "--regex"], capsys)
    assert code == 1 and out == ""
    assert err.startswith("recording-toolkit search: error: QUERY '(' is not a regular")


def test_sample_data_hits_match_the_json_count(capsys):
    code, out, _ = run(["search", str(DATA), "invoice", "--json", "--no-progress"], capsys)
    assert code == 0
    document = json.loads(out)
    assert document["matches"] == len(document["hits"]) > 0
    starts = [h["recording_start"] for h in document["hits"] if h["recording_start"]]
    assert starts == sorted(starts)
    assert all("invoice" in h["snippet"].lower() for h in document["hits"])
    # the phrase bank gives finance meetings their own words
    conferences = {h["conference_name"] for h in document["hits"] if h["conference_name"]}
    assert conferences and all(name.startswith("finance-") for name in conferences)
