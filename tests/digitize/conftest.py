"""Shared, once-per-session OCR of a few rendered pages, reused by the OCR and assembly tests."""

from __future__ import annotations

import subprocess
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from digitize.assemble import DossierMetadata, assemble_pdf
from digitize.ocr import OcrSettings, PageOcr, ocr_page
from digitize.pages import PageImage, split_pages
from tests.support.scans import corpus_paragraphs, write_scan


@dataclass(frozen=True)
class Recognised:
    """Pages rendered from the corpus, split, OCR'd once, with what the test run observed."""

    pages: tuple[PageImage, ...]
    ocrs: tuple[PageOcr, ...]
    references: tuple[str, ...]
    tesseract_runs: tuple[tuple[str, ...], ...]
    seconds_per_page: tuple[float, ...]
    outdir: Path


@dataclass(frozen=True)
class Assembled:
    """One PDF assembled from the recognised pages with dossier metadata."""

    path: Path
    recognised: Recognised
    metadata: DossierMetadata


def _counting(
    real: Callable[..., subprocess.CompletedProcess[bytes]], calls: list[tuple[str, ...]]
) -> Callable[..., subprocess.CompletedProcess[bytes]]:
    def run(command: Any, *args: Any, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        if isinstance(command, list | tuple) and "tesseract" in str(command[0]):
            calls.append(tuple(str(part) for part in command))
        return real(command, *args, **kwargs)

    return run


@pytest.fixture(scope="session")
def recognised(tmp_path_factory: pytest.TempPathFactory) -> Recognised:
    """A grey 300 dpi PNG page, a bilevel 200 dpi TIFF page and a colour JPEG page, OCR'd."""
    root = tmp_path_factory.mktemp("recognised")
    texts = corpus_paragraphs(7, seed=3)
    scans = root / "scans"
    scans.mkdir()
    references = (
        write_scan(scans / "a.png", "\n".join(texts[:5]), dpi=300, mode="L"),
        write_scan(scans / "b.tif", texts[5], dpi=200, mode="1"),
        write_scan(scans / "c.jpg", texts[6], dpi=300, mode="RGB"),
    )
    pages = split_pages(sorted(scans.iterdir()), root / "work")
    calls: list[tuple[str, ...]] = []
    seconds: list[float] = []
    ocrs: list[PageOcr] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(subprocess, "run", _counting(subprocess.run, calls))
        for page in pages:
            started = time.monotonic()
            ocrs.append(ocr_page(page, root / "ocr", OcrSettings()))
            seconds.append(time.monotonic() - started)
    return Recognised(
        pages=tuple(pages),
        ocrs=tuple(ocrs),
        references=references,
        tesseract_runs=tuple(calls),
        seconds_per_page=tuple(seconds),
        outdir=root / "ocr",
    )


HANOI = timezone(timedelta(hours=7))


@pytest.fixture(scope="session")
def dossier() -> DossierMetadata:
    """Dossier metadata given in decomposed (NFD) Unicode, as some keyboards produce it."""

    def nfd(text: str) -> str:
        return unicodedata.normalize("NFD", text)

    return DossierMetadata(
        code="000.00.07.H29-250312-0042",
        office=nfd("UBND xã Phước Thiền"),
        procedure=nfd("Đăng ký khai sinh"),
        applicant=nfd("Trần Thị Bích Ngọc"),
        received_at=datetime(2025, 3, 12, 8, 30, tzinfo=HANOI),
        due_at=datetime(2025, 3, 14, 9, 0, tzinfo=UTC),
    )


@pytest.fixture(scope="session")
def assembled(
    recognised: Recognised, dossier: DossierMetadata, tmp_path_factory: pytest.TempPathFactory
) -> Assembled:
    """The recognised pages assembled into one PDF with the dossier metadata."""
    out = tmp_path_factory.mktemp("assembled") / "ho-so.pdf"
    assemble_pdf(list(zip(recognised.pages, recognised.ocrs, strict=True)), out, dossier)
    return Assembled(path=out, recognised=recognised, metadata=dossier)
