"""A local Plivo: the conference Record API, the Recording API and signed callbacks.

The sandbox lets the whole workflow run with no Plivo account: clients (this toolkit's, or the
official ``plivo`` SDK pointed at it) start and stop conference recordings; recordings end when
stopped, when their conference closes, or after a simulated duration; the sandbox then posts the
recording callback and, with ``transcription_type=auto``, the transcription callback, V3-signed
with the account token, honouring the callback URL's retry fragment. Faults (API errors, latency,
dropped / duplicated / delayed callbacks) can be switched on, all drawn from the seed.

Time is sandbox time (:class:`ScaledClock`, default 60x; :class:`ManualClock` for byte-for-byte
reproducible runs). Give the sandbox's clock to the receiver's callback log so ``received_at``
agrees with the recordings' own timestamps.

Examples
--------
>>> from recording_toolkit.sandbox import Sandbox
>>> with Sandbox(seed=3, strict=True) as sandbox:
...     sandbox.open_conference("board")
...     sandbox.auth_id.startswith("MA") and len(sandbox.auth_id) == 20
True
True
"""

from __future__ import annotations

from ._clock import ManualClock, ScaledClock, to_ms
from ._config import FAULT_PRESETS, DurationModel, Faults, SandboxConfig, Timing
from ._sandbox import DEFAULT_TIME_SCALE, Sandbox

__all__ = [
    "DEFAULT_TIME_SCALE",
    "FAULT_PRESETS",
    "DurationModel",
    "Faults",
    "ManualClock",
    "Sandbox",
    "SandboxConfig",
    "ScaledClock",
    "Timing",
    "to_ms",
]
