"""A JSON Lines file read in many small pieces gives what one piece gives.

The reader parses a piece while a helper thread types the one before it, alternating two
buffers; small pieces make every step of that happen many times in one small file: lines
carried over from one buffer to the other, a line longer than a buffer, bad lines in several
pieces, and a strict load that must name the first bad line, not a later one.
"""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loadlogs import line, recording, transcription, write_log

from recording_toolkit.errors import LoadError
from recording_toolkit.load import _dedup, _file, _jsonl
from recording_toolkit.load._convert import (
    RECORDING,
    RECORDINGS_ARROW,
    TRANSCRIPTION,
    TRANSCRIPTIONS_ARROW,
)
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


def _reference(read: _jsonl.JsonlRead, kind: int, names: list[str], prefer_success: bool
               ) -> tuple[list[dict], int] | None:
    """One kind picked from parts that carry no ids hashed beforehand (each selection hashes
    the ids itself)."""
    parts = [_dedup.Part(batch, np.flatnonzero(kinds == kind))
             for batch, kinds in zip(read.batches, read.kinds, strict=True)]
    if not sum(map(len, parts)):
        return None
    out = _dedup.select(parts, names, prefer_success=prefer_success)
    return out.table.to_pylist(), out.duplicates


UUIDS = [str(uuid.UUID(int=i * 7919 + 1)) for i in range(6)]
item_strategy = st.tuples(
    st.sampled_from(["recording", "transcription", "recording", "transcription", "damaged",
                     "blank"]),
    st.sampled_from(UUIDS) | st.sampled_from(["short-1", "short-22"]), st.integers(0, 40),
    st.booleans())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(item_strategy, min_size=1, max_size=50),
       chunk_bytes=st.sampled_from([300, 900, 1 << 20]))
def test_ids_hashed_once_per_piece_pick_the_rows_each_selection_picks(items, chunk_bytes,
                                                                    tmp_path_factory):
    # redelivered ids within and across pieces, lines out of time order, damaged and blank
    # lines, ids of several lengths (hashed per piece, or read as text where lengths differ)
    lines = []
    for what, rid, at, flag in items:
        if what == "recording":
            lines.append(line(recording(rid, at=at, conference="c" if flag else "d")))
        elif what == "transcription":
            lines.append(line(transcription(rid, at=at, error="failed" if flag else "")))
        elif what == "damaged":
            lines.append('{"event": "recording", "payl\n' if flag else "[1, 2]\n")
        else:
            lines.append("\n")
    path = write_log(tmp_path_factory.mktemp("log") / "log.jsonl", *lines)
    got = read(path, chunk_bytes)
    tables = _file.from_typed(got.batches, got.kinds, got.quarantine, lines=got.lines,
                              blank_lines=got.blank_lines)
    for kind, arrow, table, duplicates, prefer in (
            (RECORDING, RECORDINGS_ARROW, tables.recordings, tables.recording_duplicates, False),
            (TRANSCRIPTION, TRANSCRIPTIONS_ARROW, tables.transcriptions,
             tables.transcription_duplicates, True)):
        expected = _reference(got, kind, arrow.names, prefer)
        assert (table.to_pylist(), duplicates) == (expected or ([], 0))
    assert tables.quarantine.num_rows == sum(what == "damaged" for what, *_ in items)
