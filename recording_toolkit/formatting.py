"""Numbers for people: money, prices, shares, durations, time spans, sizes, labels in words.

Everything a person reads goes through here (notebook displays, the HTML report, the Dashboard,
the command line's text), so one figure looks the same wherever it is shown. The JSON and CSV
outputs never do: they keep raw values and their keys, for machines and for cross-checking.

Each function takes a raw value and returns text; a missing value (``None``, NaN, ``pd.NA``,
``NaT``) is shown as :data:`MISSING` instead of raising, because a figure over nothing is normal
(a median of no recordings).

Examples
--------
>>> money(2495.05)
'$2,495.05'
>>> price(0.0004)
'$0.0004/min'
>>> percent(0.996)
'99.6%'
>>> percent(0.9996)                 # never rounded up to a perfect score
'>99.9%'
>>> span(pd.Timedelta("13 days 03:51:25.238857"))
'13 d 4 h'
>>> size(1_234_567_890)
'1.23 GB'
>>> label("charge_total")
'Transcription charges'
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

__all__ = [
    "LABELS",
    "MISSING",
    "clock",
    "count",
    "counted",
    "day",
    "formatter_for",
    "is_missing",
    "label",
    "minutes",
    "money",
    "number",
    "percent",
    "price",
    "size",
    "small_money",
    "span",
    "timestamp",
    "value",
]

#: What a missing figure looks like (an en dash, as in printed tables).
MISSING = "–"

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "INR": "₹", "JPY": "¥", "AUD": "A$",
            "CAD": "C$", "SGD": "S$"}
_NO_DECIMALS = {"JPY"}


def is_missing(value: Any) -> bool:
    """True for ``None``, NaN, ``pd.NA`` and ``NaT``; never raises on other values."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    try:
        missing = pd.isna(value)
    except (TypeError, ValueError):
        return False
    return bool(missing) if isinstance(missing, bool) else False


def _with_currency(text: str, negative: bool, currency: str) -> str:
    code = (currency or "").upper()
    symbol = _SYMBOLS.get(code)
    sign = "-" if negative else ""
    if symbol:
        return f"{sign}{symbol}{text}"
    return f"{sign}{text} {code}".rstrip()


def money(amount: Any, currency: str = "USD", *, decimals: int | None = None) -> str:
    """An amount of money with its currency and two decimals (none for yen).

    >>> money(24.9776)
    '$24.98'
    >>> money(-3.5, "EUR")
    '-€3.50'
    >>> money(1200, "CHF")
    '1,200.00 CHF'
    >>> money(None)
    '–'
    """
    if is_missing(amount):
        return MISSING
    amount = float(amount)
    places = decimals if decimals is not None else (0 if currency.upper() in _NO_DECIMALS else 2)
    text = f"{abs(amount):,.{places}f}"
    negative = amount < 0 and text.strip("0.,") != ""
    return _with_currency(text, negative, currency)


def small_money(amount: Any, currency: str = "USD") -> str:
    """Money that may be a fraction of a cent (a month of storage for one recording): two
    decimals, four below one cent so it does not read as nothing.

    >>> small_money(0.0008), small_money(0), small_money(12.5)
    ('$0.0008', '$0.00', '$12.50')
    """
    if is_missing(amount):
        return MISSING
    return money(amount, currency, decimals=4 if 0 < abs(float(amount)) < 0.005 else None)


def price(rate: Any, currency: str = "USD", *, per: str = "min") -> str:
    """A unit price with the precision it needs: two decimals at least, up to four, so that
    $0.0004 per minute is not shown as $0.00.

    >>> price(0.05)
    '$0.05/min'
    >>> price(0.050965)
    '$0.051/min'
    >>> price(0.000049)
    '<$0.0001/min'
    >>> price(0)
    '$0.00/min'
    """
    if is_missing(rate):
        return MISSING
    rate = float(rate)
    suffix = f"/{per}" if per else ""
    if rate == 0:
        return money(0.0, currency) + suffix
    if abs(rate) < 0.00005:
        return "<" + money(0.0001, currency, decimals=4) + suffix
    # three significant digits, then trailing zeros dropped down to two decimals
    places = min(4, max(2, 2 - math.floor(math.log10(abs(rate)))))
    text = f"{abs(rate):,.{places}f}"
    while places > 2 and text.endswith("0"):
        text, places = text[:-1], places - 1
    return _with_currency(text, rate < 0, currency) + suffix


def percent(share: Any, *, decimals: int = 1) -> str:
    """A share (0..1) as a percentage with one decimal that never rounds a value short of 100 %
    up to it, nor a value above 0 down to 0 %.

    >>> percent(0.911243)
    '91.1%'
    >>> percent(1.0)
    '100.0%'
    >>> percent(0.99951)
    '>99.9%'
    >>> percent(0.00001)
    '<0.1%'
    >>> percent(0)
    '0.0%'
    """
    if is_missing(share):
        return MISSING
    value = float(share) * 100
    step = 10.0 ** -decimals
    text = f"{value:.{decimals}f}"
    if value < 100 and float(text) >= 100:
        return f">{100 - step:.{decimals}f}%"
    if value > 0 and float(text) <= 0:
        return f"<{step:.{decimals}f}%"
    return f"{text}%"


def count(n: Any) -> str:
    """A whole number with thousands separators (a float count such as 1611.0 included).

    >>> count(1611.0)
    '1,611'
    """
    if is_missing(n):
        return MISSING
    return f"{int(round(float(n))):,}"


def counted(n: Any, noun: str, plural: str | None = None, *,
            digits: Callable[[Any], str] = count) -> str:
    """``n`` and the noun it counts, singular when the number shown is one: a title over one
    recording reads "Duration of 1 recording", never "1 recordings".

    ``plural`` is for nouns that do not just take an ``s``; ``digits`` formats the number
    (:func:`count` by default, so 1611.0 is "1,611"; padded, for a column of text), and the
    noun follows what it shows.

    >>> counted(1, "recording"), counted(1611.0, "recording"), counted(0, "day")
    ('1 recording', '1,611 recordings', '0 days')
    >>> counted(1, "log file"), counted(3, "match", "matches")
    ('1 log file', '3 matches')
    >>> counted(0.5, "day", digits=lambda d: f"{d:g}"), counted(None, "recording")
    ('0.5 days', '– recordings')
    """
    text = digits(n) if not is_missing(n) else MISSING
    return f"{text} {noun if text.strip() == '1' else (plural or noun + 's')}"


def number(x: Any, *, decimals: int = 1) -> str:
    """A measurement with separators and a fixed number of decimals.

    >>> number(1845.46)
    '1,845.5'
    """
    if is_missing(x):
        return MISSING
    return f"{float(x):,.{decimals}f}"


def minutes(seconds: Any, *, decimals: int = 1) -> str:
    """Seconds shown as minutes, the unit the charts use.

    >>> minutes(1845.5)
    '30.8 min'
    """
    if is_missing(seconds):
        return MISSING
    return f"{float(seconds) / 60:,.{decimals}f} min"


def clock(seconds: Any) -> str:
    """Seconds as ``h:mm:ss`` (``m:ss`` under an hour), rounded to the second.

    >>> clock(1845.5)
    '30:46'
    >>> clock(7384)
    '2:03:04'
    """
    if is_missing(seconds):
        return MISSING
    total = int(round(float(seconds)))
    sign = "-" if total < 0 else ""
    hours, rest = divmod(abs(total), 3600)
    mins, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}:{mins:02d}:{secs:02d}"
    return f"{sign}{mins}:{secs:02d}"


def span(length: Any) -> str:
    """A length of time in its two largest units, rounded: ``13 d 4 h``, ``2 h 5 min``,
    ``4 min 10 s``, ``45 s``. Takes a ``Timedelta``, a ``timedelta`` or seconds.

    >>> span(90)
    '1 min 30 s'
    >>> span(pd.Timedelta(hours=49, minutes=40))
    '2 d 2 h'
    >>> span(0.4)
    '0.4 s'
    """
    if is_missing(length):
        return MISSING
    if isinstance(length, pd.Timedelta | _dt.timedelta):
        seconds = length.total_seconds()
    else:
        seconds = float(length)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 10:
        return f"{sign}{seconds:.1f} s".replace(".0 s", " s")
    units = [("d", 86400), ("h", 3600), ("min", 60), ("s", 1)]
    for i, (name, unit) in enumerate(units[:-1]):
        if seconds >= unit:
            small_name, small_unit = units[i + 1]
            whole = int(round(seconds / small_unit))  # rounded in the smaller unit
            big, small = divmod(whole, unit // small_unit)
            return f"{sign}{big} {name}" + (f" {small} {small_name}" if small else "")
    return f"{sign}{int(round(seconds))} s"


def size(n_bytes: Any) -> str:
    """A size in decimal units (kB, MB, GB, as Plivo states its limits), three significant
    digits.

    >>> size(950)
    '950 B'
    >>> size(2_500_000)
    '2.50 MB'
    """
    if is_missing(n_bytes):
        return MISSING
    value = float(n_bytes)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(value) < 1000 or unit == "TB":
            if unit == "B":
                return f"{int(value):,} B"
            places = 2 if abs(value) < 10 else 1 if abs(value) < 100 else 0
            return f"{value:,.{places}f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def timestamp(when: Any, *, seconds: bool = False) -> str:
    """A moment in UTC as ISO date and time without the zone (the page says UTC once).

    >>> timestamp(pd.Timestamp("2026-11-02T14:05:33.120Z"))
    '2026-11-02 14:05'
    """
    if is_missing(when):
        return MISSING
    moment = pd.Timestamp(when)
    if moment.tzinfo is not None:
        moment = moment.tz_convert("UTC")
    return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def day(when: Any) -> str:
    """A calendar day, ISO: ``2026-11-02``."""
    if is_missing(when):
        return MISSING
    return pd.Timestamp(when).strftime("%Y-%m-%d")


#: Words for the keys and column names a person may see. Keys are the raw names (summary keys'
#: last part, ``details`` keys, table columns); :func:`label` falls back to the name in words.
LABELS: dict[str, str] = {
    # summary figures
    "count": "Recordings",
    "conferences": "Conferences",
    "total_minutes": "Recorded minutes",
    "billed_minutes": "Billed minutes",
    "recorded_minutes": "Recorded minutes",
    "received": "Transcriptions received",
    "succeeded": "Succeeded",
    "failed": "Failed",
    "success_rate": "Success rate",
    "coverage": "Coverage",
    "charge_total": "Transcription charges",
    "transcription_charge": "Transcription charge",
    "expected_charge_total": "Expected charges",
    "expected_charge": "Expected charge",
    "effective_price_per_minute": "Effective price per transcribed minute",
    "storage_cost_next_month": "Storage next month",
    "storage_cost_12_months": "Storage over 12 months",
    "card_rate": "Rate card price",
    "transcription_rate": "Transcription price",
    "transcription_per_minute": "Transcription price",
    "storage_per_minute_month": "Storage price per minute-month",
    "free_storage_days": "Free storage days",
    "currency": "Currency",
    "audited": "Transcriptions audited",
    "mismatches": "Charge mismatches",
    "rate_mismatches": "Price mismatches",
    "unchecked": "Not checked",
    "tolerance": "Tolerance",
    "recordings": "Recordings",
    "transcriptions": "Transcriptions",
    "conference_name": "Conference",
    "recording_id": "Recording id",
    "recording_duration": "Duration",
    "recording_duration_ms": "Duration",
    "duration": "Duration",
    "file_format": "Format",
    "received_at": "Received (UTC)",
    "recording_start": "Started (UTC)",
    "recording_end": "Ended (UTC)",
    "error": "Error",
    "errors": "Errors",
    "mean_seconds": "Mean duration",
    "median_seconds": "Median duration",
    "p95_seconds": "p95 duration",
    "max_seconds": "Longest",
    "min_seconds": "Shortest",
    "as_mp3_bytes": "Size as mp3",
    "as_wav_bytes": "Size as wav",
    "bytes": "Size",
    "estimated_bytes": "Estimated size",
    "saving_bytes": "Saving",
    "share": "Share",
    "within_5_minutes": "Within 5 minutes",
    "within_30_minutes": "Within 30 minutes",
    "overdue": "Overdue by",
    "cost": "Cost",
    "charge": "Charge",
    "difference": "Difference",
    "month": "Month",
    "date": "Day",
    "day": "Day",
    "week": "Week",
    "backfilled": "Backfilled",
    "backfilled_recordings": "Backfilled recordings",
    "predicted_ineligible": "Predicted ineligible",
    "predictions_checked": "Predictions checked",
    "predictions_wrong": "Predictions wrong",
    "files": "Files read",
    "lines": "Lines read",
    "quarantined": "Lines quarantined",
    "duplicates": "Duplicates dropped",
    # data-quality checks and reconciliation counts
    "non_positive_duration": "Zero or negative duration",
    "in_the_future": "Dated in the future",
    "started": "Recordings started",
    "recording_callbacks_missing": "Started, no recording callback",
    "recording_callbacks_backfilled": "Recording callbacks backfilled",
    "unexpected_callbacks": "Callbacks nobody here started",
    "unexpected_after_unanswered_start": "Of those, after a start that got no answer",
    "transcriptions_missing": "Transcriptions requested but missing",
}

_UNIT_WORDS = {"ms": "(ms)", "bytes": "size", "seconds": "", "minutes": "minutes"}


def label(key: str) -> str:
    """The words for a raw key or column name: :data:`LABELS`, else the name in words.

    >>> label("as_mp3_bytes")
    'Size as mp3'
    >>> label("transcriptions.charge_total")
    'Transcription charges'
    >>> label("calls_per_hour")
    'Calls per hour'
    """
    if key in LABELS:
        return LABELS[key]
    last = key.rsplit(".", 1)[-1]
    if last in LABELS:
        return LABELS[last]
    words = [w for w in last.replace("-", "_").split("_") if w]
    if words and words[-1] in _UNIT_WORDS:
        unit = _UNIT_WORDS[words.pop()]
        words = words + ([unit] if unit else [])
    text = " ".join(words) or key
    return text[:1].upper() + text[1:]


_MONEY_HINTS = ("charge", "cost", "amount", "spend", "saving_money")
_SHARE_HINTS = ("share", "coverage", "success_rate", "within_")


def formatter_for(name: str, series: pd.Series | None = None, *, currency: str = "USD"
                  ) -> Callable[[Any], str]:
    """The formatter a column (or figure) named ``name`` is shown with, chosen by its name and,
    when given, its dtype: money for charges and costs, a price for rates per minute, a
    percentage for shares, a size for bytes, a duration for seconds, a span for time deltas,
    a time for timestamps, separators for counts.

    >>> formatter_for("transcription_charge")(24.9776)
    '$24.98'
    >>> formatter_for("coverage")(0.911243)
    '91.1%'
    >>> formatter_for("overdue")(pd.Timedelta("13 days 03:51:25"))
    '13 d 4 h'
    """
    lowered = name.lower()
    dtype = None if series is None else series.dtype
    if dtype is not None and pd.api.types.is_datetime64_any_dtype(dtype):
        return timestamp
    if dtype is not None and pd.api.types.is_timedelta64_dtype(dtype):
        return span
    if lowered.endswith("_rate") and "success" not in lowered or "per_minute" in lowered \
            or lowered == "rate":
        return lambda v: price(v, currency)
    if any(h in lowered for h in _MONEY_HINTS):
        return lambda v: money(v, currency)
    if any(h in lowered for h in _SHARE_HINTS) or lowered.endswith("_rate"):
        return percent
    if lowered.endswith("bytes"):
        return size
    # durations in minutes, the unit the charts use; waits (turnaround) as spans, as their
    # chart states them
    if lowered.endswith("_ms"):
        return lambda v: minutes(float(v) / 1000) if not is_missing(v) else MISSING
    if lowered.endswith("seconds") or lowered in {"duration", "recording_duration"}:
        return span if "turnaround" in lowered or "wait" in lowered else minutes
    if lowered.endswith("minutes"):
        if dtype is not None and pd.api.types.is_integer_dtype(dtype):
            return count
        return lambda v: number(v)
    if dtype is not None and pd.api.types.is_bool_dtype(dtype):
        return lambda v: MISSING if is_missing(v) else ("yes" if v else "no")
    if dtype is not None and pd.api.types.is_integer_dtype(dtype):
        return count
    if dtype is not None and pd.api.types.is_float_dtype(dtype):
        return lambda v: number(v, decimals=2)
    return value


def value(v: Any) -> str:
    """Any value in its plain form for people: separators for numbers, ISO for moments, a span
    for durations, ``yes``/``no`` for booleans, words for mappings.

    >>> value(12345)
    '12,345'
    >>> value({"no speech": 3, "too long": 1})
    'no speech: 3, too long: 1'
    """
    if isinstance(v, Mapping):
        return ", ".join(f"{k}: {value(x)}" for k, x in v.items()) or MISSING
    if is_missing(v):
        return MISSING
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return number(v, decimals=2) if v != int(v) else f"{int(v):,}"
    if isinstance(v, pd.Timestamp | _dt.datetime):
        return timestamp(v)
    if isinstance(v, pd.Timedelta | _dt.timedelta):
        return span(v)
    return str(v)
