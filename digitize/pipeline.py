"""The digitize recipe: scans in, one searchable PDF/A out."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from digitize.assemble import DossierMetadata, assemble_pdf
from digitize.ocr import OcrSettings, PageOcr, ocr_page
from digitize.pages import PageImage, split_pages

__all__ = ["DigitizeResult", "digitize_files"]

_DEFAULT_SETTINGS = OcrSettings()


@dataclass(frozen=True)
class DigitizeResult:
    pages: int
    """Number of pages in the output PDF."""

    text: str
    """Recognised text of all pages, in order, separated by form feeds ("\\f")."""

    confidences: tuple[float, ...]
    """Mean word confidence (0 to 100) of each page, in order."""

    seconds: float
    """Wall-clock time the whole run took."""


def digitize_files(
    inputs: Sequence[Path],
    out: Path,
    *,
    settings: OcrSettings = _DEFAULT_SETTINGS,
    jobs: int = 1,
    metadata: DossierMetadata | None = None,
    workdir: Path | None = None,
) -> DigitizeResult:
    """Turn scans into one searchable PDF at ``out`` and report what was recognised.

    Pages are split out of the inputs, recognised by Tesseract ``jobs`` pages at a
    time (each in its own process), then assembled with ``metadata``. Intermediate
    files live in ``workdir``, or in a temporary directory removed afterwards.
    Errors are :class:`~digitize.errors.DigitizeError` subclasses.
    """
    started = time.monotonic()
    with _working_directory(workdir) as work:
        pages = split_pages(inputs, work)
        ocrs = _recognise(pages, work / "ocr", settings, jobs)
        assemble_pdf(list(zip(pages, ocrs, strict=True)), out, metadata)
    return DigitizeResult(
        pages=len(pages),
        text="\f".join(ocr.text for ocr in ocrs),
        confidences=tuple(ocr.confidence for ocr in ocrs),
        seconds=time.monotonic() - started,
    )


@contextmanager
def _working_directory(workdir: Path | None) -> Iterator[Path]:
    """The given working directory, or a temporary one removed on exit."""
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        yield workdir
        return
    with tempfile.TemporaryDirectory(prefix="motcua-digitize-") as temporary:
        yield Path(temporary)


def _recognise(
    pages: Sequence[PageImage], outdir: Path, settings: OcrSettings, jobs: int
) -> list[PageOcr]:
    """OCR every page, in page order, on up to ``jobs`` worker processes."""
    recognise = partial(_ocr_one, outdir=outdir, settings=settings)
    workers = max(1, min(jobs, len(pages)))
    if workers == 1:
        return [recognise(page) for page in pages]
    # The platform's default start method (fork on Linux before Python 3.14): workers
    # then need no `if __name__ == "__main__"` guard in the calling script.
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(recognise, pages))


def _ocr_one(page: PageImage, *, outdir: Path, settings: OcrSettings) -> PageOcr:
    """OCR one page (a module-level function so worker processes can import it)."""
    return ocr_page(page, outdir, settings)
