"""The claim journal: what a claim takes out of a watched folder, written before it is taken.

A claim is written to ``intake/.claims/<id>.json`` (atomically, flushed to disk) before
its first file moves, and removed once its rows are committed and its refusals are in
failed/. A watcher killed in between finds the journal at its next start and finishes
the claim (:mod:`watch_folders.services.recovery`) instead of handing it back to the clerk.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from core.files import write_atomically
from watch_folders.entries import move_entry
from watch_folders.layouts import FolderConfig

__all__ = [
    "HIDDEN_PREFIX",
    "Claim",
    "close_claim",
    "journal_dir",
    "open_claim",
    "pending_claims",
    "take",
]

log = logging.getLogger(__name__)

HIDDEN_PREFIX = ".motcua-"
"""A taken entry first gets a hidden name in its own folder (one atomic rename, so two
watchers never both take it), then moves into the archive, across disks if need be."""


@dataclass(frozen=True)
class Claim:
    claim_id: str
    """32 hex digits; its first 12 prefix the archive folder's name."""

    office_code: str
    layout: str
    name: str
    """The name the clerk gave: the dossier folder's, the batch file's, the loose code."""

    target: str
    """The archive folder the claim fills."""

    moves: tuple[tuple[str, str], ...]
    """Each entry taken, from the watched folder to its place in the archive."""

    watched: str
    """The watched folder it came from (where a hard link's other names may lie)."""

    action: str = "folder"
    """What finishes it: ``folder`` (a dossier's folder), ``loose`` (a code's loose files),
    ``batch`` (a scanner's stack) or ``refuse`` (a file no layout takes, for ``reason``)."""

    reason: str = ""
    """For ``refuse``: why, in the clerk's words."""

    folder_id: int | None = None
    procedure_code: str = ""

    @property
    def config(self) -> FolderConfig:
        """The watched folder's configuration, as far as the claim needs it."""
        return FolderConfig(
            path=Path(self.watched),
            office_code=self.office_code,
            layout=self.layout,
            procedure_code=self.procedure_code,
            folder_id=self.folder_id,
        )


def journal_dir() -> Path:
    """Where open claims are written."""
    return Path(settings.INTAKE_DIR) / ".claims"


def _archive_day() -> Path:
    day = Path(settings.INTAKE_DIR) / datetime.now(UTC).strftime("%Y/%m/%d")
    day.mkdir(parents=True, exist_ok=True)
    return day


def open_claim(
    config: FolderConfig,
    name: str,
    entries: list[tuple[Path, str]],
    *,
    action: str,
    reason: str = "",
) -> Claim:
    """Write the journal of a claim taking ``entries`` (each with its name in the archive).

    For ``folder`` the one entry becomes the archive folder itself; otherwise the
    entries go inside a new archive folder (a batch, loose files, a refused file).
    """
    whole_folder = action == "folder"
    claim_id = uuid.uuid4().hex
    # The prefix keeps same-named drops apart; dossiers.files.original_name takes it off.
    target = _archive_day() / f"{claim_id[:12]}-{name}"
    moves = (
        ((str(entries[0][0]), str(target)),)
        if whole_folder
        else tuple((str(src), str(target / dest)) for src, dest in entries)
    )
    claim = Claim(
        claim_id=claim_id,
        office_code=config.office_code,
        layout=config.layout,
        name=name,
        target=str(target),
        moves=moves,
        watched=str(config.path),
        action=action,
        reason=reason,
        folder_id=config.folder_id,
        procedure_code=config.procedure_code,
    )
    journal = journal_dir()
    journal.mkdir(parents=True, exist_ok=True)
    data = json.dumps(asdict(claim), ensure_ascii=False).encode("utf-8")
    write_atomically(journal / f"{claim_id}.json", data)
    return claim


def _hidden(src: Path, claim_id: str) -> Path:
    return src.with_name(f"{HIDDEN_PREFIX}{claim_id[:12]}-{src.name}")


def take(claim: Claim) -> bool:
    """Move the claim's entries into the archive; False when none was there to take.

    Done again after a crash, it finishes what was left: an entry already in the archive
    stays, one under its hidden name moves on, one still in the watched folder is taken.
    """
    target = Path(claim.target)
    if not (len(claim.moves) == 1 and claim.moves[0][1] == claim.target):
        target.mkdir(parents=True, exist_ok=True)
    took = False
    for source, dest in claim.moves:
        src, hidden, to = Path(source), _hidden(Path(source), claim.claim_id), Path(dest)
        if not os.path.lexists(hidden):
            if os.path.lexists(to):
                took = True
                continue
            try:
                os.rename(src, hidden)
            except FileNotFoundError:
                continue  # another watcher took it, or the clerk moved it away
        move_entry(hidden, to)
        took = True
    return took


def close_claim(claim: Claim) -> None:
    """Forget a finished claim."""
    (journal_dir() / f"{claim.claim_id}.json").unlink(missing_ok=True)


def pending_claims() -> list[Claim]:
    """The claims a stopped watcher left open, oldest first."""
    folder = journal_dir()
    if not folder.is_dir():
        return []
    claims = []
    for path in sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime):
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            raw["moves"] = tuple(tuple(pair) for pair in raw["moves"])
            claims.append(Claim(**raw))
        except (ValueError, TypeError, KeyError):
            log.error("unreadable claim journal %s left as it is", path)
    return claims
