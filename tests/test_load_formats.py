"""load_callbacks on CSV, Parquet, compressed files, flat lines and CamelCase names."""

from __future__ import annotations

import gzip
import shutil

import pandas as pd
import pyarrow as pa
import pytest
from loadlogs import DATA, URL, line, recording, stamp, transcription, write_log

from recording_toolkit import schema
from recording_toolkit.errors import LoadError
from recording_toolkit.load import load_callbacks

SAMPLE_DAY = DATA / "callbacks" / "callbacks-2026-11-04-rx-b.jsonl"  # holds a damaged line


def assert_same_frames(a, b) -> None:
    for name in ("recordings", "transcriptions"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    pd.testing.assert_frame_equal(a.quarantine.drop(columns="file"),
                                  b.quarantine.drop(columns="file"))


def zstd(src, dst) -> None:
    with open(src, "rb") as fin, pa.CompressedOutputStream(str(dst), "zstd") as out:
        out.write(fin.read())


# -- compression -------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_compressed_json_lines_give_the_same_frames(tmp_path, suffix):
    target = tmp_path / (SAMPLE_DAY.name + suffix)
    if suffix == ".gz":
        with open(SAMPLE_DAY, "rb") as fin, gzip.open(target, "wb") as out:
            shutil.copyfileobj(fin, out)
    else:
        zstd(SAMPLE_DAY, target)
    plain, packed = load_callbacks(SAMPLE_DAY), load_callbacks(tmp_path)
    assert packed.stats.files == 1
    assert len(plain.recordings) > 100
    assert_same_frames(plain, packed)
    assert packed.quarantine["file"].tolist() == [str(target)]
    assert packed.quarantine["line"].tolist() == [10]


def test_a_corrupt_gzip_is_quarantined_with_the_reason(tmp_path):
    lines = [recording(f"r{i}", at=i) for i in range(2000)]
    packed = gzip.compress("".join(line(x) for x in lines).encode())
    target = tmp_path / "log.jsonl.gz"
    target.write_bytes(packed[: len(packed) // 2])
    result = load_callbacks(target)
    assert len(result.recordings) < 2000  # whatever came out before the damage, no more
    assert result.quarantine["reason"].str.contains("cannot be read").tolist() == [True]
    assert result.stats.lines == len(result.recordings) + 1
    with pytest.raises(LoadError, match="cannot be read"):
        load_callbacks(target, strict=True)


# -- flat lines and CamelCase -------------------------------------------------------------------

def test_flat_lines_and_camel_case_names(tmp_path):
    camel = {"RecordUrl": f"{URL}/c1.wav", "RecordingID": "c1", "ConferenceName": "xml room",
             "RecordingDuration": "12", "RecordingDurationMs": "12000.00000",
             "RecordingStartMs": "1795514100000", "RecordingEndMs": "1795514112000",
             "APIId": "api-c1"}
    flat_transcription = transcription("f1")["payload"]  # kind told from the fields
    log = write_log(tmp_path / "log.jsonl",
                    recording("e1", at=1),
                    {"event": "recording", "received_at": stamp(2), "payload": camel},
                    {**recording("f1")["payload"], "received_at": stamp(3)},
                    flat_transcription,
                    {"message": "record_done", "RecordingID": "f2", "RecordUrl": f"{URL}/f2.mp3"},
                    {"RecordingID": "f3", "recording_id": "other"})
    result = load_callbacks(log)
    rec = result.recordings.set_index("recording_id")
    assert sorted(rec.index) == ["c1", "e1", "f1", "f2"]
    assert rec.loc["c1", "conference_name"] == "xml room"
    assert rec.loc["c1", "recording_duration_ms"] == 12000
    assert rec.loc["c1", "file_format"] == "wav"
    assert rec.loc["f1", "received_at"] == pd.Timestamp(stamp(3))
    assert pd.isna(rec.loc["f2", "received_at"])  # a flat line has no receive time: sorts last
    assert result.recordings["recording_id"].iloc[-1] == "f2"
    assert result.transcriptions["recording_id"].tolist() == ["f1"]
    assert result.quarantine["line"].tolist() == [6]
    assert "more than once with different values" in result.quarantine["reason"].item()
    assert result.recordings.dtypes.equals(schema.dtypes(schema.RECORDINGS))


# -- CSV ---------------------------------------------------------------------------------------

def test_csv_with_the_callbacks_field_names(tmp_path):
    log = tmp_path / "export.csv"
    log.write_text(
        "event,received_at,recording_id,record_url,conference_name,recording_duration_ms,"
        "transcription,transcription_charge,error\n"
        f"recording,{stamp(1)},r1,{URL}/r1.mp3,\"room, with comma\",345100.00000,,,\n"
        f"transcription,{stamp(9)},r1,,,,\"two\nlines\",0.30,\n"
        f"recording,{stamp(2)},r2,{URL}/r2.wav,room,12O5,,,\n"
        "recording,short row\n"
        f"recording,{stamp(3)},r1,{URL}/r1.mp3,again,1,,,\n", "utf-8")
    result = load_callbacks(tmp_path)
    assert result.recordings["recording_id"].tolist() == ["r1"]
    assert result.recordings["conference_name"].tolist() == ["room, with comma"]
    assert result.recordings["recording_duration_ms"].tolist() == [345100]
    assert result.transcriptions["transcription"].tolist() == ["two\nlines"]
    assert pd.isna(result.transcriptions["error"].item())
    q = result.quarantine
    assert q["line"].tolist() == [3, 4]  # data rows, after the header
    assert "recording_duration_ms: '12O5' is not a number" == q["reason"].iloc[0]
    assert "12O5" in q["raw"].iloc[0]
    assert q["reason"].iloc[1] == "expected 9 cells as in the header, got 2"
    assert result.stats.lines == 5 and result.stats.duplicates == 1
    s = result.stats
    assert s.lines == s.recordings + s.transcriptions + s.duplicates + s.quarantined
    with pytest.raises(LoadError) as caught:
        load_callbacks(log, strict=True)
    assert (caught.value.file, caught.value.line) == (str(log), 3)


def test_csv_with_plivos_recording_api_headers_and_compression(tmp_path):
    text = ("Recording ID,Recording URL,Conference Name,RecordingDurationMs,recording_start_ms,"
            "recording_end_ms,Add Time\n"
            f"a1,{URL}/a1.mp3,board,60000.00000,1795514100000.00000,1795514160000.00000,x\n")
    (tmp_path / "plain.csv").write_text(text, "utf-8")
    with gzip.open(tmp_path / "packed.csv.gz", "wt", encoding="utf-8") as out:
        out.write(text.replace("a1", "a2"))
    result = load_callbacks(tmp_path)
    rec = result.recordings.set_index("recording_id")
    assert sorted(rec.index) == ["a1", "a2"]
    assert rec.loc["a1", "record_url"] == f"{URL}/a1.mp3"
    assert rec.loc["a2", "file_format"] == "mp3"
    assert rec.loc["a1", "recording_end"] == pd.Timestamp(1795514160000, unit="ms", tz="UTC")
    assert result.stats.quarantined == 0


def test_a_csv_without_a_header_is_one_quarantined_line(tmp_path):
    (tmp_path / "empty.csv").write_text("\n\n", "utf-8")
    (tmp_path / "odd.csv").write_text('"unclosed\n', "utf-8")
    result = load_callbacks(tmp_path)
    assert result.stats.files == 2
    assert result.stats.quarantined == result.stats.lines <= 1


# -- Parquet -----------------------------------------------------------------------------------

def test_to_parquet_round_trips(tmp_path):
    original = load_callbacks(DATA / "callbacks")
    written = original.to_parquet(tmp_path / "out")
    assert sorted(written) == ["quarantine", "recordings", "transcriptions"]
    again = load_callbacks(tmp_path / "out")
    for name in ("recordings", "transcriptions", "quarantine"):
        pd.testing.assert_frame_equal(getattr(again, name), getattr(original, name))
    assert again.stats.quarantined == original.stats.quarantined
    assert again.stats.lines == len(original.recordings) + len(original.transcriptions) + \
        len(original.quarantine)


def test_parquet_written_by_pandas_is_read_by_its_columns(tmp_path):
    original = load_callbacks(SAMPLE_DAY)
    original.recordings.to_parquet(tmp_path / "recs.parquet")
    again = load_callbacks(tmp_path / "recs.parquet")
    pd.testing.assert_frame_equal(again.recordings, original.recordings)
    assert again.transcriptions.empty


def test_parquet_and_json_lines_together_deduplicate(tmp_path):
    original = load_callbacks(SAMPLE_DAY)
    original.to_parquet(tmp_path / "old")
    both = load_callbacks([tmp_path / "old" / "recordings.parquet", SAMPLE_DAY])
    pd.testing.assert_frame_equal(both.recordings, original.recordings)
    assert both.stats.recording_duplicates == len(original.recordings) + \
        original.stats.recording_duplicates


def test_a_foreign_parquet_file_is_refused_by_name(tmp_path):
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "other.parquet")
    result = load_callbacks(tmp_path)
    assert "not a Parquet file of the toolkit" in result.quarantine["reason"].item()
    assert pd.isna(result.quarantine["line"].item())
    with pytest.raises(LoadError, match="other.parquet"):
        load_callbacks(tmp_path, strict=True)


# -- fsspec URLs -------------------------------------------------------------------------------

def test_fsspec_urls_with_the_pandas_engine(tmp_path):
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    fs.pipe("/logs/day1/a.jsonl", line(recording("r1", at=1)).encode() + b"oops\n")
    fs.pipe("/logs/_rejected/x.jsonl", line(recording("rejected")).encode())
    with fs.open("/logs/day2/b.jsonl.gz", "wb", compression="gzip") as out:
        out.write(line(recording("r2", at=2)).encode())
    try:
        result = load_callbacks("memory://logs/", cache=True)  # URLs are read, not cached
        assert result.recordings["recording_id"].tolist() == ["r1", "r2"]
        assert result.stats.files == 2 and result.stats.cached_files == 0
        (where,) = result.quarantine["file"].tolist()  # the URL, as fsspec spells it
        assert where.startswith("memory://") and where.endswith("/logs/day1/a.jsonl")
        assert result.quarantine["line"].tolist() == [2]
        assert load_callbacks("memory://logs/day*/*.jsonl").stats.files == 1
    finally:
        fs.rm("/logs", recursive=True)
