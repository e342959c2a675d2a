"""Typed Arrow tables -> the pandas frames of ``schema`` (one ``to_pandas`` per table).

Strings become ``StringDtype("pyarrow")`` without copying, whole numbers ``Int64``, money
``Float64``, flags ``boolean``, times stay timezone-aware UTC at their unit, and ``file_format``
becomes the schema's ``category`` (never a ``dictionary[pyarrow]`` column: pandas' groupby
cannot use those as keys, ``docs/performance.md``).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import schema

__all__ = ["to_frame", "to_table"]

_STRING = pd.StringDtype("pyarrow")
_MAPPING = {
    pa.string(): _STRING,
    pa.large_string(): _STRING,
    pa.int64(): pd.Int64Dtype(),
    pa.float64(): pd.Float64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}


def to_frame(table: pa.Table, spec: Mapping[str, object]) -> pd.DataFrame:
    """The table as a frame with exactly the columns and dtypes of ``spec``.

    Examples
    --------
    >>> from recording_toolkit.load._convert import QUARANTINE_ARROW
    >>> df = to_frame(QUARANTINE_ARROW.empty_table(), schema.QUARANTINE)
    >>> df.dtypes.equals(schema.dtypes(schema.QUARANTINE))
    True
    """
    categories = {name: dtype for name, dtype in spec.items()
                  if isinstance(dtype, pd.CategoricalDtype)}
    plain = table.drop_columns([name for name in categories if name in table.column_names])
    frame = plain.to_pandas(types_mapper=_MAPPING.get, split_blocks=True, self_destruct=False)
    for name, dtype in categories.items():
        if name not in table.column_names:
            continue
        frame[name] = _categorical(table.column(name), dtype)
    out = schema.coerce(frame, spec)
    return out if list(out.columns) == list(spec) else out[list(spec)]


def _categorical(column: pa.ChunkedArray, dtype: pd.CategoricalDtype) -> pd.Categorical:
    """A dictionary or string column as ``dtype``'s categories (values outside them missing)."""
    wanted = pa.array(list(dtype.categories), pa.string())
    if pa.types.is_dictionary(column.type):
        if all(chunk.dictionary.equals(wanted) for chunk in column.chunks):
            # the loader's own dictionary: its indices are the codes
            indices = pa.chunked_array([chunk.indices for chunk in column.chunks],
                                       column.type.index_type)
            codes = pc.fill_null(pc.cast(indices, pa.int8()), -1)
            return pd.Categorical.from_codes(codes.to_numpy(), dtype=dtype)
        column = pc.cast(column, pa.string())
    codes = pc.fill_null(pc.index_in(column, value_set=wanted), -1)
    return pd.Categorical.from_codes(codes.to_numpy(), dtype=dtype)


def to_table(frame: pd.DataFrame, arrow_schema: pa.Schema) -> pa.Table:
    """A schema frame back to its Arrow table (for Parquet)."""
    return pa.Table.from_pandas(frame, schema=arrow_schema, preserve_index=False)
