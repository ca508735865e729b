"""File stability: a folder is ready once its listing has stayed quiet for a delay."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

#: Names that mean a copy is still under way, or that are not scans at all.
PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".filepart", ".download")

Signature = tuple[tuple[str, int, int], ...]


def is_partial(name: str) -> bool:
    """Tell whether a file name looks like an unfinished copy."""
    lower = name.lower()
    return lower.endswith(PARTIAL_SUFFIXES) or lower.startswith("~$")


def folder_signature(folder: Path) -> Signature | None:
    """Names, sizes and mtimes of a folder's visible entries; None if not ready to read.

    A folder holding an unfinished copy, or no entry but folders, has no signature. A
    symlink, FIFO or device counts (with size -1, never followed or opened), so a folder
    holding one is claimed and refused with its reason instead of waiting forever.
    """
    entries: list[tuple[str, int, int]] = []
    try:
        with os.scandir(folder) as it:
            for entry in it:
                if entry.name.startswith(".") or entry.is_dir(follow_symlinks=False):
                    continue
                if is_partial(entry.name):
                    return None
                st = entry.stat(follow_symlinks=False)
                size = st.st_size if entry.is_file(follow_symlinks=False) else -1
                entries.append((entry.name, size, st.st_mtime_ns))
    except (FileNotFoundError, NotADirectoryError):
        return None
    if not entries:
        return None
    return tuple(sorted(entries))


@dataclass
class StabilityTracker:
    """Remember when each folder last changed; report those quiet for ``settle_s``."""

    settle_s: float
    clock: Callable[[], float]
    _seen: dict[Path, tuple[Signature, float]] = field(default_factory=dict)

    def observe(self, folder: Path, signature: Signature | None) -> bool:
        """Record the folder's current signature; True once it has been quiet long enough."""
        now = self.clock()
        if signature is None:
            self._seen.pop(folder, None)
            return False
        previous = self._seen.get(folder)
        if previous is None or previous[0] != signature:
            self._seen[folder] = (signature, now)
            return self.settle_s <= 0
        return now - previous[1] >= self.settle_s

    def forget(self, folder: Path) -> None:
        """Stop tracking a folder (claimed, moved or gone)."""
        self._seen.pop(folder, None)

    def prune(self, present: set[Path]) -> None:
        """Drop folders that no longer exist."""
        for folder in list(self._seen):
            if folder not in present:
                del self._seen[folder]
