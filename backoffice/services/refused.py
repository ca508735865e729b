"""The refused scans of a person's offices: what was refused, why, and whether it can go back."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from django.conf import settings
from django.db.models import QuerySet

from backoffice.services.people import Person
from dossiers.models import Document, DocumentState, Role
from dossiers.services.access import offices, scope
from watch_folders.models import Intake

__all__ = [
    "LOOKED_AT",
    "REFUSED_OUTCOMES",
    "Refusal",
    "failed_documents",
    "kept_scans",
    "list_refusals",
    "office_codes",
    "refused_intakes",
]

LOOKED_AT = 200
"""Newest refusals of each kind looked at per request (each costs a look at the disk)."""

REFUSED_OUTCOMES = (Intake.Outcome.REFUSED, Intake.Outcome.DUPLICATE)

Kind = Literal["intake", "document"]


@dataclass(frozen=True)
class Refusal:
    kind: Kind
    """``intake``: refused when claimed; ``document``: failed while being digitized."""

    pk: int
    office_code: str
    name: str
    """The folder's (or loose file's) name, as the clerk gave it."""

    dossier_code: str
    reason: str
    outcome: str
    at: datetime
    is_folder: bool
    """A folder of scans can be sent back in; a loose file cannot."""


def office_codes(user: Person, *roles: Role) -> list[str]:
    """The codes of the offices where the person holds one of ``roles``."""
    return list(offices(user, *roles).values_list("code", flat=True))


def _inside_failed(path: Path) -> bool:
    # The folder holding the entry is resolved, not the entry: a refused symlink stays
    # listed (where it points does not matter), and is never followed.
    try:
        return (path.parent.resolve() / path.name).is_relative_to(
            Path(settings.FAILED_DIR).resolve()
        )
    except OSError:
        return False


def _scans_path(item: Intake | Document) -> Path:
    if isinstance(item, Intake):
        return Path(item.path) / item.folder_name  # failed/<office>/<stamp>-<name>/<name>
    return Path(item.source_dir)  # failed/<stamp>-<name>/<name> (workflow.fail_document)


def kept_scans(item: Intake | Document) -> Path | None:
    """Where the refused scans still lie in failed/, or None once they are gone from there."""
    path = _scans_path(item)
    # lexists: a refused symlink, FIFO or device is listed too, and never opened.
    return path if os.path.lexists(path) and _inside_failed(path) else None


def refused_intakes(user: Person, *roles: Role) -> QuerySet[Intake]:
    """Entries refused when claimed: unknown dossier, wrong office, duplicate, loose file,
    a symlink, FIFO, device or outside hard link, a sidecar that does not register, a
    scanner batch's pages without a sheet or under an unknown code (one row a part)."""
    return Intake.objects.filter(
        outcome__in=REFUSED_OUTCOMES, office_code__in=office_codes(user, *roles)
    )


def failed_documents(user: Person, *roles: Role) -> QuerySet[Document]:
    """Documents that failed while being digitized (their scans went to failed/)."""
    return scope(
        Document.objects.filter(state=DocumentState.FAILED), user, *roles, via="dossier__office"
    )


def _from_intake(intake: Intake, scans: Path) -> Refusal:
    return Refusal(
        kind="intake",
        pk=intake.pk,
        office_code=intake.office_code,
        name=intake.folder_name,
        dossier_code=intake.dossier_code,
        reason=intake.reason,
        outcome=intake.get_outcome_display(),
        at=intake.claimed_at,
        is_folder=scans.is_dir() and not scans.is_symlink(),
    )


def _from_document(document: Document, scans: Path) -> Refusal:
    return Refusal(
        kind="document",
        pk=document.pk,
        office_code=document.dossier.office.code,
        name=scans.name,
        dossier_code=document.dossier.code,
        reason=document.reason,
        outcome=str(DocumentState.FAILED.label),
        at=document.state_changed_at,
        is_folder=scans.is_dir(),
    )


def list_refusals(user: Person, *roles: Role) -> list[Refusal]:
    """The refusals whose scans still wait in failed/, newest first.

    Once a folder is sent back in (or the administrator clears failed/) it leaves the
    list; only the newest :data:`LOOKED_AT` of each kind are looked at.
    """
    found: list[Refusal] = []
    for intake in refused_intakes(user, *roles).order_by("-claimed_at", "-pk")[:LOOKED_AT]:
        scans = kept_scans(intake)
        if scans is not None:
            found.append(_from_intake(intake, scans))
    documents = failed_documents(user, *roles).select_related("dossier__office")
    for document in documents.order_by("-state_changed_at", "-pk")[:LOOKED_AT]:
        scans = kept_scans(document)
        if scans is not None:
            found.append(_from_document(document, scans))
    return sorted(found, key=lambda r: r.at, reverse=True)
