"""The toolkit's own Parquet: frames written by :meth:`LoadResult.to_parquet`, read back.

Each file holds one frame (recordings, transcriptions or quarantine), already typed. Its kind
is in the file's metadata (``recording_toolkit.frame``), or, for a file written by someone
else with the same columns (``dask_frame.to_parquet(...)``), told from the column names. The
columns are cast to the schema's Arrow types, so a file that does not hold them is refused
with the column that does not fit. The rows then go through the same ordering and
deduplication as any log, so Parquet and JSON Lines files can be loaded together.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import LoadError
from ._convert import QUARANTINE_ARROW, RECORDINGS_ARROW, TRANSCRIPTIONS_ARROW
from ._file import FileTables, combine
from ._frames import to_table
from ._sources import SourceFile, _filesystem

__all__ = ["FRAME_KEY", "SCHEMAS", "read_parquet", "write_frame"]

FRAME_KEY = b"recording_toolkit.frame"
SCHEMAS = {"recordings": RECORDINGS_ARROW, "transcriptions": TRANSCRIPTIONS_ARROW,
           "quarantine": QUARANTINE_ARROW}


def write_frame(frame: pd.DataFrame, path: str, name: str) -> None:
    """Write one schema frame (``name``: recordings, transcriptions or quarantine)."""
    arrow_schema = SCHEMAS[name]
    table = to_table(frame, arrow_schema.with_metadata({FRAME_KEY: name.encode()}))
    pq.write_table(table, path, compression="zstd")


def _kind(table_schema: pa.Schema, name: str) -> str:
    metadata = table_schema.metadata or {}
    kind = metadata.get(FRAME_KEY)
    if kind is not None:
        text = kind.decode()
        if text in SCHEMAS:
            return text
    names = set(table_schema.names)
    for candidate, arrow_schema in SCHEMAS.items():
        if set(arrow_schema.names) <= names:
            return candidate
    raise LoadError("not a Parquet file of the toolkit: the columns are neither those of"
                    " recordings, transcriptions nor quarantine", file=name)


def _cast(table: pa.Table, arrow_schema: pa.Schema, name: str) -> pa.Table:
    columns = []
    for field in arrow_schema:
        column = table.column(field.name)
        if not column.type.equals(field.type):
            try:
                column = column.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise LoadError(f"column {field.name!r} holds {column.type}, expected"
                                f" {field.type}: {exc}", file=name) from None
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=arrow_schema)


def read_table(source: SourceFile) -> pa.Table:
    if source.url:
        fs, path = _filesystem(source.path, source.storage_options)
        return pq.read_table(path, filesystem=fs)
    return pq.read_table(source.path)


def read_parquet(source: SourceFile, *, strict: bool = False,
                 on_bytes: Callable[[int], None] | None = None) -> FileTables:
    """One Parquet frame file -> :class:`FileTables` (its rows count as lines)."""
    try:
        table = read_table(source)
    except (OSError, pa.ArrowInvalid) as exc:
        raise LoadError(f"not a readable Parquet file: {exc}", file=source.name) from None
    if on_bytes is not None:
        on_bytes(source.size() or 0)
    kind = _kind(table.schema, source.name)
    typed = _cast(table, SCHEMAS[kind], source.name)
    empty = FileTables.empty()
    if kind == "quarantine":
        if strict and typed.num_rows:
            row = typed.slice(0, 1).to_pylist()[0]
            raise LoadError(row["reason"], file=row["file"], line=row["line"], raw=row["raw"])
        return FileTables(empty.recordings, empty.transcriptions, typed, lines=typed.num_rows)
    piece = FileTables(typed if kind == "recordings" else empty.recordings,
                       typed if kind == "transcriptions" else empty.transcriptions,
                       empty.quarantine, lines=typed.num_rows)
    # order and deduplicate like any file (a no-op on what to_parquet wrote)
    return combine([piece, FileTables.empty()])
