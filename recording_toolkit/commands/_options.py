"""Checks the commands make on their options before doing any work.

A command that loads a million log lines or calls Plivo for an hour and only then finds it
cannot write its output has wasted that time, and may have lost what it did. So every output
path is tried first (:func:`check_output_file`, :func:`check_output_folder`), and the request
journal is read first and refused when it is not one (:func:`journal_option`). Each failure is
one :class:`~recording_toolkit.errors.ConfigurationError` naming the option and the path.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError

__all__ = ["check_output_file", "check_output_folder", "check_timeout", "journal_option",
           "named_by_flags", "progress_wanted"]


def progress_wanted(wanted: bool) -> bool:
    """Whether to draw progress bars: unless ``--no-progress``, and only when stderr is a
    terminal. In a pipe or a log file a bar's redraws are noise around the lines that matter,
    and a bar left behind by a failed run would stand beside its one error line."""
    try:
        return wanted and sys.stderr.isatty()
    except (AttributeError, ValueError):  # no stderr, or a closed one
        return False


@contextmanager
def named_by_flags(flags: Mapping[str, str]) -> Iterator[None]:
    """Re-word an error that names a Python parameter (``time_scale: 0.0 is not ...``) by the
    command-line flag the user typed (``--time-scale: 0.0 is not ...``).

    >>> with named_by_flags({"time_scale": "--time-scale"}):
    ...     raise ConfigurationError("time_scale: 0.0 is not a number > 0")
    Traceback (most recent call last):
    ...
    recording_toolkit.errors.ConfigurationError: --time-scale: 0.0 is not a number > 0
    """
    from ..errors import ValidationError

    try:
        yield
    except (ConfigurationError, ValidationError) as exc:
        name, sep, rest = str(exc).partition(":")
        if not sep or name not in flags:
            raise
        raise ConfigurationError(f"{flags[name]}:{rest}") from None


def _existing_ancestor(path: Path) -> Path:
    """The nearest of ``path``'s parents that exists (``.`` for a relative path)."""
    for parent in path.parents:
        if parent.exists() or parent.is_symlink():
            return parent
    return Path(".")  # pragma: no cover - the root or "." always exists


def _probe_folder(flag: str, target: str, folder: Path) -> None:
    """Create (and at once remove) a nameless file in ``folder``: the one sure test that the
    folder takes new files (permissions, a read-only disk, ``/proc``, running as root)."""
    if not folder.is_dir():
        raise ConfigurationError(f"{flag}: {target}: {folder} is not a folder")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigurationError(f"{flag}: {target}: cannot create files in {folder} ({reason})"
                                 ) from None


def check_timeout(timeout: float) -> None:
    """Refuse a ``--timeout`` that is not a number of seconds above 0."""
    if not (math.isfinite(timeout) and timeout > 0):
        raise ConfigurationError(f"--timeout: {timeout} is not a number of seconds > 0")


def check_output_file(flag: str, value: str | os.PathLike[str], *,
                      makes_folders: bool = False) -> Path:
    """Refuse an output file ``flag`` could not write, before any work is done.

    ``makes_folders``: the writer creates missing parent folders (then the nearest existing one
    must take new files); otherwise the parent folder must exist. Returns the path.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> notes = os.path.join(folder, "notes.txt")
    >>> open(notes, "w").close()
    >>> try:
    ...     check_output_file("--html", os.path.join(notes, "report.html"), makes_folders=True)
    ... except ConfigurationError as exc:
    ...     print(str(exc).replace(folder, "DIR"))
    --html: DIR/notes.txt/report.html: DIR/notes.txt is not a folder
    >>> check_output_file("--html", os.path.join(folder, "new", "report.html"),
    ...                   makes_folders=True).name
    'report.html'
    """
    text = os.fspath(value)
    if not text.strip():
        raise ConfigurationError(f"{flag}: an empty path; give a file name")
    path = Path(text)
    if path.is_dir():
        raise ConfigurationError(f"{flag}: {text} is a folder, not a file")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise ConfigurationError(f"{flag}: {text}: the file is not writable")
        try:
            open(path, "ab").close()  # appends nothing: the file is left as it was
        except OSError as exc:
            raise ConfigurationError(f"{flag}: {text}: cannot write it"
                                     f" ({exc.strerror or type(exc).__name__})") from None
        return path
    parent = _existing_ancestor(path)
    if not makes_folders and parent != path.parent:
        raise ConfigurationError(f"{flag}: {text}: the folder {path.parent} does not exist")
    _probe_folder(flag, text, parent)
    return path


def check_output_folder(flag: str, value: str | os.PathLike[str]) -> Path:
    """Refuse an output folder ``flag`` could not write files in (it is created if missing,
    with its parents). Returns the path.

    Examples
    --------
    >>> import os, tempfile
    >>> notes = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> open(notes, "w").close()
    >>> try:
    ...     check_output_folder("--csv", notes)
    ... except ConfigurationError as exc:
    ...     print(str(exc).replace(notes, "notes.txt"))
    --csv: notes.txt is a file, not a folder
    """
    text = os.fspath(value)
    if not text.strip():
        raise ConfigurationError(f"{flag}: an empty path; give a folder")
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise ConfigurationError(f"{flag}: {text} is a file, not a folder")
    _probe_folder(flag, text, path if path.is_dir() else _existing_ancestor(path))
    return path


def journal_option(paths: str | Sequence[str], *, command: str, err: Any,
                   flag: str = "--journal") -> Any:
    """The request journal given as ``flag``, loaded, or one error naming ``flag``.

    :func:`~recording_toolkit.load.load_journal` refuses a file that is not a journal (a
    callback log, random bytes) and a journal with no entry; a missing file is named too.
    Unusable lines in a journal that has entries are skipped with one warning on ``err``.
    """
    from ..cli import describe_os_error
    from ..errors import LoadError
    from ..load import load_journal

    named = paths if isinstance(paths, str) else ", ".join(paths)
    try:
        journal = load_journal(paths)
    except LoadError as exc:  # also a missing file: SourceNotFoundError
        raise ConfigurationError(f"{flag}: {str(exc).removeprefix('source ')}") from None
    except OSError as exc:
        reason = describe_os_error(exc) if exc.filename is not None else str(exc)
        raise ConfigurationError(f"{flag}: {reason.removeprefix('source ')}") from None
    quarantine = journal.attrs.get("quarantine")
    if quarantine is not None and len(quarantine):
        first = quarantine.iloc[0]
        count = len(quarantine)
        lines = "1 line" if count == 1 else f"{count:,} lines"
        print(f"recording-toolkit {command}: warning: {flag} {named}: {lines} unusable,"
              f" skipped (first: {first['file']} line {first['line']}: {first['reason']})",
              file=err, flush=True)
    return journal
