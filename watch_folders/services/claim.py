"""Claiming a quiet inbox folder: validate, fingerprint, dedupe, hand over to digitizing."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from digitize.services.dispatch import queue_preparation
from dossiers.errors import RegistrationError
from dossiers.files import original_name, quarantine, sha256_file
from dossiers.models import Document, DocumentState, Dossier
from dossiers.services.workflow import record_event, start_processing
from watch_folders.entries import describe_unsafe, unsafe_entries
from watch_folders.layouts import DOSSIER_FOLDERS, FolderConfig
from watch_folders.models import Intake
from watch_folders.services.journal import Claim, close_claim, open_claim, take
from watch_folders.services.sidecar import find_sidecar, hide_sidecar, register_from_sidecar

__all__ = [
    "ClaimResult",
    "accept",
    "claim_folder",
    "default_config",
    "finish_refusals",
    "known_dossier",
    "process_folder",
    "recover_orphans",
    "refuse",
    "refuse_loose_file",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClaimResult:
    outcome: str
    path: Path
    document_id: int | None = None
    reason_vi: str = ""


def default_config(office_code: str) -> FolderConfig:
    """An office's default inbox folder: a folder per dossier under ``inbox/<office>/``."""
    return FolderConfig(path=Path(settings.INBOX_DIR) / office_code, office_code=office_code)


def fingerprint_folder(folder: Path) -> tuple[list[dict[str, object]], str]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    listing = [{"name": p.name, "size": p.stat().st_size, "sha256": sha256_file(p)} for p in files]
    combined = hashlib.sha256(
        "\n".join(sorted(str(f["sha256"]) for f in listing)).encode()
    ).hexdigest()
    return listing, combined


def _in_failed(path: Path) -> bool:
    return path.is_relative_to(Path(settings.FAILED_DIR))


def finish_refusal(intake: Intake) -> Path:
    """Move a refused entry from the archive into failed/ beside its reason; record where."""
    source = Path(intake.path)
    if _in_failed(source) or not os.path.lexists(source):
        return source
    kept = quarantine(
        source,
        Path(settings.FAILED_DIR) / intake.office_code,
        intake.reason,
        name=intake.folder_name,
    )
    Intake.objects.filter(pk=intake.pk).update(path=str(kept))
    if source.parent.name.startswith(intake.claim_id[:12]) and intake.claim_id:
        with contextlib.suppress(OSError):  # the archive folder a lone file was taken into
            source.parent.rmdir()
    log.warning("intake refused: %s/%s: %s", intake.office_code, intake.folder_name, intake.reason)
    return kept


def finish_refusals(claim_id: str) -> None:
    """Put into failed/ every refusal of a claim still lying in the archive (after a crash)."""
    for intake in Intake.objects.filter(claim_id=claim_id, outcome__in=_REFUSED):
        finish_refusal(intake)


_REFUSED = (Intake.Outcome.REFUSED, Intake.Outcome.DUPLICATE)


def refuse(
    claim: Claim,
    path: Path,
    reason_vi: str,
    outcome: str = Intake.Outcome.REFUSED,
    *,
    name: str,
    dossier_code: str | None = None,
    pages: str = "",
) -> ClaimResult:
    """Refuse what lies at ``path`` in the archive: the row first, then the move to failed/.

    Refused entries keep the clerk's ``name`` in failed/, so they can be dropped again as
    they are; a crash between the row and the move is finished by :func:`finish_refusals`.
    """
    intake = Intake.objects.create(
        office_code=claim.office_code,
        dossier_code=(name if dossier_code is None else dossier_code)[:64],
        folder_name=name[:255],
        path=str(path),
        sha256="",
        outcome=outcome,
        reason=reason_vi,
        claim_id=claim.claim_id,
        pages=pages,
    )
    kept = finish_refusal(intake)
    return ClaimResult(outcome=outcome, path=kept, reason_vi=reason_vi)


def known_dossier(code: str, office_code: str) -> Dossier | str:
    """The dossier of ``code`` in the office, or why not (in Vietnamese)."""
    dossier = Dossier.objects.select_related("office").filter(code=code).first()
    if dossier is None:
        return (
            f"Không tìm thấy hồ sơ mã '{code}'. Hãy tiếp nhận hồ sơ trước, "
            "rồi đặt bản quét vào thư mục mang đúng mã hồ sơ."
        )
    if dossier.office.code != office_code:
        return f"Hồ sơ {code} thuộc {dossier.office.name}, không thuộc thư mục '{office_code}'."
    return dossier


def duplicate_of(combined: str) -> Intake | None:
    return (
        Intake.objects.filter(sha256=combined, outcome=Intake.Outcome.ACCEPTED)
        .exclude(document__state__in=[DocumentState.FAILED, DocumentState.REJECTED])
        .first()
    )


def duplicate_reason(earlier: Intake) -> str:
    """Why scans already accepted are refused."""
    return (
        f"Bản quét trùng với lượt tiếp nhận #{earlier.pk} của hồ sơ {earlier.dossier_code}; "
        "không xử lý lại."
    )


def accept(
    claim: Claim,
    folder: Path,
    dossier: Dossier,
    name: str,
    fingerprint: tuple[list[dict[str, object]], str],
    *,
    pages: str = "",
) -> int:
    """Create the document and its intake for ``folder``, inside the caller's transaction;
    digitizing is enqueued once it commits. Returns the document's id."""
    listing, combined = fingerprint
    document = Document.objects.create(
        dossier=dossier, source_dir=str(folder), source_sha256=combined
    )
    Intake.objects.create(
        office_code=claim.office_code,
        dossier_code=dossier.code,
        folder_name=name[:255],
        path=str(folder),
        files=listing,
        sha256=combined,
        outcome=Intake.Outcome.ACCEPTED,
        document=document,
        claim_id=claim.claim_id,
        pages=pages,
    )
    start_processing(dossier)
    detail: dict[str, object] = {"files": len(listing), "sha256": combined}
    if pages:
        detail["pages"] = pages
    record_event(
        dossier, "scans_received", document=document, to_state=DocumentState.RECEIVED, detail=detail
    )
    queue_preparation(document.pk)
    return document.pk


def process_folder(claim: Claim, folder: Path, code: str) -> ClaimResult:
    """Take a dossier's folder in the archive the rest of the way: refuse what is unsafe,
    register an unknown dossier from its sidecar, check the dossier, dedupe, accept."""
    unsafe = unsafe_entries(folder, [Path(claim.watched)], code)
    if unsafe:
        return refuse(claim, folder, describe_unsafe(unsafe), name=code)
    sidecar = find_sidecar(folder)
    dossier = known_dossier(code, claim.office_code)
    if (
        isinstance(dossier, str)
        and sidecar is not None
        and not Dossier.objects.filter(code=code).exists()
    ):
        try:
            dossier = register_from_sidecar(sidecar, code, claim.config)
        except RegistrationError as exc:
            return refuse(
                claim,
                folder,
                f"Tệp {sidecar.name} không đăng ký được hồ sơ: {exc.message_vi} Hãy sửa tệp "
                "rồi đặt lại thư mục.",
                name=code,
            )
    if sidecar is not None:
        hide_sidecar(sidecar)  # registered or not needed: it is no scan to digitize
    if isinstance(dossier, str):
        return refuse(claim, folder, dossier, name=code)
    fingerprint = fingerprint_folder(folder)
    if not fingerprint[0]:
        return refuse(claim, folder, "Thư mục không có tệp bản quét nào.", name=code)
    earlier = duplicate_of(fingerprint[1])
    if earlier is not None:
        return refuse(claim, folder, duplicate_reason(earlier), Intake.Outcome.DUPLICATE, name=code)
    with transaction.atomic():
        document_id = accept(claim, folder, dossier, code, fingerprint)
    log.info("intake accepted: %s/%s -> document %s", claim.office_code, code, document_id)
    return ClaimResult(Intake.Outcome.ACCEPTED, folder, document_id=document_id)


def resume_folder(claim: Claim) -> ClaimResult:
    """Finish a dossier folder's claim whose entries are in the archive."""
    return process_folder(claim, Path(claim.target), claim.name)


def claim_folder(folder: Path, office_code: str, config: FolderConfig | None = None) -> ClaimResult:
    """Take a finished dossier folder out of the inbox and create its document.

    The claim is journalled, then the folder is renamed into the intake archive (a
    hidden name first, so two watchers cannot both take it; across disks for a share);
    its rows are then written in one transaction and digitizing is enqueued after
    commit. A folder that cannot be accepted goes to failed/ with the reason; nothing
    is deleted.
    """
    config = config or default_config(office_code)
    claim = open_claim(config, folder.name, [(folder, folder.name)], action="folder")
    try:
        if not take(claim):
            return ClaimResult(outcome="gone", path=folder)
        return resume_folder(claim)
    finally:
        close_claim(claim)


def refuse_loose_file(
    path: Path, office_code: str, config: FolderConfig | None = None, reason_vi: str = ""
) -> ClaimResult:
    """A file the folder's layout does not take (beside the dossier folders, say)."""
    config = config or default_config(office_code)
    reason_vi = reason_vi or (
        f"Tệp '{path.name}' nằm ngoài thư mục hồ sơ. Hãy đặt bản quét vào "
        f"inbox/{office_code}/<mã hồ sơ>/."
    )
    claim = open_claim(config, path.name, [(path, path.name)], action="refuse", reason=reason_vi)
    try:
        if not take(claim):
            return ClaimResult(outcome="gone", path=path)
        return resume_refusal(claim)
    finally:
        close_claim(claim)


def resume_refusal(claim: Claim) -> ClaimResult:
    """Finish refusing a file taken into the archive (unsafe entries named as such)."""
    taken = Path(claim.target) / claim.name
    unsafe = unsafe_entries(taken, [Path(claim.watched)], claim.name)
    reason_vi = describe_unsafe(unsafe) if unsafe else claim.reason
    return refuse(claim, taken, reason_vi, name=claim.name, dossier_code="")


def recover_orphans() -> list[Path]:
    """Folders moved into the intake archive with neither rows nor a journal (a crash of a
    watcher before claims were journalled).

    One named after a known dossier is claimed for that dossier's office; any other goes
    to failed/ with a reason, so a clerk can drop it again.
    """
    root = Path(settings.INTAKE_DIR)
    if not root.exists():
        return []
    known = set(Intake.objects.values_list("path", flat=True))
    known |= set(Document.objects.values_list("source_dir", flat=True))
    claimed = {
        c[:12] for c in Intake.objects.exclude(claim_id="").values_list("claim_id", flat=True)
    }
    recovered = []
    for day in sorted(root.glob("[0-9]*/*/*")):
        for folder in day.iterdir():
            if not folder.is_dir() or str(folder) in known or folder.name[:12] in claimed:
                continue
            name = original_name(folder)
            dossier = Dossier.objects.select_related("office").filter(code=name).first()
            if dossier is not None:
                config = default_config(dossier.office.code)
                claim = Claim(
                    claim_id=folder.name[:12] + "0" * 20,
                    office_code=dossier.office.code,
                    layout=DOSSIER_FOLDERS,
                    name=name,
                    target=str(folder),
                    moves=(),
                    watched=str(config.path),
                    action="folder",
                )
                recovered.append(resume_folder(claim).path)
                continue
            kept = quarantine(
                folder,
                Path(settings.FAILED_DIR) / "_gian_doan",
                "Việc tiếp nhận bị gián đoạn (máy dừng giữa chừng). Hãy đặt lại thư mục "
                "này vào thư mục tiếp nhận.",
                name=name,
            )
            recovered.append(kept)
    return recovered
