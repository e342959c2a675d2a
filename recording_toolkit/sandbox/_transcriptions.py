"""The sandbox's Transcription resource: ``GET /v1/Account/{auth_id}/Transcription/{recording_id}/``.

Plivo's official SDKs fetch a recording's transcription by the recording's id and get back one
object: ``api_id``, ``cost``, ``rate``, ``recording_duration_ms``, ``recording_start_ms``,
``status`` (``"success"``) and ``transcription`` (see docs/plivo.md, "Transcriptions"). This
module answers with the transcription the sandbox itself produced for the recording's
transcription callback, so a client that lost the callback can read back exactly what the
callback held.

Why it is built this way:

- **The same transcription as the callback.** The simulation draws every transcription from the
  seed and the recording id (``Simulation.transcription``), never from the order requests come
  in, so asking it again gives the same text, charge and turnaround the callback was planned
  with.
- **404 unless there is a finished, successful transcription.** None was asked for, the
  recording is still running or deleted, the turnaround has not passed yet (the callback's due
  time), or the recording was not eligible (the callback carries an ``error``): Plivo documents
  no answer for those, so the sandbox does not invent one.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ._state import Recording

if TYPE_CHECKING:
    from ._sandbox import SandboxCore

__all__ = ["transcription_object"]


def transcription_object(core: SandboxCore, recording: Recording | None,
                         now_ms: int) -> dict[str, Any] | None:
    """The Transcription resource's fields for ``recording`` at ``now_ms``, without
    ``api_id``; None for the API's 404 (see the module docstring)."""
    if (recording is None or not recording.transcribed or recording.end_ms is None
            or recording.add_ms is None or recording.deleted_ms is not None):
        return None
    duration_ms = recording.end_ms - recording.start_ms
    outcome = core.simulation.transcription(recording.recording_id, recording.call_uuid,
                                            duration_ms, recording.options.file_format,
                                            conference_name=recording.conference_name)
    ready_ms = max(recording.add_ms, recording.end_ms + outcome.turnaround_ms)
    if outcome.error or now_ms < ready_ms:
        return None
    fields = outcome.fields
    return {
        # numbers, as the SDK's fixture has them
        "cost": float(Decimal(fields["transcription_charge"])),
        "rate": float(Decimal(fields["transcription_rate"])),
        "recording_duration_ms": duration_ms,
        "recording_start_ms": recording.start_ms,
        "status": "success",
        "transcription": fields["transcription"],
    }
