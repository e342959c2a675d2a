"""The Recording API's list query and objects: every filter Plivo documents, applied.

A server that accepts a filter and ignores it hands back unfiltered data that looks filtered, so
each filter below either filters or is refused with a 400 naming it:

- text, exact match: ``conference_name``, ``conference_uuid``, ``call_uuid``, ``from_number``,
  ``to_number``, ``mpc_name``, ``mpc_uuid`` (every sandbox recording is a conference recording
  with no multi-party call, so the last two match nothing);
- ``add_time`` (exact, to the millisecond) and ``add_time__gt|__gte|__lt|__lte``: UTC
  ``YYYY-MM-DD HH:MM[:ss[.uuuuuu]]``, or with an offset (``+05:30``) as ``add_time`` is shown;
  without a lower or upper bound the window is the last 7 days up to now; a window of more than
  30 days is refused;
- ``recording_storage_duration`` and ``__gt|__gte|__lt|__lte``: whole days;
- ``limit`` (1..20, default 20) and ``offset`` (>= 0, default 0).

Refused because the sandbox does not simulate what they ask for: ``subaccount`` (the account has
none), ``cursor`` (the sandbox pages by offset; ``meta.next`` carries an offset, which the SDK
follows), ``callback_url`` / ``callback_method`` (answers are always synchronous). Any other
parameter is ignored, as the sandbox has always done: neither Plivo's documentation nor its SDK
says that an unknown parameter is refused.

Storage fields (Plivo: storage is free for 90 days, then billed on the last day of each month):
``recording_storage_duration`` counts the day the file was stored as day 1;
``monthly_recording_storage_amount`` (decimal text, as is ``recording_storage_rate``: Plivo
documents both as strings) is ``recording_storage_rate`` x rounded minutes from the
first billing moment on, 0 before it. That moment is the last day (UTC) of the month in which
day 91 begins, and never before day 91 begins.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from .. import rules
from ..config import RateCard
from ._clock import from_ms
from ._simulation import decimal_text
from ._state import Recording

__all__ = ["ListQuery", "ParameterError", "first_billed_ms", "parse_list_query",
           "storage_days"]

MAX_PAGE = 20
MAX_LIST_DAYS = 30
DEFAULT_LIST_DAYS = 7
DAY_MS = 86_400_000

TEXT_FILTERS = ("conference_name", "conference_uuid", "call_uuid", "from_number", "to_number",
                "mpc_name", "mpc_uuid")
TIME_FILTERS = ("add_time", "add_time__gt", "add_time__gte", "add_time__lt", "add_time__lte")
STORAGE_FILTERS = ("recording_storage_duration", "recording_storage_duration__gt",
                   "recording_storage_duration__gte", "recording_storage_duration__lt",
                   "recording_storage_duration__lte")
REFUSED = {
    "subaccount": "the sandbox account has no subaccounts",
    "cursor": "the sandbox pages by offset; follow meta.next, which carries one",
    "callback_url": "the sandbox always answers at once; drop callback_url",
    "callback_method": "the sandbox always answers at once; drop callback_method",
}

_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")
_OFFSET = re.compile(r"([+-])(\d\d):(\d\d)$")
_COMPARE = {"": lambda a, b: a == b, "__gt": lambda a, b: a > b, "__gte": lambda a, b: a >= b,
            "__lt": lambda a, b: a < b, "__lte": lambda a, b: a <= b}


class ParameterError(Exception):
    """A list parameter Plivo would reject: the API answers 400 naming ``field``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class ListQuery:
    """A validated list request: what to match and which page."""

    limit: int
    offset: int
    text: dict[str, str] = field(default_factory=dict)
    add_time: dict[str, int] = field(default_factory=dict)    # suffix -> epoch ms
    storage: dict[str, int] = field(default_factory=dict)     # suffix -> days

    @property
    def key(self) -> tuple[Any, ...] | None:
        """The filters as a hashable key, when the matches depend on them and what is stored
        alone (not on the storage age, which grows with the clock); else None."""
        if self.storage:
            return None
        return tuple(sorted(self.text.items())), tuple(sorted(self.add_time.items()))

    def matches(self, recording: Recording, now_ms: int) -> bool:
        """Whether a stored recording passes every filter at ``now_ms``."""
        values = {"conference_name": recording.conference_name,
                  "conference_uuid": recording.conference_uuid,
                  "call_uuid": recording.call_uuid, "from_number": recording.from_number,
                  "to_number": recording.to_number, "mpc_name": None, "mpc_uuid": None}
        if any(values[name] != wanted for name, wanted in self.text.items()):
            return False
        assert recording.add_ms is not None
        if not all(_COMPARE[s](recording.add_ms, v) for s, v in self.add_time.items()):
            return False
        days = storage_days(recording.add_ms, now_ms)
        return all(_COMPARE[s](days, v) for s, v in self.storage.items())


def _time(name: str, value: str) -> int:
    """Epoch ms of a list time: UTC unless it carries an offset."""
    text, zone = value.strip(), UTC
    offset = _OFFSET.search(text)
    if offset:
        sign = -1 if offset.group(1) == "-" else 1
        zone = timezone(sign * timedelta(hours=int(offset.group(2)),
                                         minutes=int(offset.group(3))))
        text = text[:offset.start()]
    for fmt in _TIME_FORMATS:
        try:
            moment = datetime.strptime(text, fmt).replace(tzinfo=zone)
        except ValueError:
            continue
        return int(moment.timestamp() * 1000)
    raise ParameterError(name, f"{value[:60]!r} is not a UTC time like"
                         " 'YYYY-MM-DD HH:MM[:ss[.uuuuuu]]' (an offset like +05:30 may follow)")


def _whole(name: str, value: str | None, default: int, low: int, high: int | None) -> int:
    if value is None or value == "":
        return default
    if not (value.isascii() and value.isdigit()) or int(value) < low or (
            high is not None and int(value) > high):
        bound = f"from {low} to {high}" if high is not None else f">= {low}"
        raise ParameterError(name, f"{value[:30]!r} is not a whole number {bound}")
    return int(value)


def parse_list_query(params: Mapping[str, str], now_ms: int) -> ListQuery:
    """Validate a list request's parameters (``ParameterError`` -> 400 naming the field).

    >>> q = parse_list_query({"conference_name": "a", "add_time__gte": "2026-11-01 00:00",
    ...                       "limit": "5"}, 1_700_000_000_000)
    >>> q.limit, q.offset, q.text, sorted(q.add_time)
    (5, 0, {'conference_name': 'a'}, ['__gte', '__lte'])
    """
    for name, reason in REFUSED.items():
        if params.get(name):
            raise ParameterError(name, reason)
    limit = _whole("limit", params.get("limit"), MAX_PAGE, 1, MAX_PAGE)
    offset = _whole("offset", params.get("offset"), 0, 0, None)
    text = {name: params[name] for name in TEXT_FILTERS if params.get(name) is not None}
    times = {name[len("add_time"):]: _time(name, params[name]) for name in TIME_FILTERS
             if params.get(name)}
    storage = {name[len("recording_storage_duration"):]:
               _whole(name, params[name], 0, 0, None) for name in STORAGE_FILTERS
               if params.get(name)}
    lows = [v for s, v in times.items() if s in ("", "__gt", "__gte")]
    highs = [v for s, v in times.items() if s in ("", "__lt", "__lte")]
    upper = min(highs) if highs else now_ms
    lower = max(lows) if lows else upper - DEFAULT_LIST_DAYS * DAY_MS
    if upper - lower > MAX_LIST_DAYS * DAY_MS:
        named = [n for n in TIME_FILTERS if params.get(n)]
        raise ParameterError(named[0] if named else "add_time__gte",
                             f"the add_time range {from_ms(lower):%Y-%m-%d %H:%M:%S} to"
                             f" {from_ms(upper):%Y-%m-%d %H:%M:%S} spans more than"
                             f" {MAX_LIST_DAYS} days; query windows of {MAX_LIST_DAYS} days"
                             " or less")
    if not lows:
        times["__gte"] = lower
    if not highs:
        times["__lte"] = upper
    return ListQuery(limit=limit, offset=offset, text=text, add_time=times, storage=storage)


# -- storage ---------------------------------------------------------------------------------------

def storage_days(add_ms: int, now_ms: int) -> int:
    """Days a recording has been stored, the day it was stored counting as 1.

    >>> storage_days(0, 0), storage_days(0, DAY_MS - 1), storage_days(0, DAY_MS)
    (1, 1, 2)
    """
    return max(0, now_ms - add_ms) // DAY_MS + 1


def first_billed_ms(add_ms: int, free_days: int) -> int:
    """When storage is first billed: the last day (UTC) of the month in which day
    ``free_days + 1`` begins, and not before that day begins.

    >>> first = first_billed_ms(int(datetime(2026, 1, 10, tzinfo=UTC).timestamp() * 1000), 90)
    >>> from_ms(first).isoformat()   # day 91 begins 2026-04-10: billed on 2026-04-30
    '2026-04-30T00:00:00+00:00'
    """
    paid = from_ms(add_ms + free_days * DAY_MS)
    last = calendar.monthrange(paid.year, paid.month)[1]
    month_end = paid.replace(day=last, hour=0, minute=0, second=0, microsecond=0)
    return max(add_ms + free_days * DAY_MS, int(month_end.timestamp() * 1000))


def recording_object(recording: Recording, *, now_ms: int, rates: RateCard, auth_id: str,
                     add_time_offset: str) -> dict[str, Any]:
    """A Recording API object: numbers as Plivo sends them (durations and times, the storage
    rate and amount as decimal strings; ``add_time`` local with its offset)."""
    assert recording.end_ms is not None and recording.add_ms is not None
    duration_ms = recording.end_ms - recording.start_ms
    rounded_minutes = rules.billed_minutes(duration_ms)
    storage_rate = Decimal(str(rates.storage_per_minute_month))
    billed = now_ms >= first_billed_ms(recording.add_ms, int(rates.free_storage_days))
    monthly = storage_rate * rounded_minutes if billed else Decimal(0)
    sign = -1 if add_time_offset[0] == "-" else 1
    zone = timezone(sign * timedelta(hours=int(add_time_offset[1:3]),
                                     minutes=int(add_time_offset[4:6])))
    added = from_ms(recording.add_ms).astimezone(zone)
    return {
        "add_time": added.strftime("%Y-%m-%d %H:%M:%S.%f") + add_time_offset,
        "call_uuid": recording.call_uuid,
        "conference_name": recording.conference_name,
        "conference_uuid": recording.conference_uuid,
        "from_number": recording.from_number,
        "monthly_recording_storage_amount": decimal_text(monthly),
        "mpc_name": None,
        "mpc_uuid": None,
        "recording_duration_ms": decimal_text(duration_ms, 5),
        "recording_end_ms": decimal_text(recording.end_ms, 5),
        "recording_format": recording.options.file_format,
        "recording_id": recording.recording_id,
        "recording_start_ms": decimal_text(recording.start_ms, 5),
        "recording_storage_duration": storage_days(recording.add_ms, now_ms),
        "recording_storage_rate": decimal_text(storage_rate),
        "recording_type": "conference",
        "recording_url": recording.record_url,
        "resource_uri": f"/v1/Account/{auth_id}/Recording/{recording.recording_id}/",
        "rounded_recording_duration": int(rounded_minutes) * 60,
        "to_number": recording.to_number,
    }
