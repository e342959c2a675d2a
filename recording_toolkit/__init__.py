# ruff: noqa: F401  (names are re-exported lazily through __all__)
"""recording_toolkit: start Plivo conference recordings, receive their callbacks, analyse them.

The public names are imported lazily, so ``import recording_toolkit`` stays fast and a notebook
that only loads logs never imports the HTTP or server stack.

Examples
--------
>>> import recording_toolkit as rt
>>> rt.RateCard().transcription_per_minute
0.05
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING, Any

from ._version import __version__

# public name -> module that defines it. The top level holds the entry points and what they
# return or raise; the analytics results (``RetentionPlan``, ``Reconciliation``) stay in
# ``recording_toolkit.analytics`` beside the functions that make them. The TYPE_CHECKING block
# at the end names the same set (tests/test_exports.py holds the two, and the docs, together).
_EXPORTS: dict[str, str] = {
    # client
    "AsyncRecordingClient": "client",
    "DeleteResult": "client",
    "RecordingClient": "client",
    "RecordingResult": "client",
    "StopResult": "client",
    # settings
    "Credentials": "config",
    "RateCard": "config",
    # callbacks, receiver, sandbox
    "CallbackLog": "callback_log",
    "CallbackReceiver": "receiver",
    "Sandbox": "sandbox",
    # going live
    "PreflightResult": "doctor",
    "preflight": "doctor",
    # loading
    "LoadResult": "load",
    "LoadStats": "load",
    "join_recordings": "load",
    "load_callbacks": "load",
    "load_journal": "load",
    "load_recordings": "load",
    "load_transcriptions": "load",
    # analytics and reports
    "Summary": "report",
    "summarize": "report",
    "write_html": "report",
    # notebook side
    "Dashboard": "widgets",
    "RecordingPanel": "widgets",
    # errors
    "AuthenticationError": "errors",
    "BadRequestError": "errors",
    "CallbackError": "errors",
    "ConfigurationError": "errors",
    "ConnectError": "errors",
    "DownloadError": "errors",
    "ForbiddenError": "errors",
    "InvalidRequestError": "errors",
    "LoadError": "errors",
    "MissingNonceError": "errors",
    "MissingSignatureError": "errors",
    "NotFoundError": "errors",
    "PlivoAPIError": "errors",
    "RateLimitError": "errors",
    "RecordingToolkitError": "errors",
    "RequestTimeoutError": "errors",
    "ServerError": "errors",
    "SignatureError": "errors",
    "SignatureMismatchError": "errors",
    "SourceNotFoundError": "errors",
    "TransportError": "errors",
    "ValidationError": "errors",
}

__all__ = sorted([*_EXPORTS, "__version__"])

# former public names -> (module, the name that replaced it); they still work, with a
# DeprecationWarning, and are not in __all__, so ``from recording_toolkit import *`` skips them.
_DEPRECATED: dict[str, tuple[str, str]] = {"TimeoutError": ("errors", "RequestTimeoutError")}


def __getattr__(name: str) -> Any:
    if name in _DEPRECATED:  # not cached, so it warns at every use
        home, new = _DEPRECATED[name]
        warnings.warn(f"recording_toolkit.{name} is deprecated; use {new}", DeprecationWarning,
                      stacklevel=2)
        return getattr(importlib.import_module(f".{home}", __name__), new)
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'recording_toolkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module_name}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover
    from .callback_log import CallbackLog
    from .client import (
        AsyncRecordingClient,
        DeleteResult,
        RecordingClient,
        RecordingResult,
        StopResult,
    )
    from .config import Credentials, RateCard
    from .doctor import PreflightResult, preflight
    from .errors import (
        AuthenticationError,
        BadRequestError,
        CallbackError,
        ConfigurationError,
        ConnectError,
        DownloadError,
        ForbiddenError,
        InvalidRequestError,
        LoadError,
        MissingNonceError,
        MissingSignatureError,
        NotFoundError,
        PlivoAPIError,
        RateLimitError,
        RecordingToolkitError,
        RequestTimeoutError,
        ServerError,
        SignatureError,
        SignatureMismatchError,
        SourceNotFoundError,
        TransportError,
        ValidationError,
    )
    from .load import (
        LoadResult,
        LoadStats,
        join_recordings,
        load_callbacks,
        load_journal,
        load_recordings,
        load_transcriptions,
    )
    from .receiver import CallbackReceiver
    from .report import Summary, summarize, write_html
    from .sandbox import Sandbox
    from .widgets import Dashboard, RecordingPanel
