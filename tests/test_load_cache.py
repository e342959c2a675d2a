"""cache=True: unchanged files are not parsed again, appended files only from where they were."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from loadlogs import DATA, line, recording, transcription, write_log

from recording_toolkit.errors import LoadError
from recording_toolkit.load import _cache, load_callbacks


@pytest.fixture
def parses(monkeypatch):
    """Every parse the cache asks for: (file name, byte offset)."""
    calls: list[tuple[str, int]] = []
    real_jsonl, real_file = _cache.read_jsonl_file, _cache.read_file

    def jsonl(source, **kw):
        calls.append((os.path.basename(source.path), kw.get("offset", 0)))
        return real_jsonl(source, **kw)

    def any_file(source, **kw):
        calls.append((os.path.basename(source.path), 0))
        return real_file(source, **kw)

    monkeypatch.setattr(_cache, "read_jsonl_file", jsonl)
    monkeypatch.setattr(_cache, "read_file", any_file)
    return calls


def assert_same(a, b) -> None:
    for name in ("recordings", "transcriptions", "quarantine"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.stats.lines == b.stats.lines
    assert a.stats.duplicates == b.stats.duplicates
    assert a.stats.quarantined == b.stats.quarantined


def test_an_unchanged_file_is_never_parsed_twice(tmp_path, parses):
    log = write_log(tmp_path / "logs" / "a.jsonl", recording("r1"), recording("r1", at=2),
                    "bad\n", transcription("r1", at=5))
    first = load_callbacks(tmp_path / "logs", cache=True)
    assert parses == [("a.jsonl", 0)]
    assert first.stats.cached_files == 0
    again = load_callbacks(tmp_path / "logs", cache=True)
    assert parses == [("a.jsonl", 0)]  # nothing parsed the second time
    assert again.stats.cached_files == 1
    assert_same(again, first)
    assert_same(again, load_callbacks(log))
    assert (tmp_path / "logs" / "_cache").is_dir()
    assert again.stats.files == 1  # the cache folder is not read as logs


def test_an_appended_file_parses_only_the_new_bytes(tmp_path, parses):
    log = write_log(tmp_path / "a.jsonl", recording("r1", at=1), "bad\n",
                    transcription("r1", at=3, error="too short"))
    load_callbacks(log, cache=True)
    size = log.stat().st_size
    with open(log, "a", encoding="utf-8") as out:
        out.write(line(recording("r1", at=0, conference="earlier copy")))  # received first
        out.write(line(transcription("r1", at=9)))  # a success beats the earlier error
        out.write("{also bad\n")
        out.write(line(recording("r2", at=4)))
    grown = load_callbacks(log, cache=True)
    assert parses == [("a.jsonl", 0), ("a.jsonl", size)]
    assert grown.stats.cached_files == 1
    assert_same(grown, load_callbacks(log))
    assert grown.recordings["conference_name"].tolist() == ["earlier copy", "weekly"]
    assert grown.transcriptions["error"].isna().all()
    assert grown.quarantine["line"].tolist() == [2, 6]  # numbering goes on after the append
    load_callbacks(log, cache=True)
    assert len(parses) == 2  # and now it is all cached


def test_a_torn_last_line_is_read_again_until_it_is_whole(tmp_path, parses):
    whole = line(recording("r2", at=2))
    log = write_log(tmp_path / "a.jsonl", recording("r1"), whole[:40])
    torn = load_callbacks(log, cache=True)
    assert torn.quarantine["reason"].item().startswith("torn last line")
    with open(log, "a", encoding="utf-8") as out:
        out.write(whole[40:])
    mended = load_callbacks(log, cache=True)
    assert mended.recordings["recording_id"].tolist() == ["r1", "r2"]
    assert mended.quarantine.empty
    assert parses[-1][1] == len(line(recording("r1")))  # from the torn line's start
    assert_same(mended, load_callbacks(log))


def test_a_rewritten_file_is_parsed_again(tmp_path, parses):
    log = write_log(tmp_path / "a.jsonl", recording("r1"), recording("r2"))
    load_callbacks(log, cache=True)
    write_log(log, recording("r3"))
    result = load_callbacks(log, cache=True)
    assert parses == [("a.jsonl", 0), ("a.jsonl", 0)]
    assert result.recordings["recording_id"].tolist() == ["r3"]


def test_csv_and_compressed_files_are_cached_whole(tmp_path, parses):
    csv = tmp_path / "export.csv"
    csv.write_text("recording_id,record_url\nc1,https://h/c1.wav\n", "utf-8")
    first = load_callbacks(csv, cache=True)
    again = load_callbacks(csv, cache=True)
    assert parses == [("export.csv", 0)]
    assert_same(first, again)
    csv.write_text("recording_id,record_url\nc1,https://h/c1.wav\nc2,https://h/c2.mp3\n",
                   "utf-8")
    assert len(load_callbacks(csv, cache=True).recordings) == 2
    assert parses == [("export.csv", 0), ("export.csv", 0)]


def test_strict_still_raises_for_a_cached_bad_line(tmp_path):
    log = write_log(tmp_path / "a.jsonl", recording("r1"), "bad\n")
    load_callbacks(log, cache=True)
    with pytest.raises(LoadError) as caught:
        load_callbacks(log, cache=True, strict=True)
    assert (caught.value.file, caught.value.line) == (str(log), 2)


def test_a_damaged_or_foreign_cache_is_ignored(tmp_path, parses):
    log = write_log(tmp_path / "a.jsonl", recording("r1"))
    folder = tmp_path / "elsewhere"
    load_callbacks(log, cache=folder)
    assert not (tmp_path / "_cache").exists()
    for stored in folder.rglob("recordings-*.arrow"):
        stored.write_bytes(b"not arrow")
    result = load_callbacks(log, cache=folder)
    assert result.recordings["recording_id"].tolist() == ["r1"]
    assert len(parses) == 2
    assert load_callbacks(log, cache=folder).stats.cached_files == 1  # repaired


def test_the_sample_data_through_the_cache_equals_a_plain_load(tmp_path):
    plain = load_callbacks(DATA / "callbacks")
    load_callbacks(DATA / "callbacks", cache=tmp_path)
    cached = load_callbacks(DATA / "callbacks", cache=tmp_path)
    assert cached.stats.cached_files == plain.stats.files
    assert_same(cached, plain)
