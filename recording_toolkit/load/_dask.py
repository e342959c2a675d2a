"""``engine="dask"``: the same frames from many log shards, as Dask DataFrames.

One task per file reads it where it is (a local path every worker sees, or any fsspec URL)
into its typed, sorted, per-file deduplicated tables, exactly as the pandas engine does
(:func:`._read.read_file`). Deduplication across files needs every file's candidates, so each
file sends only its keys (``recording_id``, ``received_at``, whether ``error`` is set: about
50 bytes a row) to one task that picks the winners by the same rules (:func:`._dedup.select`);
each file's partition then keeps its winners. The result:

- ``recordings`` and ``transcriptions``: Dask DataFrames with the schema's dtypes, one partition
  per file in the order given, ordered by ``received_at`` within each partition (the logs are
  split by day, so the partitions are nearly in time order too); persisted on the cluster, so
  the files are read once;
- ``quarantine`` (small) and ``stats``: computed, as pandas objects, identical to the pandas
  engine's.

With ``strict=True`` the first bad line, in file order, is raised here as
:class:`~recording_toolkit.errors.LoadError` with its file and line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import schema
from ..errors import LoadError
from ._dedup import Part, select
from ._file import FileTables
from ._frames import to_frame
from ._read import read_file
from ._result import LoadResult, LoadStats
from ._sources import SourceFile, missing_file, resolve_sources
from ._typing import QUARANTINE_ARROW

__all__ = ["load_dask"]

_KINDS = {"recordings": (schema.RECORDINGS, False), "transcriptions": (schema.TRANSCRIPTIONS, True)}


@dataclass(frozen=True)
class _Failure:
    """A strict load's error, as plain data (it crosses process boundaries intact)."""

    reason: str
    file: str | None
    line: int | None
    raw: str | None

    def error(self) -> LoadError:
        return LoadError(self.reason, file=self.file, line=self.line, raw=self.raw)


def _read(source: SourceFile, strict: bool) -> FileTables | _Failure:
    try:
        return read_file(source, strict=strict)
    except LoadError as exc:
        return _Failure(exc.reason, exc.file, exc.line, exc.raw)
    except FileNotFoundError:
        error = missing_file(source)
        return _Failure(error.reason, None, None, None)


def _failure(part: FileTables | _Failure) -> _Failure | None:
    return part if isinstance(part, _Failure) else None


def _keys(part: FileTables, kind: str) -> pa.Table:
    table: pa.Table = getattr(part, kind)
    columns = {"recording_id": table.column("recording_id"),
               "received_at": table.column("received_at"),
               "row": pa.array(np.arange(table.num_rows, dtype=np.int64))}
    if kind == "transcriptions":
        columns["error"] = table.column("error")
    return pa.table(columns)


def _winners(*keys: pa.Table, prefer_success: bool) -> tuple[list[np.ndarray], int]:
    """Rows to keep per file (ascending: the file's time order), and duplicates dropped."""
    tagged = [k.append_column("file", pa.array(np.full(k.num_rows, i, dtype=np.int32)))
              for i, k in enumerate(keys)]
    parts = [Part(t) for t in tagged if t.num_rows]
    if not parts:
        return [np.zeros(0, dtype=np.int64) for _ in keys], 0
    columns = ["file", "row", "recording_id", "received_at"]
    if prefer_success:
        columns.append("error")
    picked = select(parts, columns, prefer_success=prefer_success)
    files = picked.table.column("file").to_numpy()
    rows = picked.table.column("row").to_numpy()
    return [np.sort(rows[files == i]) for i in range(len(keys))], picked.duplicates


def _keep(part: FileTables, winners: tuple[list[np.ndarray], int], index: int, kind: str
          ) -> pd.DataFrame:
    table: pa.Table = getattr(part, kind)
    rows = winners[0][index]
    if len(rows) != table.num_rows:
        table = table.take(pa.array(rows))
    return to_frame(table, _KINDS[kind][0])


def _summary(parts: Sequence[FileTables], recordings: tuple[list[np.ndarray], int],
             transcriptions: tuple[list[np.ndarray], int]) -> tuple[pa.Table, dict[str, int]]:
    quarantine = [p.quarantine for p in parts if p.quarantine.num_rows]
    rec_dups = recordings[1] + sum(p.recording_duplicates for p in parts)
    tr_dups = transcriptions[1] + sum(p.transcription_duplicates for p in parts)
    counts = {
        "lines": sum(p.lines for p in parts),
        "blank_lines": sum(p.blank_lines for p in parts),
        "recordings": sum(len(r) for r in recordings[0]),
        "transcriptions": sum(len(r) for r in transcriptions[0]),
        "recording_duplicates": rec_dups, "transcription_duplicates": tr_dups,
    }
    table = pa.concat_tables(quarantine) if quarantine else QUARANTINE_ARROW.empty_table()
    return table, counts


def load_dask(source: Any, *, strict: bool = False,
              storage_options: Mapping[str, Any] | None = None, client: Any = None
              ) -> LoadResult:
    """See :func:`recording_toolkit.load.load_callbacks` with ``engine="dask"``."""
    try:
        import dask
        import dask.dataframe as dd
    except ImportError as exc:  # pragma: no cover - dask is an optional extra
        raise ImportError("engine='dask' needs dask: pip install 'recording_toolkit[dask]'"
                          ) from exc
    files = resolve_sources(source, storage_options=storage_options)
    options = {} if client is None else {"scheduler": client}
    delayed = dask.delayed
    parts = [delayed(_read, pure=True)(f, strict, dask_key_name=f"read-callbacks-{i}-"
                                                              f"{dask.base.tokenize(f, strict)}")
             for i, f in enumerate(files)]
    parts = list(dask.persist(*parts, **options))
    failures = dask.compute(*[delayed(_failure)(p) for p in parts], **options)
    for failure in failures:
        if failure is not None:
            raise failure.error()
    frames = {}
    winners = {}
    for kind, (spec, prefer_success) in _KINDS.items():
        keys = [delayed(_keys)(p, kind) for p in parts]
        winners[kind] = delayed(_winners)(*keys, prefer_success=prefer_success)
        pieces = [delayed(_keep)(p, winners[kind], i, kind) for i, p in enumerate(parts)]
        frames[kind] = dd.from_delayed(pieces, meta=schema.empty(spec), verify_meta=False) \
            if pieces else dd.from_pandas(schema.empty(spec), npartitions=1)
    summary = delayed(_summary)(parts, winners["recordings"], winners["transcriptions"])
    (quarantine, counts), = dask.compute(summary, **options)
    recordings, transcriptions = dask.persist(frames["recordings"], frames["transcriptions"],
                                              **options)
    total = sum(f.size() or 0 for f in files)
    stats = LoadStats(files=len(files), quarantined=quarantine.num_rows,
                      duplicates=counts["recording_duplicates"]
                      + counts["transcription_duplicates"], bytes=total, **counts)
    return LoadResult(recordings=recordings, transcriptions=transcriptions,
                      quarantine=to_frame(quarantine, schema.QUARANTINE), stats=stats,
                      engine="dask")
