"""The receiver for notebooks: the app under uvicorn in a background thread, with its log.

``recording-toolkit receive`` (:mod:`recording_toolkit.commands.receive`) serves the same app
in the foreground; this is its counterpart for code that keeps running while callbacks arrive.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from ..callback_log import CallbackLog
from ..server import BackgroundServer, BackgroundService
from ._app import ReceiverCounts, create_receiver_app
from ._settings import (
    DEFAULT_BODY_TIMEOUT,
    RECORDING_PATH,
    TRANSCRIPTION_PATH,
    check_body_timeout,
    normalise_public_url,
    require_auth_tokens,
    resolve_max_connections,
)

__all__ = ["CallbackReceiver"]


class CallbackReceiver(BackgroundService):
    """The receiver for notebooks: the app under uvicorn in a background thread.

    Parameters
    ----------
    log_dir
        The callback log folder (see :class:`~recording_toolkit.callback_log.CallbackLog`).
    auth_token
        The token(s) Plivo signs callbacks with: text (comma-separated for several), a list, or
        None to read ``PLIVO_AUTH_TOKEN`` from ``environ``.
    main_account_token
        Token(s) for ``X-Plivo-Signature-Ma-V3`` when it differs (sub-accounts).
    public_url
        The base URL Plivo calls (a tunnel or proxy in front of this machine). None: the
        receiver's own loopback URL, which is what it then hands out and verifies against.
    verify
        Check V3 signatures (default). False accepts unsigned callbacks, marked unverified.
    host, port
        Where to listen; default 127.0.0.1 and a free port.
    trust_forwarded
        With no ``public_url``, rebuild the URL from ``X-Forwarded-Proto`` / ``-Host``.
    instance_id, environ, log_level
        File-name id for the log; the environment to read the token from; uvicorn's log level.
    body_timeout
        Seconds a request's body may take once its headers are in (default 15); a sender that
        stalls longer gets 408 and its connection is closed. A connection that sends no
        complete request headers for as long (since it opened, or since its last answer) is
        closed too.
    max_connections
        Connections served at once (default :func:`default_max_connections`: 500, or half the
        open-file limit when that is lower). When one more opens, the connection stuck longest
        on its headers or body is closed to make room; if none is stuck, the newcomer gets 503.
    clock
        What stamps ``received_at`` (a callable returning an aware UTC datetime); default the
        wall clock. Against a :class:`~recording_toolkit.sandbox.Sandbox` pass ``sandbox.now``:
        its recordings carry sandbox time, and turnaround (``received_at`` minus the recording's
        end) is only meaningful on the same clock.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with CallbackReceiver(folder, auth_token="token") as receiver:
    ...         receiver.recording_callback_url.endswith("/callbacks/recording")
    True
    """

    what = "receiver"

    def __init__(
        self,
        log_dir: str | os.PathLike[str],
        *,
        auth_token: str | Sequence[str] | None = None,
        main_account_token: str | Sequence[str] | None = None,
        public_url: str | None = None,
        verify: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        trust_forwarded: bool = False,
        instance_id: str | None = None,
        environ: Mapping[str, str] | None = None,
        log_level: str = "warning",
        clock: Callable[[], datetime] | None = None,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        max_connections: int | None = None,
    ) -> None:
        self.log_dir = log_dir
        self._clock = clock
        self._tokens = require_auth_tokens(auth_token, verify=verify, environ=environ)
        self._ma_tokens = main_account_token
        self._public_url = normalise_public_url(public_url)
        self.body_timeout = check_body_timeout(body_timeout)
        self.max_connections = resolve_max_connections(max_connections)
        self.verify = verify
        self.host = host
        self.port = port
        self.trust_forwarded = trust_forwarded
        self.instance_id = instance_id
        self._log_level = log_level
        self.counts_tracker = ReceiverCounts()
        self.log: CallbackLog | None = None
        self._server: BackgroundServer | None = None

    # -- lifecycle --

    def _serve(self) -> BackgroundServer:
        """Open the log and start serving (:meth:`start`)."""
        log = CallbackLog(self.log_dir, instance_id=self.instance_id, clock=self._clock)
        try:
            app = create_receiver_app(log, auth_tokens=self._tokens,
                                      main_account_tokens=self._ma_tokens,
                                      public_url=self._public_url,
                                      trust_forwarded=self.trust_forwarded, verify=self.verify,
                                      counts=self.counts_tracker,
                                      body_timeout=self.body_timeout)
            server = BackgroundServer(app, host=self.host, port=self.port,
                                      log_level=self._log_level, name="callback receiver",
                                      request_timeout=self.body_timeout,
                                      max_connections=self.max_connections)
            server.start()
        except BaseException:
            log.close()
            raise
        if self._public_url is None:
            # Hand out and verify against the loopback URL itself (known once bound).
            app.state.settings.public_url = server.url
        self.log = log
        return server

    def stop(self) -> None:
        """Stop serving (in-flight requests finish), then flush and close the log."""
        super().stop()
        if self.log is not None:
            self.log.close()

    # -- addresses --

    @property
    def url(self) -> str:
        """The loopback URL the server listens on (``http://127.0.0.1:PORT``)."""
        return self._server_url()

    @property
    def public_url(self) -> str:
        """The base URL handed out in callback URLs: ``public_url``, else :attr:`url`."""
        return self._public_url or self.url

    @property
    def recording_callback_url(self) -> str:
        """Give this to ``start_recording(callback_url=...)``."""
        return self.public_url + RECORDING_PATH

    @property
    def transcription_callback_url(self) -> str:
        """Give this to ``start_recording(transcription_url=...)``."""
        return self.public_url + TRANSCRIPTION_PATH

    # -- progress --

    @property
    def counts(self) -> dict[str, int]:
        """``recording``, ``transcription`` (stored), ``duplicates``, ``rejected``, ``malformed``."""
        return self.counts_tracker.snapshot()

    def wait_for(self, *, recordings: int = 0, transcriptions: int = 0, timeout: float = 60,
                 progress: bool = False) -> bool:
        """Block until at least this many callbacks were stored; False on timeout.

        With ``progress=True`` a ``tqdm.auto`` bar counts them.
        """
        target = recordings + transcriptions
        deadline = time.monotonic() + timeout
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=target, desc="callbacks", unit="cb")
        try:
            counts = self.counts
            while True:
                got = min(counts["recording"], recordings) + min(counts["transcription"],
                                                                 transcriptions)
                if bar is not None and got > bar.n:
                    bar.update(got - bar.n)
                if counts["recording"] >= recordings and counts["transcription"] >= transcriptions:
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                counts = self.counts_tracker.wait(min(remaining, 0.5))
        finally:
            if bar is not None:
                bar.close()

    def __repr__(self) -> str:
        state = self.url if self.running else "stopped"
        return (f"<CallbackReceiver {state} log_dir={os.fspath(self.log_dir)!r}"
                f" verify={self.verify} tokens={len(self._tokens)} counts={self.counts}>")


