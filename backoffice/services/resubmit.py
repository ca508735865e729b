"""Sending a fixed scan back in: its folder moves from failed/ into its office's inbox.

The watcher then claims it as if the clerk had dropped it again; SHA-256 dedupe lets it
through, because the earlier attempt was refused (no fingerprint kept) or its document
FAILED (``watch_folders.services.claim`` ignores failed and rejected documents).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from pathlib import Path

from django.conf import settings
from django.db import transaction

from backoffice.services.refused import kept_scans
from core.errors import PipelineError
from core.files import fsync_folder
from dossiers.models import Document, Dossier
from dossiers.services.workflow import record_event
from watch_folders.models import Intake

__all__ = ["RESUBMITTED", "ResubmitError", "resubmit_document", "resubmit_intake"]

log = logging.getLogger(__name__)

RESUBMITTED = "resubmitted"
"""The event kind recorded on the dossier ("Nộp lại bản quét đã sửa")."""


class ResubmitError(PipelineError):
    """The scans cannot go back into the inbox; ``message_vi`` tells the clerk why."""

    default_message_vi = "Không gửi lại được bản quét."


def _move_back(scans: Path, office_code: str) -> Path:
    """Move the folder ``scans`` into ``inbox/<office_code>/`` under its own name.

    It arrives in one rename from a hidden name the watcher skips, so the watcher never
    sees half a folder, even when failed/ and the inbox lie on different disks.
    """
    name = scans.name
    if not scans.is_dir():
        raise ResubmitError("Chỉ gửi lại được một thư mục bản quét, không phải một tệp lẻ.")
    if name.startswith(".") or os.sep in name or not office_code or os.sep in office_code:
        raise ResubmitError(f"Tên thư mục '{name}' không hợp lệ để đặt lại vào thư mục tiếp nhận.")
    inbox = Path(settings.INBOX_DIR) / office_code
    inbox.mkdir(parents=True, exist_ok=True)
    dest = inbox / name
    if dest.exists():
        raise ResubmitError(
            f"Thư mục tiếp nhận đã có thư mục '{name}'; chờ máy nhận xong rồi gửi lại."
        )
    staging = inbox / f".{name}.gui-lai-{secrets.token_hex(4)}"
    shutil.move(str(scans), str(staging))
    os.rename(staging, dest)
    fsync_folder(inbox)
    fsync_folder(scans.parent)
    return dest


def _scans_of(item: Intake | Document) -> Path:
    scans = kept_scans(item)
    if scans is None:
        raise ResubmitError(
            "Bản quét không còn trong thư mục lỗi (đã được gửi lại hoặc đã dọn đi)."
        )
    return scans


def resubmit_intake(intake: Intake, actor: str) -> Path:
    """Send a folder refused at claiming back into its office's inbox; return where it went.

    When its dossier is known in that office, the dossier's timeline records it.
    """
    scans = _scans_of(intake)
    dossier = Dossier.objects.filter(
        code=intake.dossier_code, office__code=intake.office_code
    ).first()
    with transaction.atomic():
        if dossier is not None:
            record_event(
                dossier,
                RESUBMITTED,
                actor=actor,
                detail={"intake": intake.pk, "folder": scans.name},
            )
        dest = _move_back(scans, intake.office_code)
    log.info("intake %s resubmitted by %s into %s", intake.pk, actor, dest)
    return dest


def resubmit_document(document: Document, actor: str) -> Path:
    """Send the scans of a FAILED document back into its office's inbox, recorded on it."""
    scans = _scans_of(document)
    dossier = document.dossier
    with transaction.atomic():
        record_event(
            dossier,
            RESUBMITTED,
            document=document,
            actor=actor,
            detail={"document": document.pk, "folder": scans.name},
        )
        dest = _move_back(scans, dossier.office.code)
    log.info("document %s resubmitted by %s into %s", document.pk, actor, dest)
    return dest
