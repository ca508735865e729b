"""Seals and pen strokes over text: ink left unread by the recognition, its tone, and lifting it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFilter

from digitize.levels import otsu_threshold
from digitize.textlayer import PageLayout

__all__ = ["Mark", "find_marks", "ink_threshold", "lift_marks", "unread_regions"]

Box = tuple[int, int, int, int]
"""Left, top, right and bottom edges in pixels of the page image (top-left origin)."""

_TILE_IN = 1 / 25
"""Side of the square tiles in which ink is counted, in inches (8 px at 200 dpi)."""

_TILE_INK = 1 / 8
"""Share of a tile's pixels that must be ink for it to count as inked (specks do not)."""

_MIN_REGION_IN = (0.3, 0.25)
"""Unread ink must spread this far (inches, its longer side) and this high to be a mark's
doing, over more than one line: a word Tesseract was unsure of (a document number), a
speck of dust are left alone."""

_MIN_REGION_TILES = 40
"""Fewest unread tiles in a region worth reading again."""

_MIN_WORD_CONFIDENCE = 60.0
"""Words recognised with less confidence do not count as reading their ink: over a seal
Tesseract often makes words of its rim and of the text under it alike."""

_RULE_IN = 0.5
"""Straight runs of tiles this long (inches) are ruled lines of a table or form, not marks."""

_MIN_MARK_IN = (0.5, 0.25)
"""Smallest longer and shorter side (inches) of a mark lighter than the print: a seal is
about 1.5 in across, a signature about 2 by 0.5 in."""

_MIN_MARK_TILES = 20
"""Fewest tiles of mid-tone ink away from the print that make a lighter mark."""

_SPLIT = 0.75
"""Where print ends and a lighter mark begins, as a share of the way from the darkest
print to the mark's own level."""

_EVIDENCE_SHARE = 0.08
"""Share of a tile's pixels in the middle tones, away from dark print, that marks it as
part of a seal or a pen stroke lighter than the print."""


@dataclass(frozen=True)
class Mark:
    box: Box
    """Where the mark lies, in pixels of the page image read."""

    level: int
    """Grey level of the mark's own ink (where it is darkest, on a median-filtered copy):
    lighter than the print, which is kept where the mark is lifted. 0 for a mark as dark
    as the print (a bilevel scan, black pen), which cannot be lifted: the lines it
    crosses are only read again."""


def ink_threshold(pixels: npt.NDArray[np.uint8]) -> int:
    """The grey level under which a pixel of the page counts as ink: above Otsu's (on a
    sample), which is the darker class's top."""
    return otsu_threshold(np.ascontiguousarray(pixels[::4, ::4])) + 1


def unread_regions(grey: Image.Image, dpi: int, layout: PageLayout) -> list[Box]:
    """Places where a grey page holds ink that no recognised word covers, large enough to be
    a seal or a signature over text (or lines it made Tesseract lose).

    Ink is counted in tiles of :data:`_TILE_IN`; tiles under the box of a word read
    with some confidence are read, straight runs of tiles (ruled lines) are left out,
    and the rest are grouped, gaps of a tile (between words, lines) bridged.
    """
    tile = max(4, round(dpi * _TILE_IN))
    rows, cols = grey.height // tile, grey.width // tile
    if rows == 0 or cols == 0:
        return []
    threshold = ink_threshold(np.asarray(grey))
    lut = [255] * threshold + [0] * (256 - threshold)
    ink = grey.crop((0, 0, cols * tile, rows * tile)).point(lut)
    inked = np.asarray(ink.reduce(tile)) >= round(255 * _TILE_INK)
    for line in layout.lines:
        for word in line.words:
            if word.confidence < _MIN_WORD_CONFIDENCE:
                continue
            left, top, right, bottom = word.box
            inked[top // tile : -(-bottom // tile), left // tile : -(-right // tile)] = False
    if inked.sum() < _MIN_REGION_TILES:
        return []
    inked &= ~_straight_runs(inked, max(2, round(_RULE_IN / _TILE_IN)))
    regions: list[Box] = []
    for top, left, bottom, right, count in _groups(inked, bridged=True):
        longest = max(bottom - top, right - left) * _TILE_IN
        tall = (bottom - top) * _TILE_IN >= _MIN_REGION_IN[1]
        if count >= _MIN_REGION_TILES and longest >= _MIN_REGION_IN[0] and tall:
            regions.append((left * tile, top * tile, right * tile, bottom * tile))
    return regions


def find_marks(image: Image.Image, dpi: int, regions: list[Box]) -> tuple[Mark, ...]:
    """The marks in the unread regions of a page: seals and pen strokes lighter than its
    print where the page is grey, else the regions themselves as dark marks.

    In a grey region the print has a dark core while a red seal or a blue pen scanned
    grey is a middle tone throughout: the mark is where middle tones lie away from any
    dark core (on a median-filtered copy, which the scanner's noise does not move).
    """
    marks: list[Mark] = []
    for region in regions:
        lighter = _lighter_marks(image, dpi, region) if image.mode == "L" else []
        marks.extend(lighter or [Mark(region, 0)])
    return tuple(marks)


def lift_marks(image: Image.Image, marks: tuple[Mark, ...]) -> Image.Image:
    """The page with the ink of its lighter marks turned to paper, the print under them kept.

    Print is what the median-filtered page shows darker than :data:`_SPLIT` of the way
    from the darkest print to the mark's level, grown by a pixel into anything darker
    than the mark, so that strokes keep their edges; every other pixel of the mark's
    box becomes white.
    """
    lighter = [mark for mark in marks if mark.level > 0]
    if not lighter or image.mode != "L":
        return image
    lifted = image.copy()
    for mark in lighter:
        crop = image.crop(mark.box)
        smooth = np.asarray(crop.filter(ImageFilter.MedianFilter(3)))
        darkest = float(np.percentile(smooth, 1))
        split = darkest + _SPLIT * (mark.level - darkest)
        core = Image.fromarray(np.where(smooth < split, 255, 0).astype(np.uint8))
        keep = (np.asarray(core.filter(ImageFilter.MaxFilter(3))) > 0) & (smooth < mark.level)
        kept = np.where(keep, np.asarray(crop), 255).astype(np.uint8)
        lifted.paste(Image.fromarray(kept), mark.box[:2])
    return lifted


def _lighter_marks(image: Image.Image, dpi: int, region: Box) -> list[Mark]:
    """Seals and strokes lighter than the print in one region of a grey page."""
    margin = round(dpi * 0.1)
    left, top, right, bottom = region
    box = (
        max(0, left - margin),
        max(0, top - margin),
        min(image.width, right + margin),
        min(image.height, bottom + margin),
    )
    smooth = np.asarray(image.crop(box).filter(ImageFilter.MedianFilter(3)))
    histogram = np.cumsum(np.bincount(smooth.ravel(), minlength=256)) / smooth.size
    paper = float(np.searchsorted(histogram, 0.90))
    ink = float(np.searchsorted(histogram, 0.01))
    span = paper - ink
    if span < 48:
        return []
    dark = Image.fromarray(np.where(smooth < ink + 0.2 * span, 255, 0).astype(np.uint8))
    near_print = np.asarray(dark.filter(ImageFilter.MaxFilter(5))) > 0
    middle = (smooth >= ink + 0.2 * span) & (smooth < paper - 0.3 * span) & ~near_print
    tile = max(4, round(dpi * _TILE_IN))
    rows, cols = middle.shape[0] // tile, middle.shape[1] // tile
    if rows == 0 or cols == 0:
        return []
    shares = middle[: rows * tile, : cols * tile].reshape(rows, tile, cols, tile).mean(axis=(1, 3))
    evidence = _close(shares > _EVIDENCE_SHARE)
    marks: list[Mark] = []
    for y0, x0, y1, x1, count in _groups(evidence):
        sides = sorted(((x1 - x0) * tile / dpi, (y1 - y0) * tile / dpi), reverse=True)
        if count < _MIN_MARK_TILES or sides[0] < _MIN_MARK_IN[0] or sides[1] < _MIN_MARK_IN[1]:
            continue
        found = middle[y0 * tile : y1 * tile, x0 * tile : x1 * tile]
        level = np.percentile(smooth[y0 * tile : y1 * tile, x0 * tile : x1 * tile][found], 5)
        pad = tile
        marks.append(
            Mark(
                (
                    max(0, box[0] + x0 * tile - pad),
                    max(0, box[1] + y0 * tile - pad),
                    min(image.width, box[0] + x1 * tile + pad),
                    min(image.height, box[1] + y1 * tile + pad),
                ),
                level=max(1, round(float(level))),
            )
        )
    return marks


def _close(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """A tile mask with one-tile gaps filled (dilated, then eroded, by a 3 × 3 square)."""
    image = Image.fromarray(np.where(mask, 255, 0).astype(np.uint8))
    closed = image.filter(ImageFilter.MaxFilter(3)).filter(ImageFilter.MinFilter(3))
    return np.asarray(closed) > 0


def _straight_runs(mask: npt.NDArray[np.bool_], length: int) -> npt.NDArray[np.bool_]:
    """The cells of a mask on a horizontal or vertical run of at least ``length`` cells."""
    found = np.zeros_like(mask)
    for axis in (0, 1):
        cells = np.moveaxis(mask, axis, -1).astype(np.int32)  # runs along the last axis
        size = cells.shape[-1]
        if size < length:
            continue
        zero = np.zeros((*cells.shape[:-1], 1), dtype=np.int32)
        sums = np.concatenate([zero, np.cumsum(cells, axis=-1)], axis=-1)
        full = (sums[..., length:] - sums[..., :-length]) == length  # window from each cell
        starts = np.concatenate([zero, np.cumsum(full, axis=-1, dtype=np.int32)], axis=-1)
        cell = np.arange(size)
        last, first = np.minimum(cell, size - length) + 1, np.maximum(0, cell - length + 1)
        found |= np.moveaxis((starts[..., last] - starts[..., first]) > 0, -1, axis)
    return found


def _groups(
    mask: npt.NDArray[np.bool_], *, bridged: bool = False
) -> list[tuple[int, int, int, int, int]]:
    """The 8-connected groups of a small mask: top, left, bottom, right (exclusive) and
    the number of its cells of each; ``bridged`` joins cells a cell apart."""
    labels = _components(_close(mask) if bridged else mask)
    labels = np.where(mask, labels, 0)
    groups = []
    for label in np.unique(labels[labels > 0]):
        ys, xs = np.nonzero(labels == label)
        groups.append((int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1, ys.size))
    return groups


def _components(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.int32]:
    """8-connected labels of a mask (0 off it): each cell takes the smallest label among
    its neighbours, then follows labels to the cells they name, until nothing changes."""
    height, width = mask.shape
    outside = np.int32(height * width + 1)
    labels = np.where(
        mask, np.arange(1, height * width + 1, dtype=np.int32).reshape(mask.shape), outside
    )
    padded = np.full((height + 2, width + 2), outside, dtype=np.int32)
    while True:
        padded[1:-1, 1:-1] = labels
        smallest = labels.copy()
        for dy in range(3):
            for dx in range(3):
                np.minimum(smallest, padded[dy : dy + height, dx : dx + width], out=smallest)
        flat = np.where(mask, smallest, outside).ravel()
        inside = flat < outside
        for _ in range(4):
            flat[inside] = flat[flat[inside] - 1]
        updated = flat.reshape(mask.shape)
        if np.array_equal(updated, labels):
            return np.where(mask, labels, 0).astype(np.int32)
        labels = updated
