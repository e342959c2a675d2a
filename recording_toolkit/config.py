"""Settings: credentials, the API base URL, the data folder and the rate card.

Everything that can come from the environment takes an injectable ``environ`` mapping (default
:data:`os.environ`), so tests and notebooks never need to patch the process environment.
Tokens are held in :class:`Credentials`, whose ``repr`` never shows them.
"""

from __future__ import annotations

import math
import numbers
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


#: What each rate card field must hold, as said in its error messages.
_RATE_EXPECTED = {
    "transcription_per_minute": "a price >= 0",
    "storage_per_minute_month": "a price >= 0",
    "free_storage_days": "a whole number of days >= 0",
    "currency": "a 3-letter currency code such as USD",
}
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")


def _rate_value(key: str, value: Any, *, text: bool) -> Any:
    """``value`` checked (and, from text, parsed) for rate card field ``key``; None if unusable.

    ``text``: the value comes from an environment variable, so a number may be written as text
    (``"0.05"``). Otherwise (Python, TOML, parsed flags) a number must be a number: ``"0.05"``
    or ``true`` in a TOML file is a mistake worth naming, not something to guess at.
    """
    if isinstance(value, bool):
        return None
    if key == "currency":
        if isinstance(value, str) and _CURRENCY.match(value.strip()):
            return value.strip().upper()
        return None
    if text and isinstance(value, str):
        try:
            value = int(value.strip()) if key == "free_storage_days" else float(value.strip())
        except ValueError:
            return None
    if key == "free_storage_days":
        return int(value) if isinstance(value, numbers.Integral) and int(value) >= 0 else None
    if isinstance(value, numbers.Real) and math.isfinite(value) and float(value) >= 0:
        return float(value)
    return None


def _rate_error(where: str, key: str, value: Any) -> str:
    """``--currency: '5x' is not a 3-letter currency code such as USD``."""
    return f"{where}: {value!r} is not {_RATE_EXPECTED[key]}"


@dataclass(frozen=True)
class RateCard:
    """Prices the toolkit assumes when it projects or audits costs.

    Plivo publishes transcription prices only on its pricing page, so these defaults are
    *assumptions*, not facts: the official SDK's fixture shows 0.05 per minute, and Plivo's
    storage example uses 0.0004 per rounded minute per month after 90 free days. Override them in
    code, with ``RECORDING_TOOLKIT_RATE_*`` environment variables, a TOML file or CLI flags.

    Every value is checked wherever it comes from, and an unusable one is refused with a
    :class:`ConfigurationError` naming where it came from (the file and key, the environment
    variable, the flag), the value, and what is expected: a price ``currency = 5`` or a
    negative price would otherwise flow into every cost figure.

    Attributes
    ----------
    transcription_per_minute
        Price of one billed transcription minute (whole minutes rounded up, at least one).
    storage_per_minute_month
        Price of one rounded recording minute stored for a month, after the free period.
    free_storage_days
        Days a recording is stored for free (a whole number).
    currency
        A 3-letter code (``usd`` is taken as ``USD``); a label only, no conversion is done.

    Examples
    --------
    >>> RateCard(currency="eur").currency
    'EUR'
    >>> RateCard(currency=5)
    Traceback (most recent call last):
    ...
    recording_toolkit.errors.ConfigurationError: rate card currency: 5 is not a 3-letter currency code such as USD
    """

    transcription_per_minute: float = 0.05
    storage_per_minute_month: float = 0.0004
    free_storage_days: int = 90
    currency: str = "USD"

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            checked = _rate_value(item.name, value, text=False)
            if checked is None:
                raise ConfigurationError(_rate_error(f"rate card {item.name}", item.name, value))
            object.__setattr__(self, item.name, checked)

    _ENV_PREFIX = "RECORDING_TOOLKIT_RATE_"

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, source: str = "mapping",
                     names: Mapping[str, str] | None = None, text: bool = False) -> RateCard:
        """A rate card from a mapping of field names to values; unknown keys are an error.

        Errors name a value ``rate card SOURCE: KEY``, or by ``names[KEY]`` when given (the
        environment variable or flag it came from). ``text``: the values may be numbers
        written as text (environment variables).
        """
        if not isinstance(values, Mapping):
            raise ConfigurationError(f"rate card {source}: expected a table of rates (keys"
                                     f" {', '.join(_RATE_EXPECTED)}), got {values!r}")
        unknown = sorted(set(values) - set(_RATE_EXPECTED))
        if unknown:
            shown = [names.get(k, k) if names else k for k in unknown]
            raise ConfigurationError(
                f"rate card {source}: unknown key(s) {shown}; known: {sorted(_RATE_EXPECTED)}"
            )
        converted: dict[str, Any] = {}
        for key, value in values.items():
            checked = _rate_value(key, value, text=text)
            if checked is None:
                where = names[key] if names and key in names else f"rate card {source}: {key}"
                raise ConfigurationError(_rate_error(where, key, value))
            converted[key] = checked
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
        names = {key: cls._ENV_PREFIX + key.upper() for key in picked}
        unknown = sorted(names[key] for key in picked if key not in _RATE_EXPECTED)
        if unknown:
            known = ", ".join(cls._ENV_PREFIX + key.upper() for key in _RATE_EXPECTED)
            raise ConfigurationError(f"{', '.join(unknown)}: not a rate card variable; known:"
                                     f" {known}")
        parsed = cls.from_mapping(picked, source="environment", names=names, text=True)
        return card.updated(**parsed.as_dict(only=picked))

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> RateCard:
        """A rate card from a TOML file: top-level keys, or a ``[rates]`` table."""
        name = os.fspath(path)
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigurationError(f"rate card file {name!r} does not exist") from None
        except IsADirectoryError:
            raise ConfigurationError(f"rate card file {name!r} is a folder, not a file"
                                     ) from None
        except OSError as exc:
            raise ConfigurationError(f"rate card file {name!r}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise ConfigurationError(f"rate card file {name!r}: not UTF-8 text, so not TOML"
                                     ) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"rate card file {name!r}: {exc}") from None
        table = data.get("rates", data)
        return cls.from_mapping(table, source=name)

    @classmethod
    def resolve(cls, *, path: str | os.PathLike[str] | None = None,
                environ: Mapping[str, str] | None = None,
                flags: Mapping[str, str] | None = None, **overrides: Any) -> RateCard:
        """Defaults, then a TOML file, then the environment, then explicit overrides (None =
        unset). ``flags`` names each override in errors (``{"currency": "--currency"}``)."""
        card = cls.from_toml(path) if path is not None else cls()
        card = cls.from_env(environ, base=card)
        given = {k: v for k, v in overrides.items() if v is not None}
        if not given:
            return card
        checked = cls.from_mapping(given, source="arguments", names=flags)
        return card.updated(**checked.as_dict(only=given))

    def updated(self, **changes: Any) -> RateCard:
        """A copy with some fields changed (validated like a new card)."""
        return replace(self, **changes)

    def as_dict(self, only: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Plain-data twin (for JSON summaries); ``only`` limits it to those keys."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        return {k: v for k, v in data.items() if only is None or k in only}

    def _repr_html_(self) -> str:
        """A small table in a notebook: each price in words and money, its field name as code."""
        import html

        from . import formatting as fmt

        rows = [("Transcription price", fmt.price(self.transcription_per_minute, self.currency),
                 "transcription_per_minute"),
                ("Storage price, per minute each month",
                 fmt.price(self.storage_per_minute_month, self.currency),
                 "storage_per_minute_month"),
                ("Free storage", f"{self.free_storage_days:,} days", "free_storage_days"),
                ("Currency", self.currency, "currency")]
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(label)}</th>"
                       f"<td style='text-align:right'>{html.escape(text)}</td>"
                       f"<td><code>{key}</code></td></tr>" for label, text, key in rows)
        return f"<div><strong>Rate card</strong><table>{body}</table></div>"
