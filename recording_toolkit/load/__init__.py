"""Callback logs -> typed pandas (or Dask) frames: nothing lost, deduplicated, fast.

``load_callbacks`` reads JSON Lines, CSV and Parquet logs (files, folders, globs, fsspec URLs)
into the frames of :mod:`recording_toolkit.schema`; ``load_journal`` reads the client's request
journal; ``join_recordings`` puts each recording next to its transcription outcome.
"""

from __future__ import annotations

from ._join import join_recordings
from ._journal_reader import load_journal
from ._load import load_callbacks, load_recordings, load_transcriptions
from ._result import LoadResult, LoadStats

__all__ = [
    "LoadResult",
    "LoadStats",
    "join_recordings",
    "load_callbacks",
    "load_journal",
    "load_recordings",
    "load_transcriptions",
]
