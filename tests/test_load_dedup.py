"""Deduplication picks the same rows whether ids are numbered by their hash or by their text.

``_dedup`` numbers recording ids through a 64-bit hash of each id when every id of a chunk has
the same length (Plivo's ids are UUIDs), checks each repeated hash against the id it stands
for, and encodes the text itself otherwise. The reference here is always that text encoding.
"""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from loadlogs import recording, transcription, write_log

from recording_toolkit.load import _dedup, load_callbacks
from recording_toolkit.load._dedup import Part, select

UTC_US = pa.timestamp("us", "UTC")
POOL = [str(uuid.UUID(int=i * 7919 + 1)) for i in range(12)]  # all 36 characters


def table(rows: list[tuple[str, int | None, str | None]]) -> pa.Table:
    return pa.table({
        "recording_id": pa.array([r[0] for r in rows], pa.string()),
        "received_at": pa.array([r[1] for r in rows], UTC_US),
        "error": pa.array([r[2] for r in rows], pa.string()),
    })


def picked(parts: list[Part], prefer_success: bool, *, hashed: bool = True
           ) -> tuple[list[dict], int]:
    with pytest.MonkeyPatch.context() as patch:
        if not hashed:
            patch.setattr(_dedup, "id_keys", lambda ids: None)
        out = select(parts, ["recording_id", "received_at", "error"],
                     prefer_success=prefer_success)
    return out.table.to_pylist(), out.duplicates


rows_strategy = st.lists(
    st.tuples(st.sampled_from(POOL), st.none() | st.integers(0, 20),
              st.none() | st.just("too long")),
    min_size=1, max_size=60)


@settings(max_examples=60, deadline=None)
@given(pieces=st.lists(rows_strategy, min_size=1, max_size=3), prefer_success=st.booleans(),
       some_rows=st.booleans())
def test_hashed_ids_pick_the_rows_the_text_picks(pieces, prefer_success, some_rows):
    # a part may name only some of its rows (one kind's rows of a wide table)
    parts = [Part(table(rows), np.arange(0, len(rows), 2)) if some_rows else Part(table(rows))
             for rows in pieces]
    assert _dedup.id_keys(parts[0].table.column("recording_id")) is not None  # hashed here
    assert picked(parts, prefer_success) == picked(parts, prefer_success, hashed=False)


def test_a_hash_collision_is_caught_and_the_text_decides(monkeypatch):
    a, b = POOL[0], POOL[1]
    t = table([(a, 1, None), (b, 2, None), (a, 3, None), (b, 4, "too long")])
    monkeypatch.setattr(_dedup, "id_keys", lambda ids: np.zeros(len(ids), dtype=np.uint64))
    rows, duplicates = picked([Part(t)], prefer_success=True)
    assert [(r["recording_id"], r["received_at"].microsecond) for r in rows] == [(a, 1), (b, 2)]
    assert duplicates == 2


def test_only_ids_of_one_length_per_chunk_are_hashed():
    assert _dedup.id_keys(pa.chunked_array([pa.array(["r1", "r10"])])) is None
    assert _dedup.id_keys(pa.chunked_array([pa.array(["r1", None])])) is None
    assert len(_dedup.id_keys(pa.chunked_array([], pa.string()))) == 0
    keys = _dedup.id_keys(pa.chunked_array([pa.array(["r1", "r2", "r1"]), pa.array(["r10"])]))
    assert keys is not None
    assert keys[0] == keys[2] and len({*keys.tolist()}) == 3


def test_load_callbacks_frames_are_the_same_either_way(tmp_path):
    ids = [str(uuid.UUID(int=i * 104729 + 3)) for i in range(40)]
    items = []
    for i, rid in enumerate(ids):
        items.append(recording(rid, at=100 + i))
        items.append(transcription(rid, at=200 + i, error="too short" if i % 3 == 0 else ""))
        if i % 4 == 0:  # redelivered: a later copy, and one received earlier than the first
            items.append(recording(rid, at=300 + i, conference="later"))
            items.append(transcription(rid, at=50 + i, error="" if i % 3 == 0 else "failed"))
    log = write_log(tmp_path / "log.jsonl", *items)
    hashed = []
    with pytest.MonkeyPatch.context() as patch:
        keys = _dedup.id_keys
        patch.setattr(_dedup, "id_keys", lambda ids: hashed.append(keys(ids)) or hashed[-1])
        fast = load_callbacks(log, progress=False)
    assert hashed and all(k is not None for k in hashed)  # the fast way was taken
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_dedup, "id_keys", lambda ids: None)
        exact = load_callbacks(log, progress=False)
    for name in ("recordings", "transcriptions", "quarantine"):
        pd.testing.assert_frame_equal(getattr(fast, name), getattr(exact, name))
    assert fast.stats == exact.stats
    assert fast.stats.duplicates == 20
    assert len(fast.recordings) == len(fast.transcriptions) == 40
