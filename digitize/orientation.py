"""Page orientation: the quarter turn and skew from the text-line profile, else Tesseract's OSD."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
import pytesseract
from PIL import Image

from digitize.levels import grey_levels, otsu_threshold

if TYPE_CHECKING:
    from digitize.prepare import PrepareSettings

__all__ = ["Orientation", "find_orientation"]

Method = Literal["profile", "osd", "reading", "none"]
"""How a page's orientation was decided: from its text-line profile, by Tesseract's
orientation detection (OSD), by reading the page two ways and keeping the better, or not
at all (no text lines found: left as scanned)."""

_MAX_POINTS = 250_000
"""Ink pixels sampled at most for the line-profile search (bounds its cost on dark pages)."""

_COARSE_STEP = 0.5
_FINE_STEP = 0.05
"""Angle steps (degrees) of the coarse and the fine skew search."""

_COARSE_POINTS = 25_000
"""Ink points, evenly taken, on which the coarse skew search runs (the fine one uses all)."""

_RULE_BINS = 3
"""Profile peaks narrower than this many bins are ruled lines (tables, underlines), not
text lines, and are shaved off before telling up from down."""

_MAX_IRREGULARITY = 0.12
"""Lines of text are spaced evenly (their pitch varies by a few per cent, paragraph gaps
aside); the letters of a line seen from the side are not (a fifth and more)."""


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

    alternative: Orientation | None = None
    """The runner-up way to read the page, read as well when the recognition after this
    turn comes out poor (the better reading is kept); None when no other is plausible."""


@dataclass(frozen=True)
class _Axis:
    angle: float
    """Best projection angle, degrees."""

    score: float
    """Sharpness of the profile at that angle (sum of squared bin counts, normalised)."""

    profile: npt.NDArray[np.float64]
    """Ink counts per row of the projection at that angle."""


@dataclass(frozen=True)
class _Reading:
    axis: _Axis
    """The sharpest projection along one of the page's axes."""

    flip: float
    """Up/down asymmetry of the lines seen along it (:func:`_up_down`)."""

    lines: int
    """Line cores seen along it."""

    irregularity: float
    """How unevenly the cores are spaced: the median deviation of their pitch over the
    median pitch (1.0 with too few to tell)."""

    def evidence(self, settings: PrepareSettings) -> float:
        """How much the profile looks like lines of text: the asymmetry that ascenders and
        tone marks give real lines, nil with too few lines or lines spaced unevenly (the
        letters of a line seen from the side)."""
        if self.lines < settings.min_lines or self.irregularity > _MAX_IRREGULARITY:
            return 0.0
        return abs(self.flip)


def find_orientation(grey: Image.Image, dpi: int, settings: PrepareSettings) -> Orientation:
    """Orientation and skew of a page from its grey image.

    See :func:`digitize.prepare.detect_orientation`, which makes the grey image. The axis
    the lines run along is the one whose profile shows the up/down asymmetry of real
    text clearly more than the other, else the sharper one. A quarter turn is taken on
    the profile alone only when both agree: aligned text (tables, lists, forms with
    repeated labels) makes the profile across the lines sharp too. Otherwise OSD is
    asked and must agree; failing that the page is read as it lies, flagged, with the
    quarter turn as its alternative (read too when the first reading comes out poor).
    """
    small = _reduce(grey, dpi, settings.work_dpi)
    points = _ink_points(small)
    if points is None:
        return Orientation(0, 0.0, "none", confident=False, lines=0)
    ys, xs = points
    across = _reading(_best_angle(ys, xs, settings.max_skew_deg))
    up = _reading(_best_angle(xs, ys, settings.max_skew_deg))
    vertical, by_lines, axis_sure = _axis(across, up, settings)
    upright = _horizontal(across, settings, sure=axis_sure or vertical)
    if not vertical:
        return _horizontal_page(upright, up, grey, dpi, settings, sure=axis_sure)
    # Lines run up the page. Profiled from the left edge, upright ink gathers after the
    # gaps' middle when the page lies turned three quarters clockwise.
    flip_sure = abs(up.flip) >= settings.min_flip_score and up.lines >= settings.min_lines
    skew = _skew(-up.axis.angle, settings)
    turned = Orientation(
        90 if up.flip > 0 else 270, skew, "profile", True, up.lines, alternative=upright
    )
    if by_lines and flip_sure and up.axis.score >= across.axis.score:
        return turned
    osd = _osd_rotation(grey, dpi, settings) if settings.osd_fallback else None
    if osd is not None and osd % 180 == 90:
        return replace(turned, rotation=osd, skew=skew, method="osd")
    if osd is not None:
        return replace(upright, rotation=osd, method="osd", confident=True, alternative=turned)
    # No second signal for the quarter turn: the page is read as it lies (or upside down
    # when its own lines say so), flagged, and turned only if that reads worse.
    return replace(upright, confident=False, alternative=replace(turned, confident=False))


def _reading(axis: _Axis) -> _Reading:
    """An axis's profile with its lines' asymmetry, count and spacing."""
    return _Reading(axis, *_up_down(axis.profile))


def _axis(across: _Reading, up: _Reading, settings: PrepareSettings) -> tuple[bool, bool, bool]:
    """Whether the lines run up the page, whether their asymmetry said so, and whether the
    answer is clear.

    The asymmetry decides when one axis shows it ``min_evidence_ratio`` times as strongly
    as the other; else the sharper profile does, clearly when ``min_axis_ratio`` times
    sharper.
    """
    flat, tall = across.evidence(settings), up.evidence(settings)
    strong, weak = max(flat, tall), min(flat, tall)
    if strong >= settings.min_flip_score and strong >= settings.min_evidence_ratio * weak:
        return tall > flat, True, True
    vertical = up.axis.score > across.axis.score
    sharp, blunt = (up, across) if vertical else (across, up)
    return vertical, False, sharp.axis.score >= settings.min_axis_ratio * blunt.axis.score


def _skew(angle: float, settings: PrepareSettings) -> float:
    """A measured tilt, or none when the search ended at its limit (not to be trusted)."""
    at_limit = abs(angle) >= settings.max_skew_deg - _COARSE_STEP / 2
    return 0.0 if at_limit else round(angle, 2)


def _horizontal(across: _Reading, settings: PrepareSettings, *, sure: bool) -> Orientation:
    """The page read along its horizontal lines: as it lies, or upside down when its lines
    say so clearly (then as it lies is the alternative; upside down is, when they do not
    say); ``sure``: the axis is clear."""
    flip_sure = abs(across.flip) >= settings.min_flip_score and across.lines >= settings.min_lines
    rotation = 180 if flip_sure and across.flip < 0 else 0
    skew = _skew(across.axis.angle, settings) if sure else 0.0
    alternative = None
    if rotation or not flip_sure:
        alternative = Orientation(180 - rotation, skew, "profile", False, across.lines)
    return Orientation(rotation, skew, "profile", sure and flip_sure, across.lines, alternative)


def _horizontal_page(
    upright: Orientation,
    up: _Reading,
    grey: Image.Image,
    dpi: int,
    settings: PrepareSettings,
    *,
    sure: bool,
) -> Orientation:
    """The orientation of a page whose lines run across it, OSD asked when in doubt."""
    if upright.confident or not settings.osd_fallback:
        return upright
    osd = _osd_rotation(grey, dpi, settings)
    if osd is not None and osd % 180 == 0:
        return replace(upright, rotation=osd, method="osd", confident=True, alternative=None)
    if osd is not None and not sure:
        # A quarter turn OSD alone proposes is only tried when the page reads badly.
        side = Orientation(osd, _skew(-up.axis.angle, settings), "osd", False, up.lines)
        return replace(upright, alternative=side)
    return upright


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
) -> _Axis:
    """The projection angle within ±``limit`` whose profile is sharpest, coarse then fine
    (the coarse search on every few points only, at most :data:`_COARSE_POINTS`)."""
    step = max(1, -(-rows.size // _COARSE_POINTS))

    def score(angle: float, stride: int = 1) -> float:
        sample = _profile(rows[::stride], cols[::stride], angle)
        return _sharpness(sample, -(-rows.size // stride))

    coarse = np.arange(-limit, limit + 1e-9, _COARSE_STEP)
    first = float(coarse[int(np.argmax([score(float(a), step) for a in coarse]))])
    fine = np.arange(first - _COARSE_STEP, first + _COARSE_STEP + 1e-9, _FINE_STEP)
    scores = [score(float(a)) for a in fine]
    best = float(fine[int(np.argmax(scores))])
    return _Axis(best, max(scores), _profile(rows, cols, best))


def _up_down(profile: npt.NDArray[np.float64]) -> tuple[float, int, float]:
    """Which way up the lines of a profile are, how many it shows and how evenly spaced.

    Thin peaks (ruled lines of a table or form) are shaved off first. Line cores
    are the bands where the smoothed profile reaches half its usual height. In each
    gap between two cores, upright text puts its ink (tone marks, ascenders,
    capitals of the next line) nearer the lower core than its descenders put near
    the upper one. Returns the mass-weighted mean offset of the gaps' centre of
    mass from their middle (positive: upright as profiled, in -0.5 … 0.5), the number
    of cores and the irregularity of their spacing (see :class:`_Reading`).
    """
    if profile.size < 3:
        return 0.0, 0, 1.0
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
    return (offset / mass if mass else 0.0), int(starts.size), _irregularity(starts, ends)


def _irregularity(starts: npt.NDArray[np.intp], ends: npt.NDArray[np.intp]) -> float:
    """The median deviation of the pitch between line cores over the median pitch."""
    if starts.size < 3:
        return 1.0
    pitches = np.diff((starts + ends) / 2)
    typical = float(np.median(pitches))
    return float(np.median(np.abs(pitches - typical))) / typical if typical > 0 else 1.0


def _opening(profile: npt.NDArray[np.float64], width: int) -> npt.NDArray[np.float64]:
    """A profile with its peaks narrower than ``width`` bins shaved off (ruled lines)."""
    size = profile.size
    padded = np.pad(profile, width)
    # eroded[j] is the least of profile[j - width … j - 1]; the opening at k is the most
    # of the erosions of the windows that hold k, those starting at k - width + 1 … k.
    eroded = np.min([padded[i : i + size + width + 1] for i in range(width)], axis=0)
    return np.asarray(np.max([eroded[i + 1 : i + 1 + size] for i in range(width)], axis=0))


class _SharedCommand:
    """pytesseract's Tesseract command, a module global: shared by the runs that name the
    same command, changed only while no run is under way (one process's settings name one
    command, so runs in threads go on side by side)."""

    def __init__(self) -> None:
        self._idle = threading.Condition()
        self._runs = 0

    @contextmanager
    def using(self, command: str) -> Iterator[None]:
        """Hold pytesseract's command at ``command`` until the block ends."""
        with self._idle:
            while self._runs and pytesseract.pytesseract.tesseract_cmd != command:
                self._idle.wait()
            pytesseract.pytesseract.tesseract_cmd = command
            self._runs += 1
        try:
            yield
        finally:
            with self._idle:
                self._runs -= 1
                self._idle.notify_all()


_COMMAND = _SharedCommand()
"""The only writer of ``pytesseract.pytesseract.tesseract_cmd`` in motcua."""


def _osd_rotation(grey: Image.Image, dpi: int, settings: PrepareSettings) -> int | None:
    """Tesseract's orientation detection on a binarised copy: the clockwise turn, if sure.

    None when the command is missing, fails, outlasts ``osd_timeout_s`` or answers with
    less than ``osd_min_confidence``. pytesseract runs ``tesseract_cmd`` in this process's
    environment, never one of its own: the roles that digitize run with
    ``OMP_THREAD_LIMIT=1`` (``motcua.roles.exec_celery`` for the workers, the Docker
    image for every role), and orientation detection, Tesseract's legacy classifier,
    starts no OpenMP thread without it either.
    """
    factor = max(1, round(dpi / settings.osd_dpi))
    small = _reduce(grey, dpi, settings.osd_dpi)
    threshold = otsu_threshold(np.asarray(small))
    binary = small.point([0 if v < threshold else 255 for v in range(256)])
    osd_dpi = max(1, round(dpi / factor))
    try:
        with _COMMAND.using(settings.tesseract_cmd):
            found = pytesseract.image_to_osd(
                binary,
                config=f"--dpi {osd_dpi}",
                output_type=pytesseract.Output.DICT,
                timeout=settings.osd_timeout_s,
            )
    except (OSError, RuntimeError, KeyError, ValueError):
        # OSError: no such command (TesseractNotFoundError) or it cannot run; RuntimeError:
        # a failed run (TesseractError) or one past the timeout; KeyError, ValueError: an
        # answer not in OSD's words.
        return None
    rotate, confidence = found.get("rotate"), found.get("orientation_conf")
    if not isinstance(rotate, int) or not isinstance(confidence, float):
        return None
    if confidence < settings.osd_min_confidence:
        return None
    return rotate % 360
