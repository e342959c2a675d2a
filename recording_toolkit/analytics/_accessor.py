"""The ``df.rec`` accessor: the analytics as methods of a typed frame.

It only delegates to the functions of :mod:`recording_toolkit.analytics`, so a figure is
computed in one place whichever way it is asked for. Asking for a method the frame cannot
serve (say ``turnaround_stats`` on a recordings frame, which has no
``transcription_received_at``) raises :class:`AttributeError` naming the missing columns,
and ``hasattr(df.rec, name)`` tells whether a frame can serve it. ``dir(df.rec)`` (and so tab
completion) lists every method whatever the frame, so each can be found, and asking for one
says what it needs. The accessor is registered
on pandas DataFrames; on Dask frames call the functions themselves (they take either).

Examples
--------
>>> import pandas as pd
>>> import recording_toolkit.analytics
>>> recordings = pd.DataFrame({"recording_id": ["a", "b"],
...                            "recording_duration_ms": [30_000, 90_000]})
>>> recordings.rec.duration_summary()["billed_minutes"]
3
>>> hasattr(recordings.rec, "turnaround_stats")
False
>>> recordings.rec.turnaround_stats()
Traceback (most recent call last):
...
AttributeError: df.rec.turnaround_stats needs column(s) ['recording_end', 'transcription_received_at']; the frame has ['recording_id', 'recording_duration_ms']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd

from . import billing, cost, durations, eligibility, outcomes, quality, turnaround

__all__ = ["RecAccessor"]

_F = TypeVar("_F", bound=Callable[..., Any])
_NEEDS: dict[str, tuple[str, ...]] = {}


def _needs(*columns: str) -> Callable[[_F], _F]:
    def mark(method: _F) -> _F:
        _NEEDS[method.__name__] = columns
        return method

    return mark


@pd.api.extensions.register_dataframe_accessor("rec")
class RecAccessor:
    """Analytics of a recordings, transcriptions or joined frame (see the module docstring)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    def __getattribute__(self, name: str) -> Any:
        needs = _NEEDS.get(name)
        if needs:
            frame = object.__getattribute__(self, "_frame")
            missing = [c for c in needs if c not in frame.columns]
            if missing:
                raise AttributeError(f"df.rec.{name} needs column(s) {missing}; the frame has"
                                     f" {list(frame.columns)}")
        return object.__getattribute__(self, name)

    def __dir__(self) -> list[str]:
        return sorted(_NEEDS)

    # recordings ------------------------------------------------------------------------------

    @_needs("recording_duration_ms")
    def billed_minutes(self) -> pd.Series:
        """:func:`.durations.billed_minutes`."""
        return durations.billed_minutes(self._frame)

    @_needs("recording_id", "recording_duration_ms")
    def duration_summary(self) -> dict[str, Any]:
        """:func:`.durations.duration_summary`."""
        return durations.duration_summary(self._frame)

    @_needs("recording_id", "recording_duration_ms")
    def duration_stats(self, by: str | None = None) -> pd.DataFrame:
        """:func:`.durations.duration_stats`."""
        return durations.duration_stats(self._frame, by)

    @_needs("recording_duration_ms", "recording_start")
    def minutes_over_time(self, freq: str = "D") -> pd.DataFrame:
        """:func:`.durations.minutes_over_time`."""
        return durations.minutes_over_time(self._frame, freq)

    @_needs("recording_duration_ms", "recording_start")
    def storage_projection(self, **options: Any) -> pd.DataFrame:
        """:func:`.cost.storage_projection`."""
        return cost.storage_projection(self._frame, **options)

    @_needs("recording_id", "file_format", "recording_duration_ms")
    def transcription_eligibility(self, **options: Any) -> pd.DataFrame:
        """:func:`.eligibility.transcription_eligibility`."""
        return eligibility.transcription_eligibility(self._frame, **options)

    @_needs("recording_id", "file_format", "recording_duration_ms")
    def wav_to_mp3_savings(self, **options: Any) -> dict[str, Any]:
        """:func:`.eligibility.wav_to_mp3_savings`."""
        return eligibility.wav_to_mp3_savings(self._frame, **options)

    @_needs("recording_id")
    def transcription_coverage(self, transcriptions: Any) -> float | None:
        """:func:`.outcomes.transcription_coverage` of these recordings."""
        return outcomes.transcription_coverage(self._frame, transcriptions)

    @_needs("recording_id")
    def data_quality(self, transcriptions: Any = None, **options: Any) -> pd.DataFrame:
        """:func:`.quality.data_quality`."""
        return quality.data_quality(self._frame, transcriptions, **options)

    # transcriptions --------------------------------------------------------------------------

    @_needs("recording_id", "error")
    def transcription_counts(self) -> dict[str, int]:
        """:func:`.outcomes.transcription_counts`."""
        return outcomes.transcription_counts(self._frame)

    @_needs("recording_id", "error")
    def transcription_success_rate(self) -> float | None:
        """:func:`.outcomes.transcription_success_rate`."""
        return outcomes.transcription_success_rate(self._frame)

    @_needs("error")
    def transcription_errors(self) -> dict[str, int]:
        """:func:`.outcomes.transcription_errors`."""
        return outcomes.transcription_errors(self._frame)

    @_needs("transcription_rate")
    def transcription_rate_stats(self) -> dict[str, Any]:
        """:func:`.outcomes.transcription_rate_stats` (the price per minute)."""
        return outcomes.transcription_rate_stats(self._frame)

    @_needs("transcription_charge")
    def charge_total(self) -> float:
        """:func:`.cost.charge_total`."""
        return cost.charge_total(self._frame)

    @_needs("recording_id", "transcription_rate", "transcription_charge", "duration", "error")
    def billing_audit(self, recordings: Any = None, **options: Any) -> pd.DataFrame:
        """:func:`.billing.billing_audit`."""
        return billing.billing_audit(self._frame, recordings, **options)

    @_needs("recording_id", "transcription_rate", "transcription_charge", "duration", "error")
    def billing_mismatches(self, recordings: Any = None, **options: Any) -> pd.DataFrame:
        """:func:`.billing.billing_mismatches`."""
        return billing.billing_mismatches(self._frame, recordings, **options)

    @_needs("recording_id", "transcription_rate")
    def rate_mismatches(self, rates: Any, **options: Any) -> pd.DataFrame:
        """:func:`.billing.rate_mismatches`."""
        return billing.rate_mismatches(self._frame, rates, **options)

    # joined ----------------------------------------------------------------------------------

    @_needs("transcription_status", "transcription_error")
    def outcome_counts(self) -> pd.DataFrame:
        """:func:`.outcomes.outcome_counts`."""
        return outcomes.outcome_counts(self._frame)

    @_needs("recording_id", "recording_end", "transcription_received_at")
    def turnaround_seconds(self) -> pd.Series:
        """:func:`.turnaround.turnaround_seconds`."""
        return turnaround.turnaround_seconds(self._frame)

    @_needs("recording_id", "recording_end", "transcription_received_at")
    def turnaround_stats(self, **options: Any) -> dict[str, Any]:
        """:func:`.turnaround.turnaround_stats`."""
        return turnaround.turnaround_stats(self._frame, **options)
