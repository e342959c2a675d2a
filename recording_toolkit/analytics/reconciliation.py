"""Reconciliation: what the request journal says was started against what Plivo called back.

Three lists, each a frame, from the typed frames and the journal frame (``schema.JOURNAL``,
from ``load.load_journal``); nothing here reads files or calls Plivo (backfilling lost
recording callbacks from the Recording list API is :mod:`recording_toolkit.backfill`'s job; the
rows it recovers arrive in the recordings frame with ``backfilled`` True and are marked so
here):

- :func:`missing_recording_callbacks`: starts the journal records as answered whose recording
  callback never came (``backfilled`` True when the recording was recovered from the Recording
  list API instead);
- :func:`unexpected_callbacks`: recording callbacks for recordings no journalled start names;
  ``unanswered_start`` marks those that a start with no answer (``may_have_started``: say a
  500 or a read timeout) for the same conference, shortly before, explains;
- :func:`missing_transcriptions`: recordings whose start asked for a transcript, whose
  recording callback came, and whose transcription has still not arrived ``threshold`` after
  the recording ended.

A start Plivo accepted without naming the recording (its answer had an ``api_id`` but no
``recording_id``: the id was pending) is matched to its recording callback by ``api_id``, which
the callback repeats; until that callback comes it is missing with ``recording_id`` <NA>.

"Now" defaults to the latest ``received_at`` in the data, so a log from last month is judged as
of its own end rather than as of today.

Examples
--------
>>> import pandas as pd
>>> from recording_toolkit import schema
>>> journal = schema.coerce(pd.DataFrame({
...     "time": pd.to_datetime(["2026-11-02 10:00", "2026-11-02 10:01"], utc=True),
...     "action": ["start", "start"], "conference_name": ["sales", "eng"],
...     "ok": [True, True], "recording_id": ["a", "b"]}), schema.JOURNAL)
>>> recordings = schema.coerce(pd.DataFrame({"recording_id": ["a", "z"],
...                                          "conference_name": ["sales", "ops"]}),
...                            schema.RECORDINGS)
>>> missing_recording_callbacks(recordings, journal)["recording_id"].tolist()
['b']
>>> unexpected_callbacks(recordings, journal)["recording_id"].tolist()
['z']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from ._common import isin, lookup, needs, require, to_pandas, utc

__all__ = [
    "DEFAULT_TRANSCRIPTION_THRESHOLD",
    "UNANSWERED_START_WINDOW",
    "Reconciliation",
    "missing_recording_callbacks",
    "missing_transcriptions",
    "reconcile",
    "unexpected_callbacks",
]

#: How long after a recording's end its transcription may take before it counts as missing.
#: Plivo's older pages say "about 30 minutes"; twice that leaves room for the tail.
DEFAULT_TRANSCRIPTION_THRESHOLD = pd.Timedelta(hours=1)
#: How long before a recording's start an unanswered start request may explain it.
UNANSWERED_START_WINDOW = pd.Timedelta(minutes=5)

_JOURNAL_COLUMNS = ["time", "action", "conference_name", "ok", "recording_id", "api_id",
                    "transcription_type", "may_have_started"]


def _starts(journal: pd.DataFrame, recordings: Any = None) -> pd.DataFrame:
    """Answered starts, one per recording (the first): those with a recording id, and those
    whose id was pending (an ``api_id`` but no ``recording_id`` in the answer).

    With ``recordings`` (a frame with ``api_id`` and ``recording_id``), a pending start takes
    the ``recording_id`` of the recording callback that repeats its ``api_id``; one whose
    callback has not come keeps <NA>.
    """
    require(journal, _JOURNAL_COLUMNS, "reconciliation (journal)")
    journal = journal[_JOURNAL_COLUMNS]  # rows are picked below: carry only what is used
    is_start = (journal["action"].astype("string") == "start").fillna(False)
    ok = journal["ok"].astype("boolean").fillna(False)
    has_id = journal["recording_id"].notna()
    pending = ~has_id & journal["api_id"].notna()
    rows = journal[(is_start & ok & (has_id | pending)).to_numpy(dtype=bool)]
    rows = rows.sort_values("time", kind="stable")
    waiting = rows["recording_id"].isna().to_numpy(dtype=bool)
    if waiting.any():
        rows = rows.copy()
        if recordings is not None and {"api_id", "recording_id"} <= set(recordings.columns):
            called = to_pandas(recordings, ["api_id", "recording_id"]).dropna()
            found = lookup(rows.loc[waiting, "api_id"], called["api_id"],
                           called["recording_id"].astype("string"))
            rows.loc[waiting, "recording_id"] = found.to_numpy()
    has = rows["recording_id"].notna()
    repeated = ((has & rows["recording_id"].duplicated())
                | (~has & rows["api_id"].where(~has).duplicated()))
    return rows[~repeated.to_numpy(dtype=bool)]


def _as_threshold(value: Any) -> pd.Timedelta:
    threshold = pd.Timedelta(value)
    if threshold < pd.Timedelta(0):
        raise ValueError(f"threshold: {value!r} must not be negative")
    return threshold


def _latest(*frames: pd.DataFrame) -> pd.Timestamp | None:
    times = [f["received_at"].max() for f in frames if len(f) and "received_at" in f.columns]
    times = [t for t in times if pd.notna(t)]
    return max(times) if times else None


@needs("recording_id")
def missing_recording_callbacks(recordings: Any, journal: pd.DataFrame) -> pd.DataFrame:
    """Journalled starts whose recording callback never came.

    A start whose answer had no ``recording_id`` counts as called back once a recording
    callback repeats its ``api_id`` (when the frame has an ``api_id`` column); until then it is
    listed with ``recording_id`` <NA>.

    Returns
    -------
    DataFrame
        ``recording_id``, ``conference_name``, ``api_id``, ``started_at`` (the journal's
        ``time``), ``transcription_requested`` and ``backfilled`` (True: the recording is in
        the frame only because it was recovered from the Recording list API). In journal order.
    """
    columns = ["recording_id"] + (["backfilled"] if "backfilled" in recordings.columns else [])
    columns += ["api_id"] if "api_id" in recordings.columns else []
    have = to_pandas(recordings, columns).drop_duplicates("recording_id")
    if "backfilled" not in have.columns:
        have["backfilled"] = False
    recovered = have[have["backfilled"].astype("boolean").fillna(False).to_numpy(dtype=bool)]
    starts = _starts(journal, have)
    ids = starts["recording_id"]
    was_recovered = isin(ids, recovered["recording_id"])
    called_back = isin(ids, have["recording_id"]) & ~was_recovered
    out = starts[~called_back]
    was_recovered = was_recovered[~called_back]
    return pd.DataFrame({
        "recording_id": out["recording_id"],
        "conference_name": out["conference_name"],
        "api_id": out["api_id"],
        "started_at": out["time"],
        "transcription_requested": out["transcription_type"].notna().astype(bool),
        "backfilled": was_recovered,
    }).reset_index(drop=True)


@needs("recording_id", "conference_name", "recording_start", "received_at")
def unexpected_callbacks(recordings: Any, journal: pd.DataFrame, *,
                         window: Any = UNANSWERED_START_WINDOW) -> pd.DataFrame:
    """Recording callbacks for recordings that no journalled start names.

    Returns
    -------
    DataFrame
        ``recording_id``, ``conference_name``, ``recording_start``, ``received_at``,
        ``backfilled`` and ``unanswered_start`` (True when the journal has a start for the same
        conference that got no answer but may have started a recording, at most ``window``
        before ``recording_start``). Ordered as the recordings frame.
    """
    columns = ["recording_id", "conference_name", "recording_start", "received_at"]
    if "backfilled" in recordings.columns:
        columns.append("backfilled")
    if "api_id" in recordings.columns:
        columns.append("api_id")
    frame = to_pandas(recordings, columns)
    require(journal, _JOURNAL_COLUMNS, "unexpected_callbacks (journal)")
    not_delete = (journal["action"].astype("string") != "delete").fillna(True)
    named = pd.Series([*journal.loc[not_delete.to_numpy(dtype=bool), "recording_id"].dropna(),
                       *_starts(journal, frame)["recording_id"].dropna()], dtype="string")
    out = frame[~isin(frame["recording_id"], named)].reset_index(drop=True)
    is_start = (journal["action"].astype("string") == "start").fillna(False)
    maybe = journal[(is_start & journal["may_have_started"].astype("boolean").fillna(False)
                     & ~journal["ok"].astype("boolean").fillna(False)).to_numpy(dtype=bool)]
    window = pd.Timedelta(window)
    explained = []
    for name, start in zip(out["conference_name"], out["recording_start"], strict=True):
        if pd.isna(name) or pd.isna(start):
            explained.append(False)
            continue
        times = maybe.loc[(maybe["conference_name"] == name).fillna(False)
                          .to_numpy(dtype=bool), "time"]
        explained.append(bool(((times <= start) & (times >= start - window)).any()))
    backfilled = out["backfilled"].astype("boolean").fillna(False) if "backfilled" in out \
        else pd.Series(False, index=out.index)
    return pd.DataFrame({
        "recording_id": out["recording_id"], "conference_name": out["conference_name"],
        "recording_start": out["recording_start"], "received_at": out["received_at"],
        "backfilled": backfilled.astype(bool), "unanswered_start": explained,
    }).astype({"unanswered_start": bool})


@needs("recording_id", "conference_name", "recording_end", "received_at")
def missing_transcriptions(recordings: Any, transcriptions: Any, journal: pd.DataFrame, *,
                           threshold: Any = DEFAULT_TRANSCRIPTION_THRESHOLD,
                           now: Any = None) -> pd.DataFrame:
    """Requested transcriptions still missing ``threshold`` after their recording ended.

    Only recordings whose recording callback came are judged (their end is known); those whose
    callback is also missing are in :func:`missing_recording_callbacks`.

    Returns
    -------
    DataFrame
        ``recording_id``, ``conference_name``, ``recording_end`` and ``overdue`` (how long past
        ``recording_end + threshold`` it is at ``now``), longest overdue first.

    Examples
    --------
    >>> import pandas as pd
    >>> from recording_toolkit import schema
    >>> end = pd.Timestamp("2026-11-02 10:00", tz="UTC")
    >>> journal = schema.coerce(pd.DataFrame({"time": [end], "action": ["start"], "ok": [True],
    ...     "recording_id": ["a"], "transcription_type": ["auto"]}), schema.JOURNAL)
    >>> recordings = schema.coerce(pd.DataFrame({"recording_id": ["a"], "recording_end": [end],
    ...                                          "received_at": [end]}), schema.RECORDINGS)
    >>> none = schema.empty(schema.TRANSCRIPTIONS)
    >>> late = missing_transcriptions(recordings, none, journal, now="2026-11-02 11:30")
    >>> late["overdue"].tolist()
    [Timedelta('0 days 00:30:00')]
    """
    threshold = _as_threshold(threshold)
    require(transcriptions, ["recording_id", "received_at"], "missing_transcriptions")
    rec = to_pandas(recordings, ["recording_id", "conference_name", "recording_end",
                                 "received_at"])
    tr = to_pandas(transcriptions, ["recording_id", "received_at"])
    now = _latest(rec, tr) if now is None else utc(now)
    ids = ["api_id"] if "api_id" in recordings.columns else []
    asked = _starts(journal, to_pandas(recordings, ["recording_id", *ids]))
    asked = asked[asked["transcription_type"].notna().to_numpy(dtype=bool)]
    rows = rec[isin(rec["recording_id"], asked["recording_id"])
               & ~isin(rec["recording_id"], tr["recording_id"])
               & rec["recording_end"].notna().to_numpy(dtype=bool)]
    overdue = (now - (rows["recording_end"] + threshold)) if now is not None else \
        pd.Series(pd.NaT, index=rows.index, dtype="timedelta64[ms]")
    out = pd.DataFrame({"recording_id": rows["recording_id"],
                        "conference_name": rows["conference_name"],
                        "recording_end": rows["recording_end"], "overdue": overdue})
    out = out[(out["overdue"] > pd.Timedelta(0)).to_numpy(dtype=bool)]
    return out.sort_values("overdue", ascending=False, kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class Reconciliation:
    """The three lists of :mod:`reconciliation <recording_toolkit.analytics.reconciliation>`
    and what they add up to (:meth:`counts`)."""

    started: int
    missing_recording_callbacks: pd.DataFrame
    unexpected_callbacks: pd.DataFrame
    missing_transcriptions: pd.DataFrame
    backfilled: int
    threshold: pd.Timedelta

    def counts(self) -> dict[str, int]:
        """Plain numbers (JSON-ready)."""
        missing = self.missing_recording_callbacks
        unexpected = self.unexpected_callbacks
        return {
            "started": self.started,
            "recording_callbacks_missing": int((~missing["backfilled"]).sum()),
            "recording_callbacks_backfilled": int(missing["backfilled"].sum()),
            "backfilled_recordings": self.backfilled,
            "unexpected_callbacks": len(unexpected),
            "unexpected_after_unanswered_start": int(unexpected["unanswered_start"].sum()),
            "transcriptions_missing": len(self.missing_transcriptions),
        }


@needs("recording_id", "conference_name", "recording_start", "recording_end", "received_at")
def reconcile(recordings: Any, transcriptions: Any, journal: pd.DataFrame, *,
              threshold: Any = DEFAULT_TRANSCRIPTION_THRESHOLD, now: Any = None
              ) -> Reconciliation:
    """All three lists at once, with counts.

    ``started`` counts the journal's answered starts (with a recording id, or with the id
    pending); ``backfilled`` the
    recordings frame's rows with ``backfilled`` True (journalled or not).

    Examples
    --------
    >>> import pandas as pd
    >>> from recording_toolkit import schema
    >>> t = pd.to_datetime(["2026-11-02 10:00", "2026-11-02 10:00", "2026-11-02 12:00"],
    ...                    utc=True)
    >>> journal = schema.coerce(pd.DataFrame({"time": t[:2], "action": ["start"] * 2,
    ...     "conference_name": ["sales"] * 2, "ok": [True] * 2, "recording_id": ["a", "b"],
    ...     "transcription_type": ["auto", "auto"]}), schema.JOURNAL)
    >>> recordings = schema.coerce(pd.DataFrame({"recording_id": ["a", "b"],
    ...     "conference_name": ["sales"] * 2, "recording_end": t[:2], "received_at": t[1:],
    ...     "backfilled": [False, True]}), schema.RECORDINGS)
    >>> transcriptions = schema.coerce(pd.DataFrame({"recording_id": ["x"]}),
    ...                                schema.TRANSCRIPTIONS)
    >>> counts = reconcile(recordings, transcriptions, journal).counts()
    >>> counts["recording_callbacks_backfilled"], counts["transcriptions_missing"]
    (1, 2)
    """
    threshold = _as_threshold(threshold)
    started = len(_starts(journal))
    backfilled = 0
    if "backfilled" in recordings.columns:
        flags = to_pandas(recordings, ["backfilled"])["backfilled"]
        backfilled = int(flags.astype("boolean").fillna(False).sum())
    return Reconciliation(
        started=started,
        missing_recording_callbacks=missing_recording_callbacks(recordings, journal),
        unexpected_callbacks=unexpected_callbacks(recordings, journal),
        missing_transcriptions=missing_transcriptions(recordings, transcriptions, journal,
                                                      threshold=threshold, now=now),
        backfilled=backfilled, threshold=threshold)
