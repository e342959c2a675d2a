"""Turn one raw callback into a normalised event.

Plivo sends the same callback in several shapes: form-encoded or JSON POST bodies, GET query
strings, snake_case names (the Record API) or CamelCase names (recordings started from Conference
XML: ``RecordUrl``, ``RecordingID``, ``RecordingDurationMs``...). The receiver and the loader both
pass what they got through :func:`normalise_callback`, so a field has one name everywhere after
this point. Values are kept exactly as received (text); typing happens in the loader.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .errors import CallbackError

__all__ = [
    "field_text",
    "EVENT_KINDS",
    "RECORDING_FIELDS",
    "TRANSCRIPTION_FIELDS",
    "CallbackEvent",
    "EventKind",
    "infer_kind",
    "normalise_callback",
    "normalise_fields",
    "snake_case",
]

EventKind = Literal["recording", "transcription"]
EVENT_KINDS: tuple[EventKind, ...] = ("recording", "transcription")

RECORDING_FIELDS = frozenset({
    "api_id", "record_url", "recording_id", "conference_name", "recording_duration",
    "recording_duration_ms", "recording_start_ms", "recording_end_ms",
})
TRANSCRIPTION_FIELDS = frozenset({
    "transcription", "transcription_charge", "transcription_rate", "duration", "call_uuid",
    "recording_id", "error",
})
# Fields that only one kind of callback carries: used to tell them apart without a path.
_ONLY_RECORDING = frozenset({"record_url", "recording_duration_ms", "recording_start_ms",
                             "recording_end_ms", "recording_duration"})
_ONLY_TRANSCRIPTION = frozenset({"transcription", "transcription_charge", "transcription_rate"})

_CAMEL_BOUNDARY_1 = re.compile(r"([A-Z]+)([A-Z][a-z])")
_CAMEL_BOUNDARY_2 = re.compile(r"([a-z0-9])([A-Z])")


@functools.lru_cache(maxsize=4096)  # the same few dozen names arrive on every callback
def snake_case(name: str) -> str:
    """``RecordingDurationMs`` -> ``recording_duration_ms``, ``RecordingID`` -> ``recording_id``,
    ``CallUUID`` -> ``call_uuid``; snake_case names pass unchanged.

    Examples
    --------
    >>> snake_case("RecordUrl"), snake_case("RecordingID"), snake_case("recording_id")
    ('record_url', 'recording_id', 'recording_id')
    """
    text = _CAMEL_BOUNDARY_1.sub(r"\1_\2", name.strip())
    text = _CAMEL_BOUNDARY_2.sub(r"\1_\2", text)
    return text.replace("-", "_").lower()


def normalise_fields(fields: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> dict[str, str]:
    """Field names in snake_case, values as text exactly as received.

    A name may arrive more than once (a repeated form key, both ``RecordingID`` and
    ``recording_id``, a one-element JSON list): that is fine while every copy carries the same
    text. Copies that disagree raise :class:`CallbackError` naming the field and showing the two
    values (shortened; hidden for a field whose name says it holds a secret), because keeping
    one of them would silently drop the other. JSON numbers and booleans become their text, JSON
    null becomes ``""``.

    Examples
    --------
    >>> normalise_fields({"RecordingID": "r1", "RecordingDurationMs": 345100})
    {'recording_id': 'r1', 'recording_duration_ms': '345100'}
    >>> normalise_fields([("recording_id", "r1"), ("RecordingID", "r2")])
    Traceback (most recent call last):
    ...
    recording_toolkit.errors.CallbackError: field 'recording_id' is given more than once with \
different values: 'r1' (as 'recording_id') and 'r2' (as 'RecordingID'); refusing to pick one
    """
    # a list (the receiver's parsed pairs) skips the slower Mapping check
    items = fields if type(fields) is list else (
        fields.items() if isinstance(fields, Mapping) else fields)
    out: dict[str, str] = {}
    given_as: dict[str, str] = {}  # the spelling each kept value came under
    for key, value in items:
        name = key if type(key) is str else str(key)
        if type(value) is str:  # nearly every value: form and query fields are text
            text = value
        elif isinstance(value, list | tuple):
            texts = list(dict.fromkeys(field_text(v) for v in value))
            if len(texts) > 1:
                raise CallbackError(
                    f"field {name!r} holds {len(texts)} different values"
                    f" ({_shown(name, texts[0])}, {_shown(name, texts[1])}"
                    f"{', ...' if len(texts) > 2 else ''}); expected one"
                )
            text = texts[0] if texts else ""
        else:
            text = field_text(value)
        snake = snake_case(name)
        if snake in out:
            if out[snake] != text:
                first, second = _shown(snake, out[snake]), _shown(snake, text)
                if given_as[snake] == name:
                    values = f"{first} and {second}"
                else:
                    values = f"{first} (as {given_as[snake]!r}) and {second} (as {name!r})"
                raise CallbackError(f"field {snake!r} is given more than once with different"
                                    f" values: {values}; refusing to pick one")
        else:
            given_as[snake] = name
        out[snake] = text
    return out


#: Field names whose values are never quoted back (a misdirected form could carry credentials).
_SECRET_NAME = re.compile(r"token|secret|passw|signature|auth|credential|cookie|key",
                          re.IGNORECASE)
_SHOWN_CHARS = 40


def _shown(name: str, value: str) -> str:
    """``value`` as an error message may quote it: ``repr``, cut to about 40 characters, or
    ``[hidden]`` when ``name`` looks like it holds a secret.

    Examples
    --------
    >>> _shown("recording_id", "r" * 100)
    "'rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr'... (100 characters)"
    >>> _shown("auth_token", "abc")
    '[hidden]'
    """
    if _SECRET_NAME.search(name):
        return "[hidden]"
    if len(value) <= _SHOWN_CHARS:
        return repr(value)
    return f"{value[:_SHOWN_CHARS]!r}... ({len(value)} characters)"


def field_text(value: Any) -> str:
    """A JSON field's value as text, the way Plivo signs it and the log stores it: ``null`` is
    empty, booleans are ``true``/``false``, objects and arrays are JSON, the rest ``str()``.

    >>> [field_text(v) for v in (None, True, 3, "a", [1])]
    ['', 'true', '3', 'a', '[1]']
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, ensure_ascii=False)
    return str(value)


def infer_kind(payload: Mapping[str, str]) -> EventKind | None:
    """``recording`` or ``transcription`` from the fields alone; None when they do not tell."""
    has_rec = not _ONLY_RECORDING.isdisjoint(payload)
    has_tr = not _ONLY_TRANSCRIPTION.isdisjoint(payload)
    if has_tr and not has_rec:
        return "transcription"
    if has_rec and not has_tr:
        return "recording"
    if payload.get("message") == "record_done":
        return "recording"
    return None


@dataclass(frozen=True)
class CallbackEvent:
    """A normalised callback: its kind and its fields (snake_case names, text values)."""

    kind: EventKind
    payload: dict[str, str]

    @property
    def recording_id(self) -> str:
        return self.payload["recording_id"]


def normalise_callback(fields: Mapping[str, Any] | Iterable[tuple[str, Any]], *,
                       kind: EventKind | None = None) -> CallbackEvent:
    """Normalise one callback and decide its kind.

    ``kind`` is what the endpoint says (``/callbacks/recording`` or ``/callbacks/transcription``);
    without it the fields decide. Raises :class:`CallbackError` with the reason when the payload
    cannot be used: no ``recording_id``, a kind that cannot be told, or fields of the other kind
    posted to an endpoint.
    """
    payload = normalise_fields(fields)
    inferred = infer_kind(payload)
    if kind is None:
        if inferred is None:
            rec = sorted(set(payload) & _ONLY_RECORDING)
            tr = sorted(set(payload) & _ONLY_TRANSCRIPTION)
            if rec and tr:
                raise CallbackError(
                    "cannot tell a recording from a transcription callback: it has recording"
                    f" fields {rec} and transcription fields {tr}"
                )
            raise CallbackError(
                "cannot tell a recording from a transcription callback: none of"
                f" {sorted(_ONLY_RECORDING | _ONLY_TRANSCRIPTION)} is present"
            )
        kind = inferred
    elif kind not in EVENT_KINDS:
        raise CallbackError(f"unknown event kind {kind!r}; expected one of {EVENT_KINDS}")
    elif inferred is not None and inferred != kind:
        raise CallbackError(
            f"the payload has {inferred} callback fields but was sent as a {kind} callback"
        )
    if not payload.get("recording_id", "").strip():
        raise CallbackError("recording_id is missing or empty")
    return CallbackEvent(kind=kind, payload=payload)
