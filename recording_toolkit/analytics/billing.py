"""Billing audit: the charge each transcription should have cost next to what was charged.

The expected charge is ``transcription_rate`` (the price per minute the callback itself
reports) times the recording's billed minutes (whole minutes, rounded up, at least one:
:func:`recording_toolkit.rules.billed_minutes`); a failed transcription is expected to cost
nothing. The duration is the recording callback's ``recording_duration_ms`` when the recording
is known, else the transcription callback's ``duration`` (whole seconds).

That checks Plivo's arithmetic, not its price: :func:`rate_mismatches` answers the other half
of "is the bill right" by comparing each callback's ``transcription_rate`` with the rate card's
``transcription_per_minute``.

Examples
--------
>>> import pandas as pd
>>> tr = pd.DataFrame({"recording_id": ["a", "b"], "transcription_rate": [0.05, 0.05],
...                    "transcription_charge": [0.10, 0.70], "duration": [90, 600],
...                    "error": [None, None]})
>>> audit = billing_audit(tr)
>>> audit[["recording_id", "expected_charge", "transcription_charge", "mismatch"]].values.tolist()
[['a', 0.1, 0.1, False], ['b', 0.5, 0.7, True]]
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .. import rules
from ..config import RateCard
from ._common import lookup, needs, require, to_pandas

__all__ = ["AUDIT_COLUMNS", "DEFAULT_TOLERANCE", "RATE_MISMATCH_COLUMNS", "RATE_TOLERANCE",
           "audit_counts", "billing_audit", "billing_by_day", "billing_mismatches",
           "mismatches_in", "rate_mismatches"]

#: Charges closer than this to the expected one are taken as right (Plivo rounds money).
DEFAULT_TOLERANCE = 0.005

#: Prices per minute closer than this to the rate card's are taken as the same price.
RATE_TOLERANCE = 1e-6

RATE_MISMATCH_COLUMNS = ["recording_id", "transcription_rate", "card_rate", "difference"]

#: What the audit needs of the transcriptions frame.
_AUDITED = ("recording_id", "transcription_rate", "transcription_charge", "duration", "error")

AUDIT_COLUMNS = ["recording_id", "duration_ms", "duration_source", "billed_minutes",
                 "transcription_rate", "expected_charge", "transcription_charge", "difference",
                 "failed", "mismatch"]


#: What the audit needs of a joined frame (``schema.JOINED``) instead.
_JOINED = ("recording_id", "recording_duration_ms", "transcription_status",
           "transcription_rate", "transcription_charge", "transcription_error")


def _is_joined(frame: Any) -> bool:
    return "transcription_status" in frame.columns and "error" not in frame.columns


def _callbacks_of(joined: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A joined frame's transcription callbacks (the rows that had one), as the
    (transcriptions, recordings) pair the audit takes: the recording's exact duration is
    there, so no callback duration is needed."""
    columns = list(_JOINED) + (["transcription_received_at"]
                               if "transcription_received_at" in joined.columns else [])
    frame = to_pandas(joined, columns)
    rows = frame[frame["transcription_status"].isin(["transcribed", "failed"])
                 .fillna(False).to_numpy(dtype=bool)]
    transcriptions = pd.DataFrame({
        "recording_id": rows["recording_id"],
        "transcription_rate": rows["transcription_rate"],
        "transcription_charge": rows["transcription_charge"],
        "duration": pd.Series(pd.NA, index=rows.index, dtype="Int64"),
        "error": rows["transcription_error"],
        "received_at": rows["transcription_received_at"] if "transcription_received_at"
        in rows.columns else pd.Series(pd.NaT, index=rows.index, dtype="datetime64[ms, UTC]"),
    })
    return transcriptions, rows[["recording_id", "recording_duration_ms"]]


@needs(*_AUDITED, alternatives=[_JOINED])
def billing_audit(transcriptions: Any, recordings: Any = None, *,
                  tolerance: float = DEFAULT_TOLERANCE, rates: RateCard | None = None
                  ) -> pd.DataFrame:
    """One row per transcription callback: expected and charged cost, and whether they differ.

    Parameters
    ----------
    transcriptions
        ``schema.TRANSCRIPTIONS`` rows (``recording_id``, ``transcription_rate``,
        ``transcription_charge``, ``duration``, ``error``); or a joined frame
        (``schema.JOINED``) alone, whose recordings with a transcription callback are audited
        with their exact duration.
    recordings
        ``schema.RECORDINGS`` rows, for the exact ``recording_duration_ms`` (optional).
    tolerance
        A charge is a mismatch when it differs from the expected one by more than this.
    rates
        When given, its ``transcription_per_minute`` stands in for a missing
        ``transcription_rate``; otherwise such rows have no expected charge and are no
        mismatch (``expected_charge`` is <NA>).

    Returns
    -------
    DataFrame
        :data:`AUDIT_COLUMNS`: ``duration_source`` is ``"recording"`` or ``"transcription"``;
        ``difference`` is charged minus expected; ``mismatch`` is True beyond ``tolerance``.
    """
    if tolerance < 0:
        raise ValueError(f"tolerance: {tolerance!r} must be >= 0")
    if recordings is None and _is_joined(transcriptions):
        transcriptions, recordings = _callbacks_of(transcriptions)
    frame = to_pandas(transcriptions, list(_AUDITED))
    frame = frame.reset_index(drop=True)
    ms = (frame["duration"].astype("Int64") * 1000).astype("Int64")
    source = pd.Series("transcription", index=frame.index, dtype=object)
    if recordings is not None:
        require(recordings, ["recording_id", "recording_duration_ms"], "billing_audit")
        exact = to_pandas(recordings, ["recording_id", "recording_duration_ms"]) \
            .drop_duplicates("recording_id")
        from_recording = lookup(frame["recording_id"], exact["recording_id"],
                                exact["recording_duration_ms"].astype("Int64"))
        known = from_recording.notna().to_numpy(dtype=bool)
        ms = from_recording.where(known, ms)
        source[known] = "recording"
    source = source.mask(ms.isna().to_numpy(dtype=bool))
    rate = frame["transcription_rate"].astype("Float64")
    if rates is not None:
        rate = rate.fillna(rates.transcription_per_minute)
    failed = frame["error"].notna()
    minutes = rules.billed_minutes(ms).astype("Int64")
    expected = (rate * minutes.astype("Float64")).mask(failed.to_numpy(dtype=bool), 0.0)
    expected = expected.round(6)
    charged = frame["transcription_charge"].astype("Float64")
    difference = (charged - expected).round(6)
    mismatch = (difference.abs() > tolerance).fillna(False).astype(bool)
    return pd.DataFrame({
        "recording_id": frame["recording_id"],
        "duration_ms": ms,
        "duration_source": source.astype("string"),
        "billed_minutes": minutes,
        "transcription_rate": rate,
        "expected_charge": expected,
        "transcription_charge": charged,
        "difference": difference,
        "failed": failed.astype(bool),
        "mismatch": mismatch,
    })[AUDIT_COLUMNS]


@needs(*_AUDITED, alternatives=[_JOINED])
def billing_mismatches(transcriptions: Any, recordings: Any = None, **options: Any
                       ) -> pd.DataFrame:
    """The rows of :func:`billing_audit` whose charge is off, largest difference first.

    Examples
    --------
    >>> import pandas as pd
    >>> tr = pd.DataFrame({"recording_id": ["a", "b"], "transcription_rate": [0.05, 0.05],
    ...                    "transcription_charge": [0.05, 0.0], "duration": [30, 30],
    ...                    "error": [None, None]})
    >>> billing_mismatches(tr)[["recording_id", "expected_charge", "transcription_charge"]]\\
    ...     .values.tolist()
    [['b', 0.05, 0.0]]
    """
    return mismatches_in(billing_audit(transcriptions, recordings, **options))


def mismatches_in(audit: pd.DataFrame) -> pd.DataFrame:
    """The mismatched rows of a :func:`billing_audit` frame, largest difference first."""
    off = audit[audit["mismatch"].to_numpy(dtype=bool)]
    order = off["difference"].abs().astype(float).sort_values(ascending=False, kind="stable")
    return off.loc[order.index].reset_index(drop=True)


@needs("recording_id", "transcription_rate")
def rate_mismatches(transcriptions: Any, rates: RateCard, *,
                    tolerance: float = RATE_TOLERANCE) -> pd.DataFrame:
    """The transcription callbacks whose ``transcription_rate`` is not the rate card's price.

    :func:`billing_audit` takes each callback's own rate, so a charge can be exactly rate x
    billed minutes and still be at the wrong price; this lists those rows. Callbacks that
    report no rate are not listed (there is nothing to compare).

    Parameters
    ----------
    transcriptions
        ``schema.TRANSCRIPTIONS`` rows (``recording_id``, ``transcription_rate``).
    rates
        The rate card; its ``transcription_per_minute`` is the expected price.
    tolerance
        A rate is a mismatch when it differs from the card's by more than this.

    Returns
    -------
    DataFrame
        :data:`RATE_MISMATCH_COLUMNS`, in the order of ``transcriptions``; ``difference`` is
        the callback's rate minus the card's.

    Examples
    --------
    >>> import pandas as pd
    >>> tr = pd.DataFrame({"recording_id": ["a", "b", "c"],
    ...                    "transcription_rate": [0.05, 0.06, None]})
    >>> rate_mismatches(tr, RateCard(transcription_per_minute=0.06)).values.tolist()
    [['a', 0.05, 0.06, -0.01]]
    """
    if tolerance < 0:
        raise ValueError(f"tolerance: {tolerance!r} must be >= 0")
    frame = to_pandas(transcriptions, ["recording_id", "transcription_rate"]) \
        .reset_index(drop=True)
    rate = frame["transcription_rate"].astype("Float64")
    card = float(rates.transcription_per_minute)
    difference = (rate - card).round(6)
    off = (difference.abs() > tolerance).fillna(False).to_numpy(dtype=bool)
    return pd.DataFrame({
        "recording_id": frame["recording_id"][off],
        "transcription_rate": rate[off],
        "card_rate": pd.Series(card, index=frame.index, dtype="Float64")[off],
        "difference": difference[off],
    })[RATE_MISMATCH_COLUMNS].reset_index(drop=True)


@needs("duration_ms", "transcription_rate", "expected_charge", "transcription_charge",
       "failed", "mismatch")
def audit_counts(audit: pd.DataFrame) -> dict[str, int]:
    """How many rows of a :func:`billing_audit` frame could be checked, and why not the rest.

    A row is checked when both its expected and its charged amount are known. The rest have
    ``no_duration`` (neither the recording nor the callback says how long it was),
    ``no_rate`` (no price to multiply by) or ``no_charge`` (the callback reports none); a row
    counts under the first reason that applies.

    Examples
    --------
    >>> import pandas as pd
    >>> tr = pd.DataFrame({"recording_id": ["a", "b"], "transcription_rate": [0.05, 0.05],
    ...                    "transcription_charge": [0.05, 0.05], "duration": [30, None],
    ...                    "error": [None, None]})
    >>> audit_counts(billing_audit(tr))
    {'audited': 2, 'checked': 1, 'unchecked': 1, 'no_duration': 1, 'no_rate': 0, 'no_charge': 0, 'mismatches': 0}
    """
    no_duration = audit["duration_ms"].isna() & ~audit["failed"]
    no_rate = audit["transcription_rate"].isna() & ~audit["failed"] & ~no_duration
    no_charge = audit["transcription_charge"].isna() & ~no_duration & ~no_rate
    checked = audit[["expected_charge", "transcription_charge"]].notna().all(axis=1)
    return {"audited": len(audit), "checked": int(checked.sum()),
            "unchecked": int((~checked).sum()), "no_duration": int(no_duration.sum()),
            "no_rate": int(no_rate.sum()), "no_charge": int(no_charge.sum()),
            "mismatches": int(audit["mismatch"].sum())}


@needs(*_AUDITED, "received_at", alternatives=[(*_JOINED, "transcription_received_at")])
def billing_by_day(transcriptions: Any, recordings: Any = None, *,
                   tolerance: float = DEFAULT_TOLERANCE, rates: RateCard | None = None
                   ) -> dict[str, Any]:
    """The billing audit per UTC day of the transcription callback: charged minus expected.

    Arguments as :func:`billing_audit` (a joined frame too), whose rows this adds up.

    Returns
    -------
    dict
        ``by_day``: indexed by day (naive UTC, every day between the first and the last),
        ``checked`` (transcriptions with both amounts), ``expected``, ``charged``,
        ``difference`` (charged minus expected) and ``mismatches``; ``counts``:
        :func:`audit_counts` of all the rows; ``difference``: the total difference;
        ``tolerance``; ``no_time``: checked rows with no ``received_at`` (in the totals,
        on no day).

    Examples
    --------
    >>> import pandas as pd
    >>> tr = pd.DataFrame({"recording_id": ["a", "b"], "transcription_rate": [0.05, 0.05],
    ...                    "transcription_charge": [0.10, 0.70], "duration": [90, 600],
    ...                    "error": [None, None], "received_at": pd.to_datetime(
    ...                        ["2026-11-02 10:00", "2026-11-03 10:00"], utc=True)})
    >>> by_day = billing_by_day(tr)
    >>> by_day["by_day"]["difference"].tolist(), round(by_day["difference"], 6)
    ([0.0, 0.2], 0.2)
    """
    from ._common import period_start

    if recordings is None and _is_joined(transcriptions):
        transcriptions, recordings = _callbacks_of(transcriptions)
    audit = billing_audit(transcriptions, recordings, tolerance=tolerance, rates=rates)
    times = to_pandas(transcriptions, ["received_at"])["received_at"].reset_index(drop=True)
    checked = audit[["expected_charge", "transcription_charge"]].notna().all(axis=1) \
        .to_numpy(dtype=bool)
    timed = checked & times.notna().to_numpy(dtype=bool)
    rows = audit[timed]
    values = pd.DataFrame({
        "checked": 1,
        "expected": rows["expected_charge"].astype(float),
        "charged": rows["transcription_charge"].astype(float),
        "difference": rows["difference"].astype(float),
        "mismatches": rows["mismatch"].astype(int),
    }, index=rows.index)
    columns = ["checked", "expected", "charged", "difference", "mismatches"]
    if values.empty:
        by_day = pd.DataFrame({c: pd.Series(dtype=float) for c in columns},
                              index=pd.DatetimeIndex([], name="day"))
    else:
        days = period_start(times[timed], "D")
        sums = values.groupby(days.to_numpy()).sum()
        full = pd.date_range(sums.index.min(), sums.index.max(), freq="D", name="day")
        by_day = sums.reindex(full, fill_value=0)
        by_day[["checked", "mismatches"]] = by_day[["checked", "mismatches"]].astype(int)
        by_day[["expected", "charged", "difference"]] = \
            by_day[["expected", "charged", "difference"]].round(6)
    return {"by_day": by_day[columns], "counts": audit_counts(audit),
            "difference": round(float(audit["difference"][checked].astype(float).sum()), 6),
            "tolerance": tolerance, "no_time": int((checked & ~timed).sum())}
