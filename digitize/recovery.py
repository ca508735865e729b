"""Lines under seals and signatures: found where ink went unread, read again, the mark lifted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

from digitize.marks import Box, Mark, find_marks, ink_threshold, lift_marks, unread_regions
from digitize.ocr import OcrSettings, recognise
from digitize.textlayer import Line, PageLayout, Word

__all__ = ["Reading", "reading_score", "recover_lines"]

_BAND_PAD_IN = 0.15
"""How far above and below the unread ink a strip read again reaches (inches), its edges
then moved to the emptiest row near by (a gap between lines)."""

_LINE_PAD_IN = 0.03
"""How far above and below its core a line's strip reaches (inches), and the least height
of a core that is a line."""

_MIN_GAIN = 1.02
"""How much better a strip's new reading must score than the lines it replaces."""


@dataclass(frozen=True)
class Reading:
    layout: PageLayout
    """The recognised lines and words of the page."""

    marks: tuple[Mark, ...] = ()
    """Seals and strokes found over text; the lines they cross were read again."""

    recovered: int = 0
    """Strips of the page whose new reading replaced the first one."""


def recover_lines(
    image: Image.Image, dpi: int, layout: PageLayout, settings: OcrSettings, *, name: str = ""
) -> Reading:
    """A page's reading with the lines under marks read again where that reads better.

    Ink that no recognised word covers, spread wide enough, is where a seal or a
    signature made Tesseract lose or garble lines (:func:`~digitize.marks.unread_regions`).
    Marks lighter than the print (a red seal or a blue pen on a grey scan) are lifted
    from a copy of the page (:func:`~digitize.marks.lift_marks`); the lines of the
    full-width strip around each place are then read again one by one, and replace the
    lines first read there when they score higher (:func:`reading_score`). A page with
    no unread ink costs only the count of its ink.
    """
    grey = image if image.mode == "L" else image.convert("L")
    regions = unread_regions(grey, dpi, layout)
    if not regions:
        return Reading(layout)
    pixels = np.asarray(grey)
    marks = find_marks(grey, dpi, regions)
    lifted = lift_marks(grey, marks)
    threshold = ink_threshold(pixels)
    profile = (pixels < threshold).sum(axis=1)
    recovered = 0
    for top, bottom in _bands([*regions, *(mark.box for mark in marks)], profile, dpi):
        fresh: list[Line] = []
        band = np.asarray(lifted.crop((0, top, grey.width, bottom)))
        for upper, lower in _line_strips((band < threshold).sum(axis=1), dpi):
            strip = lifted.crop((0, top + upper, grey.width, top + lower))
            found = recognise(strip, dpi, settings, name=name, block=True)
            fresh.extend(_shifted(line, top + upper) for line in found.lines)
        old = [line for line in layout.lines if top <= _middle(line) < bottom]
        if reading_score(fresh) > _MIN_GAIN * reading_score(old):
            layout = _replaced(layout, top, bottom, tuple(fresh))
            recovered += 1
    return Reading(layout, marks, recovered)


def reading_score(lines: Sequence[Line]) -> float:
    """How much text a reading holds and how sure of it Tesseract is: characters weighted
    by their word's confidence."""
    return sum(len(w.text) * max(0.0, w.confidence) / 100 for line in lines for w in line.words)


def _bands(boxes: Sequence[Box], profile: npt.NDArray[np.intp], dpi: int) -> list[tuple[int, int]]:
    """Full-width strips (top, bottom rows) around the boxes, merged where they overlap,
    each edge moved to the row with the least ink within reach."""
    pad = max(1, round(dpi * _BAND_PAD_IN))
    height = profile.size
    spans = sorted((max(0, top - pad), min(height, bottom + pad)) for _, top, _, bottom in boxes)
    merged: list[tuple[int, int]] = []
    for top, bottom in spans:
        if merged and top <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], bottom))
        else:
            merged.append((top, bottom))
    bands = []
    for top, bottom in merged:
        upper = top + int(np.argmin(profile[top : min(height, top + pad)]))
        lower = bottom - pad + int(np.argmin(profile[max(0, bottom - pad) : bottom]))
        if lower - upper > pad:
            bands.append((upper, lower))
    return bands


def _line_strips(profile: npt.NDArray[np.intp], dpi: int) -> list[tuple[int, int]]:
    """The rows (top, bottom) of each text line of a band, from its ink profile: the runs
    where the smoothed profile passes a quarter of its usual height, widened by
    :data:`_LINE_PAD_IN` for tone marks and descenders. The whole band when none is found.
    """
    if profile.size == 0 or not profile.any():
        return [(0, profile.size)]
    smooth = np.convolve(profile.astype(np.float64), np.ones(5) / 5, mode="same")
    cores = (smooth >= 0.25 * np.percentile(smooth, 90)).astype(np.int8)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], cores, [0]))))
    pad, shortest = round(dpi * _LINE_PAD_IN), round(dpi * _LINE_PAD_IN)
    strips = [
        (max(0, int(start) - pad), min(profile.size, int(end) + pad))
        for start, end in zip(edges[0::2], edges[1::2], strict=True)
        if end - start >= shortest
    ]
    return strips or [(0, profile.size)]


def _middle(line: Line) -> float:
    """The row halfway down a line's box."""
    return (line.box[1] + line.box[3]) / 2


def _shifted(line: Line, dy: int) -> Line:
    """A line read on a strip, moved down by the strip's top."""

    def down(box: Box) -> Box:
        return (box[0], box[1] + dy, box[2], box[3] + dy)

    x1, y1, x2, y2 = line.baseline
    return Line(
        baseline=(x1, y1 + dy, x2, y2 + dy),
        box=down(line.box),
        words=tuple(Word(w.text, down(w.box), w.confidence) for w in line.words),
    )


def _replaced(layout: PageLayout, top: int, bottom: int, fresh: tuple[Line, ...]) -> PageLayout:
    """The layout with its lines in rows top … bottom replaced by ``fresh``, put where the
    first of them was (or before the first line below the strip)."""
    kept: list[Line] = []
    at: int | None = None
    for line in layout.lines:
        inside = top <= _middle(line) < bottom
        if at is None and (inside or _middle(line) >= bottom):
            at = len(kept)
        if not inside:
            kept.append(line)
    at = len(kept) if at is None else at
    lines = (*kept[:at], *fresh, *kept[at:])
    return PageLayout(width=layout.width, height=layout.height, dpi=layout.dpi, lines=lines)
