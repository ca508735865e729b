"""Celery tasks of the digitize stage: split and gate pages, OCR each, assemble, recover."""

from __future__ import annotations

import logging
import shutil
import statistics
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.db import transaction

from core.errors import RetryPolicy
from digitize.assemble import DossierMetadata, assemble_pdf
from digitize.compression import colour_mode
from digitize.errors import BadInputError, DigitizeError
from digitize.findings import Finding, blocking, blocking_reason
from digitize.models import DocumentWork, Page
from digitize.ocr import OcrSettings, PageOcr
from digitize.pages import PageImage
from digitize.pipeline import PageOutcome, process_page, split_and_inspect
from digitize.quality import QualitySettings
from digitize.services.dispatch import (
    WORKING,
    queue_assembly,
    queue_pages,
    queue_preparation,
    sweep_lapsed,
)
from dossiers.files import store_file
from dossiers.models import Document, DocumentState
from dossiers.services.boundary import STAGE_RETRIES, act_on
from dossiers.services.leases import Claim, working
from dossiers.services.recovery import active_document_ids, stuck_documents
from dossiers.services.workflow import transition

log = logging.getLogger(__name__)

OCR_RETRIES = RetryPolicy(max_retries=3)
"""A page's OCR is tried four times at most: each try may take the whole OCR time limit."""


def _workdir(document: Document) -> Path:
    return Path(settings.WORK_DIR) / str(document.pk)


def _page_image(page: Page) -> PageImage:
    return PageImage(
        path=Path(page.image_path),
        dpi=page.dpi,
        width=page.width,
        height=page.height,
        mode=page.mode,
        encoded=Path(page.encoded_path) if page.encoded_path else None,
    )


def _quality(document: Document) -> QualitySettings:
    """The quality gate and storage of a document's pages, as its procedure asks (colour)."""
    return QualitySettings(colour_mode=colour_mode(document.dossier.procedure.colour_mode))


def _source_files(document: Document) -> list[Path]:
    source = Path(document.source_dir)
    return sorted(p for p in source.iterdir() if p.is_file() and not p.name.startswith("."))


@shared_task(bind=True, acks_late=True)
def prepare_document(self: Task, document_id: int) -> None:  # type: ignore[type-arg]
    """Split a received document into pages, gate their quality, fan out one OCR task a page.

    Each page's findings are stored with it; a blocking one (resolution too low,
    every page blank, too dark or faint) fails the document with the Vietnamese
    reasons before any OCR, so the clerk can rescan.
    """
    document = Document.objects.select_related("dossier__procedure").get(pk=document_id)
    if document.state == DocumentState.RECEIVED:
        if not transition(
            document_id, DocumentState.RECEIVED, DocumentState.DIGITIZING, kind="digitize_started"
        ):
            return
    elif document.state != DocumentState.DIGITIZING:
        return
    with _document_work(document_id, DocumentWork.Stage.PREPARE) as lease:
        if _may_work(lease, document_id, "tách trang"):
            _prepare(self, document)


def _prepare(task: Task, document: Document) -> None:  # type: ignore[type-arg]
    """Split, store the pages and their findings, stop at a blocking one, else fan out."""
    document_id = document.pk
    if not document.pages.exists():
        try:
            images, checked = split_and_inspect(
                _source_files(document), _workdir(document), _quality(document)
            )
        except DigitizeError as exc:
            act_on(exc, document_id=document_id, stage="pages", task=task)
            return
        with transaction.atomic():
            Page.objects.bulk_create(
                [
                    Page(
                        document=document,
                        index=i,
                        image_path=str(img.path),
                        dpi=quality.effective_dpi,
                        width=img.width,
                        height=img.height,
                        mode=img.mode,
                        flags=[finding.as_dict() for finding in quality.findings],
                    )
                    for i, (img, quality) in enumerate(zip(images, checked, strict=True))
                ],
                ignore_conflicts=True,
            )
            Document.objects.filter(pk=document_id).update(page_count=len(images))
    stopping = blocking(_stored_findings(document_id))
    if stopping:
        act_on(
            BadInputError(blocking_reason(stopping)),
            document_id=document_id,
            stage="quality",
            detail={"findings": [{"page": f.page, "code": f.code} for f in stopping]},
        )
        return
    queue_pages(document_id)


def _document_work(document_id: int, stage: DocumentWork.Stage) -> AbstractContextManager[Claim]:
    """The lease on one document's stage that runs as a unit (splitting, assembly)."""
    work, _ = DocumentWork.objects.get_or_create(document_id=document_id, stage=stage)
    return working(DocumentWork, work.pk)


def _may_work(lease: Claim, document_id: int, unit_vi: str) -> bool:
    """Whether the claimed unit is to be worked on; a poisoned one fails its document.

    ``held``: another live worker has it (a redelivered message); it releases it when
    done, or its lease lapses and ``recover_leases`` puts it back in line.
    """
    if lease.outcome == "poisoned":
        act_on(
            DigitizeError(
                f"Khâu {unit_vi} làm dừng tiến trình xử lý {lease.claims - 1} lần liên tiếp "
                "(tệp quét có thể hỏng hoặc quá lớn); cần quản trị viên xem xét.",
                disposition="fail",
                detail=f"{lease.claims - 1} claims ended without a release",
            ),
            document_id=document_id,
            stage="lease",
            detail={"unit": unit_vi, "claims": str(lease.claims - 1)},
        )
    return lease.outcome == "taken"


def _stored_findings(document_id: int) -> list[Finding]:
    """The findings stored on a document's pages, in page order."""
    flags = (
        Page.objects.filter(document_id=document_id)
        .order_by("index")
        .values_list("flags", flat=True)
    )
    return [Finding.from_dict(flag) for page_flags in flags for flag in page_flags or []]


@shared_task(bind=True, acks_late=True, max_retries=OCR_RETRIES.max_retries)
def ocr_page(self: Task, page_id: int) -> None:  # type: ignore[type-arg]
    """Prepare one page (upright, deskewed) and OCR it; if it was the last, enqueue assembly.

    The page row then points at the upright image kept for the PDF and records the
    turn, the skew and any new findings (orientation uncertain, low confidence).
    """
    page = Page.objects.select_related("document__dossier__procedure").get(pk=page_id)
    document = page.document
    if document.state != DocumentState.DIGITIZING:
        return
    assembly_queued = False
    if not page.done:
        with working(Page, page_id) as lease:
            if _may_work(lease, document.pk, f"nhận dạng trang {page.index + 1}"):
                assembly_queued = _ocr(self, page)
    # Also after the commit: two last pages finishing at once each saw the other undone.
    if not assembly_queued and _all_pages_done(document.pk):
        with transaction.atomic():
            queue_assembly(document.pk)


def _all_pages_done(document_id: int) -> bool:
    return not Page.objects.filter(document_id=document_id, done=False).exists()


def _ocr(task: Task, page: Page) -> bool:  # type: ignore[type-arg]
    """Prepare and recognise one claimed page; store the outcome on its row, and queue the
    assembly in the same transaction when it was the last page. Whether it was."""
    document = page.document
    page_id = page.pk
    if Page.objects.filter(pk=page_id, done=True).exists():
        return False  # finished by a worker that held it before us
    ocr_settings = OcrSettings(lang=settings.OCR_LANG, timeout_s=settings.OCR_TIMEOUT_S)
    flags = list(page.flags or [])
    blank = any(flag.get("code") == "blank" for flag in flags)
    try:
        outcome = process_page(
            _page_image(page),
            page.index + 1,
            _workdir(document),
            ocr_settings,
            quality=_quality(document),
            blank=blank,
        )
    except DigitizeError as exc:
        act_on(
            exc,
            document_id=document.pk,
            stage="ocr",
            task=task,
            detail={"page": str(page.index + 1)},
            policy=OCR_RETRIES,
        )
        return False
    with transaction.atomic():
        _store_page(page_id, outcome, flags)
        if _all_pages_done(document.pk):
            queue_assembly(document.pk)
            return True
    return False


def _store_page(page_id: int, outcome: PageOutcome, flags: list[Any]) -> None:
    """Record a recognised page: its text, the upright image kept, turn, skew and findings."""
    kept = outcome.prepared.page
    Page.objects.filter(pk=page_id).update(
        done=True,
        text=outcome.ocr.text,
        confidence=outcome.ocr.confidence,
        layout_path=str(outcome.ocr.layout),
        image_path=str(kept.path),
        encoded_path=str(kept.encoded or ""),
        width=kept.width,
        height=kept.height,
        mode=kept.mode,
        rotation=outcome.prepared.orientation.rotation,
        skew=outcome.prepared.orientation.skew,
        flags=flags + [finding.as_dict() for finding in outcome.findings],
    )


@shared_task(bind=True, acks_late=True, max_retries=STAGE_RETRIES.max_retries)
def assemble_document(self: Task, document_id: int) -> None:  # type: ignore[type-arg]
    """Assemble the searchable PDF with the dossier's metadata and send it for approval."""
    document = Document.objects.select_related(
        "dossier", "dossier__office", "dossier__procedure"
    ).get(pk=document_id)
    if document.state != DocumentState.DIGITIZING:
        return
    with _document_work(document_id, DocumentWork.Stage.ASSEMBLE) as lease:
        if _may_work(lease, document_id, "ghép PDF"):
            _assemble(self, document)


def _assemble(task: Task, document: Document) -> None:  # type: ignore[type-arg]
    """Assemble a claimed document whose pages are all done; store it, await approval."""
    document_id = document.pk
    if not Document.objects.filter(pk=document_id, state=DocumentState.DIGITIZING).exists():
        return  # assembled by a worker that held it before us
    pages = list(document.pages.order_by("index"))
    if not pages or not all(p.done for p in pages):
        return
    dossier = document.dossier
    metadata = DossierMetadata(
        code=dossier.code,
        office=dossier.office.name,
        procedure=dossier.procedure.name,
        applicant=dossier.applicant_name,
        received_at=dossier.received_at,
        due_at=dossier.due_at,
    )
    out = _workdir(document) / f"assembled-{document_id}.pdf"
    try:
        assemble_pdf(
            [
                (
                    _page_image(p),
                    PageOcr(
                        text=p.text, confidence=p.confidence or 0.0, layout=Path(p.layout_path)
                    ),
                )
                for p in pages
            ],
            out,
            metadata,
            # A retried or raced assembly yields the same bytes, hence one stored file.
            identity=(str(document.pk), document.created_at),
        )
    except DigitizeError as exc:
        act_on(exc, document_id=document_id, stage="assemble", task=task)
        return
    path, digest = store_file(out, Path(settings.STORE_DIR))
    confidences = [p.confidence for p in pages if p.confidence is not None]
    mean_conf = round(statistics.fmean(confidences), 1) if confidences else None
    flagged = sorted({p.index + 1 for p in pages if p.flags})
    transition(
        document_id,
        DocumentState.DIGITIZING,
        DocumentState.AWAITING_APPROVAL,
        kind="digitized",
        detail={
            "pages": len(pages),
            "confidence": mean_conf,
            "sha256": digest,
            "flagged_pages": flagged,
        },
        pdf_path=str(path),
        pdf_sha256=digest,
        text="\f".join(p.text for p in pages),
        mean_confidence=mean_conf,
    )


WORK_FOLDER_QUIET_S = 3600
"""A work folder is removed once its document left digitizing and it has been quiet this long
(a folder just created may belong to a document that the query did not see yet)."""


@shared_task
def recover_digitizing() -> dict[str, int]:
    """Put the documents stuck in receiving or digitizing back in line; clear old work folders.

    A killed worker, a lost message or a broker restart leaves a document in a working
    state past its limit; its stage's task runs again (tasks are idempotent): a
    document already split gets only its unfinished pages. Work folders of documents
    past digitizing are removed (their pages live in the assembled PDF).
    """
    counts: dict[str, int] = {}
    for document_id, _ in stuck_documents(DocumentState.RECEIVED):
        queue_preparation(document_id)
        counts["RECEIVED"] = counts.get("RECEIVED", 0) + 1
    for document_id, page_count in stuck_documents(DocumentState.DIGITIZING):
        if page_count:  # already split: only its unfinished pages
            queue_pages(document_id)
        else:
            queue_preparation(document_id)
        counts["DIGITIZING"] = counts.get("DIGITIZING", 0) + 1
    _clear_work_folders()
    if counts:
        log.info("digitize recovery re-enqueued %s", counts)
    return counts


@shared_task
def recover_leases() -> dict[str, int]:
    """Put back in line at once the pages and stages whose worker died (lease lapsed).

    Runs every ``LEASE_SWEEP_S`` from the scheduler and after each worker start, so a
    killed worker's units are taken over within a lease and a sweep, whatever the
    size of their dossier (``recover_digitizing`` waits for the dossier's limit).
    """
    counts = sweep_lapsed()
    if counts:
        log.info("lapsed leases taken over: %s", counts)
    return counts


def _clear_work_folders() -> None:
    """Remove the quiet work folders of documents no longer receiving or digitizing."""
    work = Path(settings.WORK_DIR)
    if not work.exists():
        return
    active = {str(pk) for pk in active_document_ids(WORKING)}
    quiet_before = time.time() - WORK_FOLDER_QUIET_S
    for folder in work.iterdir():
        if not folder.name.isdigit() or folder.name in active or not folder.is_dir():
            continue
        if folder.stat().st_mtime < quiet_before:
            shutil.rmtree(folder, ignore_errors=True)
