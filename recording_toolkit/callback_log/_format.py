"""The callback log's files: their names, the envelope line and the digest that identifies a
callback (its time stamp is :func:`recording_toolkit.timestamps.format_timestamp`).

Everything here is pure (text in, text or bytes out), so the receiver, ``backfill`` and the
tools that write sample logs produce the same lines and names; the writing itself, with its
durability, is in :mod:`._writer` and :mod:`._log`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from ..errors import CallbackError, ConfigurationError

__all__ = [
    "QUARANTINE_DIR",
    "REJECTED_DIR",
    "Category",
    "check_instance_id",
    "default_instance_id",
    "encode_envelope",
    "envelope_digest",
    "log_dir_problem",
]

#: Sub-folders beside the log (the loader skips folders starting with ``_``).
REJECTED_DIR = "_rejected"
QUARANTINE_DIR = "_quarantine"

_INSTANCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")

Category = Literal["callbacks", "rejected", "quarantine"]


def default_instance_id() -> str:
    """``{hostname}-{pid}-{random4}``: unique per process, readable in a file listing."""
    host = re.sub(r"[^A-Za-z0-9-]+", "-", socket.gethostname()).strip("-")[:40] or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(2)}"


def check_instance_id(instance_id: str, name: str = "instance_id") -> str:
    """``instance_id`` when it can go into a file name; else a :class:`ConfigurationError` naming
    ``name`` (the parameter, or the command-line flag)."""
    if not isinstance(instance_id, str) or not _INSTANCE_ID.match(instance_id):
        raise ConfigurationError(
            f"{name}: {instance_id!r} is not usable in a file name (letters, digits, '.', '_' and"
            " '-'; at most 80 characters, starting with a letter or digit)"
        )
    return instance_id


def log_dir_problem(log_dir: str | os.PathLike[str]) -> str | None:
    """Why ``log_dir`` cannot be the log folder, found without creating anything; None when it
    can be (an existing, writable folder, or one that can be created).

    Examples
    --------
    >>> log_dir_problem("/dev/null")
    "'/dev/null' is a file, not a folder"
    >>> log_dir_problem("/dev/null/logs")
    "'/dev/null' is a file, not a folder"
    """
    path = Path(log_dir)
    for sub in (path / REJECTED_DIR, path / QUARANTINE_DIR, path, *path.parents):
        try:
            exists = sub.exists()
        except OSError as exc:  # a name too long, a loop of links...
            return f"{os.fspath(sub)!r}: {exc.strerror or exc}"
        if not exists:
            continue
        if not sub.is_dir():
            return f"{os.fspath(sub)!r} is a file, not a folder"
        if sub.parent == path:
            continue  # an existing _rejected/ or _quarantine/: the folder itself is checked next
        if not os.access(sub, os.W_OK | os.X_OK):
            what = "is not writable" if sub == path else "is not writable, so cannot hold it"
            return f"{os.fspath(sub)!r} {what}"
        return None
    return None


def envelope_digest(kind: str, payload: Mapping[str, str]) -> bytes:
    """The identity of a callback for de-duplication: kind and payload, key order ignored.

    Examples
    --------
    >>> envelope_digest("recording", {"a": "1", "b": "2"}) == envelope_digest(
    ...     "recording", {"b": "2", "a": "1"})
    True
    >>> envelope_digest("recording", {"a": "1"}) == envelope_digest("transcription", {"a": "1"})
    False
    """
    text = _dumps_sorted([kind, payload])
    return hashlib.blake2b(text.encode("ascii"), digest_size=16).digest()


def _reusable_encoder(**options: Any) -> Callable[[Any], str]:
    """``json.JSONEncoder(**options).encode``, with its C encoder built once.

    ``JSONEncoder.encode`` builds a new C encoder on every call, which for a callback's few
    hundred bytes costs as much as the encoding; this module encodes twice per callback (its
    digest and its line). The C encoder is an implementation detail of ``json``, so it is
    used only if it gives exactly what ``encode`` gives; otherwise ``encode`` it is. Without
    circular-reference checks: what is encoded here is text, mappings and lists of text.
    """
    encoder = json.JSONEncoder(separators=(",", ":"), **options)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return encoder.encode
    try:
        quote = (json.encoder.encode_basestring_ascii if encoder.ensure_ascii
                 else json.encoder.encode_basestring)
        built = make(None, encoder.default, quote, None, encoder.key_separator,
                     encoder.item_separator, encoder.sort_keys, encoder.skipkeys,
                     encoder.allow_nan)

        def encode(value: Any) -> str:
            return "".join(built(value, 0))

        sample = ["k", {"b": "\u00e9\"\n", "a": "1", "c": ["x", "\ud800"]}]
        if encode(sample) != encoder.encode(sample):
            return encoder.encode
    except Exception:  # noqa: BLE001 - any doubt: the documented encoder
        return encoder.encode
    return encode


_dumps_sorted = _reusable_encoder(sort_keys=True, ensure_ascii=True)


_dumps_compact = _reusable_encoder(ensure_ascii=False)


def encode_envelope(kind: str, received_at: str, verified: bool, payload: Mapping[str, str],
                    *, source: str = "callback") -> bytes:
    """One envelope line (``docs/CONTRACTS.md``), payload keys in the order received; ``source``
    is ``callback`` or ``backfill`` (lines recovered from the Recording API)."""
    # kind, received_at and source are known-safe text; only the payload needs a JSON encoder
    text = (f'{{"event":"{kind}","received_at":"{received_at}",'
            f'"verified":{"true" if verified else "false"},"source":"{source}",'
            f'"payload":{_dumps_compact(payload)}}}\n')
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        bad = next((key for key, value in payload.items()
                    if not _encodable(key) or not _encodable(value)), "?")
        raise CallbackError(
            f"field {bad.encode('ascii', 'backslashreplace').decode()!r} is not valid Unicode"
            " text (it holds a lone surrogate); it cannot be stored as UTF-8"
        ) from None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
