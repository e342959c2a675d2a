"""The sandbox's conferences and recordings: what is live, what is recording, what has ended.

One lock guards everything; every method is short. Methods that end recordings return the
recordings they ended, and the caller schedules their callbacks, so a recording is ended (and its
callbacks scheduled) exactly once whichever way it ends: stopped, its conference closed, or its
simulated duration (or ``time_limit``) reached.

A recording whose planned end has passed counts as ended at its planned end, even if the
scheduler has not got to it yet: :meth:`SandboxState.settle` ends those first, so an API answer
never shows a recording running past its own end.

A deleted recording is kept (for the ground truth) with its ``deleted_ms``; the Recording API
treats it as gone: not listed, 404 on get, on delete and on its media.
"""

from __future__ import annotations

import bisect
import heapq
import threading
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from ._simulation import Simulation

__all__ = ["Recording", "SandboxState", "StartRequest"]


@dataclass(frozen=True)
class StartRequest:
    """Validated options of one start-recording request."""

    file_format: str = "mp3"
    transcription_type: str | None = None
    transcription_url: str | None = None
    callback_url: str | None = None
    callback_method: str = "POST"
    time_limit_s: int | None = None


@dataclass
class Recording:
    """One recording the sandbox started."""

    recording_id: str
    api_id: str
    call_uuid: str
    conference_name: str
    number: int
    options: StartRequest
    record_url: str
    start_ms: int
    planned_end_ms: int
    planned_reason: str
    conference_uuid: str = ""
    from_number: str = ""
    to_number: str = ""
    answered: bool = True          # False: started although the request was answered 500
    end_ms: int | None = None
    end_reason: str | None = None
    add_ms: int | None = None      # when the file is stored: add_time, recording callback due
    transcription_error: str | None = field(default=None)
    deleted_ms: int | None = None  # when DELETE .../Recording/{id}/ removed it

    def stored_at(self, now_ms: int) -> bool:
        """Stored and not deleted at ``now_ms``: what the Recording API can see."""
        return self.add_ms is not None and self.add_ms <= now_ms and self.deleted_ms is None

    @property
    def ended(self) -> bool:
        return self.end_ms is not None

    @property
    def duration_ms(self) -> int | None:
        return None if self.end_ms is None else self.end_ms - self.start_ms

    @property
    def transcribed(self) -> bool:
        """Transcription was asked for (and there is somewhere to post it)."""
        return self.options.transcription_type == "auto" and bool(self.options.transcription_url)

    def callback_fields(self) -> dict[str, str]:
        """The recording callback's fields (Plivo sends every value as text)."""
        assert self.end_ms is not None
        duration_ms = self.end_ms - self.start_ms
        return {
            "api_id": self.api_id,
            "record_url": self.record_url,
            "recording_id": self.recording_id,
            "conference_name": self.conference_name,
            "recording_duration": str((duration_ms + 500) // 1000),
            "recording_duration_ms": str(duration_ms),
            "recording_start_ms": str(self.start_ms),
            "recording_end_ms": str(self.end_ms),
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the ground truth (URLs as given; the sandbox never sees secrets)."""
        return {
            "recording_id": self.recording_id,
            "api_id": self.api_id,
            "call_uuid": self.call_uuid,
            "conference_name": self.conference_name,
            "conference_uuid": self.conference_uuid,
            "file_format": self.options.file_format,
            "transcription": self.transcribed,
            "callback_method": self.options.callback_method,
            "has_callback_url": self.options.callback_url is not None,
            "answered": self.answered,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "duration_ms": self.duration_ms,
            "end_reason": self.end_reason,
            "add_ms": self.add_ms,
            "transcription_error": self.transcription_error,
            "deleted_ms": self.deleted_ms,
        }


class SandboxState:
    """Conferences and recordings of one sandbox (thread-safe)."""

    def __init__(self, simulation: Simulation, *, strict: bool) -> None:
        self.simulation = simulation
        self.strict = strict
        self._lock = threading.Lock()
        self._live: dict[str, bool] = {}           # explicitly opened (True) or closed (False)
        self._starts: Counter[str] = Counter()      # recordings ever started per conference
        self._recordings: dict[str, Recording] = {}
        self._active: dict[str, dict[str, Recording]] = {}
        # (planned end, id) of every recording started: the earliest still running is found
        # without scanning them all (settle runs on every API request and idleness check)
        self._planned_ends: list[tuple[int, str]] = []
        # what a Recording API list depends on besides the clock: a version bumped whenever a
        # recording ends or is deleted, and every add_ms in order (when files become visible)
        self._version = 0
        self._add_times: list[int] = []
        self._list_cache: dict[Hashable, tuple[int, int, list[Recording]]] = {}
        self._ended_count: Counter[str] = Counter()
        self._sessions: Counter[str] = Counter()    # closes so far: each starts a new uuid

    # -- conferences ---------------------------------------------------------------------------

    def _is_live(self, name: str) -> bool:
        state = self._live.get(name)
        return state if state is not None else not self.strict

    def is_live(self, name: str) -> bool:
        """Strict mode: opened and not closed. Demo mode: not closed."""
        with self._lock:
            return self._is_live(name)

    def open(self, name: str) -> bool:
        """Make ``name`` live; False if it already was."""
        with self._lock:
            was = self._is_live(name) and name in self._live
            self._live[name] = True
            return not was

    def close(self, name: str, now_ms: int) -> list[Recording]:
        """End ``name``: its recordings end now; it is not live any more."""
        with self._lock:
            ended = self._settle(now_ms)
            self._live[name] = False
            ended += self._end_all(name, now_ms, "conference_closed")
            self._sessions[name] += 1
            return ended

    def conferences(self) -> list[dict[str, Any]]:
        with self._lock:
            names = sorted(set(self._live) | set(self._starts))
            return [{"conference_name": n, "live": self._is_live(n),
                     "recordings_started": self._starts[n],
                     "recording_now": len(self._active.get(n, {}))} for n in names]

    # -- recordings ----------------------------------------------------------------------------

    def start(self, name: str, options: StartRequest, now_ms: int, *, record_url_base: str,
              answered: bool = True) -> tuple[Recording, list[Recording]]:
        """Start a recording of live conference ``name`` (the caller checked it is live).

        Returns the new recording and any recordings that had ended meanwhile.
        """
        with self._lock:
            ended = self._settle(now_ms)
            self._starts[name] += 1
            number = self._starts[name]
            rid, api_id, call_uuid = self.simulation.recording_ids(name, number)
            from_number, to_number = self.simulation.phone_numbers(name, number)
            planned = now_ms + self.simulation.duration_ms(rid)
            reason = "duration"
            if options.time_limit_s is not None and now_ms + options.time_limit_s * 1000 < planned:
                planned, reason = now_ms + options.time_limit_s * 1000, "time_limit"
            recording = Recording(
                recording_id=rid, api_id=api_id, call_uuid=call_uuid, conference_name=name,
                number=number, options=options,
                conference_uuid=self.simulation.conference_uuid(name, self._sessions[name]),
                from_number=from_number, to_number=to_number,
                record_url=f"{record_url_base}/Recording/{rid}.{options.file_format}",
                start_ms=now_ms, planned_end_ms=planned, planned_reason=reason, answered=answered)
            self._recordings[rid] = recording
            self._active.setdefault(name, {})[rid] = recording
            heapq.heappush(self._planned_ends, (planned, rid))
            return recording, ended

    def stop(self, name: str, now_ms: int) -> list[Recording]:
        """Stop every recording of ``name`` (none running is fine)."""
        with self._lock:
            return self._settle(now_ms) + self._end_all(name, now_ms, "stopped")

    def settle(self, now_ms: int) -> list[Recording]:
        """End the recordings whose planned end is not after ``now_ms``."""
        with self._lock:
            return self._settle(now_ms)

    def end_planned(self, recording_id: str) -> Recording | None:
        """The scheduler reached a planned end: end it there, unless it ended before."""
        with self._lock:
            recording = self._recordings.get(recording_id)
            if recording is None or recording.ended:
                return None
            self._end(recording, recording.planned_end_ms, recording.planned_reason)
            return recording

    def _next_planned_end(self) -> int | None:
        ends = self._planned_ends
        while ends and self._recordings[ends[0][1]].ended:
            heapq.heappop(ends)
        return ends[0][0] if ends else None

    def _settle(self, now_ms: int) -> list[Recording]:
        first = self._next_planned_end()
        if first is None or first > now_ms:
            return []
        ended = []
        for active in list(self._active.values()):
            for recording in list(active.values()):
                if recording.planned_end_ms <= now_ms:
                    self._end(recording, recording.planned_end_ms, recording.planned_reason)
                    ended.append(recording)
        return ended

    def _end_all(self, name: str, now_ms: int, reason: str) -> list[Recording]:
        ended = list(self._active.get(name, {}).values())
        for recording in ended:
            self._end(recording, now_ms, reason)
        return ended

    def _end(self, recording: Recording, end_ms: int, reason: str) -> None:
        recording.end_ms = max(end_ms, recording.start_ms)
        recording.end_reason = reason
        recording.add_ms = recording.end_ms + self.simulation.callback_delay_ms(
            recording.recording_id)
        bisect.insort(self._add_times, recording.add_ms)
        self._version += 1
        self._active[recording.conference_name].pop(recording.recording_id, None)
        if not self._active[recording.conference_name]:
            del self._active[recording.conference_name]
        self._ended_count[reason] += 1

    # -- queries -------------------------------------------------------------------------------

    def get(self, recording_id: str) -> Recording | None:
        with self._lock:
            return self._recordings.get(recording_id)

    def listed(self, now_ms: int, match: Callable[[Recording, int], bool], *,
               key: Hashable | None = None) -> list[Recording]:
        """The stored recordings ``match`` accepts at ``now_ms``, newest first (then by id):
        the Recording API list's order. Treat the list as read-only.

        With a ``key`` (the filters, when ``match`` does not depend on ``now_ms`` except
        through what is stored), the answer is kept and given again while no recording ended,
        was deleted or became visible since: paging through tens of thousands of recordings
        then costs a slice per page, not a scan and a sort.
        """
        with self._lock:
            if key is not None and (kept := self._list_cache.get(key)) is not None:
                version, at_ms, found = kept
                if (version == self._version and at_ms <= now_ms
                        and bisect.bisect_right(self._add_times, at_ms)
                        == bisect.bisect_right(self._add_times, now_ms)):
                    return found
            found = [r for r in self._recordings.values()
                     if r.stored_at(now_ms) and match(r, now_ms)]
            found.sort(key=lambda r: (-(r.add_ms or 0), r.recording_id))
            if key is not None:
                if len(self._list_cache) >= 8:
                    self._list_cache.clear()
                self._list_cache[key] = (self._version, now_ms, found)
            return found

    def visible(self, recording_id: str, now_ms: int) -> Recording | None:
        """The recording if the Recording API can see it at ``now_ms`` (stored, not deleted)."""
        with self._lock:
            recording = self._recordings.get(recording_id)
            return recording if recording is not None and recording.stored_at(now_ms) else None

    def delete(self, recording_id: str, now_ms: int) -> Recording | None:
        """Delete a stored recording; None when there is none to delete (unknown, still
        running or not stored yet, or deleted before): the API's 404."""
        with self._lock:
            recording = self._recordings.get(recording_id)
            if recording is None or not recording.stored_at(now_ms):
                return None
            recording.deleted_ms = now_ms
            self._version += 1
            return recording

    def next_planned_end(self) -> int | None:
        with self._lock:
            return self._next_planned_end()

    def summary(self) -> dict[str, Any]:
        with self._lock:
            recordings = list(self._recordings.values())
            return {
                "started": len(recordings),
                "started_without_answer": sum(not r.answered for r in recordings),
                "active": sum(len(v) for v in self._active.values()),
                "ended": dict(sorted(self._ended_count.items())),
                "by_format": dict(sorted(Counter(r.options.file_format
                                                 for r in recordings).items())),
                "with_transcription": sum(r.transcribed for r in recordings),
                "deleted": sum(r.deleted_ms is not None for r in recordings),
            }

    def records(self) -> list[dict[str, Any]]:
        """One dict per recording, by start time (then conference and number: a stable order)."""
        with self._lock:
            recordings = sorted(self._recordings.values(),
                                key=lambda r: (r.start_ms, r.conference_name, r.number))
            return [r.to_dict() for r in recordings]
