"""Page thumbnails (ISO 32000 §12.3.4): a scan's ink at the small width stamp placement reads."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

from PIL import Image

__all__ = [
    "INK_LEVEL",
    "MAX_THUMB_PIXELS",
    "THUMB_WIDTH",
    "Thumbnail",
    "make_thumbnail",
    "read_samples",
    "reduction",
]

THUMB_WIDTH = 300
"""Width in pixels a page picture is reduced to (at least) for finding its ink: about two
pixels a cell of stamp placement's grid (4 pt) on an A4 page. A thumbnail of a page is
reduced by the same factor (:func:`reduction`) as a page image read without one."""

INK_LEVEL = 150
"""Grey level (0 black … 255 white) under which a pixel of the reduced picture is ink; a
red seal is about 80. A thumbnail is cut to 1 bit here, so it keeps exactly what
placement reads of a grey picture, in a tenth of the bytes."""

MAX_THUMB_PIXELS = 1024 * 1024
"""Largest Width × Height of a thumbnail a reader decodes; a larger one is not a thumbnail
this project wrote and is left alone, as is one that inflates to more bytes than it says."""


@dataclass(frozen=True)
class Thumbnail:
    """A page's thumbnail image: 1-bit DeviceGray samples (1 white), FlateDecode."""

    width: int
    """Width in pixels."""

    height: int
    """Height in pixels."""

    data: bytes
    """The samples, rows padded to whole bytes, compressed with zlib (PDF FlateDecode)."""


def reduction(width: int) -> int:
    """The factor a picture ``width`` pixels wide is reduced by: the largest of 8, 4, 2 and 1
    that leaves it at least :data:`THUMB_WIDTH` wide, the scale a JPEG decoder in draft
    mode picks, so that a thumbnail and a JPEG decoded small show the same ink (8 for an
    A4 page at 300 dpi, 310 pixels wide; 4 at 150 or 200 dpi)."""
    wanted = width // THUMB_WIDTH
    return next(factor for factor in (8, 4, 2, 1) if factor <= max(1, wanted))


def make_thumbnail(picture: Image.Image) -> Thumbnail:
    """The thumbnail of a page picture (mode "1", "L" or "RGB", as stored in the PDF).

    Reduced by :func:`reduction` (each pixel the mean of a square of the picture's; more
    for a picture whose thumbnail would pass :data:`MAX_THUMB_PIXELS`), then grey (the
    luma a JPEG carries), then ink where darker than :data:`INK_LEVEL`.
    """
    factor = reduction(picture.width)
    while math.ceil(picture.width / factor) * math.ceil(picture.height / factor) > MAX_THUMB_PIXELS:
        factor *= 2  # a poster-sized scan: smaller still, so that readers take it
    small = picture.convert("L") if picture.mode == "1" else picture
    if factor > 1:
        small = small.reduce(factor)
    cut = small.convert("L").point([0 if v < INK_LEVEL else 255 for v in range(256)])
    bits = cut.convert("1", dither=Image.Dither.NONE)
    return Thumbnail(bits.width, bits.height, zlib.compress(bits.tobytes()))


def read_samples(width: int, height: int, bits: int, colours: int, data: bytes) -> Image.Image:
    """The grey picture of a thumbnail's FlateDecode samples, decoded within bounds.

    ``bits`` is 1 (``colours`` 1) or 8 (``colours`` 1 or 3). Raises ValueError for
    anything else, for more than :data:`MAX_THUMB_PIXELS` pixels, and for samples that
    do not inflate to exactly the bytes the size says (zlib.error for broken data).
    """
    if width <= 0 or height <= 0 or width * height > MAX_THUMB_PIXELS:
        raise ValueError("thumbnail size out of bounds")
    mode = {(1, 1): "1", (8, 1): "L", (8, 3): "RGB"}.get((bits, colours))
    if mode is None:
        raise ValueError("thumbnail samples of an unread kind")
    expected = math.ceil(width * bits * colours / 8) * height
    inflater = zlib.decompressobj()
    samples = inflater.decompress(data, expected + 1)
    if len(samples) != expected:
        raise ValueError("thumbnail samples of the wrong length")
    return Image.frombytes(mode, (width, height), samples).convert("L")
