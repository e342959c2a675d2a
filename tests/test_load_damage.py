"""Damaged logs: what comes before the damage is kept, the damage is quarantined with a reason.

A torn or corrupt ``.gz`` / ``.zst``, a line holding a lone surrogate escape, a CSV cell that is
not UTF-8: each loses at most the lines that are really unreadable, never the whole file.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import zlib

import pyarrow as pa
import pytest
from loadlogs import DATA, URL, line, recording, stamp, transcription, write_log

from recording_toolkit.cli import main
from recording_toolkit.errors import LoadError
from recording_toolkit.load import load_callbacks

SAMPLE = DATA / "callbacks" / "callbacks-2026-11-02-rx-a.jsonl"  # no damaged line in it


def accounted(result) -> bool:
    s = result.stats
    return s.lines == s.recordings + s.transcriptions + s.duplicates + s.quarantined


def loaded_ids(result) -> list[str]:
    return sorted(set(result.recordings["recording_id"]) | set(result.transcriptions[
        "recording_id"]))


def ids_in(lines: list[bytes]) -> list[str]:
    loaded = load_callbacks_bytes(b"".join(lines))
    assert loaded.stats.quarantined == 0
    return loaded_ids(loaded)


def load_callbacks_bytes(data: bytes):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "plain.jsonl"
        path.write_bytes(data)
        return load_callbacks(path)


def gunzip(data: bytes) -> bytes:
    """What ``zcat`` writes for ``data`` (the tool when there is one, else zlib the same way)."""
    tool = shutil.which("gzip")
    if tool:
        return subprocess.run([tool, "-dc"], input=data, capture_output=True, check=False).stdout
    decoder = zlib.decompressobj(wbits=31)
    return decoder.decompress(data)


def grouped(lines: list[bytes], size: int, codec: str) -> tuple[bytes, list[int]]:
    """``lines`` compressed with a flush after every ``size`` lines: (data, compressed offset
    after each group). A flush closes the block, so a cut after it keeps the group whole."""
    ends = []
    if codec == "gzip":
        packer = zlib.compressobj(wbits=31)
        parts = []
        for k in range(0, len(lines), size):
            parts.append(packer.compress(b"".join(lines[k:k + size])))
            parts.append(packer.flush(zlib.Z_FULL_FLUSH))
            ends.append(sum(map(len, parts)))
        parts.append(packer.flush())
        return b"".join(parts), ends
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, codec) as out:
        for k in range(0, len(lines), size):
            out.write(b"".join(lines[k:k + size]))
            out.flush()
            ends.append(sink.tell())
    return sink.getvalue().to_pybytes(), ends


def many_lines(n: int) -> list[bytes]:
    return [line(recording(f"r{i:04d}", at=i % 3000, conference=f"room {i % 7}")).encode()
            for i in range(n)]


# -- a torn gzip ------------------------------------------------------------------------------

@pytest.mark.parametrize("keep", [3000, 0.5, -10])
def test_a_truncated_gzip_keeps_every_complete_line_zcat_recovers(tmp_path, keep):
    packed = gzip.compress(SAMPLE.read_bytes())
    cut = keep if isinstance(keep, int) and keep > 0 else (
        int(len(packed) * keep) if isinstance(keep, float) else len(packed) + keep)
    for _ in range(500):  # move the cut back until it falls inside a line (data-dependent)
        recovered = gunzip(packed[:cut])
        complete = recovered.split(b"\n")[:-1]
        torn = recovered.split(b"\n")[-1]
        if torn:
            break
        cut -= 1
    assert complete and torn  # the cut is inside a line
    target = tmp_path / "callbacks.jsonl.gz"
    target.write_bytes(packed[:cut])

    result = load_callbacks(target)
    assert loaded_ids(result) == ids_in([x + b"\n" for x in complete])
    assert result.stats.lines == len(complete) + 1
    assert result.stats.quarantined == 1
    row = result.quarantine.iloc[0]
    assert row["file"] == str(target)
    assert row["line"] == len(complete) + 1
    assert "gzip stream ends early (the file is truncated)" in row["reason"]
    # zlib may hand out a few bytes of the torn line more than gzip's tool writes
    whole_line = SAMPLE.read_bytes().split(b"\n")[len(complete)].decode()
    assert row["raw"].startswith(torn.decode()) and whole_line.startswith(row["raw"])
    assert accounted(result)


def test_a_truncated_gzip_named_without_its_format_is_still_decompressed(tmp_path):
    # ``head -c 3000 <(gzip -c log) > /tmp/t.gz``: the name says gzip, not JSON Lines
    packed = gzip.compress(SAMPLE.read_bytes())[:3000]
    target = tmp_path / "t.gz"
    target.write_bytes(packed)
    complete = gunzip(packed).count(b"\n")
    result = load_callbacks(target)
    assert len(result.recordings) + len(result.transcriptions) == complete
    assert result.stats.quarantined == 1


def test_the_report_counts_the_torn_tail_and_keeps_the_rest(tmp_path, capsys):
    packed = gzip.compress(SAMPLE.read_bytes())[:3000]
    target = tmp_path / "t.gz"
    target.write_bytes(packed)
    assert main(["report", str(target), "--json"]) == 0
    out = capsys.readouterr().out
    import json

    summary = json.loads(out)
    assert summary["source"]["lines"] == gunzip(packed).count(b"\n") + 1
    assert summary["source"]["quarantined"] == 1
    assert summary["recordings"]["count"] > 0


def test_strict_loading_of_a_torn_gzip_names_the_file_and_line(tmp_path):
    packed = gzip.compress(SAMPLE.read_bytes())[:3000]
    target = tmp_path / "log.jsonl.gz"
    target.write_bytes(packed)
    with pytest.raises(LoadError) as caught:
        load_callbacks(target, strict=True)
    assert caught.value.file == str(target)
    assert caught.value.line == gunzip(packed).count(b"\n") + 1
    assert "truncated" in caught.value.reason


@pytest.mark.parametrize("codec", ["gzip", "zstd"])
def test_a_cut_inside_a_block_keeps_every_block_before_it(tmp_path, codec):
    lines = many_lines(400)
    packed, ends = grouped(lines, 40, codec)
    suffix = ".gz" if codec == "gzip" else ".zst"
    for group in (0, 4, 8):
        cut = (ends[group] + ends[group + 1]) // 2
        target = tmp_path / f"cut-{group}.jsonl{suffix}"
        target.write_bytes(packed[:cut])
        result = load_callbacks(target)
        kept = len(result.recordings)
        assert kept >= 40 * (group + 1)  # every whole group before the cut
        assert result.recordings["recording_id"].tolist()[:40 * (group + 1)] == [
            f"r{i:04d}" for i in range(40 * (group + 1))]
        assert result.stats.quarantined == 1
        assert "ends early (the file is truncated)" in result.quarantine["reason"].item()
        assert accounted(result)


def test_a_truncated_zstd_keeps_what_the_zstd_tool_recovers(tmp_path):
    tool = shutil.which("zstd")
    if tool is None:
        pytest.skip("no zstd tool to compare with")
    lines = many_lines(3000)
    packed, _ = grouped(lines, 3000, "zstd")  # one stream, blocks of 128 KiB
    for cut in (len(packed) // 3, len(packed) - 20):
        target = tmp_path / f"cut{cut}.jsonl.zst"
        target.write_bytes(packed[:cut])
        recovered = subprocess.run([tool, "-dc"], input=packed[:cut], capture_output=True,
                                   check=False).stdout
        complete = recovered.count(b"\n")
        assert complete > 0
        result = load_callbacks(target)
        assert len(result.recordings) == complete
        assert result.stats.lines == complete + 1
        assert result.quarantine["line"].tolist() == [complete + 1]


@pytest.mark.parametrize("codec", ["gzip", "zstd"])
def test_damage_in_the_middle_keeps_every_line_before_it(tmp_path, codec):
    lines = many_lines(400)
    packed, ends = grouped(lines, 40, codec)
    damaged = bytearray(packed)
    start = ends[4] + 5  # inside the sixth group's block
    damaged[start:start + 40] = bytes(b ^ 0x5A for b in damaged[start:start + 40])
    target = tmp_path / f"log.jsonl.{'gz' if codec == 'gzip' else 'zst'}"
    target.write_bytes(bytes(damaged))
    result = load_callbacks(target)
    assert result.recordings["recording_id"].tolist()[:200] == [f"r{i:04d}" for i in range(200)]
    assert result.stats.quarantined >= 1
    assert result.quarantine["reason"].str.contains("damaged|ends early|not valid").all()
    assert accounted(result)


def test_a_torn_gzip_csv_keeps_the_rows_before_the_cut(tmp_path):
    rows = ["event,received_at,recording_id,record_url"] + [
        f"recording,{stamp(i)},r{i},{URL}/r{i}.mp3" for i in range(300)]
    packed = gzip.compress(("\n".join(rows) + "\n").encode())
    cut = packed[: len(packed) // 2]
    target = tmp_path / "export.csv.gz"
    target.write_bytes(cut)
    complete_rows = gunzip(cut).count(b"\n") - 1  # less the header
    result = load_callbacks(target)
    assert len(result.recordings) == complete_rows > 0
    assert result.quarantine["line"].tolist() == [complete_rows + 1]
    assert "truncated" in result.quarantine["reason"].item()
    assert accounted(result)


# -- text that is not Unicode ----------------------------------------------------------------

def test_a_lone_surrogate_escape_quarantines_its_line_only(tmp_path):
    bad = ('{"event": "recording", "received_at": "2026-11-24T10:15:02Z", "payload":'
           ' {"recording_id": "a\\ud800b", "record_url": "https://h/r1.mp3"}}\n')
    bad_event = '{"event": "rec\\udfffording", "payload": {"recording_id": "z"}}\n'
    log = write_log(tmp_path / "log.jsonl", recording("r1", at=1), bad, transcription("r1", at=2),
                    bad_event, recording("r2", at=3))
    result = load_callbacks(log)
    assert result.recordings["recording_id"].tolist() == ["r1", "r2"]
    assert result.transcriptions["recording_id"].tolist() == ["r1"]
    q = result.quarantine
    assert q["line"].tolist() == [2, 4]
    assert "field 'recording_id'" in q["reason"].iloc[0]
    assert "surrogate" in q["reason"].iloc[0]
    assert "field 'event'" in q["reason"].iloc[1]
    assert "a\\ud800b" in q["raw"].iloc[0]
    assert accounted(result)
    with pytest.raises(LoadError) as caught:
        load_callbacks(log, strict=True)
    assert (caught.value.file, caught.value.line) == (str(log), 2)


def test_the_report_reads_a_log_with_a_lone_surrogate(tmp_path, capsys):
    bad = '{"event": "recording", "payload": {"recording_id": "a\\ud800b"}}\n'
    log = write_log(tmp_path / "log.jsonl", recording("r1", at=1), bad)
    assert main(["report", str(log), "--json"]) == 0
    captured = capsys.readouterr()
    assert '"quarantined": 1' in captured.out
    assert "Traceback" not in captured.err


def test_a_csv_cell_that_is_not_utf8_quarantines_its_row_only(tmp_path):
    text = ("event,received_at,recording_id,record_url\n"
            f"recording,{stamp(1)},r1,{URL}/r1.mp3\n"
            f"recording,{stamp(2)},r\udcff2,{URL}/r2.mp3\n"
            f"recording,{stamp(3)},r3,{URL}/r3.mp3\n")
    log = tmp_path / "export.csv"
    log.write_bytes(text.encode("utf-8", "surrogateescape"))  # a raw 0xff byte
    result = load_callbacks(log)
    assert result.recordings["recording_id"].tolist() == ["r1", "r3"]
    q = result.quarantine
    assert q["line"].tolist() == [2]
    assert q["reason"].item().startswith("column 'recording_id': not valid UTF-8")
    assert "r\\xff2" in q["raw"].item()
    assert accounted(result)


# -- lines the fast reader must not be given ---------------------------------------------------

NULL_AT_BLOCK_EDGES = r'''
import sys
from pathlib import Path
from recording_toolkit.load import load_callbacks

block = 1 << 20
good = b'{"event":"recording","payload":{"recording_id":"r%06d","record_url":"u"}}\n'
out, n = bytearray(b"null\n"), 0
for edge in (block, 2 * block, 3 * block - 1):
    while len(out) + 200 < edge:
        out += good % n
        n += 1
    room = edge - len(out) - len(b'{"x":""}\n')
    out += b'{"x":"' + b"y" * room + b'"}\n' + b"\r\n  null\n"
out += good % n
path = Path(sys.argv[1])
path.write_bytes(bytes(out))
result = load_callbacks(path)
s = result.stats
assert s.lines == s.recordings + s.transcriptions + s.duplicates + s.quarantined, s
nulls = result.quarantine["reason"].str.contains("JSON null").sum()
print(nulls, len(result.recordings))
'''


def test_a_null_line_where_the_fast_reader_cuts_its_blocks_is_quarantined(tmp_path):
    # pyarrow's JSON reader crashes the process on a block whose first value is null: the
    # loader must never hand it one (run in a child process, so a crash fails only this test)
    import sys

    done = subprocess.run([sys.executable, "-c", NULL_AT_BLOCK_EDGES, str(tmp_path / "l.jsonl")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    nulls, recordings = map(int, done.stdout.split())
    assert nulls == 4
    assert recordings > 20000


def test_a_buffer_pyarrow_still_holds_after_a_failed_read_is_waited_for():
    # read_json can raise while its tasks for other blocks still hold the input for a moment;
    # the reader must wait for them before reusing its buffer, not fail with BufferError
    import threading

    from recording_toolkit.load import _jsonl

    data = bytearray(b'{"a": 1}\n' * 100)
    view = memoryview(data)
    held = [pa.py_buffer(view)]  # what a task still holds
    timer = threading.Timer(0.05, held.clear)
    timer.start()
    try:
        _jsonl._wait_for_release(view)
    finally:
        timer.join()
    data.extend(b"more")  # released: the buffer can be resized and reused
    assert len(data) == 904
