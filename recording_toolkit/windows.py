"""Times as the Recording list API takes them, and the windows it can be asked about.

Plivo's list API filters on ``add_time`` in UTC, written ``YYYY-MM-DD HH:MM[:ss[.uuuuuu]]``, and
refuses a range longer than 30 days (docs/plivo.md, "Recording list, get, delete and storage").
The clients split a ``since`` .. ``until`` range into such windows; the ``backfill`` and
``retention`` commands check their ``--since`` / ``--until`` flags with the same functions
before they ask anything.

Examples
--------
>>> recording_windows("2026-01-01", "2026-01-10")
[('2026-01-01 00:00:00', '2026-01-10 00:00:00')]
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from .errors import ValidationError

__all__ = ["DEFAULT_LIST_LOOKBACK", "MAX_LIST_WINDOW", "as_utc", "plivo_time", "recording_windows"]

#: Longest ``add_time`` range the Recording list API accepts in one query.
MAX_LIST_WINDOW = timedelta(days=30)
#: The Recording list API's default look-back, used when ``since`` is not given.
DEFAULT_LIST_LOOKBACK = timedelta(days=7)


def as_utc(value: object, field: str) -> datetime:
    """``value`` (a datetime, a date or ISO 8601 text) as an aware UTC datetime; naive means UTC,
    as the Recording API filters in UTC. Anything else is a :class:`ValidationError` naming
    ``field``.

    >>> as_utc("2026-11-24T12:30:00+02:00", "since")
    datetime.datetime(2026, 11, 24, 10, 30, tzinfo=datetime.timezone.utc)
    >>> as_utc("yesterday", "since")
    Traceback (most recent call last):
    ...
    recording_toolkit.errors.ValidationError: since: 'yesterday' is not an ISO date or time (e.g. '2026-11-24' or '2026-11-24T10:00:00Z')
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(field, f"{value!r} is not an ISO date or time (e.g."
                                  " '2026-11-24' or '2026-11-24T10:00:00Z')", value=value) from None
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        raise ValidationError(field, f"{value!r} is not a datetime, date or ISO text", value=value)
    if value.tzinfo is None:  # the Recording API filters in UTC; naive means UTC
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _plivo_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def plivo_time(value: object, *, field: str = "add_time") -> str:
    """``value`` (datetime, date or ISO text; naive means UTC) as a Recording list time filter.

    Plivo takes ``YYYY-MM-DD HH:MM[:ss[.uuuuuu]]`` in UTC: seconds always, microseconds only
    when there are some, so the filter means exactly the moment given.

    >>> plivo_time("2026-11-24T12:30:00+02:00")
    '2026-11-24 10:30:00'
    >>> plivo_time(datetime(2026, 11, 24, 10, 30, 5, 250))
    '2026-11-24 10:30:05.000250'
    """
    moment = as_utc(value, field)
    text = _plivo_time(moment)
    return f"{text}.{moment.microsecond:06d}" if moment.microsecond else text


def recording_windows(since: object = None, until: object = None, *,
                      now: datetime | None = None) -> list[tuple[str, str]]:
    """``(add_time__gte, add_time__lt)`` pairs of at most 30 days covering ``since``..``until``.

    Naive times are UTC; ``since`` defaults to 7 days before ``until`` (default: now). The ends are
    widened to whole seconds (Plivo's ``YYYY-MM-DD HH:MM:SS``), so nothing in the range is missed.

    >>> recording_windows("2026-01-01", "2026-03-01")
    [('2026-01-01 00:00:00', '2026-01-31 00:00:00'), ('2026-01-31 00:00:00', '2026-03-01 00:00:00')]
    """
    end = as_utc(until, "until") if until is not None else (now or datetime.now(UTC))
    start = as_utc(since, "since") if since is not None else end - DEFAULT_LIST_LOOKBACK
    start = start.replace(microsecond=0)
    if end.microsecond:
        end = end.replace(microsecond=0) + timedelta(seconds=1)
    if start >= end:
        raise ValidationError("since", f"{_plivo_time(start)} is not before until"
                              f" ({_plivo_time(end)})", value=since)
    windows = []
    while start < end:
        stop = min(start + MAX_LIST_WINDOW, end)
        windows.append((_plivo_time(start), _plivo_time(stop)))
        start = stop
    return windows
