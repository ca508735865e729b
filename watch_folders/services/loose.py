"""Loose files: scans named by a pattern (``HS-0001_1.jpg``, ``HS-0001_2.jpg``), one dossier
each code, closed when its files have stayed quiet for the settle time."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from watch_folders.layouts import FolderConfig, LoosePattern
from watch_folders.services.claim import ClaimResult, process_folder, refuse_loose_file
from watch_folders.services.journal import Claim, close_claim, open_claim, take
from watch_folders.services.sidecar import SIDECAR_NAMES

__all__ = ["LooseGroup", "claim_loose", "group_loose", "resume_loose", "unmatched_reason"]


@dataclass
class LooseGroup:
    """The loose files of one dossier code in a watched folder."""

    code: str
    pages: list[tuple[int, Path]] = field(default_factory=list)
    sidecar: Path | None = None

    @property
    def paths(self) -> list[Path]:
        """The pages in page order (then by name), then the sidecar."""
        ordered = [path for _n, path in sorted(self.pages, key=lambda p: (p[0], p[1].name))]
        return ordered + ([self.sidecar] if self.sidecar is not None else [])


def group_loose(
    names: list[Path], pattern: LoosePattern
) -> tuple[dict[str, LooseGroup], list[Path]]:
    """Group a folder's files by the code in their names; the rest, unmatched."""
    groups: dict[str, LooseGroup] = {}
    unmatched: list[Path] = []
    for path in names:
        sidecar = pattern.sidecar_code(path.name)
        found = pattern.match(path.name) if sidecar is None else None
        if sidecar is not None:
            groups.setdefault(sidecar, LooseGroup(sidecar)).sidecar = path
        elif found is not None:
            code, number = found
            groups.setdefault(code, LooseGroup(code)).pages.append((number, path))
        else:
            unmatched.append(path)
    return groups, unmatched


def unmatched_reason(path: Path, config: FolderConfig) -> str:
    """Why a file in a loose-files folder is not taken, and what to do."""
    return (
        f"Tên tệp '{path.name}' không theo mẫu '{config.pattern}' của thư mục (ví dụ "
        f"{config.pattern.replace('<code>', 'HS-0001').replace('<n>', '1').replace('<ext>', 'jpg')}"
        "). Hãy đổi tên tệp theo mẫu rồi đặt lại."
    )


def resume_loose(claim: Claim) -> ClaimResult:
    """Finish a loose group's claim whose files are in the archive."""
    return process_folder(claim, Path(claim.target), claim.name)


def claim_loose(group: LooseGroup, config: FolderConfig) -> ClaimResult:
    """Take a quiet group of loose files into one archive folder, pages in order.

    Each page is renamed ``0001_<its name>`` … by its number, so the digitizer, which
    reads a folder's files by name, keeps the order; the sidecar becomes ``dossier.json``.
    """
    if not group.pages:
        return refuse_loose_file(
            group.paths[0],
            config.office_code,
            config,
            f"Chỉ có tệp '{group.paths[0].name}', chưa có bản quét nào của hồ sơ {group.code}. "
            "Hãy đặt tệp cùng lúc với bản quét.",
        )
    entries = [(path, f"{index:04d}_{path.name}") for index, path in enumerate(group.paths, 1)]
    if group.sidecar is not None:
        suffix = group.sidecar.suffix.lower()
        entries[-1] = (group.sidecar, next(n for n in SIDECAR_NAMES if n.endswith(suffix)))
    claim = open_claim(config, group.code, entries, action="loose")
    try:
        if not take(claim):
            return ClaimResult(outcome="gone", path=config.path / group.code)
        return resume_loose(claim)
    finally:
        close_claim(claim)
