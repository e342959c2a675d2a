"""Choosing part of the data: a time range and some conferences.

The recordings are chosen by ``recording_start`` (UTC) and ``conference_name``; the
transcriptions follow their recordings (a transcription callback names neither a conference nor
when its recording ran), so a transcription whose recording is not among the chosen ones is left
out of a filtered selection. The dashboard, the CLI and the report all choose this way.

Examples
--------
>>> import pandas as pd
>>> rec = pd.DataFrame({"recording_id": ["a", "b", "c"],
...                     "conference_name": ["sales", "eng", "sales"],
...                     "recording_start": pd.to_datetime(
...                         ["2026-11-02 09:00", "2026-11-03 09:00", "2026-11-04 09:00"],
...                         utc=True)})
>>> tr = pd.DataFrame({"recording_id": ["a", "c"]})
>>> chosen, transcribed = select(rec, tr, since="2026-11-03", conferences=["sales"])
>>> chosen["recording_id"].tolist(), transcribed["recording_id"].tolist()
(['c'], ['c'])
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._common import is_dask, isin, needs, require, to_pandas, utc

__all__ = ["select"]


@needs("recording_id")
def select(recordings: Any, transcriptions: Any, *, since: Any = None, until: Any = None,
           conferences: Iterable[str] | None = None) -> tuple[Any, Any]:
    """The recordings started in ``[since, until)`` in ``conferences``, and their transcriptions.

    Parameters
    ----------
    since, until
        Anything ``pd.Timestamp`` reads (naive means UTC); ``until`` is exclusive, so
        ``until="2026-11-10"`` ends with the 9th. None: open.
    conferences
        Conference names to keep; None keeps all.

    With no filter at all the frames are returned as they are (orphan transcriptions
    included). Works on pandas and Dask frames (Dask stays lazy).
    """
    if since is None and until is None and conferences is None:
        return recordings, transcriptions
    mask = None
    if since is not None or until is not None:
        require(recordings, ["recording_start"], "select")
        start = recordings["recording_start"]
        if since is not None:
            mask = start >= utc(since)
        if until is not None:
            before = start < utc(until)
            mask = before if mask is None else mask & before
        if since is not None and until is not None and utc(until) <= utc(since):
            raise ValueError(f"until ({until}) must be later than since ({since})")
    if conferences is not None:
        names = list(conferences)
        require(recordings, ["conference_name"], "select")
        named = recordings["conference_name"].isin(names)
        mask = named if mask is None else mask & named
    assert mask is not None  # at least one filter was given (the early return above)
    chosen = recordings[mask.fillna(False)]
    ids = chosen["recording_id"]
    if is_dask(transcriptions):
        ids = ids.compute() if is_dask(ids) else ids
        keep = transcriptions["recording_id"].isin(list(ids.dropna()))
        return chosen, transcriptions[keep.fillna(False)]
    return chosen, transcriptions[isin(transcriptions["recording_id"], to_pandas(ids))]
