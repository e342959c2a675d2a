"""One row per recording with its transcription outcome (``schema.JOINED``).

The outcome of a recording's transcription:

- ``transcribed``: a transcription callback without error arrived;
- ``failed``: one arrived with Plivo's error (``transcription_error``);
- ``pending``: none arrived, and the journal shows transcription was asked for;
- ``not_requested``: none arrived, and the journal shows the start asked for none;
- ``unknown``: none arrived and there is no journal line for the recording (no journal given,
  or a recording started elsewhere or from a start the journal could not tie to an id).

Dask frames stay lazy: both are shuffled on ``recording_id`` into the same number of
partitions, so a recording and its transcriptions meet in the same partition, and each pair of
partitions is joined as pandas frames are. Only the journal (one row per start) is read whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .. import schema

__all__ = ["STATUSES", "join_recordings"]

STATUSES = tuple(schema.JOINED["transcription_status"].categories)  # type: ignore[attr-defined]
_TRANSCRIBED, _FAILED, _PENDING, _NOT_REQUESTED, _UNKNOWN = range(5)


def _pandas(frame: Any) -> pd.DataFrame:
    compute = getattr(frame, "compute", None)
    return compute() if callable(compute) and not isinstance(frame, pd.DataFrame) else frame


def _one_per_recording(transcriptions: pd.DataFrame) -> pd.DataFrame:
    """The loader's rule again, for frames that did not come straight from it: a success
    before an error, then the first received."""
    ids = transcriptions["recording_id"]
    if not ids.duplicated().any():
        return transcriptions
    failed = transcriptions["error"].notna().to_numpy(dtype=bool)
    received = transcriptions["received_at"]
    times = received.array.asi8.copy()
    times[received.isna().to_numpy(dtype=bool)] = np.iinfo(np.int64).max  # no time: last
    order = np.lexsort((np.arange(len(transcriptions)), times, failed))
    ordered = transcriptions.iloc[order]
    return ordered[~ordered["recording_id"].duplicated()]


def _is_dask(frame: Any) -> bool:
    return hasattr(frame, "__dask_graph__") and not isinstance(frame, pd.DataFrame)


def _requested(journal: Any) -> tuple[pd.Index, np.ndarray]:
    """Recording ids the journal's starts name, and whether each asked for transcription."""
    if not isinstance(journal, pd.DataFrame):
        from ._journal_reader import load_journal

        journal = load_journal(journal)
    starts = journal[(journal["action"] == "start").fillna(False).to_numpy(dtype=bool)
                     & journal["recording_id"].notna().to_numpy(dtype=bool)]
    asked = starts["transcription_type"].notna().to_numpy(dtype=bool)
    by_id = pd.Series(asked, index=pd.Index(starts["recording_id"], dtype=schema.STRING))
    by_id = by_id.groupby(level=0, sort=False).any()
    return by_id.index, by_id.to_numpy(dtype=bool)


def join_recordings(recordings: Any, transcriptions: Any, journal: Any = None) -> Any:
    """Each recording with its transcription outcome, in the recordings' order.

    Parameters
    ----------
    recordings, transcriptions
        Frames of ``schema.RECORDINGS`` and ``schema.TRANSCRIPTIONS`` (as ``load_callbacks``
        gives them). When either is a Dask frame the result is a lazy Dask frame, split by a
        hash of ``recording_id``, each partition ordered by ``received_at``.
    journal
        The request journal (a frame from :func:`load_journal`, or a path) to tell ``pending``
        from ``not_requested``; without it a recording with no transcription is ``unknown``.

    Examples
    --------
    >>> recs = schema.coerce(pd.DataFrame({"recording_id": ["a", "b", "c"]}), schema.RECORDINGS)
    >>> trs = schema.coerce(pd.DataFrame({"recording_id": ["a", "b"], "error": [None, "too short"]}),
    ...                     schema.TRANSCRIPTIONS)
    >>> join_recordings(recs, trs)[["recording_id", "transcription_status", "transcription_error"]]
      recording_id transcription_status transcription_error
    0            a          transcribed                <NA>
    1            b               failed           too short
    2            c              unknown                <NA>
    """
    requested = None if journal is None else _requested(journal)
    if _is_dask(recordings) or _is_dask(transcriptions):
        return _join_dask(recordings, transcriptions, requested)
    return _join(_pandas(recordings), _pandas(transcriptions), requested)


def _join_dask(recordings: Any, transcriptions: Any,
               requested: tuple[pd.Index, np.ndarray] | None) -> Any:
    """The lazy join: both shuffled on ``recording_id`` alike, then joined partition by
    partition (a recording's rows and its transcriptions' rows share a partition)."""
    import dask.dataframe as dd

    def lazy(frame: Any, spec: Mapping[str, object]) -> Any:
        if _is_dask(frame):
            return frame
        return dd.from_pandas(schema.coerce(frame, spec)[list(spec)], npartitions=1)

    recordings = lazy(recordings, schema.RECORDINGS)
    transcriptions = lazy(transcriptions, schema.TRANSCRIPTIONS)
    parts = max(recordings.npartitions, transcriptions.npartitions)
    return dd.map_partitions(
        _join_part, recordings.shuffle(on="recording_id", npartitions=parts),
        transcriptions.shuffle(on="recording_id", npartitions=parts), requested,
        meta=schema.empty(schema.JOINED), align_dataframes=False)


def _join_part(recordings: pd.DataFrame, transcriptions: pd.DataFrame,
               requested: tuple[pd.Index, np.ndarray] | None) -> pd.DataFrame:
    recordings = schema.coerce(recordings, schema.RECORDINGS).sort_values(
        "received_at", kind="stable", na_position="last")
    return _join(recordings, transcriptions, requested)


def _join(recordings: pd.DataFrame, transcriptions: pd.DataFrame,
          requested: tuple[pd.Index, np.ndarray] | None) -> pd.DataFrame:
    recordings = schema.coerce(recordings, schema.RECORDINGS)[list(schema.RECORDINGS)]
    transcriptions = _one_per_recording(schema.coerce(transcriptions, schema.TRANSCRIPTIONS))
    ids = pd.Index(recordings["recording_id"])
    match = pd.Index(transcriptions["recording_id"]).get_indexer(ids)
    found = match >= 0
    picked = transcriptions.iloc[np.where(found, match, 0)] if len(transcriptions) else None
    codes = np.full(len(recordings), _UNKNOWN, dtype=np.int8)
    out = recordings.copy()
    if picked is not None:
        error = picked["error"].notna().to_numpy(dtype=bool)
        codes[found & ~error] = _TRANSCRIBED
        codes[found & error] = _FAILED
    if requested is not None:
        known, asked = requested
        at = known.get_indexer(ids)
        in_journal = ~found & (at >= 0)
        wanted = np.zeros(len(ids), dtype=bool)
        wanted[in_journal] = asked[at[in_journal]]
        codes[in_journal & wanted] = _PENDING
        codes[in_journal & ~wanted] = _NOT_REQUESTED
    status: Any = schema.JOINED["transcription_status"]
    out["transcription_status"] = pd.Categorical.from_codes(codes, dtype=status)
    for column, source in (("transcription_error", "error"),
                           ("transcription_charge", "transcription_charge"),
                           ("transcription_rate", "transcription_rate"),
                           ("transcription_received_at", "received_at")):
        dtype: Any = schema.JOINED[column]
        if picked is None:
            out[column] = pd.Series(pd.array([pd.NA] * len(out), dtype=dtype), index=out.index)
            continue
        values = picked[source].reset_index(drop=True).astype(dtype)
        values[~found] = pd.NA
        values.index = out.index
        out[column] = values
    return schema.coerce(out, schema.JOINED)[list(schema.JOINED)]
