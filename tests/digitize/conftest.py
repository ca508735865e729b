"""Fixtures of the digitize tests: scans OCR'd and assembled into a dossier PDF, once a session."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pypdf import PdfReader

from digitize.assemble import DossierMetadata, assemble_pdf
from digitize.ocr import OcrSettings, PageOcr, ocr_page
from digitize.pages import PageImage, split_pages
from tests.support.scans import corpus_paragraphs, write_scan
from tests.support.text import nfd

HANOI = timezone(timedelta(hours=7))

DOSSIER = DossierMetadata(
    code="000.00.07.H29-250312-0042",
    office=nfd("UBND xã Phước Thiền"),
    procedure=nfd("Đăng ký khai sinh"),
    applicant=nfd("Trần Thị Bích Ngọc"),
    received_at=datetime(2025, 3, 12, 8, 30, tzinfo=HANOI),
    due_at=datetime(2025, 3, 14, 9, 0, tzinfo=UTC),
)
"""Dossier metadata typed in decomposed Unicode (NFD), as some keyboards produce it."""

CHECKED_DOSSIER = DossierMetadata(
    code="000.00.07.H29-250312-0042",
    office="UBND xã Phước Thiền",
    procedure="Đăng ký khai sinh",
    applicant="Trần Thị Bích Ngọc",
    received_at=datetime(2025, 3, 12, 1, 30, tzinfo=UTC),
)
"""The dossier of ``ours``, the output the PDF/A check is tried on."""


@dataclass(frozen=True)
class Assembled:
    """Rendered pages, their OCR, and the PDF assembled from them with dossier metadata."""

    pages: tuple[PageImage, ...]
    ocrs: tuple[PageOcr, ...]
    references: tuple[str, ...]
    path: Path
    reader: PdfReader


@pytest.fixture(scope="session")
def assembled(tmp_path_factory: pytest.TempPathFactory) -> Assembled:
    """Grey 300 dpi, bilevel 200 dpi and colour 300 dpi pages, OCR'd and assembled."""
    root = tmp_path_factory.mktemp("assemble")
    texts = corpus_paragraphs(4, seed=11)
    scans = root / "scans"
    scans.mkdir()
    references = (
        write_scan(scans / "1.png", "\n".join(texts[:2]), dpi=300, mode="L"),
        write_scan(scans / "2.tif", texts[2], dpi=200, mode="1"),
        write_scan(scans / "3.jpg", texts[3], dpi=300, mode="RGB"),
    )
    pages = split_pages(sorted(scans.iterdir()), root / "work")
    ocrs = [ocr_page(page, root / "ocr", OcrSettings()) for page in pages]
    out = root / "out" / "ho-so.pdf"
    assemble_pdf(list(zip(pages, ocrs, strict=True)), out, DOSSIER)
    reader = PdfReader(io.BytesIO(out.read_bytes()))
    return Assembled(tuple(pages), tuple(ocrs), references, out, reader)


@pytest.fixture(scope="session")
def ours(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """Our own output: two small scanned pages (grey and colour), OCR'd, with metadata and parts."""
    root = tmp_path_factory.mktemp("pdfa")
    scans = root / "scans"
    scans.mkdir()
    texts = corpus_paragraphs(2, seed=21, max_chars=300)
    write_scan(scans / "1.png", texts[0], dpi=150, mode="L")
    write_scan(scans / "2.jpg", texts[1], dpi=150, mode="RGB")
    pages = split_pages(sorted(scans.iterdir()), root / "work")
    ocrs = [ocr_page(page, root / "ocr", OcrSettings()) for page in pages]
    out = root / "ho-so.pdf"
    parts = [("Tờ khai", 0), ("Giấy tờ kèm theo", 1)]
    assemble_pdf(list(zip(pages, ocrs, strict=True)), out, CHECKED_DOSSIER, parts=parts)
    return out.read_bytes()
