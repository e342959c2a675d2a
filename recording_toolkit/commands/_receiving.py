"""How ``recording-toolkit receive`` serves: one process, or several worker processes on one port.

With ``--workers N`` the command binds N sockets to the same port with ``SO_REUSEPORT`` and
starts one process per socket, so the kernel spreads new connections over them and each
process's event loop and log writer get a core of their own. Every worker writes its own log
files (its own instance id, so lines of two processes never share a file) and
``load_callbacks(log_dir)`` reads them all. A worker knows only the callbacks on disk when it
started and those it stored itself: a redelivery that reaches another worker is written a
second time, and the loader keeps one of the two, as it does for any redelivery.

The command's own process only supervises: it prints the banner once every worker serves,
passes Ctrl-C or SIGTERM on as SIGTERM (each worker lets its requests in flight finish and
closes its log), and adds up what the workers stored. A worker that dies stops the others and
the command exits 1, so whatever supervises the command (systemd, a container) restarts it.

Like the command modules, this imports only the standard library at import time.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from socket import socket
from typing import Any

__all__ = ["ServeOptions", "serve", "serve_workers", "worker_main"]

#: Seconds every worker has to open its log (rebuilding its index from the files already
#: there) and start serving.
START_TIMEOUT = 120.0
#: Seconds a worker has to finish once told to stop, past its body timeout; then it is killed.
STOP_GRACE = 30.0
_COUNT_NAMES = ("recording", "transcription", "duplicates", "rejected", "malformed")


@dataclass(frozen=True)
class ServeOptions:
    """Everything a serving process needs, checked by the command before anything starts.

    Plain values only: a worker process gets its copy through a pipe, never its command line
    (the tokens stay out of the process list). No token is shown in its repr.
    """

    log_dir: str
    log_dir_option: str
    instance_id: str | None
    tokens: tuple[str, ...]
    ma_tokens: tuple[str, ...] | None
    public_url: str | None
    trust_forwarded: bool
    verify: bool
    body_timeout: float
    max_connections: int
    log_level: str

    def __repr__(self) -> str:
        return (f"ServeOptions(log_dir={self.log_dir!r}, instance_id={self.instance_id!r},"
                f" tokens={len(self.tokens)}, public_url={self.public_url!r},"
                f" verify={self.verify})")

    def for_worker(self, number: int) -> ServeOptions:
        """The options of worker ``number`` (1, 2, ...): a given instance id gets ``-N``."""
        if self.instance_id is None:
            return self  # the default id holds the worker's own pid
        return dataclasses.replace(self, instance_id=f"{self.instance_id}-{number}")


def serve(options: ServeOptions, sock: socket, *,
          on_ready: Callable[[str], None]) -> tuple[str | None, dict[str, int]]:
    """Open the log and serve on ``sock`` until Ctrl-C or SIGTERM; then let requests in flight
    finish and close the log. ``on_ready(instance_id)`` is called once serving. Returns the
    signal that stopped it and the counts of what it answered."""
    import uvicorn

    from ..callback_log import CallbackLog
    from ..errors import ConfigurationError
    from ..receiver import create_receiver_app
    from ..server import ForegroundServer

    log = None
    try:
        try:
            log = CallbackLog(options.log_dir, instance_id=options.instance_id)
        except ConfigurationError as exc:  # the folder changed since it was checked
            text = str(exc)
            if not text.startswith("log_dir: "):
                raise
            raise ConfigurationError(
                f"{options.log_dir_option}: {text[len('log_dir: '):]}") from None
        app = create_receiver_app(log, auth_tokens=options.tokens,
                                  main_account_tokens=options.ma_tokens,
                                  public_url=options.public_url,
                                  trust_forwarded=options.trust_forwarded,
                                  verify=options.verify, body_timeout=options.body_timeout)
        instance_id = log.instance_id
        config = uvicorn.Config(app, log_level=options.log_level, access_log=False,
                                lifespan="off")
        server = ForegroundServer(config, on_ready=lambda: on_ready(instance_id),
                                  request_timeout=options.body_timeout,
                                  max_connections=options.max_connections)
        server.run(sockets=[sock])
        return server.stopped_by, app.state.counts.snapshot()
    finally:
        if log is not None:
            log.close()


def worker_main(options: ServeOptions, sock: socket, number: int, channel: Any) -> None:
    """A worker process: serve, telling the command on ``channel`` when it is ready (its
    instance id and pid), and at the end what it answered, or why it could not serve."""
    from ..errors import ConfigurationError, RecordingToolkitError

    serving = threading.Event()

    def stop_before_serving(sig: int, frame: Any) -> None:
        # Told to stop while opening the log: stop there (the log is closed on the way out).
        # Once serving, uvicorn handles the signals; afterwards the worker is already ending
        # and a late signal must not cut closing the log short.
        if not serving.is_set():
            raise SystemExit(0)

    # A Ctrl-C in the terminal reaches the workers too; the command passes it on as SIGTERM.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, stop_before_serving)

    def ready(instance_id: str) -> None:
        serving.set()
        channel.put(("ready", number, instance_id, os.getpid()))

    counts: dict[str, int] = {}
    try:
        _, counts = serve(options, sock, on_ready=ready)
    except SystemExit:
        pass  # stopped before it served: nothing was answered
    except RecordingToolkitError as exc:
        channel.put(("failed", number, str(exc), isinstance(exc, ConfigurationError)))
        raise SystemExit(1) from None
    except BaseException as exc:
        channel.put(("failed", number, f"{type(exc).__name__}: {exc}", False))
        raise
    finally:
        serving.set()
        sock.close()
    channel.put(("stopped", number, counts))


def serve_workers(options: ServeOptions, sockets: Sequence[socket], *,
                  on_ready: Callable[[list[str], list[int]], None]
                  ) -> tuple[str | None, dict[str, int]]:
    """Serve with one worker process per socket (all on one port) until Ctrl-C or SIGTERM.

    ``on_ready(instance_ids, pids)`` is called once every worker serves. Returns the signal
    that stopped them and the counts of every worker added up. A worker that cannot start or
    that dies stops the others; then a :class:`~recording_toolkit.errors.ConfigurationError`
    (a problem with the options or the folder) or
    :class:`~recording_toolkit.errors.RecordingToolkitError` says which and why.
    """
    import multiprocessing

    from ..errors import ConfigurationError, RecordingToolkitError

    if threading.current_thread() is not threading.main_thread():
        # only the main thread may catch Ctrl-C and SIGTERM, which it must pass on
        raise ConfigurationError("--workers: several processes are served from the main"
                                 " thread only; run the command there, or with one process")
    # spawn, not fork: the command may run inside a process with threads (tests, notebooks)
    context = multiprocessing.get_context("spawn")
    channel = context.Queue()
    stop = threading.Event()
    stopped_by: list[str] = []

    def handle(sig: int, frame: Any) -> None:
        stopped_by.append(signal.Signals(sig).name)
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    workers = [context.Process(target=worker_main, name=f"recording-toolkit-receive-{number}",
                               args=(options.for_worker(number), sock, number, channel))
               for number, sock in enumerate(sockets, start=1)]
    ready: dict[int, tuple[str, int]] = {}
    counts = dict.fromkeys(_COUNT_NAMES, 0)
    problem: tuple[str, bool] | None = None  # (what went wrong, whether it is about the options)

    def take(message: tuple[Any, ...]) -> None:
        nonlocal problem
        if message[0] == "ready":
            ready[message[1]] = (message[2], message[3])
        elif message[0] == "stopped":
            for name in _COUNT_NAMES:
                counts[name] += message[2].get(name, 0)
        elif message[0] == "failed" and problem is None:
            problem = (f"worker {message[1]}: {message[2]}", message[3])

    try:
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + START_TIMEOUT
        announced = False
        while problem is None and not stop.is_set():
            try:
                take(channel.get(timeout=0.2))
                continue
            except queue.Empty:
                pass
            dead = next((w for w in workers if not w.is_alive()), None)
            if dead is not None:
                _drain(channel, take)  # its own account of why, when it gave one
                if problem is None:
                    problem = (f"{dead.name} exited with code {dead.exitcode}", False)
            elif not announced and len(ready) < len(workers) and time.monotonic() > deadline:
                problem = (f"the workers did not all start within {START_TIMEOUT:g} s", False)
            if not announced and len(ready) == len(workers) and problem is None:
                announced = True
                on_ready([ready[n][0] for n in sorted(ready)], [ready[n][1] for n in sorted(ready)])
    finally:
        for worker in workers:
            if worker.is_alive() and worker.pid is not None:
                os.kill(worker.pid, signal.SIGTERM)
        deadline = time.monotonic() + options.body_timeout + STOP_GRACE
        # read what they report while they stop (a worker blocked on a full pipe never ends)
        while any(w.is_alive() for w in workers) and time.monotonic() < deadline:
            try:
                take(channel.get(timeout=0.2))
            except queue.Empty:
                pass
        for worker in workers:
            if worker.is_alive():
                worker.kill()
            worker.join(10)
        _drain(channel, take)
        channel.close()
        channel.join_thread()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if problem is not None:
        raise (ConfigurationError if problem[1] else RecordingToolkitError)(problem[0])
    return (stopped_by[0] if stopped_by else None), counts


def _drain(channel: Any, take: Callable[[tuple[Any, ...]], None]) -> None:
    """Hand ``take`` every message already sent (a process that ended has sent all of its)."""
    while True:
        try:
            take(channel.get(timeout=0.2))
        except queue.Empty:
            return
