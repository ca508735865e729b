"""Each assembled page carries a small 1-bit thumbnail of its picture, and stays PDF/A."""

from __future__ import annotations

import dataclasses
import io
import json
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops
from pypdf import PdfReader

from core.pdfa.check import check_pdfa
from core.thumbnail import INK_LEVEL, THUMB_WIDTH, Thumbnail, reduction
from digitize.assemble import assemble_pdf
from digitize.compression import (
    COLOUR_MODES,
    ColourMode,
    EncodedImage,
    encode_image,
    read_encoded,
    write_encoded,
)
from digitize.ocr import PageOcr
from digitize.pages import PageImage
from digitize.textlayer import PageLayout, write_layout
from tests.support.degrade import add_seal, degrade
from tests.support.scans import corpus_paragraphs, render_page

THUMB_BUDGET = 12 * 1024
"""Most bytes a page's thumbnail may add to the file."""


def _pages() -> dict[str, Image.Image]:
    """A grey text scan, a bilevel 200 dpi page and a colour page with a red seal."""
    text = "\n".join(corpus_paragraphs(4, seed=31))
    grey, _ = render_page(text, dpi=300, mode="L")
    bilevel, _ = render_page(text, dpi=200, mode="1")
    sealed = add_seal(render_page(text, dpi=300, mode="L")[0], seed=3)
    return {
        "grey": degrade(grey, noise=5, jpeg_quality=85, seed=1),
        "bilevel": bilevel,
        "sealed": sealed,
    }


def _assemble(
    images: list[Image.Image],
    folder: Path,
    *,
    colour_mode: ColourMode = "auto",
    thumbs: bool = True,
) -> tuple[bytes, list[EncodedImage]]:
    """Assemble pages compressed as the digitize workers do (no OCR: empty text layers)."""
    folder.mkdir(parents=True, exist_ok=True)
    pairs, stored = [], []
    for number, image in enumerate(images):
        dpi = int(image.info.get("dpi", (300, 300))[0])
        encoded = encode_image(image, colour_mode=colour_mode)
        if not thumbs:
            encoded = dataclasses.replace(encoded, thumbnail=None)
        stored.append(encoded)
        layout = folder / f"{number}.json"
        write_layout(PageLayout(width=image.width, height=image.height, dpi=dpi, lines=()), layout)
        page = PageImage(
            folder / f"{number}.png",
            dpi,
            image.width,
            image.height,
            image.mode,
            encoded=write_encoded(encoded, folder / f"{number}.img"),
        )
        pairs.append((page, PageOcr("", 0.0, layout)))
    out = folder / "ho-so.pdf"
    assemble_pdf(pairs, out)
    return out.read_bytes(), stored


@pytest.fixture(scope="module")
def pages() -> dict[str, Image.Image]:
    return _pages()


@pytest.fixture(scope="module")
def assembled(
    pages: dict[str, Image.Image], tmp_path_factory: pytest.TempPathFactory
) -> tuple[bytes, list[EncodedImage]]:
    return _assemble(list(pages.values()), tmp_path_factory.mktemp("thumb"))


def _thumb(page: Any) -> Any:
    return page["/Thumb"].get_object()


def test_every_page_has_a_small_1_bit_thumbnail(
    assembled: tuple[bytes, list[EncodedImage]],
) -> None:
    """Each page's /Thumb is a 1-bit grey Flate image at least 300 px wide, of the page's
    proportions, a few KB; the file passes the PDF/A check."""
    data, stored = assembled
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == len(stored) == 3
    for page, encoded in zip(reader.pages, stored, strict=True):
        thumb = _thumb(page)
        assert (thumb["/Type"], thumb["/Subtype"]) == ("/XObject", "/Image")
        assert (thumb["/ColorSpace"], thumb["/BitsPerComponent"]) == ("/DeviceGray", 1)
        assert thumb["/Filter"] == "/FlateDecode"
        factor = reduction(encoded.width)
        assert (thumb["/Width"], thumb["/Height"]) == (
            -(-encoded.width // factor),  # a part of a square at the edge makes a pixel
            -(-encoded.height // factor),
        )
        assert thumb["/Width"] >= THUMB_WIDTH
        assert len(thumb._data) < THUMB_BUDGET
    assert check_pdfa(data) == []


def test_the_thumbnail_shows_the_stored_pictures_ink(
    assembled: tuple[bytes, list[EncodedImage]],
) -> None:
    """The thumbnail is the page image as stored (G4 or JPEG), reduced and cut at the ink
    level: a few edge pixels apart at most."""
    data, _ = assembled
    for page in PdfReader(io.BytesIO(data)).pages:
        thumb = _thumb(page)
        size = (int(thumb["/Width"]), int(thumb["/Height"]))
        shown = Image.frombytes("1", size, thumb.get_data()).convert("L")
        decoded = page.images[0].image
        assert decoded is not None
        grey = decoded.convert("L")
        reduced = grey.reduce(reduction(grey.width))
        assert reduced.size == size
        expected = reduced.point([0 if v < INK_LEVEL else 255 for v in range(256)])
        ink = expected.histogram()[0]
        differing = ImageChops.difference(shown, expected).histogram()[255]
        assert ink > 0.02 * size[0] * size[1]
        assert differing < 0.02 * ink


@pytest.mark.parametrize("mode", COLOUR_MODES)
def test_every_colour_mode_gets_the_same_thumbnail_ink(
    mode: ColourMode, pages: dict[str, Image.Image], tmp_path: Path
) -> None:
    """Stored in colour (JPEG) or grey (cut to 1 bit), the sealed page's thumbnail marks the
    same ink, hardly any lost (cut to 1 bit, text is blacker: a little more ink), and the
    file stays PDF/A."""
    data, (encoded,) = _assemble([pages["sealed"]], tmp_path, colour_mode=mode)
    assert check_pdfa(data) == []
    assert (encoded.filter == "/DCTDecode") == (mode != "grey")
    assert encoded.thumbnail is not None
    assert _thumb(PdfReader(io.BytesIO(data)).pages[0])._data == encoded.thumbnail.data
    reference = encode_image(pages["sealed"], colour_mode="colour").thumbnail
    assert reference is not None
    expected = _picture(reference)
    shown = _picture(encoded.thumbnail)
    ink = expected.histogram()[0]
    lost = ImageChops.subtract(shown, expected).histogram()[255]
    gained = ImageChops.subtract(expected, shown).histogram()[255]
    assert lost < 0.03 * ink
    assert gained < 0.15 * ink


def _picture(thumbnail: Thumbnail) -> Image.Image:
    """A thumbnail's samples as a grey picture (ink 0, paper 255)."""
    size = (thumbnail.width, thumbnail.height)
    return Image.frombytes("1", size, zlib.decompress(thumbnail.data)).convert("L")


def test_the_thumbnail_costs_a_few_kb_a_page(pages: dict[str, Image.Image], tmp_path: Path) -> None:
    """With and without thumbnails, the same pages differ by under 12 KB each."""
    images = list(pages.values())
    with_thumbs, _ = _assemble(images, tmp_path / "with")
    without, _ = _assemble(images, tmp_path / "without", thumbs=False)
    assert "/Thumb" not in PdfReader(io.BytesIO(without)).pages[0]
    extra = len(with_thumbs) - len(without)
    assert 0 < extra < THUMB_BUDGET * len(images)


def test_the_compressed_image_file_keeps_the_thumbnail(tmp_path: Path) -> None:
    """The worker's compressed image carries its thumbnail through the file; a file written
    before thumbnails existed reads back without one and assembles without /Thumb."""
    image, _ = render_page(corpus_paragraphs(1, seed=32)[0], dpi=150, mode="L")
    encoded = encode_image(image)
    assert encoded.thumbnail is not None
    assert read_encoded(write_encoded(encoded, tmp_path / "p.img")) == encoded

    header = {
        "filter": encoded.filter,
        "colour_space": encoded.colour_space,
        "width": encoded.width,
        "height": encoded.height,
        "black_is_1": encoded.black_is_1,
    }
    old = tmp_path / "old.img"
    old.write_bytes(json.dumps(header).encode("ascii") + b"\n" + encoded.data)
    assert read_encoded(old) == dataclasses.replace(encoded, thumbnail=None)

    layout = tmp_path / "p.json"
    write_layout(PageLayout(width=image.width, height=image.height, dpi=150, lines=()), layout)
    page = PageImage(tmp_path / "p.png", 150, image.width, image.height, "L", encoded=old)
    assemble_pdf([(page, PageOcr("", 0.0, layout))], tmp_path / "old.pdf")
    data = (tmp_path / "old.pdf").read_bytes()
    assert "/Thumb" not in PdfReader(io.BytesIO(data)).pages[0]
    assert check_pdfa(data) == []


def test_a_thumbnail_size_beyond_the_file_is_refused(tmp_path: Path) -> None:
    """A compressed image file whose header claims more thumbnail bytes than it holds."""
    bad = tmp_path / "bad.img"
    header = {
        "filter": "/DCTDecode",
        "colour_space": "/DeviceGray",
        "width": 8,
        "height": 8,
        "black_is_1": False,
        "thumbnail": [8, 8, 999],
    }
    bad.write_bytes(json.dumps(header).encode("ascii") + b"\nxx")
    with pytest.raises(ValueError):
        read_encoded(bad)
