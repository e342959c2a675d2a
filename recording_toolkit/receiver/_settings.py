"""The receiver's settings and the checks of its options: routes, limits, tokens, public URL.

Each check raises one :class:`~recording_toolkit.errors.ConfigurationError` naming the option
(the parameter, or the command-line flag that gave it), so the app, :class:`CallbackReceiver`
and ``recording-toolkit receive`` refuse bad options with the same words before anything is
bound or written.
"""

from __future__ import annotations

import math
import os
import resource
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..config import missing_credential
from ..errors import ConfigurationError

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_MAX_CONNECTIONS",
    "HEALTH_PATH",
    "MAX_BODY_BYTES",
    "RECORDING_PATH",
    "TRANSCRIPTION_PATH",
    "ReceiverSettings",
    "check_body_timeout",
    "check_max_connections",
    "default_max_connections",
    "normalise_public_url",
    "open_file_limit",
    "require_auth_tokens",
    "resolve_auth_tokens",
    "resolve_max_connections",
]

RECORDING_PATH = "/callbacks/recording"
TRANSCRIPTION_PATH = "/callbacks/transcription"
HEALTH_PATH = "/healthz"
#: Largest request body accepted (1 MiB); Plivo's callbacks are a few hundred bytes.
MAX_BODY_BYTES = 1024 * 1024
#: Seconds a request's body may take to arrive once its headers are in. Plivo's callbacks are a
#: few hundred bytes and arrive in milliseconds; the limit only ends stalled senders.
DEFAULT_BODY_TIMEOUT = 15.0
#: Connections served at once by default (lower when the open-file limit is: see
#: :func:`default_max_connections`).
DEFAULT_MAX_CONNECTIONS = 500
# file descriptors kept free for everything but client sockets: the listening socket, the log's
# files and lock, standard streams, the event loop's own
_RESERVED_FDS = 32


@dataclass
class ReceiverSettings:
    """What the app checks requests against (no token ever shown in its repr)."""

    auth_tokens: tuple[str, ...]
    main_account_tokens: tuple[str, ...] | None
    public_url: str | None
    trust_forwarded: bool
    verify: bool
    max_body_bytes: int = MAX_BODY_BYTES
    body_timeout: float = DEFAULT_BODY_TIMEOUT

    def __repr__(self) -> str:
        return (f"ReceiverSettings(tokens={len(self.auth_tokens)}, public_url={self.public_url!r},"
                f" trust_forwarded={self.trust_forwarded}, verify={self.verify},"
                f" body_timeout={self.body_timeout:g})")


def resolve_auth_tokens(auth_token: str | Sequence[str] | None, *,
                        environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The token(s) to verify with: the argument, else ``PLIVO_AUTH_TOKEN``.

    A comma-separated value (argument or environment) gives several tokens, for rotation.

    Examples
    --------
    >>> resolve_auth_tokens(None, environ={"PLIVO_AUTH_TOKEN": "old,new"})
    ('old', 'new')
    """
    env = os.environ if environ is None else environ
    given: Sequence[str]
    if auth_token is None:
        given = [env.get("PLIVO_AUTH_TOKEN", "")]
    elif isinstance(auth_token, str):
        given = [auth_token]
    else:
        given = list(auth_token)
    tokens: list[str] = []
    for value in given:
        if not isinstance(value, str):
            raise ConfigurationError(f"auth_token: expected text, got {type(value).__name__}")
        tokens.extend(part.strip() for part in value.split(",") if part.strip())
    return tuple(tokens)


def require_auth_tokens(auth_token: str | Sequence[str] | None, *, verify: bool,
                        environ: Mapping[str, str] | None = None,
                        flags: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """:func:`resolve_auth_tokens`, refusing to verify with none.

    The error is :func:`~recording_toolkit.config.missing_credential`'s, with the way out of
    verifying: ``flags=None`` words it for a Python caller (``verify=False``), a mapping for a
    command-line user (its ``"auth_token"`` and ``"verify"`` flags).

    Examples
    --------
    >>> require_auth_tokens(None, verify=True, environ={"PLIVO_AUTH_TOKEN": "token"})
    ('token',)
    >>> require_auth_tokens(None, verify=False, environ={})
    ()
    """
    tokens = resolve_auth_tokens(auth_token, environ=environ)
    if verify and not tokens:
        off = "verify=False" if flags is None else flags.get("verify", "verify=False")
        raise missing_credential("auth_token", flags=flags,
                                 otherwise=f"{off} to accept unsigned callbacks")
    return tokens


def open_file_limit() -> int | None:
    """The process's soft limit on open files; None when unlimited."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft


def default_max_connections() -> int:
    """:data:`DEFAULT_MAX_CONNECTIONS`, or half the open-file limit when that is lower.

    Every connection holds a file descriptor; past the limit ``accept()`` fails and the log may
    not be able to open its next file, so a flood of idle sockets must be refused well before.
    """
    limit = open_file_limit()
    if limit is None:
        return DEFAULT_MAX_CONNECTIONS
    return max(1, min(DEFAULT_MAX_CONNECTIONS, limit // 2))


def check_body_timeout(value: Any, name: str = "body_timeout") -> float:
    """``value`` as seconds, or a :class:`ConfigurationError` naming ``name`` (the parameter, or
    the command-line flag)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            math.isfinite(value) and 0 < value <= 3600):
        raise ConfigurationError(f"{name}: {value!r} is not a number of seconds (more than 0, at"
                                 " most 3600)")
    return float(value)


def check_max_connections(value: Any, name: str = "max_connections") -> int:
    """``value`` as a connection count the open-file limit can hold, or a
    :class:`ConfigurationError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{name}: {value!r} is not a whole number of connections (1 or"
                                 " more)")
    limit = open_file_limit()
    if limit is not None and value > limit - _RESERVED_FDS:
        raise ConfigurationError(
            f"{name}: {value} connections need more file descriptors than this process may open"
            f" ({limit}, see 'ulimit -n'); give at most {max(1, limit - _RESERVED_FDS)} or raise"
            " the limit"
        )
    return value


def resolve_max_connections(value: Any, name: str = "max_connections") -> int:
    """``value`` checked by :func:`check_max_connections`; None is
    :func:`default_max_connections`."""
    return check_max_connections(default_max_connections() if value is None else value, name)


def normalise_public_url(public_url: str | None, name: str = "public_url") -> str | None:
    """The base URL Plivo calls, without a trailing slash; a :class:`ConfigurationError` naming
    ``name`` (the parameter, or the command-line flag) when it is not one."""
    if public_url is None:
        return None
    try:
        parts = urlsplit(public_url)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except (ValueError, TypeError):
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"{name}: {public_url!r} is not an absolute http(s) URL (the base URL Plivo calls,"
            " e.g. 'https://callbacks.example.com')"
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(
            f"{name}: {public_url!r} must be a base URL without '?query' or '#fragment'; add"
            " those to the callback URLs you give Plivo instead"
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"

