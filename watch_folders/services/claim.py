"""Claiming a quiet inbox folder: validate, fingerprint, dedupe, hand over to digitizing."""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction

from core.queue import enqueue
from dossiers.files import original_name, quarantine, sha256_file
from dossiers.models import Document, DocumentState, Dossier
from dossiers.services.workflow import record_event, start_processing
from watch_folders.models import Intake

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClaimResult:
    outcome: str
    path: Path
    document_id: int | None = None
    reason_vi: str = ""


def _fingerprint(folder: Path) -> tuple[list[dict[str, object]], str]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    listing = [{"name": p.name, "size": p.stat().st_size, "sha256": sha256_file(p)} for p in files]
    combined = hashlib.sha256(
        "\n".join(sorted(str(f["sha256"]) for f in listing)).encode()
    ).hexdigest()
    return listing, combined


def _refuse(
    path: Path, office_code: str, reason_vi: str, outcome: str, name: str | None = None
) -> ClaimResult:
    # Refused entries keep the clerk's name in failed/, so they can be dropped again as is.
    name = name or path.name
    kept = quarantine(path, Path(settings.FAILED_DIR) / office_code, reason_vi, name=name)
    Intake.objects.create(
        office_code=office_code,
        dossier_code=name,
        folder_name=name,
        path=str(kept),
        sha256="",
        outcome=outcome,
        reason=reason_vi,
    )
    log.warning("intake refused: %s/%s: %s", office_code, name, reason_vi)
    return ClaimResult(outcome=outcome, path=kept, reason_vi=reason_vi)


def claim_folder(folder: Path, office_code: str) -> ClaimResult:
    """Take a finished dossier folder out of the inbox and create its document.

    The folder is first renamed into the intake archive (atomic on one file
    system, so two watchers cannot both take it); its rows are then written in one
    transaction and digitizing is enqueued after commit. A folder that cannot be
    accepted goes to failed/ with the reason; nothing is deleted.
    """
    claimed = Path(settings.INTAKE_DIR) / datetime.now(UTC).strftime("%Y/%m/%d")
    claimed.mkdir(parents=True, exist_ok=True)
    # The prefix keeps same-named drops apart; dossiers.files.original_name takes it off.
    target = claimed / f"{uuid.uuid4().hex[:12]}-{folder.name}"
    try:
        os.rename(folder, target)
    except FileNotFoundError:
        return ClaimResult(outcome="gone", path=folder)
    dossier_code = folder.name
    dossier = Dossier.objects.select_related("office").filter(code=dossier_code).first()
    if dossier is None:
        return _refuse(
            target,
            office_code,
            f"Không tìm thấy hồ sơ mã '{dossier_code}'. Hãy tiếp nhận hồ sơ trước, "
            "rồi đặt bản quét vào thư mục mang đúng mã hồ sơ.",
            Intake.Outcome.REFUSED,
            name=dossier_code,
        )
    if dossier.office.code != office_code:
        return _refuse(
            target,
            office_code,
            f"Hồ sơ {dossier_code} thuộc {dossier.office.name}, "
            f"không thuộc thư mục '{office_code}'.",
            Intake.Outcome.REFUSED,
            name=dossier_code,
        )
    listing, combined = _fingerprint(target)
    earlier = (
        Intake.objects.filter(sha256=combined, outcome=Intake.Outcome.ACCEPTED)
        .exclude(document__state__in=[DocumentState.FAILED, DocumentState.REJECTED])
        .first()
    )
    if earlier is not None:
        return _refuse(
            target,
            office_code,
            f"Bản quét trùng với lượt tiếp nhận #{earlier.pk} của hồ sơ {earlier.dossier_code}; "
            "không xử lý lại.",
            Intake.Outcome.DUPLICATE,
            name=dossier_code,
        )

    with transaction.atomic():
        document = Document.objects.create(
            dossier=dossier, source_dir=str(target), source_sha256=combined
        )
        Intake.objects.create(
            office_code=office_code,
            dossier_code=dossier_code,
            folder_name=folder.name,
            path=str(target),
            files=listing,
            sha256=combined,
            outcome=Intake.Outcome.ACCEPTED,
            document=document,
        )
        start_processing(dossier)
        record_event(
            dossier,
            "scans_received",
            document=document,
            to_state=DocumentState.RECEIVED,
            detail={"files": len(listing), "sha256": combined},
        )
        document_id = document.pk
        transaction.on_commit(lambda: enqueue("digitize.tasks.prepare_document", document_id))
    log.info("intake accepted: %s/%s -> document %s", office_code, folder.name, document_id)
    return ClaimResult(outcome=Intake.Outcome.ACCEPTED, path=target, document_id=document_id)


def refuse_loose_file(path: Path, office_code: str) -> ClaimResult:
    """A file dropped beside the dossier folders instead of inside one."""
    return _refuse(
        path,
        office_code,
        f"Tệp '{path.name}' nằm ngoài thư mục hồ sơ. Hãy đặt bản quét vào "
        f"inbox/{office_code}/<mã hồ sơ>/.",
        Intake.Outcome.REFUSED,
    )


def recover_orphans() -> list[Path]:
    """Folders moved into the intake archive whose rows never got written (a crash).

    They go to failed/ with a reason, so a clerk can drop them again.
    """
    root = Path(settings.INTAKE_DIR)
    if not root.exists():
        return []
    known = set(Intake.objects.values_list("path", flat=True))
    known |= set(Document.objects.values_list("source_dir", flat=True))
    recovered = []
    for day in sorted(root.glob("*/*/*")):
        for folder in day.iterdir():
            if folder.is_dir() and str(folder) not in known:
                kept = quarantine(
                    folder,
                    Path(settings.FAILED_DIR) / "_gian_doan",
                    "Việc tiếp nhận bị gián đoạn (máy dừng giữa chừng). Hãy đặt lại thư mục "
                    "này vào thư mục tiếp nhận.",
                    name=original_name(folder),
                )
                recovered.append(kept)
    return recovered
