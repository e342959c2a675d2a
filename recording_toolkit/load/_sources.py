"""What to read: a path, a folder, a glob, an fsspec URL, or a list of them -> log files.

A folder is read recursively, skipping sub-folders whose names start with ``_`` or ``.``
(``_rejected/``, ``_quarantine/``, caches, ``.git``) and hidden files (``docs/CONTRACTS.md``).
Inside folders and globs only files with a known extension are taken; a file named explicitly is
read whatever its name (as JSON Lines unless its extension says otherwise).

Known extensions: ``.jsonl``, ``.ndjson``, ``.json``, ``.log`` (JSON Lines), ``.csv``,
``.parquet`` / ``.pq``; JSON Lines and CSV may also end in ``.gz`` or ``.zst``.
URLs (``s3://bucket/logs/``, ``gs://...``, ``file:///...``) go through fsspec, with
``storage_options`` passed to the filesystem.

Nothing found: a path that does not exist, or a glob that matches no log file (most often a
typo: ``"typo/*.jsonl"``), raises :class:`~recording_toolkit.errors.SourceNotFoundError` (a
``LoadError`` and a ``FileNotFoundError``) naming it, so a load never returns
empty frames for a mistyped source. An existing folder with no log file in it is not an error:
it gives no files (a log folder before its first callback), and the result's ``stats.files`` is
0; ``recording-toolkit report`` refuses it.
"""

from __future__ import annotations

import glob as globlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, Literal

from ..errors import LoadError, SourceNotFoundError
from ._decode import decoded

__all__ = ["SourceFile", "missing_file", "open_binary", "resolve_sources"]

Format = Literal["jsonl", "csv", "parquet"]
Compression = Literal["gzip", "zstd"] | None

_COMPRESSION = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd"}
_FORMATS: dict[str, Format] = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
                               ".log": "jsonl", ".csv": "csv", ".parquet": "parquet",
                               ".pq": "parquet"}
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class SourceFile:
    """One file to load: where it is, its format and compression.

    ``path`` is a local path, or a URL when ``url`` is true (then read through fsspec with
    ``storage_options``). ``name`` is how it is shown in the quarantine and in errors.
    """

    path: str
    format: Format
    compression: Compression = None
    url: bool = False
    storage_options: tuple[tuple[str, Any], ...] = ()

    @property
    def name(self) -> str:
        return self.path

    def size(self) -> int | None:
        """Size in bytes on disk (compressed), or None when it cannot be told."""
        try:
            if self.url:
                return int(_filesystem(self.path, self.storage_options)[0].size(self.path))
            return os.stat(self.path).st_size
        except (OSError, TypeError, ValueError):
            return None


def _kind(name: str) -> tuple[Format | None, Compression]:
    base = name.rsplit("/", 1)[-1].lower()
    stem, ext = os.path.splitext(base)
    compression = _COMPRESSION.get(ext)
    if compression is not None:
        stem, ext = os.path.splitext(stem)
    fmt = _FORMATS.get(ext)
    if fmt == "parquet" and compression is not None:
        return None, None  # Parquet compresses itself
    return fmt, compression  # type: ignore[return-value]


def _is_url(text: str) -> bool:
    head, sep, _ = text.partition("://")
    return bool(sep) and head.replace("+", "").replace("-", "").isalnum() and len(head) > 1


#: The package that gives fsspec each protocol it does not carry itself.
_BACKENDS = {"s3": "s3fs", "s3a": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "az": "adlfs",
             "abfs": "adlfs", "abfss": "adlfs", "adl": "adlfs", "sftp": "paramiko",
             "ssh": "paramiko", "hf": "huggingface_hub", "webhdfs": "requests",
             "dropbox": "dropboxdrivefs"}


def _filesystem(url: str, storage_options: tuple[tuple[str, Any], ...]) -> tuple[Any, str]:
    """fsspec's filesystem for ``url``; a protocol whose package is not installed, or that
    fsspec does not know, is one :class:`LoadError` naming what to install."""
    import fsspec

    protocol = url.partition("://")[0].lower()
    try:
        return fsspec.core.url_to_fs(url, **dict(storage_options))
    except ImportError as exc:
        package = _BACKENDS.get(protocol) or getattr(exc, "name", None)
        if package:
            reason = (f"reading {protocol}:// needs the {package} package:"
                      f" pip install {package}")
        else:
            reason = f"reading {protocol}:// needs a package that is not installed ({exc})"
        raise LoadError(reason, file=url) from None
    except ValueError as exc:  # "Protocol not known"
        raise LoadError(f"cannot read {protocol}:// URLs: {exc}", file=url) from None


def _unreachable(url: str, exc: BaseException) -> LoadError:
    text = str(exc) or type(exc).__name__
    return LoadError(f"cannot be reached: {text}", file=url)


def _skipped_dir(name: str) -> bool:
    return name.startswith(("_", "."))


def _walk(folder: str) -> list[str]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not _skipped_dir(d))
        for name in sorted(files):
            if not name.startswith(".") and _kind(name)[0] is not None:
                found.append(os.path.join(root, name))
    return found


def _local(item: str) -> list[SourceFile]:
    if _GLOB_CHARS & set(item):
        out: list[SourceFile] = []
        for match in sorted(globlib.glob(item, recursive=True)):
            if os.path.isdir(match):
                out.extend(_local_files(_walk(match)))
            elif _kind(match)[0] is not None and not os.path.basename(match).startswith("."):
                out.extend(_local_files([match]))
        if not out:
            raise SourceNotFoundError(item, "no log files found (the glob matches no .jsonl,"
                                            " .csv or .parquet file)")
        return out
    if os.path.isdir(item):
        return _local_files(_walk(item))
    if os.path.isfile(item):
        return _local_files([item], explicit=True)
    if os.path.islink(item):
        raise SourceNotFoundError(item, "a symbolic link to a file that does not exist")
    raise SourceNotFoundError(item)


def _typed(paths: Iterable[str], *, explicit: bool) -> list[tuple[str, Format, Compression]]:
    """Each path with its format and compression; a file named explicitly whatever its name
    is read as JSON Lines, others of an unknown kind are passed over."""
    out: list[tuple[str, Format, Compression]] = []
    for path in paths:
        fmt, compression = _kind(path)
        if fmt is None:
            if not explicit:
                continue
            fmt = "jsonl"  # ``callbacks.gz``: JSON Lines, still compressed
        out.append((path, fmt, compression))
    return out


def _local_files(paths: Iterable[str], *, explicit: bool = False) -> list[SourceFile]:
    return [SourceFile(path, fmt, compression)
            for path, fmt, compression in _typed(paths, explicit=explicit)]


def _remote(item: str, storage_options: tuple[tuple[str, Any], ...]) -> list[SourceFile]:
    fs, root = _filesystem(item, storage_options)
    try:
        return _remote_files(item, fs, root, storage_options)
    except LoadError:
        raise
    except FileNotFoundError:
        raise SourceNotFoundError(item) from None
    except Exception as exc:  # each backend has its own errors (aiohttp, botocore...)
        raise _unreachable(item, exc) from None


def _remote_files(item: str, fs: Any, root: str, storage_options: tuple[tuple[str, Any], ...]
                  ) -> list[SourceFile]:
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]

    def url(path: str) -> str:
        return fs.unstrip_protocol(path) if hasattr(fs, "unstrip_protocol") \
            else f"{protocol}://{path}"

    def files_under(folder: str) -> list[str]:
        found = []
        base = folder.rstrip("/")
        for path in sorted(fs.find(base)):
            parts = path[len(base):].strip("/").split("/")
            if any(_skipped_dir(p) for p in parts[:-1]) or parts[-1].startswith("."):
                continue
            if _kind(path)[0] is not None:
                found.append(path)
        return found

    if _GLOB_CHARS & set(root):
        paths = []
        for match in sorted(fs.glob(root)):
            if fs.isdir(match):
                paths.extend(files_under(match))
            elif _kind(match)[0] is not None:
                paths.append(match)
        if not paths:
            raise SourceNotFoundError(item, "no log files found (the glob matches no .jsonl,"
                                            " .csv or .parquet file)")
        explicit = False
    elif fs.isdir(root):
        paths, explicit = files_under(root), False
    elif fs.exists(root):
        paths, explicit = [root], True
    else:
        raise SourceNotFoundError(item)
    return [SourceFile(url(path), fmt, compression, url=True, storage_options=storage_options)
            for path, fmt, compression in _typed(paths, explicit=explicit)]


def resolve_sources(source: Any, *,
                    storage_options: Mapping[str, Any] | None = None) -> list[SourceFile]:
    """The files ``source`` names, each once, in a stable order.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ["b.jsonl", "a.csv.gz", "_rejected/x.jsonl", "notes.txt"]:
    ...     (folder / name).parent.mkdir(exist_ok=True)
    ...     _ = (folder / name).write_text("")
    >>> [(pathlib.Path(f.path).name, f.format, f.compression) for f in resolve_sources(folder)]
    [('a.csv.gz', 'csv', 'gzip'), ('b.jsonl', 'jsonl', None)]
    """
    options = tuple(sorted((storage_options or {}).items()))
    items: list[Any]
    if isinstance(source, str | os.PathLike):
        items = [source]
    elif isinstance(source, Iterable) and not isinstance(source, bytes | Mapping):
        items = list(source)
    else:
        raise TypeError("source: expected a path, a folder, a glob or a URL, or a list of them;"
                        f" got {type(source).__name__}")
    seen: set[str] = set()
    out: list[SourceFile] = []
    for item in items:
        if not isinstance(item, str | os.PathLike):
            raise TypeError(f"source: expected paths or URLs; got {type(item).__name__} {item!r}")
        text = os.fspath(item)
        files = _remote(text, options) if _is_url(text) else _local(text)
        for found in files:
            key = found.path if found.url else os.path.abspath(found.path)
            if key not in seen:
                seen.add(key)
                out.append(found)
    return out


def missing_file(source: SourceFile) -> SourceNotFoundError:
    """The error for a listed file that is gone when read (a dangling symbolic link, a log
    rotated away)."""
    if not source.url and os.path.islink(source.path):
        return SourceNotFoundError(source.name, "a symbolic link to a file that does not exist")
    return SourceNotFoundError(source.name, "no such file (was it removed while loading?)")


def open_binary(source: SourceFile, *, offset: int = 0) -> BinaryIO:
    """The file's (decompressed) bytes as a stream with ``read(n)``, from ``offset``.

    ``offset`` counts bytes of the file itself, so it only applies to uncompressed files.
    Compressed files are decoded a step at a time (:mod:`._decode`): when the data is cut
    short or damaged, every byte before the damage is read before the error is raised.
    """
    if source.url:
        fs, path = _filesystem(source.path, source.storage_options)
        if source.compression is None:
            raw: Any = fs.open(path, "rb")
            if offset:
                raw.seek(offset)
            return raw

        return decoded(lambda: fs.open(path, "rb"), source.compression)  # type: ignore[return-value]
    if source.compression is None:
        handle = open(source.path, "rb", buffering=0)  # noqa: SIM115 - the caller closes it
        if offset:
            handle.seek(offset)
        return handle
    return decoded(lambda: open(source.path, "rb"), source.compression)  # type: ignore[return-value]
