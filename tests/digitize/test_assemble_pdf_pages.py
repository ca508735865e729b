"""The assembled PDF's pages: scans kept as G4 or colour, text layer over the words, bookmarks."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageFilter
from pypdf import PdfReader
from pypdf.generic import Destination

from digitize.assemble import assemble_pdf
from digitize.errors import AssembleError
from digitize.ocr import PageOcr
from digitize.pages import PageImage
from digitize.textlayer import read_layout
from tests.digitize.conftest import Assembled
from tests.support.degrade import add_seal
from tests.support.pdfs import catalog as _catalog
from tests.support.pdfs import resolved as _obj
from tests.support.scans import corpus_paragraphs, render_page
from tests.support.text import cer
from tests.support.text import nfd as _nfd


def test_pdf_has_one_page_per_scan(assembled: Assembled) -> None:
    """pypdf reads the result and finds one page per page image, in order."""
    assert len(assembled.reader.pages) == 3
    assert not assembled.reader.is_encrypted


def test_text_layer_extracts_like_the_scanned_text(assembled: Assembled) -> None:
    """The invisible text extracted from each page matches the rendered text within 3% CER."""
    for page, reference in zip(assembled.reader.pages, assembled.references, strict=True):
        assert cer(reference, page.extract_text()) < 0.03


def test_page_size_follows_pixels_and_dpi(assembled: Assembled) -> None:
    """Each page measures its pixel size divided by its dpi, in points."""
    for pdf_page, page in zip(assembled.reader.pages, assembled.pages, strict=True):
        assert float(pdf_page.mediabox.width) == pytest.approx(page.width / page.dpi * 72, abs=0.01)
        assert float(pdf_page.mediabox.height) == pytest.approx(
            page.height / page.dpi * 72, abs=0.01
        )
    assert [p.dpi for p in assembled.pages] == [300, 200, 300]


def _images(page: Any) -> list[Any]:
    """The image XObjects a page draws (its text layer is a form XObject beside them)."""
    xobjects = _obj(_obj(page["/Resources"])["/XObject"])
    found = [x.get_object() for x in xobjects.values()]
    return [x for x in found if x["/Subtype"] == "/Image"]


def _filter(image: Any) -> str:
    filters = image["/Filter"]
    return str(filters if isinstance(filters, str) else filters[0])


def test_text_pages_are_stored_as_full_resolution_g4(assembled: Assembled) -> None:
    """Grey, bilevel and black-on-white colour text pages are stored as 1-bit G4 at full size."""
    for pdf_page, page in zip(assembled.reader.pages, assembled.pages, strict=True):
        [image] = _images(pdf_page)
        assert _filter(image) == "/CCITTFaxDecode"
        assert image["/BitsPerComponent"] == 1
        assert image["/ColorSpace"] == "/DeviceGray"
        assert (image["/Width"], image["/Height"]) == (page.width, page.height)


def test_g4_image_keeps_the_scanned_pixels(assembled: Assembled) -> None:
    """The 1-bit image of the grey page decodes to the page cut near mid-grey, ink black."""
    decoded = assembled.reader.pages[0].images[0].image
    assert decoded is not None
    with Image.open(assembled.pages[0].path) as source:
        expected = source.convert("L").point(lambda v: 255 if v > 127 else 0)
    differing = ImageChops.difference(decoded.convert("L"), expected).histogram()[255]
    ink = expected.histogram()[0]
    assert ink > 0.005 * expected.width * expected.height
    assert differing < 0.03 * ink


def _single_page(tmp_path: Path, image: Image.Image, ocr: PageOcr) -> Any:
    """Assemble one page from ``image`` (any text layer will do) and return its image XObject."""
    path = tmp_path / f"page.{'png'}"
    image.save(path, dpi=(300, 300))
    page = PageImage(path=path, dpi=300, width=image.width, height=image.height, mode=image.mode)
    out = tmp_path / "one.pdf"
    assemble_pdf([(page, ocr)], out)
    [found] = _images(PdfReader(out).pages[0])
    return found


def test_grey_page_with_a_photo_stays_grey_jpeg(assembled: Assembled, tmp_path: Path) -> None:
    """A grey page holding a photograph is kept as grey JPEG, not cut to black and white."""
    page, _ = render_page(corpus_paragraphs(1, seed=5)[0], dpi=300, mode="L")
    photo = Image.radial_gradient("L").resize((420, 560)).filter(ImageFilter.GaussianBlur(4))
    page.paste(photo, (1500, 1800))
    image = _single_page(tmp_path, page, assembled.ocrs[0])
    assert (_filter(image), image["/ColorSpace"]) == ("/DCTDecode", "/DeviceGray")


def test_red_seal_keeps_its_colour(assembled: Assembled, tmp_path: Path) -> None:
    """A page with a red seal is stored as colour JPEG and the seal is still red."""
    page, _ = render_page(corpus_paragraphs(1, seed=6)[0], dpi=300, mode="L")
    sealed = add_seal(page, centre=(1240, 1000), seed=1)
    image = _single_page(tmp_path, sealed, assembled.ocrs[0])
    assert (_filter(image), image["/ColorSpace"]) == ("/DCTDecode", "/DeviceRGB")
    decoded = PdfReader(tmp_path / "one.pdf").pages[0].images[0].image
    assert decoded is not None
    red, green, _ = decoded.convert("RGB").split()
    reddish = ImageChops.subtract(red, green).histogram()
    assert sum(reddish[100:]) > 1000


Box = tuple[float, float, float, float]


def _pdftotext_words(path: Path, page: int) -> list[Box]:
    """Boxes (left, top, right, bottom, in points) of the words pdftotext finds on one page."""
    html = subprocess.run(
        ["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(path), "-"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    pattern = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)"')
    return [(float(a), float(b), float(c), float(d)) for a, b, c, d in pattern.findall(html)]


def _tesseract_words(ocr: PageOcr, dpi: int) -> list[Box]:
    """Boxes (left, top, right, bottom, in points) of the words in the page's layout."""
    scale = 72 / dpi
    layout = read_layout(ocr.layout)
    return [
        (left * scale, top * scale, right * scale, bottom * scale)
        for line in layout.lines
        for word in line.words
        for left, top, right, bottom in [word.box]
    ]


def test_text_layer_lies_over_the_scanned_words(assembled: Assembled) -> None:
    """Each recognised word spans, in the PDF, the place Tesseract saw it on the scan."""
    seen = _tesseract_words(assembled.ocrs[0], assembled.pages[0].dpi)
    placed = _pdftotext_words(assembled.path, 1)
    assert len(placed) == len(seen) > 100
    for (left, top, right, bottom), (x0, y0, x1, y1) in zip(seen, placed, strict=True):
        assert abs(x0 - left) < 2
        assert x0 - 1 < (left + right) / 2 < x1 + 1
        assert y0 < (top + bottom) / 2 < y1


def test_parts_become_bookmarks(assembled: Assembled, tmp_path: Path) -> None:
    """Each document part is a bookmark (NFC title) opening its first page, shown on opening."""
    out = tmp_path / "parts.pdf"
    parts = [(_nfd("Đơn đề nghị"), 0), ("  Giấy   tờ kèm theo ", 2), ("", 1)]
    assemble_pdf(list(zip(assembled.pages, assembled.ocrs, strict=True)), out, parts=parts)
    reader = PdfReader(out)
    items = [item for item in reader.outline if isinstance(item, Destination)]
    found = [(item.title, reader.get_destination_page_number(item)) for item in items]
    assert found == [("Đơn đề nghị", 0), ("Giấy tờ kèm theo", 2), ("Phần 3", 1)]
    assert _catalog(reader)["/PageMode"] == "/UseOutlines"


def test_part_beyond_the_last_page_is_refused(assembled: Assembled, tmp_path: Path) -> None:
    """A bookmark pointing past the last page fails the assembly and writes nothing."""
    out = tmp_path / "parts.pdf"
    with pytest.raises(AssembleError, match="trang 4"):
        assemble_pdf(
            list(zip(assembled.pages, assembled.ocrs, strict=True)), out, parts=[("Phụ lục", 3)]
        )
    assert not out.exists()


def test_no_parts_no_outline(assembled: Assembled) -> None:
    """Without parts the document has no outline."""
    assert "/Outlines" not in _catalog(assembled.reader)
