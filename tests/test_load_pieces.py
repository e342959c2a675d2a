"""A JSON Lines file read in many small pieces gives what one piece gives.

The reader parses a piece while a helper thread types the one before it, alternating two
buffers; small pieces make every step of that happen many times in one small file: lines
carried over from one buffer to the other, a line longer than a buffer, bad lines in several
pieces, and a strict load that must name the first bad line, not a later one.
"""

from __future__ import annotations

import numpy as np
import pytest
from loadlogs import line, recording, transcription, write_log

from recording_toolkit.errors import LoadError
from recording_toolkit.load import _jsonl
from recording_toolkit.load._sources import resolve_sources


def log_lines() -> list[str]:
    items = []
    for i in range(60):
        items.append(line(recording(f"r{i}", at=i)))
        items.append(line(transcription(f"r{i}", at=100 + i)))
        if i % 17 == 5:
            items.append("not json\n")
        if i % 23 == 7:
            items.append(line(recording(f"r{i}", at=200 + i, conference="x" * 900)))  # long
    return items


def read(path, chunk_bytes: int, *, strict: bool = False) -> _jsonl.JsonlRead:
    (source,) = resolve_sources(path)
    return _jsonl.read_jsonl(source, strict=strict, chunk_bytes=chunk_bytes)


def summary(read: _jsonl.JsonlRead) -> tuple:
    kinds = np.concatenate(read.kinds).tolist() if read.kinds else []
    rows = [row for batch in read.batches for row in batch.to_pylist()]  # every typed value
    quarantine = read.quarantine
    assert quarantine is not None
    return (kinds, rows, read.lines, read.blank_lines, read.next_line, read.consumed,
            sorted(zip(quarantine.lines, quarantine.reasons, quarantine.raws, strict=True)))


def test_small_pieces_read_what_one_piece_reads(tmp_path):
    path = write_log(tmp_path / "log.jsonl", *log_lines())
    whole = summary(read(path, 1 << 20))
    assert whole[2] == len(log_lines())
    assert len(whole[6]) == 4  # the four lines that are not JSON
    for chunk_bytes in (300, 701, 4096):  # shorter than the long lines, and longer
        assert summary(read(path, chunk_bytes)) == whole


def test_a_strict_load_in_small_pieces_names_the_first_bad_line(tmp_path):
    path = write_log(tmp_path / "log.jsonl", *log_lines())
    first_bad = next(i for i, text in enumerate(log_lines(), 1) if text == "not json\n")
    with pytest.raises(LoadError) as raised:
        read(path, 300, strict=True)
    assert raised.value.line == first_bad
