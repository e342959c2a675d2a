"""The log folder check: can the receiver write, fsync and keep its log there?

The receiver acknowledges a callback only once its line is fsync'd; Plivo does not send it
again after that. So the folder must be writable, fsync must work, the disk must have room, and
the filesystem should be one where fsync means the line is on a disk: a ``tmpfs`` keeps it in
memory (gone at reboot), and on network or FUSE filesystems, or with write barriers turned off,
whether fsync reaches the disk is up to something this machine cannot see. The filesystem is
read from ``/proc/self/mountinfo`` (Linux); elsewhere that part is not checked.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ._result import CheckResult

__all__ = ["DEFAULT_MIN_FREE_BYTES", "check_log_folder", "filesystem_of"]

#: Free space under which the check warns (1 GiB: about two million callback lines).
DEFAULT_MIN_FREE_BYTES = 1 << 30
#: Bytes a stored callback line takes, about (for the "room for" figure).
_LINE_BYTES = 500
_NAME = "log folder"
_IN_MEMORY = {"tmpfs", "ramfs"}
_REMOTE = ("nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "vboxsf", "virtiofs", "sshfs")


def _size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _unescape(text: str) -> str:
    # mountinfo writes space, tab, newline and backslash as octal escapes
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        text = text.replace(code, char)
    return text


def filesystem_of(path: Path, mountinfo: str | None = None) -> tuple[str, str, str] | None:
    """(mount point, filesystem type, mount and super options) of the mount holding ``path``;
    None where ``/proc/self/mountinfo`` cannot be read."""
    if mountinfo is None:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text(encoding="utf-8",
                                                               errors="replace")
        except OSError:
            return None
    target = str(path)
    best: tuple[str, str, str] | None = None
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 6 or len(tail) < 1:
            continue
        point = _unescape(fields[4])
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= len(best[0])):
            options = ",".join([fields[5], *tail[2:3]])
            best = (point, tail[0], options)
    return best


def _existing(path: Path) -> Path:
    """``path`` or its nearest existing parent."""
    current = path
    while not current.exists() and current.parent != current:
        current = current.parent
    return current


def _probe(folder: Path) -> None:
    """Write a small file, fsync it and the folder, remove it: what the log does per line."""
    fd, name = tempfile.mkstemp(prefix=".doctor-", suffix=".probe", dir=folder)
    try:
        os.write(fd, b"x" * 4096)
        os.fsync(fd)
    finally:
        os.close(fd)
        os.unlink(name)
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def check_log_folder(log_dir: str | os.PathLike[str], *,
                     min_free_bytes: int = DEFAULT_MIN_FREE_BYTES,
                     mountinfo: str | None = None) -> CheckResult:
    """Check the callback log folder (see the module docstring)."""
    path = Path(log_dir).absolute()
    shown = os.fspath(log_dir)
    details: dict[str, object] = {"path": str(path)}
    if path.exists() and not path.is_dir():
        return CheckResult(_NAME, "failed", f"{shown} is a file, not a folder",
                           "give --log-dir a folder (it is created when missing)", details)
    folder = _existing(path)
    if not folder.is_dir():
        return CheckResult(_NAME, "failed", f"{shown} goes through {folder}, which is a file",
                           "give --log-dir a folder path", details)
    created = "" if folder == path else f" (it does not exist yet; {folder} will hold it)"
    try:
        _probe(folder)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return CheckResult(_NAME, "failed", f"cannot write and fsync in {folder}: {reason}",
                           "make the folder writable by the receiver's user (chown/chmod),"
                           " or pick another with --log-dir", details)
    usage = shutil.disk_usage(folder)
    details.update(free_bytes=usage.free, min_free_bytes=min_free_bytes)
    mount = filesystem_of(Path(os.path.realpath(folder)), mountinfo)
    warnings: list[str] = []
    fixes: list[str] = []
    if mount is not None:
        point, fstype, options = mount
        details.update(filesystem=fstype, mount_point=point)
        words = set(options.split(","))
        if fstype in _IN_MEMORY:
            warnings.append(f"it is on {fstype} ({point}): the log lives in memory and a"
                            " reboot loses it")
            fixes.append("put the log on a disk")
        elif fstype.startswith("fuse") or fstype in _REMOTE:
            warnings.append(f"it is on {fstype} ({point}): whether fsync reaches a disk is up"
                            " to the server or the FUSE driver")
            fixes.append("put the log on a local disk")
        elif words & {"nobarrier", "barrier=0"}:
            warnings.append(f"{point} is mounted with write barriers off: fsync may not survive"
                            " a power cut")
            fixes.append("remount without nobarrier")
    if usage.free < min_free_bytes:
        warnings.append(f"only {_size(usage.free)} free (under {_size(min_free_bytes)})")
        fixes.append("free some space or move the log to a bigger disk")
    room = f"{_size(usage.free)} free, room for about {usage.free // _LINE_BYTES:,} callbacks"
    if warnings:
        return CheckResult(_NAME, "warning", f"{shown} is writable{created}, but "
                           + "; ".join(warnings), "; ".join(fixes), details)
    on = f" on {mount[1]}" if mount is not None else ""
    return CheckResult(_NAME, "ok", f"{shown} is writable and fsync works{on}{created}; {room}",
                       "", details)
