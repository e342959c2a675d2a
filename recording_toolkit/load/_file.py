"""One log file -> its recordings, transcriptions and quarantine, deduplicated within the file.

Every reader (JSON Lines, CSV, Parquet) ends in a :class:`FileTables`: Arrow tables in the
schema's types, each kind already sorted by time and deduplicated by the rules of
:mod:`._dedup`, with the counts that account for every line. The loader then only has to
combine files (the rules give the same rows whether applied per file then across files, or
once), and the cache can store a file's tables as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent import futures
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from . import _dedup
from ._convert import (
    QUARANTINE_ARROW,
    RECORDING,
    RECORDINGS_ARROW,
    TRANSCRIPTION,
    TRANSCRIPTIONS_ARROW,
)
from ._dedup import Part, select
from ._quarantine import Quarantine
from ._threads import helpers

__all__ = ["PARALLEL_ROWS", "FileTables", "combine", "from_typed"]

#: From this many rows on, recordings and transcriptions are picked in two threads.
PARALLEL_ROWS = 100_000


@dataclass
class FileTables:
    """What one file (or part of one) gave.

    ``lines == len(recordings) + len(transcriptions) + recording_duplicates
    + transcription_duplicates + len(quarantine)``.
    """

    recordings: pa.Table
    transcriptions: pa.Table
    quarantine: pa.Table
    lines: int = 0
    blank_lines: int = 0
    recording_duplicates: int = 0
    transcription_duplicates: int = 0
    cached: bool = False

    @classmethod
    def empty(cls) -> FileTables:
        return cls(RECORDINGS_ARROW.empty_table(), TRANSCRIPTIONS_ARROW.empty_table(),
                   QUARANTINE_ARROW.empty_table())


def _pick(parts: list[Part], arrow_schema: pa.Schema, *, prefer_success: bool
          ) -> tuple[pa.Table, int]:
    parts = [p for p in parts if len(p)]
    if not parts:
        return arrow_schema.empty_table(), 0
    picked = select(parts, arrow_schema.names, prefer_success=prefer_success)
    return picked.table, picked.duplicates


def _pick_both(recordings: list[Part], transcriptions: list[Part]
               ) -> tuple[tuple[pa.Table, int], tuple[pa.Table, int]]:
    """Both kinds picked; side by side in two threads when there are many rows (the work is
    mostly Arrow and numpy, which release the GIL, so a second core halves the wait)."""
    if sum(map(len, recordings)) + sum(map(len, transcriptions)) < PARALLEL_ROWS:
        return (_pick(recordings, RECORDINGS_ARROW, prefer_success=False),
                _pick(transcriptions, TRANSCRIPTIONS_ARROW, prefer_success=True))
    other = helpers().submit(_pick, transcriptions, TRANSCRIPTIONS_ARROW, prefer_success=True)
    try:
        mine = _pick(recordings, RECORDINGS_ARROW, prefer_success=False)
    finally:
        futures.wait([other])
    return mine, other.result()


def from_typed(batches: Sequence[pa.Table], kinds: Sequence[np.ndarray],
               quarantine: Quarantine | pa.Table | None, *, lines: int, blank_lines: int = 0
               ) -> FileTables:
    """Typed wide batches (``_convert.Typed``) of one file -> :class:`FileTables`."""
    # each batch's ids are hashed once, for both kinds (the selection of each kind would
    # otherwise hash every row of the wide table again)
    keys = [_dedup.id_keys(b.column("recording_id")) for b in batches]
    recordings = [Part(b, np.flatnonzero(k == RECORDING), keys=h, hashed=True)
                  for b, k, h in zip(batches, kinds, keys, strict=True)]
    transcriptions = [Part(b, np.flatnonzero(k == TRANSCRIPTION), keys=h, hashed=True)
                      for b, k, h in zip(batches, kinds, keys, strict=True)]
    (rec, rec_dups), (tr, tr_dups) = _pick_both(recordings, transcriptions)
    if quarantine is None:
        table = QUARANTINE_ARROW.empty_table()
    elif isinstance(quarantine, Quarantine):
        table = quarantine.table()
    else:
        table = quarantine
    return FileTables(rec, tr, table, lines=lines, blank_lines=blank_lines,
                      recording_duplicates=rec_dups, transcription_duplicates=tr_dups)


def combine(pieces: Sequence[FileTables]) -> FileTables:
    """Several files (or a file's cached part and its new lines), in reading order, as one."""
    pieces = list(pieces)
    if len(pieces) == 1:
        return pieces[0]
    if not pieces:
        return FileTables.empty()
    (rec, rec_dups), (tr, tr_dups) = _pick_both([Part(p.recordings) for p in pieces],
                                                [Part(p.transcriptions) for p in pieces])
    quarantine = [p.quarantine for p in pieces if p.quarantine.num_rows]
    return FileTables(
        rec, tr,
        pa.concat_tables(quarantine) if quarantine else QUARANTINE_ARROW.empty_table(),
        lines=sum(p.lines for p in pieces),
        blank_lines=sum(p.blank_lines for p in pieces),
        recording_duplicates=rec_dups + sum(p.recording_duplicates for p in pieces),
        transcription_duplicates=tr_dups + sum(p.transcription_duplicates for p in pieces),
        cached=any(p.cached for p in pieces),
    )
