"""Which recordings can be transcribed, how the prediction compares, what mp3 would save.

Plivo transcribes recordings longer than 500 ms, shorter than 4 hours, with a file under 2 GB
(:mod:`recording_toolkit.rules`, which also documents the bitrates the file size is estimated
with: Plivo does not publish them). The sandbox applies the same rules, so on sandbox data the
prediction and the outcome agree; on Plivo's data a disagreement is worth a look.

Examples
--------
>>> import pandas as pd
>>> rec = pd.DataFrame({"recording_id": ["a", "b"], "file_format": ["mp3", "wav"],
...                     "recording_duration_ms": [400, 60_000]})
>>> transcription_eligibility(rec)[["recording_id", "eligible"]].values.tolist()
[['a', False], ['b', True]]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .. import rules
from ._common import isin, lookup, needs, require, to_pandas

__all__ = ["eligibility_vs_outcome", "transcription_eligibility", "wav_to_mp3_savings"]


@needs("recording_id", "file_format", "recording_duration_ms")
def transcription_eligibility(recordings: Any, *,
                              bytes_per_second: dict[str, int] | None = None) -> pd.DataFrame:
    """Per recording: estimated file size, the error Plivo would send, and eligibility.

    Returns
    -------
    DataFrame
        ``recording_id``, ``file_format``, ``recording_duration_ms``, ``estimated_bytes``
        (Float64), ``predicted_error`` (the rule's error text, <NA> when eligible or unknown)
        and ``eligible`` (boolean; <NA> when the duration or format is missing).
    """
    frame = to_pandas(recordings, ["recording_id", "file_format", "recording_duration_ms"]) \
        .reset_index(drop=True)
    ms = frame["recording_duration_ms"].astype("Int64")
    fmt = frame["file_format"].astype("string")
    size = rules.estimated_file_bytes(ms, fmt, bytes_per_second)
    known = (ms.notna() & fmt.notna()).to_numpy(dtype=bool)
    ms_f = ms.astype("Float64").fillna(0).to_numpy(dtype=float)
    size_f = size.fillna(0).to_numpy(dtype=float)
    error = np.select(
        [ms_f <= rules.MIN_TRANSCRIBABLE_MS, ms_f >= rules.MAX_TRANSCRIBABLE_MS,
         size_f >= rules.MAX_FILE_BYTES],
        [rules.ERROR_TOO_SHORT, rules.ERROR_TOO_LONG, rules.ERROR_FILE_TOO_LARGE],
        default="")
    predicted = pd.Series(error, dtype="string").where(known & (error != ""), pd.NA)
    eligible = pd.Series(error == "", dtype="boolean").where(known, pd.NA)
    return pd.DataFrame({"recording_id": frame["recording_id"], "file_format": fmt,
                         "recording_duration_ms": ms, "estimated_bytes": size,
                         "predicted_error": predicted, "eligible": eligible})


@needs("recording_id", "file_format", "recording_duration_ms")
def eligibility_vs_outcome(recordings: Any, transcriptions: Any, *,
                           bytes_per_second: dict[str, int] | None = None) -> pd.DataFrame:
    """Predicted against actual outcome, for the recordings that got a transcription callback.

    Returns
    -------
    DataFrame
        One row per (``predicted``, ``actual``) pair with its ``recordings`` count and
        ``agree`` (the prediction matched: both success, or the same error text). Predicted and
        actual are ``"transcribed"`` or the error text.

    Examples
    --------
    >>> import pandas as pd
    >>> rec = pd.DataFrame({"recording_id": ["a", "b", "c"], "file_format": ["mp3"] * 3,
    ...                     "recording_duration_ms": [400, 60_000, 60_000]})
    >>> tr = pd.DataFrame({"recording_id": ["a", "b", "c"],
    ...                    "error": ["Recording duration too short for transcription", None,
    ...                              "Recording file size too large for transcription"]})
    >>> eligibility_vs_outcome(rec, tr)[["recordings", "agree"]].values.tolist()
    [[1, True], [1, True], [1, False]]
    """
    require(transcriptions, ["recording_id", "error"], "eligibility_vs_outcome")
    predicted = transcription_eligibility(recordings, bytes_per_second=bytes_per_second)
    predicted = predicted[predicted["eligible"].notna().to_numpy(dtype=bool)]
    actual = to_pandas(transcriptions, ["recording_id", "error"]).drop_duplicates("recording_id")
    answered = isin(predicted["recording_id"], actual["recording_id"])
    both = predicted[answered].assign(error=lambda f: lookup(
        f["recording_id"], actual["recording_id"], actual["error"]))
    pairs = pd.DataFrame({
        "predicted": both["predicted_error"].fillna("transcribed").astype(object),
        "actual": both["error"].astype("string").fillna("transcribed").astype(object),
    })
    out = pairs.value_counts(sort=False).rename("recordings").reset_index()
    out["agree"] = out["predicted"] == out["actual"]
    out = out.sort_values(["agree", "recordings", "predicted"], ascending=[False, False, True],
                          kind="stable").reset_index(drop=True)
    return out.astype({"recordings": int, "agree": bool})


@needs("recording_id", "file_format", "recording_duration_ms")
def wav_to_mp3_savings(recordings: Any, *, bytes_per_second: dict[str, int] | None = None
                       ) -> dict[str, Any]:
    """What recording the wav recordings as mp3 would have saved, in estimated bytes.

    Storage is billed per minute, not per byte, so the money does not change; the saving is
    in file size (downloads, archives) and in recordings that only the mp3 size would make
    transcribable (``newly_eligible``).

    Examples
    --------
    >>> import pandas as pd
    >>> rec = pd.DataFrame({"recording_id": ["a", "b"], "file_format": ["wav", "mp3"],
    ...                     "recording_duration_ms": [60_000, 60_000]})
    >>> s = wav_to_mp3_savings(rec)          # 60 s x (16,000 - 4,000) B/s + the 44-byte header
    >>> s["wav_recordings"], s["saved_bytes"]
    (1, 720044.0)
    """
    frame = to_pandas(recordings, ["recording_id", "file_format", "recording_duration_ms"])
    wav = frame[(frame["file_format"].astype("string") == "wav").fillna(False)
                .to_numpy(dtype=bool)].dropna(subset=["recording_duration_ms"])
    ms = wav["recording_duration_ms"].astype("Int64")
    as_wav = rules.estimated_file_bytes(ms, wav["file_format"].astype("string"), bytes_per_second)
    mp3_format = pd.Series("mp3", index=wav.index, dtype="string")
    as_mp3 = rules.estimated_file_bytes(ms, mp3_format, bytes_per_second)
    wav_bytes, mp3_bytes = float(as_wav.sum()), float(as_mp3.sum())
    duration_ok = ((ms > rules.MIN_TRANSCRIBABLE_MS) & (ms < rules.MAX_TRANSCRIBABLE_MS))
    newly = duration_ok & (as_wav >= rules.MAX_FILE_BYTES) & (as_mp3 < rules.MAX_FILE_BYTES)
    return {
        "wav_recordings": int(len(wav)),
        "wav_bytes": wav_bytes,
        "as_mp3_bytes": mp3_bytes,
        "saved_bytes": wav_bytes - mp3_bytes,
        "saved_share": (wav_bytes - mp3_bytes) / wav_bytes if wav_bytes else None,
        "newly_eligible": int(newly.fillna(False).sum()),
    }
