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

from PIL import Image

from digitize.assemble import DossierMetadata, assemble_pdf
from digitize.compression import encode_image, write_encoded
from digitize.errors import BadInputError, DigitizeError
from digitize.findings import Finding, ScanQualityError, blocking
from digitize.ocr import (
    OcrSettings,
    PageOcr,
    mean_confidence,
    recognise,
    sideways,
    write_page_ocr,
)
from digitize.orientation import Orientation
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
from digitize.recovery import reading_score, recover_lines
from digitize.textlayer import PageLayout

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

_SIDEWAYS_KEPT = 0.8
"""A page that Tesseract read down its side is turned upright unless that reading scores
under this share of the sideways one (then the page is not text on its side after all)."""


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
    orientation detection as a separate, cheap run only when that cannot decide; the
    text, the word confidences and the words' places come from one Tesseract
    recognition of the upright image, handed over in memory, for a clean upright page.
    The reading then checks the turn (:func:`_read_upright`): a page read down its side
    is turned, a poor reading of a page with another plausible way up is read that way
    too. Lines that a seal or a signature hid are read again
    (:func:`~digitize.recovery.recover_lines`) unless ``settings.recover_marked_lines``
    is off. The kept image is compressed for the PDF here too, beside the OCR, as
    ``quality.colour_mode`` says, so that assembly only copies bytes. Upright images go
    to ``workdir/prepared``, the page's layout to ``workdir/ocr``, the compressed image
    to ``workdir/encoded``. ``blank`` says the gate found the page blank (its confidence
    is then not flagged).
    """
    prepared, kept, ocr_image, layout = _read_upright(page, workdir, settings, prepare)
    if settings.recover_marked_lines:
        layout = recover_lines(ocr_image, page.dpi, layout, settings, name=page.path.stem).layout
    ocr = write_page_ocr(layout, workdir / "ocr" / f"{page.path.stem}.json")
    encoded = workdir / "encoded"
    encoded.mkdir(parents=True, exist_ok=True)
    try:
        image = encode_image(kept, blank=blank, colour_mode=quality.colour_mode)
        stored = write_encoded(image, encoded / f"{page.path.stem}.img")
    except (OSError, ValueError) as exc:
        raise DigitizeError(
            f"Không nén được ảnh trang {number} để ghép vào tệp PDF; sẽ thử lại",
            disposition="retry",
            detail=f"{type(exc).__name__}: {exc}"[:300],
        ) from None
    prepared = replace(prepared, page=replace(prepared.page, encoded=stored))
    findings = page_findings(number, prepared, ocr, blank=blank, quality=quality)
    return PageOutcome(prepared, ocr, findings)


def _read_upright(
    page: PageImage, workdir: Path, settings: OcrSettings, prepare: PrepareSettings
) -> tuple[PreparedPage, Image.Image, Image.Image, PageLayout]:
    """Turn a page upright and recognise it; then let the reading check the turn.

    Tesseract reads lines that run down the page as well as across it: a page whose
    reading runs down its side is turned the way the reading says, and kept so unless
    that reads much worse. A poor reading of a page with a plausible other way up is
    read that way too (then, still poor, the other end of that way), and the better
    reading (more characters read surely) kept. A page is read at most three ways; the
    turn of the reading kept is settled.
    """
    prepared, kept, ocr_image = prepare_images(page, workdir / "prepared", prepare)
    name = page.path.stem
    best = (prepared, kept, ocr_image, recognise(ocr_image, page.dpi, settings, name=name))
    tried = {prepared.orientation.rotation}
    last: Orientation | None = None
    for _ in range(2):
        way = _next_way(best[0].orientation, best[3], prepare, tried, last)
        if way is None:
            break
        tried.add(way.rotation)
        folder = workdir / "prepared" / f"turned-{way.rotation}"
        turned, turned_kept, turned_ocr = prepare_images(page, folder, prepare, orientation=way)
        layout = recognise(turned_ocr, page.dpi, settings, name=name)
        score, before = reading_score(layout.lines), reading_score(best[3].lines)
        if score > before or (sideways(best[3]) and score >= _SIDEWAYS_KEPT * before):
            sure = mean_confidence(layout) >= prepare.recheck_confidence
            settled = replace(way, method="reading", confident=sure, alternative=None)
            best = (replace(turned, orientation=settled), turned_kept, turned_ocr, layout)
        last = way
    return best


def _next_way(
    orientation: Orientation,
    layout: PageLayout,
    prepare: PrepareSettings,
    tried: set[int],
    last: Orientation | None,
) -> Orientation | None:
    """The next way to read a page, or None.

    A reading that runs down the page's side asks for the turn that makes it run across
    (read well) or for the opposite one (read poorly: the lines run up the page). A
    poor reading asks for its alternative, or the other end of the way read last (the
    right axis, the wrong end).
    """
    poor = mean_confidence(layout) < prepare.recheck_confidence
    turn = sideways(layout)
    ways: list[Orientation | None] = []
    if turn:
        for quarter in ((turn + 180) % 360, turn) if poor else (turn,):
            rotation = (orientation.rotation + quarter) % 360
            other = orientation.alternative
            if other is None or other.rotation != rotation:
                other = Orientation(rotation, 0.0, "reading", confident=False, lines=0)
            ways.append(other)
    elif poor:
        ways.append(orientation.alternative)
        if last is not None:
            ways.append(replace(last, rotation=(last.rotation + 180) % 360))
    return next((way for way in ways if way is not None and way.rotation not in tried), None)


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
