"""What may be claimed: unsafe entries (links, pipes, devices) named, and moves across disks."""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Iterable
from pathlib import Path

__all__ = ["LINK_SEARCH_LIMIT", "describe_unsafe", "move_entry", "unsafe_entries"]

LINK_SEARCH_LIMIT = 20_000
"""Entries looked at under the watched folder when finding a hard link's other names."""


def _kind(mode: int) -> str | None:
    """Why an entry of this mode is not a scan, in Vietnamese; None for a file or folder."""
    if stat.S_ISLNK(mode):
        return "liên kết tượng trưng (symlink)"
    if stat.S_ISFIFO(mode):
        return "ống dẫn (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "tệp thiết bị"
    if stat.S_ISSOCK(mode):
        return "socket"
    return None


def _walk(root: Path) -> Iterable[tuple[Path, os.stat_result]]:
    """Every entry at or under ``root`` with its lstat, never following a link."""
    try:
        st = root.lstat()
    except FileNotFoundError:
        return
    yield root, st
    if stat.S_ISDIR(st.st_mode):
        for child in sorted(root.iterdir()):
            yield from _walk(child)


def _names_of(inodes: set[tuple[int, int]], roots: Iterable[Path]) -> dict[tuple[int, int], int]:
    """How many names of each inode lie under ``roots`` (bounded by LINK_SEARCH_LIMIT)."""
    found: dict[tuple[int, int], int] = dict.fromkeys(inodes, 0)
    seen = 0
    for root in roots:
        for _path, st in _walk(root):
            seen += 1
            if seen > LINK_SEARCH_LIMIT:
                return found
            key = (st.st_dev, st.st_ino)
            if key in found and stat.S_ISREG(st.st_mode):
                found[key] += 1
    return found


def unsafe_entries(entry: Path, roots: Iterable[Path], shown: str) -> list[tuple[str, str]]:
    """Entries at or under ``entry`` that are no scan: (name as the clerk knows it, ``shown``
    being ``entry``'s, why). A symlink, FIFO, device or socket is named as such (none is
    followed or read); a file with more names than ``roots`` (the watched folder, where
    ``entry`` came from) hold is a hard link to a file elsewhere. Nothing is opened, so a
    FIFO cannot hang it.
    """
    found: list[tuple[str, str]] = []
    linked: dict[tuple[int, int], tuple[str, int]] = {}
    for path, st in _walk(entry):
        inside = path.relative_to(entry)
        name = shown if inside == Path() else f"{shown}/{inside}"
        why = _kind(st.st_mode)
        if why is not None:
            found.append((name, why))
        elif stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
            linked[(st.st_dev, st.st_ino)] = (name, st.st_nlink)
    if linked:
        counts = _names_of(set(linked), [entry, *roots])
        for key, (name, nlink) in linked.items():
            if counts[key] < nlink:
                found.append((name, "liên kết cứng tới tệp nằm ngoài thư mục tiếp nhận"))
    return sorted(found)


def describe_unsafe(found: list[tuple[str, str]], limit: int = 5) -> str:
    """A clerk's sentence naming the first few unsafe entries."""
    listed = "; ".join(f"'{name}' là {why}" for name, why in found[:limit])
    more = f" và {len(found) - limit} mục khác" if len(found) > limit else ""
    return (
        f"Có mục không phải bản quét: {listed}{more}. Máy không đọc các mục này. Hãy chép "
        "chính tệp ảnh quét (không dùng lối tắt, liên kết hay tệp đặc biệt) rồi đặt lại."
    )


def _copy_tree(src: Path, dest: Path) -> None:
    """Copy ``src`` to ``dest`` across disks: files, folders, links kept as links, FIFOs
    made anew; devices and sockets are not copied (they carry no scan)."""
    st = src.lstat()
    if stat.S_ISDIR(st.st_mode):
        dest.mkdir(exist_ok=True)
        for child in sorted(src.iterdir()):
            _copy_tree(child, dest / child.name)
    elif stat.S_ISLNK(st.st_mode):
        dest.unlink(missing_ok=True)
        os.symlink(os.readlink(src), dest)
    elif stat.S_ISFIFO(st.st_mode):
        dest.unlink(missing_ok=True)
        os.mkfifo(dest)
    elif stat.S_ISREG(st.st_mode):
        shutil.copyfile(src, dest, follow_symlinks=False)
        with dest.open("rb") as handle:
            os.fsync(handle.fileno())


def _remove_tree(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def move_entry(src: Path, dest: Path) -> None:
    """Move a file or folder to ``dest``: one rename on one disk; across disks (a share)
    a copy flushed to disk, then the source removed. ``dest`` must not exist, except as
    the leftover of a move a crash interrupted, which is redone over it."""
    try:
        os.rename(src, dest)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    _copy_tree(src, dest)
    _remove_tree(src)
