"""Read one file, whatever its format, into :class:`~._file.FileTables` (no cache).

JSON Lines go through :mod:`._jsonl`, CSV through :mod:`._csv`, Parquet through
:mod:`._parquet`. A file that cannot be read at all, or whose rest cannot be read, becomes one
quarantined line saying why (or a :class:`~recording_toolkit.errors.LoadError` when strict).
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from ..errors import LoadError
from ._file import FileTables, combine, from_typed
from ._jsonl import read_jsonl
from ._quarantine import Quarantine
from ._sources import SourceFile

__all__ = ["read_file", "read_jsonl_file"]


def _file_error(source: SourceFile, line: int | None, reason: str, *, strict: bool,
                raw: bytes = b"") -> pa.Table:
    quarantine = Quarantine(source.name)
    quarantine.add(line, reason, raw)
    if strict:
        error = quarantine.first_error()
        assert error is not None
        raise error
    return quarantine.table()


def read_jsonl_file(source: SourceFile, *, strict: bool, offset: int = 0, first_line: int = 1,
                    on_bytes: Callable[[int], None] | None = None
                    ) -> tuple[FileTables, FileTables | None, int, int]:
    """A JSON Lines file from ``offset``: (complete lines, the unterminated last line or None,
    bytes consumed, next line number)."""
    read = read_jsonl(source, offset=offset, first_line=first_line, strict=strict,
                      on_bytes=on_bytes)
    body = from_typed(read.batches, read.kinds, read.quarantine, lines=read.lines,
                      blank_lines=read.blank_lines)
    tail = None
    if read.tail_lines or read.error:
        tail = from_typed(read.tail_batches, read.tail_kinds, read.tail_quarantine,
                          lines=read.tail_lines)
        if read.error:
            empty = FileTables.empty()
            broken = FileTables(empty.recordings, empty.transcriptions,
                                _file_error(source, read.next_line, read.error, strict=strict,
                                            raw=read.error_raw),
                                lines=1)
            tail = combine([tail, broken])
    return body, tail, read.consumed, read.next_line


def read_file(source: SourceFile, *, strict: bool = False,
              on_bytes: Callable[[int], None] | None = None) -> FileTables:
    """One file, whatever its format, without the cache."""
    if source.format == "jsonl":
        body, tail, _, _ = read_jsonl_file(source, strict=strict, on_bytes=on_bytes)
        return body if tail is None else combine([body, tail])
    if source.format == "csv":
        from ._csv import read_csv as reader
    elif source.format == "parquet":
        from ._parquet import read_parquet as reader
    else:  # pragma: no cover - resolve_sources only makes the three
        raise ValueError(f"{source.name}: unknown format {source.format!r}")
    try:
        return reader(source, strict=strict, on_bytes=on_bytes)
    except FileNotFoundError:
        raise
    except (LoadError, OSError, EOFError, pa.ArrowException) as exc:
        # a file that cannot be read at all: one line, quarantined (or raised when strict)
        if strict and isinstance(exc, LoadError):
            raise
        reason = exc.reason if isinstance(exc, LoadError) else \
            f"the file cannot be read: {type(exc).__name__}: {exc}"
        empty = FileTables.empty()
        return FileTables(empty.recordings, empty.transcriptions,
                          _file_error(source, None, reason, strict=strict), lines=1)
