"""Stamp placement reads a page's /Thumb, not its scan, and ignores a thumbnail it cannot trust."""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pyhanko.sign.signers import SimpleSigner
from pypdf import PageObject, PdfReader
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    StreamObject,
)

from core.pdfa.check import check_pdfa
from core.thumbnail import INK_LEVEL, MAX_THUMB_PIXELS, read_samples, reduction
from digitize.assemble import assemble_pdf
from digitize.compression import ColourMode, encode_image, write_encoded
from digitize.ocr import PageOcr
from digitize.pages import PageImage
from digitize.textlayer import PageLayout, write_layout
from signing.pades.options import SignOptions
from signing.pades.sign import sign_pdf
from signing.stamp import freespace
from signing.stamp.freespace import PageMap, page_map
from signing.stamp.place import Placed, clear_placement
from signing.stamp.text import StampText
from tests.support.degrade import add_seal, degrade
from tests.support.pki import TEST_OFFICE, TEST_SIGNED_AT, TEST_SIGNER
from tests.support.scans import corpus_paragraphs, render_page

Box = tuple[float, float, float, float]

MAX_DIFFERING = 0.01
"""Share of a page's cells on which the maps from the thumbnail and from the scan may
differ (cells on the edge of a letter or a seal's ring)."""

STAMP = StampText(TEST_SIGNER, TEST_OFFICE, signed_at=TEST_SIGNED_AT, layout="text")


def _scan(dpi: int, *, colour: bool, seed: int) -> Image.Image:
    """A page of text down to its foot, with a red seal over its lower right (where the
    stamp of the "text" layout wishes to go); the grey one as a scanner sees it."""
    page, _ = render_page("\n".join(corpus_paragraphs(8, seed=seed)), dpi=dpi, mode="L")
    sealed = add_seal(page, centre=(page.width * 0.75, page.height * 0.86), seed=seed)
    if colour:
        return sealed
    return degrade(sealed.convert("L"), noise=5, jpeg_quality=85, seed=seed)


def _assembled(image: Image.Image, folder: Path, mode: ColourMode) -> bytes:
    """``image`` assembled as the digitize stage does under the colour ``mode`` (no OCR:
    an empty text layer)."""
    folder.mkdir(parents=True, exist_ok=True)
    dpi = int(image.info["dpi"][0])
    layout = folder / "trang.json"
    write_layout(PageLayout(width=image.width, height=image.height, dpi=dpi, lines=()), layout)
    encoded = write_encoded(encode_image(image, colour_mode=mode), folder / "trang.img")
    page = PageImage(folder / "trang.png", dpi, *image.size, image.mode, encoded=encoded)
    out = folder / "ho-so.pdf"
    assemble_pdf([(page, PageOcr("", 0.0, layout))], out)
    return out.read_bytes()


SCANS: dict[str, tuple[int, bool, int, ColourMode]] = {
    "colour seal 300 dpi (JPEG)": (300, True, 41, "auto"),
    "colour seal 200 dpi (JPEG)": (200, True, 42, "auto"),
    "grey seal 300 dpi (JPEG)": (300, False, 43, "auto"),
    "grey seal 300 dpi, a procedure stored grey (G4)": (300, False, 44, "grey"),
}


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Image.Image, bytes]]:
    root = tmp_path_factory.mktemp("thumb-sign")
    made = {}
    for number, (name, (dpi, colour, seed, mode)) in enumerate(SCANS.items()):
        scan = _scan(dpi, colour=colour, seed=seed)
        made[name] = (scan, _assembled(scan, root / str(number), mode))
        page: Any = PdfReader(io.BytesIO(made[name][1])).pages[0]
        image = page["/Resources"]["/XObject"]["/Im0"].get_object()
        assert name.endswith({"/DCTDecode": "(JPEG)", "/CCITTFaxDecode": "(G4)"}[image["/Filter"]])
    return made


def _page(pdf: bytes, *, thumbnail: bool = True) -> tuple[PdfReader, PageObject, Box]:
    """The document's reader, its first page (without /Thumb unless ``thumbnail``), its box."""
    reader = PdfReader(io.BytesIO(pdf))
    page = reader.pages[0]
    assert "/Thumb" in page
    if not thumbnail:
        del page[NameObject("/Thumb")]
    x0, y0, x1, y1 = (float(v) for v in page.mediabox)
    return reader, page, (x0, y0, x1, y1)


def _placed(reader: PdfReader, box: Box) -> Placed:
    return clear_placement(STAMP, reader, lambda index: box)


def _differing(a: PageMap, b: PageMap) -> int:
    return sum((x ^ y).bit_count() for x, y in zip(a.printed, b.printed, strict=True))


def _ink_under(scan: Image.Image, page_box: Box, box: Box) -> int:
    """Pixels of the scan, reduced as placement reads it, darker than the ink level under
    ``box`` (points): ink the grid can see (a hairline thinner than its pixels fades)."""
    factor = reduction(scan.width)
    small = scan.convert("L").reduce(factor)
    scale = scan.width / factor / (page_box[2] - page_box[0])
    left, right = int(box[0] * scale), int(box[2] * scale) + 1
    top, bottom = int(small.height - box[3] * scale), int(small.height - box[1] * scale) + 1
    pixels = np.asarray(small)[max(0, top) : bottom, max(0, left) : right]
    return int((pixels < INK_LEVEL).sum())


@pytest.mark.parametrize("name", SCANS)
def test_the_thumbnail_maps_the_page_as_the_scan_does(
    name: str, documents: dict[str, tuple[Image.Image, bytes]]
) -> None:
    """Cell by cell, the map from the thumbnail is the map from the scan but for a few
    edge cells; the stamp moved off the text and seal either way covers no printed cell
    of the other map and no ink of the scan."""
    scan, pdf = documents[name]
    reader, page, box = _page(pdf)
    full_reader, full_page, _ = _page(pdf, thumbnail=False)
    from_thumbnail, from_scan = page_map(page, box), page_map(full_page, box)
    cells = from_scan.rows * from_scan.cols
    printed = sum(row.bit_count() for row in from_scan.printed)
    assert printed > 0.1 * cells
    assert _differing(from_thumbnail, from_scan) <= MAX_DIFFERING * cells

    by_thumbnail, by_scan = _placed(reader, box), _placed(full_reader, box)
    for placed in (by_thumbnail, by_scan):
        assert placed.moved and not placed.signature_page
        assert not from_thumbnail.overlaps(placed.box)
        assert not from_scan.overlaps(placed.box)
        assert _ink_under(scan, box, placed.box) == 0


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record which way each page image is read: ``thumbnail`` or ``scan``."""
    calls: list[str] = []
    decode_small, samples = freespace._decode_small, read_samples

    def scan(*args: Any) -> Image.Image:
        calls.append("scan")
        return decode_small(*args)

    def thumbnail(*args: Any) -> Image.Image:
        calls.append("thumbnail")
        return samples(*args)

    monkeypatch.setattr(freespace, "_decode_small", scan)
    monkeypatch.setattr(freespace, "read_samples", thumbnail)
    return calls


def test_placement_never_decodes_the_scan_of_a_page_with_a_thumbnail(
    documents: dict[str, tuple[Image.Image, bytes]],
    monkeypatch: pytest.MonkeyPatch,
    signing_key: SimpleSigner,
) -> None:
    """Signing an assembled page reads its thumbnail only; the result keeps /Thumb and
    passes the PDF/A check of what the signature adds."""
    calls = _counting(monkeypatch)
    _scan_image, pdf = documents["colour seal 300 dpi (JPEG)"]
    reader, _page_object, box = _page(pdf)
    assert _placed(reader, box).moved
    assert calls == ["thumbnail"]
    signed = sign_pdf(pdf, signing_key, SignOptions(stamp=STAMP))
    assert calls == ["thumbnail", "thumbnail"]
    assert "/Thumb" in PdfReader(io.BytesIO(signed)).pages[0]
    assert check_pdfa.update(pdf, signed) == []


def test_a_page_without_a_thumbnail_is_read_from_its_scan(
    documents: dict[str, tuple[Image.Image, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No /Thumb: the scan is decoded small, as before thumbnails."""
    calls = _counting(monkeypatch)
    scan, pdf = documents["grey seal 300 dpi, a procedure stored grey (G4)"]
    reader, _page_object, box = _page(pdf, thumbnail=False)
    placed = _placed(reader, box)
    assert calls == ["scan"]
    assert _ink_under(scan, box, placed.box) == 0


def _thumb(width: int, height: int, data: bytes, **entries: object) -> Callable[[PageObject], None]:
    """Put a /Thumb of the given size, samples (raw stream bytes) and other entries on a page."""

    def put(page: PageObject) -> None:
        stream = StreamObject()
        stream.update(
            {
                NameObject("/Subtype"): NameObject("/Image"),
                NameObject("/Width"): NumberObject(width),
                NameObject("/Height"): NumberObject(height),
                NameObject("/ColorSpace"): NameObject("/DeviceGray"),
                NameObject("/BitsPerComponent"): NumberObject(1),
                NameObject("/Filter"): NameObject("/FlateDecode"),
            }
        )
        for key, value in entries.items():
            stream[NameObject(f"/{key}")] = value
        stream.set_data(data)
        page[NameObject("/Thumb")] = stream

    return put


def _put_thumb(page: PageObject, value: DictionaryObject) -> None:
    page[NameObject("/Thumb")] = value


def _turn(page: PageObject) -> None:
    """Keep the page's own thumbnail but have the page displayed upside down."""
    page[NameObject("/Rotate")] = NumberObject(180)


_BLANK = zlib.compress(b"\xff" * (39 * 439))
"""A white 1-bit thumbnail of 310 × 439 pixels, the proportions of the A4 test pages."""

HOSTILE: dict[str, Callable[[PageObject], None]] = {
    "white, not the page's proportions": _thumb(310, 310, zlib.compress(b"\xff" * 39 * 310)),
    "coarser than the grid needs": _thumb(100, 141, zlib.compress(b"\xff" * 13 * 141)),
    "huge": _thumb(31_000, 43_900, _BLANK),
    "a zip bomb": _thumb(310, 439, zlib.compress(bytes(20_000_000))),
    "not deflated": _thumb(310, 439, b"\x00not zlib at all" * 100),
    "too few samples": _thumb(310, 439, zlib.compress(b"\xff" * 100)),
    "JPEG": _thumb(310, 439, _BLANK, Filter=NameObject("/DCTDecode")),
    "with a predictor": _thumb(
        310, 439, _BLANK, DecodeParms=DictionaryObject({NameObject("/Predictor"): NumberObject(2)})
    ),
    "inverted": _thumb(310, 439, _BLANK, Decode=ArrayObject([NumberObject(1), NumberObject(0)])),
    "4 bits": _thumb(310, 439, _BLANK, BitsPerComponent=NumberObject(4)),
    "Lab": _thumb(310, 439, _BLANK, ColorSpace=NameObject("/Lab")),
    "not a stream": lambda page: _put_thumb(page, DictionaryObject()),
    "on a page turned upside down": _turn,
}
"""Thumbnails another program (or an attacker) might leave on a page: each would, if
read, show the page blank or cost too much."""


@pytest.mark.parametrize("case", HOSTILE)
def test_a_thumbnail_that_cannot_stand_for_the_page_is_ignored(
    case: str,
    documents: dict[str, tuple[Image.Image, bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The page is mapped from its scan instead, exactly as without a thumbnail."""
    _scan_image, pdf = documents["colour seal 300 dpi (JPEG)"]
    _reader, page, box = _page(pdf)
    _full_reader, full_page, _ = _page(pdf, thumbnail=False)
    HOSTILE[case](page)
    calls = _counting(monkeypatch)
    assert page_map(page, box) == page_map(full_page, box)
    assert calls.count("scan") == 2


def test_thumbnail_samples_are_inflated_within_bounds() -> None:
    """Samples inflate to exactly the size's bytes or are refused; sizes are capped."""
    white = read_samples(16, 2, 1, 1, zlib.compress(b"\xff\xff" * 2))
    assert (white.mode, white.size, white.getextrema()) == ("L", (16, 2), (255, 255))
    red = read_samples(2, 1, 8, 3, zlib.compress(b"\xc8\x1e\x1e" * 2))
    assert red.getpixel((0, 0)) == 81
    with pytest.raises(ValueError):
        read_samples(16, 2, 1, 1, zlib.compress(bytes(10_000_000)))
    with pytest.raises(ValueError):
        read_samples(MAX_THUMB_PIXELS + 1, 1, 1, 1, b"")
    with pytest.raises(ValueError):
        read_samples(16, 2, 2, 1, zlib.compress(b"\xff" * 8))
