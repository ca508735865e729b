"""Scanner batches: a stack scanned into one PDF or TIFF, split at receipts and separators.

Each receipt (its QR code holds the lookup's link with the dossier's code) or separator
sheet (:func:`dossiers.qr.separator_payload`) starts a dossier's pages and is left out of
them. Each routed part becomes one document of its dossier; pages before the first sheet,
after a separator naming no dossier, or under a code that is unknown here go to failed/
with the reason, in the clerk's list of refused scans.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from django.db import transaction

from digitize.batch_split import BatchPart, split_batch
from digitize.errors import DigitizeError
from dossiers.files import sha256_file
from dossiers.qr import SheetCode, sheet_code
from watch_folders.entries import describe_unsafe, unsafe_entries
from watch_folders.layouts import FolderConfig
from watch_folders.models import Intake
from watch_folders.services.claim import (
    ClaimResult,
    accept,
    duplicate_of,
    duplicate_reason,
    fingerprint_folder,
    finish_refusal,
    known_dossier,
    refuse,
)
from watch_folders.services.journal import Claim, close_claim, open_claim, take

__all__ = ["SPLIT_FOLDER", "claim_batch", "classify", "pages_label", "resume_batch"]

log = logging.getLogger(__name__)

SPLIT_FOLDER = "tach"
"""Inside a batch's archive folder: one folder a part (``tach/001/`` …)."""


def classify(codes: Sequence[str]) -> SheetCode | None:
    """The first of a page's QR codes that is a receipt's or a separator's."""
    for text in codes:
        sheet = sheet_code(text)
        if sheet is not None:
            return sheet
    return None


def pages_label(pages: Sequence[int]) -> str:
    """``3–7`` for a run of pages, ``5`` for one."""
    return f"{pages[0]}" if len(pages) == 1 else f"{pages[0]}–{pages[-1]}"


def _why_not(part: BatchPart[SheetCode], batch: str) -> str | None:
    """Why a part cannot be routed by its sheet (before knowing the dossier), or None."""
    pages = pages_label(part.pages)
    if part.sheet is None:
        return (
            f"Các trang {pages} của tệp '{batch}' nằm trước giấy tiếp nhận hoặc tờ phân cách "
            "đầu tiên nên không biết thuộc hồ sơ nào. Hãy đặt giấy tiếp nhận (hoặc tờ phân cách "
            "có mã hồ sơ) lên trên rồi quét lại, hoặc chép các trang vào thư mục "
            "<mã hồ sơ> của hồ sơ."
        )
    if not part.sheet.dossier_code:
        return (
            f"Các trang {pages} của tệp '{batch}' đứng sau tờ phân cách không ghi mã hồ sơ "
            f"(trang {part.sheet_page}) và không có giấy tiếp nhận. Hãy đặt giấy tiếp nhận của "
            "hồ sơ sau tờ phân cách, hoặc in tờ phân cách có mã hồ sơ, rồi quét lại."
        )
    return None


def _route(claim: Claim, part: BatchPart[SheetCode], batch: str) -> tuple[str, str, str | None]:
    """(outcome, reason, dossier code) of one part; reason empty when it is accepted."""
    why = _why_not(part, batch)
    if why is not None:
        return Intake.Outcome.REFUSED, why, None
    assert part.sheet is not None
    code = part.sheet.dossier_code
    dossier = known_dossier(code, claim.office_code)
    if isinstance(dossier, str):
        where = f"Tờ bìa ở trang {part.sheet_page} của tệp '{batch}': "
        return Intake.Outcome.REFUSED, where + dossier, code
    return Intake.Outcome.ACCEPTED, "", code


def _refused_name(part: BatchPart[SheetCode], batch: str, code: str | None) -> str:
    stem = Path(batch).stem
    return code or f"{stem}-trang-{part.pages[0]}-{part.pages[-1]}"


def resume_batch(claim: Claim) -> list[ClaimResult]:
    """Split a batch taken into the archive and route each part, in one transaction."""
    batch = Path(claim.target) / claim.name
    unsafe = unsafe_entries(batch, [Path(claim.watched)], claim.name)
    if unsafe:
        return [refuse(claim, batch, describe_unsafe(unsafe), name=claim.name, dossier_code="")]
    try:
        split = split_batch(batch, Path(claim.target) / SPLIT_FOLDER, classify)
    except DigitizeError as exc:
        reason = (
            f"Không tách được lô quét: {exc.message_vi}. Hãy kiểm tra máy quét (PDF hoặc "
            "TIFF nhiều trang) rồi quét lại."
        )
        return [refuse(claim, batch, reason, name=claim.name, dossier_code="")]
    refused: list[Intake] = []
    accepted: list[int] = []
    with transaction.atomic():
        for part in split.parts:
            outcome, reason, code = _route(claim, part, claim.name)
            pages = pages_label(part.pages)
            fingerprint = fingerprint_folder(part.folder)
            earlier = duplicate_of(fingerprint[1]) if outcome == Intake.Outcome.ACCEPTED else None
            if earlier is not None:
                outcome, reason = Intake.Outcome.DUPLICATE, duplicate_reason(earlier)
            if outcome == Intake.Outcome.ACCEPTED:
                assert code is not None
                dossier = known_dossier(code, claim.office_code)
                assert not isinstance(dossier, str)
                name = f"{claim.name} (trang {pages})"
                accepted.append(accept(claim, part.folder, dossier, name, fingerprint, pages=pages))
                continue
            refused.append(
                Intake.objects.create(
                    office_code=claim.office_code,
                    dossier_code=(code or "")[:64],
                    folder_name=_refused_name(part, claim.name, code)[:255],
                    path=str(part.folder),
                    sha256="",
                    outcome=outcome,
                    reason=reason,
                    claim_id=claim.claim_id,
                    pages=pages,
                )
            )
    results = [ClaimResult(Intake.Outcome.ACCEPTED, Path(claim.target), d) for d in accepted]
    for intake in refused:
        kept = finish_refusal(intake)
        results.append(ClaimResult(intake.outcome, kept, reason_vi=intake.reason))
    log.info(
        "batch %s/%s: %d pages, %d sheets, %d documents, %d refused (sha256 %s)",
        claim.office_code,
        claim.name,
        split.page_count,
        len(split.sheet_pages),
        len(accepted),
        len(refused),
        sha256_file(batch)[:16],
    )
    return results


def claim_batch(path: Path, config: FolderConfig) -> list[ClaimResult]:
    """Take a quiet batch file from a scanner's folder and route its parts."""
    claim = open_claim(config, path.name, [(path, path.name)], action="batch")
    try:
        if not take(claim):
            return [ClaimResult(outcome="gone", path=path)]
        return resume_batch(claim)
    finally:
        close_claim(claim)
