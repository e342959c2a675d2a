"""Settings: credentials, the API base URL, the data folder and the rate card.

Everything that can come from the environment takes an injectable ``environ`` mapping (default
:data:`os.environ`), so tests and notebooks never need to patch the process environment.
Tokens are held in :class:`Credentials`, whose ``repr`` never shows them.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import ConfigurationError

__all__ = [
    "AUTH_ID_PATTERN",
    "DEFAULT_BASE_URL",
    "Credentials",
    "RateCard",
    "missing_credential",
    "resolve_base_url",
    "resolve_credentials",
    "resolve_data_dir",
]

DEFAULT_BASE_URL = "https://api.plivo.com"
#: Main accounts start with MA, sub-accounts with SA, then 18 upper-case letters or digits.
AUTH_ID_PATTERN = re.compile(r"^(MA|SA)[A-Z0-9]{18}$")


@dataclass(frozen=True)
class Credentials:
    """An auth id and its token. The token is never shown by ``repr`` or ``str``."""

    auth_id: str
    auth_token: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(auth_id={self.auth_id!r}, auth_token='***')"

    __str__ = __repr__


#: The environment variable each credential falls back to.
_VARIABLES = {"auth_id": "PLIVO_AUTH_ID", "auth_token": "PLIVO_AUTH_TOKEN"}


def missing_credential(name: str, *, flags: Mapping[str, str | None] | None = None,
                       otherwise: str | None = None) -> ConfigurationError:
    """The error for a credential given neither directly nor in its environment variable.

    It is worded for whoever has to fix it. ``flags=None``: a Python caller, told the parameter
    (``auth_id: missing; pass auth_id=... or set the PLIVO_AUTH_ID environment variable``). A
    mapping: a command-line user, told the flag that takes ``name`` (``--auth-id: missing; pass
    --auth-id or set PLIVO_AUTH_ID``), or, where ``flags[name]`` is None or absent (the token
    has no flag on most commands, so it never shows in the process list), only the variable.
    ``otherwise`` is another way out, in the same words (``--no-verify to accept unsigned
    callbacks``).

    Examples
    --------
    >>> str(missing_credential("auth_id"))
    'auth_id: missing; pass auth_id=... or set the PLIVO_AUTH_ID environment variable'
    >>> str(missing_credential("auth_id", flags={"auth_id": "--auth-id"}))
    '--auth-id: missing; pass --auth-id or set PLIVO_AUTH_ID'
    >>> str(missing_credential("auth_token", flags={"auth_id": "--auth-id"}))
    'PLIVO_AUTH_TOKEN: missing; set PLIVO_AUTH_TOKEN (no flag takes it: it would show in the process list)'
    """
    variable = _VARIABLES[name]
    if flags is None:
        message = f"{name}: missing; pass {name}=... or set the {variable} environment variable"
    elif flags.get(name):
        message = f"{flags[name]}: missing; pass {flags[name]} or set {variable}"
    else:
        message = (f"{variable}: missing; set {variable} (no flag takes it: it would show in the"
                   " process list)")
    return ConfigurationError(message if otherwise is None else f"{message} (or {otherwise})")


def resolve_credentials(
    auth_id: str | None = None,
    auth_token: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, str | None] | None = None,
) -> Credentials:
    """Credentials from the arguments, else ``PLIVO_AUTH_ID`` / ``PLIVO_AUTH_TOKEN``.

    Raises :class:`ConfigurationError` naming what is missing or malformed; the message never
    contains the token. It names the parameters (``auth_id``) unless a command line passes
    ``flags``, its flag for each credential (:func:`missing_credential`); then a malformed id is
    named by where it came from, its flag or ``PLIVO_AUTH_ID``.
    """
    env = os.environ if environ is None else environ
    given = auth_id
    auth_id = auth_id if auth_id is not None else env.get(_VARIABLES["auth_id"])
    auth_token = auth_token if auth_token is not None else env.get(_VARIABLES["auth_token"])
    if not auth_id:
        raise missing_credential("auth_id", flags=flags)
    auth_id = auth_id.strip()
    if not AUTH_ID_PATTERN.match(auth_id):
        if flags is None:
            where = "auth_id"
        elif given is None:
            where = _VARIABLES["auth_id"]
        else:
            where = flags.get("auth_id") or "auth_id"
        raise ConfigurationError(
            f"{where}: {auth_id!r} is not a Plivo auth id (expected 'MA' or 'SA' followed by 18"
            " upper-case letters or digits, 20 characters in all)"
        )
    if not auth_token:
        raise missing_credential("auth_token", flags=flags)
    return Credentials(auth_id=auth_id, auth_token=auth_token)


def resolve_base_url(base_url: str | None = None, *, environ: Mapping[str, str] | None = None) -> str:
    """The API base URL: the argument, else ``PLIVO_API_BASE_URL``, else Plivo's own.

    The environment variable lets one notebook target the sandbox or Plivo unchanged.
    """
    env = os.environ if environ is None else environ
    url = base_url or env.get("PLIVO_API_BASE_URL") or DEFAULT_BASE_URL
    if not re.match(r"^https?://[^/\s]+", url):
        raise ConfigurationError(f"base_url: {url!r} is not an absolute http(s) URL")
    return url.rstrip("/")


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None, *,
                     environ: Mapping[str, str] | None = None) -> Path:
    """Where logs and journals live: the argument, else ``RECORDING_TOOLKIT_DATA_DIR``, else
    ``./recording_data``."""
    env = os.environ if environ is None else environ
    return Path(data_dir or env.get("RECORDING_TOOLKIT_DATA_DIR") or "recording_data")


@dataclass(frozen=True)
class RateCard:
    """Prices the toolkit assumes when it projects or audits costs.

    Plivo publishes transcription prices only on its pricing page, so these defaults are
    *assumptions*, not facts: the official SDK's fixture shows 0.05 per minute, and Plivo's
    storage example uses 0.0004 per rounded minute per month after 90 free days. Override them in
    code, with ``RECORDING_TOOLKIT_RATE_*`` environment variables, a TOML file or CLI flags.

    Attributes
    ----------
    transcription_per_minute
        Price of one billed transcription minute (whole minutes rounded up, at least one).
    storage_per_minute_month
        Price of one rounded recording minute stored for a month, after the free period.
    free_storage_days
        Days a recording is stored for free.
    currency
        Label only; no conversion is done.
    """

    transcription_per_minute: float = 0.05
    storage_per_minute_month: float = 0.0004
    free_storage_days: int = 90
    currency: str = "USD"

    def __post_init__(self) -> None:
        for name in ("transcription_per_minute", "storage_per_minute_month"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ConfigurationError(f"rate card {name}: {value!r} is not a price >= 0")
        if not isinstance(self.free_storage_days, int) or self.free_storage_days < 0:
            raise ConfigurationError(
                f"rate card free_storage_days: {self.free_storage_days!r} is not a whole number >= 0"
            )

    _ENV_PREFIX = "RECORDING_TOOLKIT_RATE_"

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, source: str = "mapping") -> RateCard:
        """A rate card from a mapping of field names to values; unknown keys are an error."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigurationError(
                f"rate card ({source}): unknown key(s) {unknown}; known: {sorted(known)}"
            )
        converted: dict[str, Any] = {}
        for key, value in values.items():
            kind = {"free_storage_days": int, "currency": str}.get(key, float)
            try:
                converted[key] = kind(value)
            except (TypeError, ValueError):
                raise ConfigurationError(
                    f"rate card ({source}) {key}: {value!r} is not a {kind.__name__}"
                ) from None
        return cls(**converted)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, base: RateCard | None = None
                 ) -> RateCard:
        """``base`` (default: the defaults) overridden by ``RECORDING_TOOLKIT_RATE_<FIELD>``."""
        env = os.environ if environ is None else environ
        picked = {
            key[len(cls._ENV_PREFIX):].lower(): value
            for key, value in env.items()
            if key.startswith(cls._ENV_PREFIX)
        }
        card = base or cls()
        if not picked:
            return card
        parsed = cls.from_mapping(picked, source="environment")
        return card.updated(**parsed.as_dict(only=picked))

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> RateCard:
        """A rate card from a TOML file: top-level keys, or a ``[rates]`` table."""
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigurationError(f"rate card file {os.fspath(path)!r} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"rate card file {os.fspath(path)!r}: {exc}") from None
        table = data.get("rates", data)
        return cls.from_mapping(table, source=os.fspath(path))

    @classmethod
    def resolve(cls, *, path: str | os.PathLike[str] | None = None,
                environ: Mapping[str, str] | None = None, **overrides: Any) -> RateCard:
        """Defaults, then a TOML file, then the environment, then explicit overrides (None = unset)."""
        card = cls.from_toml(path) if path is not None else cls()
        card = cls.from_env(environ, base=card)
        given = {k: v for k, v in overrides.items() if v is not None}
        return card.updated(**given) if given else card

    def updated(self, **changes: Any) -> RateCard:
        """A copy with some fields changed (validated like a new card)."""
        return replace(self, **changes)

    def as_dict(self, only: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Plain-data twin (for JSON summaries); ``only`` limits it to those keys."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        return {k: v for k, v in data.items() if only is None or k in only}
