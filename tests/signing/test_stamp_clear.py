"""A visible stamp never covers what is printed: scanned ink, seals, text; measured on the
signed result, for every layout, with a signature page as the last resort."""

from __future__ import annotations

import io
import math
import random
from pathlib import Path

import img2pdf
import numpy as np
import pytest
from PIL import Image, ImageDraw
from pyhanko.sign.signers import SimpleSigner
from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, NumberObject
from reportlab.lib.pagesizes import A4 as RL_A4
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas

from signing.devpki import IssuedKey
from signing.pades.options import SignOptions
from signing.pades.sign import sign_pdf
from signing.stamp.drawn import _image_boxes, _images_only, _visited_boxes
from signing.stamp.freespace import CELL, MIN_SCALE, PAD, PageMap, free_box
from signing.stamp.place import LAYOUT_PLACEMENTS, clear_placement, read_pages
from signing.stamp.text import Layout, StampText
from signing.verify.check import verify_pdf
from tests.support.pki import TEST_OFFICE, TEST_SIGNED_AT, TEST_SIGNER, read_stamps

DPI = 100
PAGE_PX = (827, 1169)  # A4 at 100 dpi
LAYOUTS: tuple[Layout, ...] = ("text", "personal", "certified_copy")


@pytest.fixture(scope="module")
def signature_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A blue handwritten-like signature, PNG with transparency."""
    path = tmp_path_factory.mktemp("chu-ky") / "chu-ky.png"
    image = Image.new("RGBA", (480, 160), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(10, 120), (120, 30), (330, 40)], fill=(0, 0, 150, 255), width=9)
    image.save(path)
    return path


def _stamp(layout: Layout, signature: Path | None = None) -> StampText:
    return StampText(
        signer_name=TEST_SIGNER,
        office_name=TEST_OFFICE,
        signed_at=TEST_SIGNED_AT,
        layout=layout,
        signature_image=signature,
    )


def _scan(free: tuple[int, int, int, int] | None, *, seal: bool = True) -> Image.Image:
    """A grey scan covered in lines of text except the pixel box ``free``; a seal over text."""
    page = Image.new("L", PAGE_PX, 255)
    draw = ImageDraw.Draw(page)
    for top in range(60, PAGE_PX[1] - 50, 22):
        for left in range(60, PAGE_PX[0] - 60, 70):
            word = (left, top, left + 55, top + 11)
            if free and not (
                word[2] < free[0] or word[0] > free[2] or word[3] < free[1] or word[1] > free[3]
            ):
                continue
            draw.rectangle(word, fill=40)
    if seal:
        draw.ellipse((560, 900, 720, 1060), outline=90, width=9)  # a red seal, grey here
    return page


def _pdf_of(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85, dpi=(DPI, DPI))
    return bytes(img2pdf.convert(buffer.getvalue()))


def _inked_under(image: Image.Image, rect: tuple[float, float, float, float]) -> int:
    """Dark pixels of the scan under the stamp's rectangle (points, from the page's foot)."""
    scale = DPI / 72
    x0, y0, x1, y1 = rect
    left, right = int(x0 * scale), int(x1 * scale) + 1
    top, bottom = int(PAGE_PX[1] - y1 * scale), int(PAGE_PX[1] - y0 * scale) + 1
    pixels = np.asarray(image)[max(0, top) : bottom, max(0, left) : right]
    return int((pixels < 200).sum())


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_stamp_goes_to_free_space_and_covers_no_ink(
    layout: Layout, signing_key: SimpleSigner, throwaway_pki: IssuedKey, signature_png: Path
) -> None:
    """A page printed down to its corners but for one clear area: the stamp lands there
    (not over the words and the seal at its layout's place), with zero ink under it."""
    scan = _scan(free=(90, 560, 560, 720))
    stamp = _stamp(layout, signature_png)
    signed = sign_pdf(_pdf_of(scan), signing_key, SignOptions(stamp=stamp))
    (view,) = read_stamps(signed)
    assert _inked_under(scan, view.rect) == 0
    report = verify_pdf(signed, [throwaway_pki.ca_cert])
    assert report.ok, report


def test_a_free_wished_place_is_kept_exactly(signing_key: SimpleSigner) -> None:
    """Where the layout's place is blank, the stamp goes exactly there, as before."""
    scan = _scan(free=(350, 900, 827, 1169), seal=False)
    pdf = _pdf_of(scan)
    placed = clear_placement(_stamp("text"), read_pages(pdf), lambda index: _page_box(pdf))
    assert not placed.moved and placed.box == placed.wished
    (view,) = read_stamps(sign_pdf(pdf, signing_key, SignOptions(stamp=_stamp("text"))))
    assert view.rect == pytest.approx(tuple(round(v) for v in placed.wished), abs=1)


def test_a_full_page_gets_a_signature_page(
    signing_key: SimpleSigner, throwaway_pki: IssuedKey
) -> None:
    """No room anywhere, even shrunk or in the margin: a page is added for the stamp, in
    the signature's own revision; the document's own pages are untouched."""
    scan = _scan(free=None)
    pdf = _pdf_of(scan)
    placed = clear_placement(_stamp("text"), read_pages(pdf), lambda index: _page_box(pdf))
    assert placed.signature_page and placed.page == 1
    signed = sign_pdf(pdf, signing_key, SignOptions(stamp=_stamp("text")))
    assert signed.startswith(pdf)  # the scan's revision is kept byte for byte
    assert len(PdfReader(io.BytesIO(signed)).pages) == 2
    (view,) = read_stamps(signed)
    assert view.page == 1
    assert verify_pdf(signed, [throwaway_pki.ca_cert]).ok


def test_born_digital_text_is_avoided(signing_key: SimpleSigner) -> None:
    """A typed decision whose last lines run to the page's foot: the stamp covers none of
    the text boxes that reportlab drew."""
    raw = io.BytesIO()
    drawing = canvas.Canvas(raw, pagesize=RL_A4, invariant=True)
    drawing.setFont("Helvetica", 11)
    boxes = []
    for y in range(60, 700, 16):
        text = "Dieu 1. Cap giay phep cho ong Nguyen Van An, thuong tru tai xa Tan Lap."
        x = 72 if y > 200 else 300  # the foot: a signature block on the right
        drawing.drawString(x, y, text)
        boxes.append((x, y - 3, x + stringWidth(text, "Helvetica", 11), y + 9))
    drawing.showPage()
    drawing.save()
    signed = sign_pdf(raw.getvalue(), signing_key, SignOptions(stamp=_stamp("text")))
    (view,) = read_stamps(signed)
    x0, y0, x1, y1 = view.rect
    assert all(b[2] <= x0 or b[0] >= x1 or b[3] <= y0 or b[1] >= y1 for b in boxes), view.rect


def test_layouts_keep_their_wished_places() -> None:
    """The defaults the search starts from are the layouts' own (Decree 30/2020)."""
    assert LAYOUT_PLACEMENTS["certified_copy"].corner == "top-right"
    assert LAYOUT_PLACEMENTS["certified_copy"].page == 0
    assert LAYOUT_PLACEMENTS["text"].corner == "bottom-right"


def _page_box(pdf: bytes) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = (float(v) for v in PdfReader(io.BytesIO(pdf)).pages[0].mediabox)
    return (x0, y0, x1, y1)


def _nearest_by_every_position(
    grid: PageMap, size: tuple[float, float], wished: tuple[float, float, float, float], edge: float
) -> tuple[tuple[float, float, float, float], float] | None:
    """free_box's answer found the slow way: every position of every scale, one by one."""
    x0, _y0, _x1, y1 = grid.page_box
    edge_cells = math.ceil(edge / CELL)
    want_x = ((wished[0] + wished[2]) / 2 - x0) / CELL
    want_y = (y1 - (wished[1] + wished[3]) / 2) / CELL
    for scale in (1.0, 0.9, MIN_SCALE):
        width, height = size[0] * scale, size[1] * scale
        kw, kh = math.ceil(width / CELL) + 2 * PAD, math.ceil(height / CELL) + 2 * PAD
        best: tuple[float, int, int] | None = None
        for row in range(max(0, edge_cells - PAD), grid.rows - max(edge_cells - PAD, 0) - kh + 1):
            for col in range(
                max(0, edge_cells - PAD), grid.cols - max(edge_cells - PAD, 0) - kw + 1
            ):
                if any(grid.printed[r] >> col & ((1 << kw) - 1) for r in range(row, row + kh)):
                    continue
                distance = (row + kh / 2 - want_y) ** 2 + (col + kw / 2 - want_x) ** 2
                if best is None or distance < best[0]:
                    best = (distance, row, col)
        if best is not None:
            top, left = y1 - (best[1] + PAD) * CELL, x0 + (best[2] + PAD) * CELL
            return (left, top - height, left + width, top), scale
    return None


def test_the_nearest_free_box_is_the_one_a_search_of_every_position_finds() -> None:
    """On random pages of ink blots, free_box picks what trying every place picks: the
    nearest free box, the topmost then leftmost of equally near ones, shrunk only if need be."""
    rng = random.Random(7)
    for _ in range(60):
        cols, rows = rng.randint(20, 60), rng.randint(20, 80)
        printed = [0] * rows
        for _blot in range(rng.randint(0, 25)):
            top, left = rng.randrange(rows), rng.randrange(cols)
            for row in range(top, min(rows, top + rng.randint(1, 12))):
                printed[row] |= ((1 << rng.randint(1, 15)) - 1) << left & ((1 << cols) - 1)
        grid = PageMap((0.0, 0.0, cols * CELL, rows * CELL), cols, tuple(printed))
        size = (rng.uniform(8, cols * CELL / 2), rng.uniform(8, rows * CELL / 3))
        x, y = rng.uniform(0, cols * CELL), rng.uniform(0, rows * CELL)
        wished = (x, y, x + size[0], y + size[1])
        edge = rng.choice([0.0, 6.0, 12.0])
        assert free_box(grid, size, wished, edge=edge) == _nearest_by_every_position(
            grid, size, wished, edge
        )


def _born_digital(*, with_text: bool) -> PageObject:
    """A page drawing one picture three times, twice under nested transformations; and a
    line of text when asked."""
    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    picture = DecodedStreamObject()
    picture.set_data(bytes(range(256)) * 3 * 4)
    picture.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Image"),
            NameObject("/Width"): NumberObject(32),
            NameObject("/Height"): NumberObject(32),
            NameObject("/ColorSpace"): NameObject("/DeviceRGB"),
            NameObject("/BitsPerComponent"): NumberObject(8),
        }
    )
    resources = DictionaryObject(
        {
            NameObject("/XObject"): DictionaryObject(
                {NameObject("/Im0"): writer._add_object(picture)}
            )
        }
    )
    content = (
        b"q 1 0 0 1 50 600 cm q 200 0 0 150 0 0 cm /Im0 Do Q "
        b"q .433 .25 -1 1.732 0 0 cm q 120 0 0 60 100 40 cm /Im0 Do Q Q Q "
        b"q 150 0 0 90 300 100 cm /Im0 Do Q"
    )
    if with_text:
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
        resources[NameObject("/Font")] = DictionaryObject({NameObject("/F1"): font})
        content += b" BT /F1 12 Tf 72 720 Td (Uy ban nhan dan xa) Tj ET"
    stream = DecodedStreamObject()
    stream.set_data(content)
    page[NameObject("/Resources")] = resources
    page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return PdfReader(io.BytesIO(out.getvalue())).pages[0]


def test_a_page_without_text_is_read_without_text_extraction_and_the_same() -> None:
    """A page of pictures only is walked by its ``Do`` and ``cm`` operators, finding the
    boxes pypdf's text extraction finds; a page with a font goes to the extraction."""
    pictures = _born_digital(with_text=False)
    assert _images_only(pictures)
    fast = _image_boxes(pictures)
    assert len(fast) == 3
    visited = _visited_boxes(pictures)
    assert len(visited) == 3
    for mine, theirs in zip(fast, visited, strict=True):
        assert mine == pytest.approx(theirs)
    texts = _born_digital(with_text=True)
    assert not _images_only(texts)
    assert len(_visited_boxes(texts)) == 4  # the pictures and the line of text
