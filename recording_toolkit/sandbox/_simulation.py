"""What the sandbox makes up: ids, durations, transcripts, turnarounds, fault decisions.

Every draw comes from :func:`keyed_rng`, a random generator seeded by the sandbox seed *and the
name of the thing drawn* (``"duration", recording_id``). No draw depends on the order requests
arrive in, so concurrent clients, retries and thread scheduling cannot change what a seed
produces; only the requests themselves can.

Transcription follows ``recording_toolkit.rules`` (the same rules the analytics audit with):
``transcription_ineligibility`` decides the error, ``billed_minutes`` the charge.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .. import rules
from ._config import DurationModel, SandboxConfig
from ._phrases import transcript

__all__ = [
    "TranscriptionOutcome",
    "Simulation",
    "decimal_text",
    "keyed_rng",
    "keyed_unit",
    "keyed_uuid",
]


def _digest(seed: int, parts: tuple[Any, ...]) -> bytes:
    text = "\x1f".join(str(p) for p in (seed, *parts))
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def keyed_rng(seed: int, *parts: Any) -> random.Random:
    """A generator seeded by ``seed`` and ``parts`` (stable across runs and processes).

    >>> keyed_rng(7, "duration", "r1").random() == keyed_rng(7, "duration", "r1").random()
    True
    """
    return random.Random(int.from_bytes(_digest(seed, parts), "big"))


def keyed_unit(seed: int, *parts: Any) -> float:
    """One uniform draw in [0, 1) for ``parts`` (fault decisions)."""
    return int.from_bytes(_digest(seed, parts)[:8], "big") / 2.0**64


def keyed_uuid(seed: int, *parts: Any) -> str:
    """A version-4-shaped UUID for ``parts``: Plivo's ids look like this.

    >>> keyed_uuid(0, "recording", "room", 1)
    '1f3b71d5-3201-4a76-8b97-00ee905d0790'
    """
    return str(uuid.UUID(bytes=_digest(seed, parts), version=4))


def decimal_text(value: Decimal | int | float, places: int | None = None) -> str:
    """A number as plain decimal text, no exponent; ``places`` fixes the decimals.

    >>> decimal_text(345100, 5), decimal_text(Decimal("0.05") * 3), decimal_text(0.0004)
    ('345100.00000', '0.15', '0.0004')
    """
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if places is not None:
        return f"{number:.{places}f}"
    text = format(number.normalize(), "f")
    return text


_OPENERS = ("Thanks everyone for joining.", "Let's get started.", "Can everyone hear me?",
            "Okay, I think we have quorum.", "Good morning, all.")
_BODY = (
    "The release is on track for Thursday.", "We closed twelve support tickets this week.",
    "Revenue is up four percent against the forecast.", "The migration finished without errors.",
    "I will share the slides after the call.", "Can we move the design review to Monday?",
    "The customer asked for an extended trial.", "Latency improved after the cache change.",
    "We still need a decision on the vendor contract.", "Hiring is behind plan by two roles.",
    "The audit found no issues with the invoices.", "Let's park that and come back to it.",
    "Marketing wants the numbers by Friday.", "The on-call rotation starts next week.",
    "Two enterprise deals moved to the next quarter.", "We should test the failover again.",
)
_CLOSERS = ("Thanks, talk to you next week.", "That's all for today.",
            "I'll send out the notes.", "Let's wrap up here.")


@dataclass(frozen=True)
class TranscriptionOutcome:
    """A simulated transcription: the callback's fields and when it goes out."""

    fields: dict[str, str]
    turnaround_ms: int

    @property
    def error(self) -> str:
        return self.fields["error"]


class Simulation:
    """The sandbox's made-up world for one seed and configuration."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.seed = config.seed

    # -- ids -----------------------------------------------------------------------------------

    def recording_ids(self, conference_name: str, number: int) -> tuple[str, str, str]:
        """``(recording_id, api_id, call_uuid)`` of the ``number``-th start on a conference."""
        return (keyed_uuid(self.seed, "recording", conference_name, number),
                keyed_uuid(self.seed, "api", conference_name, number),
                keyed_uuid(self.seed, "call", conference_name, number))

    def conference_uuid(self, conference_name: str, session: int) -> str:
        """The uuid of a conference's ``session``-th run (a new one after each close)."""
        return keyed_uuid(self.seed, "conference", conference_name, session)

    def phone_numbers(self, conference_name: str, number: int) -> tuple[str, str]:
        """``(from_number, to_number)`` of a recording: a caller's number and the conference's
        dial-in number, E.164 digits without ``+`` as Plivo writes them (US 555 numbers)."""
        dial_in = keyed_rng(self.seed, "dial-in", conference_name).randrange(10_000)
        caller = keyed_rng(self.seed, "caller", conference_name, number).randrange(10_000)
        return f"1212555{caller:04d}", f"1415555{dial_in:04d}"

    def nonce(self, kind: str, recording_id: str, delivery: int, attempt: int) -> str:
        """A 20-digit nonce, as Plivo's look."""
        value = int.from_bytes(_digest(self.seed, ("nonce", kind, recording_id, delivery,
                                                   attempt))[:8], "big")
        return f"{value % 10**20:020d}"

    # -- durations and timing ------------------------------------------------------------------

    def duration_ms(self, recording_id: str) -> int:
        rng = keyed_rng(self.seed, "duration", recording_id)
        model = self.config.durations
        if isinstance(model, DurationModel):
            return model.draw_ms(rng)
        return max(1, int(float(model(rng)) * 1000))

    def callback_delay_ms(self, recording_id: str) -> int:
        low, high = self.config.timing.callback_delay_s
        return int(keyed_rng(self.seed, "stored", recording_id).uniform(low, high) * 1000)

    # -- transcription -------------------------------------------------------------------------

    def transcription(self, recording_id: str, call_uuid: str, duration_ms: int,
                      file_format: str, *, conference_name: str | None = None
                      ) -> TranscriptionOutcome:
        """The transcription callback for a recording, by ``rules`` (eligibility, billing);
        its text from the phrase bank of the conference's kind of meeting (``_phrases``)."""
        timing = self.config.timing
        rng = keyed_rng(self.seed, "transcription", recording_id)
        rate = Decimal(str(self.config.rates.transcription_per_minute))
        error = rules.transcription_ineligibility(duration_ms, file_format)
        seconds = int(Decimal(duration_ms) / 1000 + Decimal("0.5"))
        if error is None:
            # The text has a generator of its own; the draws the text once took from ``rng``
            # are still made, so each seed's turnarounds stay what they were.
            self._transcript(rng, duration_ms)
            text = transcript(keyed_rng(self.seed, "transcript", recording_id), conference_name,
                              duration_ms)
            charge = rate * rules.billed_minutes(duration_ms)
            turnaround = (timing.turnaround_base_s + timing.turnaround_per_recorded_s
                          * duration_ms / 1000.0 + rng.uniform(0, timing.turnaround_jitter_s))
        else:
            text, charge = "", Decimal(0)
            turnaround = rng.uniform(*timing.error_turnaround_s)
        fields = {
            "transcription": text,
            "transcription_charge": decimal_text(charge),
            "transcription_rate": decimal_text(rate),
            "duration": str(seconds),
            "call_uuid": call_uuid,
            "recording_id": recording_id,
            "error": error or "",
        }
        return TranscriptionOutcome(fields=fields, turnaround_ms=int(turnaround * 1000))

    @staticmethod
    def _transcript(rng: random.Random, duration_ms: int) -> str:
        """The sandbox's first transcript text (a turn per 15 minutes, at most three), kept for
        the draws it makes from the transcription's generator."""
        turns = min(3, 1 + duration_ms // 900_000)
        speakers = rng.randint(2, 4)
        lines = []
        for turn in range(turns):
            if turn == 0:
                sentence = rng.choice(_OPENERS) + " " + rng.choice(_BODY)
            elif turn == turns - 1:
                sentence = rng.choice(_BODY) + " " + rng.choice(_CLOSERS)
            else:
                sentence = rng.choice(_BODY)
            lines.append(f"Speaker {turn % speakers}: {sentence}")
        return "\n".join(lines)

    # -- faults --------------------------------------------------------------------------------

    def fault(self, *parts: Any) -> float:
        """The uniform draw a fault decision about ``parts`` compares with its rate."""
        return keyed_unit(self.seed, "fault", *parts)

    def fault_rng(self, *parts: Any) -> random.Random:
        return keyed_rng(self.seed, "fault", *parts)
