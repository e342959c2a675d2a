"""The sandbox as one object: state, simulation, dispatcher and HTTP server, wired together.

:class:`SandboxCore` is everything but the network listener (the API handlers and the Python API
both call it); :class:`Sandbox` runs it under uvicorn in a background thread.
"""

from __future__ import annotations

import itertools
import secrets
import string
import threading
import time
from dataclasses import replace
from datetime import datetime
from typing import Any

from ..config import AUTH_ID_PATTERN, RateCard
from ..errors import ConfigurationError
from ..server import BackgroundServer, BackgroundService
from ._clock import ManualClock, SandboxClock, ScaledClock, from_ms
from ._config import Durations, Faults, SandboxConfig, Timing
from ._dispatch import CallbackPlan, Dispatcher, retry_settings
from ._faults import ApiFaults
from ._simulation import Simulation, keyed_uuid
from ._state import Recording, SandboxState, StartRequest

__all__ = ["DEFAULT_TIME_SCALE", "Sandbox", "SandboxCore"]

#: One simulated minute per real second: a stopped recording's callbacks arrive within a second
#: or two, its transcription (a few simulated minutes) within a few seconds.
DEFAULT_TIME_SCALE = 60.0

_ID_ALPHABET = string.ascii_uppercase + string.digits


def _new_auth_id() -> str:
    return "MA" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(18))


def _new_token() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))


class SandboxCore:
    """The simulated Plivo account: conferences, recordings, callbacks, faults (no listener)."""

    def __init__(self, config: SandboxConfig, *, clock: SandboxClock, auth_id: str,
                 auth_token: str) -> None:
        self.config = config
        self.clock = clock
        self.auth_id = auth_id
        self.auth_token = auth_token
        self.simulation = Simulation(config)
        self.state = SandboxState(self.simulation, strict=config.strict)
        self.api_faults = ApiFaults(config.faults, self.simulation, rate_limit=config.rate_limit)
        self.dispatcher = Dispatcher(clock=clock, simulation=self.simulation,
                                     faults=config.faults, timing=config.timing,
                                     auth_token=auth_token, on_planned_end=self._planned_end,
                                     max_concurrency=config.max_concurrent_callbacks)
        self.media_url = config.media_url
        self._api_ids = itertools.count()
        self._api_lock = threading.Lock()

    # -- ids ---------------------------------------------------------------------------------

    def new_api_id(self) -> str:
        with self._api_lock:
            number = next(self._api_ids)
        return keyed_uuid(self.config.seed, "api-response", number)

    @property
    def record_url_base(self) -> str:
        if self.media_url is None:
            raise RuntimeError("the sandbox is not serving yet (no media URL)")
        return f"{self.media_url}/v1/Account/{self.auth_id}"

    # -- recordings ----------------------------------------------------------------------------

    def start(self, name: str, options: StartRequest, *, answered: bool = True) -> Recording:
        recording, ended = self.state.start(name, options, self.clock.now_ms(),
                                            record_url_base=self.record_url_base,
                                            answered=answered)
        self._ended(ended)
        self.dispatcher.schedule_end(recording.planned_end_ms, recording.recording_id)
        return recording

    def stop(self, name: str) -> list[Recording]:
        return self._ended(self.state.stop(name, self.clock.now_ms()))

    def delete(self, recording_id: str) -> Recording | None:
        """Delete a stored recording (None: nothing to delete; the API's 404)."""
        return self.state.delete(recording_id, self.clock.now_ms())

    def open_conference(self, name: str) -> bool:
        return self.state.open(name)

    def close_conference(self, name: str) -> list[Recording]:
        return self._ended(self.state.close(name, self.clock.now_ms()))

    def settle(self) -> list[Recording]:
        return self._ended(self.state.settle(self.clock.now_ms()))

    def _planned_end(self, recording_id: str) -> None:
        recording = self.state.end_planned(recording_id)
        if recording is not None:
            self._ended([recording])

    def _ended(self, recordings: list[Recording]) -> list[Recording]:
        """Plan the callbacks of recordings that just ended."""
        for recording in recordings:
            assert recording.end_ms is not None and recording.add_ms is not None
            options = recording.options
            if options.callback_url is not None:
                self.dispatcher.add(CallbackPlan(
                    kind="recording", recording_id=recording.recording_id,
                    url=options.callback_url, method=options.callback_method,
                    fields=recording.callback_fields(), due_ms=recording.add_ms,
                    retry=retry_settings(options.callback_url)))
            if recording.transcribed:
                assert options.transcription_url is not None
                outcome = self.simulation.transcription(
                    recording.recording_id, recording.call_uuid,
                    recording.end_ms - recording.start_ms, options.file_format,
                    conference_name=recording.conference_name)
                recording.transcription_error = outcome.error
                due = max(recording.add_ms, recording.end_ms + outcome.turnaround_ms)
                self.dispatcher.add(CallbackPlan(
                    kind="transcription", recording_id=recording.recording_id,
                    url=options.transcription_url, method="POST", fields=outcome.fields,
                    due_ms=due, retry=retry_settings(options.transcription_url)))
        return recordings

    # -- ground truth ----------------------------------------------------------------------------

    def ground_truth(self, *, details: bool = True) -> dict[str, Any]:
        self.settle()
        recordings = self.state.records()
        errors: dict[str, int] = {}
        for record in recordings:
            if record["transcription"] and record["end_ms"] is not None:
                key = record["transcription_error"] or "ok"
                errors[key] = errors.get(key, 0) + 1
        truth: dict[str, Any] = {
            "now": self.clock.now().isoformat(),
            "seed": self.config.seed,
            "recordings": self.state.summary(),
            "transcriptions": dict(sorted(errors.items())),
            "callbacks": self.dispatcher.counts(),
            "api": self.api_faults.counts(),
            "idle": self.dispatcher.idle(),
        }
        if details:
            truth["recording_details"] = recordings
            # in a stable order, whatever order threads ended recordings and planned callbacks
            plans = sorted(self.dispatcher.plans(),
                           key=lambda p: (p.due_ms, p.kind, p.recording_id))
            truth["callback_details"] = [p.to_dict() for p in plans]
        return truth


class Sandbox(BackgroundService):
    """A local Plivo: the Record and Recording APIs, signed callbacks, faults on demand.

    Parameters
    ----------
    auth_id, auth_token
        The account clients authenticate as; generated when not given (an ``MA`` + 18
        characters id, a 40-character token). The token also signs every callback.
    seed
        Seeds every random decision: recording ids, durations, transcripts, faults.
    time_scale
        Simulated seconds per real second (default 60). Ignored when ``clock`` is given.
    strict
        Only conferences opened with :meth:`open_conference` are live (others get 404). By
        default (demo mode) any name is live until closed.
    faults
        A :class:`~recording_toolkit.sandbox.Faults` or a spec like ``"drop=0.02,duplicate=0.05"``
        or ``"light"``; default none.
    rates
        The :class:`~recording_toolkit.config.RateCard` transcription is charged from.
    host, port
        Where to listen (default 127.0.0.1, a free port).
    clock
        A :class:`~recording_toolkit.sandbox.ManualClock` for fully reproducible runs, or any
        clock; default ``ScaledClock(time_scale)`` starting now.
    async_answer
        True (or a share between 0 and 1) to answer starts the asynchronous way, without
        ``recording_id`` and ``url`` (sets the ``async_answer`` fault; see
        :class:`~recording_toolkit.sandbox.Faults`).
    media_auth
        Media URLs ask for the account's Basic auth (see
        :class:`~recording_toolkit.sandbox.SandboxConfig`).
    durations, timing, rate_limit, add_time_offset, media_url, max_concurrent_callbacks
        See :class:`~recording_toolkit.sandbox.SandboxConfig`.

    Examples
    --------
    >>> import httpx
    >>> with Sandbox(seed=1) as sandbox:
    ...     answer = httpx.post(f"{sandbox.base_url}/v1/Account/{sandbox.auth_id}/Conference/"
    ...                         "standup/Record/", auth=(sandbox.auth_id, sandbox.auth_token),
    ...                         json={"file_format": "wav"})
    ...     answer.status_code, answer.json()["message"]
    (202, 'conference recording started')
    """

    what = "sandbox"

    def __init__(self, *, auth_id: str | None = None, auth_token: str | None = None,
                 seed: int = 0, time_scale: float = DEFAULT_TIME_SCALE, strict: bool = False,
                 faults: Faults | str | None = None, rates: RateCard | None = None,
                 host: str = "127.0.0.1", port: int = 0, clock: SandboxClock | None = None,
                 durations: Durations | None = None, timing: Timing | None = None,
                 rate_limit: tuple[int, float] | None = None, add_time_offset: str = "+05:30",
                 media_url: str | None = None, max_concurrent_callbacks: int = 64,
                 async_answer: bool | float = False, media_auth: bool = False,
                 log_level: str = "warning") -> None:
        if auth_id is not None and not AUTH_ID_PATTERN.match(auth_id):
            raise ConfigurationError(f"auth_id: {auth_id!r} is not a Plivo auth id ('MA' or 'SA'"
                                     " followed by 18 upper-case letters or digits)")
        if auth_token is not None and not auth_token:
            raise ConfigurationError("auth_token: empty; give a token or None to generate one")
        faults = Faults.parse(faults) if isinstance(faults, str) or faults is None else faults
        if async_answer is not False:
            async_answer = 1.0 if async_answer is True else async_answer
            if isinstance(async_answer, bool) or not isinstance(async_answer, int | float) \
                    or not 0 <= async_answer <= 1:
                raise ConfigurationError(f"async_answer: {async_answer!r} is not True, False or"
                                         " a share from 0 to 1")
            faults = replace(faults, async_answer_rate=float(async_answer))
        self.config = SandboxConfig(
            seed=seed, strict=strict, faults=faults, rates=rates or RateCard(),
            durations=durations if durations is not None else SandboxConfig().durations,
            timing=timing or Timing(), rate_limit=rate_limit, add_time_offset=add_time_offset,
            media_url=media_url.rstrip("/") if media_url else None,
            max_concurrent_callbacks=max_concurrent_callbacks, media_auth=media_auth)
        self.clock: SandboxClock = clock if clock is not None else ScaledClock(time_scale)
        self.auth_id = auth_id or _new_auth_id()
        self.auth_token = auth_token or _new_token()
        self.host = host
        self._port = port
        self._log_level = log_level
        self.core = SandboxCore(self.config, clock=self.clock, auth_id=self.auth_id,
                                auth_token=self.auth_token)
        self._server: BackgroundServer | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def _serve(self) -> BackgroundServer:
        """Start delivering and serving (:meth:`start`)."""
        from ._api import create_sandbox_app

        # idle connections are kept for a minute, as the load balancers in front of an API
        # commonly do: with uvicorn's 5 s a client that reuses a connection after a pause
        # (a rate limit's wait is ~5 s) can send on one the server is closing, and be reset
        server = BackgroundServer(create_sandbox_app(self.core), host=self.host, port=self._port,
                                  log_level=self._log_level, name="sandbox",
                                  timeout_keep_alive=60)
        self.core.dispatcher.start()
        try:
            server.start()
        except BaseException:
            self.core.dispatcher.stop()
            raise
        if self.core.media_url is None:
            self.core.media_url = server.url
        return server

    def stop(self) -> None:
        """Stop serving; callbacks not yet delivered stay pending in the ground truth."""
        super().stop()
        self.core.dispatcher.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: give it to a client as ``base_url``."""
        return self._server_url()

    # -- time ----------------------------------------------------------------------------------

    def now(self) -> datetime:
        """Sandbox time (UTC). Pass :meth:`now` as a callback log's ``clock`` so the receiver's
        ``received_at`` is on the same clock as the recordings' timestamps."""
        return self.clock.now()

    def next_due(self) -> datetime | None:
        """When something is next scheduled after now (a recording's planned end, a callback
        delivery or retry), or None when nothing is.

        A driver of a :class:`~recording_toolkit.sandbox.ManualClock` jumps from one such moment
        to the next, so every callback goes out at its own due time however long the delivery
        takes in real time (``recording-toolkit demo`` runs this way).
        """
        now = self.clock.now_ms()
        moments = [m for m in (self.core.dispatcher.next_due_ms(now),
                               self.core.state.next_planned_end()) if m is not None and m > now]
        return from_ms(min(moments)) if moments else None

    # -- conferences -----------------------------------------------------------------------------

    def open_conference(self, name: str) -> bool:
        """Make a conference live (needed in strict mode); False if it already was."""
        return self.core.open_conference(name)

    def close_conference(self, name: str) -> list[str]:
        """End a conference: its recordings end now (their callbacks follow), and starting or
        stopping a recording of it gets 404 until it is opened again. Returns the ids ended."""
        return [r.recording_id for r in self.core.close_conference(name)]

    # -- what happened ---------------------------------------------------------------------------

    def ground_truth(self, *, details: bool = True) -> dict[str, Any]:
        """Everything the sandbox did: recordings started and ended (by reason), transcription
        outcomes, and per kind of callback how many were planned, dropped, delayed, duplicated,
        attempted, delivered, given up and pending; with ``details``, one record per recording and
        per callback (every delivery attempt with its nonce, time and status)."""
        return self.core.ground_truth(details=details)

    def wait_idle(self, timeout: float = 30.0, *, recordings: bool = False) -> bool:
        """Block until no callback is due or in flight; False after ``timeout`` seconds.

        With a scaled clock, "due" includes every callback already planned (time will reach
        it), so this waits for the transcriptions of stopped recordings too. With a manual clock
        only what is due by now counts. ``recordings=True`` also waits until no recording is
        still running (with a scaled clock they end by their simulated durations).
        """
        core = self.core
        manual = isinstance(self.clock, ManualClock)

        def done() -> bool:
            core.settle()
            if recordings:
                next_end = core.state.next_planned_end()
                if next_end is not None and (not manual or next_end <= self.clock.now_ms()):
                    return False
            return core.dispatcher.idle()

        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if core.dispatcher.wait(done, max(0.0, min(remaining, 0.25))):
                return True
            if remaining <= 0:
                return False

    def __repr__(self) -> str:
        where = self.base_url if self.running else "stopped"
        mode = "strict" if self.config.strict else "demo"
        return (f"<Sandbox {where} auth_id={self.auth_id} seed={self.config.seed}"
                f" clock={self.clock!r} mode={mode} faults={self.config.faults.describe()}>")
