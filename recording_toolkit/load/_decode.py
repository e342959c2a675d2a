"""Decompress ``.gz`` and ``.zst`` logs a small step at a time, so damage costs only what follows.

A log that was being compressed when the machine died ends in a torn stream; a copy that lost a
block has bad bytes in the middle. ``gunzip`` and ``zstd -d`` still give everything before the
damage, and so must the loader: one failed read of a 16 MB piece must not throw away the
complete lines it decoded first.

The streams here are read with ``readinto`` like a plain file. When the compressed data goes
bad, every byte decoded before the damage is handed out first; the *next* read raises
:class:`DamagedStreamError` saying what is wrong (the reader keeps the lines, then quarantines
the rest with that reason).

- gzip: :mod:`zlib`, fed 64 KiB of compressed bytes per step. Before each step the decoder's
  state is copied; when a step fails, the copy is fed the same bytes one at a time, so the
  output stops exactly where the damage starts (what ``zcat`` writes). Concatenated members
  (``cat a.gz b.gz``) are read as one stream, as ``gzip -d`` does.
- zstd: pyarrow's decoder (no extra package), read in 256 KiB steps. A read that fails loses
  what it had decoded, so on failure the stream is decoded again from the start, this time
  given the compressed bytes near the failed read one at a time and read out one byte at a
  time, which stops at the first block that cannot be decoded. zstd decodes whole blocks (at
  most 128 KiB), so the lines of a torn or damaged block are lost, as with ``zstd -d``; every
  block before it is kept (``zstd -d`` may lose those too when they arrive in the same read).
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from typing import Any

import pyarrow as pa

__all__ = ["DamagedStreamError", "decoded"]

#: Compressed bytes fed to zlib per step.
GZIP_STEP = 64 << 10
#: Decompressed bytes asked of pyarrow per read.
ARROW_STEP = 256 << 10
_SKIP_STEP = 1 << 20
#: How far before the failed read's first compressed byte the damage may lie (pyarrow reads
#: its input 64 KiB at a time and may hold some of it undecoded).
_RAW_BACK = 256 << 10
_NAMES = {"gzip": "gzip", "zstd": "zstd"}


class DamagedStreamError(OSError):
    """The compressed stream is cut short or damaged; everything before it was handed out."""


class _Decoded(io.RawIOBase):
    """Common part: hand out ``_pending`` bytes, then raise a stored error, then EOF."""

    def __init__(self) -> None:
        super().__init__()
        self._pending = b""
        self._at = 0
        self._error: DamagedStreamError | None = None
        self._done = False

    def readable(self) -> bool:
        return True

    def _more(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def readinto(self, target: Any) -> int:
        with memoryview(target) as view, view.cast("B") as out:
            while self._at >= len(self._pending):
                if self._error is not None:
                    error, self._error = self._error, None
                    self._done = True
                    raise error
                if self._done:
                    return 0
                self._pending, self._at = b"", 0
                self._more()
            n = min(len(out), len(self._pending) - self._at)
            out[:n] = self._pending[self._at:self._at + n]
            self._at += n
            return n


class _Gzip(_Decoded):
    def __init__(self, raw: Any) -> None:
        super().__init__()
        self._raw = raw
        self._decoder = zlib.decompressobj(wbits=31)
        self._fed = False  # the current member has been given bytes

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()

    def _more(self) -> None:
        data = self._raw.read(GZIP_STEP)
        if not data:
            self._done = True
            if self._fed and not self._decoder.eof:
                self._error = DamagedStreamError(
                    "the gzip stream ends early (the file is truncated)")
            return
        out = []
        while data:
            saved = self._decoder.copy()
            try:
                out.append(self._decoder.decompress(data))
            except zlib.error as exc:
                out.append(_salvage(saved, data))
                self._error = DamagedStreamError(
                    f"the gzip data is damaged ({exc})")
                break
            self._fed = True
            if not self._decoder.eof:
                break
            # the end of one member; what follows is the next member (or damage)
            data = self._decoder.unused_data
            self._decoder = zlib.decompressobj(wbits=31)
            self._fed = False
        self._pending = b"".join(out)


def _salvage(decoder: Any, data: bytes) -> bytes:
    """Feed ``data`` one byte at a time: everything zlib decodes before the damage."""
    out = []
    for i in range(len(data)):
        try:
            out.append(decoder.decompress(data[i:i + 1]))
        except zlib.error:
            break
    return b"".join(out)


class _Counted:
    """A raw stream that counts what it hands out and, past ``slow_from``, hands out one byte
    per read (so the decoder meets damage with everything before it decoded)."""

    def __init__(self, raw: Any, slow_from: int | None = None) -> None:
        self.raw = raw
        self.position = 0
        self.slow_from = slow_from
        self.closed = False

    def read(self, n: int = -1) -> bytes:
        if self.slow_from is not None and n != 0:
            room = self.slow_from - self.position
            n = max(room, 1) if n is None or n < 0 else min(n, max(room, 1))
        data = self.raw.read(n)
        self.position += len(data)
        return data

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True
        self.raw.close()


class _Arrow(_Decoded):
    def __init__(self, opener: Callable[[], Any], codec: str) -> None:
        super().__init__()
        self._open = opener
        self._codec = codec
        self._raw = _Counted(opener())
        self._stream = pa.CompressedInputStream(pa.PythonFile(self._raw, mode="r"), codec)
        self._handed = 0  # decompressed bytes handed out so far

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            super().close()

    def _more(self) -> None:
        raw_before = self._raw.position
        try:
            data = self._stream.read(ARROW_STEP)
        except (OSError, pa.ArrowException) as exc:
            data = self._salvage(max(0, raw_before - _RAW_BACK))
            self._error = DamagedStreamError(_arrow_reason(self._codec, exc))
        if not data and self._error is None:
            self._done = True
        self._handed += len(data)
        self._pending = data

    def _salvage(self, slow_from: int) -> bytes:
        """Decode again from the start, the compressed bytes near the damage one at a time;
        past what was handed out, read one byte at a time."""
        out = bytearray()
        try:
            raw = _Counted(self._open(), slow_from)
            with pa.CompressedInputStream(pa.PythonFile(raw, mode="r"), self._codec) as again:
                skip = self._handed
                while skip:
                    got = again.read(min(skip, _SKIP_STEP))
                    if not got:
                        return b""
                    skip -= len(got)
                while len(out) < ARROW_STEP:
                    byte = again.read(1)
                    if not byte:
                        break
                    out += byte
        except (OSError, pa.ArrowException):
            pass
        return bytes(out)


def _arrow_reason(codec: str, exc: BaseException) -> str:
    text = str(exc)
    name = _NAMES.get(codec, codec)
    if "Truncated" in text:
        return f"the {name} stream ends early (the file is truncated)"
    return f"the {name} data is damaged ({text})"


def decoded(opener: Callable[[], Any], codec: str) -> io.RawIOBase:
    """The decompressed bytes of the compressed stream ``opener()`` returns.

    ``opener`` is called once to read; for zstd it may be called again to re-read after
    damage (see the module's description). The raw stream needs only ``read(n)``.

    Examples
    --------
    >>> import gzip
    >>> packed = gzip.compress(b'{"a": 1}\\n{"b": 2}\\n')
    >>> stream = decoded(lambda: io.BytesIO(packed[:-12]), "gzip")
    >>> stream.read(100)  # all that was decoded before the cut
    b'{"a": 1}\\n{"b'
    >>> stream.read(100)
    Traceback (most recent call last):
    ...
    recording_toolkit.load._decode.DamagedStreamError: the gzip stream ends early (the file is truncated)
    """
    if codec == "gzip":
        return _Gzip(opener())
    return _Arrow(opener, codec)
