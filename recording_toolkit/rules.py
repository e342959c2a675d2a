"""Plivo's billing and transcription-eligibility rules, in one place.

The sandbox applies these rules when it simulates Plivo; the analytics predict and audit with them.
Sources: ``docs/plivo.md`` ("Money" and "The transcription callback").

Billing: Plivo bills whole minutes, rounded up, one minute at least (consistent with the official
SDK's fixture: a 22.78 s recording billed 0.05 at 0.05 per minute).

Eligibility: transcription is English only and limited to recordings longer than 500 ms, shorter
than 4 hours, with a file smaller than 2 GB. Plivo does not publish its encoder settings, so the
file size is *estimated* from the duration with the bitrates below (assumptions, documented):

- ``mp3``: 32 kbit/s mono (4,000 bytes per second) -- Plivo's conference mp3s are low-bitrate
  speech; at this rate no recording under 4 h reaches 2 GB.
- ``wav``: 16-bit PCM mono at 8 kHz (128 kbit/s, 16,000 bytes per second) plus a 44-byte header --
  telephony audio; 2 GB is reached after about 37.3 hours, also beyond the 4 h limit.

Because of that, with these bitrates the duration limits decide eligibility in practice; the
size rule still matters for callers who set a higher bitrate (``bytes_per_second``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "BYTES_PER_SECOND",
    "ERROR_FILE_TOO_LARGE",
    "ERROR_TOO_LONG",
    "ERROR_TOO_SHORT",
    "MAX_FILE_BYTES",
    "MAX_TRANSCRIBABLE_MS",
    "MIN_TRANSCRIBABLE_MS",
    "WAV_HEADER_BYTES",
    "billed_minutes",
    "estimated_file_bytes",
    "transcription_ineligibility",
]

MIN_TRANSCRIBABLE_MS = 500
"""A recording must be *longer* than this to be transcribed."""
MAX_TRANSCRIBABLE_MS = 4 * 60 * 60 * 1000
"""A recording must be *shorter* than this (4 hours) to be transcribed."""
MAX_FILE_BYTES = 2 * 1024**3
"""A recording file must be *smaller* than this (2 GB) to be transcribed."""

BYTES_PER_SECOND = {"mp3": 4_000, "wav": 16_000}
WAV_HEADER_BYTES = 44

# The texts Plivo sends in the transcription callback's ``error`` field.
ERROR_TOO_LONG = "Recording duration too long for transcription"
ERROR_FILE_TOO_LARGE = "Recording file size too large for transcription"
# Plivo documents the 500 ms floor but no error text for it; this is the sandbox's wording.
ERROR_TOO_SHORT = "Recording duration too short for transcription"


def billed_minutes(duration_ms: Any) -> Any:
    """Whole minutes billed for a recording: ``max(1, ceil(ms / 60000))``.

    Works on a number or, vectorised, on a numpy array or pandas Series (missing stays missing).

    Examples
    --------
    >>> billed_minutes(22780)
    1
    >>> billed_minutes(60000), billed_minutes(60001)
    (1, 2)
    """
    if isinstance(duration_ms, int | float | np.integer | np.floating):
        if isinstance(duration_ms, float) and math.isnan(duration_ms):
            return duration_ms
        return max(1, math.ceil(duration_ms / 60000))
    # pandas / numpy: integer ceil-division keeps exactness for Int64 data.
    minutes = -(-duration_ms // 60000)
    return minutes.clip(lower=1) if hasattr(minutes, "clip") else np.maximum(minutes, 1)


def estimated_file_bytes(duration_ms: Any, file_format: Any,
                         bytes_per_second: dict[str, int] | None = None) -> Any:
    """Estimated size of a recording file, from its duration and format (see module docstring)."""
    rates = BYTES_PER_SECOND if bytes_per_second is None else bytes_per_second
    if isinstance(file_format, str):
        rate = rates[file_format.lower()]
        header = WAV_HEADER_BYTES if file_format.lower() == "wav" else 0
        return duration_ms * rate / 1000 + header
    fmt = file_format.astype("string").str.lower()
    rate = fmt.map(rates).astype("Float64")
    header = (fmt == "wav").astype("Int64") * WAV_HEADER_BYTES
    return duration_ms.astype("Float64") * rate / 1000 + header


def transcription_ineligibility(duration_ms: float, file_format: str,
                                bytes_per_second: dict[str, int] | None = None) -> str | None:
    """The error Plivo would send for this recording, or None if it can be transcribed.

    Examples
    --------
    >>> transcription_ineligibility(400, "mp3")
    'Recording duration too short for transcription'
    >>> transcription_ineligibility(4 * 3600 * 1000, "wav")
    'Recording duration too long for transcription'
    >>> transcription_ineligibility(60_000, "wav") is None
    True
    """
    if duration_ms <= MIN_TRANSCRIBABLE_MS:
        return ERROR_TOO_SHORT
    if duration_ms >= MAX_TRANSCRIBABLE_MS:
        return ERROR_TOO_LONG
    if estimated_file_bytes(duration_ms, file_format, bytes_per_second) >= MAX_FILE_BYTES:
        return ERROR_FILE_TOO_LARGE
    return None
