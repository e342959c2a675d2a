"""``load_callbacks``: resolve the sources, read each file, combine, type the frames.

The way through::

    resolve_sources -> per file: read (JSON Lines / CSV / Parquet, or the cache)
                       -> FileTables (typed Arrow, sorted and deduplicated within the file)
                    -> combine across files (same rules) -> one to_pandas per frame

Files are read one after the other: each file's reader already uses every core
(``pyarrow.json``), and holding one file's raw batches at a time keeps the peak memory low.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from .. import schema
from ..errors import LoadError
from ._file import FileTables, combine
from ._frames import to_frame
from ._probes import leave_out_test_callbacks
from ._read import read_file
from ._result import LoadResult, LoadStats
from ._sources import SourceFile, missing_file, resolve_sources

__all__ = ["ENGINES", "load_callbacks", "load_recordings", "load_transcriptions"]

ENGINES = ("pandas", "dask")
#: Below this many bytes in all, ``progress=None`` shows no bar (it would only flash).
PROGRESS_BYTES = 64 << 20


def _progress(files: Sequence[SourceFile], progress: bool | None
              ) -> tuple[AbstractContextManager[Any], list[int]]:
    """The progress bar (or a stand-in) and each file's size in bytes (0 when unknown)."""
    sizes = [f.size() or 0 for f in files]
    show = progress if progress is not None else sum(sizes) >= PROGRESS_BYTES
    if not show:
        return nullcontext(None), sizes
    from tqdm.auto import tqdm

    return tqdm(total=sum(sizes), unit="B", unit_scale=True, unit_divisor=1024,
                desc="loading callbacks", leave=False), sizes


def load_tables(source: Any, *, strict: bool = False, cache: bool | str | os.PathLike[str] = False,
                progress: bool | None = None,
                storage_options: Mapping[str, Any] | None = None
                ) -> tuple[FileTables, int, int, int]:
    """Every file of ``source`` combined: (tables, files, bytes, cached files)."""
    files = resolve_sources(source, storage_options=storage_options)
    context, sizes = _progress(files, progress)
    pieces: list[FileTables] = []
    with context as bar:
        for file, size in zip(files, sizes, strict=True):
            counted = 0

            def on_bytes(n: int, size: int = size) -> None:
                nonlocal counted
                # compressed files report decompressed bytes: never pass the file's size
                step = min(n, size - counted)
                if bar is not None and step > 0:
                    bar.update(step)
                counted += max(step, 0)

            try:
                if cache:
                    from ._cache import read_cached

                    piece = read_cached(file, strict=strict, on_bytes=on_bytes,
                                        folder=None if cache is True else cache)
                else:
                    piece = read_file(file, strict=strict, on_bytes=on_bytes)
            except FileNotFoundError as exc:
                if isinstance(exc, LoadError):
                    raise
                raise missing_file(file) from None
            if bar is not None and counted < size:
                bar.update(size - counted)
            pieces.append(piece)
    combined = combine(pieces) if pieces else FileTables.empty()
    return combined, len(files), sum(sizes), sum(p.cached for p in pieces)


def load_callbacks(source: Any, *, engine: str = "pandas", strict: bool = False,
                   cache: bool | str | os.PathLike[str] = False, progress: bool | None = None,
                   storage_options: Mapping[str, Any] | None = None,
                   client: Any = None, persist: bool | None = None) -> LoadResult:
    """Load callback logs into typed, deduplicated frames.

    Parameters
    ----------
    source
        A file, a folder (read recursively, skipping ``_*`` and ``.*`` sub-folders), a glob,
        an fsspec URL (``s3://bucket/logs/``), or a list of them. JSON Lines (enveloped or flat
        lines, snake_case or CamelCase names), CSV with Plivo's column names, Parquet written
        by :meth:`LoadResult.to_parquet`; JSON Lines and CSV may be ``.gz`` or ``.zst``.
    engine
        ``"pandas"`` (default), or ``"dask"`` for lazy Dask DataFrames with the same schema, as
        many partitions as files, deduplicated across files by a shuffle on ``recording_id``
        (:mod:`recording_toolkit.load._dask`).
    strict
        Raise :class:`~recording_toolkit.errors.LoadError` (file, line, reason, raw text) on the
        first line that cannot be used, instead of quarantining it.
    cache
        ``True`` keeps a cache per log file (typed Arrow IPC files in a ``_cache`` folder beside
        it, keyed by path, size and modification time, :mod:`._cache`): an unchanged file is
        never parsed twice and a file that grew is parsed only from where it was. A path puts
        the caches there instead.
    progress
        A ``tqdm.auto`` bar over the bytes read; ``None`` shows it for loads of 64 MB or more,
        ``False`` never (the Dask engine shows none: use the cluster's dashboard).
    storage_options
        Passed to fsspec for URLs (credentials, endpoint).
    client
        ``engine="dask"`` only: the ``distributed.Client`` to compute on (default: the current
        one, if any).
    persist
        ``engine="dask"`` only: keep the deduplicated frames in the workers' memory (``True``),
        or leave them lazy, read again by each computation (``False``). ``None`` (default)
        persists when the logs take at most a quarter of the workers' memory limits together.

    Returns
    -------
    LoadResult
        ``recordings``, ``transcriptions`` (ordered by ``received_at``), ``quarantine`` and
        ``stats``, where ``stats.lines == recordings + transcriptions + duplicates +
        quarantined + test_callbacks`` (test callbacks, those ``recording-toolkit doctor``
        sends, are left out of the frames and only counted).

    Raises
    ------
    SourceNotFoundError
        A path that does not exist (a dangling symbolic link too, or a file removed while
        loading), or a glob that matches no log file: a
        :class:`~recording_toolkit.errors.LoadError` and a :class:`FileNotFoundError` naming
        it. An existing folder with no log file gives empty frames (``stats.files == 0``)
        instead.
    LoadError
        With ``strict=True``, the first line that cannot be used; and a URL whose filesystem
        cannot be reached or needs a package that is not installed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> log = pathlib.Path(tempfile.mkdtemp()) / "callbacks.jsonl"
    >>> _ = log.write_text(
    ...     '{"event": "recording", "received_at": "2026-11-24T10:15:02Z",'
    ...     ' "payload": {"recording_id": "r1", "record_url": "https://h/r1.mp3",'
    ...     ' "recording_duration_ms": "345100.00000"}}\\n'
    ...     '{"event": "recording", "received_at": "2026-11-24T10:15:03Z",'
    ...     ' "payload": {"recording_id": "r1", "record_url": "https://h/r1.mp3"}}\\n'
    ...     'not json\\n')
    >>> result = load_callbacks(log)
    >>> result.recordings[["recording_id", "file_format", "recording_duration_ms"]]
      recording_id file_format  recording_duration_ms
    0           r1         mp3                 345100
    >>> result.stats.duplicates, result.quarantine["line"].tolist()
    (1, [3])
    """
    if engine not in ENGINES:
        raise ValueError(f"engine: expected one of {ENGINES}, got {engine!r}")
    if persist is not None and engine != "dask":
        raise ValueError("persist: only engine='dask' keeps frames on a cluster")
    if engine == "dask":
        from ._dask import load_dask

        if cache:
            raise ValueError("cache=True is for the pandas engine: the Dask engine reads each"
                             " shard on a worker and keeps the partitions on the cluster")

        return load_dask(source, strict=strict, storage_options=storage_options,
                         client=client, persist=persist)
    tables, files, total, cached = load_tables(source, strict=strict, cache=cache,
                                               progress=progress,
                                               storage_options=storage_options)
    return result_from_tables(tables, files=files, total_bytes=total, cached_files=cached)


def result_from_tables(tables: FileTables, *, files: int, total_bytes: int,
                       cached_files: int = 0) -> LoadResult:
    """Combined tables -> the pandas :class:`LoadResult`."""
    tables, test_callbacks = leave_out_test_callbacks(tables)
    quarantine = tables.quarantine
    stats = LoadStats(
        files=files, lines=tables.lines,
        recordings=tables.recordings.num_rows, transcriptions=tables.transcriptions.num_rows,
        quarantined=quarantine.num_rows,
        duplicates=tables.recording_duplicates + tables.transcription_duplicates,
        recording_duplicates=tables.recording_duplicates,
        transcription_duplicates=tables.transcription_duplicates,
        blank_lines=tables.blank_lines, bytes=total_bytes, cached_files=cached_files,
        test_callbacks=test_callbacks)
    return LoadResult(
        recordings=to_frame(tables.recordings, schema.RECORDINGS),
        transcriptions=to_frame(tables.transcriptions, schema.TRANSCRIPTIONS),
        quarantine=to_frame(quarantine, schema.QUARANTINE),
        stats=stats)


def load_recordings(source: Any, **options: Any) -> Any:
    """``load_callbacks(source, **options).recordings``."""
    return load_callbacks(source, **options).recordings


def load_transcriptions(source: Any, **options: Any) -> Any:
    """``load_callbacks(source, **options).transcriptions``."""
    return load_callbacks(source, **options).transcriptions

