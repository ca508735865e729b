"""Atomic file writes: a temporary name unique per call, fsync, rename, fsync the folder."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_path", "atomic_write", "fsync_folder", "write_atomically"]


def _temp_beside(path: Path) -> Path:
    """A hidden name beside ``path``, unique per call (process, thread and retry alike)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")


def fsync_folder(folder: Path) -> None:
    """Flush a folder's entries to disk, so that a rename into it survives a power cut."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: Path, *, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on a clean exit it replaces ``path``.

    For writers that need a path (an image encoder, a hard link). Readers never see
    a half-written ``path``: it is the old file or the whole new one. With ``durable``
    the file and then the folder are flushed to disk (working files that a retry
    rebuilds may skip it). On any error the temporary file is removed and ``path``
    is left as it was. The folder must exist: a missing one is an error, not created.
    """
    temp = _temp_beside(path)
    try:
        yield temp
        if durable:
            fd = os.open(temp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(temp, path)
        if durable:
            fsync_folder(path.parent)
    finally:
        temp.unlink(missing_ok=True)


@contextmanager
def atomic_write(path: Path, *, durable: bool = True, mode: int = 0o666) -> Iterator[BinaryIO]:
    """Yield a binary file to write; on a clean exit it replaces ``path`` atomically.

    The file is created with ``mode`` (less the umask): ``0o600`` for keys and secrets,
    so they are never readable by others, not even for an instant.
    """
    with atomic_path(path, durable=durable) as temp:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        with os.fdopen(fd, "wb") as handle:
            yield handle


def write_atomically(path: Path, data: bytes, *, durable: bool = True, mode: int = 0o666) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`); return ``path``."""
    with atomic_write(path, durable=durable, mode=mode) as handle:
        handle.write(data)
    return path
