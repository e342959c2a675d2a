"""The callback receiver: an ASGI app that verifies, normalises and durably logs Plivo callbacks.

Routes:

======================================  ====================================================
``POST|GET /callbacks/recording``       recording callbacks (``callback_method`` may be GET)
``POST /callbacks/transcription``       transcription callbacks (Plivo always POSTs them)
``GET /healthz``                        liveness, with the counts
======================================  ====================================================

What each request gets, in the order it is checked (no input ever gets a 500):

- **413** the body is over 1 MiB (enforced while reading; Content-Length is not trusted);
  recorded in ``_rejected/``.
- **408** the body did not arrive within ``body_timeout`` seconds (default 15) of the headers:
  the connection is closed, the attempt recorded in ``_rejected/``; nothing goes into the log.
  A client that sends its headers and part of a body, then waits, would otherwise hold its
  connection (and a file descriptor) for as long as it likes.
- **403** the V3 signature is missing, has no nonce or does not match; nothing goes into the log,
  the attempt (headers without signature values, body length, reason) goes into ``_rejected/``.
- **400** the payload cannot be used (unparseable body, no ``recording_id``, fields of the other
  kind, a field given twice with different values...): the reason is in the answer and the raw
  request is kept in ``_quarantine/``.
- **200** ``{"status": "stored"}`` once the line is fsync'd, or ``{"status": "duplicate"}`` for
  a callback already in the log (Plivo retries).
- **503** the log could not be written (disk full...): nothing acknowledged, the sender retries.
- 404 unknown path, 405 wrong method.

The server in front of the app (:class:`CallbackReceiver`, ``recording-toolkit receive``) also
serves at most ``max_connections`` connections at once, so open sockets stay well under the
process's open-file limit: when one more opens, the connection stuck longest on its headers or
body is closed to make room (only when none is stuck is the newcomer answered 503, which Plivo
does not retry by default); and it closes a connection that sends no complete request headers
within ``body_timeout`` (see :class:`~recording_toolkit.server.GuardedServer`).

The signature is checked against the URL Plivo called: ``public_url`` (the base URL under which
Plivo reaches this app, e.g. ``https://callbacks.example.com``) plus the route and the request's
query. Without ``public_url`` the URL is rebuilt from the request (its ``Host`` header, or, with
``trust_forwarded=True`` behind a proxy you control, ``X-Forwarded-Proto`` / ``X-Forwarded-Host``).

Where each part lives: ``_settings`` (routes, limits and the checks of every option),
``_requests`` (reading a body within its limits, parsing the fields, the answers sent),
``_app`` (the ASGI app: what each request leads to, and the counts) and ``_background``
(:class:`CallbackReceiver`, the app under uvicorn in a background thread).
"""

from __future__ import annotations

from ._app import ReceiverApp, ReceiverCounts, create_receiver_app
from ._background import CallbackReceiver
from ._settings import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    MAX_BODY_BYTES,
    RECORDING_PATH,
    TRANSCRIPTION_PATH,
    check_body_timeout,
    check_max_connections,
    default_max_connections,
    normalise_public_url,
    require_auth_tokens,
    resolve_auth_tokens,
    resolve_max_connections,
)

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_MAX_CONNECTIONS",
    "MAX_BODY_BYTES",
    "RECORDING_PATH",
    "TRANSCRIPTION_PATH",
    "CallbackReceiver",
    "ReceiverApp",
    "ReceiverCounts",
    "check_body_timeout",
    "check_max_connections",
    "create_receiver_app",
    "default_max_connections",
    "normalise_public_url",
    "require_auth_tokens",
    "resolve_auth_tokens",
    "resolve_max_connections",
]
