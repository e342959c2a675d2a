"""One call to the Plivo API: the validated request, and what happened while sending it.

A :class:`PreparedCall` is made once, with every option checked, and sent as many times as the
retry policy allows; its :class:`Trace` counts the attempts and times them for the journal and
the bulk frames.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from .validation import StartOptions

__all__ = ["PreparedCall", "Trace"]

_JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass(frozen=True, slots=True)
class PreparedCall:
    """One validated request, ready to send as many times as the retry policy allows."""

    action: str                      # start | stop | list | get | delete
    method: str
    path: str
    content: bytes | None = None
    params: Mapping[str, str] | None = None
    conference_name: str | None = None
    options: StartOptions | None = None
    recording_id: str | None = None

    @property
    def headers(self) -> Mapping[str, str] | None:
        """The request's own headers: the JSON content type when it has a body."""
        return _JSON_HEADERS if self.content is not None else None


class Trace:
    """What happened during one call: attempts, the last status, timing."""

    __slots__ = ("attempts", "may_have_started", "requested_at", "started", "status")

    def __init__(self) -> None:
        self.attempts = 0
        self.status: int | None = None
        #: a start's attempt (not necessarily the last) may have been acted on by the server
        self.may_have_started = False
        self.begin()

    def attempt(self) -> None:
        """Count one more attempt, about to be sent; the first starts the clock."""
        if not self.attempts:
            self.begin()
        self.attempts += 1

    def begin(self) -> None:
        """Start the clock: called when the first attempt is sent (after any rate-limit wait),
        so latency is the API's and the retries', not the queue's."""
        self.requested_at = datetime.now(UTC)
        self.started = time.perf_counter()

    @property
    def latency_ms(self) -> float:
        """Milliseconds since the first attempt was sent (until now, or the call's end)."""
        return (time.perf_counter() - self.started) * 1000.0
