"""Page preparation before OCR: turn upright, deskew, and a normalised grey copy for Tesseract."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageChops

from digitize.errors import DigitizeError
from digitize.orientation import Orientation, find_orientation
from digitize.pages import PageImage, load_page_image, write_page_image

__all__ = [
    "PrepareSettings",
    "PreparedPage",
    "detect_orientation",
    "grey_for_ocr",
    "prepare_images",
    "prepare_page",
]

_TURNS = {
    90: Image.Transpose.ROTATE_270,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}
"""Pillow transposes that turn an image clockwise by the key's degrees."""

_INK_WEIGHT = [min(255, max(0, (v - 16) * 255 // 40)) for v in range(256)]
"""How much of the red (or blue) channel replaces the luminance, by how much redder (bluer)
than the other two a pixel is: none up to 16 levels (grey and black ink), all from 56
(seal red, ballpoint blue)."""

_MIN_INK_LEVEL = 96
"""Darkest level of its own channel taken as a coloured ink's own (brightened to paper):
anything darker is not that ink but black under it."""


@dataclass(frozen=True)
class PrepareSettings:
    work_dpi: int = 100
    """Resolution of the downscaled grey copy on which orientation and skew are measured."""

    max_skew_deg: float = 10.0
    """Largest tilt searched for, either way; a best angle at the limit is not trusted."""

    min_skew_deg: float = 0.2
    """Smaller tilts are left alone: turning the kept image would cost more than it gains."""

    min_axis_ratio: float = 1.2
    """How much sharper the line profile must be along one axis than across it to say
    whether the text runs across the page or up it (when the lines' asymmetry cannot)."""

    min_evidence_ratio: float = 2.0
    """How many times more strongly the lines along one axis must show the up/down
    asymmetry of text than those along the other for that axis to be the lines'."""

    min_flip_score: float = 0.03
    """Smallest up/down asymmetry of the text lines that decides 0° against 180°."""

    min_lines: int = 3
    """Fewest text lines on which the line-profile decision is trusted on its own."""

    osd_fallback: bool = True
    """Ask Tesseract's orientation detection (one extra, cheap run) when the line profile
    cannot decide, or proposes a quarter turn it cannot settle alone; off, such a page is
    read as it lies and turned only when its reading says so."""

    osd_dpi: int = 150
    """Resolution of the binarised copy given to Tesseract's orientation detection."""

    osd_min_confidence: float = 2.0
    """Tesseract's orientation confidence from which its answer is taken."""

    tesseract_cmd: str = "tesseract"
    """The Tesseract executable used for orientation detection."""

    osd_timeout_s: float = 60.0
    """Seconds orientation detection may take; past that the page stays as scanned."""

    recheck_confidence: float = 80.0
    """Mean word confidence under which a page that has a plausible other way to be read
    (a turn taken, or one not taken for want of a second signal) is read that way too;
    the better reading is kept."""


@dataclass(frozen=True)
class PreparedPage:
    page: PageImage
    """The page image kept for the PDF: upright and deskewed, same mode and resolution as
    the scan, never binarised or filtered; the scan itself when nothing had to change."""

    orientation: Orientation
    """The rotation and skew found and undone."""


def prepare_page(
    page: PageImage, outdir: Path, settings: PrepareSettings | None = None
) -> PreparedPage:
    """Make one page upright and straight; :func:`prepare_images` without the OCR copy."""
    return prepare_images(page, outdir, settings)[0]


def prepare_images(
    page: PageImage,
    outdir: Path,
    settings: PrepareSettings | None = None,
    *,
    orientation: Orientation | None = None,
) -> tuple[PreparedPage, Image.Image, Image.Image]:
    """Make one page upright and straight: its description, the kept image and Tesseract's.

    Writes ``outdir/<stem>.tif`` (:func:`~digitize.pages.write_page_image`) when the page had to be
    turned or deskewed; the file is written under a temporary name and renamed, so
    a rerun replaces it whole. The kept image keeps the scan's mode and size
    (width and height swap for a quarter turn): deskewing resamples it once,
    with white filling the corners. Both images are returned decoded. The image
    for Tesseract has the kept image's geometry: for a colour page a grey copy with red seals
    lifted (:func:`grey_for_ocr`), else the kept image itself. ``orientation`` turns the
    page that way instead of finding its own (a second reading of a doubtful page). An
    image that cannot be read or written raises :class:`~digitize.errors.DigitizeError`,
    to be retried.
    """
    settings = settings or PrepareSettings()
    try:
        return _prepare(page, outdir, settings, orientation)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DigitizeError(
            f"Không chuẩn bị được ảnh trang {page.path.stem} để nhận dạng chữ; sẽ thử lại",
            disposition="retry",
            detail=f"{type(exc).__name__}: {exc}"[:300],
        ) from None


def _prepare(
    page: PageImage, outdir: Path, settings: PrepareSettings, orientation: Orientation | None
) -> tuple[PreparedPage, Image.Image, Image.Image]:
    """:func:`prepare_images` without the mapping of file errors."""
    outdir.mkdir(parents=True, exist_ok=True)
    scan = load_page_image(page.path)
    grey = _grey(scan)
    if orientation is None:
        orientation = find_orientation(grey, page.dpi, settings)
    upright = _apply(scan, orientation, settings)
    kept = page if upright is scan else _write_kept(upright, page, outdir)
    prepared = PreparedPage(page=kept, orientation=orientation)
    if scan.mode in ("1", "L"):
        # Tesseract binarises with Otsu's global threshold, which a contrast stretch
        # does not move: a grey page is read as kept (faint pages measured alike).
        return prepared, upright, upright
    return prepared, upright, _apply(grey, orientation, settings)


def detect_orientation(
    image: Image.Image, dpi: int, settings: PrepareSettings | None = None
) -> Orientation:
    """Find the quarter turn and the skew of a page from the profile of its text lines.

    On a downscaled grey copy the ink pixels are projected along every angle up to
    ``max_skew_deg`` either way, across and up the page: text lines make a sharp
    profile along their own direction, which gives the axis and the skew. Which end
    is up comes from the gaps between lines: Vietnamese (and Latin) text carries
    much more ink above its x-height (ascenders, capitals, tone marks) than below
    the baseline, an asymmetry that also tells the lines' axis from the columns of
    aligned text. When the profile cannot decide, or proposes a quarter turn on one of
    its signals only, Tesseract's orientation detection is asked (``osd_fallback``);
    failing that the page stays as scanned, flagged, with the other way to read it as
    :attr:`~digitize.orientation.Orientation.alternative`.
    """
    return find_orientation(_grey(image), dpi, settings or PrepareSettings())


def grey_for_ocr(image: Image.Image) -> Image.Image:
    """The grey image Tesseract should read for a page: red seals and blue pen lifted.

    A red seal or a blue signature over text would otherwise be binarised with it and
    hide it. In the channel of its own colour such ink is nearly as light as the paper
    while black ink stays dark, so where the page is red (or blue) the copy takes that
    channel's level, brightened so that the ink itself becomes paper, and the luminance
    elsewhere.
    """
    return _grey(image)


def _grey(image: Image.Image) -> Image.Image:
    """Luminance of a page, with red and blue ink replaced by their own channel's level.

    The mask of each ink is widened by two pixels, so its edges, whose colour JPEG
    blurs, go too.
    """
    luminance = image.convert("L")
    if image.mode != "RGB":
        return luminance
    red, green, blue = image.split()
    for channel, others in ((red, (green, blue)), (blue, (red, green))):
        weight = ImageChops.subtract(channel, ImageChops.lighter(*others)).point(_INK_WEIGHT)
        box = weight.getbbox()
        if box is None:
            continue
        left, top, right, bottom = box
        box = (
            max(0, left - 3),
            max(0, top - 3),
            min(image.width, right + 3),
            min(image.height, bottom + 3),
        )
        own = channel.crop(box)
        widened = Image.fromarray(_max_filter(np.asarray(weight.crop(box)), 2))
        lifted = own.point(_brighten(own, weight.crop(box)))
        luminance.paste(Image.composite(lifted, luminance.crop(box), widened), box[:2])
    return luminance


def _brighten(channel: Image.Image, weight: Image.Image) -> list[int]:
    """A lookup table that makes the ink's own level (the median of its channel where the
    ink is sure) paper white, scaling darker levels alike (black under it stays black)."""
    sure = weight.point(lambda v: 255 if v == 255 else 0)
    histogram = channel.histogram(mask=sure)
    total = sum(histogram)
    if total == 0:
        return list(range(256))
    level, seen = 255, 0
    for value, count in enumerate(histogram):
        seen += count
        if seen * 2 >= total:
            level = max(value, _MIN_INK_LEVEL)
            break
    return [min(255, v * 255 // level) for v in range(256)]


def _max_filter(pixels: npt.NDArray[np.uint8], radius: int) -> npt.NDArray[np.uint8]:
    """The greatest value within ``radius`` pixels across and down (a square max filter),
    made as two passes of shifted maxima: many times faster than a rank filter."""
    out = pixels.copy()
    for axis in (0, 1):
        source = out.copy()
        length = source.shape[axis]
        for shift in range(1, min(radius, length - 1) + 1):
            ahead = [slice(None)] * 2
            behind = [slice(None)] * 2
            ahead[axis], behind[axis] = slice(shift, None), slice(None, -shift)
            np.maximum(out[tuple(behind)], source[tuple(ahead)], out=out[tuple(behind)])
            np.maximum(out[tuple(ahead)], source[tuple(behind)], out=out[tuple(ahead)])
    return out


def _apply(image: Image.Image, orientation: Orientation, settings: PrepareSettings) -> Image.Image:
    """The page turned upright and deskewed (``image`` itself when nothing changes)."""
    turned = image
    transpose = _TURNS.get(orientation.rotation)
    if transpose is not None:
        turned = image.transpose(transpose)
    if abs(orientation.skew) < settings.min_skew_deg:
        return turned
    angle = -orientation.skew  # Pillow turns counter-clockwise for positive angles
    if turned.mode == "1":
        smooth = turned.convert("L").rotate(
            angle, resample=Image.Resampling.BILINEAR, fillcolor=255
        )
        return smooth.point(lambda v: 255 if v >= 128 else 0).convert("1")
    fill: int | tuple[int, int, int] = (255, 255, 255) if turned.mode == "RGB" else 255
    return turned.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=fill)


def _write_kept(image: Image.Image, page: PageImage, outdir: Path) -> PageImage:
    """Write the upright page image and describe it."""
    return replace(write_page_image(image, page.dpi, outdir / page.path.stem), dpi=page.dpi)
