"""The pandas/Dask seam the analytics use, public for the report, views and commands.

Code outside :mod:`recording_toolkit.analytics` that must treat a pandas and a Dask frame alike
(compute several values in one pass, bring a few columns into pandas, count distinct values,
round a figure for JSON, read a moment as UTC) imports these helpers from here, so the analytics
keep one definition of each.
"""

from __future__ import annotations

from ._common import compute, distinct, is_dask, round6, to_pandas, utc

__all__ = ["compute", "distinct", "is_dask", "round6", "to_pandas", "utc"]
