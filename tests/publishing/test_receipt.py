"""Tests of the printable receipt and of the QR code helpers."""

from __future__ import annotations

import io
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime

import pypdf
import pytest
import segno
from PIL import Image
from pypdf.generic import ContentStream, DictionaryObject
from pytest_django import Settings

from dossiers.qr import QR_BORDER, qr_matrix, qr_png, qr_svg
from dossiers.receipt import (
    SECRET_NOTE,
    ReceiptData,
    lookup_link,
    receipt_qr_matrix,
    render_receipt,
)
from dossiers.services.registry import receipt_pdf
from tests.conftest import MakeDossier

CODE = "000.00.12.H29-260213-0042"
SECRET = "K7Q2M9XH4TZ8P3RWN6VJYB5CDF"
APPLICANT = "Nguyễn Thị Hồng Nhung"


def segno_matrix(data: str) -> list[list[bool]]:
    """Return segno's own module matrix for `data` at level M, as the reference."""
    symbol = segno.make_qr(data, error="m", boost_error=False)
    return [[bool(module) for module in row] for row in symbol.matrix]


@pytest.fixture(scope="module")
def data() -> ReceiptData:
    return ReceiptData(
        dossier_code=CODE,
        office_name="Bộ phận Tiếp nhận và Trả kết quả UBND phường Hoàn Kiếm",
        procedure_name="Đăng ký khai sinh có yếu tố nước ngoài",
        # Decomposed on purpose: the receipt must print the composed form.
        applicant_name=unicodedata.normalize("NFD", APPLICANT),
        received_at=datetime(2026, 2, 13, 2, 30, tzinfo=UTC),
        due_at=datetime(2026, 2, 27, 10, 0, tzinfo=UTC),
        lookup_secret=SECRET,
        lookup_url="https://dichvucong.example.gov.vn/tra-cuu",
    )


@pytest.fixture(scope="module")
def reader(data: ReceiptData) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(render_receipt(data)))


@pytest.fixture(scope="module")
def text(reader: pypdf.PdfReader) -> str:
    return unicodedata.normalize("NFC", reader.pages[0].extract_text())


def test_receipt_is_one_a4_page(reader: pypdf.PdfReader) -> None:
    """The receipt is a single A4 page."""
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)


def test_receipt_text_shows_the_dossier(text: str) -> None:
    """The page carries the motto, title, code, applicant with diacritics and Vietnam times."""
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "Độc lập - Tự do - Hạnh phúc" in text
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in text
    assert CODE in text
    assert unicodedata.normalize("NFC", APPLICANT) in text
    assert "Đăng ký khai sinh có yếu tố nước ngoài" in text
    assert "13/02/2026 09:30" in text
    assert "27/02/2026 17:00" in text
    assert "27/02/2026 10:00" not in text
    assert "https://dichvucong.example.gov.vn/tra-cuu" in text


def test_secret_is_printed_in_groups_with_its_warning(text: str) -> None:
    """The lookup secret appears in groups of four next to the note to keep it secret."""
    assert "K7Q2 M9XH 4TZ8 P3RW N6VJ YB5C DF" in text
    assert SECRET_NOTE in text


def test_secret_stays_out_of_metadata_and_repr(reader: pypdf.PdfReader, data: ReceiptData) -> None:
    """The secret is neither in the PDF's document information nor in the data's repr."""
    info = reader.metadata
    assert info is not None
    assert CODE in str(info.title)
    assert all(SECRET not in str(value) for value in info.values())
    assert SECRET not in repr(data)


def resources(reader: pypdf.PdfReader, kind: str) -> DictionaryObject:
    """Return the first page's resource dictionary of `kind` (/Font, /XObject)."""
    page_resources = reader.pages[0]["/Resources"]
    assert isinstance(page_resources, DictionaryObject)
    found = page_resources[kind]
    assert isinstance(found, DictionaryObject)
    return found


def test_fonts_are_embedded(reader: pypdf.PdfReader) -> None:
    """Every font on the page is a TrueType font embedded as FontFile2."""
    fonts = resources(reader, "/Font")
    assert len(fonts) >= 3
    for ref in fonts.values():
        font = ref.get_object()
        descendants = font.get("/DescendantFonts")
        if descendants is not None:
            font = descendants[0].get_object()
        descriptor = font["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor, font["/BaseFont"]


def drawn_qr(reader: pypdf.PdfReader) -> list[list[bool]]:
    """Rebuild the module matrix from the rectangles of the QR form on the page."""
    page = reader.pages[0]
    xobjects = resources(reader, "/XObject")
    forms = {
        name: ref.get_object()
        for name, ref in xobjects.items()
        if ref.get_object()["/Subtype"] == "/Form"
    }
    assert len(forms) == 1
    ((name, form),) = forms.items()
    page_ops = ContentStream(page.get_contents(), reader).operations
    assert ([name], b"Do") in [(list(ops), op) for ops, op in page_ops]
    total = round(float(form["/BBox"][2]))
    count = total - 2 * QR_BORDER
    matrix = [[False] * count for _ in range(count)]
    fill = None
    assert isinstance(form, DictionaryObject)
    for operands, operator in ContentStream(form, reader).operations:
        if operator == b"rg":
            fill = tuple(float(v) for v in operands)
        elif operator == b"re" and fill == (0.0, 0.0, 0.0):
            x, y, width, height = (round(float(v)) for v in operands)
            assert height == 1
            row = total - QR_BORDER - 1 - y
            for column in range(x - QR_BORDER, x - QR_BORDER + width):
                matrix[row][column] = True
    return matrix


def test_qr_on_the_page_opens_the_lookup_with_the_code(
    reader: pypdf.PdfReader, data: ReceiptData
) -> None:
    """The QR drawn on the receipt decodes to the lookup's link with the code filled in:
    its modules are exactly segno's for that link, and the link carries no secret."""
    link = lookup_link(data.lookup_url, CODE)
    assert link == f"https://dichvucong.example.gov.vn/tra-cuu?ma={CODE}"
    assert SECRET not in link
    expected = segno_matrix(link)
    assert receipt_qr_matrix(link) == expected
    assert drawn_qr(reader) == expected
    assert drawn_qr(reader) != segno_matrix(CODE)
    assert drawn_qr(reader) != segno_matrix(link + "X")


def test_lookup_link_quotes_the_code_and_keeps_a_query() -> None:
    """Codes with characters unsafe in a URL are quoted; an address with a query gets ``&``."""
    assert lookup_link("https://x.vn/tra-cuu/", "HS 1/2&3") == (
        "https://x.vn/tra-cuu/?ma=HS%201%2F2%263"
    )
    assert lookup_link("https://x.vn/tc?lang=vi", "HS-1") == "https://x.vn/tc?lang=vi&ma=HS-1"


def test_naive_times_are_rejected(data: ReceiptData) -> None:
    """Receipt data with a naive time is refused before anything is drawn."""
    with pytest.raises(ValueError, match="due_at"):
        replace(data, due_at=datetime(2026, 2, 27, 17))


def test_long_values_stay_on_one_page(data: ReceiptData) -> None:
    """Long names, procedures and addresses wrap instead of running off the single page."""
    long = replace(
        data,
        procedure_name="Cấp giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở " * 4,
        lookup_url="https://dichvucong.example.gov.vn/" + "tra-cuu-ho-so-" * 10,
    )
    reader = pypdf.PdfReader(io.BytesIO(render_receipt(long)))
    assert len(reader.pages) == 1
    assert "quyền sở hữu nhà ở" in unicodedata.normalize("NFC", reader.pages[0].extract_text())


def test_qr_png_has_expected_size_and_modules() -> None:
    """The PNG is scale pixels per module with a quiet zone and its pixels match segno's modules."""
    scale = 3
    expected = segno_matrix(CODE)
    image = Image.open(io.BytesIO(qr_png(CODE, scale=scale)))
    assert image.format == "PNG"
    side = (len(expected) + 2 * QR_BORDER) * scale
    assert image.size == (side, side)
    gray = image.convert("L")
    read = [
        [
            gray.getpixel(((QR_BORDER + c) * scale + 1, (QR_BORDER + r) * scale + 1)) == 0
            for c in range(len(expected))
        ]
        for r in range(len(expected))
    ]
    assert read == expected
    assert gray.getpixel((0, 0)) == 255


def test_qr_png_default_scale() -> None:
    """The default scale is 8 pixels per module."""
    image = Image.open(io.BytesIO(qr_png(CODE)))
    assert image.size[0] == (len(qr_matrix(CODE)) + 2 * QR_BORDER) * 8


def test_qr_svg_is_a_scalable_svg_element() -> None:
    """The SVG is one well-formed element with a viewBox, fit for inlining in HTML."""
    svg = qr_svg(CODE)
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    side = (len(qr_matrix(CODE)) + 2 * QR_BORDER) * 4
    assert root.get("viewBox") == f"0 0 {side} {side}"
    assert not svg.startswith("<?xml")


def test_qr_of_empty_data_is_refused() -> None:
    """An empty string has no QR code."""
    with pytest.raises(ValueError):
        qr_png("")


def test_a_registered_dossiers_receipt_links_to_the_public_lookup(
    make_dossier: MakeDossier, settings: Settings
) -> None:
    """The receipt a clerk prints opens ``PUBLIC_BASE_URL/tra-cuu/?ma=<code>``."""
    settings.PUBLIC_BASE_URL = "https://dichvucong.example.gov.vn"
    registered = make_dossier("000.00.21.H26-261122-0077")
    reader = pypdf.PdfReader(io.BytesIO(receipt_pdf(registered)))
    link = "https://dichvucong.example.gov.vn/tra-cuu/?ma=000.00.21.H26-261122-0077"
    assert drawn_qr(reader) == segno_matrix(link)
