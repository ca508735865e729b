"""The watched folders of a person's offices: what waits in each, what came last, what failed."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings

from backoffice.services.people import FOLDER_ROLES, Person
from backoffice.services.refused import REFUSED_OUTCOMES
from dossiers.models import Office
from dossiers.services.access import offices
from watch_folders.models import Intake
from watch_folders.stability import is_partial

__all__ = [
    "ENTRIES_SHOWN",
    "FOLDERS_SHOWN",
    "REFUSED_SHOWN",
    "REFUSED_WINDOW",
    "Waiting",
    "WatchedFolder",
    "watched_folders",
]

FOLDERS_SHOWN = 50
"""Most offices' folders on the page (a province administrator sees many)."""

ENTRIES_SHOWN = 50
"""Most waiting entries listed per folder; the page says when there are more."""

REFUSED_SHOWN = 5
"""Newest refusals listed per folder."""

REFUSED_WINDOW = timedelta(days=30)
"""Refusals counted per folder: those of the last 30 days."""


@dataclass(frozen=True)
class Waiting:
    name: str
    is_folder: bool
    files: int
    changed_at: datetime
    partial: bool
    """A copy still under way (``.part``, ``~$`` …): the watcher waits for it."""


@dataclass(frozen=True)
class WatchedFolder:
    office: Office
    label: str
    """``inbox/<office>/``, as the clerk's shared folder is named."""

    exists: bool
    waiting: list[Waiting]
    more_waiting: bool
    last_seen: Intake | None
    refused: list[Intake]
    refused_count: int


def _waiting(folder: Path) -> tuple[list[Waiting], bool]:
    """Entries of ``folder`` not claimed yet, oldest change first, at most ENTRIES_SHOWN."""
    found: list[Waiting] = []
    more = False
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if len(found) == ENTRIES_SHOWN:
                    more = True
                    break
                found.append(_entry(entry))
    except FileNotFoundError:
        return [], False
    return sorted(found, key=lambda w: w.changed_at), more


def _entry(entry: os.DirEntry[str]) -> Waiting:
    st = entry.stat(follow_symlinks=False)
    files = 0
    changed = st.st_mtime
    partial = is_partial(entry.name)
    if entry.is_dir(follow_symlinks=False):
        with os.scandir(entry.path) as inside:
            for n, child in enumerate(inside):
                if n >= 1000:
                    break
                if child.name.startswith(".") or not child.is_file(follow_symlinks=False):
                    continue
                files += 1
                changed = max(changed, child.stat(follow_symlinks=False).st_mtime)
                partial = partial or is_partial(child.name)
    else:
        files = 1
    return Waiting(
        name=entry.name,
        is_folder=entry.is_dir(follow_symlinks=False),
        files=files,
        changed_at=datetime.fromtimestamp(changed, tz=UTC),
        partial=partial,
    )


def _one(office: Office, now: datetime) -> WatchedFolder:
    folder = Path(settings.INBOX_DIR) / office.code
    waiting, more = _waiting(folder)
    intakes = Intake.objects.filter(office_code=office.code)
    refused = intakes.filter(outcome__in=REFUSED_OUTCOMES, claimed_at__gte=now - REFUSED_WINDOW)
    return WatchedFolder(
        office=office,
        label=f"inbox/{office.code}/",
        exists=folder.is_dir(),
        waiting=waiting,
        more_waiting=more,
        last_seen=intakes.order_by("-claimed_at", "-pk").first(),
        refused=list(refused.order_by("-claimed_at", "-pk")[:REFUSED_SHOWN]),
        refused_count=refused.count(),
    )


def watched_folders(user: Person, now: datetime) -> list[WatchedFolder]:
    """Each watched folder of the offices where the person holds a folder role."""
    return [
        _one(office, now)
        for office in offices(user, *FOLDER_ROLES).order_by("code")[:FOLDERS_SHOWN]
    ]
