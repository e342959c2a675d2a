"""The one time format of the toolkit's files: ``2026-11-24T10:15:02.123456Z``.

UTC, always six digits of microseconds, a ``Z`` suffix. The callback log (``received_at``, the
``time`` of rejected and quarantined records), the request journal (``time``) and the client's
results (``requested_at``) all write it, and logs and journals already on disk hold it, so it
never changes. The loader reads it back as ``datetime64[us, UTC]``.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["format_timestamp"]


def format_timestamp(moment: datetime) -> str:
    """``moment`` in UTC with microseconds: ``2026-11-24T10:15:02.123456Z``.

    A naive ``moment`` is taken as local time (as :meth:`datetime.astimezone` does); a
    ``datetime`` subclass with finer precision (a pandas ``Timestamp``) is cut to microseconds.

    Examples
    --------
    >>> format_timestamp(datetime(2026, 11, 24, 10, 15, 2, tzinfo=UTC))
    '2026-11-24T10:15:02.000000Z'
    >>> from datetime import timedelta, timezone
    >>> format_timestamp(datetime(2026, 11, 24, 11, 15, 2, 5, tzinfo=timezone(timedelta(hours=1))))
    '2026-11-24T10:15:02.000005Z'
    """
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    if type(moment) is datetime:
        # This runs once per callback: plain isoformat() (it ends in "+00:00" once in UTC) is
        # the fastest of the ways to get this text.
        text = moment.isoformat()[:-6]
        return f"{text}Z" if moment.microsecond else f"{text}.000000Z"
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
