"""What a load returns: :class:`LoadResult` (frames) and :class:`LoadStats` (counts)."""

from __future__ import annotations

import html
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from ..formatting import counted

__all__ = ["LoadResult", "LoadStats"]


#: The counts of :class:`LoadStats` in words, in the order a reader checks them.
_STAT_LABELS = {
    "files": "Files read", "cached_files": "Of them from the cache", "bytes": "Size read",
    "lines": "Lines read", "blank_lines": "Blank lines (not counted)",
    "recordings": "Recordings", "transcriptions": "Transcriptions",
    "duplicates": "Duplicates dropped", "recording_duplicates": "Of them recording callbacks",
    "transcription_duplicates": "Of them transcription callbacks",
    "quarantined": "Lines quarantined",
    "test_callbacks": "Test callbacks (left out)",
}


def _stats_table(stats: LoadStats) -> str:
    """The counts as a table: words, values with separators (the size in kB/MB/GB), keys."""
    from .. import formatting as fmt

    values = stats.to_dict()
    rows = "".join(
        f"<tr><th style='text-align:left'>{html.escape(label)}</th>"
        f"<td style='text-align:right'>"
        f"{html.escape(fmt.size(values[key]) if key == 'bytes' else fmt.count(values[key]))}"
        f"</td><td><code>{key}</code></td></tr>" for key, label in _STAT_LABELS.items()
        if key != "test_callbacks" or values[key])  # shown where a preflight left some
    return f"<table>{rows}</table>"


@dataclass(frozen=True)
class LoadStats:
    """Counts of one load. Every line read is accounted for::

        lines == recordings + transcriptions + duplicates + quarantined + test_callbacks

    ``lines`` counts non-blank lines (JSON Lines) or data rows (CSV, Parquet); an unreadable
    file, or the unreadable rest of one, counts as one line and one quarantined row.
    ``blank_lines`` are not events and not counted in ``lines``. ``cached_files`` were served
    (wholly or up to an append) from the cache (``cache=True``). ``test_callbacks`` are the
    rows of test callbacks (``recording-toolkit doctor``'s, :mod:`recording_toolkit.probes`),
    left out of the frames.
    """

    files: int = 0
    lines: int = 0
    recordings: int = 0
    transcriptions: int = 0
    quarantined: int = 0
    duplicates: int = 0
    recording_duplicates: int = 0
    transcription_duplicates: int = 0
    blank_lines: int = 0
    bytes: int = 0
    cached_files: int = 0
    test_callbacks: int = 0

    def to_dict(self) -> dict[str, int]:
        """The counts as a plain dict (JSON-ready)."""
        return asdict(self)

    def _repr_html_(self) -> str:
        return f"<div><strong>Load statistics</strong>{_stats_table(self)}</div>"


@dataclass(frozen=True)
class LoadResult:
    """Callback logs loaded into typed frames.

    Attributes
    ----------
    recordings
        One row per recording (``schema.RECORDINGS``), ordered by ``received_at``.
    transcriptions
        One row per recording's transcription (``schema.TRANSCRIPTIONS``), ordered by
        ``received_at``.
    quarantine
        Every line or row that could not be used (``schema.QUARANTINE``), by file and line.
    stats
        :class:`LoadStats`.
    engine
        ``"pandas"``, or ``"dask"`` when ``recordings``, ``transcriptions`` and ``quarantine``
        are lazy Dask DataFrames.
    """

    recordings: Any
    transcriptions: Any
    quarantine: Any
    stats: LoadStats = field(default_factory=LoadStats)
    engine: str = "pandas"

    def __repr__(self) -> str:
        s = self.stats
        return (f"<LoadResult {self.engine}: {s.recordings:,} recordings, {s.transcriptions:,}"
                f" transcriptions from {counted(s.files, 'file')}; {counted(s.lines, 'line')},"
                f" {s.duplicates:,} duplicates dropped, {s.quarantined:,} quarantined"
                + (f", {s.test_callbacks:,} test callbacks left out" if s.test_callbacks else "")
                + ">")

    def _repr_html_(self) -> str:
        s = self.stats
        note = ""
        if s.quarantined:
            note = (f"<p>{counted(s.quarantined, 'line')} quarantined: see <code>.quarantine</code>"
                    " (file, line, reason, raw).</p>")
        return (f"<div><strong>Loaded {s.recordings:,} recordings and {s.transcriptions:,}"
                f" transcriptions</strong> ({html.escape(self.engine)} engine)"
                f"{_stats_table(s)}{note}</div>")

    def to_dict(self) -> dict[str, Any]:
        """The statistics and the engine (the frames stay frames)."""
        return {"engine": self.engine, **self.stats.to_dict()}

    def to_parquet(self, folder: str | os.PathLike[str]) -> dict[str, str]:
        """Write ``recordings.parquet``, ``transcriptions.parquet`` (and ``quarantine.parquet``
        when not empty) into ``folder``; loading them gives these frames back.

        Returns the paths written, by frame name.
        """
        from ._parquet import write_frame

        if self.engine != "pandas":
            raise ValueError("to_parquet() writes pandas results; for Dask, call"
                             " .recordings.to_parquet(...) on the Dask frames")
        os.makedirs(folder, exist_ok=True)
        written = {}
        for name in ("recordings", "transcriptions", "quarantine"):
            frame = getattr(self, name)
            if name == "quarantine" and frame.empty:
                continue
            path = os.path.join(os.fspath(folder), f"{name}.parquet")
            write_frame(frame, path, name)
            written[name] = path
        return written
