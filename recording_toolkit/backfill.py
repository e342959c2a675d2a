"""Backfill of lost recording callbacks from Plivo's Recording API.

Plivo gives up on a callback after its retries, a receiver can be down, a callback can simply
never come. The recording itself is still on Plivo's side: the Recording list API knows it. This
module asks for the recordings that the request journal says were started but whose recording
callback is not in the log, and appends each one to ``{log_dir}/backfill-YYYY-MM-DD.jsonl`` as
a recording event in the log's own envelope, marked ``"source": "backfill"`` (the loader turns
that into ``backfilled=True``), so every later step counts it like a received callback and can
still tell it apart.

Why it works the way it does:

- **The list API first, one recording at a time last.** Recordings are listed through
  :meth:`~recording_toolkit.client.RecordingClient.iter_recordings` (pages of 20, windows of at
  most 30 days, as Plivo requires) over ``since`` .. ``until``; listing stops as soon as every
  missing recording was found. Those the listing did not find (outside the window) are fetched
  one by one with ``get_recording``; a 404 means Plivo has no such recording (yet) and is
  reported, never guessed at.
- **Idempotent.** Before writing, the log folder is loaded and every recording id that already
  has a recording event there (a callback, or an earlier backfill) is left out, under a lock
  file, so running the backfill twice, or two at once, adds nothing the second time.
- **The callback's field names, the API's values.** The Recording API's ``recording_url`` becomes
  ``record_url``; ``recording_duration_ms``, ``recording_start_ms`` and ``recording_end_ms`` are
  kept as the decimal strings Plivo sends (``"345100.00000"``; the loader parses them);
  ``recording_duration`` (whole seconds, which the list API does not have) is derived from the
  milliseconds, rounded half up; ``api_id`` is the start call's, from the journal, when known.
- **Durable.** Lines are written with one ``write`` and ``fsync``'d before the result is
  returned.
- **Transcriptions too.** Plivo's Transcription API answers a recording's transcription by the
  recording's id (docs/plivo.md, "Transcriptions"). :func:`missing_transcriptions` lists the
  recordings whose start asked for one (the journal's ``transcription_type``) and that have no
  transcription event in the log; :func:`backfill_transcriptions` fetches each with
  ``get_transcription`` and appends it as a transcription event, marked the same way, under the
  same lock, skipping ids already there. A 404 (none, or not ready yet) is reported in
  ``not_found``; an answer whose ``status`` is not ``"success"`` is reported in ``invalid``:
  Plivo documents neither, so neither is turned into a line.

Examples
--------
>>> fields = recording_callback_fields({
...     "recording_id": "c2186400-1c8c-11e4-a664-0026b945b52x", "conference_name": "standup",
...     "recording_url": "https://media.plivo.com/v1/Account/MA0/Recording/c21.mp3",
...     "recording_duration_ms": "345100.00000", "recording_start_ms": "1407235509007.00000",
...     "recording_end_ms": "1407235854107.00000", "recording_format": "mp3"}, api_id="a-1")
>>> fields["record_url"], fields["recording_duration"], fields["recording_duration_ms"]
('https://media.plivo.com/v1/Account/MA0/Recording/c21.mp3', '345', '345100.00000')
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from .callback_log import encode_envelope, format_timestamp
from .errors import NotFoundError

__all__ = [
    "BACKFILL_SOURCE",
    "BackfillResult",
    "backfill_recordings",
    "backfill_path",
    "backfill_transcriptions",
    "missing_recordings",
    "missing_recordings_in_frames",
    "missing_transcriptions",
    "missing_transcriptions_in_frames",
    "recording_callback_fields",
    "transcription_callback_fields",
]

#: The ``source`` of a backfilled line (a received callback's is ``callback``).
BACKFILL_SOURCE = "backfill"
_LOCK_NAME = ".backfill.lock"
_MS_FIELDS = ("recording_duration_ms", "recording_start_ms", "recording_end_ms")
#: How far before the earliest start the listing begins: a recording's add_time follows its
#: start, never precedes it, but clocks of this host and Plivo's may differ a little.
START_SLACK = timedelta(minutes=10)

Method = Literal["list", "get"]


def _text(obj: Mapping[str, Any], name: str, *, required: bool) -> str | None:
    value = obj.get(name)
    if value is None or value == "":
        if required:
            raise ValueError(f"field {name!r} is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"field {name!r}: {value!r} is not text or a number")
    return value if isinstance(value, str) else str(value)


def recording_callback_fields(obj: Mapping[str, Any], *, api_id: str | None = None
                              ) -> dict[str, str]:
    """A Recording API object as the fields of the recording callback Plivo would have sent.

    Raises ``ValueError`` naming the field when the object lacks ``recording_id``,
    ``recording_url`` or a millisecond field, or when a millisecond value is not a number.
    """
    rid = _text(obj, "recording_id", required=True)
    assert rid is not None
    fields: dict[str, str] = {}
    if api_id:
        fields["api_id"] = api_id
    fields["record_url"] = _text(obj, "recording_url", required=True) or ""
    fields["recording_id"] = rid
    fields["conference_name"] = _text(obj, "conference_name", required=False) or ""
    values = {}
    for name in _MS_FIELDS:
        text = _text(obj, name, required=True)
        assert text is not None
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"field {name!r}: {text[:40]!r} is not a number") from None
        if not number.is_finite() or number < 0:
            raise ValueError(f"field {name!r}: {text[:40]!r} is not a number >= 0")
        values[name] = number
        fields[name] = text
    seconds = (values["recording_duration_ms"] / 1000).quantize(Decimal(1), ROUND_HALF_UP)
    fields["recording_duration"] = str(int(seconds))
    order = ("api_id", "record_url", "recording_id", "conference_name", "recording_duration",
             *_MS_FIELDS)
    return {name: fields[name] for name in order if name in fields}


def _decimal_text(obj: Mapping[str, Any], name: str) -> str:
    """A JSON number (or decimal text) of the Transcription API as plain decimal text."""
    value = obj.get(name)
    if value is None or value == "":
        raise ValueError(f"field {name!r} is missing")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"field {name!r}: {value!r} is not a number")
    try:
        number = Decimal(value if isinstance(value, str) else repr(value))
    except InvalidOperation:
        raise ValueError(f"field {name!r}: {str(value)[:40]!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise ValueError(f"field {name!r}: {str(value)[:40]!r} is not a number >= 0")
    return format(number.normalize(), "f")


def transcription_callback_fields(obj: Mapping[str, Any], recording_id: str) -> dict[str, str]:
    """A Transcription API object as the fields of the transcription callback Plivo would have
    sent for ``recording_id``.

    ``cost`` becomes ``transcription_charge``, ``rate`` ``transcription_rate`` (decimal text),
    ``recording_duration_ms`` the whole seconds of ``duration`` (rounded half up); ``error`` is
    empty, as on a successful callback. The resource has no ``call_uuid``, so there is none.
    Raises ``ValueError`` naming the field when ``status`` is not ``"success"`` or a field is
    missing or not a number.

    >>> transcription_callback_fields({"cost": 0.05, "rate": 0.05, "status": "success",
    ...     "recording_duration_ms": 22780, "transcription": "Speaker 0: Hi."}, "r-1")
    ... # doctest: +NORMALIZE_WHITESPACE
    {'transcription': 'Speaker 0: Hi.', 'transcription_charge': '0.05',
     'transcription_rate': '0.05', 'duration': '23', 'recording_id': 'r-1', 'error': ''}
    """
    status = obj.get("status")
    if status != "success":
        raise ValueError(f"field 'status': {str(status)[:40]!r}, not 'success'")
    text = obj.get("transcription")
    if not isinstance(text, str):
        raise ValueError(f"field 'transcription': {str(text)[:40]!r} is not text")
    duration_ms = Decimal(_decimal_text(obj, "recording_duration_ms"))
    seconds = (duration_ms / 1000).quantize(Decimal(1), ROUND_HALF_UP)
    return {"transcription": text, "transcription_charge": _decimal_text(obj, "cost"),
            "transcription_rate": _decimal_text(obj, "rate"), "duration": str(int(seconds)),
            "recording_id": recording_id, "error": ""}


def backfill_path(log_dir: str | os.PathLike[str], moment: datetime) -> Path:
    """``{log_dir}/backfill-YYYY-MM-DD.jsonl`` for the UTC day of ``moment``.

    >>> backfill_path("logs", datetime(2026, 11, 24, 23, 59, tzinfo=UTC)).name
    'backfill-2026-11-24.jsonl'
    """
    return Path(log_dir) / f"backfill-{moment.astimezone(UTC):%Y-%m-%d}.jsonl"


def _envelope(fields: Mapping[str, str], received_at: str,
              kind: Literal["recording", "transcription"] = "recording") -> bytes:
    # verified: the data came from Plivo's authenticated API, not from an unsigned request
    return encode_envelope(kind, received_at, True, fields, source=BACKFILL_SOURCE)


@dataclass(frozen=True)
class BackfillResult:
    """What one backfill did.

    Attributes
    ----------
    requested
        Recording ids asked for.
    present
        Of those, already in the log with a recording event (received or backfilled before):
        left alone.
    written
        Recording ids appended to ``path``, in the order written.
    not_found
        Ids the Recording API does not know (or not yet): nothing written for them.
    invalid
        ``{recording_id: reason}`` for objects the API returned that could not be used.
    path
        The backfill file written to (None when nothing was written).
    """

    requested: int
    present: int
    written: tuple[str, ...]
    not_found: tuple[str, ...]
    invalid: Mapping[str, str] = field(default_factory=dict)
    path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data (counts and ids) for JSON output."""
        return {"requested": self.requested, "present": self.present,
                "written": len(self.written), "not_found": list(self.not_found),
                "invalid": dict(self.invalid),
                "path": None if self.path is None else os.fspath(self.path)}


def _logged_ids(log_dir: Path, kind: str) -> set[str]:
    """Recording ids with an event of ``kind`` (``"recordings"`` or ``"transcriptions"``)
    anywhere in the log folder."""
    from .load import load_callbacks

    frame = getattr(load_callbacks(log_dir, progress=False), kind)
    return set(frame["recording_id"].dropna().astype(str))


def _logged_recording_ids(log_dir: Path) -> set[str]:
    """Recording ids with a recording event anywhere in the log folder."""
    return _logged_ids(log_dir, "recordings")


def _journal_and_logged(log_dir: str | os.PathLike[str], journal: Any, kind: str
                        ) -> tuple[Any, Any]:
    """The journal frame (loaded when given as paths) and the log folder's ``kind`` frame
    (empty when the folder does not exist yet), for the ``missing_*`` functions."""
    import pandas as pd

    from .load import load_callbacks, load_journal

    frame = journal if isinstance(journal, pd.DataFrame) else load_journal(journal)
    folder = Path(log_dir)
    if folder.is_dir():
        return frame, getattr(load_callbacks(folder, progress=False), kind)
    return frame, pd.DataFrame({"recording_id": pd.Series([], dtype="string")})


def missing_recordings(log_dir: str | os.PathLike[str], journal: Any
                       ) -> dict[str, str | None]:
    """Recordings the journal says started whose recording event is not in the log.

    ``journal`` is a journal path (or list of paths) or a frame from
    :func:`~recording_toolkit.load.load_journal`. Returns ``{recording_id: api_id}`` in journal
    order. Starts that failed, or whose outcome is unknown (no ``recording_id``), are not
    included: without an id there is nothing to look up.
    """
    frame, recordings = _journal_and_logged(log_dir, journal, "recordings")
    return missing_recordings_in_frames(recordings, frame)


def missing_recordings_in_frames(recordings: Any, journal_frame: Any) -> dict[str, str | None]:
    """:func:`missing_recordings` over frames already loaded: the log's recordings frame (from
    :func:`~recording_toolkit.load.load_callbacks`) and the journal frame (from
    :func:`~recording_toolkit.load.load_journal`), so a caller that has loaded the log once
    (the ``backfill`` command) does not load it again."""
    import pandas as pd

    from .analytics.reconciliation import missing_recording_callbacks

    missing = missing_recording_callbacks(recordings, journal_frame)
    # a start whose recording id is still pending cannot be fetched by id
    missing = missing[~missing["backfilled"].to_numpy(dtype=bool)
                      & missing["recording_id"].notna().to_numpy(dtype=bool)]
    return {str(rid): None if pd.isna(api_id) else str(api_id)
            for rid, api_id in zip(missing["recording_id"], missing["api_id"], strict=True)}


@contextlib.contextmanager
def _locked(log_dir: Path) -> Iterator[None]:
    with open(log_dir / _LOCK_NAME, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def backfill_recordings(client: Any, log_dir: str | os.PathLike[str],
                        recordings: Mapping[str, str | None] | Iterable[str], *,
                        since: Any = None, until: Any = None, method: Method = "list",
                        progress: bool = True, now: datetime | None = None) -> BackfillResult:
    """Fetch recordings whose callbacks never came and append them to the log as backfilled.

    Parameters
    ----------
    client
        A :class:`~recording_toolkit.client.RecordingClient` (its rate limit and retries apply).
    log_dir
        The callback log folder (created if missing).
    recordings
        The recording ids to backfill, or ``{recording_id: api_id}`` as
        :func:`missing_recordings` returns (the ``api_id`` goes into the line).
    since, until
        The ``add_time`` range to list (see ``iter_recordings``; default: the last 7 days).
    method
        ``"list"`` (default): the Recording list API, then ``get_recording`` for any id the
        listing did not find; ``"get"``: one ``get_recording`` per id.
    progress
        A ``tqdm.auto`` bar over the recordings to find.
    now
        The ``received_at`` of the lines and the day of the file (default: the current time).

    Returns
    -------
    BackfillResult
    """
    from tqdm.auto import tqdm

    from .client import AsyncRecordingClient

    if isinstance(client, AsyncRecordingClient):
        raise TypeError("client: backfill_recordings needs a RecordingClient (blocking); an"
                        " AsyncRecordingClient's calls are coroutines")
    if method not in ("list", "get"):
        raise ValueError(f"method: expected 'list' or 'get', got {method!r}")
    if isinstance(recordings, str):
        raise TypeError("recordings: give recording ids (a list, set or mapping), not one string")
    wanted: dict[str, str | None] = (dict(recordings) if isinstance(recordings, Mapping)
                                     else dict.fromkeys(recordings))
    folder = Path(log_dir)
    folder.mkdir(parents=True, exist_ok=True)
    moment = now or datetime.now(UTC)
    with _locked(folder):
        present = _logged_recording_ids(folder) if wanted else set()
        todo = {rid: api_id for rid, api_id in wanted.items() if rid not in present}
        found: dict[str, Mapping[str, Any]] = {}
        bar = tqdm(total=len(todo), disable=not progress, desc="backfill", unit="rec",
                   leave=progress)
        try:
            if method == "list" and todo:
                for obj in client.iter_recordings(since=since, until=until, progress=False):
                    rid = obj.get("recording_id")
                    if rid in todo and rid not in found:
                        found[rid] = obj
                        bar.update(1)
                        if len(found) == len(todo):
                            break
            not_found = []
            for rid in todo:
                if rid in found:
                    continue
                try:
                    found[rid] = client.get_recording(rid)
                except NotFoundError:
                    not_found.append(rid)
                bar.update(1)
        except BaseException:
            bar.leave = False  # a failed run leaves its error line, not a half-drawn bar
            raise
        finally:
            bar.close()
        lines: list[bytes] = []
        written: list[str] = []
        invalid: dict[str, str] = {}
        stamp = format_timestamp(moment)
        for rid, api_id in todo.items():
            if rid not in found:
                continue
            obj = found[rid]
            try:
                if obj.get("recording_id") != rid:
                    raise ValueError(f"the API answered with recording {obj.get('recording_id')!r}")
                fields = recording_callback_fields(obj, api_id=api_id)
            except ValueError as exc:
                invalid[rid] = str(exc)
                continue
            lines.append(_envelope(fields, stamp))
            written.append(rid)
        path = _append_durably(folder, moment, lines)
    return BackfillResult(requested=len(wanted), present=len(wanted) - len(todo),
                          written=tuple(written), not_found=tuple(not_found), invalid=invalid,
                          path=path)


def _append_durably(folder: Any, moment: datetime, lines: list[bytes]) -> Path | None:
    """Append ``lines`` to the day's backfill file and fsync it, as the receiver does before it
    answers; the file's path, or None when there was nothing to write."""
    if not lines:
        return None
    path = backfill_path(folder, moment)
    with open(path, "ab") as handle:
        handle.write(b"".join(lines))
        handle.flush()
        os.fsync(handle.fileno())
    return path


def default_since(journal_frame: Any) -> datetime | None:
    """The earliest start in a journal frame, less :data:`START_SLACK` (None when empty)."""
    import pandas as pd

    starts = journal_frame[journal_frame["action"] == "start"]
    if starts.empty:
        return None
    first = pd.to_datetime(starts["time"], utc=True).min()
    return None if pd.isna(first) else first.to_pydatetime() - START_SLACK


def missing_transcriptions(log_dir: str | os.PathLike[str], journal: Any) -> list[str]:
    """Recordings whose start asked for a transcription (the journal's ``transcription_type``)
    and that have no transcription event in the log, in journal order.

    ``journal`` is as for :func:`missing_recordings`. Starts without a ``recording_id`` are
    left out: the Transcription API is asked by recording id.
    """
    frame, transcriptions = _journal_and_logged(log_dir, journal, "transcriptions")
    return missing_transcriptions_in_frames(transcriptions, frame)


def missing_transcriptions_in_frames(transcriptions: Any, journal_frame: Any) -> list[str]:
    """:func:`missing_transcriptions` over frames already loaded (see
    :func:`missing_recordings_in_frames`)."""
    starts = journal_frame[(journal_frame["action"] == "start").to_numpy(dtype=bool)
                           & journal_frame["transcription_type"].notna().to_numpy(dtype=bool)
                           & journal_frame["recording_id"].notna().to_numpy(dtype=bool)]
    logged = set(transcriptions["recording_id"].dropna().astype(str))
    wanted = dict.fromkeys(str(rid) for rid in starts["recording_id"])
    return [rid for rid in wanted if rid not in logged]


def _logged_transcription_ids(log_dir: Path) -> set[str]:
    """Recording ids with a transcription event anywhere in the log folder."""
    return _logged_ids(log_dir, "transcriptions")


def backfill_transcriptions(client: Any, log_dir: str | os.PathLike[str],
                            recording_ids: Iterable[str], *, progress: bool = True,
                            now: datetime | None = None) -> BackfillResult:
    """Fetch transcriptions whose callbacks never came and append them to the log as
    backfilled transcription events (``{log_dir}/backfill-YYYY-MM-DD.jsonl``).

    ``recording_ids`` as :func:`missing_transcriptions` returns them; ``client`` a blocking
    :class:`~recording_toolkit.client.RecordingClient`. Ids with a transcription event in the
    log already are left alone (``present``); a 404 goes to ``not_found``; an answer that is
    not a usable success goes to ``invalid`` with the reason. Returns a :class:`BackfillResult`
    whose ids are recording ids.
    """
    from tqdm.auto import tqdm

    from .client import AsyncRecordingClient

    if isinstance(client, AsyncRecordingClient):
        raise TypeError("client: backfill_transcriptions needs a RecordingClient (blocking); an"
                        " AsyncRecordingClient's calls are coroutines")
    if isinstance(recording_ids, str):
        raise TypeError("recording_ids: give recording ids (a list or set), not one string")
    wanted = list(dict.fromkeys(recording_ids))
    folder = Path(log_dir)
    folder.mkdir(parents=True, exist_ok=True)
    moment = now or datetime.now(UTC)
    stamp = format_timestamp(moment)
    lines: list[bytes] = []
    written: list[str] = []
    not_found: list[str] = []
    invalid: dict[str, str] = {}
    with _locked(folder):
        present = _logged_transcription_ids(folder) if wanted else set()
        todo = [rid for rid in wanted if rid not in present]
        with tqdm(todo, disable=not progress, desc="transcriptions", unit="tr",
                  leave=progress) as bar:
            for rid in bar:
                try:
                    obj = client.get_transcription(rid)
                except NotFoundError:
                    not_found.append(rid)
                    continue
                try:
                    fields = transcription_callback_fields(obj, rid)
                except ValueError as exc:
                    invalid[rid] = str(exc)
                    continue
                lines.append(_envelope(fields, stamp, "transcription"))
                written.append(rid)
        path = _append_durably(folder, moment, lines)
    return BackfillResult(requested=len(wanted), present=len(wanted) - len(todo),
                          written=tuple(written), not_found=tuple(not_found), invalid=invalid,
                          path=path)
