"""Audio the sandbox serves at each recording's ``recording_url``: a short generated file.

A client that archives recordings needs real bytes of the recording's format to write, size-check
and open; it does not need the conversation. So every recording's media is a short file of the
right format whose length follows the recording's (whole seconds, capped at
:data:`MAX_MEDIA_SECONDS` to stay cheap), built once per format and length and cached:

- WAV: 8 kHz, mono, 16-bit PCM of a quiet 440 Hz tone, written by the stdlib ``wave`` module
  (a valid RIFF/WAVE header any player reads).
- MP3: the stdlib has no encoder, so the file is a run of hand-built MPEG-1 Layer III frames
  (48 kHz, 32 kbit/s, mono, no CRC: 96 bytes and 1152 samples each). Their side information and
  main data are all zero (no Huffman-coded values, global gain 0), which every decoder plays as
  silence; the frame headers are what a parser or player checks.
"""

from __future__ import annotations

import io
import math
import struct
import wave
from functools import lru_cache

__all__ = ["MAX_MEDIA_SECONDS", "MEDIA_TYPES", "media_bytes", "media_seconds"]

#: Longest file served, in seconds: a 10-hour recording still gets a few kilobytes.
MAX_MEDIA_SECONDS = 10

#: ``Content-Type`` per recording format.
MEDIA_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav"}

_WAV_RATE = 8000
_TONE_HZ = 440
_TONE_AMPLITUDE = 3000  # of 32767: quiet

# MPEG-1 Layer III, 32 kbit/s, 48 kHz, no padding, mono: size = 144 * 32000 / 48000 = 96 bytes
_MP3_HEADER = bytes([
    0xFF,  # frame sync (11 bits set) ...
    0xFB,  # ... MPEG-1 (11), Layer III (01), no CRC (1)
    0x14,  # bitrate index 1 (32 kbit/s), sample rate index 1 (48 kHz), no padding, private 0
    0xC4,  # mono (11), mode extension 00, not copyrighted, original (1), no emphasis
])
_MP3_FRAME_BYTES = 96
_MP3_SAMPLES_PER_FRAME = 1152
_MP3_RATE = 48000


def media_seconds(duration_ms: int) -> int:
    """Seconds of audio served for a recording of ``duration_ms``: whole seconds rounded up,
    at least 1, at most :data:`MAX_MEDIA_SECONDS`.

    >>> media_seconds(1), media_seconds(30_000), media_seconds(36_000_000)
    (1, 10, 10)
    """
    return max(1, min(MAX_MEDIA_SECONDS, math.ceil(duration_ms / 1000)))


@lru_cache(maxsize=2 * MAX_MEDIA_SECONDS)
def media_bytes(file_format: str, seconds: int) -> bytes:
    """The file served for ``file_format`` (``mp3`` or ``wav``) and ``seconds`` (cached).

    >>> media_bytes("wav", 1)[:4], media_bytes("mp3", 1)[:2].hex()
    (b'RIFF', 'fffb')
    """
    if file_format == "wav":
        return _wav(seconds)
    if file_format == "mp3":
        return _mp3(seconds)
    raise ValueError(f"file_format: {file_format!r} is not mp3 or wav")


def _wav(seconds: int) -> bytes:
    count = _WAV_RATE * seconds
    step = 2 * math.pi * _TONE_HZ / _WAV_RATE
    samples = struct.pack(f"<{count}h", *(round(_TONE_AMPLITUDE * math.sin(step * i))
                                          for i in range(count)))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(_WAV_RATE)
        out.writeframes(samples)
    return buffer.getvalue()


def _mp3(seconds: int) -> bytes:
    frames = math.ceil(seconds * _MP3_RATE / _MP3_SAMPLES_PER_FRAME)
    frame = _MP3_HEADER + bytes(_MP3_FRAME_BYTES - len(_MP3_HEADER))
    return frame * frames
