"""Watched folders as plain data: layouts, loose-file name patterns, network shares, overlaps."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_PATTERN",
    "DOSSIER_FOLDERS",
    "INCOMING",
    "LOOSE_FILES",
    "NETWORK_FS",
    "RESULTS",
    "SCANNER_BATCHES",
    "FolderConfig",
    "LoosePattern",
    "is_network_path",
    "overlaps",
]

DOSSIER_FOLDERS = "folders"
"""Layout: one folder a dossier, named by its code (``inbox/<office>/<code>/``)."""

LOOSE_FILES = "loose"
"""Layout: loose files named by a pattern (``HS-0001_1.jpg``, ``HS-0001_2.jpg``)."""

SCANNER_BATCHES = "batches"
"""Layout: a PDF or multi-page TIFF a stack, split at receipts and separator sheets."""

INCOMING = "incoming"
"""Kind: incoming papers, to digitize."""

RESULTS = "results"
"""Kind: results to sign (recorded only: the signing intake from a folder does not exist yet)."""

DEFAULT_PATTERN = "<code>_<n>.<ext>"
"""The default name of a loose file: dossier code, page number, extension."""

NETWORK_FS = frozenset(
    {"nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "9p", "afs", "ceph", "glusterfs",
     "fuse.sshfs", "fuse.glusterfs", "fuse.rclone", "davfs", "fuse.davfs2", "lustre", "gpfs"}
)  # fmt: skip
"""File systems from /proc/mounts on which inotify sees nobody else's writes: polled."""

_PLACEHOLDERS = {
    "<code>": r"(?P<code>[^/\\]+?)",
    "<n>": r"(?P<n>\d{1,6})",
    "<ext>": r"(?P<ext>[A-Za-z0-9]{1,5})",
}


class LoosePattern:
    """A loose file's name pattern: ``<code>``, ``<n>`` and ``<ext>`` in literal text."""

    def __init__(self, pattern: str = DEFAULT_PATTERN) -> None:
        self.pattern = pattern.strip() or DEFAULT_PATTERN
        missing = [p for p in ("<code>", "<n>") if self.pattern.count(p) != 1]
        if missing or self.pattern.count("<ext>") > 1 or "/" in self.pattern:
            raise ValueError(
                f"Mẫu tên tệp '{self.pattern}' phải có đúng một <code> và một <n> "
                "(ví dụ <code>_<n>.<ext>), không có dấu /."
            )
        pieces = re.split(r"(<code>|<n>|<ext>)", self.pattern)
        regex = "".join(_PLACEHOLDERS.get(piece, re.escape(piece)) for piece in pieces)
        self._regex = re.compile(regex, re.IGNORECASE)

    def match(self, name: str) -> tuple[str, int] | None:
        """The dossier code and page number a file name carries, or None."""
        found = self._regex.fullmatch(name)
        if found is None:
            return None
        return found.group("code"), int(found.group("n"))

    def sidecar_code(self, name: str) -> str | None:
        """The code of a sidecar beside loose files (``<code>.json``, ``<code>.csv``)."""
        stem, dot, ext = name.rpartition(".")
        return stem if dot and stem and ext.lower() in {"json", "csv"} else None


@dataclass(frozen=True)
class FolderConfig:
    """One watched folder as the watcher uses it."""

    path: Path
    """The folder watched."""

    office_code: str
    """The office whose scans arrive there."""

    layout: str = DOSSIER_FOLDERS
    """:data:`DOSSIER_FOLDERS`, :data:`LOOSE_FILES` or :data:`SCANNER_BATCHES`."""

    kind: str = INCOMING
    """:data:`INCOMING` or :data:`RESULTS`."""

    pattern: str = DEFAULT_PATTERN
    """Loose files' name pattern (:class:`LoosePattern`)."""

    procedure_code: str = ""
    """The procedure a sidecar without one registers its dossier under."""

    settle_s: float | None = None
    """Seconds a dossier stays quiet before it is claimed; None: the service's setting."""

    polling: bool = False
    """Poll instead of waiting for inotify events (a network share)."""

    folder_id: int | None = None
    """The configuration row's id; None for an office's default inbox folder."""


def _unescape(field: str) -> str:
    """A /proc/mounts field with its octal escapes (\\040 for a space) decoded."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mount_type(path: Path, mounts: str) -> str:
    """The file system type of the mount holding ``path``, from /proc/mounts' text."""
    best, kind = "", ""
    target = str(path)
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = _unescape(fields[1])
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind


def is_network_path(path: Path, mounts_file: Path = Path("/proc/mounts")) -> bool:
    """Whether ``path`` lies on a network file system (SMB, NFS …), where events miss."""
    try:
        mounts = mounts_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    kind = mount_type(Path(os.path.realpath(path)), mounts)
    return kind in NETWORK_FS or kind.startswith("fuse.sshfs")


def _within(inner: Path, outer: Path) -> bool:
    return inner == outer or inner.is_relative_to(outer)


def overlaps(watched: Iterable[Path], outputs: dict[str, Path]) -> list[str]:
    """Why this configuration cannot run, in Vietnamese: an output folder inside a watched
    one (or a watched one inside an output), or one watched folder inside another."""
    real = [Path(os.path.realpath(p)) for p in watched]
    problems = [
        f"Thư mục {label} ({out}) nằm trong thư mục theo dõi {folder}."
        if _within(Path(os.path.realpath(out)), folder)
        else f"Thư mục theo dõi {folder} nằm trong thư mục {label} ({out})."
        for folder in real
        for label, out in outputs.items()
        if _within(Path(os.path.realpath(out)), folder)
        or _within(folder, Path(os.path.realpath(out)))
    ]
    problems += [
        f"Thư mục theo dõi {inner} nằm trong thư mục theo dõi {outer}."
        for i, inner in enumerate(real)
        for j, outer in enumerate(real)
        if i != j and _within(inner, outer) and (inner != outer or i > j)
    ]
    return problems
