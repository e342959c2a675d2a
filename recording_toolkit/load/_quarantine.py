"""The quarantine: every line or row that could not be used, where it was and why.

Nothing the loader reads is dropped without a trace: a line that is not JSON, a torn last line,
a callback without ``recording_id``, a number that does not parse, an unknown event kind, an
unreadable file. Each becomes one quarantine row (``schema.QUARANTINE``: file, line, event,
reason, raw). With ``strict=True`` the first one is raised instead, as
:class:`~recording_toolkit.errors.LoadError` with the same information.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from ..errors import LoadError
from ._convert import QUARANTINE_ARROW

__all__ = ["Quarantine", "decode_raw", "first_error", "storable"]


def decode_raw(data: bytes | bytearray | str) -> str:
    """Raw line text for the quarantine: UTF-8, undecodable bytes shown as ``\\xNN``."""
    if isinstance(data, str):
        return storable(data.rstrip("\r\n"))
    return data.rstrip(b"\r\n").decode("utf-8", errors="backslashreplace")


def storable(text: str) -> str:
    """``text`` with any lone surrogate (``"\\ud800"`` from a JSON escape) written as
    ``\\ud800``, so it can be stored as UTF-8 (Arrow refuses it otherwise).

    >>> storable("a\\ud800b")
    'a\\\\ud800b'
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", errors="backslashreplace").decode("utf-8")
    return text


@dataclass
class Quarantine:
    """Rows collected while reading one file."""

    file: str
    lines: list[int | None] = field(default_factory=list)
    events: list[str | None] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    raws: list[str] = field(default_factory=list)

    def add(self, line: int | None, reason: str, raw: bytes | bytearray | str,
            event: str | None = None) -> None:
        self.lines.append(line)
        self.events.append(None if event is None else storable(event))
        self.reasons.append(storable(reason))
        self.raws.append(decode_raw(raw))

    def __len__(self) -> int:
        return len(self.reasons)

    def table(self) -> pa.Table:
        """The rows as an Arrow table, ordered by line (file-level rows last)."""
        order = sorted(range(len(self.reasons)),
                       key=lambda i: (self.lines[i] is None, self.lines[i] or 0))
        return pa.Table.from_arrays([
            pa.array([self.file] * len(order), pa.string()),
            pa.array([self.lines[i] for i in order], pa.int64()),
            pa.array([self.events[i] for i in order], pa.string()),
            pa.array([self.reasons[i] for i in order], pa.string()),
            pa.array([self.raws[i] for i in order], pa.string()),
        ], schema=QUARANTINE_ARROW)

    def first_error(self) -> LoadError | None:
        """The earliest row as a LoadError (for strict loading), or None when empty."""
        return first_error(self.table()) if self.reasons else None


def first_error(table: pa.Table) -> LoadError | None:
    """The first row of a quarantine table (ordered by file position) as a LoadError."""
    if table.num_rows == 0:
        return None
    row = table.slice(0, 1).to_pylist()[0]
    return LoadError(row["reason"], file=row["file"], line=row["line"], raw=row["raw"])
