"""A cache per log file: an unchanged file is never parsed twice, a grown one only from where
it was.

Each log file gets a folder ``{cache}/{name}-{digest of its path}/`` holding a ``meta.json``
and, named by a generation in it, ``recordings-{gen}.arrow``, ``transcriptions-{gen}.arrow`` and
``quarantine-{gen}.arrow``: the file's tables as :mod:`._file` makes them (typed, sorted and
deduplicated within the file). ``meta.json`` is written last, by rename, so a reader sees a
whole generation or the previous one, never half of one; older generations are removed after
(a generation is never rewritten in place, so frames still mapped onto one stay valid).

The tables are stored as uncompressed Arrow IPC files (Feather v2) and read back memory-mapped:
the frames' columns are the page cache's bytes, nothing is decoded. Parquet was measured first:
for 1M events a reload in a fresh process took 1.8-2.2 s from Parquet (uncompressed, the
fastest Parquet variant) against 0.13-0.31 s from Arrow IPC, because decoding Parquet fills
about 450 MB of fresh memory and first touching fresh memory is what costs on these machines
(``docs/performance.md``). The price is disk: about half the log's size.

The key is the file's absolute path, size and modification time (``st_mtime_ns``):

- all three equal: the cached tables are the file's, nothing is parsed;
- an uncompressed JSON Lines file that is larger and still starts with the bytes the cache was
  made from (checked on the last 4 KiB before where the cache stopped): only the bytes after
  that point are parsed, from the line number the cache stopped at, and the cache is brought
  up to date (the deduplication rules give the same rows per part as at once, ``_dedup``);
- anything else (smaller, rewritten, compressed, CSV, Parquet): the file is parsed again.

The cache holds only complete lines: a last line without its newline (being written, or torn
by a crash) is parsed on every load until it is complete. By default the cache folder is
``_cache`` beside the log, which a folder load skips (``_`` names). Where it cannot be written
(a read-only share), the file is loaded without it. Files behind fsspec URLs are not cached
(their size and modification time are not always known, and the cache would not be local).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.feather as feather

from ..errors import LoadError
from ._file import FileTables, combine
from ._parquet import SCHEMAS
from ._read import read_file, read_jsonl_file
from ._sources import SourceFile

__all__ = ["CACHE_DIR", "VERSION", "cache_folder", "read_cached"]

CACHE_DIR = "_cache"
#: Bump when the cached tables' meaning or format changes: older caches are then ignored.
VERSION = 2
_CHECK_BYTES = 4096
_SUFFIX = ".arrow"


@dataclass(frozen=True)
class _Key:
    path: str
    size: int
    mtime_ns: int


def cache_folder(source: SourceFile, folder: str | os.PathLike[str] | None = None) -> Path:
    """Where ``source``'s cache lives."""
    path = os.path.abspath(source.path)
    digest = hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    base = Path(folder) if folder is not None else Path(path).parent / CACHE_DIR
    return base / f"{Path(path).name}-{digest}"


def _meta(where: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads((where / "meta.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and meta.get("version") == VERSION else None


def _load_tables(where: Path, meta: dict[str, Any]) -> FileTables | None:
    tables = {}
    try:
        for name, arrow_schema in SCHEMAS.items():
            table = feather.read_table(str(where / f"{name}-{meta['generation']}{_SUFFIX}"),
                                       memory_map=True)
            tables[name] = table.cast(arrow_schema) if not table.schema.equals(
                arrow_schema) else table
    except (OSError, pa.ArrowException, KeyError):
        return None  # removed or damaged under us: parse the file instead
    return FileTables(tables["recordings"], tables["transcriptions"], tables["quarantine"],
                      lines=meta["lines"], blank_lines=meta["blank_lines"],
                      recording_duplicates=meta["recording_duplicates"],
                      transcription_duplicates=meta["transcription_duplicates"], cached=True)


def _fingerprint(path: str, end: int) -> str:
    start = max(0, end - _CHECK_BYTES)
    with open(path, "rb") as handle:
        handle.seek(start)
        return hashlib.sha256(handle.read(end - start)).hexdigest()


def _store(where: Path, key: _Key, tables: FileTables, *, consumed: int | None,
           next_line: int | None) -> None:
    """Write a new generation, then point meta.json at it; failures leave the cache unused."""
    generation = uuid.uuid4().hex[:12]
    try:
        where.mkdir(parents=True, exist_ok=True)
        for name in SCHEMAS:
            target = where / f"{name}-{generation}{_SUFFIX}"
            feather.write_feather(getattr(tables, name), str(target), compression="uncompressed")
        meta = {
            "version": VERSION, "generation": generation, "path": key.path, "size": key.size,
            "mtime_ns": key.mtime_ns, "consumed": consumed, "next_line": next_line,
            "fingerprint": None if consumed is None else _fingerprint(key.path, consumed),
            "lines": tables.lines, "blank_lines": tables.blank_lines,
            "recording_duplicates": tables.recording_duplicates,
            "transcription_duplicates": tables.transcription_duplicates,
        }
        temporary = where / f"meta-{generation}.tmp"
        temporary.write_text(json.dumps(meta), "utf-8")
        os.replace(temporary, where / "meta.json")
    except OSError:
        return
    for old in where.iterdir():
        if old.suffix in (_SUFFIX, ".parquet", ".tmp") and generation not in old.name:
            with contextlib.suppress(OSError):
                old.unlink()


def _raise_first(tables: FileTables) -> None:
    if tables.quarantine.num_rows:
        row = tables.quarantine.slice(0, 1).to_pylist()[0]
        raise LoadError(row["reason"], file=row["file"], line=row["line"], raw=row["raw"])


def read_cached(source: SourceFile, *, strict: bool = False,
                on_bytes: Callable[[int], None] | None = None,
                folder: str | os.PathLike[str] | None = None) -> FileTables:
    """``source``'s tables through its cache (see the module's description)."""
    if source.url:
        return read_file(source, strict=strict, on_bytes=on_bytes)  # no local key to trust
    stat = os.stat(source.path)
    key = _Key(os.path.abspath(source.path), stat.st_size, stat.st_mtime_ns)
    where = cache_folder(source, folder)
    meta = _meta(where)
    appendable = source.format == "jsonl" and source.compression is None
    if meta is not None and meta.get("path") == key.path:
        unchanged = meta["size"] == key.size and meta["mtime_ns"] == key.mtime_ns
        consumed = meta.get("consumed")
        grown = (appendable and not unchanged and consumed is not None
                 and key.size >= meta["size"] and consumed <= key.size
                 and _fingerprint(key.path, consumed) == meta.get("fingerprint"))
        if unchanged and (not appendable or consumed == key.size):
            cached = _load_tables(where, meta)
            if cached is not None:
                if strict:
                    _raise_first(cached)
                return cached
        elif isinstance(consumed, int) and (unchanged or grown):
            cached = _load_tables(where, meta)
            if cached is not None:
                if strict:
                    _raise_first(cached)
                body, tail, end, next_line = read_jsonl_file(
                    source, strict=strict, offset=consumed, first_line=meta["next_line"],
                    on_bytes=on_bytes)
                if end > consumed:
                    cached = combine([cached, body])
                    cached.cached = True
                    _store(where, key, cached, consumed=end, next_line=next_line)
                return cached if tail is None else combine([cached, tail])
    if appendable:
        body, tail, end, next_line = read_jsonl_file(source, strict=strict, on_bytes=on_bytes)
        _store(where, key, body, consumed=end, next_line=next_line)
        return body if tail is None else combine([body, tail])
    tables = read_file(source, strict=strict, on_bytes=on_bytes)
    _store(where, key, tables, consumed=None, next_line=None)
    return tables
