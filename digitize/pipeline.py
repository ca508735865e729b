"""The digitize recipe: scans in, quality gate, upright pages, OCR, one searchable PDF/A out."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from digitize.assemble import DossierMetadata, assemble_pdf
from digitize.compression import encode_image, write_encoded
from digitize.errors import BadInputError, DigitizeError
from digitize.findings import Finding, ScanQualityError, blocking
from digitize.ocr import OcrSettings, PageOcr, ocr_page
from digitize.pages import PageImage, count_pages, iter_split_file
from digitize.prepare import PreparedPage, PrepareSettings, prepare_images
from digitize.quality import (
    PageQuality,
    QualitySettings,
    confidence_findings,
    document_rules,
    inspect_page,
    orientation_finding,
)

__all__ = [
    "DigitizeResult",
    "PageOutcome",
    "digitize_files",
    "page_findings",
    "process_page",
    "split_and_inspect",
]

_DEFAULT_SETTINGS = OcrSettings()
_DEFAULT_QUALITY = QualitySettings()
_DEFAULT_PREPARE = PrepareSettings()


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

    findings: tuple[Finding, ...] = ()
    """What the quality gate, page preparation and OCR flagged, page by page (only
    findings that let the document through, unless the gate was not enforced)."""

    rotations: tuple[int, ...] = ()
    """Clockwise turn (0, 90, 180, 270) applied to each page to make it upright."""

    skews: tuple[float, ...] = ()
    """Tilt (degrees counter-clockwise) found and undone on each page."""


@dataclass(frozen=True)
class PageOutcome:
    prepared: PreparedPage
    """The upright page kept for the PDF, the copy Tesseract read, and the turn undone."""

    ocr: PageOcr
    """What Tesseract recognised on the page."""

    findings: tuple[Finding, ...]
    """Findings of this step: orientation not certain, low OCR confidence."""


def digitize_files(
    inputs: Sequence[Path],
    out: Path,
    *,
    settings: OcrSettings = _DEFAULT_SETTINGS,
    jobs: int = 1,
    metadata: DossierMetadata | None = None,
    workdir: Path | None = None,
    quality: QualitySettings = _DEFAULT_QUALITY,
    prepare: PrepareSettings = _DEFAULT_PREPARE,
    enforce_quality: bool = True,
) -> DigitizeResult:
    """Turn scans into one searchable PDF at ``out`` and report what was recognised.

    Pages are split out of the inputs and measured by the quality gate: a blocking
    finding (resolution under the minimum, every page blank, too dark, too faint)
    raises :class:`~digitize.findings.ScanQualityError` before any OCR, unless
    ``enforce_quality`` is off. Each page is then turned upright, deskewed and
    recognised by Tesseract, ``jobs`` pages at a time (each in its own process),
    and the upright pages are assembled with ``metadata``. Intermediate files live
    in ``workdir``, or in a temporary directory removed afterwards. Errors are
    :class:`~digitize.errors.DigitizeError` subclasses.
    """
    started = time.monotonic()
    with _working_directory(workdir) as work, _pool(jobs) as pool:
        pages, checked = split_and_inspect(inputs, work, quality, pool)
        gate = [finding for page in checked for finding in page.findings]
        if enforce_quality and blocking(gate):
            raise ScanQualityError(blocking(gate))
        pages = [replace(page, dpi=q.effective_dpi) for page, q in zip(pages, checked, strict=True)]
        outcomes = _process(
            pages, [q.blank for q in checked], work, settings, prepare, quality, pool
        )
        assemble_pdf([(o.prepared.page, o.ocr) for o in outcomes], out, metadata)
    findings = sorted([*gate, *(f for o in outcomes for f in o.findings)], key=lambda f: f.page)
    return DigitizeResult(
        pages=len(pages),
        text="\f".join(o.ocr.text for o in outcomes),
        confidences=tuple(o.ocr.confidence for o in outcomes),
        seconds=time.monotonic() - started,
        findings=tuple(findings),
        rotations=tuple(o.prepared.orientation.rotation for o in outcomes),
        skews=tuple(o.prepared.orientation.skew for o in outcomes),
    )


def process_page(
    page: PageImage,
    number: int,
    workdir: Path,
    settings: OcrSettings = _DEFAULT_SETTINGS,
    *,
    prepare: PrepareSettings = _DEFAULT_PREPARE,
    quality: QualitySettings = _DEFAULT_QUALITY,
    blank: bool = False,
) -> PageOutcome:
    """Prepare one page (upright, deskewed, normalised copy) and recognise it.

    The orientation is decided from the page's text-line profile, with Tesseract's
    orientation detection as a separate, cheap run only when that cannot decide;
    the text, the word confidences and the words' places come from one Tesseract
    recognition of the upright image, handed over in memory. The kept image is
    compressed for the PDF here too, beside the OCR, so that assembly only copies
    bytes. Upright images go to ``workdir/prepared``, the page's layout to
    ``workdir/ocr``, the compressed image to ``workdir/encoded``.
    ``blank`` says the gate found the page blank (its confidence is then not flagged).
    """
    prepared, kept, ocr_image = prepare_images(page, workdir / "prepared", prepare)
    ocr = ocr_page(prepared.page, workdir / "ocr", settings, image=ocr_image)
    encoded = workdir / "encoded"
    encoded.mkdir(parents=True, exist_ok=True)
    try:
        stored = write_encoded(encode_image(kept, blank=blank), encoded / f"{page.path.stem}.img")
    except (OSError, ValueError) as exc:
        raise DigitizeError(
            f"Không nén được ảnh trang {number} để ghép vào tệp PDF; sẽ thử lại",
            disposition="retry",
            detail=f"{type(exc).__name__}: {exc}"[:300],
        ) from None
    prepared = replace(prepared, page=replace(prepared.page, encoded=stored))
    findings = page_findings(number, prepared, ocr, blank=blank, quality=quality)
    return PageOutcome(prepared, ocr, findings)


def page_findings(
    number: int,
    prepared: PreparedPage,
    ocr: PageOcr,
    *,
    blank: bool = False,
    quality: QualitySettings = _DEFAULT_QUALITY,
) -> tuple[Finding, ...]:
    """What preparing and recognising a page found: orientation not certain, low confidence."""
    findings: list[Finding] = []
    orientation = prepared.orientation
    if not orientation.confident and orientation.method != "none":
        findings.append(orientation_finding(number))
    findings.extend(confidence_findings(number, ocr.confidence, blank=blank, settings=quality))
    return tuple(findings)


@contextmanager
def _working_directory(workdir: Path | None) -> Iterator[Path]:
    """The given working directory, or a temporary one removed on exit."""
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        yield workdir
        return
    with tempfile.TemporaryDirectory(prefix="motcua-digitize-") as temporary:
        yield Path(temporary)


@contextmanager
def _pool(jobs: int) -> Iterator[ProcessPoolExecutor | None]:
    """Worker processes for the whole run (None: everything in this process)."""
    if jobs <= 1:
        yield None
        return
    # The platform's default start method (fork on Linux before Python 3.14): workers
    # then need no `if __name__ == "__main__"` guard in the calling script.
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        yield pool


def split_and_inspect(
    inputs: Sequence[Path],
    workdir: Path,
    quality: QualitySettings = _DEFAULT_QUALITY,
    pool: ProcessPoolExecutor | None = None,
) -> tuple[list[PageImage], list[PageQuality]]:
    """Split the inputs into page files and inspect each page, file by file in parallel.

    Each page is inspected while it is still decoded from splitting. Page numbers
    are known beforehand from the files' headers, so each worker writes its pages
    under their final numbers; the document-wide rules (every page blank) are
    applied once all pages are in. Raises
    :class:`~digitize.errors.BadInputError` for an input that cannot be split.
    """
    if not inputs:
        raise BadInputError("Không có tệp nào để số hóa")
    work = partial(_split_one, workdir=workdir, quality=quality)
    if pool is None or len(inputs) < 2:
        results = []
        total = 1
        for path in inputs:
            results.append(work(Path(path), total))
            total += len(results[-1])
    else:
        firsts: list[int] = []
        total = 1
        for path in inputs:
            firsts.append(total)
            total += count_pages([path])
        results = list(pool.map(work, inputs, firsts))
    pages: list[PageImage] = []
    inspected: list[PageQuality] = []
    for file_pages in results:
        for page, page_quality in file_pages:
            pages.append(page)
            inspected.append(page_quality)
    return pages, document_rules(inspected)


def _split_one(
    path: Path, first: int, *, workdir: Path, quality: QualitySettings
) -> list[tuple[PageImage, PageQuality]]:
    """Split one file and inspect its pages (module-level so workers can import it)."""
    checked: list[tuple[PageImage, PageQuality]] = []
    for page, image in iter_split_file(path, workdir, first=first):
        with image:
            checked.append((page, inspect_page(page, first + len(checked), quality, image=image)))
    return checked


def _process(
    pages: Sequence[PageImage],
    blanks: Sequence[bool],
    workdir: Path,
    settings: OcrSettings,
    prepare: PrepareSettings,
    quality: QualitySettings,
    pool: ProcessPoolExecutor | None,
) -> list[PageOutcome]:
    """Prepare and OCR every page, in page order, on the pool's workers."""
    work = partial(
        _process_one, workdir=workdir, settings=settings, prepare=prepare, quality=quality
    )
    numbered = list(zip(pages, range(1, len(pages) + 1), blanks, strict=True))
    if pool is None or len(pages) < 2:
        return [work(item) for item in numbered]
    return list(pool.map(work, numbered))


def _process_one(
    item: tuple[PageImage, int, bool],
    *,
    workdir: Path,
    settings: OcrSettings,
    prepare: PrepareSettings,
    quality: QualitySettings,
) -> PageOutcome:
    """Prepare and OCR one page (module-level so worker processes can import it)."""
    page, number, blank = item
    return process_page(
        page, number, workdir, settings, prepare=prepare, quality=quality, blank=blank
    )
