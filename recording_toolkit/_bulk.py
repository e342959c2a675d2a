"""The bulk calls' shared half: checking every item before any is sent, and one row per item.

``start_recordings`` and ``delete_recordings`` check all their items first (no I/O), so a bad
item becomes that item's row and never stops the others, then run the valid ones; each outcome
becomes a row of a typed frame, in input order, whatever happened.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._calls import PreparedCall, Trace
from ._results import DeleteResult, RecordingResult
from .errors import ValidationError
from .validation import START_OPTIONS

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BULK_COLUMNS",
    "DELETE_COLUMNS",
    "BulkRow",
    "bulk_frame",
    "bulk_row",
    "check_concurrency",
    "delete_frame",
    "delete_row",
    "delete_requests",
    "dry_run_rows",
    "start_requests",
]

#: Columns and dtypes of the frame ``start_recordings`` returns.
BULK_COLUMNS: Mapping[str, str] = {
    "conference_name": "string", "ok": "boolean", "recording_id": "string", "api_id": "string",
    "url": "string", "error_type": "string", "error": "string", "attempts": "Int64",
    "latency_ms": "Float64",
}

BulkRow = tuple[Any, ...]

#: Columns and dtypes of the frame ``delete_recordings`` returns (``status``: see
#: :data:`~recording_toolkit._results.DELETE_STATUSES`; ``error`` is the exception's type and
#: text when it failed).
DELETE_COLUMNS: Mapping[str, str] = {
    "recording_id": "string", "ok": "boolean", "status": "string", "status_code": "Int64",
    "error": "string",
}


def bulk_items(items: Any) -> list[Any]:
    """``items`` as a list; a DataFrame gives one dict per row (missing cells left out)."""
    import pandas as pd

    if isinstance(items, pd.DataFrame):
        return [{k: v for k, v in row.items() if not _missing(v)}
                for row in items.to_dict("records")]
    if isinstance(items, str | bytes | Mapping):
        raise TypeError("items: give a list of conference names or of dicts of options, not a"
                        f" single {type(items).__name__}")
    return list(items)


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def bulk_frame(rows: list[BulkRow]) -> pd.DataFrame:
    """The frame ``start_recordings`` returns: one row per item, in input order."""
    return typed_frame(rows, BULK_COLUMNS)


def delete_frame(rows: list[BulkRow]) -> pd.DataFrame:
    """The frame ``delete_recordings`` returns: one row per id, in input order."""
    return typed_frame(rows, DELETE_COLUMNS)


def typed_frame(rows: list[BulkRow], spec: Mapping[str, str]) -> pd.DataFrame:
    """``rows`` as a frame with the columns and dtypes of ``spec`` (text as pyarrow strings)."""
    import pandas as pd

    columns = list(zip(*rows, strict=True)) if rows else [()] * len(spec)
    data = {}
    for (name, dtype), values in zip(spec.items(), columns, strict=True):
        if dtype == "string":  # pinned: pandas would pick its own default string storage
            data[name] = pd.Series(list(values), dtype=pd.StringDtype("pyarrow")).array
        else:
            data[name] = pd.Series(list(values), dtype=dtype).array
    return pd.DataFrame(data)


def check_concurrency(concurrency: object) -> int:
    """``concurrency`` if it is a whole number >= 1, else a :class:`ValidationError`."""
    if (not isinstance(concurrency, int) or isinstance(concurrency, bool)
            or concurrency < 1):
        raise ValidationError("concurrency", f"{concurrency!r} is not a whole number >= 1",
                              value=concurrency)
    return concurrency


def start_requests(items: Any, defaults: Mapping[str, Any], prepare: Callable[..., PreparedCall]
                   ) -> list[tuple[Any, PreparedCall | Exception]]:
    """Validate every item up front (no I/O): ``(name, call or the item's error)`` per item.

    ``prepare(name, **options)`` is the client's own start preparation.
    """
    unknown = sorted(set(defaults) - set(START_OPTIONS))
    if unknown:
        raise TypeError(f"start_recordings() got unexpected option(s) {unknown}; options are"
                        f" {', '.join(START_OPTIONS)}")
    prepared: list[tuple[Any, PreparedCall | Exception]] = []
    for item in bulk_items(items):
        if isinstance(item, Mapping):
            name = item.get("conference_name")
            extra = sorted(set(item) - {"conference_name", *START_OPTIONS})
        else:
            name, extra = item, []
        try:
            if extra:
                raise ValidationError(extra[0], f"unknown option; options are"
                                      f" conference_name, {', '.join(START_OPTIONS)}")
            if isinstance(item, Mapping):
                options = {**defaults, **{k: v for k, v in item.items()
                                          if k != "conference_name"}}
            else:
                options = dict(defaults)
            prepared.append((name, prepare(name, **options)))
        except ValidationError as exc:
            prepared.append((name, exc))
    return prepared


def delete_requests(ids: Any, prepare: Callable[[object], PreparedCall]
                    ) -> list[tuple[Any, PreparedCall | Exception]]:
    """Validate every id up front (no I/O): ``(id, call or the id's error)`` per id."""
    if isinstance(ids, str | bytes | Mapping):
        raise TypeError("ids: give a list of recording ids, not a single"
                        f" {type(ids).__name__}")
    prepared: list[tuple[Any, PreparedCall | Exception]] = []
    for rid in list(ids):
        try:
            prepared.append((rid, prepare(rid)))
        except ValidationError as exc:
            prepared.append((rid, exc))
    return prepared


def dry_run_rows(prepared: list[tuple[Any, PreparedCall | Exception]]) -> list[BulkRow]:
    """A dry run's rows of :data:`DELETE_COLUMNS`: ``would_delete``, or ``failed`` for an id
    that did not pass its check; nothing is sent."""
    return [delete_row(rid, call if isinstance(call, Exception) else None, None)
            for rid, call in prepared]


def _shown(value: Any) -> str | None:
    """Text that is not valid Unicode cannot be stored in the frame's column: escape it."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return None


def bulk_row(name: Any, outcome: RecordingResult | BaseException, trace: Trace | None) -> BulkRow:
    """One row of :data:`BULK_COLUMNS`; ``trace`` None for an item refused before sending."""
    if isinstance(outcome, RecordingResult):
        assert trace is not None
        return (outcome.conference_name, True, outcome.recording_id, outcome.api_id,
                outcome.url, None, None, trace.attempts, trace.latency_ms)
    shown = _shown(name)
    if trace is None:  # rejected before sending
        return (shown, False, None, None, None, type(outcome).__name__, str(outcome), 0, None)
    return (shown, False, None, getattr(outcome, "api_id", None), None, type(outcome).__name__,
            str(outcome) or type(outcome).__name__, trace.attempts, trace.latency_ms)


def delete_row(rid: Any, outcome: DeleteResult | BaseException | None,
               trace: Trace | None) -> BulkRow:
    """One row of :data:`DELETE_COLUMNS`; ``outcome`` None is a dry run's row."""
    shown = _shown(rid) if isinstance(rid, str) else (None if rid is None else repr(rid))
    if outcome is None:
        return (shown, True, "would_delete", None, None)
    if isinstance(outcome, DeleteResult):
        return (outcome.recording_id, True, outcome.status, outcome.status_code, None)
    status = trace.status if trace is not None else None
    return (shown, False, "failed", status, f"{type(outcome).__name__}: {outcome}")
