"""``engine="dask"``: the same frames from many log shards, as lazy Dask DataFrames.

Built so that a worker needs memory for a few shards, never for all of the data:

- one task per file reads it where it is (a local path every worker sees, or any fsspec URL)
  into typed, per-file deduplicated frames, exactly as the pandas engine does
  (:func:`._read.read_file`), plus that file's counts;
- deduplication across files is a hash shuffle on ``recording_id`` (Dask's own shuffle, P2P on
  a distributed cluster: it buffers on disk, so it holds data larger than the workers' memory);
  every copy of a recording's callbacks lands in the same partition, which then applies the
  rules of :mod:`._dedup` to them. Each row carries its file's position and its row in the file,
  so ties are broken in the order the files were given, as with the pandas engine;
- the statistics are sums of per-file and per-partition counts, and the quarantine is a lazy
  frame with one partition per file: no task ever holds every shard's rows.

The result:

- ``recordings`` and ``transcriptions``: Dask DataFrames with the schema's dtypes, as many
  partitions as files, split by a hash of ``recording_id`` (each recording in exactly one
  partition), each partition ordered by ``received_at``;
- ``quarantine``: a Dask DataFrame (``schema.QUARANTINE``), one partition per file;
- ``stats``: computed, identical to the pandas engine's.

The load computes the counts once (one pass over the files and one shuffle). The frames stay
lazy unless persisted (:func:`should_persist`): each later computation reads the files again,
which is what lets the data outgrow the cluster's memory.

With ``strict=True`` the first bad line, in file order, is raised here as
:class:`~recording_toolkit.errors.LoadError` with its file and line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import schema
from ..errors import LoadError
from ._dedup import Part, select
from ._frames import to_frame
from ._probes import leave_out_test_callbacks
from ._read import read_file
from ._result import LoadResult, LoadStats
from ._sources import SourceFile, missing_file, resolve_sources

__all__ = ["ORDER", "PERSIST_SHARE", "load_dask", "should_persist"]

#: Kind -> (schema, whether a success is preferred over an error).
_KINDS = {"recordings": (schema.RECORDINGS, False), "transcriptions": (schema.TRANSCRIPTIONS, True)}
#: The column that carries a row's place across the shuffle: file position << 40 | row.
ORDER = "_order"
_ROW_BITS = 40
#: ``persist=None`` persists when the logs take at most this share of the workers' memory.
PERSIST_SHARE = 0.25
_COUNTS = ("lines", "blank_lines", "recordings", "transcriptions", "recording_duplicates",
           "transcription_duplicates", "quarantined", "test_callbacks")


@dataclass(frozen=True)
class _Failure:
    """A file's error, as plain data (it crosses process boundaries intact)."""

    reason: str
    file: str | None
    line: int | None
    raw: str | None
    #: a file gone when read: its source, to raise SourceNotFoundError for it
    missing: SourceFile | None = None

    def error(self) -> LoadError:
        if self.missing is not None:
            return missing_file(self.missing)
        return LoadError(self.reason, file=self.file, line=self.line, raw=self.raw)


@dataclass
class _Shard:
    """One file's typed frames (each with :data:`ORDER`), its quarantine and its counts."""

    recordings: pd.DataFrame
    transcriptions: pd.DataFrame
    quarantine: pd.DataFrame
    counts: dict[str, int] = field(default_factory=dict)


def _with_order(frame: pd.DataFrame, index: int) -> pd.DataFrame:
    frame[ORDER] = np.arange(len(frame), dtype=np.int64) + (np.int64(index) << _ROW_BITS)
    return frame


def _read(source: SourceFile, index: int, strict: bool) -> _Shard | _Failure:
    """Read one file (on a worker) into its frames; an error becomes a :class:`_Failure`."""
    try:
        tables = read_file(source, strict=strict)
    except LoadError as exc:
        return _Failure(exc.reason, exc.file, exc.line, exc.raw)
    except FileNotFoundError:
        return _Failure(missing_file(source).reason, None, None, None, source)
    tables, test_callbacks = leave_out_test_callbacks(tables)
    counts = {"lines": tables.lines, "blank_lines": tables.blank_lines,
              "test_callbacks": test_callbacks,
              "recordings": tables.recordings.num_rows,
              "transcriptions": tables.transcriptions.num_rows,
              "recording_duplicates": tables.recording_duplicates,
              "transcription_duplicates": tables.transcription_duplicates,
              "quarantined": tables.quarantine.num_rows}
    return _Shard(_with_order(to_frame(tables.recordings, schema.RECORDINGS), index),
                  _with_order(to_frame(tables.transcriptions, schema.TRANSCRIPTIONS), index),
                  to_frame(tables.quarantine, schema.QUARANTINE), counts)


_FAILURE = ("reason", "file", "line", "raw", "missing")


def _counts(shard: _Shard | _Failure) -> pd.DataFrame:
    """One file's counts (or its failure) as a one-row frame."""
    row: dict[str, Any] = dict.fromkeys(_COUNTS, 0) | dict.fromkeys(_FAILURE)
    if isinstance(shard, _Failure):
        row.update(reason=shard.reason, file=shard.file, line=shard.line, raw=shard.raw,
                   missing=shard.missing is not None)
    else:
        row.update(shard.counts)
    return _counts_frame([row])


def _counts_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[*_COUNTS, *_FAILURE])
    text = pd.StringDtype("pyarrow")
    return frame.astype({**dict.fromkeys(_COUNTS, "int64"), "reason": text, "file": text,
                         "line": "Int64", "raw": text, "missing": "boolean"})


def _piece(shard: _Shard | _Failure, name: str) -> pd.DataFrame:
    if isinstance(shard, _Failure):
        # a plain LoadError: it comes back from a worker as itself
        raise LoadError(shard.reason, file=shard.file, line=shard.line, raw=shard.raw)
    frame: pd.DataFrame = getattr(shard, name)
    return frame


def _meta(spec: Mapping[str, Any]) -> pd.DataFrame:
    return _with_order(schema.empty(spec), 0)


def dedup_partition(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """One shuffled partition (every copy of its recordings' callbacks) deduplicated by the
    rules of :mod:`._dedup`, ordered by ``received_at``, without :data:`ORDER`.

    The rows are first put back in reading order (file, then row), so the rules see them as
    the pandas engine does and break ties the same way.
    """
    spec, prefer_success = _KINDS[kind]
    if frame.empty:
        return schema.empty(spec)
    frame = frame.sort_values(ORDER, kind="stable")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    picked = select([Part(table)], list(spec), prefer_success=prefer_success)
    return to_frame(picked.table, spec)


def should_persist(persist: bool | None, client: Any, total_bytes: int) -> bool:
    """``persist`` when given; else True when there is a distributed cluster and the logs take at
    most :data:`PERSIST_SHARE` of its workers' memory limits together (the typed frames take
    about as much memory as the JSON Lines they come from)."""
    if persist is not None:
        return persist
    if client is None:
        try:
            from distributed import default_client
        except ImportError:  # pragma: no cover - distributed is part of the dask extra
            return False
        try:
            client = default_client()
        except ValueError:
            return False
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    limits = [w.get("memory_limit") or 0 for w in workers.values()]
    if not limits or not all(limits):
        return False  # a worker without a limit: nothing to measure against
    return total_bytes <= PERSIST_SHARE * sum(limits)


def _first_failure(counts: pd.DataFrame, files: Sequence[SourceFile]) -> _Failure | None:
    """The first file's failure, in the order the files were given (one row per file)."""
    failed = np.flatnonzero(counts["reason"].notna().to_numpy(dtype=bool))
    if not len(failed):
        return None
    row = counts.iloc[int(failed[0])]

    def text(value: Any) -> str | None:
        return None if pd.isna(value) else str(value)

    return _Failure(str(row["reason"]), text(row["file"]),
                    None if pd.isna(row["line"]) else int(row["line"]), text(row["raw"]),
                    files[int(failed[0])] if row["missing"] is True else None)


def load_dask(source: Any, *, strict: bool = False,
              storage_options: Mapping[str, Any] | None = None, client: Any = None,
              persist: bool | None = None) -> LoadResult:
    """See :func:`recording_toolkit.load.load_callbacks` with ``engine="dask"``."""
    try:
        import dask.dataframe as dd
        from dask.base import compute, tokenize
        from dask.base import persist as persist_all
        from dask.delayed import delayed
    except ImportError as exc:  # pragma: no cover - dask is an optional extra
        raise ImportError("engine='dask' needs dask: pip install 'recording_toolkit[dask]'"
                          ) from exc
    files = resolve_sources(source, storage_options=storage_options)
    total = sum(f.size() or 0 for f in files)
    options = {} if client is None else {"scheduler": client}
    if not files:
        empty = {name: dd.from_pandas(schema.empty(spec), npartitions=1)
                 for name, (spec, _) in _KINDS.items()}
        return LoadResult(quarantine=dd.from_pandas(schema.empty(schema.QUARANTINE),
                                                    npartitions=1),
                          stats=LoadStats(), engine="dask", **empty)
    token = tokenize(files, strict)
    shards = [delayed(_read, pure=True)(f, i, strict,
                                             dask_key_name=f"read-callbacks-{i}-{token}")
              for i, f in enumerate(files)]
    frames: dict[str, Any] = {}
    for kind, (spec, _) in _KINDS.items():
        raw = dd.from_delayed([delayed(_piece, pure=True)(s, kind) for s in shards],
                              meta=_meta(spec), verify_meta=False)
        frames[kind] = raw.shuffle(on="recording_id", npartitions=len(files)).map_partitions(
            dedup_partition, kind, meta=schema.empty(spec))
    quarantine = dd.from_delayed([delayed(_piece, pure=True)(s, "quarantine")
                                  for s in shards],
                                 meta=schema.empty(schema.QUARANTINE), verify_meta=False)
    per_file = dd.from_delayed([delayed(_counts, pure=True)(s) for s in shards],
                               meta=_counts_frame([]), verify_meta=False)
    if should_persist(persist, client, total):
        frames["recordings"], frames["transcriptions"], quarantine, per_file = persist_all(
            frames["recordings"], frames["transcriptions"], quarantine, per_file, **options)
    try:
        counts, kept_recordings, kept_transcriptions = compute(
            per_file, frames["recordings"].shape[0], frames["transcriptions"].shape[0],
            **options)
    except LoadError:
        # several files failed: report the first in file order (the counts alone say which)
        (counts,) = compute(per_file, **options)
    failure = _first_failure(counts, files)
    if failure is not None:
        raise failure.error()
    sums = {key: int(counts[key].sum()) for key in _COUNTS}
    recording_duplicates = sums["recording_duplicates"] + sums["recordings"] \
        - int(kept_recordings)
    transcription_duplicates = sums["transcription_duplicates"] + sums["transcriptions"] \
        - int(kept_transcriptions)
    stats = LoadStats(files=len(files), lines=sums["lines"], recordings=int(kept_recordings),
                      transcriptions=int(kept_transcriptions), quarantined=sums["quarantined"],
                      duplicates=recording_duplicates + transcription_duplicates,
                      recording_duplicates=recording_duplicates,
                      transcription_duplicates=transcription_duplicates,
                      blank_lines=sums["blank_lines"], bytes=total,
                      test_callbacks=sums["test_callbacks"])
    return LoadResult(recordings=frames["recordings"], transcriptions=frames["transcriptions"],
                      quarantine=quarantine, stats=stats, engine="dask")
