"""Page preparation before OCR: turn upright, deskew, and a normalised grey copy for Tesseract."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageChops

from digitize.errors import DigitizeError
from digitize.pages import PageImage, load_page_image, write_page_image
from digitize.quality import grey_levels, otsu_threshold

__all__ = [
    "Orientation",
    "PrepareSettings",
    "PreparedPage",
    "detect_orientation",
    "grey_for_ocr",
    "prepare_images",
    "prepare_page",
]

Method = Literal["profile", "osd", "none"]
"""How a page's orientation was decided: from its text-line profile, by Tesseract's
orientation detection (OSD), or not at all (no text lines found: left as scanned)."""

_TURNS = {
    90: Image.Transpose.ROTATE_270,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}
"""Pillow transposes that turn an image clockwise by the key's degrees."""

_MAX_POINTS = 250_000
"""Ink pixels sampled at most for the line-profile search (bounds its cost on dark pages)."""

_COARSE_STEP = 0.5
_FINE_STEP = 0.05
"""Angle steps (degrees) of the coarse and the fine skew search."""

_RULE_BINS = 3
"""Profile peaks narrower than this many bins are ruled lines (tables, underlines), not
text lines, and are shaved off before telling up from down."""

_RED_WEIGHT = [min(255, max(0, (v - 16) * 255 // 40)) for v in range(256)]
"""How much of the red channel replaces the luminance, by how much redder than green and
blue a pixel is: none up to 16 levels (grey and black ink), all from 56 (seal red)."""

_OSD_ROTATE = re.compile(r"Rotate:\s*(\d+)")
_OSD_CONFIDENCE = re.compile(r"Orientation confidence:\s*([\d.]+)")


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
    whether the text runs across the page or up it."""

    min_flip_score: float = 0.03
    """Smallest up/down asymmetry of the text lines that decides 0° against 180°."""

    min_lines: int = 3
    """Fewest text lines on which the line-profile decision is trusted on its own."""

    osd_fallback: bool = True
    """Ask Tesseract's orientation detection (one extra, cheap run) when the line profile
    cannot decide; off, an undecided page stays as scanned."""

    osd_dpi: int = 150
    """Resolution of the binarised copy given to Tesseract's orientation detection."""

    osd_min_confidence: float = 2.0
    """Tesseract's orientation confidence from which its answer is taken."""

    tesseract_cmd: str = "tesseract"
    """The Tesseract executable used for orientation detection."""

    osd_timeout_s: float = 60.0
    """Seconds orientation detection may take; past that the page stays as scanned."""


@dataclass(frozen=True)
class Orientation:
    rotation: int
    """Clockwise turn (0, 90, 180 or 270 degrees) that makes the page upright."""

    skew: float
    """Tilt of the text lines of the upright page, degrees counter-clockwise; undone by
    turning the page as much clockwise."""

    method: Method
    """What decided the rotation."""

    confident: bool
    """Whether the rotation was decided with a clear margin (else the page is flagged)."""

    lines: int
    """Text lines seen in the line profile."""


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
    page: PageImage, outdir: Path, settings: PrepareSettings | None = None
) -> tuple[PreparedPage, Image.Image, Image.Image]:
    """Make one page upright and straight: its description, the kept image and Tesseract's.

    Writes ``outdir/<stem>.tif`` (:func:`~digitize.pages.write_page_image`) when the page had to be
    turned or deskewed; the file is written under a temporary name and renamed, so
    a rerun replaces it whole. The kept image keeps the scan's mode and size
    (width and height swap for a quarter turn): deskewing resamples it once,
    with white filling the corners. Both images are returned decoded. The image
    for Tesseract has the kept image's geometry: for a colour page a grey copy with red seals
    lifted (:func:`grey_for_ocr`), else the kept image itself. An image that
    cannot be read or written raises :class:`~digitize.errors.DigitizeError`, to
    be retried.
    """
    settings = settings or PrepareSettings()
    try:
        return _prepare(page, outdir, settings)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DigitizeError(
            f"Không chuẩn bị được ảnh trang {page.path.stem} để nhận dạng chữ; sẽ thử lại",
            disposition="retry",
            detail=f"{type(exc).__name__}: {exc}"[:300],
        ) from None


def _prepare(
    page: PageImage, outdir: Path, settings: PrepareSettings
) -> tuple[PreparedPage, Image.Image, Image.Image]:
    """:func:`prepare_images` without the mapping of file errors."""
    outdir.mkdir(parents=True, exist_ok=True)
    scan = load_page_image(page.path)
    grey = _grey(scan)
    orientation = _orientation(grey, page.dpi, settings)
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
    ``max_skew_deg`` either way, across and up the page: text lines make the sharpest
    profile along their own direction, which gives the axis and the skew. Which end
    is up comes from the gaps between lines: Vietnamese (and Latin) text carries
    much more ink above its x-height (ascenders, capitals, tone marks) than below
    the baseline. When the profile cannot decide, Tesseract's orientation detection
    is asked (``osd_fallback``); failing that the page stays as scanned.
    """
    return _orientation(_grey(image), dpi, settings or PrepareSettings())


def _orientation(grey: Image.Image, dpi: int, settings: PrepareSettings) -> Orientation:
    """Orientation and skew of a page from its grey image (see :func:`detect_orientation`)."""
    small = _reduce(grey, dpi, settings.work_dpi)
    points = _ink_points(small)
    if points is None:
        return Orientation(0, 0.0, "none", confident=False, lines=0)
    ys, xs = points
    across = _best_angle(ys, xs, settings.max_skew_deg)
    up = _best_angle(xs, ys, settings.max_skew_deg)
    vertical = up.score > across.score
    best, other = (up, across) if vertical else (across, up)
    flip, lines = _up_down(best.profile)
    axis_sure = best.score >= settings.min_axis_ratio * other.score
    flip_sure = abs(flip) >= settings.min_flip_score and lines >= settings.min_lines
    at_limit = abs(best.angle) >= settings.max_skew_deg - _COARSE_STEP / 2
    if vertical:
        # Lines run up the page. Profiled from the left edge, upright ink gathers after
        # the gaps' middle when the page lies turned three quarters clockwise.
        rotation = 90 if flip > 0 else 270
        skew = -best.angle
    else:
        rotation = 0 if flip >= 0 else 180
        skew = best.angle
    skew = 0.0 if at_limit or not axis_sure else round(skew, 2)
    if axis_sure and flip_sure:
        return Orientation(rotation, skew, "profile", confident=True, lines=lines)
    if settings.osd_fallback:
        osd = _osd_rotation(grey, dpi, settings)
        same_axis = osd is not None and (osd - rotation) % 180 == 0
        # A clear axis from the profile outweighs OSD; OSD decides the rest.
        if osd is not None and (same_axis or not axis_sure):
            return Orientation(osd, skew if same_axis else 0.0, "osd", confident=True, lines=lines)
    if not axis_sure:
        return Orientation(0, 0.0, "profile", confident=False, lines=lines)
    # The axis is clear but not which end is up: a quarter turn is kept as guessed
    # (leaving the page on its side would be wrong for sure), a half turn is not.
    return Orientation(rotation if vertical else 0, skew, "profile", confident=False, lines=lines)


def grey_for_ocr(image: Image.Image) -> Image.Image:
    """The grey image Tesseract should read for a page: red and pink ink (seals) lifted.

    A red seal stamped over text would otherwise be binarised with it and hide it;
    in the red channel the seal is nearly as light as the paper while black (and
    blue) ink stays dark, so the copy takes the red channel's level where the page
    is red and the luminance elsewhere.
    """
    return _grey(image)


@dataclass(frozen=True)
class _Angle:
    angle: float
    """Best projection angle, degrees."""

    score: float
    """Sharpness of the profile at that angle (sum of squared bin counts, normalised)."""

    profile: npt.NDArray[np.float64]
    """Ink counts per row of the projection at that angle."""


def _grey(image: Image.Image) -> Image.Image:
    """Luminance of a page, with red ink (seals) replaced by the red channel's level.

    In the red channel a red seal is almost as light as the paper while black text
    under it stays black. The mask of red pixels is widened by two pixels, so the
    seal's edges, whose colour JPEG blurs, go too.
    """
    luminance = image.convert("L")
    if image.mode != "RGB":
        return luminance
    red, green, blue = image.split()
    redness = ImageChops.subtract(red, ImageChops.lighter(green, blue))
    weight = redness.point(_RED_WEIGHT)
    box = weight.getbbox()
    if box is None:
        return luminance
    left, top, right, bottom = box
    box = (
        max(0, left - 3),
        max(0, top - 3),
        min(image.width, right + 3),
        min(image.height, bottom + 3),
    )
    widened = Image.fromarray(_max_filter(np.asarray(weight.crop(box)), 2))
    luminance.paste(Image.composite(red.crop(box), luminance.crop(box), widened), box[:2])
    return luminance


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


def _reduce(grey: Image.Image, dpi: int, target_dpi: int) -> Image.Image:
    """A box-averaged copy of a grey image at about ``target_dpi`` (never enlarged)."""
    factor = max(1, round(dpi / target_dpi))
    return grey.reduce(factor) if factor > 1 else grey


def _ink_points(
    small: Image.Image,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]] | None:
    """Centred row and column coordinates of the ink pixels, or None when there is no ink."""
    pixels = np.asarray(small)
    ys, xs = np.nonzero(pixels < grey_levels(pixels).threshold)
    if ys.size < 50:
        return None
    if ys.size > _MAX_POINTS:
        keep = np.random.default_rng(0).choice(ys.size, _MAX_POINTS, replace=False)
        ys, xs = ys[keep], xs[keep]
    height, width = pixels.shape
    return (
        ys.astype(np.float32) - np.float32(height / 2),
        xs.astype(np.float32) - np.float32(width / 2),
    )


def _profile(
    rows: npt.NDArray[np.float32], cols: npt.NDArray[np.float32], angle: float
) -> npt.NDArray[np.float64]:
    """Ink counts per one-pixel band across lines tilted by ``angle`` degrees."""
    theta = np.deg2rad(angle)
    position = rows * np.float32(np.cos(theta)) + cols * np.float32(np.sin(theta))
    bins = np.rint(position - position.min()).astype(np.int64)
    return np.bincount(bins).astype(np.float64)


def _sharpness(profile: npt.NDArray[np.float64], count: int) -> float:
    """How peaked a profile is: the sum of its squared counts over the squared total."""
    return float(np.dot(profile, profile)) / float(count) ** 2


def _best_angle(
    rows: npt.NDArray[np.float32], cols: npt.NDArray[np.float32], limit: float
) -> _Angle:
    """The projection angle within ±``limit`` whose profile is sharpest, coarse then fine."""
    count = rows.size

    def score(angle: float) -> float:
        return _sharpness(_profile(rows, cols, angle), count)

    coarse = np.arange(-limit, limit + 1e-9, _COARSE_STEP)
    first = float(coarse[int(np.argmax([score(float(a)) for a in coarse]))])
    fine = np.arange(first - _COARSE_STEP, first + _COARSE_STEP + 1e-9, _FINE_STEP)
    scores = [score(float(a)) for a in fine]
    best = float(fine[int(np.argmax(scores))])
    return _Angle(best, max(scores), _profile(rows, cols, best))


def _up_down(profile: npt.NDArray[np.float64]) -> tuple[float, int]:
    """Which way up the lines of a profile are, and how many lines it shows.

    Thin peaks (ruled lines of a table or form) are shaved off first. Line cores
    are the bands where the smoothed profile reaches half its usual height. In each
    gap between two cores, upright text puts its ink (tone marks, ascenders,
    capitals of the next line) nearer the lower core than its descenders put near
    the upper one. Returns the mass-weighted mean offset of the gaps' centre of
    mass from their middle (positive: upright as profiled, in -0.5 … 0.5) and the
    number of cores.
    """
    if profile.size < 3:
        return 0.0, 0
    profile = _opening(profile, _RULE_BINS)
    smooth = np.convolve(profile, np.ones(3) / 3, mode="same")
    # Half of a high percentile, not of the maximum: a dense heading must not hide the
    # lighter lines of a form.
    core = (smooth >= 0.5 * np.percentile(smooth[smooth > 0], 90)).astype(np.int8)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], core, [0]))))
    starts, ends = edges[0::2], edges[1::2]
    offset = 0.0
    mass = 0.0
    for end, start in zip(ends[:-1], starts[1:], strict=True):
        gap = profile[end:start]
        weight = float(gap.sum())
        if gap.size < 2 or weight <= 0:
            continue
        centre = float(np.dot(gap, np.arange(gap.size))) / weight
        offset += (centre / (gap.size - 1) - 0.5) * weight
        mass += weight
    return (offset / mass if mass else 0.0), int(starts.size)


def _opening(profile: npt.NDArray[np.float64], width: int) -> npt.NDArray[np.float64]:
    """A profile with its peaks narrower than ``width`` bins shaved off (ruled lines)."""
    size = profile.size
    padded = np.pad(profile, width)
    # eroded[j] is the least of profile[j - width … j - 1]; the opening at k is the most
    # of the erosions of the windows that hold k, those starting at k - width + 1 … k.
    eroded = np.min([padded[i : i + size + width + 1] for i in range(width)], axis=0)
    return np.asarray(np.max([eroded[i + 1 : i + 1 + size] for i in range(width)], axis=0))


def _osd_rotation(grey: Image.Image, dpi: int, settings: PrepareSettings) -> int | None:
    """Tesseract's orientation detection on a binarised copy: the clockwise turn, if sure."""
    factor = max(1, round(dpi / settings.osd_dpi))
    small = _reduce(grey, dpi, settings.osd_dpi)
    threshold = otsu_threshold(np.asarray(small))
    binary = small.point([0 if v < threshold else 255 for v in range(256)])
    osd_dpi = max(1, round(dpi / factor))
    with tempfile.TemporaryDirectory(prefix="motcua-osd-") as temporary:
        path = Path(temporary) / "page.png"
        binary.save(path, dpi=(osd_dpi, osd_dpi))
        try:
            completed = subprocess.run(
                [settings.tesseract_cmd, str(path), "-", "--psm", "0", "--dpi", str(osd_dpi)],
                env={**os.environ, "OMP_THREAD_LIMIT": "1"},
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=settings.osd_timeout_s,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
    output = completed.stdout.decode("utf-8", "replace")
    rotate, confidence = _OSD_ROTATE.search(output), _OSD_CONFIDENCE.search(output)
    if completed.returncode != 0 or rotate is None or confidence is None:
        return None
    if float(confidence.group(1)) < settings.osd_min_confidence:
        return None
    return int(rotate.group(1)) % 360


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
