"""Listing recordings: the Recording list API's filters, and the pager that walks its pages.

Everything here is I/O-free: :func:`recording_pager` checks every argument at once (so a typo in a
filter never widens a listing to every recording) and returns a :class:`RecordingPager`, which
the sync and async clients drive with their own requests.

Examples
--------
>>> pager = recording_pager("MA" + "0" * 18, since="2026-01-01", until="2026-03-01", limit=20,
...                         filters={})
>>> dict(pager.first().params)["add_time__lt"]
'2026-01-31 00:00:00'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ._calls import PreparedCall
from ._results import text_or_none
from ._urls import recording_path
from .errors import PlivoAPIError, ValidationError
from .validation import CONTROL_CHARACTERS, brief_repr, check_unicode, validate_conference_name
from .windows import MAX_LIST_WINDOW, as_utc, plivo_time, recording_windows

__all__ = [
    "LIST_FILTERS",
    "MAX_PAGE_SIZE",
    "RecordingPager",
    "recording_pager",
    "validate_list_filters",
]

#: Plivo's largest page of the Recording list API.
MAX_PAGE_SIZE = 20
#: Text filters of the Recording list API (sent as given).
TEXT_FILTERS = ("conference_name", "conference_uuid", "call_uuid", "from_number", "to_number")
#: Time filters: sent in Plivo's ``YYYY-MM-DD HH:MM[:ss[.uuuuuu]]``, UTC.
TIME_FILTERS = ("add_time", "add_time__gt", "add_time__gte", "add_time__lt", "add_time__lte")
#: Whole-day filters on how long a recording has been stored (1 on its first day).
STORAGE_FILTERS = ("recording_storage_duration", "recording_storage_duration__gt",
                   "recording_storage_duration__gte", "recording_storage_duration__lt",
                   "recording_storage_duration__lte")
#: Every filter ``iter_recordings`` accepts, as the official SDK's ``recordings.list`` names them.
LIST_FILTERS = TEXT_FILTERS + TIME_FILTERS + STORAGE_FILTERS
_MAX_FILTER_TEXT = 512


def validate_list_filters(filters: Mapping[str, object]) -> dict[str, str]:
    """The Recording list API query parameters for ``filters``, each checked and serialised.

    An unknown filter name is a :class:`ValidationError` naming it and the allowed ones (a typo
    must not silently widen the listing to every recording). None means "not given". Text
    filters must be non-empty printable text; time filters are serialised by
    :func:`plivo_time`; ``recording_storage_duration`` filters are whole days >= 0.

    >>> validate_list_filters({"add_time__gte": "2026-11-01", "recording_storage_duration__gt": 90})
    {'add_time__gte': '2026-11-01 00:00:00', 'recording_storage_duration__gt': '90'}
    >>> validate_list_filters({"conference": "x"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    recording_toolkit.errors.ValidationError: conference: is not a Recording list filter; allowed: conference_name, conference_uuid, ...
    """
    unknown = sorted(set(filters) - set(LIST_FILTERS))
    if unknown:
        raise ValidationError(unknown[0], f"is not a Recording list filter; allowed:"
                              f" {', '.join(LIST_FILTERS)}", value=filters[unknown[0]],
                              allowed=LIST_FILTERS)
    params: dict[str, str] = {}
    for name in LIST_FILTERS:
        value = filters.get(name)
        if value is None:
            continue
        if name == "conference_name":
            params[name] = validate_conference_name(value)
        elif name in TEXT_FILTERS:
            params[name] = _filter_text(value, name)
        elif name in TIME_FILTERS:
            params[name] = plivo_time(value, field=name)
        else:
            if (isinstance(value, bool) or not isinstance(value, int | str)
                    or (isinstance(value, str) and not (value.isascii() and value.isdigit()))
                    or int(value) < 0):
                raise ValidationError(name, f"{brief_repr(repr(value))} is not a whole number of"
                                      " days >= 0", value=value, allowed="a whole number >= 0")
            params[name] = str(int(value))
    return params


def _filter_text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, f"{brief_repr(repr(value))} is not text", value=value,
                              allowed="text")
    check_unicode(value, field=field)
    if not value.strip() or CONTROL_CHARACTERS.search(value) or len(value) > _MAX_FILTER_TEXT:
        raise ValidationError(field, f"{brief_repr(value)} is empty, too long or contains control"
                              f" characters; give printable text of at most {_MAX_FILTER_TEXT}"
                              " characters", value=value, allowed="printable text")
    return value


def _next_page(params: Mapping[str, str], next_url: object,
               count: int) -> dict[str, str] | None:
    """The next page's query from ``meta.next``, followed as given, or None at the end.

    ``meta.next`` is a URL whose query carries an opaque ``cursor`` or a plain ``offset`` (and
    perhaps a new ``limit``), as the official SDK's pager reads it (``plivo/base.py``
    ``_next_page_params``). A cursor replaces the offset (sending both would pin some servers
    to the first page); a ``next`` with neither moves the offset on by the page's size when
    walking by offset, and ends a cursor walk. An offset that is not a number ends the walk.
    """
    if not next_url:
        return None
    query = parse_qs(urlsplit(str(next_url)).query)
    following = dict(params)
    limit = query.get("limit", [None])[0]
    if limit is not None and limit.isascii() and limit.isdigit() \
            and 1 <= int(limit) <= MAX_PAGE_SIZE:
        following["limit"] = str(int(limit))
    cursor = query.get("cursor", [None])[0]
    if cursor:
        following.pop("offset", None)
        following["cursor"] = cursor
        return following
    offset = query.get("offset", [None])[0]
    if offset is not None:
        if not (offset.isascii() and offset.isdigit()):
            return None
        following["offset"] = str(int(offset))
        return following
    if "cursor" in params or "offset" not in params:
        return None
    following["offset"] = str(int(params["offset"]) + count)
    return following


class RecordingPager:
    """Walks the Recording list API: per window (or once, with no window), page after page.

    :meth:`first` gives the first call; :meth:`feed` takes a page's JSON and returns the new
    recordings on it plus the next call (or None at the end). Pages are followed through
    ``meta.next`` as given, by offset or by cursor (see :func:`_next_page`); a window ends when
    ``next`` is null, the page is empty, or ``next`` names a page already asked for (a server
    that repeats itself is never followed round in a loop). A recording seen twice (the list
    shifted while paging) is yielded once.

    ``windows`` are ``(add_time__gte, add_time__lt)`` pairs (see :func:`recording_windows`);
    ``[None]`` means one walk with ``filters`` alone.
    """

    def __init__(self, auth_id: str, windows: list[tuple[str, str]] | list[None], *,
                 conference_name: str | None = None, limit: int,
                 filters: Mapping[str, str] | None = None) -> None:
        self._path = recording_path(auth_id)
        self._windows = list(windows)
        self._filters = dict(filters or {})
        if conference_name is not None:
            self._filters["conference_name"] = conference_name
        self._limit = limit
        self._window = 0
        self._seen: set[str] = set()
        self._asked: set[tuple[tuple[str, str], ...]] = set()

    def _call(self, params: dict[str, str]) -> PreparedCall:
        self._asked.add(tuple(sorted(params.items())))
        return PreparedCall("list", "GET", self._path, params=params)

    def _window_call(self) -> PreparedCall | None:
        if self._window >= len(self._windows):
            return None
        window = self._windows[self._window]
        params: dict[str, str] = {}
        if window is not None:
            params.update({"add_time__gte": window[0], "add_time__lt": window[1]})
        params.update({"limit": str(self._limit), "offset": "0"})
        params.update(self._filters)
        self._asked.clear()
        return self._call(params)

    def first(self) -> PreparedCall | None:
        """The first page's call (None when there is no window to ask about)."""
        return self._window_call()

    def feed(self, call: PreparedCall,
             body: Any) -> tuple[list[dict[str, Any]], PreparedCall | None]:
        """The recordings on the page ``call`` was answered with (``body``, its JSON) not yet
        seen, and the next call (None at the end); an answer without an ``objects`` list is a
        :class:`PlivoAPIError`."""
        if not isinstance(body, dict) or not isinstance(body.get("objects"), list):
            raise PlivoAPIError(f"the Recording list API answered without an 'objects' list:"
                                f" {str(body)[:200]}", api_id=text_or_none(
                                    body.get("api_id")) if isinstance(body, dict) else None,
                                method="GET")
        fresh = []
        for obj in body["objects"]:
            if not isinstance(obj, dict):
                continue
            rid = obj.get("recording_id")
            if isinstance(rid, str):
                if rid in self._seen:
                    continue
                self._seen.add(rid)
            fresh.append(obj)
        meta = body.get("meta")
        if not isinstance(meta, dict):
            meta = {}
        following = None
        if body["objects"]:
            following = _next_page(call.params or {}, meta.get("next"), len(body["objects"]))
        if following is not None and tuple(sorted(following.items())) not in self._asked:
            return fresh, self._call(following)
        self._window += 1
        return fresh, self._window_call()


def recording_pager(auth_id: str, *, since: object, until: object, limit: object,
                    filters: Mapping[str, object]) -> RecordingPager:
    """Check every listing argument now (no I/O) and return the pager for them.

    ``since``/``until`` are split into windows of at most 30 days; an ``add_time`` filter
    instead asks exactly what it says, so the two cannot be mixed.
    """
    if (not isinstance(limit, int) or isinstance(limit, bool)
            or not 1 <= limit <= MAX_PAGE_SIZE):
        raise ValidationError("limit", f"{limit!r} is not a page size from 1 to"
                              f" {MAX_PAGE_SIZE} (Plivo's maximum)", value=limit,
                              allowed=(1, MAX_PAGE_SIZE))
    params = validate_list_filters(filters)
    timed = [name for name in TIME_FILTERS if name in params]
    if timed and (since is not None or until is not None):
        field = "since" if since is not None else "until"
        raise ValidationError(field, f"give either since/until (split into windows of at"
                              f" most 30 days) or {timed[0]}, not both",
                              value=since if since is not None else until)
    low = next((params[n] for n in ("add_time__gte", "add_time__gt") if n in params), None)
    high = next((params[n] for n in ("add_time__lt", "add_time__lte") if n in params), None)
    if low is not None and high is not None and \
            as_utc(high, "add_time__lt") - as_utc(low, "add_time__gt") > MAX_LIST_WINDOW:
        name = "add_time__gte" if "add_time__gte" in params else "add_time__gt"
        raise ValidationError(name, f"{low} .. {high} is more than 30 days, which Plivo"
                              " refuses; give since/until instead (listed in windows of at"
                              " most 30 days)", value=filters.get(name))
    windows: list[tuple[str, str]] | list[None] = (
        [None] if timed else recording_windows(since, until))
    return RecordingPager(auth_id, windows, limit=limit, filters=params)
