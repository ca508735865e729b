"""Page orientation: the quarter turn and skew from the text-line profile, else Tesseract's OSD."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
from PIL import Image

from digitize.levels import grey_levels, otsu_threshold

if TYPE_CHECKING:
    from digitize.prepare import PrepareSettings

__all__ = ["Orientation", "find_orientation"]

Method = Literal["profile", "osd", "none"]
"""How a page's orientation was decided: from its text-line profile, by Tesseract's
orientation detection (OSD), or not at all (no text lines found: left as scanned)."""

_MAX_POINTS = 250_000
"""Ink pixels sampled at most for the line-profile search (bounds its cost on dark pages)."""

_COARSE_STEP = 0.5
_FINE_STEP = 0.05
"""Angle steps (degrees) of the coarse and the fine skew search."""

_RULE_BINS = 3
"""Profile peaks narrower than this many bins are ruled lines (tables, underlines), not
text lines, and are shaved off before telling up from down."""

_OSD_ROTATE = re.compile(r"Rotate:\s*(\d+)")
_OSD_CONFIDENCE = re.compile(r"Orientation confidence:\s*([\d.]+)")


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


def find_orientation(grey: Image.Image, dpi: int, settings: PrepareSettings) -> Orientation:
    """Orientation and skew of a page from its grey image.

    See :func:`digitize.prepare.detect_orientation`, which makes the grey image.
    """
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


@dataclass(frozen=True)
class _Angle:
    angle: float
    """Best projection angle, degrees."""

    score: float
    """Sharpness of the profile at that angle (sum of squared bin counts, normalised)."""

    profile: npt.NDArray[np.float64]
    """Ink counts per row of the projection at that angle."""


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
