"""From a claimed folder through the digitize tasks (eager Celery, real Tesseract) to approval."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
from django.contrib.auth.models import User
from pypdf import PdfReader
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from digitize import ocr as ocr_module
from digitize.models import Page
from digitize.tasks import assemble_document, ocr_page, prepare_document
from dossiers.files import REASON_FILE, sha256_file
from dossiers.models import Document, DocumentState, Dossier, Event
from motcua.celery import app as celery_app
from signing.models import Batch, BatchItem
from tests.conftest import DataDirs
from tests.support.scans import write_scan
from tests.support.text import cer
from watch_folders.services.claim import claim_folder

TEXT = (
    "Ủy ban nhân dân xã Tân Lập xác nhận ông Nguyễn Văn Bình đã nộp đủ hồ sơ "
    "đăng ký khai sinh cho con theo quy định hiện hành."
)


def claim_and_run(
    folder: Path, dossier: Dossier, capture: DjangoCaptureOnCommitCallbacks
) -> Document:
    """Claim ``folder`` and run what its commit enqueues (eager, so the whole stage chain)."""
    with capture(execute=True):
        result = claim_folder(folder, dossier.office.code)
    assert result.document_id is not None, result.reason_vi
    return Document.objects.get(pk=result.document_id)


@pytest.mark.usefixtures("eager_celery")
def test_scan_is_digitized_and_joins_the_offices_open_batch(
    data_dirs: DataDirs,
    dossier: Dossier,
    official: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """A real page goes pages → OCR → PDF, awaits approval and lands in a batch with a signer."""
    folder = data_dirs.inbox / dossier.office.code / dossier.code
    folder.mkdir(parents=True)
    rendered = write_scan(folder / "trang-1.png", TEXT, dpi=200, font_size_pt=14)

    document = claim_and_run(folder, dossier, django_capture_on_commit_callbacks)

    assert document.state == DocumentState.AWAITING_APPROVAL, document.reason
    assert document.page_count == 1
    page = Page.objects.get(document=document)
    assert page.done and page.index == 0
    assert cer(rendered, document.text) < 0.15, document.text
    assert document.mean_confidence is not None and document.mean_confidence > 50
    pdf = Path(document.pdf_path)
    assert pdf.is_relative_to(data_dirs.store)
    assert sha256_file(pdf) == document.pdf_sha256
    reader = PdfReader(pdf)
    assert len(reader.pages) == 1
    assert "Tân Lập" in reader.pages[0].extract_text()
    kinds = list(Event.objects.filter(document=document).values_list("kind", flat=True))
    assert kinds == ["scans_received", "digitize_started", "digitized"]
    item = BatchItem.objects.get(document=document)
    assert item.decision == BatchItem.Decision.PENDING
    assert item.batch.state == Batch.State.OPEN
    assert item.batch.office == dossier.office
    assert item.batch.signer is not None and item.batch.signer.user == official

    # Stage tasks delivered twice (a redelivered message) change nothing.
    prepare_document(document.pk)
    ocr_page(page.pk)
    assemble_document(document.pk)
    again = Document.objects.get(pk=document.pk)
    assert (again.state, again.pdf_sha256) == (DocumentState.AWAITING_APPROVAL, document.pdf_sha256)
    assert Event.objects.filter(document=document).count() == 3
    assert Batch.objects.count() == 1


@pytest.mark.usefixtures("eager_celery")
def test_second_document_joins_the_same_open_batch(
    data_dirs: DataDirs,
    dossier: Dossier,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """Documents of one office wait together in one open batch."""
    for n in (1, 2):
        folder = data_dirs.inbox / dossier.office.code / dossier.code
        folder.mkdir(parents=True)
        write_scan(folder / "trang-1.png", f"Trang số {n}. {TEXT}", dpi=200, font_size_pt=14)
        claim_and_run(folder, dossier, django_capture_on_commit_callbacks)
    assert Document.objects.filter(state=DocumentState.AWAITING_APPROVAL).count() == 2
    batch = Batch.objects.get()
    assert batch.items.count() == 2
    assert batch.signer is None, "no signer configured for the office yet"


@pytest.mark.usefixtures("eager_celery")
def test_unreadable_scan_fails_with_a_reason_and_keeps_the_files(
    data_dirs: DataDirs,
    dossier: Dossier,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """A file that is no image fails the document in Vietnamese and lands in failed/ intact."""
    folder = data_dirs.inbox / dossier.office.code / dossier.code
    folder.mkdir(parents=True)
    garbage = b"\x89PNG\r\n\x1a\n this is not really a picture"
    (folder / "trang-1.png").write_bytes(garbage)

    document = claim_and_run(folder, dossier, django_capture_on_commit_callbacks)

    assert document.state == DocumentState.FAILED
    assert "trang-1.png" in document.reason
    assert "hỏng" in document.reason or "không phải ảnh" in document.reason
    kept = Path(document.source_dir)
    assert kept.is_relative_to(data_dirs.failed)
    assert (kept / "trang-1.png").read_bytes() == garbage
    assert document.reason in (kept.parent / REASON_FILE).read_text(encoding="utf-8")
    assert not BatchItem.objects.exists()
    failed = Event.objects.get(document=document, kind="failed")
    assert failed.detail == {"stage": "pages", "disposition": "quarantine"}


@pytest.mark.usefixtures("eager_celery")
def test_page_that_keeps_timing_out_is_retried_then_fails_the_document(
    data_dirs: DataDirs,
    dossier: Dossier,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    settings: Settings,
) -> None:
    """A Tesseract timeout is retried a bounded number of times, then the document fails."""
    folder = data_dirs.inbox / dossier.office.code / dossier.code
    folder.mkdir(parents=True)
    write_scan(folder / "trang-1.png", TEXT, dpi=200)
    settings.OCR_TIMEOUT_S = 0.001  # no page can be read that fast
    # Eager Celery re-runs a retried task at once, unless errors propagate (then Retry escapes);
    # the eager_celery fixture puts the setting back.
    celery_app.conf.task_eager_propagates = False
    with mock.patch("digitize.pipeline.recognise", wraps=ocr_module.recognise) as ocr:
        document = claim_and_run(folder, dossier, django_capture_on_commit_callbacks)
    assert ocr.call_count == 4  # the first run and three retries
    assert document.state == DocumentState.FAILED
    assert "vượt quá thời gian" in document.reason
    assert Event.objects.get(document=document, kind="failed").detail == {
        "stage": "ocr",
        "disposition": "retry",
        "page": "1",
    }
    assert (Path(document.source_dir) / "trang-1.png").is_file()


@pytest.mark.usefixtures("eager_celery")
def test_ocr_failure_fails_the_document_without_retrying(
    data_dirs: DataDirs,
    dossier: Dossier,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    settings: Settings,
) -> None:
    """A Tesseract error that will not pass on another try fails the document at once."""
    folder = data_dirs.inbox / dossier.office.code / dossier.code
    folder.mkdir(parents=True)
    write_scan(folder / "trang-1.png", TEXT, dpi=200)
    settings.OCR_LANG = "khongco"  # no such models on the machine
    with mock.patch("digitize.pipeline.recognise", wraps=ocr_module.recognise) as ocr:
        document = claim_and_run(folder, dossier, django_capture_on_commit_callbacks)
    assert ocr.call_count == 1
    assert document.state == DocumentState.FAILED
    assert "khongco" in document.reason
    assert not BatchItem.objects.exists()
