"""The ``df.rec`` accessor: the analytics as methods of a typed frame, generated from them.

Each public function of :mod:`recording_toolkit.analytics` declares the columns it needs of its
first frame (:func:`~recording_toolkit.analytics._common.needs`); the accessor's methods are
made from those functions and declarations, so a method has its function's signature (less the
frame) and docstring and cannot drift from it: ``inspect.signature(df.rec.storage_projection)``
shows ``(*, rates=None, months=12, now=None)``.

Asking for a method the frame cannot serve (say ``turnaround_stats`` on a frame with no
``recording_end``) raises :class:`AttributeError` naming the missing columns, and
``hasattr(df.rec, name)`` tells whether a frame can serve it. A frame serves a method when it
has the columns the function declares, or one of the alternatives it declares (a joined frame
or a transcriptions frame for ``outcome_counts``). ``dir(df.rec)`` (and so tab completion)
lists every method whatever the frame, so each can be found, and asking for one says what it
needs. The accessor is registered on pandas DataFrames; on Dask frames call the functions
themselves (they take either).

Examples
--------
>>> import pandas as pd
>>> import recording_toolkit.analytics
>>> recordings = pd.DataFrame({"recording_id": ["a", "b"],
...                            "recording_duration_ms": [30_000, 90_000]})
>>> recordings.rec.duration_summary()["billed_minutes"]
3
>>> hasattr(recordings.rec, "turnaround_stats")
False
>>> recordings.rec.turnaround_stats()
Traceback (most recent call last):
...
AttributeError: df.rec.turnaround_stats needs column(s) ['recording_end', 'transcription_received_at'] (or ['recording_id', 'recording_end']); the frame has ['recording_id', 'recording_duration_ms']
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from ._common import Needs, needs_of

__all__ = ["RecAccessor", "accessor_methods"]


def _method(function: Callable[..., Any]) -> Callable[..., Any]:
    """A method calling ``function`` with the accessor's frame first, with its signature and
    docstring (less the frame)."""

    def template(self: RecAccessor, /, *args: Any, **kwargs: Any) -> Any:
        return function(self._frame, *args, **kwargs)

    # Built on the function's module globals: doctest then finds its examples once, where the
    # function is defined, and not again as a method here.
    method = types.FunctionType(template.__code__, function.__globals__, function.__name__,
                                template.__defaults__, template.__closure__)
    signature = inspect.signature(function)
    parameters = list(signature.parameters.values())[1:]
    me = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    method.__signature__ = signature.replace(parameters=[me, *parameters])  # type: ignore
    method.__doc__ = function.__doc__
    method.__qualname__ = f"RecAccessor.{function.__name__}"
    method.__module__ = function.__module__
    return method


def accessor_methods(functions: Iterable[Callable[..., Any]]) -> dict[str, Needs]:
    """Add a method to :class:`RecAccessor` for each function that declared its columns;
    returns name -> declaration of those added."""
    added: dict[str, Needs] = {}
    for function in functions:
        declared = needs_of(function)
        if declared is None:
            continue
        setattr(RecAccessor, function.__name__, _method(function))
        added[function.__name__] = declared
    _NEEDS.update(added)
    return added


_NEEDS: dict[str, Needs] = {}


@pd.api.extensions.register_dataframe_accessor("rec")
class RecAccessor:
    """Analytics of a recordings, transcriptions or joined frame (see the module docstring).

    Its methods are generated from :mod:`recording_toolkit.analytics` (``accessor_methods``).
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    def __getattribute__(self, name: str) -> Any:
        declared = _NEEDS.get(name)
        if declared is not None:
            frame = object.__getattribute__(self, "_frame")
            missing = declared.missing(frame.columns)
            if missing is not None:
                also = "".join(f" (or {list(option)})" for option in declared.alternatives)
                raise AttributeError(f"df.rec.{name} needs column(s) {missing}{also}; the"
                                     f" frame has {list(frame.columns)}")
        return object.__getattribute__(self, name)

    def __dir__(self) -> list[str]:
        return sorted(_NEEDS)
