"""Compressing page images for the PDF: 1-bit G4 for text on paper, JPEG for the rest."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, cast

import numpy as np
from PIL import Image, ImageChops

from core.files import atomic_write
from core.thumbnail import Thumbnail, make_thumbnail
from digitize.levels import grey_levels
from digitize.pages import PageImage, load_page_image

__all__ = [
    "COLOUR_MODES",
    "JPEG_QUALITY",
    "ColourMode",
    "EncodedImage",
    "colour_mode",
    "encode_image",
    "encode_page_image",
    "read_encoded",
    "write_encoded",
]

ColourMode = Literal["auto", "colour", "grey"]
"""How a procedure's colour scans are stored: ``colour`` keeps every colour scan in colour
(certified copies, documents with seals: Decree 30/2020 asks for colour), ``grey`` stores
them grey or bilevel (plain text, the smallest), ``auto`` keeps colour only on pages where
a coloured seal, signature or mark is found."""

COLOUR_MODES: tuple[ColourMode, ...] = ("auto", "colour", "grey")
"""The colour modes, the default first."""

JPEG_QUALITY = 65
"""JPEG quality of the grey and colour page images that are not stored as bilevel
(colour keeping its full chroma resolution, so that the thin lines of a seal stay as red
as scanned, for about a sixth more bytes than 4:2:0): legible print at about half the size
of q85."""

_MIN_CONTRAST = 96
"""Grey levels between ink and paper below which a grey page is kept grey (faint or dark scans)."""

_MAX_INK = 0.35
"""Share of dark pixels above which a grey page is kept grey (photographs, negatives)."""

_MAX_MIDTONES = 0.08
"""Share of pixels in the middle of the ink-to-paper range above which a page is kept grey."""

_TILE = 32
"""Side in pixels of the tiles searched for pictures (tiles rich in middle greys)."""

_PICTURE_TILE = 0.30
"""Share of middle greys that makes a tile look like part of a picture rather than of text."""

_MAX_PICTURE_TILES = 0.002
"""Share of picture-like tiles above which a page is kept grey (a photo, a grey seal, shading)."""

_COLOUR_SPREAD = 48
"""Difference between a pixel's strongest and weakest channel from which it counts as coloured."""

_MAX_COLOURED = 0.0005
"""Share of coloured pixels up to which a colour scan is stored as grey (black text on paper)."""


@dataclass(frozen=True)
class EncodedImage:
    data: bytes
    """The compressed samples, ready to be a PDF image stream."""

    filter: str
    """PDF filter of the samples: "/DCTDecode" (JPEG) or "/CCITTFaxDecode" (G4)."""

    colour_space: str
    """"/DeviceGray" or "/DeviceRGB"."""

    width: int
    """Width in pixels."""

    height: int
    """Height in pixels."""

    black_is_1: bool = False
    """For G4 samples: whether 1 bits are black (the TIFF stored min-is-black)."""

    thumbnail: Thumbnail | None = None
    """The page's thumbnail (:func:`core.thumbnail.make_thumbnail` of the stored picture),
    None for an image compressed before thumbnails were made."""


def encode_page_image(page: PageImage) -> EncodedImage:
    """Compress one page image file; :func:`encode_image` of its decoded pixels.

    A page whose image was already compressed (``page.encoded``) is read back instead.
    """
    if page.encoded is not None:
        return read_encoded(page.encoded)
    with load_page_image(page.path) as source:
        return encode_image(source)


def colour_mode(value: str) -> ColourMode:
    """A stored colour mode (a procedure's field), the default for anything unknown."""
    return cast(ColourMode, value) if value in COLOUR_MODES else COLOUR_MODES[0]


def encode_image(
    source: Image.Image, *, blank: bool = False, colour_mode: ColourMode = "auto"
) -> EncodedImage:
    """Compress one page image the way that keeps it legible in the fewest bytes.

    A colour scan stays colour (JPEG) as ``colour_mode`` says (:data:`ColourMode`);
    otherwise it is taken as grey. Bilevel pages, and grey pages that are plain text
    on paper, become 1-bit G4; the rest JPEG at :data:`JPEG_QUALITY`. A page the
    quality gate found ``blank`` (paper tone, noise, a speck or two) is cut to 1 bit
    just under its paper, so its marks stay and the noise goes. The thumbnail of the
    picture as stored comes with it (a few KB; stamp placement reads it).
    """
    image = source.convert("RGB") if source.mode not in {"1", "L", "RGB"} else source
    if image.mode == "RGB" and (blank or not _keeps_colour(image, colour_mode)):
        image = image.convert("L")
    if image.mode == "L":
        pictures = colour_mode != "grey"
        threshold = _blank_threshold(image) if blank else _bilevel_threshold(image, pictures)
        if threshold is not None:
            lut = [0] * (threshold + 1) + [255] * (255 - threshold)
            image = image.point(lut, "1")
    encoded = _g4(image) if image.mode == "1" else _jpeg(image)
    return replace(encoded, thumbnail=make_thumbnail(image))


def write_encoded(encoded: EncodedImage, path: Path) -> Path:
    """Store a compressed page image atomically: a one-line JSON header, the samples, then
    the thumbnail's samples (their size in the header's ``thumbnail``)."""
    header: dict[str, object] = {
        "filter": encoded.filter,
        "colour_space": encoded.colour_space,
        "width": encoded.width,
        "height": encoded.height,
        "black_is_1": encoded.black_is_1,
    }
    thumbnail = encoded.thumbnail
    if thumbnail is not None:
        header["thumbnail"] = [thumbnail.width, thumbnail.height, len(thumbnail.data)]
    with atomic_write(path, durable=False) as handle:  # a working file: a retry rebuilds it
        handle.write(json.dumps(header, separators=(",", ":")).encode("ascii") + b"\n")
        handle.write(encoded.data)
        if thumbnail is not None:
            handle.write(thumbnail.data)
    return path


def read_encoded(path: Path) -> EncodedImage:
    """A compressed page image stored by :func:`write_encoded` (OSError, ValueError, KeyError)."""
    raw = path.read_bytes()
    end = raw.index(b"\n")
    header = json.loads(raw[:end])
    if header["filter"] not in ("/DCTDecode", "/CCITTFaxDecode"):
        raise ValueError(f"unknown image filter {header['filter']!r}")
    data, thumbnail = raw[end + 1 :], None
    if "thumbnail" in header:  # absent from a file written before thumbnails were made
        width, height, size = (int(v) for v in header["thumbnail"])
        if not 0 < size <= len(data):
            raise ValueError("thumbnail size out of the file")
        data, thumbnail = data[:-size], Thumbnail(width, height, data[-size:])
    return EncodedImage(
        data=data,
        filter=str(header["filter"]),
        colour_space=str(header["colour_space"]),
        width=int(header["width"]),
        height=int(header["height"]),
        black_is_1=bool(header["black_is_1"]),
        thumbnail=thumbnail,
    )


def _keeps_colour(image: Image.Image, mode: ColourMode) -> bool:
    """Whether a colour page is stored in colour under ``mode``."""
    if mode == "auto":
        return not _is_colourless(image)
    return mode == "colour"


def _is_colourless(image: Image.Image) -> bool:
    """Whether a colour scan has (next to) no coloured pixels: black or grey print only.

    Judged on a 4× reduced copy (box average), which keeps seal rims and pen strokes
    coloured and costs a sixteenth.
    """
    small = image.reduce(4)
    red, green, blue = small.split()
    spread = ImageChops.lighter(
        ImageChops.lighter(ImageChops.difference(red, green), ImageChops.difference(green, blue)),
        ImageChops.difference(red, blue),
    )
    coloured = sum(spread.histogram()[_COLOUR_SPREAD:])
    return coloured <= _MAX_COLOURED * small.width * small.height


def _otsu(histogram: Sequence[int]) -> int:
    """Otsu's threshold of a 256-bin histogram: the level that best splits ink from paper."""
    total = sum(histogram)
    weighted_total = sum(level * count for level, count in enumerate(histogram))
    best, best_level = -1.0, 127
    below = weighted_below = 0
    for level in range(255):
        below += histogram[level]
        weighted_below += level * histogram[level]
        above = total - below
        if below == 0 or above == 0:
            continue
        gap = weighted_below / below - (weighted_total - weighted_below) / above
        between = below * above * gap * gap
        if between > best:
            best, best_level = between, level
    return best_level


def _bilevel_threshold(image: Image.Image, pictures: bool = True) -> int | None:
    """The grey level to cut a grey page to 1 bit at, or None to keep it grey.

    A page qualifies when its histogram is ink and paper with good contrast and
    few middle greys, and (``pictures``) no part of it is rich in middle greys the
    way a photograph, a grey seal or shading is (checked on small tiles): a procedure
    storing plain text in grey takes a seal or a small picture cut to 1 bit.
    """
    histogram = image.histogram()
    total = image.width * image.height
    threshold = _otsu(histogram)
    ink = sum(histogram[: threshold + 1])
    paper = total - ink
    if paper == 0 or ink > _MAX_INK * total:
        return None
    if ink == 0:
        return threshold
    ink_level = sum(v * histogram[v] for v in range(threshold + 1)) / ink
    paper_level = sum(v * histogram[v] for v in range(threshold + 1, 256)) / paper
    contrast = paper_level - ink_level
    if contrast < _MIN_CONTRAST:
        return None
    low, high = round(ink_level + contrast / 4), round(paper_level - contrast / 4)
    if sum(histogram[low:high]) > _MAX_MIDTONES * total:
        return None
    if not pictures:
        return threshold
    middle = image.point([255 if low <= v < high else 0 for v in range(256)])
    tiles = middle.reduce(_TILE).histogram()
    picture_tiles = sum(tiles[round(_PICTURE_TILE * 255) :])
    if picture_tiles > _MAX_PICTURE_TILES * sum(tiles):
        return None
    return threshold


def _blank_threshold(image: Image.Image) -> int:
    """The level under which a blank page's pixels are marks: clearly darker than its paper."""
    levels = grey_levels(np.asarray(image))
    return max(0, int(levels.threshold) - 1)


def _g4(image: Image.Image) -> EncodedImage:
    """A bilevel image as one strip of CCITT Group 4 data."""
    buffer = io.BytesIO()
    image.save(buffer, format="TIFF", compression="group4", tiffinfo={278: image.height})
    with Image.open(buffer) as tiff:
        tags = tiff.tag_v2  # type: ignore[attr-defined]
        offsets, counts = tags[273], tags[279]
        if len(offsets) != 1 or tags.get(266, 1) != 1:
            raise ValueError("G4 data did not come out as one strip in bit order")
        black_is_1 = tags.get(262, 0) == 1
    data = buffer.getbuffer()[offsets[0] : offsets[0] + counts[0]].tobytes()
    return EncodedImage(data, "/CCITTFaxDecode", "/DeviceGray", *image.size, black_is_1)


def _jpeg(image: Image.Image) -> EncodedImage:
    """A grey or colour image as baseline JPEG (colour without chroma subsampling)."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY, subsampling="4:4:4")
    space = "/DeviceRGB" if image.mode == "RGB" else "/DeviceGray"
    return EncodedImage(buffer.getvalue(), "/DCTDecode", space, *image.size)
