"""Test callbacks (``recording-toolkit doctor``'s, :mod:`recording_toolkit.probes`) left out of
the frames, and counted, so that no analysis counts a check as a call and none goes unseen."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from ..probes import TEST_CALLBACK_PREFIX
from ._file import FileTables

__all__ = ["leave_out_test_callbacks"]


def _without(table: pa.Table) -> tuple[pa.Table, int]:
    if table.num_rows == 0:
        return table, 0
    marked = pc.fill_null(pc.starts_with(table["recording_id"], TEST_CALLBACK_PREFIX), False)
    found = pc.sum(marked).as_py() or 0
    if not found:
        return table, 0
    return table.filter(pc.invert(marked)), int(found)


def leave_out_test_callbacks(tables: FileTables) -> tuple[FileTables, int]:
    """``tables`` without the rows of test callbacks, and how many rows were left out."""
    recordings, in_recordings = _without(tables.recordings)
    transcriptions, in_transcriptions = _without(tables.transcriptions)
    found = in_recordings + in_transcriptions
    if not found:
        return tables, 0
    return FileTables(recordings, transcriptions, tables.quarantine, lines=tables.lines,
                      blank_lines=tables.blank_lines,
                      recording_duplicates=tables.recording_duplicates,
                      transcription_duplicates=tables.transcription_duplicates,
                      cached=tables.cached), found
