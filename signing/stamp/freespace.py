"""Free space on a page: where its ink and text are, and the free box nearest a wished place.

A page is reduced to a grid of cells of :data:`CELL` points, each marked when something
is printed in it: the ink of a scanned page image (text, seals, signatures, pictures,
all of which show as dark pixels; a red seal is dark in grey too), the boxes of the
text drawn on the page, and the rectangles of the other images. A stamp then goes in
the free rectangle nearest to where its layout wants it, never over a marked cell.

Scanned pages (motcua's own PDF/A results) carry one image covering the page and, since
the digitize stage writes one, its thumbnail (``/Thumb``, :mod:`core.thumbnail`: the
picture reduced by the factor a JPEG is decoded small by, to 300 pixels wide or more,
and cut to 1 bit at :data:`INK_LEVEL`, so it holds exactly the ink read here of a grey
picture). The thumbnail, a few KB, is read instead of the image, whose Huffman decoding
alone costs about 14 ms a megabyte even in JPEG draft mode. A page without a usable
thumbnail (none, not the page's proportions, too coarse, too large, undecodable) has
its image decoded at that reduced scale. The invisible text layer over a scan adds
nothing the ink does not show, and is not read.
"""

from __future__ import annotations

import functools
import io
import math
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image
from pypdf import PageObject
from pypdf.generic import StreamObject

from core.thumbnail import INK_LEVEL, THUMB_WIDTH, read_samples, reduction
from signing.stamp.drawn import drawn_boxes, resolved

__all__ = [
    "CELL",
    "INK_LEVEL",
    "MIN_SCALE",
    "PageMap",
    "free_box",
    "page_map",
]

Box = tuple[float, float, float, float]

CELL = 4.0
"""Side of a grid cell in points (1.4 mm): finer than a line of 10 pt text."""

INK_SHARE = 0.004
"""Share of a cell's pixels that must be ink for the cell to count as printed: a stray
speck of scanner dust stays free, a dot of a letter does not."""

PAD = 1
"""Free cells kept around the stamp, so it never touches the text beside it."""

MIN_SCALE = 0.8
"""Smallest share of its size a stamp may be shrunk to: its 8 pt lines stay legible."""

_DECODE_TARGET = THUMB_WIDTH
"""Width in pixels that is enough for the grid: a JPEG is decoded at the first scale at or
above it (draft mode), any other image reduced by the same factor
(:func:`core.thumbnail.reduction`), as its thumbnail is."""

_THUMB_ERRORS = (OSError, ValueError, KeyError, TypeError, AttributeError, zlib.error)
"""What reading a page's ``/Thumb`` may raise: the thumbnail is then not used."""

_INK_LUT = [255 if value < INK_LEVEL else 0 for value in range(256)]
"""Grey level to ink (255) or paper (0)."""

_PRINTED_LUT = [1 if value > 255 * INK_SHARE else 0 for value in range(256)]
"""Mean ink of a cell (0–255) to printed (1) or free (0)."""

_BITS = bytes.maketrans(b"\x00\x01", b"01")
"""Cells of a row (bytes 0 and 1) to binary digits."""


@dataclass(frozen=True)
class PageMap:
    """What is printed on a page, as a grid of cells over its visible area.

    Each row of cells is an integer whose bit ``c`` is set when the cell of column
    ``c`` is printed, so that a row's free runs are found with a few shifts and
    ANDs of whole rows (no array library needed, none imported to sign).
    """

    page_box: Box
    """The page's visible area (CropBox) in points, (x0, y0, x1, y1)."""

    cols: int
    """Number of columns of cells."""

    printed: tuple[int, ...]
    """One bit mask per row of cells, from the top of the page; bit ``c`` set where
    something is printed in column ``c``."""

    @property
    def rows(self) -> int:
        """Number of rows of cells."""
        return len(self.printed)

    @functools.cached_property
    def stride(self) -> int:
        """Bits per row of :attr:`free`: the row, then at least as many zeros (whole bytes)."""
        return -(-2 * self.cols // 8) * 8

    @functools.cached_property
    def free(self) -> int:
        """The free cells of every row in one integer, row ``r`` from bit ``r * stride``
        (the zeros after each row keep a run of free cells from reaching into the next)."""
        full, width = (1 << self.cols) - 1, self.stride // 8
        rows = b"".join((~row & full).to_bytes(width, "little") for row in self.printed)
        return int.from_bytes(rows, "little")

    def overlaps(self, box: Box) -> bool:
        """Whether ``box`` (points) covers any printed cell."""
        r0, r1, c0, c1 = _cells(self.page_box, self.rows, self.cols, box)
        if c1 <= c0:
            return False
        mask = ((1 << (c1 - c0)) - 1) << c0
        return any(row & mask for row in self.printed[r0:r1])


def _cells(page_box: Box, rows: int, cols: int, box: Box) -> tuple[int, int, int, int]:
    """Rows r0:r1 and columns c0:c1 of the cells ``box`` (points) touches."""
    x0, _y0, _x1, y1 = page_box
    left, bottom, right, top = box
    c0 = max(0, math.floor((left - x0) / CELL))
    c1 = min(cols, math.ceil((right - x0) / CELL))
    r0 = max(0, math.floor((y1 - top) / CELL))
    r1 = min(rows, math.ceil((y1 - bottom) / CELL))
    return r0, r1, c0, c1


def page_map(page: PageObject, page_box: Box) -> PageMap:
    """Read what is printed on ``page`` (a pypdf page) within ``page_box``."""
    x0, y0, x1, y1 = page_box
    rows = max(1, math.ceil((y1 - y0) / CELL))
    cols = max(1, math.ceil((x1 - x0) / CELL))
    scan = _full_page_image(page, page_box)
    if scan is not None:
        return PageMap(page_box, cols, _ink_rows(scan, rows, cols))
    printed = [0] * rows
    for box in drawn_boxes(page):
        r0, r1, c0, c1 = _cells(page_box, rows, cols, box)
        if c1 > c0:
            mask = ((1 << (c1 - c0)) - 1) << c0
            for row in range(r0, r1):
                printed[row] |= mask
    return PageMap(page_box, cols, tuple(printed))


def free_box(
    grid: PageMap,
    size: tuple[float, float],
    wished: Box,
    *,
    edge: float,
    scales: Sequence[float] = (1.0, 0.9, MIN_SCALE),
) -> tuple[Box, float] | None:
    """The free box of ``size`` (or a shrunk one) nearest to ``wished``, and its scale.

    The box stays ``edge`` points inside the page. Each scale of ``scales`` is tried
    in turn; the first that fits anywhere wins, at the position whose centre is
    nearest the wished box's centre (the topmost, then leftmost, of equally near
    ones). None when nothing fits at any scale.
    """
    free, stride = grid.free, grid.stride
    if not free:
        return None
    x0, _y0, _x1, y1 = grid.page_box
    edge_cells = math.ceil(edge / CELL)
    want_x = ((wished[0] + wished[2]) / 2 - x0) / CELL
    want_y = (y1 - (wished[1] + wished[3]) / 2) / CELL
    for scale in scales:
        width, height = size[0] * scale, size[1] * scale
        kw = math.ceil(width / CELL) + 2 * PAD
        kh = math.ceil(height / CELL) + 2 * PAD
        r_lo, c_lo = max(0, edge_cells - PAD), max(0, edge_cells - PAD)
        r_hi = min(grid.rows - edge_cells + PAD - kh, grid.rows - kh)
        c_hi = min(grid.cols - edge_cells + PAD - kw, grid.cols - kw)
        if r_hi < r_lo or c_hi < c_lo:
            continue
        # bit c of row r: the kw cells from column c are free, in each of the kh rows from r
        fits = _run_starts(_run_starts(free, kw), kh, unit=stride)
        allowed = ((1 << (c_hi - c_lo + 1)) - 1) << c_lo
        rows = r_hi - r_lo + 1
        every_row = ((1 << (rows * stride)) - 1) // ((1 << stride) - 1) << (r_lo * stride)
        candidates = fits & allowed * every_row
        if not candidates:
            continue
        width_bytes = stride // 8
        packed = candidates.to_bytes(grid.rows * width_bytes, "little")
        best: tuple[float, int, int] | None = None
        for row in range(r_lo, r_hi + 1):
            in_row = int.from_bytes(packed[row * width_bytes : (row + 1) * width_bytes], "little")
            if not in_row:
                continue
            centre_r = row + kh / 2
            for col in _nearest_bits(in_row, want_x - kw / 2):
                centre_c = col + kw / 2
                distance = (centre_r - want_y) ** 2 + (centre_c - want_x) ** 2
                if best is None or distance < best[0]:
                    best = (distance, row, col)
        if best is None:  # pragma: no cover - candidates were found above
            continue
        _distance, row, col = best
        top = y1 - (row + PAD) * CELL
        left = x0 + (col + PAD) * CELL
        return (left, top - height, left + width, top), scale
    return None


def _run_starts(bits: int, length: int, unit: int = 1) -> int:
    """Bit b set when bits b, b + ``unit``, … b + (``length`` - 1) × ``unit`` are all set."""
    result, span = bits, 1
    while span * 2 <= length:
        result &= result >> (span * unit)
        span *= 2
    if span < length:
        result &= result >> ((length - span) * unit)
    return result


def _nearest_bits(bits: int, target: float) -> Iterable[int]:
    """The set bits of ``bits`` nearest to position ``target``: the last one at or
    below it, then the first one above it (either may be missing)."""
    split = max(0, math.floor(target) + 1)
    below = bits & ((1 << split) - 1)
    if below:
        yield below.bit_length() - 1
    above = bits >> split << split
    if above:
        yield (above & -above).bit_length() - 1


def _image_xobjects(page: PageObject) -> list[Any]:
    resources = resolved(page.get("/Resources")) or {}
    xobjects = resolved(resources.get("/XObject")) or {}
    images = []
    for value in xobjects.values():
        xobject = resolved(value)
        if xobject.get("/Subtype") == "/Image":
            images.append(xobject)
    return images


def _full_page_image(page: PageObject, page_box: Box) -> Image.Image | None:
    """The samples of an image that covers the page (a scan), decoded small, or None.

    A page counts as a scan when its only image has the page's proportions; its
    content then draws it over the whole page, as motcua's assembly does.
    """
    images = _image_xobjects(page)
    if len(images) != 1:
        return None
    image = images[0]
    width, height = int(image.get("/Width", 0)), int(image.get("/Height", 0))
    page_w, page_h = page_box[2] - page_box[0], page_box[3] - page_box[1]
    if width <= 0 or height <= 0 or page_w <= 0 or page_h <= 0:
        return None
    if not _same_proportions(width, height, page_w / page_h):
        return None
    thumbnail = _thumbnail(page, width, page_w / page_h)
    if thumbnail is not None:
        return thumbnail
    try:
        return _decode_small(page, image, width, height)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _same_proportions(width: int, height: int, ratio: float) -> bool:
    """Whether a picture ``width`` × ``height`` has the proportions ``ratio`` (2 % off at most)."""
    return abs(width / height - ratio) <= 0.02 * ratio


def _thumbnail(page: PageObject, image_width: int, ratio: float) -> Image.Image | None:
    """The page's thumbnail (``/Thumb``) as a grey picture, or None when it cannot stand
    for the page's image: none, not an image stream, on a turned page, not the page's
    proportions, coarser than the reduced image would be, larger than
    :data:`core.thumbnail.MAX_THUMB_PIXELS`, or undecodable (see
    :func:`core.thumbnail.read_samples`)."""
    try:
        thumb = resolved(page.get("/Thumb"))
        if not isinstance(thumb, StreamObject) or page.rotation % 360:
            return None  # a turned page's thumbnail may show it as displayed, not as drawn
        width, height = int(thumb.get("/Width", 0)), int(thumb.get("/Height", 0))
        if width <= 0 or height <= 0 or not _same_proportions(width, height, ratio):
            return None
        if width < min(THUMB_WIDTH, image_width) or "/DecodeParms" in thumb:
            return None
        if resolved(thumb.get("/Filter")) != "/FlateDecode":
            return None
        colours = {"/DeviceGray": 1, "/DeviceRGB": 3}.get(str(resolved(thumb.get("/ColorSpace"))))
        bits = int(thumb.get("/BitsPerComponent", 0))
        decode = resolved(thumb.get("/Decode"))
        if colours is None or (
            decode is not None and [float(v) for v in decode] != [0, 1] * colours
        ):
            return None
        # the raw bytes, inflated within bounds here, never by pypdf (a bomb stays small)
        return read_samples(width, height, bits, colours, thumb._data)
    except _THUMB_ERRORS:
        return None


def _decode_small(page: PageObject, image: Any, width: int, height: int) -> Image.Image:
    """Decode ``image`` (the page's one image XObject) to a small greyscale picture."""
    if image.get("/Filter") == "/DCTDecode":
        jpeg = Image.open(io.BytesIO(image.get_data()))
        jpeg.draft("L", (_DECODE_TARGET, _DECODE_TARGET * height // width))
        return jpeg.convert("L")
    decoded = page.images[0].image  # pypdf decodes the other filters (G4, Flate …)
    if decoded is None:
        raise ValueError("image not decoded")
    picture = decoded.convert("L")
    factor = reduction(width)
    return picture.reduce(factor) if factor > 1 else picture


def _ink_rows(picture: Image.Image, rows: int, cols: int) -> tuple[int, ...]:
    """Rows of ``rows`` × ``cols`` cells of ``picture``, bit set where a cell holds enough ink."""
    shrunk = picture.point(_INK_LUT).resize((cols, rows), Image.Resampling.BOX)
    cells = shrunk.point(_PRINTED_LUT).tobytes()
    return tuple(
        int(cells[start : start + cols].translate(_BITS)[::-1], 2)
        for start in range(0, rows * cols, cols)
    )
