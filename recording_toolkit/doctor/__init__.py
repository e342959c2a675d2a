"""Preflight: the checks that catch the usual first-hour failures of a real account.

:func:`preflight` (and ``recording-toolkit doctor``) runs, in order:

==================  ==========================================================================
``credentials``     one authenticated ``GET /v1/Account/{auth_id}/``: accepted or refused, and
                    whose (main account, or sub-account and its parent) (:mod:`._account`)
``clock``           this machine's clock against that answer's ``Date`` header
``callback path``   with a public URL: a signed test callback through tunnel / proxy to the
                    receiver, which verifies and stores it; on a refused signature, the URL
                    the receiver verified against versus the one signed (:mod:`._callback`)
``log folder``      writable, fsync works, free space, a filesystem that keeps fsync'd data
                    (:mod:`._storage`)
``rate card``       the rate card file and ``RECORDING_TOOLKIT_RATE_*`` variables
``journal``         the request journal, when one is given (:mod:`._settings`)
==================  ==========================================================================

Findings about the set-up are checks, never exceptions: a preflight reports everything it can
in one run. Only options that are not well-formed (a public URL that is not a URL, a timeout
that is not a number of seconds) raise :class:`~recording_toolkit.errors.ConfigurationError`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

import httpx

from ..config import AUTH_ID_PATTERN, resolve_base_url, resolve_data_dir
from ..errors import ConfigurationError
from ..receiver import normalise_public_url
from ._account import ask_account, check_clock, check_credentials
from ._callback import check_callback_path, url_differences
from ._result import STATUSES, CheckResult, PreflightResult, Status
from ._settings import check_journal, check_rate_card
from ._storage import DEFAULT_MIN_FREE_BYTES, check_log_folder

__all__ = [
    "DEFAULT_MIN_FREE_BYTES",
    "STATUSES",
    "CheckResult",
    "PreflightResult",
    "Status",
    "preflight",
    "url_differences",
]


def _names(flags: Mapping[str, str] | None, name: str) -> str:
    return (flags or {}).get(name, name)


def preflight(*, public_url: str | None = None, log_dir: str | os.PathLike[str] | None = None,
              auth_id: str | None = None, auth_token: str | None = None,
              base_url: str | None = None, rates: str | os.PathLike[str] | None = None,
              journal: str | os.PathLike[str] | None = None, timeout: float = 10.0,
              min_free_bytes: int = DEFAULT_MIN_FREE_BYTES,
              environ: Mapping[str, str] | None = None,
              transport: httpx.BaseTransport | None = None,
              flags: Mapping[str, str] | None = None) -> PreflightResult:
    """Check that this machine is ready for a real Plivo account; see the module docstring.

    Parameters
    ----------
    public_url
        The base URL Plivo calls (what ``recording-toolkit receive --public-url`` is given);
        with it, a signed test callback goes to ``{public_url}/callbacks/recording``. None
        skips that check.
    log_dir
        The callback log folder (default: ``$RECORDING_TOOLKIT_DATA_DIR/callbacks``, else
        ``./recording_data/callbacks``, as ``receive``).
    auth_id, auth_token, base_url
        Default ``PLIVO_AUTH_ID``, ``PLIVO_AUTH_TOKEN``, ``PLIVO_API_BASE_URL`` (else Plivo's).
    rates, journal
        A rate card TOML file and a request journal path to check, as ``report --rates`` and
        ``start --journal`` would use them.
    timeout
        Seconds each HTTP request may take.
    min_free_bytes
        Free space in the log's file system under which the log folder check warns.
    environ
        The environment to read (default :data:`os.environ`).
    transport, flags
        An httpx transport for every request (tests); the command-line flag naming each
        parameter in errors.

    Returns
    -------
    PreflightResult
        ``ok`` when no check failed; one line per check when printed, a table in a notebook.
    """
    env = os.environ if environ is None else environ
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not (
            math.isfinite(timeout) and timeout > 0):
        raise ConfigurationError(f"{_names(flags, 'timeout')}: {timeout!r} is not a number of"
                                 " seconds (more than 0)")
    public = normalise_public_url(public_url, _names(flags, "public_url"))
    try:
        base = resolve_base_url(base_url, environ=env)
    except ConfigurationError as exc:
        raise ConfigurationError(str(exc).replace("base_url", _names(flags, "base_url"), 1)
                                 ) from None
    if log_dir is not None and os.fspath(log_dir) == "":
        raise ConfigurationError(f"{_names(flags, 'log_dir')}: empty; give a folder")
    folder = log_dir if log_dir is not None else resolve_data_dir(environ=env) / "callbacks"
    given_id = auth_id
    the_id = auth_id if auth_id is not None else env.get("PLIVO_AUTH_ID")
    token = auth_token if auth_token is not None else env.get("PLIVO_AUTH_TOKEN")
    answer = None
    if the_id and token and AUTH_ID_PATTERN.match(the_id):
        answer = ask_account(base, the_id, token, timeout=timeout, transport=transport)
    checks: list[CheckResult] = [
        check_credentials(the_id, token, auth_id_given=given_id is not None,
                          auth_id_flag=(flags or {}).get("auth_id"), answer=answer,
                          base_url=base),
        check_clock(answer),
        check_callback_path(public, token, timeout=timeout, transport=transport),
        check_log_folder(folder, min_free_bytes=min_free_bytes),
        check_rate_card(rates, env),
        check_journal(journal, option=_names(flags, "journal")),
    ]
    return PreflightResult(tuple(checks))
